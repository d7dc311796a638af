"""A QuickBooks Desktop company file, reached through the Web Connector, and its sessions.

Everything a session knows is in the database, never in process memory: a Web Connector's
next call may land on another web process, or on one restarted since its last call.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.utils import timezone

from connectors.models import Connection

SESSION_IDLE = timedelta(minutes=30)  # a ticket not used this long is over (sliding expiry)


class QbdCompany(models.Model):
    """One company file, one Web Connector login: its own user name and password (hashed as
    Django hashes its users'), the file it must open, and the GUIDs its .qwc gives the Web
    Connector. QuickBooks stores `file_id` in the company file the first time it connects;
    every session after checks it is there, so the wrong company file is never read."""

    connection = models.OneToOneField(Connection, on_delete=models.CASCADE, related_name="qbd")
    username = models.CharField(max_length=150, unique=True)
    password = models.CharField(max_length=128)
    company_file = models.CharField(
        max_length=500, help_text=r"The company file's full path, e.g. C:\Books\Acme.QBW."
    )
    owner_id = models.UUIDField(default=uuid.uuid4, help_text="The .qwc's OwnerID.")
    file_id = models.UUIDField(default=uuid.uuid4, unique=True, help_text="The .qwc's FileID.")
    poll_minutes = models.PositiveIntegerField(
        default=5, help_text="How often the Web Connector calls (the .qwc's Scheduler)."
    )
    # Where each listing got to: {"Customer": "2026-12-01T09:00:00+00:00", ...}. A watermark
    # moves only after every page of its listing is in the inbox.
    watermarks = models.JSONField(default=dict, blank=True)
    # Records asked for per page, per listing, adapted to how long QuickBooks takes to answer.
    page_sizes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "QuickBooks Desktop company file"

    def __str__(self) -> str:
        return f"{self.connection.name} ({self.company_file})"

    def set_password(self, raw: str) -> None:
        self.password = make_password(raw)

    def check_password(self, raw: str) -> bool:
        return bool(raw) and check_password(raw, self.password)


class QbwcSession(models.Model):
    """One Web Connector session: from `authenticate` to `closeConnection` (or its ticket's
    expiry). `ticket` is random and scoped to its company file; `work` holds the session's
    plan and where it is in it, so any web process can take the next call."""

    class Status(models.TextChoices):
        OPEN = "open", "Running"
        DONE = "done", "Finished"
        NO_WORK = "none", "Nothing to do"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Refused"
        EXPIRED = "expired", "Stopped answering"

    ticket = models.CharField(max_length=64, unique=True, null=True, blank=True)
    company = models.ForeignKey(
        QbdCompany, null=True, blank=True, on_delete=models.CASCADE, related_name="sessions"
    )
    username = models.CharField(max_length=150, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    started_at = models.DateTimeField(default=timezone.now)
    touched_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    client_version = models.CharField(max_length=40, blank=True)
    company_file = models.CharField(max_length=500, blank=True, help_text="The file QBWC opened.")
    qbxml_version = models.CharField(max_length=10, blank=True)
    work = models.JSONField(default=dict, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    round_trips = models.PositiveIntegerField(default=0)
    records_received = models.PositiveIntegerField(default=0)
    writes_sent = models.PositiveIntegerField(default=0)
    slowest_answer_ms = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    note = models.TextField(blank=True, help_text="What happened, in a sentence.")

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["company", "status"], name="qbwcsession_company_status")]
        verbose_name = "Web Connector session"

    def __str__(self) -> str:
        return f"{self.company or self.username} at {self.started_at:%Y-%m-%d %H:%M}"

    def expired(self, now=None) -> bool:
        return (now or timezone.now()) - self.touched_at > SESSION_IDLE


class QbdRecord(models.Model):
    """A record as QuickBooks last handed it over. QuickBooks Desktop cannot be asked for a
    record when the engine needs it (to merge a change made in the CRM, or to write a
    `CustomerModRq` with the current EditSequence); this is what it answers from."""

    company = models.ForeignKey(QbdCompany, on_delete=models.CASCADE, related_name="records")
    entity = models.CharField(max_length=40)
    record_id = models.CharField(max_length=64)
    version = models.CharField(max_length=64, blank=True, help_text="Its EditSequence.")
    name = models.CharField(max_length=255, blank=True)
    modified_at = models.DateTimeField(null=True, blank=True)
    data = models.JSONField(default=dict)
    active = models.BooleanField(default=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "entity", "record_id"], name="qbdrecord_unique_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.record_id}"
