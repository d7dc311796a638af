"""What syncing did: runs, the errors an admin triages, and the audit trail of every change."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from connectors.base.errors import ErrorCategory

from .flows import RecordLink, SyncFlow


class SyncRun(models.Model):
    """One pass of a flow: a batch of live events, a scheduled poll, a backfill, a force-sync."""

    class Kind(models.TextChoices):
        LIVE = "live", "Live"
        SCHEDULED = "scheduled", "Scheduled"
        HISTORICAL = "historical", "Historical"
        FORCE = "force", "Force sync"
        RETRY = "retry", "Retry"
        DRY_RUN = "dry_run", "Dry run"
        DEPENDENCY = "dependency", "Dependency"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Partly failed"
        FAILED = "failed", "Failed"

    flow = models.ForeignKey(SyncFlow, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    heartbeat_at = models.DateTimeField(
        default=timezone.now,
        help_text="When its worker last said it was alive; a running run that stops beating is dead.",
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    duration = models.DurationField(null=True, blank=True)
    read_count = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    source_api_calls = models.PositiveIntegerField(default=0)
    target_api_calls = models.PositiveIntegerField(default=0)
    error_summary = models.TextField(blank=True)
    triggered_by = models.CharField(
        max_length=150, blank=True, help_text="schedule, webhook, or the admin user's name."
    )

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            # A second poll or backfill of one flow would race the first on the cursor.
            models.UniqueConstraint(
                fields=["flow", "kind"],
                condition=Q(status="running", kind__in=["scheduled", "historical"]),
                name="syncrun_one_running_poll_or_backfill",
            ),
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True) | Q(finished_at__gte=F("started_at")),
                name="syncrun_finishes_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["flow", "-started_at"], name="syncrun_flow_recent_idx"),
            models.Index(fields=["status", "heartbeat_at"], name="syncrun_heartbeat_idx"),
        ]

    def __str__(self) -> str:
        when = timezone.localtime(self.started_at).strftime("%Y-%m-%d %H:%M")
        return f"{self.flow} {self.get_kind_display().lower()} run {when}"


OPEN_STATUSES = ("open", "retrying")


class SyncError(models.Model):
    """A record that could not be synced, as the admin sees and triages it.

    One open error per flow and record: a repeat updates the open row (attempts, last_seen,
    message) instead of adding another (`sync_error_record`). The record is keyed by its source
    id, or by its target id when it exists only on the target (a new record on a two-way flow).
    """

    Category = ErrorCategory

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RETRYING = "retrying", "Retrying"
        RESOLVED = "resolved", "Resolved"
        IGNORED = "ignored", "Ignored"

    flow = models.ForeignKey(SyncFlow, on_delete=models.CASCADE, related_name="errors")
    run = models.ForeignKey(
        SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="errors"
    )
    category = models.CharField(max_length=20, choices=ErrorCategory.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    message = models.TextField(help_text="The remote system's own message.")
    code = models.CharField(max_length=100, blank=True, help_text="The remote system's code.")
    request_id = models.CharField(max_length=100, blank=True)
    details = models.JSONField(default=dict, blank=True)
    source_id = models.CharField(max_length=128, blank=True)
    source_name = models.CharField(max_length=255, blank=True)
    target_id = models.CharField(max_length=128, blank=True)
    payload = models.JSONField(
        null=True, blank=True, help_text="What was sent (or would have been)."
    )
    attempts = models.PositiveIntegerField(default=1)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was resolved or ignored."
    )

    class Meta:
        ordering = ["-last_seen", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["flow", "source_id"],
                condition=Q(status__in=OPEN_STATUSES) & ~Q(source_id=""),
                name="syncerror_one_open_per_source_record",
            ),
            models.UniqueConstraint(
                fields=["flow", "target_id"],
                condition=Q(status__in=OPEN_STATUSES, source_id="") & ~Q(target_id=""),
                name="syncerror_one_open_per_target_only_record",
            ),
            models.CheckConstraint(
                condition=~Q(source_id="") | ~Q(target_id=""), name="syncerror_names_a_record"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_retry_at"], name="syncerror_retry_idx"),
            models.Index(fields=["flow", "status"], name="syncerror_flow_status_idx"),
            models.Index(fields=["category"], name="syncerror_category_idx"),
        ]

    def __str__(self) -> str:
        record = self.source_name or self.source_id or self.target_id
        return f"{self.get_category_display()}: {record}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class AuditEntry(models.Model):
    """One thing the engine did (or decided not to do) to one record, with before and after."""

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        DEACTIVATE = "deactivate", "Deactivated"
        SKIP = "skip", "Skipped"
        CONFLICT = "conflict", "Conflict resolved"

    class Towards(models.TextChoices):
        TARGET = "target", "Target"
        SOURCE = "source", "Source"

    flow = models.ForeignKey(SyncFlow, on_delete=models.CASCADE, related_name="audit_entries")
    run = models.ForeignKey(
        SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_entries"
    )
    link = models.ForeignKey(
        RecordLink,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_entries",
    )
    source_id = models.CharField(max_length=128, blank=True)
    target_id = models.CharField(max_length=128, blank=True)
    action = models.CharField(max_length=12, choices=Action.choices)
    towards = models.CharField(
        max_length=6,
        choices=Towards.choices,
        default=Towards.TARGET,
        help_text="The side that was written.",
    )
    changed_fields = models.JSONField(
        default=dict, blank=True, help_text='{"Phone": {"before": "...", "after": "..."}}'
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["flow", "-created_at"], name="auditentry_flow_recent_idx"),
            models.Index(fields=["source_id"], name="auditentry_source_idx"),
            models.Index(fields=["target_id"], name="auditentry_target_idx"),
        ]

    def __str__(self) -> str:
        record = self.source_id or self.target_id
        return f"{self.get_action_display()} {record} ({self.flow})"
