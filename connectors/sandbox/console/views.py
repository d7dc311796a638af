"""The sandbox console: a window onto the fakes' side of every integration, for the people
given it.

Views only read the request, call a source, selector or service, and render. Every page needs a
staff login and the permission "Can use the sandbox console" (`sandbox.use_console`; superusers
have it): the console changes the fakes' data and faults, so a staff user without it gets 403,
and a server that enabled the sandbox by mistake still shows nothing to the public. Whatever it
shows of a request or a delivery has its credentials redacted (`connectors/sandbox/redact.py`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from connectors.sandbox.console import selectors, services
from connectors.sandbox.console.forms import (
    DeliveryFilterForm,
    FaultProfileForm,
    RequestFilterForm,
    filter_value,
)
from connectors.sandbox.console.records import (
    RecordSource,
    VendorFault,
    action_get,
    entity_check,
)
from connectors.sandbox.console.registry import SOURCES, source_for
from connectors.sandbox.models import OutboundDelivery, RequestLog, Vendor
from connectors.sandbox.redact import redact, redact_headers

GET_POST = require_http_methods(["GET", "POST"])
RECENT = 10
CONSOLE_PERMISSION = "sandbox.use_console"


def console_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A staff login (else the admin's login page), then the console permission (else 403)."""
    return staff_member_required(
        permission_required(CONSOLE_PERMISSION, raise_exception=True)(view)
    )


def _render(request: HttpRequest, template: str, title: str, **context: Any) -> HttpResponse:
    """Render inside the admin's look (header, user tools, dark mode), without its sidebar."""
    base = {
        "site_header": admin.site.site_header,
        "site_title": admin.site.site_title,
        "site_url": admin.site.site_url,
        "has_permission": admin.site.has_permission(request),
        "is_popup": False,
        "is_nav_sidebar_enabled": False,
        "title": title,
    }
    return render(request, f"sandbox/console/{template}", {**base, **context})


# --- home -------------------------------------------------------------------------------------


@console_view
def home(request: HttpRequest) -> HttpResponse:
    return _render(
        request,
        "home.html",
        "Sandbox console",
        overviews=[(source, source.overview()) for source in SOURCES.values()],
        profiles=selectors.fault_profiles(),
        recent_requests=selectors.requests_readable(selectors.requests_filtered()[:RECENT]),
        recent_deliveries=selectors.deliveries_filtered()[:RECENT],
    )


# --- records ----------------------------------------------------------------------------------


def _owner(system: str, owner_id: str, entity: str) -> tuple[RecordSource, Any]:
    source = source_for(system)
    owner = source.owner_get(owner_id)
    entity_check(source, owner, entity)
    return source, owner


def _record_context(source: RecordSource, owner: Any, owner_id: str, entity: str) -> dict[str, Any]:
    return {
        "source": source,
        "owner": owner,
        "owner_id": owner_id,
        "owner_name": source.owner_name(owner),
        "entity": entity,
    }


@console_view
def record_list(request: HttpRequest, system: str, owner_id: str, entity: str) -> HttpResponse:
    source, owner = _owner(system, owner_id, entity)
    search = request.GET.get("q", "").strip()
    page = selectors.page_of(source.rows(owner, entity, search), request.GET.get("page"))
    return _render(
        request,
        "record_list.html",
        f"{entity} of {source.owner_name(owner)}",
        **_record_context(source, owner, owner_id, entity),
        page=page,
        rows=[source.row(owner, record) for record in page],
        search=search,
        query=_query_without_page(request),
        can_create=source.editable(entity, None),
        siblings=source.entities(owner),
    )


@console_view
def record_detail(
    request: HttpRequest, system: str, owner_id: str, entity: str, record_id: str
) -> HttpResponse:
    source, owner = _owner(system, owner_id, entity)
    record = source.record_get(owner, entity, record_id)
    return _render(
        request,
        "record_detail.html",
        f"{entity} {record_id}",
        **_record_context(source, owner, owner_id, entity),
        row=source.row(owner, record),
        document=json.dumps(source.document(owner, entity, record), indent=2, ensure_ascii=False),
        actions=source.actions(entity, record),
        editable=source.editable(entity, record),
    )


@console_view
@GET_POST
def record_create(request: HttpRequest, system: str, owner_id: str, entity: str) -> HttpResponse:
    return _record_form(request, system, owner_id, entity, record_id=None)


@console_view
@GET_POST
def record_edit(
    request: HttpRequest, system: str, owner_id: str, entity: str, record_id: str
) -> HttpResponse:
    return _record_form(request, system, owner_id, entity, record_id=record_id)


def _record_form(
    request: HttpRequest, system: str, owner_id: str, entity: str, *, record_id: str | None
) -> HttpResponse:
    source, owner = _owner(system, owner_id, entity)
    record = None if record_id is None else source.record_get(owner, entity, record_id)
    if not source.editable(entity, record):
        raise Http404(f"This {entity} cannot be changed")
    posted = request.POST if request.method == "POST" else None
    form = source.form(owner, entity, record, posted)
    fault = None
    if posted is not None and form.is_valid():
        try:
            saved_id = source.save(owner, entity, record, form)
        except VendorFault as refused:
            fault = refused
        else:
            done = "created" if record is None else "saved"
            messages.success(request, f"{entity} {saved_id} {done} through the fake's service.")
            return redirect(_detail_url(system, owner_id, entity, saved_id))
    title = f"New {entity}" if record is None else f"Edit {entity} {record_id}"
    return _render(
        request,
        "record_form.html",
        title,
        **_record_context(source, owner, owner_id, entity),
        form=form,
        fault=fault,
        record_id=record_id,
        document=None
        if record is None
        else json.dumps(source.document(owner, entity, record), indent=2, ensure_ascii=False),
    )


@console_view
@GET_POST
def record_action(
    request: HttpRequest, system: str, owner_id: str, entity: str, record_id: str, action: str
) -> HttpResponse:
    """GET asks to confirm; POST does it through the fake's service."""
    source, owner = _owner(system, owner_id, entity)
    record = source.record_get(owner, entity, record_id)
    chosen = action_get(source, entity, record, action)
    if request.method == "POST":
        try:
            source.act(owner, entity, record, action)
        except VendorFault as refused:
            messages.error(request, f"{source.label} refused: {refused}")
        else:
            messages.success(request, f"{chosen.label}: done for {entity} {record_id}.")
        return redirect(_detail_url(system, owner_id, entity, record_id))
    return _render(
        request,
        "record_action.html",
        f"{chosen.label} {entity} {record_id}?",
        **_record_context(source, owner, owner_id, entity),
        action=chosen,
        record_id=record_id,
        row=source.row(owner, record),
    )


def _detail_url(system: str, owner_id: str, entity: str, record_id: str) -> str:
    return reverse("sandbox:console:record-detail", args=[system, owner_id, entity, str(record_id)])


# --- request log ------------------------------------------------------------------------------


@console_view
def request_list(request: HttpRequest) -> HttpResponse:
    filters = RequestFilterForm(request.GET, codes=selectors.status_codes_logged())
    vendor, status = filter_value(filters, "vendor"), filter_value(filters, "status")
    rows = selectors.requests_filtered(vendor=vendor, status=status)
    page = selectors.page_of(rows, request.GET.get("page"), size=50)
    return _render(
        request,
        "request_list.html",
        "Request log",
        filters=filters,
        page=page,
        entries=selectors.requests_readable(page),
        # Counts cover the same rows as the list, so a filter narrows both.
        counts=selectors.endpoint_counts(rows),
        query=_query_without_page(request),
    )


@console_view
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(RequestLog, pk=pk)
    return _render(
        request,
        "request_detail.html",
        f"{entry.method} {entry.path}",
        entry=selectors.requests_readable([entry])[0],
        request_body=selectors.pretty_body(entry.request_body),
        response_body=selectors.pretty_body(entry.response_body),
    )


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- faults -----------------------------------------------------------------------------------


@console_view
def faults(request: HttpRequest) -> HttpResponse:
    return _faults_page(request, bound=None)


@console_view
@require_POST
def fault_save(request: HttpRequest, vendor: str) -> HttpResponse:
    if vendor not in Vendor.values:
        raise Http404(f"No sandbox fake {vendor!r}")
    form = services.fault_profile_save(vendor=vendor, data=request.POST)
    if not form.is_valid():
        return _faults_page(request, bound=form, status=400)
    messages.success(request, f"Saved the faults of {Vendor(vendor).label}.")
    return redirect("sandbox:console:faults")


def _faults_page(
    request: HttpRequest, *, bound: FaultProfileForm | None, status: int = 200
) -> HttpResponse:
    forms = [
        bound
        if bound is not None and bound.instance.vendor == profile.vendor
        else FaultProfileForm(instance=profile, prefix=profile.vendor)
        for profile in selectors.fault_profiles()
    ]
    response = _render(request, "faults.html", "Faults", forms=forms)
    response.status_code = status
    return response


# --- deliveries -------------------------------------------------------------------------------


@console_view
def delivery_list(request: HttpRequest) -> HttpResponse:
    filters = DeliveryFilterForm(request.GET)
    rows = selectors.deliveries_filtered(
        vendor=filter_value(filters, "vendor"), status=filter_value(filters, "status")
    )
    return _render(
        request,
        "delivery_list.html",
        "Outbound deliveries",
        filters=filters,
        page=selectors.page_of(rows, request.GET.get("page")),
        query=_query_without_page(request),
    )


@console_view
def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(OutboundDelivery, pk=pk)
    return _render(
        request,
        "delivery_detail.html",
        f"Delivery {delivery.pk}",
        delivery=delivery,
        headers=json.dumps(redact_headers(delivery.headers), indent=2),
        body=selectors.pretty_body(redact(delivery.body)),
    )


@console_view
@require_POST
def delivery_send(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(OutboundDelivery, pk=pk)
    sent = services.delivery_send_now(delivery_id=pk)
    if sent is None:
        messages.warning(request, f"Delivery {pk} is no longer pending; nothing was sent.")
    elif sent.status == OutboundDelivery.Status.DELIVERED:
        messages.success(request, f"Delivery {pk} delivered ({sent.last_status_code}).")
    else:
        code = sent.last_status_code or "no answer"
        messages.error(
            request,
            f"Delivery {pk} failed ({code}: {sent.last_error[:200]}); attempt {sent.attempts}, "
            f"status {sent.get_status_display().lower()}.",
        )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("sandbox:console:delivery-detail", args=[pk])
    return redirect(target)
