"""The sync pipeline: detect -> claim -> fetch -> map -> match -> write -> record.

Generic over adapters (`connectors.base.adapter.Adapter`): a flow names a source and a target
connection and entity; the engine reads changed records from one, maps them with the flow's
`FieldMapping` rows, finds or creates their counterparts on the other, and records the outcome
of every record in one transaction (link + audit entry, or a sync error). A crash anywhere
repeats work and never loses or duplicates it: events stay in the inbox until completed, the
cursor moves only after its batch is recorded, and creates are upserts keyed on the source id,
so a repeated write finds the record its first attempt made.

This module is the pipeline for a batch of records; `syncs.live` feeds it from the inbox and
`syncs.runs` from polls, backfills, force-syncs and retries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from connectors.base.exceptions import ConnectorError, RateLimited
from connectors.base.http import count_calls
from connectors.base.records import Record, WriteOutcome
from connectors.base.schema import TargetSchema
from connectors.models import Connection
from connectors.registry import adapter_for
from syncs import heartbeat
from syncs.errors import Classification, error_classify
from syncs.mapping import mapping_apply, payload_hash
from syncs.matching import MatchFields, TargetMatcher
from syncs.models import (
    AuditEntry,
    ErrorCategory,
    FieldMapping,
    OutboxWrite,
    RecordLink,
    SyncFlow,
    SyncRun,
)
from syncs.outbox import idempotency_key, outbox_done, outbox_queue, outcome_record, write_item
from syncs.records import RunCounts, audit_record, run_finish, run_start
from syncs.references import (
    Currency,
    LineItems,
    Reference,
    currency_as_home,
    currency_check,
    currency_convert,
    flow_line_items,
    flow_references,
    lines_map,
    missing_message,
    references_wanted,
)
from syncs.services import sync_error_record, sync_error_resolve

logger = logging.getLogger(__name__)

POLL_OVERLAP = timedelta(minutes=5)
USABLE = (Connection.Status.CONNECTED,)


class HistoryWaiting(Exception):
    """A historical sync needs records another flow keeps while that flow's own historical
    sync is running: it waits for it (and starts again when it is done) rather than write the
    same records from a second run at once."""

    def __init__(self, dependency: SyncFlow) -> None:
        super().__init__(
            f"Waiting for the historical sync of {dependency} (it keeps records this one "
            "refers to); this one goes on when that one is done."
        )
        self.dependency = dependency


@dataclass
class FlowContext:
    """Everything one run of one flow needs, built once per run."""

    flow: SyncFlow
    run: SyncRun
    source: Any
    target: Any
    schema: TargetSchema
    mappings: list[FieldMapping]
    matcher: TargetMatcher
    force: bool = False
    counts: RunCounts = field(default_factory=RunCounts)
    references: list[Reference] = field(default_factory=list)
    line_items: LineItems | None = None
    currency: Currency | None = None
    # (entity, target entity) -> {source id: target id}, for the references of this run.
    reference_targets: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)


@dataclass
class Planned:
    record: Record
    payload: dict[str, Any]
    digest: str
    link: RecordLink | None
    target_id: str
    # The linked target record found deleted: this one is written as new in its place.
    gone_id: str = ""

    def recreated(self) -> Planned:
        return replace(self, target_id="", gone_id=self.target_id)


def flow_context(flow: SyncFlow, run: SyncRun, *, force: bool = False) -> FlowContext:
    source, target = adapter_for(flow.source), adapter_for(flow.target)
    schema = target.schema(flow.target_entity)
    mappings = list(flow.mappings.exclude(direction=FieldMapping.Direction.TO_SOURCE))
    matcher = TargetMatcher(flow, target, MatchFields.for_flow(flow, mappings, schema))
    return FlowContext(
        flow,
        run,
        source,
        target,
        schema,
        mappings,
        matcher,
        force=force,
        references=flow_references(flow),
        line_items=flow_line_items(flow),
        currency=Currency.for_flow(flow, target),
    )


def _problem_classification(problems: list) -> Classification:
    first = problems[0]
    message = "; ".join(p.message for p in problems)
    return Classification(category=first.category, transient=False, message=message)


def record_error(
    ctx: FlowContext,
    record: Record,
    classification: Classification,
    payload: Any,
    target_id: str = "",
) -> None:
    sync_error_record(
        flow=ctx.flow,
        run=ctx.run,
        source_id=record.id,
        classification=classification,
        payload=payload,
        source_name=record.name,
        target_id=target_id,
    )
    ctx.counts += RunCounts(failed=1)


def _references_apply(ctx: FlowContext, record: Record, payload: dict[str, Any]) -> bool:
    """Point the record's lookups (an invoice's Account, a contact's Account) at the linked
    target records; a record whose required reference is not linked gets an error."""
    for reference in ctx.references:
        value = reference.value(record.data)
        if not value:
            continue
        target_id = ctx.reference_targets.get(reference.key, {}).get(value)
        if target_id:
            payload[reference.lookup_field] = ctx.schema.references.write(target_id)
        elif not reference.optional:
            _missing(ctx, record, payload, reference, [reference.name(record.data)])
            return False
    return True


def _lines_apply(ctx: FlowContext, record: Record, payload: dict[str, Any]) -> bool:
    """The record's lines, into the subform the target's metadata names."""
    spec = ctx.line_items
    if spec is None:
        return True
    if not ctx.schema.line_items:
        message = f"{ctx.schema.label} has no line-item subform to write the lines into."
        record_error(
            ctx, record, Classification(ErrorCategory.INVALID_VALUE, False, message), payload
        )
        return False
    mapped = lines_map(
        spec,
        record.data,
        schema=ctx.schema,
        targets=ctx.reference_targets.get(spec.reference.key, {}),
    )
    if mapped.missing:
        _missing(ctx, record, payload, spec.reference, mapped.missing)
        return False
    if mapped.problems:
        record_error(ctx, record, _problem_classification(mapped.problems), payload)
        return False
    payload[ctx.schema.line_items] = mapped.lines
    return True


def _missing(
    ctx: FlowContext, record: Record, payload: Any, reference: Reference, names: list[str]
) -> None:
    target = ctx.flow.target.get_system_display()
    message = " ".join(
        missing_message(
            reference, name, entity=ctx.flow.source_entity, record_name=record.name, target=target
        )
        for name in dict.fromkeys(names)
    )
    if _reference_flow(ctx.flow, reference) is None:
        message += (
            f" No flow keeps {ctx.flow.source.get_system_display()} {reference.entity} -> "
            f"{target} {reference.target_entity} for these connections: add one."
        )
    record_error(
        ctx, record, Classification(ErrorCategory.MISSING_DEPENDENCY, False, message), payload
    )


def _currency_check(ctx: FlowContext, record: Record) -> tuple[bool, dict[str, Any], Any]:
    """(whether the record can be written in its currency, the data to map, the rate to
    convert its amounts with or None)."""
    if ctx.currency is None:
        return True, record.data, None
    problem, rate = currency_check(
        ctx.currency,
        record.data,
        convert=bool(ctx.flow.options.get("convert_currency")),
        system=ctx.flow.target.get_system_display(),
    )
    if problem is not None:
        record_error(ctx, record, _problem_classification([problem]), None)
        return False, record.data, None
    data = currency_as_home(ctx.currency, record.data) if rate is not None else record.data
    return True, data, rate


def payload_for(ctx: FlowContext, record: Record) -> tuple[dict[str, Any], str] | None:
    """The payload a source record maps to, with its lookups and lines, and its hash (the sync
    time left out); None when it cannot be written, its error recorded."""
    writable, data, rate = _currency_check(ctx, record)
    if not writable:
        return None
    mapped = mapping_apply(ctx.mappings, data, target_schema=ctx.schema)
    payload = dict(mapped.payload)
    if mapped.problems:
        record_error(ctx, record, _problem_classification(mapped.problems), payload)
        return None
    if not (_references_apply(ctx, record, payload) and _lines_apply(ctx, record, payload)):
        return None
    if rate is not None:
        currency_convert(payload, ctx.schema, rate)
    return payload, payload_hash(payload, exclude=mapped.volatile)


def _plan(ctx: FlowContext, records: Sequence[Record]) -> list[Planned]:
    links = {
        link.source_id: link
        for link in RecordLink.objects.filter(flow=ctx.flow, source_id__in=[r.id for r in records])
    }
    ctx.matcher.prepare(sum(1 for r in records if r.id not in links))
    planned: list[Planned] = []
    for record in records:
        if record.deleted:
            ctx.counts += RunCounts(skipped=1)
            continue
        mapped = payload_for(ctx, record)
        if mapped is None:
            continue
        payload, digest = mapped
        link = links.get(record.id)
        if link is not None and link.target_hash == digest and not ctx.force:
            # What we would write is what we last wrote: a no-op, or our own echo.
            sync_error_resolve(ctx.flow, record.id)
            ctx.counts += RunCounts(skipped=1)
            continue
        target_id = link.target_id if link else ctx.matcher.match(record.id, payload)
        planned.append(Planned(record, payload, digest, link, target_id))
    return planned


def _queue(ctx: FlowContext, planned: list[Planned]) -> list[OutboxWrite]:
    """The planned writes as outbox rows, kept before anything is sent."""
    flow, external = ctx.flow, ctx.matcher.fields.external_field
    return outbox_queue(
        [
            OutboxWrite(
                flow=flow,
                connection=flow.target,
                entity=flow.target_entity,
                idempotency_key=idempotency_key(
                    flow, p.record.id, p.record.version, p.digest, anew=bool(p.gone_id)
                ),
                source_id=p.record.id,
                source_version=p.record.version,
                source_name=p.record.name[:255],
                payload=p.payload,
                digest=p.digest,
                before=p.link.target_payload if p.link else None,
                target_id=p.target_id,
                target_version=p.link.target_version if p.link else "",
                match={external: p.record.id} if external and not p.target_id else {},
                replaces_id=p.gone_id,
            )
            for p in planned
        ]
    )


def _write(
    ctx: FlowContext, planned: list[Planned]
) -> tuple[list[OutboxWrite], list[WriteOutcome]]:
    """Queue the writes in the outbox and hand them to the target: a pulled one answers now,
    a pushed one answers "pending" and takes them when it next calls."""
    rows = _queue(ctx, planned)
    items = [write_item(row, keyed=False) for row in rows]
    return rows, ctx.target.write(ctx.flow.target_entity, items)


def _recreate_gone(
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
        and error_classify(outcome.error, system=system).category == ErrorCategory.NOT_FOUND
    ]
    if not gone:
        return rows, outcomes, []
    replaced = [(rows[n], outcomes[n]) for n in gone]
    again = [planned[n].recreated() for n in gone]
    rows, outcomes = list(rows), list(outcomes)
    new_rows, new_outcomes = _write(ctx, again)
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
        dependency = _reference_flow(ctx.flow, reference)
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
        return Classification(ErrorCategory.MISSING_DEPENDENCY, True, message, error.code)
    return None


def _record_outcome(
    ctx: FlowContext, item: Planned, row: OutboxWrite, outcome: WriteOutcome
) -> None:
    """One record's outcome, by the outbox's one recording path (link and audit entry, or an
    error); a lookup refused for a record deleted at the target says so."""
    gone = None if outcome.ok else _reference_gone(ctx, outcome.error)
    recorded = outcome_record(ctx.flow, ctx.run, row, outcome, classification=gone)
    if recorded.target_id:
        ctx.matcher.remember(item.record.id, item.payload, recorded.target_id)
    ctx.counts += recorded.counts


def _reference_flow(flow: SyncFlow, reference: Reference) -> SyncFlow | None:
    """The flow that keeps the referenced records, between the same two connections."""
    return (
        SyncFlow.objects.filter(
            source=flow.source,
            target=flow.target,
            source_entity=reference.entity,
            target_entity=reference.target_entity,
        )
        .exclude(state=SyncFlow.State.DISABLED)
        .select_related("source", "target")
        .first()
    )


def _linked(flow: SyncFlow, ids: Iterable[str]) -> dict[str, str]:
    return dict(
        RecordLink.objects.filter(flow=flow, source_id__in=list(ids)).values_list(
            "source_id", "target_id"
        )
    )


def references_prepare(ctx: FlowContext, records: Sequence[Record]) -> None:
    """Records a batch refers to (an invoice's customer and products, a contact's account) must
    be on the target first: those not linked yet go through their own flow now, in the same
    run, and the links found are kept on the context for the lookups. A historical sync whose
    dependency is in a historical sync of its own waits for it (`HistoryWaiting`)."""
    wanted: dict[Reference, dict[str, None]] = {}
    for reference, value in references_wanted(ctx.references, ctx.line_items, records):
        wanted.setdefault(reference, {})[value] = None
    for reference, ids in wanted.items():
        flow = _reference_flow(ctx.flow, reference)
        if flow is None:
            continue
        linked = _linked(flow, ids)
        missing = [i for i in ids if i not in linked]
        if missing and flow_blocked(flow) is None:
            if ctx.run.kind == SyncRun.Kind.HISTORICAL and flow.pk != ctx.flow.pk:
                flow.refresh_from_db(fields=["history_state"])
                if flow.history_state == SyncFlow.HistoryState.RUNNING:
                    raise HistoryWaiting(flow)
            _dependency_sync(ctx, flow, missing, records)
            linked = _linked(flow, ids)
        ctx.reference_targets.setdefault(reference.key, {}).update(linked)


def flow_dependencies(flow: SyncFlow) -> list[SyncFlow]:
    """The flows that keep the records `flow`'s records refer to (its lookups and line
    items' products), between the same connections; the flow itself left out."""
    line_items = flow_line_items(flow)
    references = [*flow_references(flow), *([line_items.reference] if line_items else [])]
    found = {}
    for reference in references:
        dependency = _reference_flow(flow, reference)
        if dependency is not None and dependency.pk != flow.pk:
            found[dependency.pk] = dependency
    return list(found.values())


def _dependency_sync(
    ctx: FlowContext, flow: SyncFlow, ids: list[str], records: Sequence[Record]
) -> None:
    """Sync `ids` through `flow` in a run of its own. A failure is that run's; the records that
    needed them then get missing_dependency errors naming what is missing. A rate limit is no
    one's failure: it goes up to the caller, whose work waits as a whole."""
    run = run_start(
        flow=flow, kind=SyncRun.Kind.DEPENDENCY, triggered_by=f"dependency of {ctx.flow}"
    )
    with count_calls() as calls:
        dependency_ctx = None
        try:
            dependency_ctx = flow_context(flow, run)
            if flow.source_entity == ctx.flow.source_entity:
                found = [r for r in records if r.id in set(ids)]
            else:
                found = ctx.source.fetch(flow.source_entity, ids)
            records_sync(dependency_ctx, found)
        except ConnectorError as exc:
            if dependency_ctx is None:
                run_finish(run, counts=RunCounts(), fatal=str(exc))
            else:
                run_close(dependency_ctx, calls, fatal=str(exc))
            if isinstance(exc, RateLimited):
                raise
            return
        except Exception as exc:
            run_finish(run, counts=RunCounts(), fatal=f"{type(exc).__name__}: {exc}")
            raise
    run_close(dependency_ctx, calls)


def records_sync(ctx: FlowContext, records: Sequence[Record]) -> None:
    """Map, match, write and record one batch of source records for one flow; the outcome is
    counted on `ctx.counts`."""
    heartbeat.beat()
    references_prepare(ctx, records)
    ctx.counts += RunCounts(read=len(records))
    planned = _plan(ctx, records)
    if planned and ctx.flow.dry_run:
        for item in planned:
            audit_record(
                flow=ctx.flow,
                run=ctx.run,
                action=AuditEntry.Action.SKIP,
                source_id=item.record.id,
                target_id=item.target_id,
                before=item.link.target_payload if item.link else None,
                after=item.payload,
                note="Dry run: this is what would be written.",
            )
        ctx.counts += RunCounts(skipped=len(planned))
    elif planned:
        if ctx.flow.is_two_way:
            # A linked record may have changed on the target too: merged field by field.
            from syncs.twoway import pairs_sync

            gone = pairs_sync(ctx, [p for p in planned if p.link is not None])
            planned = [p for p in planned if p.link is None] + [p.recreated() for p in gone]
            if not planned:
                return
        rows, outcomes = _write(ctx, planned)
        rows, outcomes, replaced = _recreate_gone(ctx, planned, rows, outcomes)
        # Each record is its own atomic unit (a savepoint: link and audit, or an error); the
        # batch commits once, with its outbox rows marked answered. A crash before the commit
        # repeats the batch under the same idempotency keys. A pushed target's writes wait in
        # the outbox for its answer (`syncs.outbox.outbox_answer`).
        answered = [(row, o) for row, o in zip(rows, outcomes, strict=True) if not o.pending]
        with transaction.atomic():
            for item, row, outcome in zip(planned, rows, outcomes, strict=True):
                if not outcome.pending:
                    _record_outcome(ctx, item, row, outcome)
            done = [*answered, *replaced]
            outbox_done([row for row, _ in done], [outcome for _, outcome in done])


def run_close(ctx: FlowContext, calls: Any, fatal: str = "") -> SyncRun:
    """Close a run with the counts and the API calls it made on each side."""
    run_finish(
        ctx.run,
        counts=ctx.counts,
        source_api_calls=calls[ctx.flow.source.system],
        target_api_calls=calls[ctx.flow.target.system],
        fatal=fatal,
    )
    return ctx.run


def flow_blocked(flow: SyncFlow) -> Classification | None:
    """Why a flow cannot make calls now: paused, or a connection needs reconnecting."""
    if flow.state == SyncFlow.State.PAUSED:
        when = (
            timezone.localtime(flow.paused_at).strftime("%Y-%m-%d %H:%M %Z")
            if flow.paused_at
            else "now"
        )
        return Classification(
            ErrorCategory.PAUSED, False, f"Sync is paused for this module as of {when}"
        )
    for connection in (flow.source, flow.target):
        if connection.status not in USABLE:
            message = f"{connection.name} is {connection.get_status_display().lower()}: reconnect it to resume."
            return Classification(ErrorCategory.AUTH, False, message)
    return None


def flows_for(connection: Connection, entity: str) -> list[SyncFlow]:
    """The flows fed by changes to `entity` on `connection`, parents before children."""
    flows = SyncFlow.objects.filter(source=connection, source_entity=entity).exclude(
        state=SyncFlow.State.DISABLED
    )
    return sorted(
        flows.select_related("source", "target"),
        key=lambda f: (bool(f.options.get("parent")), f.pk),
    )
