"""The outbox: every write becomes a row first, then is handed to its system, and one path
records each outcome, whenever it arrives.

A pulled system (a REST API) gets its rows at once from the run that queued them
(`syncs.write.writes_send`):
the same calls as writing directly, and the outcome recorded in the same run. A pushed system
(the QuickBooks Web Connector) answers a write only on a later call: its adapter answers
"pending", the row waits, the system's own service takes the rows when it next asks
(`outbox_take`) and hands the answers back (`outbox_answer`), which records them in a run of
their own. A crash between handing a row over and recording its answer leaves it sent, never
lost; it is handed over again under the same idempotency key, so nothing is written twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from connectors.base.exceptions import ConnectorError
from connectors.base.records import Record, WriteItem, WriteOutcome
from connectors.base.spec import Delivery
from connectors.registry import SPECS, system_spec
from syncs.errors import Classification, error_classify
from syncs.mapping import payload_hash
from syncs.models import AuditEntry, ErrorCategory, OutboxWrite, RecordLink, SyncFlow, SyncRun
from syncs.records import (
    LinkConflict,
    RunCounts,
    audit_entry,
    link_save,
    run_finish,
    run_start,
)
from syncs.services import sync_error_record, sync_error_resolve, sync_errors_resolve

Status = OutboxWrite.Status
Towards = OutboxWrite.Towards


def idempotency_key(
    flow: SyncFlow,
    source_id: str,
    source_version: str,
    digest: str,
    *,
    kind: str = "",
    towards: str = Towards.TARGET,
) -> str:
    """The write of this version of this record, mapped to this payload, by this flow. `kind`
    tells apart the writes of one version: "anew" (written again as a new record, its linked
    one found deleted), "merge" (a two-way merge's sparse update); `towards` source: a two-way
    flow's write back to its source, from the target record `source_id`."""
    back = "back:" if towards == Towards.SOURCE else ""
    suffix = f":{kind}" if kind else ""
    return f"flow-{flow.pk}:{back}{source_id}:{source_version}:{digest[:16]}{suffix}"[:200]


def write_item(
    row: OutboxWrite, *, base: dict[str, Any] | None = None, keyed: bool = False
) -> WriteItem:
    """The row as its system's adapter takes it (`base`: the record as read, for a sparse
    update to rebase on if it was changed there since; the row's own when not given). Its idempotency key stays with the
    row unless `keyed`: a system that takes keys (QBO's `requestid`) writes keyed creates one
    call each instead of in batches, so handing it over would cost calls (a repeat after a
    crash is found by the match fields and the outbox row instead)."""
    return WriteItem(
        key=row.source_id,
        payload=row.payload,
        target_id=row.target_id,
        target_version=row.target_version,
        match=row.match or {},
        idempotency_key=row.idempotency_key if keyed else "",
        base=base if base is not None else row.base,
        on_conflict=row.on_conflict,
    )


def back_row(flow: SyncFlow, origin: Record, payload: dict[str, Any], **plan: Any) -> OutboxWrite:
    """An unsaved row for a two-way flow's write back to its source, from the target record
    `origin` (`plan`: the row's other fields: the source record it updates, `before`,
    `agreed`, `on_conflict`). A repeat of it (a crash before its answer was recorded) is the
    same row, under the same key."""
    digest = payload_hash(payload)
    return OutboxWrite(
        flow=flow,
        connection=flow.source,
        entity=flow.source_entity,
        towards=Towards.SOURCE,
        idempotency_key=idempotency_key(
            flow, origin.id, origin.version, digest, towards=Towards.SOURCE
        ),
        source_id=origin.id,
        source_version=origin.version,
        source_name=origin.name[:255],
        payload=payload,
        digest=digest,
        **plan,
    )


_PLAN = (
    "source_name",
    "before",
    "agreed",
    "base",
    "target_id",
    "target_version",
    "match",
    "replaces_id",
    "note",
)


def outbox_queue(rows: Sequence[OutboxWrite]) -> list[OutboxWrite]:
    """Keep `rows` (unsaved), in one statement. A row whose key is already there (queued
    before a crash, or answered and now due again) is that row, brought up to the new plan (a
    retry may have found the record the first attempt created) and pending again if it had
    been answered. Returns the saved rows in the order given."""
    keys = [row.idempotency_key for row in rows]
    with transaction.atomic():
        OutboxWrite.objects.bulk_create(rows, ignore_conflicts=True)
        saved = OutboxWrite.objects.in_bulk(keys, field_name="idempotency_key")
        changed = []
        for row in rows:
            kept = saved[row.idempotency_key]
            plan = {name: getattr(row, name) for name in _PLAN}
            if kept.status == Status.DONE or any(getattr(kept, n) != v for n, v in plan.items()):
                for name, value in plan.items():
                    setattr(kept, name, value)
                if kept.status == Status.DONE:
                    kept.status, kept.outcome, kept.answered_at = Status.PENDING, None, None
                changed.append(kept)
        if changed:
            OutboxWrite.objects.bulk_update(changed, [*_PLAN, "status", "outcome", "answered_at"])
    return [saved[key] for key in keys]


def outbox_sent(rows: Sequence[OutboxWrite], *, session: str = "") -> None:
    now = timezone.now()
    OutboxWrite.objects.filter(pk__in=[r.pk for r in rows]).update(
        status=Status.SENT, sent_at=now, session=session[:100]
    )
    for row in rows:
        row.status, row.sent_at, row.session = Status.SENT, now, session[:100]


def _outcome_json(outcome: WriteOutcome) -> dict[str, Any]:
    error = outcome.error
    return {
        "ok": outcome.ok,
        "target_id": outcome.target_id,
        "version": outcome.version,
        "action": outcome.action,
        "error": None if error is None else {"code": error.code, "message": error.message},
    }


def outbox_done(rows: Sequence[OutboxWrite], outcomes: Sequence[WriteOutcome]) -> None:
    """Mark rows answered, with what their system said (inside the recording transaction)."""
    now = timezone.now()
    for row, outcome in zip(rows, outcomes, strict=True):
        row.status, row.outcome, row.answered_at = Status.DONE, _outcome_json(outcome), now
    OutboxWrite.objects.bulk_update(rows, ["status", "outcome", "answered_at"])


@dataclass(frozen=True)
class Recorded:
    """What recording one outcome did: the counts to add, and the record a success wrote (for
    the run's matcher to remember)."""

    counts: RunCounts
    target_id: str = ""


@dataclass(frozen=True)
class Entry:
    """One audit entry that goes with a link (`link_keep`)."""

    action: str
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    note: str = ""
    towards: str = AuditEntry.Towards.TARGET


def link_keep(
    flow: SyncFlow,
    run: SyncRun | None,
    *,
    source_id: str,
    target_id: str,
    entries: Sequence[Entry] = (),
    resolve: str = "source",
    **fields: Any,
) -> RecordLink:
    """Save a link (`fields` as `link_save` takes them) with its audit entries, in one
    transaction, and close the record's open error: the one recorded by its source id
    (`resolve` "source"), by its target id ("target": a record found at the target), or none
    (""). Raises LinkConflict, having written nothing."""
    with transaction.atomic():
        link = link_save(flow=flow, source_id=source_id, target_id=target_id, **fields)
        AuditEntry.objects.bulk_create(
            [_audit(flow, run, entry, source_id, target_id, link) for entry in entries]
        )
        if resolve == "source":
            sync_error_resolve(flow, source_id)
        elif resolve == "target":
            sync_error_resolve(flow, "", target_id=target_id)
    return link


def _audit(
    flow: SyncFlow,
    run: SyncRun | None,
    entry: Entry,
    source_id: str,
    target_id: str,
    link: RecordLink | None,
) -> AuditEntry:
    return audit_entry(
        flow=flow,
        run=run,
        action=entry.action,
        source_id=source_id,
        target_id=target_id,
        before=entry.before,
        after=entry.after,
        link=link,
        note=entry.note,
        towards=entry.towards,
    )


def flow_ids(row: OutboxWrite, written_id: str = "") -> tuple[str, str]:
    """(the flow's source record id, the flow's target record id) of a row, `written_id` being
    the id of the record it wrote: a write back to the source runs the other way."""
    written_id = written_id or row.target_id
    if row.towards == Towards.SOURCE:
        return written_id, row.source_id
    return row.source_id, written_id


def outcome_record(
    flow: SyncFlow,
    run: SyncRun | None,
    row: OutboxWrite,
    outcome: WriteOutcome,
    *,
    classification: Classification | None = None,
) -> Recorded:
    """One write's outcome, in one transaction: the link and its audit entry, or a sync error
    (`classification` when the caller knows better than the system's own rules)."""
    if not outcome.ok:
        system = flow.target.system if row.connection_id == flow.target_id else flow.source.system
        classification = classification or error_classify(
            outcome.error or ConnectorError("The write failed."), system=system
        )
        _error(flow, run, row, classification, row.target_id)
        return Recorded(RunCounts(failed=1))
    try:
        if row.towards == Towards.SOURCE:
            _back_record(flow, run, row, outcome)
        else:
            link_keep(
                flow,
                run,
                source_id=row.source_id,
                target_id=outcome.target_id,
                entries=[_entry(flow, row, outcome)],
                source_version=row.source_version,
                target_version=outcome.version,
                target_hash=row.digest,
                target_payload=row.payload if row.agreed is None else row.agreed,
            )
    except LinkConflict as exc:
        duplicate = Classification(ErrorCategory.DUPLICATE, False, str(exc))
        _error(flow, run, row, duplicate, outcome.target_id)
        return Recorded(RunCounts(failed=1))
    return _written(row, outcome)


def _back_record(
    flow: SyncFlow, run: SyncRun | None, row: OutboxWrite, outcome: WriteOutcome
) -> None:
    """A two-way flow's write back to its source, answered: a merged change moves the link's
    source version and what both sides agree on; a record created at the source from one at
    the target is linked to it."""
    towards = AuditEntry.Towards.SOURCE
    agreed = row.agreed or {}
    if row.target_id:
        link = RecordLink.objects.filter(flow=flow, source_id=row.target_id).first()
        link_keep(
            flow,
            run,
            source_id=row.target_id,
            target_id=row.source_id,
            entries=[
                Entry(
                    AuditEntry.Action.UPDATE, row.before, agreed, _note(flow, row, outcome), towards
                )
            ],
            source_version=outcome.version,
            target_payload={**(link.target_payload if link else {}), **agreed},
        )
        return
    link_keep(
        flow,
        run,
        source_id=outcome.target_id,
        target_id=row.source_id,
        entries=[
            Entry(AuditEntry.Action.CREATE, None, row.payload, _note(flow, row, outcome), towards)
        ],
        resolve="target",
        source_version=outcome.version,
        target_version=row.source_version,
        target_hash="",
        target_payload=agreed,
    )


def _entry(flow: SyncFlow, row: OutboxWrite, outcome: WriteOutcome) -> Entry:
    action = AuditEntry.Action.CREATE if _created(row, outcome) else AuditEntry.Action.UPDATE
    return Entry(action, row.before, row.payload, _note(flow, row, outcome))


def _note(flow: SyncFlow, row: OutboxWrite, outcome: WriteOutcome) -> str:
    """What the audit entry of a write says besides its fields: why it was written (the row's
    own note, a record written anew) and what the system said of it."""
    said = [row.note or _recreated_note(flow, row), outcome.note]
    return " ".join(part for part in said if part)


def outcomes_record(
    flow: SyncFlow,
    run: SyncRun | None,
    answers: Sequence[tuple[OutboxWrite, WriteOutcome, RecordLink | None]],
) -> list[Recorded]:
    """A page of successful writes recorded at once: the new links in one INSERT, the changed
    ones in one UPDATE, the audit entries in one INSERT, the page's open errors closed in one
    UPDATE. `answers` pairs each row with its outcome and the link
    it was planned against. If the page cannot be kept whole (a target record another source
    record is linked to), it is recorded record by record instead, so one record's conflict
    is that record's error alone."""
    if not answers:
        return []
    try:
        with transaction.atomic():
            return _page_record(flow, run, answers)
    except IntegrityError:
        return [outcome_record(flow, run, row, outcome) for row, outcome, _ in answers]


def _page_record(
    flow: SyncFlow,
    run: SyncRun | None,
    answers: Sequence[tuple[OutboxWrite, WriteOutcome, RecordLink | None]],
) -> list[Recorded]:
    now = timezone.now()
    fresh: list[RecordLink] = []
    changed: list[RecordLink] = []
    links: list[RecordLink] = []
    for row, outcome, link in answers:
        if link is None:
            link = RecordLink(flow=flow, source_id=row.source_id, created_at=now)
            fresh.append(link)
        else:
            changed.append(link)
        link.target_id = outcome.target_id
        link.source_version = row.source_version
        link.target_version = outcome.version
        link.target_hash = row.digest
        link.target_payload = row.payload if row.agreed is None else row.agreed
        link.last_synced_at = now
        links.append(link)
    RecordLink.objects.bulk_create(fresh)
    if changed:
        RecordLink.objects.bulk_update(changed, _LINK_FIELDS)
    AuditEntry.objects.bulk_create(
        [
            _audit(flow, run, _entry(flow, row, o), row.source_id, o.target_id, link)
            for (row, o, _), link in zip(answers, links, strict=True)
        ]
    )
    sync_errors_resolve(flow, [row.source_id for row, _, _ in answers])
    return [_written(row, o) for row, o, _ in answers]


_LINK_FIELDS = [
    "target_id",
    "source_version",
    "target_version",
    "target_hash",
    "target_payload",
    "last_synced_at",
]


def _created(row: OutboxWrite, outcome: WriteOutcome) -> bool:
    return outcome.action in ("create", "insert") or not row.target_id


def _written(row: OutboxWrite, outcome: WriteOutcome) -> Recorded:
    counts = RunCounts(created=1) if _created(row, outcome) else RunCounts(updated=1)
    return Recorded(counts, outcome.target_id)


def _recreated_note(flow: SyncFlow, row: OutboxWrite) -> str:
    if not row.replaces_id:
        return ""
    return (
        f"The linked {flow.target.get_system_display()} record {row.replaces_id} no longer "
        "exists there (deleted); created again."
    )


def _error(
    flow: SyncFlow,
    run: SyncRun | None,
    row: OutboxWrite,
    classification: Classification,
    target_id: str,
) -> None:
    """The row's record failed: its error, under the flow's ids of it."""
    source_id, target_id = flow_ids(row, target_id)
    with transaction.atomic():
        sync_error_record(
            flow=flow,
            run=run,
            source_id=source_id,
            classification=classification,
            payload=row.payload,
            source_name=row.source_name,
            target_id=target_id,
        )


def outbox_take(connection: Any, *, session: str, limit: int = 100) -> list[OutboxWrite]:
    """The writes a pushed system is to be handed now, oldest first, marked sent to `session`:
    the pending ones, and those sent to an earlier session that never answered (it ended, or
    its worker died); the same idempotency keys go with them."""
    rows = list(
        OutboxWrite.objects.filter(connection=connection)
        .filter(Q(status=Status.PENDING) | (Q(status=Status.SENT) & ~Q(session=session)))
        .select_related("flow", "connection")
        .order_by("pk")[:limit]
    )
    outbox_sent(rows, session=session)
    return rows


def outbox_answer(answers: Sequence[tuple[OutboxWrite, WriteOutcome]]) -> RunCounts:
    """Record what a pushed system answered, in a run per flow. An answer to a row that is no
    longer waiting (answered already) is left out: recorded once, whenever it comes."""
    by_flow: dict[int, list[tuple[OutboxWrite, WriteOutcome]]] = defaultdict(list)
    waiting = set(
        OutboxWrite.objects.filter(
            pk__in=[row.pk for row, _ in answers], status__in=[Status.PENDING, Status.SENT]
        ).values_list("pk", flat=True)
    )
    for row, outcome in answers:
        if row.pk in waiting:
            by_flow[row.flow_id].append((row, outcome))
    total = RunCounts()
    for pairs in by_flow.values():
        flow = pairs[0][0].flow
        run = run_start(
            flow=flow,
            kind=SyncRun.Kind.LIVE,
            triggered_by=f"answers from {pairs[0][0].connection}",
        )
        counts = RunCounts(read=len(pairs))
        with transaction.atomic():
            for row, outcome in pairs:
                counts += outcome_record(flow, run, row, outcome).counts
            outbox_done([row for row, _ in pairs], [outcome for _, outcome in pairs])
        run_finish(run, counts=counts)
        total += counts
    return total


OUTBOX_KEEP = timedelta(days=7)  # answered writes kept this long (what was sent, for support)
STALE_AFTER = timedelta(hours=1)


def outbox_sweep() -> int:
    """Forget answered writes after `OUTBOX_KEEP`, and the unanswered writes to pulled systems
    that a crash left behind (their batch was planned again, under its own keys, and recorded
    then). A pushed system's writes wait for it however long it takes. Returns how many."""
    now = timezone.now()
    old = OutboxWrite.objects.filter(status=Status.DONE, answered_at__lt=now - OUTBOX_KEEP)
    stale = OutboxWrite.objects.filter(
        status__in=[Status.PENDING, Status.SENT], created_at__lt=now - STALE_AFTER
    ).exclude(connection__system__in=_pushed_systems())
    return old.delete()[0] + stale.delete()[0]


def _pushed_systems() -> list[str]:
    return [s for s in SPECS if system_spec(s).delivery == Delivery.PUSHED]
