"""What a sync is configured to do: the flow, its field mappings, and the links it has made."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from connectors.models import Connection

MATCH_KEYS = ("link", "external_id", "email", "phone", "name")


def default_match_keys() -> list[str]:
    return ["link", "email", "phone", "name"]


class SyncFlow(models.Model):
    """One entity kept in agreement between two connections, e.g. QBO Customer -> CRM Accounts.

    `cursor` holds where change detection got to, per side:
    `{"source": {"modified_since": "2024-05-01T10:00:00+00:00", "cdc_since": "..."},
    "target": {...}}`. It moves only after a batch is recorded (`flow_cursor_advance`), so a crash
    repeats work and never skips it.

    The `history_*` fields drive a historical sync (backfill): it lists the source from
    `history_since`, keeps its page position in `history_cursor` so it resumes after a restart,
    and counts `history_done` of `history_total` so the admin sees progress.
    """

    class Direction(models.TextChoices):
        ONE_WAY = "one_way", "One-way (source to target)"
        TWO_WAY = "two_way", "Two-way"

    class SystemOfTruth(models.TextChoices):
        SOURCE = "source", "Source"
        TARGET = "target", "Target"

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        DISABLED = "disabled", "Disabled"

    class HistoryState(models.TextChoices):
        IDLE = "idle", "Not started"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=200, unique=True)
    source = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="flows_as_source")
    target = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="flows_as_target")
    source_entity = models.CharField(max_length=64, help_text="e.g. Customer, Vendor, Invoice.")
    target_entity = models.CharField(
        max_length=64, help_text="Entity or module API name, e.g. Accounts, Contacts, Vendors."
    )
    direction = models.CharField(
        max_length=10, choices=Direction.choices, default=Direction.ONE_WAY
    )
    system_of_truth = models.CharField(
        max_length=10,
        choices=SystemOfTruth.choices,
        default=SystemOfTruth.SOURCE,
        help_text="A field changed on both sides since the last sync keeps this side's value.",
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    paused_at = models.DateTimeField(null=True, blank=True)
    match_keys = models.JSONField(
        default=default_match_keys,
        blank=True,
        help_text=(
            "Tried in order to find an unlinked record on the target: link, external_id, "
            "email, phone, name."
        ),
    )
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text='e.g. {"dry_run": false, "convert_currency": false}.',
    )
    cursor = models.JSONField(default=dict, blank=True)

    history_state = models.CharField(
        max_length=10, choices=HistoryState.choices, default=HistoryState.IDLE
    )
    history_since = models.DateField(null=True, blank=True)
    history_cursor = models.JSONField(default=dict, blank=True)
    history_done = models.PositiveIntegerField(default=0)
    history_total = models.PositiveIntegerField(null=True, blank=True)
    history_started_at = models.DateTimeField(null=True, blank=True)
    history_finished_at = models.DateTimeField(null=True, blank=True)
    history_error = models.TextField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(source=F("target")), name="syncflow_source_is_not_target"
            ),
            # Two flows writing one pair of entities would fight over every record.
            models.UniqueConstraint(
                fields=["source", "source_entity", "target", "target_entity"],
                name="syncflow_unique_entity_pair",
            ),
            models.CheckConstraint(
                condition=~Q(state="paused") | Q(paused_at__isnull=False),
                name="syncflow_paused_has_paused_at",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["active", "paused", "disabled"]),
                name="syncflow_state_valid",
            ),
        ]
        indexes = [models.Index(fields=["state"], name="syncflow_state_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE

    @property
    def is_two_way(self) -> bool:
        return self.direction == self.Direction.TWO_WAY

    @property
    def dry_run(self) -> bool:
        return bool(self.options.get("dry_run"))

    @property
    def history_percent(self) -> int | None:
        if not self.history_total:
            return None
        return min(100, self.history_done * 100 // self.history_total)

    def clean(self) -> None:
        keys = self.match_keys if isinstance(self.match_keys, list) else None
        if keys is None or any(key not in MATCH_KEYS for key in keys):
            raise ValidationError({"match_keys": f"A list drawn from: {', '.join(MATCH_KEYS)}."})
        if self.source_id and self.source_id == self.target_id:
            raise ValidationError({"target": "Source and target must be different connections."})


class FieldMapping(models.Model):
    """One field of a flow: where the value comes from, how it is transformed, where it goes.

    `source_path` is a dotted path into the source record (`BillAddr.City`, `Line.0.Amount`).
    `transform_options` by transform: truncate `{"length": 80}`; date `{"format": "%m/%d/%Y"}`;
    datetime `{"timezone": "America/New_York"}`; phone `{"default_country_code": "1",
    "style": "e164"}`; country `{"output": "name" | "alpha2" | "alpha3"}`; value_map
    `{"map": {...}, "default": ...}`; constant `{"value": ...}`; boolean
    `{"true": "Yes", "false": "No"}`. Any mapping may add `{"fallback_paths": ["DisplayName"]}`,
    tried in order when the source path is empty, and `{"default": 1}`, used when all are.
    """

    class Transform(models.TextChoices):
        NONE = "none", "None"
        TRIM = "trim", "Trim whitespace"
        UPPER = "upper", "Upper case"
        LOWER = "lower", "Lower case"
        TITLE = "title", "Title case"
        TRUNCATE = "truncate", "Truncate to length"
        DATE = "date", "Date (ISO)"
        DATETIME = "datetime", "Date and time (ISO)"
        PHONE = "phone", "Phone number"
        COUNTRY = "country", "Country"
        VALUE_MAP = "value_map", "Value map"
        CONSTANT = "constant", "Constant"
        BOOLEAN = "boolean", "Yes/no"
        SYNC_TIME = "sync_time", "Sync time (now)"

    class Direction(models.TextChoices):
        BOTH = "both", "Both ways"
        TO_TARGET = "to_target", "Source to target"
        TO_SOURCE = "to_source", "Target to source"

    flow = models.ForeignKey(SyncFlow, on_delete=models.CASCADE, related_name="mappings")
    source_path = models.CharField(max_length=255, blank=True)
    target_field = models.CharField(max_length=100, help_text="The target's API name.")
    transform = models.CharField(max_length=20, choices=Transform.choices, default=Transform.NONE)
    transform_options = models.JSONField(default=dict, blank=True)
    required = models.BooleanField(
        default=False, help_text="A record without this value is not written; it becomes an error."
    )
    direction = models.CharField(
        max_length=10, choices=Direction.choices, default=Direction.TO_TARGET
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["flow", "position", "pk"]
        constraints = [
            # One value per target field, and one per source path on the way back.
            models.UniqueConstraint(
                fields=["flow", "target_field"],
                condition=Q(direction__in=["both", "to_target"]),
                name="fieldmapping_one_per_target_field",
            ),
            models.UniqueConstraint(
                fields=["flow", "source_path"],
                condition=Q(direction__in=["both", "to_source"]),
                name="fieldmapping_one_per_source_path",
            ),
        ]

    def __str__(self) -> str:
        arrow = {"both": "<->", "to_source": "<-"}.get(self.direction, "->")
        return f"{self.source_path or '(constant)'} {arrow} {self.target_field}"


class RecordLink(models.Model):
    """A source record and the target record it is kept in agreement with.

    The versions and payload hashes are what this flow last wrote or read on each side: an
    incoming change whose mapped payload hashes the same as the last one written is our own
    echo (or a no-op) and is skipped.
    """

    flow = models.ForeignKey(SyncFlow, on_delete=models.CASCADE, related_name="links")
    source_id = models.CharField(max_length=128)
    target_id = models.CharField(max_length=128)
    source_version = models.CharField(
        max_length=64, blank=True, help_text="SyncToken, EditSequence or Modified_Time."
    )
    target_version = models.CharField(max_length=64, blank=True)
    source_hash = models.CharField(
        max_length=64, blank=True, help_text="Hash of the payload last written to the source."
    )
    target_hash = models.CharField(
        max_length=64, blank=True, help_text="Hash of the payload last written to the target."
    )
    target_payload = models.JSONField(
        default=dict,
        blank=True,
        help_text="What was last written to the target (the audit's before).",
    )
    last_synced_at = models.DateTimeField(null=True, blank=True)
    source_deleted_at = models.DateTimeField(null=True, blank=True)
    target_deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["flow", "source_id"]
        constraints = [
            models.UniqueConstraint(fields=["flow", "source_id"], name="recordlink_unique_source"),
            models.UniqueConstraint(fields=["flow", "target_id"], name="recordlink_unique_target"),
            models.CheckConstraint(
                condition=~Q(source_id="") & ~Q(target_id=""), name="recordlink_ids_not_blank"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} <-> {self.target_id}"
