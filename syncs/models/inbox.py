"""The inbox: every detected change becomes a row here before anything else happens to it."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from connectors.models import Connection

from .flows import SyncFlow

# NULL would make every flow-less row distinct in a unique index (on PostgreSQL and SQLite
# alike), so the dedupe keys use 0 for "all flows of this connection and entity".
_FLOW_KEY = Coalesce(F("flow_id"), Value(0), output_field=models.BigIntegerField())


class ChangeEvent(models.Model):
    """One change to one record at an external system, as a webhook, poll, CDC read, QBWC
    response or admin action reported it.

    Deduplication (see `syncs/inbox.py`):

    * With a version (SyncToken, EditSequence, a modified time), the event is unique by
      connection + entity + external id + version, whatever its status: the same version of the
      same record never needs processing twice.
    * Without one (ids-only notifications, admin force-syncs, retries), it is unique only while
      **pending**: processing fetches the record's current state, so a second notification
      arriving before the fetch adds nothing, while one arriving after the fetch started may
      describe a newer change and must be kept.
    * `flow` is part of both keys: an event aimed at one flow (force-sync, retry, backfill) must
      not swallow a connection-wide notification that other flows also need.

    At most one event per record is `processing` at a time, so two workers never write the same
    record concurrently (which is how duplicates get created on the target).
    """

    class Operation(models.TextChoices):
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        DELETE = "delete", "Delete"
        MERGE = "merge", "Merge"
        VOID = "void", "Void"
        UNKNOWN = "unknown", "Unknown"

    class Origin(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        POLL = "poll", "Poll"
        CDC = "cdc", "Change data capture"
        QBWC = "qbwc", "QuickBooks Web Connector"
        ADMIN = "admin", "Admin"
        BACKFILL = "backfill", "Historical sync"
        RETRY = "retry", "Retry"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="events")
    system = models.CharField(max_length=20, choices=Connection.System.choices)
    entity = models.CharField(max_length=64)
    external_id = models.CharField(max_length=128)
    version = models.CharField(max_length=64, blank=True)
    operation = models.CharField(
        max_length=10, choices=Operation.choices, default=Operation.UNKNOWN
    )
    origin = models.CharField(max_length=10, choices=Origin.choices)
    flow = models.ForeignKey(
        SyncFlow,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
        help_text="Set when the event concerns one flow only (force-sync, retry, backfill).",
    )
    payload = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    available_at = models.DateTimeField(
        default=timezone.now, help_text="Not claimed before this time (backoff after a failure)."
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                "connection",
                "entity",
                "external_id",
                "version",
                _FLOW_KEY,
                condition=~Q(version=""),
                name="changeevent_dedupe_versioned",
            ),
            models.UniqueConstraint(
                "connection",
                "entity",
                "external_id",
                _FLOW_KEY,
                condition=Q(version="", status="pending"),
                name="changeevent_dedupe_unversioned_pending",
            ),
            models.UniqueConstraint(
                fields=["connection", "entity", "external_id"],
                condition=Q(status="processing"),
                name="changeevent_one_processing_per_record",
            ),
            models.CheckConstraint(
                condition=~Q(external_id="") & ~Q(entity=""), name="changeevent_key_not_blank"
            ),
            models.CheckConstraint(
                condition=~Q(status="processing")
                | (~Q(lease_owner="") & Q(lease_expires_at__isnull=False)),
                name="changeevent_processing_has_lease",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "available_at"], name="changeevent_pending_idx"),
            models.Index(fields=["status", "lease_expires_at"], name="changeevent_lease_idx"),
            models.Index(
                fields=["connection", "entity", "external_id"], name="changeevent_record_idx"
            ),
            models.Index(fields=["received_at"], name="changeevent_received_idx"),
        ]

    def __str__(self) -> str:
        version = f" v{self.version}" if self.version else ""
        return f"{self.system} {self.entity} {self.external_id}{version} {self.operation}"
