"""Per-flow admin pages: Run now, Historical sync from a date, Force-sync one record. Each
checks permissions, calls one service, logs the change and says what happened (the pattern of
Django's UserAdmin password page)."""

from __future__ import annotations

from datetime import date

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse

from syncs.models import SyncFlow
from syncs.runs import flow_force_sync
from syncs.services import flow_history_start
from syncs.tasks import flow_history_start_async, flow_poll_async, inbox_wake


class HistoricalSyncForm(forms.Form):
    since = forms.DateField(
        initial=date(2000, 1, 1),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Every record changed on or after this date is synced, page by page.",
    )


class ForceSyncForm(forms.Form):
    source_id = forms.CharField(
        max_length=128, label="Record id at the source", help_text="e.g. the QuickBooks customer id"
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
) -> HttpResponse:
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
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
    form = HistoricalSyncForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        since = form.cleaned_data["since"]
        if flow_history_start(flow, since=since):
            flow_history_start_async(flow.pk)
            model_admin.log_change(request, flow, f"Started a historical sync from {since}.")
            model_admin.message_user(
                request,
                f"Historical sync from {since} started; progress shows on the flow.",
                messages.SUCCESS,
            )
        else:
            model_admin.message_user(
                request, "A historical sync of this flow is already running.", messages.WARNING
            )
        return _back(flow)
    return _page(model_admin, request, flow, form, f"Historical sync of {flow}")


def force_view(model_admin: admin.ModelAdmin, request: HttpRequest, pk: int) -> HttpResponse:
    flow = _flow(model_admin, request, pk)
    form = ForceSyncForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        source_id = form.cleaned_data["source_id"]
        flow_force_sync(flow, source_id=source_id)
        inbox_wake()
        model_admin.log_change(request, flow, f"Force-synced record {source_id}.")
        model_admin.message_user(
            request, f"Record {source_id} is queued to sync now.", messages.SUCCESS
        )
        return _back(flow)
    return _page(model_admin, request, flow, form, f"Force-sync one record of {flow}")
