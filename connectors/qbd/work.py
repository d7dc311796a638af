"""The work of one Web Connector session: a plan of steps taken in order, one qbXML request
per round trip, kept in the session's row between calls.

The steps: each listing the flows read (customers, items, invoices with their lines) from its
watermark, page by page through a QuickBooks iterator; the deletions since the last session;
then the writes waiting in the outbox. A listing's watermark moves only when its last page is in
the inbox, so a session that ends half-way is finished by the next one, from the same point,
without duplicates (the inbox knows each record's EditSequence). Pages are sized from how long
QuickBooks took to answer the last one, so each answer stays well inside QBWC's limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from lxml import etree

from connectors.base.pushed import pushed_engine
from connectors.qbd import qbxml
from connectors.qbd.models import QbdCompany, QbwcSession
from connectors.qbd.records import (
    DELETED_LISTS,
    DELETED_TXNS,
    LISTED,
    changes_of,
    deletions_keep,
    deletions_of,
    records_keep,
    when,
)
from connectors.qbd.writes import writes_answers_take, writes_requests

PAGE_FIRST = 100
PAGE_MIN = 10
PAGE_MAX = 500
ANSWER_FAST, ANSWER_SLOW = 5.0, 20.0  # seconds: a faster answer doubles the page, slower halves
ITERATOR_LOST = 3391
ITERATOR_RESTARTS = 3  # a listing whose iterator QuickBooks keeps losing ends the session
UNAVAILABLE = frozenset({3250, 3260, 3261})  # feature not enabled, permission denied

_QUERIES = {
    "Customer": qbxml.customer_query,
    "Item": qbxml.item_query,
    "Invoice": qbxml.invoice_query,
}


class SessionFailed(Exception):
    """QuickBooks refused the session's work in a way that ends the session (it is retried
    next time, from where the watermarks are)."""


@dataclass(frozen=True)
class Answered:
    """What one response did: records taken into the inbox, writes answered."""

    records: int = 0
    writes: int = 0


def plan(company: QbdCompany) -> dict[str, Any]:
    """A session's plan, or an empty one when there is nothing to do (no flow reads this
    company file, no write waits for it)."""
    engine = pushed_engine()
    wanted = set(engine.entities_wanted(company.connection))
    steps: list[dict[str, str]] = [{"kind": "list", "entity": e} for e in LISTED if e in wanted]
    if wanted & set(DELETED_LISTS.values()):
        steps.append({"kind": "deleted_lists"})
    if wanted & set(DELETED_TXNS.values()):
        steps.append({"kind": "deleted_txns"})
    if engine.writes_waiting_count(company.connection):
        steps.append({"kind": "writes"})
    return {"steps": steps, "at": 0, **_position()}


def _position() -> dict[str, Any]:
    """Where a step is: its iterator, how many records it has read and how many QuickBooks
    says remain, and the newest modification time it has seen."""
    return {
        "iterator_id": "",
        "read": 0,
        "remaining": None,
        "high": "",
        "in_flight": [],
        "restarts": 0,
    }


def _step(work: dict[str, Any]) -> dict[str, str] | None:
    steps = work.get("steps", [])
    at = work.get("at", 0)
    return steps[at] if at < len(steps) else None


def _advance(work: dict[str, Any]) -> None:
    work["at"] = work.get("at", 0) + 1
    work.update(_position())


def progress(work: dict[str, Any]) -> int:
    """The share of the plan done, 0-100: whole steps, plus the part of a listing read (as
    QuickBooks counts what remains). 100 only when every step is done."""
    steps = work.get("steps", [])
    if not steps or work.get("at", 0) >= len(steps):
        return 100
    part = 0.0
    remaining, read = work.get("remaining"), work.get("read", 0)
    if remaining is not None and read + remaining:
        part = read / (read + remaining)
    return min(99, int(100 * (work["at"] + part) / len(steps)))


def request_next(session: QbwcSession, company: QbdCompany) -> str:
    """The qbXML message for the session's current step (a step with nothing left to send is
    passed over). When none is left, a harmless host query keeps the Web Connector's loop
    whole: it is answered and the session ends at 100."""
    work = session.work
    while (step := _step(work)) is not None:
        requests = _requests(step, work, company, session)
        if requests:
            work["sent_at"] = timezone.now().isoformat()
            return qbxml.request_message(requests)
        _advance(work)
    return qbxml.request_message([etree.Element("HostQueryRq", requestID="host")])


def _requests(
    step: dict[str, str], work: dict[str, Any], company: QbdCompany, session: QbwcSession
) -> list[etree._Element]:
    kind = step["kind"]
    if kind == "list":
        entity = step["entity"]
        query = _QUERIES[entity](
            entity,
            from_modified=when(company.watermarks.get(entity)),
            max_returned=page_size(company, entity),
            iterator_id=work.get("iterator_id", ""),
        )
        return [query]
    if kind == "deleted_lists":
        since = when(company.watermarks.get(kind))
        return [qbxml.list_deleted_query(kind, list(DELETED_LISTS), from_deleted=since)]
    if kind == "deleted_txns":
        since = when(company.watermarks.get(kind))
        return [qbxml.txn_deleted_query(kind, list(DELETED_TXNS), from_deleted=since)]
    return writes_requests(work, company, session)


def page_size(company: QbdCompany, entity: str) -> int:
    return int(company.page_sizes.get(entity, PAGE_FIRST))


def _page_adapt(company: QbdCompany, entity: str, seconds: float, full: bool) -> None:
    size = page_size(company, entity)
    if seconds > ANSWER_SLOW:
        size = max(PAGE_MIN, size // 2)
    elif seconds < ANSWER_FAST and full:
        size = min(PAGE_MAX, size * 2)
    company.page_sizes[entity] = size


def answer_take(session: QbwcSession, company: QbdCompany, response: str) -> Answered:
    """Take QuickBooks' answer to the current step: records into the inbox, writes answered,
    the step moved on. Raises qbxml.QbxmlRefused for hostile or malformed qbXML."""
    responses = qbxml.responses_parse(response)
    work = session.work
    step = _step(work)
    sent = work.pop("sent_at", "")
    seconds = (timezone.now() - datetime.fromisoformat(sent)).total_seconds() if sent else 0.0
    session.slowest_answer_ms = max(session.slowest_answer_ms, int(seconds * 1000))
    if step is None:
        return Answered()
    if step["kind"] == "list":
        return _listing_take(step["entity"], responses, work, company, seconds)
    if step["kind"] in ("deleted_lists", "deleted_txns"):
        return _deletions_take(step["kind"], responses, work, company)
    answered, done = writes_answers_take(responses, work, company)
    if done:
        _advance(work)
    return Answered(writes=answered)


def _listing_take(
    entity: str,
    responses: list[qbxml.Response],
    work: dict[str, Any],
    company: QbdCompany,
    seconds: float,
) -> Answered:
    answer = responses[0] if responses else None
    if answer is None:
        raise SessionFailed(f"QuickBooks answered the {entity} listing with nothing.")
    if answer.status_code == ITERATOR_LOST:
        # The iterator lapsed (QuickBooks closed it): the listing starts again from its
        # watermark; what was already taken is known to the inbox and adds nothing.
        restarts = work.get("restarts", 0) + 1
        if restarts > ITERATOR_RESTARTS:
            raise SessionFailed(f"QuickBooks kept losing the {entity} listing's iterator.")
        work.update(_position(), restarts=restarts)
        return Answered()
    if answer.status_code in UNAVAILABLE:
        # This company file cannot give the listing (a feature not enabled, a permission the
        # Web Connector's user lacks): the rest of the session goes on, and says so.
        work.setdefault("notes", []).append(
            f"{entity} not read: QuickBooks said {answer.message} ({answer.status_code})."
        )
        _advance(work)
        return Answered()
    if answer.status_code >= 1000 or (answer.severity == "Error" and answer.status_code != 1):
        raise SessionFailed(
            f"QuickBooks refused the {entity} listing ({answer.status_code}): {answer.message}"
        )
    changes = changes_of(company.connection, entity, answer.records)
    records_keep(company, entity, [c.record for c in changes if c.record is not None])
    pushed_engine().changes_record(changes)
    modified = [r.get("TimeModified", "") for r in answer.records if r.get("TimeModified")]
    work["high"] = max([work.get("high", ""), *modified], key=_instant)
    work["read"] = work.get("read", 0) + len(answer.records)
    _page_adapt(company, entity, seconds, full=len(answer.records) >= page_size(company, entity))
    if answer.remaining:
        work["iterator_id"], work["remaining"] = answer.iterator_id, answer.remaining
        return Answered(records=len(answer.records))
    if work["high"]:
        company.watermarks[entity] = work["high"]
    _advance(work)
    return Answered(records=len(answer.records))


def _instant(value: str) -> datetime:
    moment = when(value)
    return moment if moment is not None else datetime.min.replace(tzinfo=UTC)


def _deletions_take(
    kind: str, responses: list[qbxml.Response], work: dict[str, Any], company: QbdCompany
) -> Answered:
    answer = responses[0] if responses else None
    if answer is not None and answer.status_code not in (0, 1) and answer.status_code < 500:
        raise SessionFailed(
            f"QuickBooks refused the deletions query ({answer.status_code}): {answer.message}"
        )
    rets = answer.records if answer is not None else []
    deletions = deletions_of(company.connection, rets)
    deletions_keep(company, deletions)
    pushed_engine().changes_record(deletions)
    deleted = [r.get("TimeDeleted", "") for r in rets if r.get("TimeDeleted")]
    if deleted:
        company.watermarks[kind] = max(deleted, key=_instant)
    _advance(work)
    return Answered(records=len(rets))
