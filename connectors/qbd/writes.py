"""A session's writes: the outbox rows waiting for QuickBooks, sent as `CustomerAddRq` /
`CustomerModRq` (each named by its row), and QuickBooks' answers handed back to the outbox.

A `CustomerModRq` whose EditSequence QuickBooks finds stale (3200: the customer changed there
since we read it) is not an error: the session reads the customer again and re-applies the
change over what it finds, each field someone changed in QuickBooks meanwhile settled by the
flow's system of truth; only a second 3200 in one session goes back as an error (retried by
itself). Text QuickBooks cannot store (it keeps Latin-1 only) is transliterated, and the
outcome says so for the audit trail.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from connectors.base.exceptions import PermanentError
from connectors.base.pushed import Waiting, pushed_engine
from connectors.base.records import WriteOutcome, payload_rebase
from connectors.qbd import qbxml
from connectors.qbd.models import QbdCompany, QbwcSession
from connectors.qbd.records import record_of, records_keep

WRITES_PER_REQUEST = 25
STALE = 3200


def writes_requests(
    work: dict[str, Any], company: QbdCompany, session: QbwcSession
) -> list[etree._Element]:
    """The next requests of the writes step: changes re-applied after a stale EditSequence,
    then the re-read those need, then up to WRITES_PER_REQUEST waiting writes. Empty when
    nothing is left. A write whose fields QuickBooks has no place for (a mapping to a field
    it lacks) is answered at once with that error, never sent."""
    work.setdefault("in_flight", [])
    sending = work.setdefault("sending", {})
    again = work.pop("reapply", [])
    if again:
        work.setdefault("retried", []).extend(entry["id"] for entry in again)
        work["in_flight"] = [entry["id"] for entry in again]
        return [
            qbxml.customer_mod(f"w{e['id']}", e["list_id"], e["edit"], e["payload"]) for e in again
        ]
    stale = work.pop("stale", [])
    if stale:
        work["requery"] = stale
        return [qbxml.customers_by_id("stale", [entry["list_id"] for entry in stale])]
    engine = pushed_engine()
    waiting = engine.writes_take(
        company.connection, session=session.ticket or "", limit=WRITES_PER_REQUEST
    )
    requests, refused = [], []
    for write in waiting:
        try:
            requests.append(_request(write))
        except ValueError as exc:
            error = PermanentError(f"Not written to QuickBooks: {exc}", system="qbd")
            refused.append((write.id, WriteOutcome(key=str(write.id), ok=False, error=error)))
            continue
        work["in_flight"].append(write.id)
        item = write.item
        sending[str(write.id)] = {
            "list_id": item.target_id,
            "payload": item.payload,
            "base": item.base or {},
            "prefer": item.on_conflict,
        }
    if refused:
        engine.writes_answer(refused)
    work["batch_full"] = len(waiting) >= WRITES_PER_REQUEST
    session.writes_sent += len(requests)
    return requests


def _request(write: Waiting) -> etree._Element:
    item, request_id = write.item, f"w{write.id}"
    if item.target_id:
        return qbxml.customer_mod(request_id, item.target_id, item.target_version, item.payload)
    return qbxml.customer_add(request_id, item.payload)


def writes_answers_take(
    responses: list[qbxml.Response], work: dict[str, Any], company: QbdCompany
) -> tuple[int, bool]:
    """Take QuickBooks' answers to the writes just sent: each recorded by the outbox's one
    path, a stale one kept to be read again and re-applied. Returns (how many were answered,
    whether the step is done). A write QuickBooks did not answer (the message stopped early)
    stays with the outbox and goes again next session."""
    if work.get("requery"):
        _reread(responses, work, company)
        return 0, False
    by_request = {r.request_id: r for r in responses}
    sending, retried = work.get("sending", {}), set(work.get("retried", []))
    answers, stale = [], []
    for row_id in work.get("in_flight", []):
        answer = by_request.get(f"w{row_id}")
        if answer is None:
            continue
        sent = sending.get(str(row_id), {})
        if answer.status_code == STALE and row_id not in retried and sent.get("list_id"):
            stale.append({"id": row_id, **sent})
            continue
        answers.append((row_id, write_outcome(row_id, answer, sent.get("payload") or {})))
    if answers:
        pushed_engine().writes_answer(answers)
    work["in_flight"] = []
    if stale:
        work["stale"] = stale
        return len(answers), False
    return len(answers), not work.pop("batch_full", False)


def _reread(responses: list[qbxml.Response], work: dict[str, Any], company: QbdCompany) -> None:
    """The customers whose EditSequence was stale, as QuickBooks holds them now: each change
    is re-applied over that (kept for the next request), or answered at once when the
    customer is gone or nothing of the change is left to send."""
    stale = work.pop("requery", [])
    answer = next((r for r in responses if r.request_id == "stale"), None)
    fresh = {r.get("ListID", ""): r for r in (answer.records if answer else [])}
    records_keep(company, "Customer", [record_of("Customer", r) for r in fresh.values()])
    reapply, settled = [], []
    for entry in stale:
        current = fresh.get(entry["list_id"])
        if current is None:
            error = PermanentError(
                f"The customer {entry['list_id']} is no longer in QuickBooks.",
                system="qbd",
                code="3120",
            )
            settled.append((entry["id"], WriteOutcome(key=str(entry["id"]), ok=False, error=error)))
            continue
        payload, _ = payload_rebase(
            entry["payload"], base=entry["base"], fresh=current, prefer=entry["prefer"]
        )
        if not payload:  # what QuickBooks holds now is what we meant to write
            settled.append((entry["id"], _written(entry["id"], current, "update", {})))
            continue
        reapply.append({**entry, "edit": current.get("EditSequence", ""), "payload": payload})
    if settled:
        pushed_engine().writes_answer(settled)
    work["reapply"] = reapply


def write_outcome(row_id: int, answer: qbxml.Response, payload: dict[str, Any]) -> WriteOutcome:
    """A `CustomerAddRs` / `CustomerModRs` as the outcome of its write: status 0 and the
    warnings (500-999) carry the record as QuickBooks now holds it; anything else is
    QuickBooks' own error, with its code and text."""
    ok = answer.status_code == 0 or 500 <= answer.status_code < 1000
    if ok and answer.records:
        action = "create" if answer.name.endswith("AddRs") else "update"
        return _written(row_id, answer.records[0], action, payload)
    error = PermanentError(answer.message, system="qbd", code=str(answer.status_code))
    return WriteOutcome(key=str(row_id), ok=False, error=error)


def _written(
    row_id: int, ret: dict[str, Any], action: str, payload: dict[str, Any]
) -> WriteOutcome:
    return WriteOutcome(
        key=str(row_id),
        ok=True,
        target_id=ret.get("ListID") or ret.get("TxnID", ""),
        version=ret.get("EditSequence", ""),
        action=action,
        data=ret,
        note=transliterated_note(payload),
    )


def transliterated_note(payload: dict[str, Any], prefix: str = "") -> str:
    """What the audit says of text QuickBooks could not store as it was (it keeps Latin-1
    only): each field sent otherwise, and how."""
    changes = []
    for key, value in payload.items():
        if isinstance(value, dict):
            inner = transliterated_note(value, f"{prefix}{key}.")
            if inner:
                changes.append(inner)
        elif isinstance(value, str):
            safe, changed = qbxml.latin1(value)
            if changed:
                changes.append(f"{prefix}{key} {value!r} as {safe!r}")
    if not changes or prefix:
        return "; ".join(changes)
    return "QuickBooks Desktop stores only Latin-1 characters: sent " + "; ".join(changes) + "."
