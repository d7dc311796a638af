"""Two-way flows: a linked record is merged field by field, whichever side changed.

The link's `target_payload` is what both sides last agreed on, in the target's field names.
For each field mapped both ways: changed only at the source, it goes to the target; changed
only at the target, it goes to the source; changed on both sides to different values, the
flow's system of truth wins and the audit trail says so. A side whose values equal the agreed
ones has nothing to say, so our own writes never echo back: a change crosses once.

Writes to the source go first, as sparse updates with the SyncToken just read. The adapter
re-reads a stale one and rebases it on what it finds: a field the source changed again in the
meantime is one more conflict, settled by the system of truth. The target then gets whatever
still differs from the source's fresh record, so a value the source normalises comes back
once, settled.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import transaction

from connectors.base.exceptions import ConnectorError
from connectors.base.records import Record, WriteOutcome
from connectors.base.schema import PLAIN_REFERENCES, ReferenceShape
from syncs.context import FlowContext, Planned
from syncs.errors import Classification, error_classify
from syncs.mapping import (
    SOURCELESS,
    TargetSchema,
    mapping_apply,
    mapping_set,
    payload_canonical,
    payload_hash,
)
from syncs.models import AuditEntry, FieldMapping, OutboxWrite, RecordLink, SyncFlow
from syncs.outbox import (
    Entry,
    back_row,
    idempotency_key,
    link_keep,
    outbox_done,
    outbox_queue,
    outcome_record,
    write_item,
)
from syncs.plan import payload_for
from syncs.records import RunCounts
from syncs.services import sync_error_record
from syncs.transforms import is_blank

BOTH = FieldMapping.Direction.BOTH
SOURCE = AuditEntry.Towards.SOURCE


def same(a: Any, b: Any, references: ReferenceShape = PLAIN_REFERENCES) -> bool:
    """Whether two field values mean the same: blanks alike, lookups by the id they name (as
    the system's `references` read them), numbers and nested values by their canonical form."""
    if is_blank(a) and is_blank(b):
        return True
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        by_id = references.same(a, b)
        if by_id is not None:
            return by_id
    return payload_canonical(a) == payload_canonical(b)


def _link(planned: Planned) -> RecordLink:
    """The link of a planned write this merge works on: only linked records are merged."""
    if planned.link is None:
        raise ValueError(f"{planned.record.id} is not linked: there is nothing to merge it with.")
    return planned.link


def two_way_fields(ctx: FlowContext) -> list[str]:
    return [
        m.target_field
        for m in ctx.mappings
        if m.direction == BOTH and m.transform not in SOURCELESS
    ]


def volatile_fields(ctx: FlowContext) -> set[str]:
    return {m.target_field for m in ctx.mappings if m.transform == FieldMapping.Transform.SYNC_TIME}


@dataclass
class Merge:
    """One linked record: what crosses which way."""

    planned: Planned
    current: Record  # the target record as it is now
    to_source: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    # The conflicting fields' values as found: (the source's, the target's).
    conflict_values: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    source_payload: dict[str, Any] = field(default_factory=dict)
    # The write of `to_source` back to the source: its outbox row and, once answered, what
    # the source said (a pushed source answers on a later call: pending until then).
    source_row: OutboxWrite | None = None
    source_outcome: WriteOutcome | None = None
    source_failed: bool = False
    to_target: dict[str, Any] = field(default_factory=dict)
    target_row: OutboxWrite | None = None
    target_outcome: WriteOutcome | None = None

    def answered(self) -> list[tuple[OutboxWrite, WriteOutcome]]:
        """This merge's outbox rows that have their answer (a pushed system's come later)."""
        pairs = [(self.source_row, self.source_outcome), (self.target_row, self.target_outcome)]
        return [(r, o) for r, o in pairs if r is not None and o is not None and not o.pending]

    @property
    def target_pending(self) -> bool:
        return self.target_outcome is not None and self.target_outcome.pending

    @property
    def source_pending(self) -> bool:
        return self.source_outcome is not None and self.source_outcome.pending

    @property
    def source_held(self) -> bool:
        """Whether the target's changes to `to_source` are not (yet) at the source: they stay
        unagreed, and the target keeps them."""
        return self.source_failed or self.source_pending


def merge_decide(
    fields: Sequence[str],
    *,
    source: Mapping[str, Any],
    target: Mapping[str, Any],
    agreed: Mapping[str, Any],
    truth: str,
    references: ReferenceShape = PLAIN_REFERENCES,
) -> tuple[list[str], list[str]]:
    """(the fields whose target value goes to the source, the fields changed on both sides).
    `source` is the source record mapped into the target's names."""
    to_source, conflicts = [], []
    for name in fields:
        target_changed = not same(target.get(name), agreed.get(name), references)
        if not target_changed or same(source.get(name), target.get(name), references):
            continue
        if not same(source.get(name), agreed.get(name), references):
            conflicts.append(name)
            if truth == SyncFlow.SystemOfTruth.SOURCE:
                continue
        to_source.append(name)
    return to_source, conflicts


def _source_payload(
    ctx: FlowContext, merge: Merge, schema: TargetSchema
) -> tuple[dict[str, Any], list[Any]]:
    """The target's values of `merge.to_source`, in the source's terms; nested groups (an
    address) keep the source's other parts, since a sparse update replaces a group whole."""
    mappings = [m for m in ctx.mappings if m.target_field in merge.to_source]
    mapped = mapping_apply(
        mappings, merge.current.data, target_schema=schema, direction="to_source"
    )
    payload = dict(mapped.payload)
    for key, value in payload.items():
        existing = merge.planned.record.data.get(key)
        if isinstance(value, dict) and isinstance(existing, dict):
            payload[key] = {**existing, **value}
    return payload, mapped.problems


def _source_write(ctx: FlowContext, merges: list[Merge]) -> None:
    """Write the target's changes to the source in one batch, through the outbox; the merge
    of a record that fails says so, and the record's error is recorded. A pushed source takes
    its rows on its next call: the merge goes on without them, and their answers are recorded
    when they come (`syncs.outbox.outbox_answer`)."""
    schema = ctx.source.schema(ctx.flow.source_entity)
    on_conflict = "theirs" if ctx.flow.system_of_truth == SyncFlow.SystemOfTruth.SOURCE else "ours"
    queued: list[tuple[Merge, OutboxWrite]] = []
    for merge in merges:
        payload, problems = _source_payload(ctx, merge, schema)
        merge.source_payload = payload
        if problems:
            message = "; ".join(p.message for p in problems)
            _source_error(ctx, merge, Classification(problems[0].category, False, message))
            continue
        queued.append((merge, _source_row(ctx, merge, payload, on_conflict)))
    if not queued:
        return
    rows = outbox_queue([row for _, row in queued])
    items = [
        write_item(row, base=m.planned.record.data)
        for (m, _), row in zip(queued, rows, strict=True)
    ]
    outcomes = ctx.source.write(ctx.flow.source_entity, items)
    for (merge, _), row, outcome in zip(queued, rows, outcomes, strict=True):
        merge.source_row, merge.source_outcome = row, outcome
        if outcome.pending:
            continue
        if not outcome.ok:
            merge.source_failed = True
            continue
        fresh = _fresh(merge.planned.record, outcome)
        mapped = _forward(ctx, fresh)
        if mapped is not None:
            merge.planned = replace(merge.planned, record=fresh, payload=mapped)
            _late_conflicts(ctx, merge, outcome.conflicts, on_conflict == "theirs")


def _source_row(
    ctx: FlowContext, merge: Merge, payload: dict[str, Any], on_conflict: str
) -> OutboxWrite:
    """The outbox row of a merge's write back to the source: from the target record as read,
    to the linked source record at the version read; once answered, the fields it carries
    are what both sides hold (`agreed`)."""
    current, record = merge.current, merge.planned.record
    previous = _link(merge.planned).target_payload or {}
    return back_row(
        ctx.flow,
        replace(current, name=record.name),
        payload,
        before={n: previous.get(n) for n in merge.to_source},
        agreed={n: current.data.get(n) for n in merge.to_source},
        base={key: record.data.get(key) for key in payload},
        target_id=record.id,
        target_version=record.version,
        on_conflict=on_conflict,
    )


def _late_conflicts(
    ctx: FlowContext, merge: Merge, theirs: Mapping[str, Any], source_is_truth: bool
) -> None:
    """Fields the source changed again between our read and our write (met as a stale
    version; `theirs` holds the values it set, by path): both sides changed them, so they are
    conflicts like any other, settled by the system of truth. The source's winning value then
    goes to the target with the rest."""
    late = [
        m.target_field
        for m in ctx.mappings
        if m.target_field in merge.to_source
        and any(m.source_path == p or m.source_path.startswith(f"{p}.") for p in theirs)
    ]
    if not late:
        return
    data = copy.deepcopy(merge.planned.record.data)
    for path, value in theirs.items():
        mapping_set(data, path, value)
    their_values = _forward(ctx, replace(merge.planned.record, data=data)) or {}
    for name in late:
        if name not in merge.conflicts:
            merge.conflicts.append(name)
        merge.conflict_values[name] = (their_values.get(name), merge.current.data.get(name))
        if source_is_truth:
            merge.to_source.remove(name)


def _fresh(record: Record, outcome: WriteOutcome) -> Record:
    return Record(
        id=record.id,
        version=outcome.version,
        modified_at=record.modified_at,
        deleted=False,
        data=outcome.data or record.data,
        name=record.name,
        active=record.active,
    )


def _forward(ctx: FlowContext, record: Record) -> dict[str, Any] | None:
    mapped = payload_for(ctx, record)
    return mapped[0] if mapped else None


def _source_error(ctx: FlowContext, merge: Merge, classification: Classification) -> None:
    merge.source_failed = True
    sync_error_record(
        flow=ctx.flow,
        run=ctx.run,
        source_id=merge.planned.record.id,
        classification=classification,
        payload=merge.source_payload,
        source_name=merge.planned.record.name,
        target_id=merge.current.id,
    )
    ctx.counts += RunCounts(failed=1)


def _agreed(ctx: FlowContext, merge: Merge) -> dict[str, Any]:
    """What both sides hold after this merge. A target change the source refused stays
    unagreed, so it is tried again the next time; one the source has yet to answer becomes
    agreed with its answer."""
    agreed = dict(merge.planned.payload)
    if merge.source_held:
        previous = _link(merge.planned).target_payload or {}
        for name in merge.to_source:
            agreed[name] = previous.get(name)
    return agreed


def _target_changes(ctx: FlowContext, merge: Merge, volatile: set[str]) -> dict[str, Any]:
    keep = set(merge.to_source) if merge.source_held else set()
    changes = {
        name: value
        for name, value in merge.planned.payload.items()
        if name not in volatile
        and name not in keep
        and not same(value, merge.current.data.get(name), ctx.schema.references)
    }
    if changes:
        changes.update(
            {n: merge.planned.payload[n] for n in volatile if n in merge.planned.payload}
        )
    return changes


def _record(ctx: FlowContext, merge: Merge) -> None:
    """One record's merge, in one transaction: the link with its audit entries (what went to
    the source, the conflicts, what went to the target), or an error. A write a pushed system
    has yet to answer is recorded with its answer (`syncs.outbox.outcome_record`)."""
    planned, flow, outcome = merge.planned, ctx.flow, merge.target_outcome
    record, target_id = planned.record, merge.current.id
    if merge.source_failed and merge.source_row and merge.source_outcome:
        outcome_record(flow, ctx.run, merge.source_row, merge.source_outcome)
        ctx.counts += RunCounts(failed=1)
    if outcome is not None and not outcome.ok and not outcome.pending:
        classification = error_classify(
            outcome.error or ConnectorError("The write failed."), system=flow.target.system
        )
        sync_error_record(
            flow=flow,
            run=ctx.run,
            source_id=record.id,
            classification=classification,
            payload=merge.to_target,
            source_name=record.name,
            target_id=target_id,
        )
        ctx.counts += RunCounts(failed=1)
        return
    agreed = _agreed(ctx, merge)
    if merge.target_pending:
        previous = _link(planned).target_payload or {}
        agreed.update({n: previous.get(n) for n in merge.to_target})
    written = bool(merge.to_source) and merge.source_row is not None and not merge.source_held
    entries = []
    if written:
        previous = _link(planned).target_payload or {}
        before = {n: previous.get(n) for n in merge.to_source}
        after = {n: merge.current.data.get(n) for n in merge.to_source}
        entries.append(Entry(AuditEntry.Action.UPDATE, before, after, towards=SOURCE))
    if merge.conflicts:
        entries.append(_conflict_entry(ctx, merge))
    sent = bool(merge.to_target) and not merge.target_pending
    if sent:
        before = {n: merge.current.data.get(n) for n in merge.to_target}
        entries.append(Entry(AuditEntry.Action.UPDATE, before, merge.to_target))
    link_keep(
        flow,
        ctx.run,
        source_id=record.id,
        target_id=target_id,
        entries=entries,
        resolve="" if merge.source_failed else "source",
        source_version=record.version,
        target_version=outcome.version if outcome and sent else merge.current.version,
        target_hash=payload_hash(agreed, exclude=volatile_fields(ctx)),
        target_payload=agreed,
    )
    if written or sent:
        ctx.counts += RunCounts(updated=1)
    elif not (merge.source_held or merge.target_pending):  # failures: counted where recorded
        ctx.counts += RunCounts(skipped=1)


def _conflict_entry(ctx: FlowContext, merge: Merge) -> Entry:
    flow = ctx.flow
    truth = flow.source if flow.system_of_truth == SyncFlow.SystemOfTruth.SOURCE else flow.target
    source_wins = truth == flow.source
    loser, winner = (1, 0) if source_wins else (0, 1)
    values = merge.conflict_values
    names = ", ".join(merge.conflicts)
    return Entry(
        AuditEntry.Action.CONFLICT,
        before={n: values[n][loser] for n in merge.conflicts},
        after={n: values[n][winner] for n in merge.conflicts},
        note=(
            f"{names} changed in both {flow.source.get_system_display()} and "
            f"{flow.target.get_system_display()} since the last sync; "
            f"{truth.get_system_display()}'s value kept (the flow's system of truth)."
        ),
        towards=AuditEntry.Towards.TARGET if source_wins else SOURCE,
    )


def pairs_sync(
    ctx: FlowContext, planned: list[Planned], current: Mapping[str, Record] | None = None
) -> list[Planned]:
    """Merge linked records whose source or target changed. `current` holds target records
    already read (by target id); the others are read in one batch. Returns the planned records
    whose target record is gone, for the caller to write as it would a new one."""
    if not planned:
        return []
    found = dict(current or {})
    wanted = [_link(p).target_id for p in planned if _link(p).target_id not in found]
    if wanted:
        found.update({r.id: r for r in ctx.target.fetch(ctx.flow.target_entity, wanted)})
    fields, truth = two_way_fields(ctx), ctx.flow.system_of_truth
    merges, gone = [], []
    for item in planned:
        link = _link(item)
        target = found.get(link.target_id)
        if target is None:
            gone.append(item)
            continue
        to_source, conflicts = merge_decide(
            fields,
            source=item.payload,
            target=target.data,
            agreed=link.target_payload or {},
            truth=truth,
            references=ctx.schema.references,
        )
        values = {n: (item.payload.get(n), target.data.get(n)) for n in conflicts}
        merges.append(Merge(item, target, to_source, conflicts, values))
    _source_write(ctx, [m for m in merges if m.to_source])
    volatile = volatile_fields(ctx)
    for merge in merges:
        merge.to_target = _target_changes(ctx, merge, volatile)
    _target_write(ctx, [m for m in merges if m.to_target], volatile)
    with transaction.atomic():
        for merge in merges:
            _record(ctx, merge)
        answered = [pair for merge in merges for pair in merge.answered()]
        outbox_done([row for row, _ in answered], [outcome for _, outcome in answered])
    return gone


def _target_write(ctx: FlowContext, merges: list[Merge], volatile: set[str]) -> None:
    """Write what the merges send the target in one batch, through the outbox: a sparse
    update of each linked target record, which, once answered, leaves both sides holding the
    merge's agreed values (the row's `agreed`)."""
    if not merges:
        return
    flow = ctx.flow
    queued = []
    for merge in merges:
        record, current = merge.planned.record, merge.current
        agreed = _agreed(ctx, merge)
        digest = payload_hash(agreed, exclude=volatile)
        queued.append(
            OutboxWrite(
                flow=flow,
                connection=flow.target,
                entity=flow.target_entity,
                idempotency_key=idempotency_key(
                    flow, record.id, record.version, digest, kind="merge"
                ),
                source_id=record.id,
                source_version=record.version,
                source_name=record.name[:255],
                payload=merge.to_target,
                digest=digest,
                before={n: current.data.get(n) for n in merge.to_target},
                agreed=agreed,
                target_id=current.id,
                target_version=current.version,
            )
        )
    rows = outbox_queue(queued)
    outcomes = ctx.target.write(flow.target_entity, [write_item(row) for row in rows])
    for merge, row, outcome in zip(merges, rows, outcomes, strict=True):
        merge.target_row, merge.target_outcome = row, outcome
