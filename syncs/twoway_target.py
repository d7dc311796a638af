"""Changes made at the target of a two-way flow: a linked record changed there is merged with
its source record (`syncs.twoway`); our own write notified back is an echo and stops here; a
record another flow keeps is that flow's; a record carrying a source id this flow wrote is
linked, not created again; a new one is created at the source where the flow allows it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from connectors.base.records import Record, WriteOutcome
from syncs.context import FlowContext, Planned, Sync
from syncs.dependencies import references_prepare
from syncs.errors import Classification
from syncs.mapping import mapping_apply
from syncs.models import AuditEntry, OutboxWrite, RecordLink
from syncs.outbox import (
    Entry,
    Recorded,
    back_row,
    link_keep,
    outbox_done,
    outbox_queue,
    outcome_record,
    write_item,
)
from syncs.plan import payload_for
from syncs.records import LinkConflict, RunCounts, audit_record
from syncs.services import sync_error_record
from syncs.twoway import pairs_sync, same, two_way_fields, volatile_fields


def _echo(ctx: FlowContext, record: Record, link: RecordLink) -> bool:
    """Whether a target record holds exactly what both sides last agreed on (our own write,
    notified back to us)."""
    agreed = link.target_payload or {}
    volatile = volatile_fields(ctx)
    references = ctx.schema.references
    return all(
        same(record.data.get(n), v, references) for n, v in agreed.items() if n not in volatile
    )


def target_records_sync(ctx: FlowContext, records: Sequence[Record], *, forward: Sync) -> None:
    """Changes made on the target side of a two-way flow: linked records are merged with their
    source record; a new target record is created at the source where the flow allows it."""
    ctx.counts += RunCounts(read=len(records))
    links = {
        link.target_id: link
        for link in RecordLink.objects.filter(flow=ctx.flow, target_id__in=[r.id for r in records])
    }
    changed = {r.id: r for r in records if r.id in links and not _echo(ctx, r, links[r.id])}
    ctx.counts += RunCounts(skipped=sum(1 for r in records if r.id in links) - len(changed))
    wanted = [links[i].source_id for i in changed]
    sources = ctx.source.fetch(ctx.flow.source_entity, wanted) if wanted else []
    by_source = {links[i].source_id: i for i in changed}
    references_prepare(ctx, sources, sync=forward)
    planned = []
    for source in sources:
        mapped = payload_for(ctx, source)
        if mapped is not None:
            link = links[by_source[source.id]]
            planned.append(Planned(source, mapped[0], mapped[1], link, link.target_id))
    pairs_sync(ctx, planned, current=changed)
    unlinked = _kept_elsewhere(ctx, [r for r in records if r.id not in links])
    new = _carrying_source_ids(ctx, unlinked, forward)
    if new and ctx.flow.options.get("create_in_source"):
        _source_create(ctx, new, forward)
    elif new:
        ctx.counts += RunCounts(skipped=len(new))


def _kept_elsewhere(ctx: FlowContext, records: list[Record]) -> list[Record]:
    """Target records another flow keeps (it wrote them there from its own source, or linked
    them) are that flow's: one record has one identity at its system, so this flow never
    creates them again in its own source, nor takes another flow's write back as a change of
    its own. Each is skipped with an audit entry naming the flow that keeps it. Returns the
    others."""
    if not records:
        return records
    owners = dict(
        RecordLink.objects.filter(
            flow__target=ctx.flow.target,
            flow__target_entity=ctx.flow.target_entity,
            target_id__in=[r.id for r in records],
        )
        .exclude(flow=ctx.flow)
        .values_list("target_id", "flow__name")
    )
    for record in records:
        if record.id in owners:
            audit_record(
                flow=ctx.flow,
                run=ctx.run,
                action=AuditEntry.Action.SKIP,
                source_id="",
                target_id=record.id,
                note=(
                    f"Kept by the flow {owners[record.id]}: not created in "
                    f"{ctx.flow.source.get_system_display()} by this one."
                ),
                towards=AuditEntry.Towards.SOURCE,
            )
    ctx.counts += RunCounts(skipped=len(owners))
    return [r for r in records if r.id not in owners]


def _carrying_source_ids(ctx: FlowContext, records: list[Record], forward: Sync) -> list[Record]:
    """Unlinked target records that carry a source id in the flow's id field (`QBO_Id`) were
    written by this flow, by a run that stopped before it recorded their links: each is linked
    to its source record and merged with it, never created in the source a second time.
    Returns the records that are new at the target."""
    external = ctx.matcher.fields.external_field
    carrying = {str(r.data.get(external)): r for r in records if external and r.data.get(external)}
    if not carrying:
        return records
    taken = set(
        RecordLink.objects.filter(flow=ctx.flow, source_id__in=list(carrying)).values_list(
            "source_id", flat=True
        )
    )
    sources = ctx.source.fetch(ctx.flow.source_entity, [i for i in carrying if i not in taken])
    references_prepare(ctx, sources, sync=forward)
    planned = []
    for source in sources:
        target = carrying[source.id]
        link = _link_found(ctx, source, target, external)
        mapped = payload_for(ctx, source) if link is not None else None
        if mapped is not None:
            planned.append(Planned(source, mapped[0], mapped[1], link, target.id))
    pairs_sync(ctx, planned, current={p.target_id: carrying[p.record.id] for p in planned})
    # Carrying an id the source does not hold (deleted there), or one linked to another target
    # record: not new at the target either; creating it in the source would duplicate it.
    ctx.counts += RunCounts(skipped=len(carrying) - len(planned))
    return [r for r in records if not (external and r.data.get(external))]


def _link_found(
    ctx: FlowContext, source: Record, target: Record, external: str
) -> RecordLink | None:
    """Link a target record to the source record whose id it carries, with an audit entry
    saying why. Nothing both sides agreed on is known, so the merge that follows settles any
    field the two hold differently by the flow's system of truth."""
    note = (
        f"Linked: the {ctx.flow.target.get_system_display()} record carries "
        f"{ctx.flow.source.get_system_display()} id {source.id} in {external} (written by an "
        "earlier run that stopped before recording its link)."
    )
    try:
        return link_keep(
            ctx.flow,
            ctx.run,
            source_id=source.id,
            target_id=target.id,
            entries=[Entry(AuditEntry.Action.SKIP, note=note)],
            resolve="",
            source_version="",
            target_version=target.version,
            target_hash="",
            target_payload={},
        )
    except LinkConflict:
        return None


def _source_create(ctx: FlowContext, records: list[Record], forward: Sync) -> None:
    """Create target-side records at the source through the outbox, link them, then sync them
    forward so the target record carries the source's id (and what the source filled in). A
    pushed source creates them on its next call; they are linked when it answers."""
    flow = ctx.flow
    schema = ctx.source.schema(flow.source_entity)
    agreed_fields = two_way_fields(ctx)
    queued = []
    for record in records:
        mapped = mapping_apply(
            ctx.mappings, record.data, target_schema=schema, direction="to_source"
        )
        if mapped.problems:
            message = "; ".join(p.message for p in mapped.problems)
            classification = Classification(mapped.problems[0].category, False, message)
            _target_side_error(ctx, record, classification, mapped.payload)
            continue
        agreed = {n: record.data.get(n) for n in agreed_fields}
        queued.append(back_row(flow, record, mapped.payload, agreed=agreed))
    if not queued:
        return
    created = [
        Record(
            id=outcome.target_id,
            version=outcome.version,
            modified_at=None,
            deleted=False,
            data=outcome.data,
            name=row.source_name,
        )
        for row, outcome, recorded in _back_send(ctx, queued, keyed=True)
        if recorded.target_id
    ]
    if created:
        forward(ctx, created)


def _target_side_error(
    ctx: FlowContext, record: Record, classification: Classification, payload: Any
) -> None:
    sync_error_record(
        flow=ctx.flow,
        run=ctx.run,
        source_id="",
        classification=classification,
        payload=payload,
        source_name=record.name,
        target_id=record.id,
    )
    ctx.counts += RunCounts(failed=1)


def gone_at_target(ctx: FlowContext, ids: list[str]) -> None:
    """Target records deleted there (the target said so): the link says so too, and where the
    flow's `on_target_deleted` option names fields (a customer made inactive), the linked
    source record gets them, through the outbox, with an audit entry saying why. Otherwise
    the source keeps its record, and its next change writes it to the target again."""
    if not ids:
        return
    flow, changes = ctx.flow, dict(ctx.flow.options.get("on_target_deleted") or {})
    links = list(
        RecordLink.objects.filter(flow=flow, target_id__in=ids, target_deleted_at__isnull=True)
    )
    RecordLink.objects.filter(pk__in=[link.pk for link in links]).update(
        target_deleted_at=timezone.now()
    )
    if not changes or not links or not flow.is_two_way:
        return
    held = {
        r.id: r for r in ctx.source.fetch(flow.source_entity, [link.source_id for link in links])
    }
    note = (
        f"Deleted in {flow.target.get_system_display()}: "
        + ", ".join(f"{name} set to {value!r}" for name, value in changes.items())
        + f" in {flow.source.get_system_display()}, which keeps the record."
    )
    rows = []
    for link in links:
        source = held.get(link.source_id)
        origin = Record(
            id=link.target_id,
            version=f"deleted:{link.target_version}",
            modified_at=None,
            deleted=True,
            data={},
            name=source.name if source else "",
        )
        rows.append(
            back_row(
                flow,
                origin,
                changes,
                base={key: (source.data.get(key) if source else None) for key in changes},
                target_id=link.source_id,
                target_version=source.version if source else link.source_version,
                note=note,
            )
        )
    _back_send(ctx, rows)


def _back_send(
    ctx: FlowContext, rows: list[OutboxWrite], *, keyed: bool = False
) -> list[tuple[OutboxWrite, WriteOutcome, Recorded]]:
    """Queue writes back to the source, hand them over, and record in one transaction what
    it answered now (a pushed source answers later, through the outbox); the counts go on
    `ctx.counts`. Returns the answered rows with what recording them did."""
    rows = outbox_queue(rows)
    items = [write_item(row, keyed=keyed) for row in rows]
    outcomes = ctx.source.write(ctx.flow.source_entity, items)
    answered = [(row, o) for row, o in zip(rows, outcomes, strict=True) if not o.pending]
    results = []
    with transaction.atomic():
        for row, outcome in answered:
            recorded = outcome_record(ctx.flow, ctx.run, row, outcome)
            ctx.counts += recorded.counts
            results.append((row, outcome, recorded))
        outbox_done([row for row, _ in answered], [outcome for _, outcome in answered])
    return results
