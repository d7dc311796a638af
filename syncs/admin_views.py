"""Per-flow admin pages: Run now, Historical sync from a date, Force-sync one record. Each
checks permissions, calls one service, logs the change and says what happened (the pattern of
Django's UserAdmin password page)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse

from syncs.models import SyncFlow, SyncRun
from syncs.records import runs_abandon_dead, runs_alive
from syncs.runs import ForcedRecord, flow_force_sync
from syncs.services import flow_history_start
from syncs.tasks import flow_history_start_async, flow_poll_async, inbox_wake


class HistoricalSyncForm(forms.Form):
    since = forms.DateField(
        initial=date(2000, 1, 1),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=(
            "Every record changed on or after this date is synced, page by page. A historical "
            "sync that failed, started again from the same date, resumes where it stopped."
        ),
    )


class ForceSyncForm(forms.Form):
    """The record by its id on either side of the flow, each side labelled with its system."""

    side = forms.ChoiceField(widget=forms.RadioSelect, initial="source", label="The id is a")
    record_id = forms.CharField(max_length=128, label="Record id")

    def __init__(self, *args: Any, flow: SyncFlow, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        source, target = flow.source.get_system_display(), flow.target.get_system_display()
        side = self.fields["side"]
        assert isinstance(side, forms.ChoiceField)
        side.choices = [
            ("source", f"{source} {flow.source_entity} id"),
            ("target", f"{target} {flow.target_entity} id"),
        ]
        self.fields["side"].help_text = (
            f"A {target} record is synced back to {source}."
            if flow.is_two_way
            else f"A {target} record is found through its link, and its {source} record is "
            f"synced to {target} again."
        )


def _flow(model_admin: admin.ModelAdmin, request: HttpRequest, pk: int) -> SyncFlow:
    flow = get_object_or_404(SyncFlow.objects.select_related("source", "target"), pk=pk)
    if not model_admin.has_change_permission(request, flow):
        raise PermissionDenied
    return flow


def _back(flow: SyncFlow) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("admin:syncs_syncflow_change", args=[flow.pk]))


def _page(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    flow: SyncFlow,
    form: forms.Form,
    title: str,
    submit: str = "Start",
) -> HttpResponse:
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "submit": submit,
        "form": form,
        "original": flow,
        "opts": model_admin.model._meta,
    }
    return TemplateResponse(request, "admin/syncs/syncflow/flow_action.html", context)


def run_now_view(model_admin: admin.ModelAdmin, request: HttpRequest, pk: int) -> HttpResponse:
    flow = _flow(model_admin, request, pk)
    if request.method != "POST":
        return _back(flow)
    flow_poll_async(flow.pk)
    model_admin.log_change(request, flow, "Started a run.")
    model_admin.message_user(
        request, f"{flow} is running; its run appears under Sync runs.", messages.SUCCESS
    )
    return _back(flow)


def history_view(model_admin: admin.ModelAdmin, request: HttpRequest, pk: int) -> HttpResponse:
    flow = _flow(model_admin, request, pk)
    failed = flow.history_state == SyncFlow.HistoryState.FAILED
    form = HistoricalSyncForm(
        request.POST or None, initial={"since": flow.history_since} if failed else None
    )
    if request.method == "POST" and form.is_valid():
        since = form.cleaned_data["since"]
        if flow_history_start(flow, since=since):
            flow_history_start_async(flow.pk)
            done = flow.history_done
            started = f"resumed after its first {done} records" if done else "started"
            model_admin.log_change(request, flow, f"Historical sync from {since} {started}.")
            model_admin.message_user(
                request,
                f"Historical sync from {since} {started}; progress shows on the flow.",
                messages.SUCCESS,
            )
        elif not _history_run_running(flow):
            # Marked running, but no worker is on it (it died, or the queue lost the task):
            # queue it again; it resumes from the history's own date, not the one typed here.
            flow_history_start_async(flow.pk)
            model_admin.log_change(request, flow, "Resumed the historical sync.")
            model_admin.message_user(
                request,
                f"The historical sync from {flow.history_since} had stopped; it is running "
                "again. Records it already synced are skipped without a write.",
                messages.SUCCESS,
            )
        else:
            model_admin.message_user(
                request, "A historical sync of this flow is already running.", messages.WARNING
            )
        return _back(flow)
    return _page(model_admin, request, flow, form, f"Historical sync of {flow}")


def _history_run_running(flow: SyncFlow) -> bool:
    """A live historical run: one whose worker still beats (a dead one is marked so here)."""
    runs_abandon_dead(flow=flow, kind=SyncRun.Kind.HISTORICAL)
    return runs_alive().filter(flow=flow, kind=SyncRun.Kind.HISTORICAL).exists()


def _forced_message(flow: SyncFlow, side: str, record_id: str, forced: ForcedRecord) -> str:
    named = flow.source if side == "source" else flow.target
    label = f"{named.get_system_display()} record {record_id}"
    if forced.side == side:
        return f"{label} is queued to sync now."
    return (
        f"{label} is linked to {flow.source.get_system_display()} record {forced.record_id}, "
        "which is queued to sync now."
    )


def force_view(model_admin: admin.ModelAdmin, request: HttpRequest, pk: int) -> HttpResponse:
    flow = _flow(model_admin, request, pk)
    form = ForceSyncForm(request.POST or None, flow=flow)
    if request.method == "POST" and form.is_valid():
        side, record_id = form.cleaned_data["side"], form.cleaned_data["record_id"].strip()
        try:
            forced = flow_force_sync(flow, **{f"{side}_id": record_id})
        except ValueError as exc:
            form.add_error("record_id", str(exc))
        else:
            inbox_wake()
            message = _forced_message(flow, side, record_id, forced)
            model_admin.log_change(request, flow, f"Force-synced: {message}")
            model_admin.message_user(request, message, messages.SUCCESS)
            return _back(flow)
    title = f"Force-sync one record of {flow}"
    return _page(model_admin, request, flow, form, title, submit="Sync this record")
