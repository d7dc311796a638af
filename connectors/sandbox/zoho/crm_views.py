"""Zoho CRM v8 endpoints. Each view translates HTTP into a call to the services (or the query
helpers) and back; the rules live there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from connectors.sandbox.faults import sandbox_endpoint
from connectors.sandbox.models import Vendor
from connectors.sandbox.zoho import crm_query, crm_search, crm_watch, services
from connectors.sandbox.zoho.common import empty_answer, json_answer, json_body, zoho_root
from connectors.sandbox.zoho.crm_api import (
    crm_api,
    crm_error,
    crm_fault,
    invalid_module,
    write_credits,
)
from connectors.sandbox.zoho.crm_query import Page, QueryError
from connectors.sandbox.zoho.crm_records import WRITE_LIMIT, write_status
from connectors.sandbox.zoho.crm_schema import (
    ModuleDef,
    field_metadata,
    module_for,
    module_metadata,
    module_names,
    subform_module,
)
from connectors.sandbox.zoho.models import CrmOrg

View = Callable[..., HttpResponse]
CURRENCIES = {
    "USD": ("US Dollar", "$"),
    "EUR": ("Euro", "€"),
    "GBP": ("Pound Sterling", "£"),
    "INR": ("Indian Rupee", "₹"),
    "AUD": ("Australian Dollar", "A$"),
    "CAD": ("Canadian Dollar", "C$"),
    "JPY": ("Japanese Yen", "¥"),
}


def crm_endpoint(
    area: str, *, sub: str = "", credits: Callable[[HttpRequest], int] | None = None
) -> Callable[[View], View]:
    """The stack every CRM view wears: faults and logging outermost, then auth and limits."""

    def decorate(view: View) -> View:
        guarded = crm_api(area, sub=sub, credits=credits or (lambda request: 1))(view)
        return sandbox_endpoint(Vendor.ZOHO_CRM, on_fault=crm_fault)(guarded)

    return decorate


@crm_endpoint("org")
def org_view(request: HttpRequest, org: CrmOrg) -> HttpResponse:
    """The org's details, home currency included.

    Reference: https://www.zoho.com/crm/developer/docs/api/v8/get-org-data.html"""
    name, symbol = CURRENCIES.get(org.currency, (org.currency, org.currency))
    body = {
        "id": org.org_id,
        "zgid": org.id_prefix,
        "company_name": org.name,
        "currency": f"{name} - {org.currency}",
        "currency_symbol": symbol,
        "currency_locale": "en_US",
        "iso_code": org.currency,
        "mc_status": org.multi_currency,
        "primary_email": org.user_email,
        "primary_zuid": _zuid(org),
        "time_zone": "UTC",
        "country_code": "US",
        "type": "production",
        "license_details": {
            "paid": True,
            "paid_type": "professional",
            "users_license_purchased": 1,
        },
    }
    return json_answer({"org": [body]})


@crm_endpoint("users")
def users_view(request: HttpRequest, org: CrmOrg) -> HttpResponse:
    """The org's users (the sandbox has one, the current user, whatever `type` asks for).

    Reference: https://www.zoho.com/crm/developer/docs/api/v8/get-users.html"""
    first, _, last = org.user_name.partition(" ")
    user = {
        "id": org.user_id,
        "zuid": _zuid(org),
        "full_name": org.user_name,
        "first_name": first,
        "last_name": last or first,
        "email": org.user_email,
        "status": "active",
        "role": {"name": "CEO", "id": f"{org.id_prefix}000000000010"},
        "profile": {"name": "Administrator", "id": f"{org.id_prefix}000000000020"},
        "time_zone": "UTC",
        "locale": "en_US",
    }
    info = {"per_page": 200, "count": 1, "page": 1, "more_records": False}
    return json_answer({"users": [user], "info": info})


@crm_endpoint("settings", sub="modules")
def modules_view(request: HttpRequest, org: CrmOrg) -> HttpResponse:
    """The modules this org's edition has.

    Reference: https://www.zoho.com/crm/developer/docs/api/v8/modules-api.html"""
    modules = [module_for(org, name) for name in module_names(org)]
    return json_answer({"modules": [module_metadata(org, m) for m in modules if m]})


@crm_endpoint("settings", sub="fields")
def fields_view(request: HttpRequest, org: CrmOrg) -> HttpResponse:
    """A module's fields: types, lengths, mandatory flags, lookups, picklists, subforms.

    Reference: https://www.zoho.com/crm/developer/docs/api/v8/field-meta.html"""
    name = request.GET.get("module", "")
    if not name:
        return crm_error(
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            400,
            param="module",
        )
    module = module_for(org, name) or subform_module(org, name)
    if module is None:
        return invalid_module()
    return json_answer({"fields": [field_metadata(org, module, f) for f in module.fields]})


@crm_endpoint("notifications")
def watch_view(request: HttpRequest, org: CrmOrg) -> HttpResponse:
    """Notification channels: enable (POST), change (PATCH, PUT), list (GET), stop (DELETE).

    Reference: https://www.zoho.com/crm/developer/docs/api/v8/notifications/enable.html"""
    if request.method == "GET":
        entries = crm_watch.watch_details(
            org=org,
            channel_id=request.GET.get("channel_id", ""),
            module=request.GET.get("module", ""),
        )
        info = {"per_page": 200, "count": len(entries), "page": 1, "more_records": False}
        return json_answer({"watch": entries, "info": info}) if entries else empty_answer(204)
    if request.method == "DELETE":
        ids = [i for i in request.GET.get("channel_ids", "").split(",") if i]
        if not ids:
            return crm_error(
                "REQUIRED_PARAM_MISSING",
                "One of the expected parameter is missing",
                400,
                param="channel_ids",
            )
        return _entries_answer("watch", crm_watch.watch_disable(org=org, channel_ids=ids), 200)
    items = _body_list(request, "watch")
    if isinstance(items, HttpResponse):
        return items
    if request.method == "POST":
        base = f"{zoho_root(request)}/crm/v8"
        entries = crm_watch.watch_enable(org=org, items=items, resource_base=base)
        return _entries_answer("watch", entries, 201)
    if request.method in ("PATCH", "PUT"):
        entries = crm_watch.watch_update(org=org, items=items, partial=request.method == "PATCH")
        return _entries_answer("watch", entries, 200)
    return HttpResponse(status=405)


@crm_endpoint("modules", credits=write_credits)
def records_view(request: HttpRequest, org: CrmOrg, module: str) -> HttpResponse:
    """List (GET), insert (POST), update (PUT) and delete (DELETE ?ids=) records.

    Reference: https://www.zoho.com/crm/developer/docs/api/v8/get-records.html"""
    definition = module_for(org, module)
    if definition is None:
        return invalid_module()
    if request.method == "GET":
        try:
            page, fields = crm_query.records_page(
                org=org,
                module=definition,
                params=request.GET,
                modified_since=request.headers.get("If-Modified-Since", ""),
            )
        except QueryError as failure:
            return json_answer(failure.body, status=failure.status)
        return _page_answer(org, definition, page, fields)
    if request.method in ("POST", "PUT"):
        return _write(request, org, module, "insert" if request.method == "POST" else "update")
    if request.method == "DELETE":
        ids = [i for i in request.GET.get("ids", "").split(",") if i]
        return _delete(org, module, ids)
    return HttpResponse(status=405)


@crm_endpoint("modules", credits=write_credits)
def record_view(request: HttpRequest, org: CrmOrg, module: str, record_id: str) -> HttpResponse:
    """One record: get (204 when there is none), update, delete.

    Reference: https://www.zoho.com/crm/developer/docs/api/v8/get-records.html"""
    definition = module_for(org, module)
    if definition is None:
        return invalid_module()
    if request.method == "GET":
        record = crm_query.live_records(org, definition).filter(record_id=record_id).first()
        if record is None:
            return empty_answer(204)
        return json_answer({"data": [crm_query.record_render(org, definition, record)]})
    if request.method == "PUT":
        return _write(request, org, module, "update", record_id=record_id)
    if request.method == "DELETE":
        return _delete(org, module, [record_id])
    return HttpResponse(status=405)


@crm_endpoint("modules", credits=write_credits)
def upsert_view(request: HttpRequest, org: CrmOrg, module: str) -> HttpResponse:
    """Insert or update by the duplicate-check fields (the module's system ones by default).

    Reference: https://www.zoho.com/crm/developer/docs/api/v8/upsert-records.html"""
    if request.method != "POST":
        return HttpResponse(status=405)
    if module_for(org, module) is None:
        return invalid_module()
    return _write(request, org, module, "upsert")


@crm_endpoint("modules")
def search_view(request: HttpRequest, org: CrmOrg, module: str) -> HttpResponse:
    """Search by email, phone, word or criteria.

    Reference: https://www.zoho.com/crm/developer/docs/api/v8/search-records.html"""
    definition = module_for(org, module)
    if definition is None:
        return invalid_module()
    try:
        page, fields = crm_search.search_page(org=org, module=definition, params=request.GET)
    except QueryError as failure:
        return json_answer(failure.body, status=failure.status)
    return _page_answer(org, definition, page, fields)


@crm_endpoint("modules")
def deleted_view(request: HttpRequest, org: CrmOrg, module: str) -> HttpResponse:
    """Records in the recycle bin, newest first.

    Reference: https://www.zoho.com/crm/developer/docs/api/v8/get-deleted-records.html"""
    definition = module_for(org, module)
    if definition is None:
        return invalid_module()
    try:
        page = crm_query.deleted_page(
            org=org,
            module=definition,
            params=request.GET,
            modified_since=request.headers.get("If-Modified-Since", ""),
        )
    except QueryError as failure:
        return json_answer(failure.body, status=failure.status)
    if not page.records:
        return empty_answer(204)
    data = [crm_query.deleted_render(org, definition, r) for r in page.records]
    return json_answer({"data": data, "info": page.info})


@sandbox_endpoint(Vendor.ZOHO_CRM, on_fault=crm_fault)
def unknown_url(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any other path under `/crm/v8/`.

    Reference: https://www.zoho.com/crm/developer/docs/api/v8/status-codes.html"""
    return crm_error(
        "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one", 404
    )


def _write(
    request: HttpRequest, org: CrmOrg, module: str, mode: str, record_id: str = ""
) -> HttpResponse:
    rows = _body_list(request, "data")
    if isinstance(rows, HttpResponse):
        return rows
    if len(rows) > WRITE_LIMIT:
        return crm_error("LIMIT_EXCEEDED", "the limit has been exceeded", 400, limit=WRITE_LIMIT)
    if record_id:
        rows = [{**(rows[0] if isinstance(rows[0], dict) else {}), "id": record_id}]
    body = json_body(request)
    dup_fields = body.get("duplicate_check_fields") if mode == "upsert" else None
    try:
        batch = services.crm_records_write(
            org=org, module=module, rows=rows, mode=mode, duplicate_check_fields=dup_fields
        )
    except services.CrmRejected as failure:
        return json_answer(failure.entry, status=400)
    return _entries_answer("data", batch.entries, write_status(batch, mode))


def _delete(org: CrmOrg, module: str, ids: list[str]) -> HttpResponse:
    if not ids:
        return crm_error(
            "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", 400, param="ids"
        )
    if len(ids) > WRITE_LIMIT:
        return crm_error("LIMIT_EXCEEDED", "the limit has been exceeded", 400, limit=WRITE_LIMIT)
    entries = services.crm_records_delete(org=org, module=module, record_ids=ids)
    return _entries_answer("data", entries, 200)


def _body_list(request: HttpRequest, key: str) -> list[Any] | HttpResponse:
    """`body[key]` when it is a non-empty list, else Zoho's complaint about the body."""
    body = json_body(request)
    if not isinstance(body, dict):
        return crm_error("INVALID_DATA", "the input JSON is invalid", 400)
    items = body.get(key)
    if not isinstance(items, list) or not items:
        return crm_error("MANDATORY_NOT_FOUND", "required field not found", 400, api_name=key)
    return items


def _entries_answer(key: str, entries: list[dict[str, Any]], success_status: int) -> HttpResponse:
    """Per-item results: `success_status` when all succeeded; 202 when some failed (a 2xx that
    holds failed records); 400 when every one failed, still with an entry per item."""
    failed = [e for e in entries if e.get("status") == "error"]
    if not failed:
        status = success_status
    elif len(failed) == len(entries):
        status = 400
    else:
        status = 202
    return json_answer({key: entries}, status=status)


def _page_answer(
    org: CrmOrg, module: ModuleDef, page: Page, fields: list[str] | None
) -> HttpResponse:
    if page.status != 200:
        return empty_answer(page.status)
    data = [crm_query.record_render(org, module, record, fields) for record in page.records]
    return json_answer({"data": data, "info": page.info})


def _zuid(org: CrmOrg) -> str:
    """The user's Zoho account id (ZUID), shorter than CRM record ids."""
    return str(int(org.user_id) % 10**9)
