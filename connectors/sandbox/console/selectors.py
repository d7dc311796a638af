"""Reads for the console's operational pages: the request log, its counts per endpoint, the
outbound deliveries and the fault settings."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote_plus

from django.core.paginator import Page, Paginator
from django.db.models import Avg, Count, Q, QuerySet

from connectors.sandbox.models import FaultProfile, OutboundDelivery, RequestLog, Vendor
from connectors.sandbox.redact import redact

PAGE_SIZE = 25
STATUS_FILTERS = {
    "ok": Q(status__lt=400),
    "errors": Q(status__gte=400),
    "4xx": Q(status__gte=400, status__lt=500),
    "5xx": Q(status__gte=500),
}


@dataclass(frozen=True)
class EndpointCount:
    vendor: str
    vendor_label: str
    method: str
    endpoint: str
    count: int
    errors: int
    average_ms: float


def page_of(rows: QuerySet, number: str | None, size: int = PAGE_SIZE) -> Page:
    """One page of `rows`; a missing or out-of-range page number gives the nearest page."""
    return Paginator(rows, size).get_page(number)


def requests_filtered(*, vendor: str = "", status: str = "") -> QuerySet[RequestLog]:
    """The request log, newest first; `status` is a group (ok, errors, 4xx, 5xx) or a code."""
    rows = RequestLog.objects.order_by("-created_at", "-pk")
    if vendor:
        rows = rows.filter(vendor=vendor)
    if status in STATUS_FILTERS:
        rows = rows.filter(STATUS_FILTERS[status])
    elif status.isdigit():
        rows = rows.filter(status=int(status))
    return rows


def requests_readable(entries: Iterable[RequestLog]) -> list[RequestLog]:
    """The entries as the console shows them: credentials redacted (again: rows logged before
    a rule was added keep none either) and `query_text`, the query string decoded
    (`criteria=(Email:equals:a@b)` rather than `criteria=%28Email%3Aequals%3Aa%40b%29`)."""
    readable = list(entries)
    for entry in readable:
        entry.query = redact(entry.query)
        entry.request_body = redact(entry.request_body)
        entry.response_body = redact(entry.response_body)
        entry.query_text = redact(unquote_plus(entry.query))  # type: ignore[attr-defined]
    return readable


def status_codes_logged() -> list[int]:
    return list(RequestLog.objects.order_by().values_list("status", flat=True).distinct())


def endpoint_counts(rows: QuerySet[RequestLog]) -> list[EndpointCount]:
    """Per method and endpoint (ids replaced by `{id}`): requests, failures (>= 400) and the
    average duration, busiest first."""
    grouped = (
        rows.order_by()
        .values("vendor", "method", "endpoint")
        .annotate(
            n=Count("pk"),
            failed=Count("pk", filter=Q(status__gte=400)),
            average=Avg("duration_ms"),
        )
        .order_by("-n", "endpoint")
    )
    return [
        EndpointCount(
            vendor=row["vendor"],
            vendor_label=Vendor(row["vendor"]).label,
            method=row["method"],
            # The log stores "GET /path"; show the path once, next to its method.
            endpoint=row["endpoint"].removeprefix(f"{row['method']} "),
            count=row["n"],
            errors=row["failed"],
            average_ms=round(row["average"] or 0, 1),
        )
        for row in grouped
    ]


def deliveries_filtered(*, vendor: str = "", status: str = "") -> QuerySet[OutboundDelivery]:
    rows = OutboundDelivery.objects.order_by("-created_at", "-pk")
    if vendor:
        rows = rows.filter(vendor=vendor)
    if status:
        rows = rows.filter(status=status)
    return rows


def fault_profiles() -> list[FaultProfile]:
    """Every fake's settings in `Vendor` order; a fake never configured shows its defaults
    (unsaved: reading a page must not write)."""
    saved = {profile.vendor: profile for profile in FaultProfile.objects.all()}
    return [saved.get(vendor) or FaultProfile(vendor=vendor) for vendor in Vendor.values]


def pretty_body(text: str) -> str:
    """A logged body, indented when it is JSON (bodies are cut at 4000 characters, so a long
    one may not parse and is shown as it was logged)."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, TypeError):
        return text
