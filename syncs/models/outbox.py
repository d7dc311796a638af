"""The outbox: every write to a system is a row here before it is handed over."""

from __future__ import annotations

from django.db import models

from connectors.models import Connection

from .flows import SyncFlow


class OutboxWrite(models.Model):
    """One record to write to one system, with what its outcome will be recorded against.

    A pulled system (a REST API) is handed its rows at once by the run that queued them, which
    records their outcomes as they come back: no extra call, no extra wait. A pushed system (the
    QuickBooks Web Connector) takes its pending rows the next time it calls us and answers on
    the call after; the outcome is recorded then, by the same path (`syncs.outbox`).

    `idempotency_key` names the write for good (flow, record, version and payload): queued
    again after a crash, it is the same row, and a system that takes idempotency keys answers a
    repeat with its first result. A row is `pending` until handed over, `sent` until answered,
    then `done` (its outcome recorded: a link and an audit entry, or a sync error).

    `source_id` and `target_id` are relative to the write: the record it comes from, the
    record it writes. A forward write goes to the flow's target (`towards` target); a two-way
    flow also writes back to its source (`towards` source): a merged change, or a record
    created at the target that the flow creates at the source. `agreed` is what both sides
    hold once such a write is answered, in the flow target's field names (the link keeps it).
    """

    class Towards(models.TextChoices):
        TARGET = "target", "The flow's target"
        SOURCE = "source", "The flow's source"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent, awaiting its answer"
        DONE = "done", "Done"

    flow = models.ForeignKey(SyncFlow, on_delete=models.CASCADE, related_name="outbox")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="outbox")
    entity = models.CharField(max_length=64)
    towards = models.CharField(max_length=10, choices=Towards.choices, default=Towards.TARGET)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    idempotency_key = models.CharField(max_length=200, unique=True)
    # The record the write comes from, as the source held it.
    source_id = models.CharField(max_length=128)
    source_version = models.CharField(max_length=64, blank=True)
    source_name = models.CharField(max_length=255, blank=True)
    # What to write, and where: a known record by id (and the version it was read at), else a
    # new one (`match`: the fields the system checks for duplicates).
    payload = models.JSONField(default=dict)
    digest = models.CharField(max_length=64, help_text="Hash of the payload.")
    before = models.JSONField(null=True, blank=True, help_text="What was last written there.")
    target_id = models.CharField(max_length=128, blank=True)
    target_version = models.CharField(max_length=64, blank=True)
    match = models.JSONField(default=dict, blank=True)
    on_conflict = models.CharField(
        max_length=10,
        default="ours",
        help_text="Whose value a field changed there since it was read keeps (ours or theirs).",
    )
    agreed = models.JSONField(null=True, blank=True)
    base = models.JSONField(
        null=True, blank=True, help_text="The written fields as read there, to rebase on."
    )
    note = models.CharField(max_length=500, blank=True, help_text="What its audit entry says.")
    replaces_id = models.CharField(
        max_length=128, blank=True, help_text="A linked record found deleted, written anew."
    )
    outcome = models.JSONField(null=True, blank=True)
    session = models.CharField(
        max_length=100, blank=True, help_text="The pushed system's session it was handed to."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["connection", "status", "id"], name="outbox_by_connection_status")
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.target_id or 'new'} from {self.source_id} ({self.status})"
