"""Reads: one record, a query, change data capture. Rendering a record as QBO prints it."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from django.db.models import Q, QuerySet

from connectors.sandbox.qbo import errors
from connectors.sandbox.qbo.entities import spec_for
from connectors.sandbox.qbo.models import Company, Record
from connectors.sandbox.qbo.query import Condition, Order, Query, query_parse
from connectors.sandbox.qbo.timefmt import metadata_time, parse_timestamp

CDC_MAX_OBJECTS = 1000
# Properties backed by a column: filtered and sorted in SQL, and so on the index.
COLUMNS = {
    "Id": "qbo_id",
    "Active": "active",
    "MetaData.CreateTime": "created_at",
    "MetaData.LastUpdatedTime": "updated_at",
}
_LOOKUPS = {"=": "exact", "<": "lt", ">": "gt", "<=": "lte", ">=": "gte", "in": "in"}

Doc = dict[str, Any]


def record_render(record: Record) -> Doc:
    """The entity as the API returns it: its document plus what the columns hold."""
    return {
        **record.doc,
        "domain": "QBO",
        "sparse": False,
        "Id": str(record.qbo_id),
        "SyncToken": str(record.sync_token),
        "MetaData": {
            "CreateTime": metadata_time(record.created_at),
            "LastUpdatedTime": metadata_time(record.updated_at),
        },
    }


def deleted_render(record: Record) -> Doc:
    """What CDC (and a delete) says about a deleted transaction: its Id and when, no more."""
    return {
        "domain": "QBO",
        "status": "Deleted",
        "Id": str(record.qbo_id),
        "MetaData": {"LastUpdatedTime": metadata_time(record.updated_at)},
    }


def record_find(*, company: Company, entity: str, record_id: str) -> Record | None:
    if not str(record_id).isdigit():
        return None
    return Record.objects.filter(company=company, entity=entity, qbo_id=int(record_id)).first()


def record_get(*, company: Company, entity: str, record_id: str) -> Doc:
    """Read by Id; a deleted transaction is gone (610), an inactive name is still readable."""
    spec = spec_for(entity)
    record = record_find(company=company, entity=spec.name, record_id=record_id)
    if record is None or record.deleted:
        raise errors.not_found()
    return record_render(record)


# --- query ------------------------------------------------------------------------------------


def query_run(*, company: Company, text: str) -> Doc:
    """The `QueryResponse` of one query: `{}` when nothing matched, `totalCount` for COUNT."""
    query = query_parse(text)
    spec = spec_for(query.entity)
    records = Record.objects.filter(company=company, entity=spec.name, deleted=False)
    # Inactive names exist but stay out of sight unless the query asks about Active.
    if spec.is_name_list and not query.constrains("Active"):
        records = records.filter(active=True)
    residual = []
    for condition in query.where:
        condition_q = _condition_q(condition)
        if condition_q is None:
            residual.append(condition)
        else:
            records = records.filter(condition_q)
    rows = _rows(records, query, residual)
    if query.count:
        return {"totalCount": rows}
    if not rows:
        return {}
    return {spec.name: rows, "startPosition": query.start_position, "maxResults": len(rows)}


def _rows(records: QuerySet[Record], query: Query, residual: list[Condition]) -> Any:
    """A page of rendered rows (or the count): in SQL when it can be, in Python otherwise."""
    first = query.start_position - 1
    last = first + query.max_results
    sql_order = _sql_order(query.order)
    if not residual and sql_order is not None:
        if query.count:
            return records.count()
        return [record_render(record) for record in records.order_by(*sql_order)[first:last]]
    docs = [record_render(record) for record in records.order_by("qbo_id")]
    matched = [doc for doc in docs if all(_matches(doc, condition) for condition in residual)]
    if query.count:
        return len(matched)
    for order in reversed(query.order):
        matched.sort(key=partial(_sort_key, prop=order.prop), reverse=order.descending)
    return matched[first:last]


def _sql_order(orders: tuple[Order, ...]) -> list[str] | None:
    columns = []
    for order in orders:
        column = COLUMNS.get(order.prop)
        if column is None or column == "active":
            return None
        columns.append(f"-{column}" if order.descending else column)
    return [*columns, "qbo_id"]


def _condition_q(condition: Condition) -> Q | None:
    column = COLUMNS.get(condition.prop)
    if column is None:
        return None
    if condition.op == "like":
        if column in ("created_at", "updated_at"):
            raise errors.query_invalid(f"LIKE is not supported for {condition.prop}")
        return None
    values = [_column_value(column, condition.prop, value) for value in condition.values]
    argument: Any = values if condition.op == "in" else values[0]
    return Q(**{f"{column}__{_LOOKUPS[condition.op]}": argument})


def _column_value(column: str, prop: str, literal: Any) -> Any:
    if column == "qbo_id":
        text = str(literal)
        return int(text) if text.isdigit() else -1  # a non-numeric Id matches nothing
    if column == "active":
        if isinstance(literal, bool):
            return literal
        if str(literal).lower() in ("true", "false"):
            return str(literal).lower() == "true"
        raise errors.query_invalid(f"value {literal} is not a boolean for {prop}")
    try:
        return parse_timestamp(str(literal))
    except ValueError:
        raise errors.query_invalid(f"value {literal} is not a valid date-time for {prop}") from None


def _doc_value(doc: Doc, prop: str) -> Any:
    """A property's comparable value: references compare by `value`, emails by `Address`."""
    value: Any = doc
    for segment in prop.split("."):
        value = value.get(segment) if isinstance(value, dict) else None
    if isinstance(value, dict):
        value = value.get("value", value.get("Address"))
    if prop == "Id" and value is not None:
        return int(value)
    return value


def _matches(doc: Doc, condition: Condition) -> bool:
    value = _doc_value(doc, condition.prop)
    if value is None:
        return False
    if condition.op == "like":
        return _like(str(value), str(condition.values[0]))
    if condition.op == "in":
        return any(_compare(value, "=", literal) for literal in condition.values)
    return _compare(value, condition.op, condition.values[0])


def _compare(value: Any, op: str, literal: Any) -> bool:
    """Compare like QBO: numbers as numbers, booleans as booleans, text without case."""
    left, right = _comparable(value, literal)
    if left is None or right is None:
        return False
    if op == "=":
        return left == right
    if op == "<":
        return left < right
    if op == ">":
        return left > right
    if op == "<=":
        return left <= right
    return left >= right


def _comparable(value: Any, literal: Any) -> tuple[Any, Any]:
    if isinstance(value, bool):
        if isinstance(literal, bool):
            return value, literal
        return value, {"true": True, "false": False}.get(str(literal).lower())
    if isinstance(value, int | float):
        try:
            return float(value), float(literal)
        except (TypeError, ValueError):
            return None, None
    return str(value).casefold(), str(literal).casefold()


def _like(value: str, pattern: str) -> bool:
    """`%` is the only wildcard QBO knows. Matched by finding the pieces in order (linear, so
    a long value and many `%` cannot make it backtrack), without case."""
    value, pieces = value.casefold(), pattern.casefold().split("%")
    if len(pieces) == 1:
        return value == pieces[0]
    first, *middle, last = pieces
    if len(first) + len(last) > len(value):
        return False
    if not (value.startswith(first) and value.endswith(last)):
        return False
    position, end = len(first), len(value) - len(last)
    for piece in middle:
        found = value.find(piece, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True


def _sort_key(doc: Doc, prop: str) -> tuple[int, Any]:
    value = _doc_value(doc, prop)
    if value is None:
        return (2, "")
    if isinstance(value, bool | int | float):
        return (0, float(value))
    return (1, str(value).casefold())


# --- change data capture ----------------------------------------------------------------------


def cdc_run(*, company: Company, entities: list[str], changed_since: datetime) -> list[Doc]:
    """One QueryResponse per entity asked for, in order: full records (inactive ones too) and
    deleted transactions as stubs, at most 1000 objects in all (Intuit has no paging here)."""
    remaining = CDC_MAX_OBJECTS
    responses: list[Doc] = []
    for entity in entities:
        spec = spec_for(entity)
        records = list(
            Record.objects.filter(
                company=company, entity=spec.name, updated_at__gte=changed_since
            ).order_by("updated_at", "qbo_id")[:remaining]
        )
        remaining -= len(records)
        rows = [deleted_render(r) if r.deleted else record_render(r) for r in records]
        responses.append(
            {spec.name: rows, "startPosition": 1, "maxResults": len(rows)} if rows else {}
        )
    return responses


# --- company info -----------------------------------------------------------------------------


def company_info_render(company: Company) -> Doc:
    """CompanyInfo as a sandbox company answers it (Intuit's own sandbox address)."""
    address = {
        "Id": "1",
        "Line1": "2600 Marine Way",
        "City": "Mountain View",
        "CountrySubDivisionCode": "CA",
        "PostalCode": "94043",
    }
    created = metadata_time(company.created_at)
    return {
        "CompanyName": company.name,
        "LegalName": company.name,
        "CompanyAddr": address,
        "CustomerCommunicationAddr": address,
        "LegalAddr": address,
        "PrimaryPhone": {},
        "CompanyStartDate": created[:10],
        "FiscalYearStartMonth": "January",
        "Country": company.country,
        "Email": {"Address": "noreply@quickbooks.com"},
        "WebAddr": {},
        "SupportedLanguages": "en",
        "NameValue": [
            {"Name": "NeoEnabled", "Value": "true"},
            {"Name": "CompanyType", "Value": "Other"},
            {"Name": "SubscriptionStatus", "Value": "SUBSCRIBED"},
            {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
        ],
        "domain": "QBO",
        "sparse": False,
        "Id": "1",
        "SyncToken": "0",
        "MetaData": {"CreateTime": created, "LastUpdatedTime": created},
    }
