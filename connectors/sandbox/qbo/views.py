"""The accounting API under `/v3/company/<realm>/`: thin views over the services.

Every view goes through `qbo_api`, which does what Intuit's gateway does before an answer:
the bearer check, the per-company throttles (500 requests a minute, 10 in flight, 40 batches
a minute) and the `minorversion` check; `sandbox_endpoint` adds latency, injected 5xx and the
request log around it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from connectors.sandbox.faults import concurrency_slot, rate_window_hit, sandbox_endpoint
from connectors.sandbox.models import FaultProfile, Vendor
from connectors.sandbox.qbo import errors
from connectors.sandbox.qbo.batch import batch_items, batch_run
from connectors.sandbox.qbo.entities import SPECS, spec_for_path
from connectors.sandbox.qbo.models import Company
from connectors.sandbox.qbo.oauth import access_authenticate
from connectors.sandbox.qbo.replies import (
    api_fault,
    fault_reply,
    json_reply,
    text_reply,
    throttle_reply,
)
from connectors.sandbox.qbo.selectors import cdc_run, company_info_render, query_run, record_get
from connectors.sandbox.qbo.services import record_write, replay_or_run
from connectors.sandbox.qbo.timefmt import intuit_time, parse_timestamp

DEFAULT_RATE_LIMIT = 500
DEFAULT_CONCURRENCY = 10
BATCHES_PER_MINUTE = 40
CURRENT_MINOR_VERSION = 75
CDC_LOOKBACK = timedelta(days=30)
WARNING_HEADER = "X-Sandbox-Warning"

Handler = Callable[..., HttpResponse]


def qbo_api(*, methods: tuple[str, ...], batch: bool = False) -> Callable[[Handler], Handler]:
    """Turn `handler(request, company, ...)` into a view of `/v3/company/<realm_id>/...`."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def view(request: HttpRequest, realm_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                if request.method not in methods:
                    raise _method_not_allowed(request)
                company = access_authenticate(
                    authorization=request.headers.get("Authorization", ""), realm_id=realm_id
                )
                response = _within_limits(
                    request, company, batch, lambda: handler(request, company, *args, **kwargs)
                )
            except errors.QboFault as fault:
                response = fault_reply(fault)
            warning = minorversion_warning(request)
            if warning:
                response[WARNING_HEADER] = warning
            return response

        return sandbox_endpoint(Vendor.QBO, on_fault=api_fault)(view)

    return decorate


def _within_limits(
    request: HttpRequest, company: Company, batch: bool, answer: Callable[[], HttpResponse]
) -> HttpResponse:
    """Intuit's throttles per company: each batch item counts as a request."""
    profile = FaultProfile.for_vendor(Vendor.QBO)
    key = f"qbo:{company.realm_id}"
    limit = profile.rate_limit_per_minute or DEFAULT_RATE_LIMIT
    cost = _batch_size(request) if batch else 1
    if not all(rate_window_hit(key, limit) for _ in range(cost)):
        return throttle_reply()
    if batch and not rate_window_hit(f"{key}:batch", BATCHES_PER_MINUTE):
        return throttle_reply()
    with concurrency_slot(key, profile.concurrency_limit or DEFAULT_CONCURRENCY) as free:
        return answer() if free else throttle_reply()


def minorversion_warning(request: HttpRequest) -> str:
    """Since 2025-08-01 Intuit ignores minorversion 1-74 and answers as 75; say so, since the
    product is meant to send 75. No minorversion at all is allowed (it also means 75)."""
    raw = request.GET.get("minorversion")
    if raw is None or (raw.isdigit() and int(raw) >= CURRENT_MINOR_VERSION):
        return ""
    return (
        f"minorversion={raw} is below {CURRENT_MINOR_VERSION}: Intuit ignores it and answers as "
        f"minorversion {CURRENT_MINOR_VERSION}"
    )


# --- endpoints --------------------------------------------------------------------------------


@qbo_api(methods=("GET", "POST"))
def query_view(request: HttpRequest, company: Company) -> HttpResponse:
    """GET `?query=...`, or POST with the query as an `application/text` body.

    Reference: https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
    """
    text = request.GET.get("query", "") if request.method == "GET" else _text_body(request)
    return json_reply(
        {"QueryResponse": query_run(company=company, text=text), "time": intuit_time()}
    )


@qbo_api(methods=("GET",))
def entity_read_view(
    request: HttpRequest, company: Company, segment: str, record_id: str
) -> HttpResponse:
    """Read one entity by Id.

    Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer#read-a-customer
    """
    spec = spec_for_path(segment)
    doc = record_get(company=company, entity=spec.name, record_id=record_id)
    return json_reply({spec.name: doc, "time": intuit_time()})


@qbo_api(methods=("POST",))
def entity_write_view(request: HttpRequest, company: Company, segment: str) -> HttpResponse:
    """Create, update (full or sparse), `?operation=delete` or `?operation=void`; a repeated
    `requestid` gets the first answer.

    Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer#create-a-customer
    """
    spec = spec_for_path(segment)
    data = _json_body(request)
    operation = request.GET.get("operation")

    def run() -> dict[str, Any]:
        doc = record_write(company=company, entity=spec.name, data=data, operation=operation)
        return {spec.name: doc, "time": intuit_time()}

    status, text = replay_or_run(company=company, request_id=request.GET.get("requestid"), run=run)
    return text_reply(text, status=status)


@qbo_api(methods=("POST",), batch=True)
def batch_view(request: HttpRequest, company: Company) -> HttpResponse:
    """Up to 30 operations and queries; HTTP 200 even when items fail.

    Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/batch
    """
    items = batch_items(_json_body(request))

    def run() -> dict[str, Any]:
        return {"BatchItemResponse": batch_run(company=company, items=items), "time": intuit_time()}

    status, text = replay_or_run(company=company, request_id=request.GET.get("requestid"), run=run)
    return text_reply(text, status=status)


@qbo_api(methods=("GET",))
def cdc_view(request: HttpRequest, company: Company) -> HttpResponse:
    """Everything changed since a moment at most 30 days back, deletions included.

    Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/changedatacapture
    """
    entities = _cdc_entities(request.GET.get("entities", ""))
    raw = request.GET.get("changedSince", "")
    if not raw:
        raise errors.required_missing("changedSince", element="changedSince")
    try:
        since = parse_timestamp(raw)
    except ValueError:
        raise errors.invalid_property(
            f"Property Name:changedSince value {raw} is not a valid date-time"
        ) from None
    if since < timezone.now() - CDC_LOOKBACK:
        raise errors.unsupported_operation(
            f"Operation cdc with changedSince date {raw} which is older than fixed days is not "
            "supported."
        )
    responses = cdc_run(company=company, entities=entities, changed_since=since)
    return json_reply({"CDCResponse": [{"QueryResponse": responses}], "time": intuit_time()})


@qbo_api(methods=("GET",))
def company_info_view(request: HttpRequest, company: Company, info_id: str) -> HttpResponse:
    """The company's own record: a cheap connection test.

    Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/companyinfo
    """
    if info_id != company.realm_id:
        raise errors.not_found()
    return json_reply({"CompanyInfo": company_info_render(company), "time": intuit_time()})


# --- request parsing --------------------------------------------------------------------------


def _text_body(request: HttpRequest) -> str:
    try:
        return request.body.decode("utf-8")
    except UnicodeDecodeError:
        # Intuit answers non-UTF-8 bodies with "Unsupported Operation" (reference/qbo.md §2.1).
        raise errors.unsupported_operation("Operation Could not decode the request body") from None


def _json_body(request: HttpRequest) -> Any:
    try:
        return json.loads(_text_body(request))
    except json.JSONDecodeError as exc:
        raise errors.invalid_property(
            f"Property Name:{exc.msg} (line {exc.lineno}, column {exc.colno}) specified is "
            "unsupported or invalid"
        ) from None


def _cdc_entities(raw: str) -> list[str]:
    """`entities=Customer,vendor`: names without regard to case, each one known."""
    by_lower = {name.lower(): name for name in SPECS}
    names = [part.strip() for part in raw.split(",") if part.strip()]
    if not names:
        raise errors.required_missing("entities", element="entities")
    unknown = [name for name in names if name.lower() not in by_lower]
    if unknown:
        raise errors.invalid_property(
            f"Property Name:entities value {unknown[0]} specified is unsupported or invalid"
        )
    return [by_lower[name.lower()] for name in names]


def _method_not_allowed(request: HttpRequest) -> errors.QboFault:
    fault = errors.unsupported_operation(
        f"Operation No resource method found for {request.method}, return 405 with Allow header "
        "is not supported."
    )
    fault.status = 405
    return fault


def _batch_size(request: HttpRequest) -> int:
    try:
        items = json.loads(request.body).get("BatchItemRequest")
    except (ValueError, AttributeError):
        return 1
    return max(len(items), 1) if isinstance(items, list) else 1
