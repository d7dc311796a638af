"""The sync engine's face: flows and their mappings, the errors to triage, and read-only
history (runs, audit trail, inbox). Actions call one service and say what happened."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from connectors.base.exceptions import ConnectorError
from connectors.models import Connection, WebhookChannel
from connectors.registry import adapter_for, system_spec
from syncs import admin_history, admin_views  # noqa: F401 - admin_history registers its pages
from syncs.admin_common import (
    CHANNEL_STATUS_COLOURS,
    ERROR_STATUS_COLOURS,
    FLOW_STATE_COLOURS,
    GREY,
    RUN_STATUS_COLOURS,
    badge,
    category_colour,
    pretty_json,
)
from syncs.mapping import MappingRule
from syncs.models import (
    OPEN_STATUSES,
    FieldMapping,
    SyncError,
    SyncFlow,
    SyncRun,
)
from syncs.references import options_validate
from syncs.runs import flow_resume_catch_up, flow_target_cursor_start, sync_errors_retry
from syncs.services import flow_pause, sync_errors_ignore
from syncs.tasks import channels_ensure_on_commit, flow_poll_async, inbox_wake


class FieldMappingFormSet(BaseInlineFormSet):
    """Mappings are checked against the target's own field metadata before they are saved:
    an unknown field, a transform that does not fit its type, or a mandatory field left unmapped
    is refused with a clear message. The admin reads the metadata first and passes it in."""

    def __init__(self, *args, target_schema=None, **kwargs) -> None:
        self.target_schema = target_schema
        super().__init__(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        if any(self.errors) or self.instance.pk is None or self.instance.target_id is None:
            return
        rules = [
            MappingRule(
                source_path=form.cleaned_data.get("source_path", ""),
                target_field=form.cleaned_data["target_field"],
                transform=form.cleaned_data.get("transform") or FieldMapping.Transform.NONE,
                transform_options=form.cleaned_data.get("transform_options") or {},
                required=form.cleaned_data.get("required", False),
                direction=form.cleaned_data.get("direction") or FieldMapping.Direction.TO_TARGET,
            )
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("target_field")
        ]
        schema = self.target_schema
        if isinstance(schema, Exception):
            raise ValidationError(
                f"The mappings could not be checked against {self.instance.target}: {schema}"
            )
        if schema is None:
            return
        options = self.instance.options if isinstance(self.instance.options, dict) else {}
        problems = options_validate(rules, options=options, target_schema=schema)
        if problems:
            raise ValidationError(problems)


class FieldMappingInline(admin.TabularInline):
    model = FieldMapping
    formset = FieldMappingFormSet
    extra = 0
    fields = (
        "position",
        "source_path",
        "target_field",
        "transform",
        "transform_options",
        "required",
        "direction",
    )
    ordering = ("position", "pk")


class _SystemFilter(admin.SimpleListFilter):
    side = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(Connection.System.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(**{f"{self.side}__system": value}) if value else queryset


class SourceSystemFilter(_SystemFilter):
    title, parameter_name, side = "source system", "source_system", "source"


class TargetSystemFilter(_SystemFilter):
    title, parameter_name, side = "target system", "target_system", "target"


@admin.register(SyncFlow)
class SyncFlowAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "state_badge",
        "source_side",
        "target_side",
        "direction",
        "last_run",
        "open_errors",
        "history_progress",
    )
    list_filter = ("state", "direction", SourceSystemFilter, TargetSystemFilter)
    search_fields = ("name", "source__name", "target__name", "source_entity", "target_entity")
    list_select_related = ("source", "target")
    inlines = (FieldMappingInline,)
    actions = (
        "pause_selected",
        "resume_selected",
        "run_selected",
        "disable_selected",
        "enable_selected",
    )
    change_form_template = "admin/syncs/syncflow/change_form.html"

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The target's field metadata is read before Django opens the change form's
        # transaction: no HTTP call is ever made while holding a database transaction.
        request._target_schema = None
        if request.method == "POST" and object_id:
            flow = SyncFlow.objects.select_related("target").filter(pk=object_id).first()
            if flow is not None:
                try:
                    request._target_schema = adapter_for(flow.target).schema(flow.target_entity)
                except (ConnectorError, LookupError) as exc:
                    request._target_schema = exc
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change) -> None:
        was_two_way = change and form.initial.get("direction") == SyncFlow.Direction.TWO_WAY
        moved = change and bool({"target", "target_entity"} & set(form.changed_data))
        if change:
            # Only what the page edits: workers move the cursors, the state and the history
            # progress of this row meanwhile, and a whole-row save would put them back.
            obj.save(update_fields=[*form.fields, "updated_at"])
        else:
            super().save_model(request, obj, form, change)
        if obj.is_two_way and (not was_two_way or moved):
            flow_target_cursor_start(obj)
        if obj.is_two_way or was_two_way:
            channels_ensure_on_commit()

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, FieldMappingInline):
            kwargs["target_schema"] = getattr(request, "_target_schema", None)
        return kwargs

    def get_urls(self):
        def wrap(view):
            return self.admin_site.admin_view(lambda request, pk: view(self, request, pk))

        return [
            path("<int:pk>/run/", wrap(admin_views.run_now_view), name="syncs_syncflow_run"),
            path(
                "<int:pk>/history/", wrap(admin_views.history_view), name="syncs_syncflow_history"
            ),
            path("<int:pk>/force/", wrap(admin_views.force_view), name="syncs_syncflow_force"),
            *super().get_urls(),
        ]

    @admin.action(
        description="Disable selected flows (no syncing, no errors)", permissions=["change"]
    )
    def disable_selected(self, request: HttpRequest, queryset: QuerySet[SyncFlow]) -> None:
        disabled = queryset.exclude(state=SyncFlow.State.DISABLED).update(
            state=SyncFlow.State.DISABLED, paused_at=None
        )
        if queryset.filter(direction=SyncFlow.Direction.TWO_WAY).exists():
            channels_ensure_on_commit()  # an entity no flow reads any more stops being watched
        self.message_user(request, f"Disabled {disabled} flow(s).", messages.SUCCESS)

    @admin.action(description="Enable selected flows", permissions=["change"])
    def enable_selected(self, request: HttpRequest, queryset: QuerySet[SyncFlow]) -> None:
        enabled = queryset.filter(state=SyncFlow.State.DISABLED).update(state=SyncFlow.State.ACTIVE)
        if queryset.filter(direction=SyncFlow.Direction.TWO_WAY).exists():
            channels_ensure_on_commit()
        self.message_user(
            request, f"Enabled {enabled} flow(s); Run now to catch up.", messages.SUCCESS
        )

    @admin.action(description="Run selected flows now", permissions=["change"])
    def run_selected(self, request: HttpRequest, queryset: QuerySet[SyncFlow]) -> None:
        for flow in queryset:
            flow_poll_async(flow.pk)
        self.message_user(request, f"Started {queryset.count()} run(s).", messages.SUCCESS)

    readonly_fields = (
        "state",
        "paused_at",
        "target_notifications",
        "cursor",
        "history_state",
        "history_since",
        "history_cursor",
        "history_done",
        "history_total",
        "history_started_at",
        "history_finished_at",
        "history_error",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("name", ("source", "source_entity"), ("target", "target_entity"))}),
        ("Behaviour", {"fields": ("direction", "system_of_truth", "match_keys", "options")}),
        (
            "State",
            {
                "fields": (
                    "state",
                    "paused_at",
                    "target_notifications",
                    "cursor",
                    "created_at",
                    "updated_at",
                )
            },
        ),
        (
            "Historical sync",
            {
                "classes": ("collapse",),
                "fields": (
                    "history_state",
                    "history_since",
                    ("history_done", "history_total"),
                    "history_cursor",
                    ("history_started_at", "history_finished_at"),
                    "history_error",
                ),
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[SyncFlow]:
        # Subqueries rather than joins: counting errors over a join with runs would multiply.
        runs = SyncRun.objects.filter(flow=OuterRef("pk")).order_by("-started_at", "-pk")
        open_errors = (
            SyncError.objects.filter(flow=OuterRef("pk"), status__in=OPEN_STATUSES)
            .order_by()
            .values("flow")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                last_run_at=Subquery(runs.values("started_at")[:1]),
                last_run_status=Subquery(runs.values("status")[:1]),
                open_error_count=Coalesce(Subquery(open_errors), 0, output_field=IntegerField()),
            )
        )

    @admin.display(description="State", ordering="state")
    def state_badge(self, flow: SyncFlow) -> SafeString:
        return badge(flow.get_state_display(), FLOW_STATE_COLOURS.get(flow.state, GREY))

    @admin.display(description="Source", ordering="source__name")
    def source_side(self, flow: SyncFlow) -> str:
        return f"{flow.source_entity} · {flow.source}"

    @admin.display(description="Target", ordering="target__name")
    def target_side(self, flow: SyncFlow) -> str:
        return f"{flow.target_entity} · {flow.target}"

    @admin.display(description="Last run", ordering="last_run_at")
    def last_run(self, flow: SyncFlow) -> SafeString | str:
        last_run_at = getattr(flow, "last_run_at", None)  # annotated by get_queryset
        if not last_run_at:
            return "never"
        status = SyncRun.Status(getattr(flow, "last_run_status", ""))
        when = timezone.localtime(last_run_at).strftime("%Y-%m-%d %H:%M")
        return format_html("{} {}", badge(status.label, RUN_STATUS_COLOURS[status]), when)

    @admin.display(description="Open errors", ordering="open_error_count")
    def open_errors(self, flow: SyncFlow) -> SafeString | int:
        count = getattr(flow, "open_error_count", 0)  # annotated by get_queryset
        if not count:
            return 0
        url = reverse("admin:syncs_syncerror_changelist")
        query = f"?flow__id__exact={flow.pk}&status__in=open,retrying"
        return format_html('<a href="{}{}">{}</a>', url, query, count)

    @admin.display(description="Target notifications")
    def target_notifications(self, flow: SyncFlow) -> SafeString | str:
        """The notification channel that tells a two-way flow of changes at its target, for a
        target whose notifications are subscribed."""
        if flow.pk is None or not flow.is_two_way:
            return "-"
        if system_spec(flow.target.system).channels is None:
            return "-"
        channel = WebhookChannel.objects.filter(connection_id=flow.target_id).first()
        if channel is None:
            return "None yet: a worker sets it up shortly (reconciliation finds changes meanwhile)."
        status = badge(
            channel.get_status_display(), CHANNEL_STATUS_COLOURS.get(channel.status, GREY)
        )
        if channel.status == WebhookChannel.Status.FAILED:
            return format_html("{} {}", status, channel.last_error)
        until = (
            timezone.localtime(channel.expires_at).strftime("%Y-%m-%d %H:%M")
            if channel.expires_at
            else "?"
        )
        return format_html("{} watching {} until {}", status, ", ".join(channel.events), until)

    @admin.display(description="Historical sync")
    def history_progress(self, flow: SyncFlow) -> str:
        if flow.history_state == SyncFlow.HistoryState.IDLE:
            return "-"
        total = f" of {flow.history_total}" if flow.history_total is not None else ""
        percent = f" ({flow.history_percent}%)" if flow.history_percent is not None else ""
        return f"{flow.get_history_state_display()}: {flow.history_done}{total}{percent}"

    @admin.action(description="Pause selected flows", permissions=["change"])
    def pause_selected(self, request: HttpRequest, queryset: QuerySet[SyncFlow]) -> None:
        paused = sum(flow_pause(flow) for flow in queryset)
        self.message_user(request, f"Paused {paused} flow(s).", messages.SUCCESS)

    @admin.action(description="Resume selected flows", permissions=["change"])
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[SyncFlow]) -> None:
        paused = list(queryset.filter(state=SyncFlow.State.PAUSED).select_related("source"))
        queued = sum(flow_resume_catch_up(flow) for flow in paused)
        if queued:
            inbox_wake()
        self.message_user(
            request,
            f"Resumed {len(paused)} flow(s); {queued} record(s) that waited are syncing now.",
            messages.SUCCESS,
        )


class ConnectionFilter(admin.SimpleListFilter):
    """Errors of flows that read from or write to one connection."""

    title = "connection"
    parameter_name = "connection"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(c.pk), str(c)) for c in Connection.objects.only("pk", "name", "system")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[SyncError]) -> QuerySet:
        if not self.value():
            return queryset
        return queryset.filter(Q(flow__source_id=self.value()) | Q(flow__target_id=self.value()))


@admin.register(SyncError)
class SyncErrorAdmin(admin.ModelAdmin):
    list_display = (
        "last_seen",
        "category_badge",
        "status_badge",
        "record_and_message",
        "flow",
        "attempts_and_next",
    )
    list_filter = ("category", "status", "flow", ConnectionFilter)
    search_fields = ("source_id", "source_name", "target_id", "code", "request_id")
    list_select_related = ("flow",)
    date_hierarchy = "last_seen"
    actions = ("retry_selected", "ignore_selected")
    fields = (
        ("flow", "run"),
        ("category", "status"),
        ("source_id", "source_name", "target_id"),
        "message",
        ("code", "request_id"),
        "details_pretty",
        "payload_pretty",
        ("attempts", "next_retry_at"),
        ("first_seen", "last_seen", "resolved_at"),
    )
    readonly_fields = tuple(
        name for group in fields for name in (group if isinstance(group, tuple) else (group,))
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Category", ordering="category")
    def category_badge(self, error: SyncError) -> SafeString:
        return badge(error.get_category_display(), category_colour(error.category))

    @admin.display(description="Status", ordering="status")
    def status_badge(self, error: SyncError) -> SafeString:
        return badge(error.get_status_display(), ERROR_STATUS_COLOURS.get(error.status, GREY))

    @admin.display(description="Record", ordering="source_name")
    def record(self, error: SyncError) -> str:
        if error.source_name and error.source_id:
            return f"{error.source_name} ({error.source_id})"
        return error.source_name or error.source_id or "-"

    @admin.display(description="Record and what happened", ordering="source_name")
    def record_and_message(self, error: SyncError) -> SafeString:
        """The vendor's message under the record's name, so the list reads without scrolling
        sideways; the whole message, its code and the payload are on the error's page."""
        message = error.message if len(error.message) <= 200 else f"{error.message[:199]}…"
        return format_html("<strong>{}</strong><br>{}", self.record(error), message)

    @admin.display(description="Attempts", ordering="attempts")
    def attempts_and_next(self, error: SyncError) -> str:
        if error.status == SyncError.Status.RETRYING and error.next_retry_at:
            return f"{error.attempts}, next at {timezone.localtime(error.next_retry_at):%H:%M}"
        return str(error.attempts)

    @admin.display(description="Details")
    def details_pretty(self, error: SyncError) -> SafeString:
        return pretty_json(error.details)

    @admin.display(description="Payload sent")
    def payload_pretty(self, error: SyncError) -> SafeString:
        return pretty_json(error.payload)

    @admin.action(description="Retry selected errors", permissions=["change"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[SyncError]) -> None:
        queued = sync_errors_retry(queryset.select_related("flow__source"))
        if queued:
            inbox_wake()
        self.message_user(request, f"Queued {queued} record(s) to sync again.", messages.SUCCESS)

    @admin.action(description="Ignore selected errors", permissions=["change"])
    def ignore_selected(self, request: HttpRequest, queryset: QuerySet[SyncError]) -> None:
        ignored = sync_errors_ignore(queryset)
        self.message_user(request, f"Ignored {ignored} open error(s).", messages.SUCCESS)
