"""Listing Books contacts, items, invoices and payments: filters, sort and `page_context` paging
(`page`, `per_page` at most 200, loop while `has_more_page`).

Books has no modified-since filter on contacts and items: incremental readers sort by
`last_modified_time` descending and stop at their watermark. Invoices and payments take
`last_modified_time` (records modified at or after it).

Reference: https://www.zoho.com/books/api/v3/pagination/"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import QueryDict

from connectors.sandbox.zoho.books_core import Entity, invalid, stamped
from connectors.sandbox.zoho.common import parse_time
from connectors.sandbox.zoho.models import BooksOrganization, BooksRecord

PER_PAGE_MAX = 200
SORT_COLUMNS: dict[str, tuple[str, ...]] = {
    Entity.CONTACT: ("contact_name", "company_name", "first_name", "last_name", "email",
                     "created_time", "last_modified_time"),
    Entity.ITEM: ("name", "rate", "created_time", "last_modified_time"),
    Entity.INVOICE: ("created_time", "date", "due_date", "invoice_number", "customer_name",
                     "total", "balance", "last_modified_time"),
    Entity.PAYMENT: ("created_time", "date", "amount", "customer_name", "payment_number",
                     "last_modified_time"),
}  # fmt: skip
DEFAULT_SORT: dict[str, tuple[str, str]] = {
    Entity.CONTACT: ("contact_name", "A"),
    Entity.ITEM: ("name", "A"),
    Entity.INVOICE: ("created_time", "D"),
    Entity.PAYMENT: ("created_time", "D"),
}
EXACT_FILTERS: dict[str, tuple[str, ...]] = {
    Entity.CONTACT: ("contact_type", "email", "contact_name", "zcrm_account_id", "zcrm_contact_id"),
    Entity.ITEM: ("name", "sku", "zcrm_product_id"),
    Entity.INVOICE: ("status", "invoice_number", "zcrm_potential_id"),
    Entity.PAYMENT: ("payment_mode",),
}
STATUS_FILTERS = {"Status.All": None, "Status.Active": "active", "Status.Inactive": "inactive"}
SEARCHED = ("contact_name", "company_name", "email", "invoice_number", "customer_name", "name")


@dataclass
class Listing:
    records: list[BooksRecord]
    page_context: dict[str, Any]


def records_list(*, org: BooksOrganization, entity: str, params: QueryDict) -> Listing:
    """One page of `entity` records of `org` as `params` ask."""
    page, per_page = _paging(params)
    column, order = _sort(entity, params)
    applied = params.get("filter_by", "Status.All")
    if applied not in STATUS_FILTERS:
        raise invalid("filter_by")
    rows = BooksRecord.objects.filter(org=org, entity=entity).order_by("pk")
    if customer_id := params.get("customer_id"):
        rows = rows.filter(customer_id=_digits(customer_id, "customer_id"))
    if (modified := params.get("last_modified_time")) and entity not in (
        Entity.CONTACT,
        Entity.ITEM,
    ):
        since = parse_time(modified)
        if since is None:
            raise invalid("last_modified_time")
        rows = rows.filter(modified_at__gte=since)
    bodies = [(record, stamped(record)) for record in rows]
    bodies = [(r, b) for r, b in bodies if _matches(entity, b, params, STATUS_FILTERS[applied])]
    bodies.sort(key=lambda pair: _sort_key(pair[1].get(column)), reverse=order == "D")
    start = (page - 1) * per_page
    chosen = [record for record, _ in bodies[start : start + per_page]]
    context = {
        "page": page,
        "per_page": per_page,
        "has_more_page": len(bodies) > start + per_page,
        "applied_filter": applied,
        "sort_column": column,
        "sort_order": order,
    }
    return Listing(records=chosen, page_context=context)


def _paging(params: QueryDict) -> tuple[int, int]:
    page = _digits(params.get("page", "1"), "page")
    per_page = _digits(params.get("per_page", str(PER_PAGE_MAX)), "per_page")
    if page < 1:
        raise invalid("page")
    if not 1 <= per_page <= PER_PAGE_MAX:
        raise invalid("per_page")
    return page, per_page


def _sort(entity: str, params: QueryDict) -> tuple[str, str]:
    default_column, default_order = DEFAULT_SORT[entity]
    column = params.get("sort_column", default_column)
    order = params.get("sort_order", default_order)
    if column not in SORT_COLUMNS[entity]:
        raise invalid("sort_column")
    if order not in ("A", "D"):
        raise invalid("sort_order")
    return column, order


def _matches(entity: str, body: dict[str, Any], params: QueryDict, status: str | None) -> bool:
    if status and body.get("status") != status:
        return False
    for name in EXACT_FILTERS[entity]:
        wanted = params.get(name)
        if wanted and str(body.get(name, "")).lower() != wanted.lower():
            return False
    search = params.get("search_text", "").lower()
    return not search or any(search in str(body.get(name) or "").lower() for name in SEARCHED)


def _sort_key(value: Any) -> tuple[int, Any]:
    """Numbers before text, text without case, missing values first."""
    if value is None:
        return (0, "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (1, value)
    return (2, str(value).lower())


def _digits(value: str, name: str) -> int:
    if not value.isdigit():
        raise invalid(name)
    return int(value)
