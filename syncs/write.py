"""Write and record: the planned writes go through the outbox to the target, and each answer
is recorded by the outbox's one path (a link and its audit entry, or an error)."""

from __future__ import annotations

from connectors.base.records import WriteOutcome
from syncs.context import FlowContext, Planned, reference_flow
from syncs.errors import Classification, error_classify
from syncs.models import ErrorCategory, OutboxWrite, RecordLink
from syncs.outbox import (
    idempotency_key,
    outbox_queue,
    outcome_record,
    outcomes_record,
    write_item,
)


def writes_queue(ctx: FlowContext, planned: list[Planned]) -> list[OutboxWrite]:
    """The planned writes as outbox rows, kept before anything is sent."""
    flow, external = ctx.flow, ctx.matcher.fields.external_field
    return outbox_queue(
        [
            OutboxWrite(
                flow=flow,
                connection=flow.target,
                entity=flow.target_entity,
                idempotency_key=idempotency_key(
                    flow, p.record.id, p.record.version, p.digest, kind="anew" if p.gone_id else ""
                ),
                source_id=p.record.id,
                source_version=p.record.version,
                source_name=p.record.name[:255],
                payload=p.payload,
                digest=p.digest,
                before=p.link.target_payload if p.link else None,
                agreed={**(p.link.target_payload or {}), **p.payload}
                if p.sparse and p.link
                else None,
                note=p.note,
                target_id=p.target_id,
                target_version=p.link.target_version if p.link else "",
                match={external: p.record.id} if external and not p.target_id else {},
                replaces_id=p.gone_id,
            )
            for p in planned
        ]
    )


def writes_send(
    ctx: FlowContext, planned: list[Planned]
) -> tuple[list[OutboxWrite], list[WriteOutcome]]:
    """Queue the writes in the outbox and hand them to the target: a pulled one answers now,
    a pushed one answers "pending" and takes them when it next calls."""
    rows = writes_queue(ctx, planned)
    items = [write_item(row) for row in rows]
    return rows, ctx.target.write(ctx.flow.target_entity, items)


def gone_recreate(
    ctx: FlowContext,
    planned: list[Planned],
    rows: list[OutboxWrite],
    outcomes: list[WriteOutcome],
) -> tuple[list[OutboxWrite], list[WriteOutcome], list[tuple[OutboxWrite, WriteOutcome]]]:
    """Updates the target refused because the linked record no longer exists (deleted there):
    each is written again as a new record, once, and `planned` is changed in place to say so.
    The source keeps the record, so the target gets it back; the audit entry says why.
    Returns the rows and outcomes to record, and the replaced rows with their answers."""
    system = ctx.flow.target.system
    gone = [
        n
        for n, (item, outcome) in enumerate(zip(planned, outcomes, strict=True))
        if item.target_id
        and not outcome.ok
        and not outcome.pending
        and outcome.error is not None
        and error_classify(outcome.error, system=system).category == ErrorCategory.NOT_FOUND
    ]
    if not gone:
        return rows, outcomes, []
    replaced = [(rows[n], outcomes[n]) for n in gone]
    again = [planned[n].recreated() for n in gone]
    rows, outcomes = list(rows), list(outcomes)
    new_rows, new_outcomes = writes_send(ctx, again)
    for n, item, row, outcome in zip(gone, again, new_rows, new_outcomes, strict=True):
        planned[n], rows[n], outcomes[n] = item, row, outcome
    return rows, outcomes, replaced


def _reference_gone(ctx: FlowContext, error: Exception | None) -> Classification | None:
    """A lookup the target refused because the record it points at was deleted there (as the
    target's reference shape reads the error). The stale link of that dependency goes, so the
    record's retry, which comes by itself, syncs the dependency again first (created anew) and
    then writes the record. None for any other error."""
    gone = ctx.schema.references.gone(error) if error is not None else None
    if gone is None:
        return None
    field_name, target_id = gone
    line_reference = [ctx.line_items.reference] if ctx.line_items else []
    for reference in [*ctx.references, *line_reference]:
        if reference.lookup_field != field_name:
            continue
        dependency = reference_flow(ctx.flow, reference)
        if dependency is None:
            continue
        deleted, _ = RecordLink.objects.filter(flow=dependency, target_id=target_id).delete()
        if not deleted:
            continue
        known = ctx.reference_targets.get(reference.key, {})
        for source_id in [s for s, t in known.items() if t == target_id]:
            del known[source_id]
        system = ctx.flow.target.get_system_display()
        message = (
            f"The {reference.target_entity} record {target_id} in {field_name} no longer "
            f"exists in {system} (deleted); it is synced again before this record is retried."
        )
        code = getattr(error, "code", "")
        return Classification(ErrorCategory.MISSING_DEPENDENCY, True, message, code)
    return None


def outcome_keep(ctx: FlowContext, item: Planned, row: OutboxWrite, outcome: WriteOutcome) -> None:
    """One record's outcome, by the outbox's one recording path (link and audit entry, or an
    error); a lookup refused for a record deleted at the target says so."""
    gone = None if outcome.ok else _reference_gone(ctx, outcome.error)
    recorded = outcome_record(ctx.flow, ctx.run, row, outcome, classification=gone)
    if recorded.target_id:
        ctx.matcher.remember(item.record.id, item.payload, recorded.target_id)
    ctx.counts += recorded.counts


def outcomes_keep(
    ctx: FlowContext, answered: list[tuple[Planned, OutboxWrite, WriteOutcome]]
) -> None:
    """A page of answers: the successes recorded together (`outbox.outcomes_record`), each
    failure as its own error."""
    written = [(p, row, o) for p, row, o in answered if o.ok]
    for item, row, outcome in answered:
        if not outcome.ok:
            outcome_keep(ctx, item, row, outcome)
    recorded = outcomes_record(ctx.flow, ctx.run, [(row, o, p.link) for p, row, o in written])
    for (item, _, _), result in zip(written, recorded, strict=True):
        if result.target_id:
            ctx.matcher.remember(item.record.id, item.payload, result.target_id)
        ctx.counts += result.counts
