"""The query requests: CustomerQuery, ItemQuery and InvoiceQuery with their filters and
iterators, and the two deleted queries. Each takes the *Rq element and answers its *Rs.

Filters understood: ListID / FullName (TxnID / RefNumber for invoices), MaxReturned,
ActiveStatus, From/ToModifiedDate (inside ModifiedDateRangeFilter for invoices), NameFilter,
NameRangeFilter, TxnDateRangeFilter, EntityFilter, PaidStatus, IncludeLineItems,
IncludeRetElement. Others are ignored.

An iterator keeps the records its Start matched (their primary keys) and how far Continue has
read, in the database: it survives a web server restart and lives until it is read to the end,
stopped, or dropped with its Web Connector session.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from lxml import etree

from connectors.sandbox.qbd import errors
from connectors.sandbox.qbd.models import (
    SandboxQbCompany,
    SandboxQbIterator,
    SandboxQbRecord,
    SandboxWcSession,
)
from connectors.sandbox.qbd.qbxml import (
    aggregate_build,
    answer_element,
    child_text,
    children_text,
    qb_time,
    qb_time_parse,
)
from connectors.sandbox.qbd.shapes import KINDS, QUERY_KINDS

Records = QuerySet[SandboxQbRecord]


@dataclass(frozen=True)
class Context:
    """What a request is answered against: the company file and the QBWC session, if any."""

    company: SandboxQbCompany
    session: SandboxWcSession | None = None

    @property
    def zone(self) -> str:
        return self.company.time_zone


def record_ret(
    record: SandboxQbRecord, zone: str, *, lines: bool = True, only: Sequence[str] = ()
) -> etree._Element:
    """A record's *Ret: its data with the identity, times and IsActive from the columns."""
    kind = KINDS[record.kind]
    data: dict[str, Any] = dict(record.data)
    data[kind.id_tag] = record.record_id
    data["TimeCreated"] = qb_time(record.time_created, zone)
    data["TimeModified"] = qb_time(record.time_modified, zone)
    data["EditSequence"] = record.edit_sequence
    if kind.is_list:
        data["FullName"] = record.name
        data["IsActive"] = record.is_active
    if not lines:
        data.pop("InvoiceLineRet", None)
    if only:
        data = {key: value for key, value in data.items() if key in only}
    return aggregate_build(kind.ret_tag, data, kind.ret_order)


def query_answer(ctx: Context, request: etree._Element) -> etree._Element:
    """CustomerQueryRs, ItemQueryRs or InvoiceQueryRs: one page, or all when not iterating."""
    iterator = request.get("iterator")
    if iterator in ("Continue", "Stop"):
        return _iterator_next(ctx, request, stop=iterator == "Stop")
    records, missing = _matching(ctx, request)
    limit = _max_returned(request)
    if iterator == "Start":
        pks = list(records.values_list("pk", flat=True))
        page, rest = (pks, []) if limit is None else (pks[:limit], pks[limit:])
        iterator_id = "{" + str(uuid.uuid4()) + "}"
        if rest:
            SandboxQbIterator.objects.create(
                company=ctx.company,
                session=ctx.session,
                iterator_id=iterator_id,
                request_type=request.tag,
                record_pks=rest,
            )
        return _page(
            ctx,
            request,
            _by_pk(page),
            missing,
            iteratorRemainingCount=len(rest),
            iteratorID=iterator_id,
        )
    chosen = list(records[:limit] if limit is not None else records)
    return _page(ctx, request, chosen, missing)


def deleted_answer(ctx: Context, request: etree._Element) -> etree._Element:
    """ListDeletedQueryRs / TxnDeletedQueryRs: what was deleted, of the types asked, in the
    DeletedDateRangeFilter's range."""
    is_list = request.tag == "ListDeletedQueryRq"
    type_tag = "ListDelType" if is_list else "TxnDelType"
    records = SandboxQbRecord.objects.filter(
        company=ctx.company, kind__in=children_text(request, type_tag), deleted_at__isnull=False
    )
    since = child_text(request, "DeletedDateRangeFilter/FromDeletedDate")
    until = child_text(request, "DeletedDateRangeFilter/ToDeletedDate")
    if since:
        records = records.filter(deleted_at__gte=qb_time_parse(since, ctx.zone))
    if until:
        records = records.filter(deleted_at__lte=qb_time_parse(until, ctx.zone, end_of_day=True))
    rets = []
    for record in records.order_by("deleted_at", "pk"):
        ret = etree.Element("ListDeletedRet" if is_list else "TxnDeletedRet")
        etree.SubElement(ret, type_tag).text = record.kind
        etree.SubElement(ret, "ListID" if is_list else "TxnID").text = record.record_id
        etree.SubElement(ret, "TimeCreated").text = qb_time(record.time_created, ctx.zone)
        deleted_at = record.deleted_at or record.time_modified  # never None: filtered above
        etree.SubElement(ret, "TimeDeleted").text = qb_time(deleted_at, ctx.zone)
        etree.SubElement(ret, "FullName" if is_list else "RefNumber").text = record.name
        rets.append(ret)
    answer = _status(request, 0 if rets else 1)
    answer.extend(rets)
    return answer


# --- matching ---------------------------------------------------------------------------------


def _matching(ctx: Context, request: etree._Element) -> tuple[Records, list[str]]:
    """The records a query names or filters for, in creation order, and the names or ids it
    asked for that do not exist."""
    kinds = QUERY_KINDS[request.tag]
    records = SandboxQbRecord.objects.filter(
        company=ctx.company, kind__in=kinds, deleted_at__isnull=True
    ).order_by("pk")
    is_list = KINDS[kinds[0]].is_list
    ids = children_text(request, "ListID" if is_list else "TxnID")
    names = children_text(request, "FullName") if is_list else _ref_numbers(request)
    if ids:
        found = records.filter(record_id__in=ids)
        return found, sorted(set(ids) - set(found.values_list("record_id", flat=True)))
    if names:
        wanted = {name.lower(): name for name in names}
        found = _where(records, lambda record: record.name.lower() in wanted)
        have = {name.lower() for name in found.values_list("name", flat=True)}
        return found, [name for key, name in wanted.items() if key not in have]
    return (_list_filters if is_list else _txn_filters)(ctx, request, records), []


def _ref_numbers(request: etree._Element) -> list[str]:
    return children_text(request, "RefNumber") + children_text(request, "RefNumberCaseSensitive")


def _list_filters(ctx: Context, request: etree._Element, records: Records) -> Records:
    active = child_text(request, "ActiveStatus") or "ActiveOnly"
    if active == "ActiveOnly":
        records = records.filter(is_active=True)
    elif active == "InactiveOnly":
        records = records.filter(is_active=False)
    records = _modified(ctx, records, request)
    match = child_text(request, "NameFilter/MatchCriterion")
    name = child_text(request, "NameFilter/Name")
    if match and name:
        lookup = {"StartsWith": "istartswith", "Contains": "icontains", "EndsWith": "iendswith"}
        records = records.filter(**{f"name__{lookup.get(match, 'icontains')}": name})
    low = child_text(request, "NameRangeFilter/FromName")
    high = child_text(request, "NameRangeFilter/ToName")
    if low:
        records = records.filter(name__gte=low)
    if high:
        records = records.filter(name__lte=high)
    return records


def _txn_filters(ctx: Context, request: etree._Element, records: Records) -> Records:
    dates = request.find("ModifiedDateRangeFilter")
    if dates is not None:
        records = _modified(ctx, records, dates)
    low = child_text(request, "TxnDateRangeFilter/FromTxnDate")
    high = child_text(request, "TxnDateRangeFilter/ToTxnDate")
    customer_id = child_text(request, "EntityFilter/ListID")
    customer_name = child_text(request, "EntityFilter/FullName")
    paid = child_text(request, "PaidStatus") or "All"

    def keep(record: SandboxQbRecord) -> bool:
        data, ref = record.data, record.data.get("CustomerRef") or {}
        txn_date = str(data.get("TxnDate", ""))
        return (
            (not low or txn_date >= low)
            and (not high or txn_date <= high)
            and (not customer_id or ref.get("ListID") == customer_id)
            and (not customer_name or str(ref.get("FullName", "")).lower() == customer_name.lower())
            and (paid == "All" or bool(data.get("IsPaid")) == (paid == "PaidOnly"))
        )

    if low or high or customer_id or customer_name or paid != "All":
        records = _where(records, keep)
    return records


def _modified(ctx: Context, records: Records, parent: etree._Element) -> Records:
    """From/ToModifiedDate, both inclusive; a date without an offset is QuickBooks' local."""
    since = child_text(parent, "FromModifiedDate")
    until = child_text(parent, "ToModifiedDate")
    if since:
        records = records.filter(time_modified__gte=qb_time_parse(since, ctx.zone))
    if until:
        records = records.filter(time_modified__lte=qb_time_parse(until, ctx.zone, end_of_day=True))
    return records


def _where(records: Records, keep: Callable[[SandboxQbRecord], bool]) -> Records:
    """Filter on what lives in `data`, in Python: the same on SQLite and PostgreSQL."""
    kept = [record.pk for record in records.only("pk", "name", "data") if keep(record)]
    return records.filter(pk__in=kept)


def _max_returned(request: etree._Element) -> int | None:
    text = child_text(request, "MaxReturned")
    if not text:
        return None
    try:
        return max(0, int(text))
    except ValueError:
        raise errors.parse_error() from None


# --- iterators --------------------------------------------------------------------------------


def _iterator_next(ctx: Context, request: etree._Element, *, stop: bool) -> etree._Element:
    iterator_id = request.get("iteratorID", "")
    iterator = (
        SandboxQbIterator.objects.select_for_update()
        .filter(company=ctx.company, iterator_id=iterator_id, request_type=request.tag)
        .first()
    )
    if iterator is None:
        raise errors.invalid_iterator(iterator_id)
    if stop:
        iterator.delete()
        return _status(request, 0, iteratorRemainingCount=0, iteratorID=iterator_id)
    limit = _max_returned(request)
    end = len(iterator.record_pks) if limit is None else iterator.position + limit
    page = iterator.record_pks[iterator.position : end]
    iterator.position += len(page)
    remaining = len(iterator.record_pks) - iterator.position
    if remaining:
        iterator.save(update_fields=["position"])
    else:
        iterator.delete()
    return _page(
        ctx, request, _by_pk(page), [], iteratorRemainingCount=remaining, iteratorID=iterator_id
    )


def _by_pk(pks: Sequence[int]) -> list[SandboxQbRecord]:
    """The records of a page in the iterator's order, leaving out any deleted since Start."""
    found = SandboxQbRecord.objects.filter(pk__in=pks, deleted_at__isnull=True).in_bulk()
    return [found[pk] for pk in pks if pk in found]


# --- answers ----------------------------------------------------------------------------------


def _page(
    ctx: Context,
    request: etree._Element,
    records: Iterable[SandboxQbRecord],
    missing: Sequence[str],
    **counts: int | str,
) -> etree._Element:
    lines = child_text(request, "IncludeLineItems") == "true"
    only = children_text(request, "IncludeRetElement")
    rets = [record_ret(record, ctx.zone, lines=lines, only=only) for record in records]
    if missing:
        warning = errors.missing_element(missing[0])
        answer = answer_element(request, warning.code, warning.message, **counts)
    else:
        answer = _status(request, 0 if rets else 1, **counts)
    answer.extend(rets)
    return answer


def _status(request: etree._Element, code: int, **counts: int | str) -> etree._Element:
    message = errors.STATUS_OK if code == 0 else errors.default_message(code)
    return answer_element(request, code, message, **counts)
