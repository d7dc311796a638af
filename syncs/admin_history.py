"""The read-only history pages: runs, the audit trail, the inbox and record links."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.safestring import SafeString

from syncs.admin_common import (
    EVENT_STATUS_COLOURS,
    GREY,
    RUN_STATUS_COLOURS,
    ReadOnlyAdmin,
    badge,
)
from syncs.models import AuditEntry, ChangeEvent, RecordLink, SyncRun


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = (
        "started_at",
        "flow",
        "kind",
        "status_badge",
        "read_count",
        "created_count",
        "updated_count",
        "skipped_count",
        "failed_count",
        "duration",
        "source_api_calls",
        "target_api_calls",
        "triggered_by",
    )
    list_filter = ("status", "kind", "flow")
    search_fields = ("flow__name", "triggered_by", "error_summary")
    list_select_related = ("flow",)
    date_hierarchy = "started_at"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, run: SyncRun) -> SafeString:
        return badge(run.get_status_display(), RUN_STATUS_COLOURS.get(run.status, GREY))


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "flow",
        "action",
        "towards",
        "source_id",
        "target_id",
        "changed",
        "note",
    )
    list_filter = ("action", "towards", "flow")
    search_fields = ("source_id", "target_id", "note")
    list_select_related = ("flow",)
    date_hierarchy = "created_at"

    @admin.display(description="Changed fields")
    def changed(self, entry: AuditEntry) -> str:
        return ", ".join(entry.changed_fields) or "-"


@admin.register(ChangeEvent)
class ChangeEventAdmin(ReadOnlyAdmin):
    list_display = (
        "received_at",
        "connection",
        "entity",
        "external_id",
        "version",
        "operation",
        "origin",
        "status_badge",
        "attempts",
        "lease_owner",
        "lease_expires_at",
        "flow",
    )
    list_filter = ("status", "system", "origin", "operation", "entity", "connection")
    search_fields = ("external_id", "version", "last_error")
    list_select_related = ("connection", "flow")
    date_hierarchy = "received_at"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, event: ChangeEvent) -> SafeString:
        return badge(event.get_status_display(), EVENT_STATUS_COLOURS.get(event.status, GREY))


@admin.register(RecordLink)
class RecordLinkAdmin(ReadOnlyAdmin):
    """Links may be deleted ("unlink"): the engine then matches the record again."""

    list_display = (
        "flow",
        "source_id",
        "target_id",
        "source_version",
        "target_version",
        "last_synced_at",
    )
    list_filter = ("flow",)
    search_fields = ("source_id", "target_id")
    list_select_related = ("flow",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("syncs.delete_recordlink")
