"""The sync pipeline: detect -> claim -> fetch -> map -> match -> write -> record.

Generic over adapters (`connectors.adapter.Adapter`): a flow names a source and a target
connection and entity; the engine reads changed records from one, maps them with the flow's
`FieldMapping` rows, finds or creates their counterparts on the other, and records the outcome
of every record in one transaction (link + audit entry, or a sync error). A crash anywhere
repeats work and never loses or duplicates it: events stay in the inbox until completed, the
cursor moves only after its batch is recorded, and creates are upserts keyed on the source id,
so a repeated write finds the record its first attempt made.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from connectors.adapter import Record, WriteItem, WriteOutcome
from connectors.exceptions import AuthError, ConnectorError
from connectors.http import count_calls
from connectors.models import Connection
from connectors.registry import adapter_for
from syncs.errors import Classification, error_classify
from syncs.inbox import (
    NewEvent,
    event_complete,
    event_fail,
    events_claim,
    events_record,
    lease_owner_new,
)
from syncs.mapping import TargetSchema, mapping_apply, payload_hash
from syncs.matching import MatchFields, TargetMatcher
from syncs.models import (
    AuditEntry,
    ChangeEvent,
    ErrorCategory,
    FieldMapping,
    RecordLink,
    SyncError,
    SyncFlow,
    SyncRun,
)
from syncs.records import LinkConflict, RunCounts, audit_record, link_save, run_finish, run_start
from syncs.services import flow_cursor_advance, sync_error_record, sync_error_resolve

logger = logging.getLogger(__name__)

POLL_OVERLAP = timedelta(minutes=5)
USABLE = (Connection.Status.CONNECTED,)


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

    @property
    def parent(self) -> dict[str, str] | None:
        return self.flow.options.get("parent")


@dataclass
class Planned:
    record: Record
    payload: dict[str, Any]
    digest: str
    link: RecordLink | None
    target_id: str


def flow_context(flow: SyncFlow, run: SyncRun, *, force: bool = False) -> FlowContext:
    source, target = adapter_for(flow.source), adapter_for(flow.target)
    schema = target.schema(flow.target_entity)
    mappings = list(flow.mappings.exclude(direction=FieldMapping.Direction.TO_SOURCE))
    matcher = TargetMatcher(flow, target, MatchFields.for_flow(flow, mappings, schema))
    return FlowContext(flow, run, source, target, schema, mappings, matcher, force=force)


def _problem_classification(problems: list) -> Classification:
    first = problems[0]
    message = "; ".join(p.message for p in problems)
    return Classification(category=first.category, transient=False, message=message)


def _error(
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


def _parent_lookup(ctx: FlowContext, record: Record, payload: dict[str, Any]) -> bool:
    """Point a child record (a Contact) at its parent's target record (the Account)."""
    parent = ctx.parent
    if not parent:
        return True
    link = RecordLink.objects.filter(
        flow__source=ctx.flow.source,
        flow__target=ctx.flow.target,
        flow__source_entity=ctx.flow.source_entity,
        flow__target_entity=parent["target_entity"],
        source_id=record.id,
    ).first()
    if link is None:
        message = (
            f"The {parent['target_entity']} record for {ctx.flow.source_entity} "
            f"'{record.name}' is not in {ctx.flow.target.get_system_display()} yet."
        )
        _error(
            ctx, record, Classification(ErrorCategory.MISSING_DEPENDENCY, False, message), payload
        )
        return False
    payload[parent["lookup_field"]] = {"id": link.target_id}
    return True


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
        mapped = mapping_apply(ctx.mappings, record.data, target_schema=ctx.schema)
        payload = dict(mapped.payload)
        if mapped.problems:
            _error(ctx, record, _problem_classification(mapped.problems), payload)
            continue
        if not _parent_lookup(ctx, record, payload):
            continue
        digest = payload_hash(payload, exclude=mapped.volatile)  # a sync time is no change
        link = links.get(record.id)
        if link is not None and link.target_hash == digest and not ctx.force:
            # What we would write is what we last wrote: a no-op, or our own echo.
            sync_error_resolve(ctx.flow, record.id)
            ctx.counts += RunCounts(skipped=1)
            continue
        target_id = link.target_id if link else ctx.matcher.match(record.id, payload)
        planned.append(Planned(record, payload, digest, link, target_id))
    return planned


def _write(ctx: FlowContext, planned: list[Planned]) -> list[WriteOutcome]:
    external = ctx.matcher.fields.external_field
    items = [
        WriteItem(
            key=p.record.id,
            payload=p.payload,
            target_id=p.target_id,
            target_version=p.link.target_version if p.link else "",
            match={external: p.record.id} if external and not p.target_id else {},
        )
        for p in planned
    ]
    return ctx.target.write(ctx.flow.target_entity, items)


def _record_outcome(ctx: FlowContext, item: Planned, outcome: WriteOutcome) -> None:
    """One record's outcome, in one transaction: the link and its audit entry, or an error."""
    flow, record = ctx.flow, item.record
    if not outcome.ok:
        classification = error_classify(outcome.error, system=flow.target.system)
        with transaction.atomic():
            _error(ctx, record, classification, item.payload, item.target_id)
        return
    created = outcome.action in ("create", "insert") or not item.target_id
    try:
        with transaction.atomic():
            link = link_save(
                flow=flow,
                source_id=record.id,
                target_id=outcome.target_id,
                source_version=record.version,
                target_version=outcome.version,
                target_hash=item.digest,
                target_payload=item.payload,
            )
            audit_record(
                flow=flow,
                run=ctx.run,
                action=AuditEntry.Action.CREATE if created else AuditEntry.Action.UPDATE,
                source_id=record.id,
                target_id=outcome.target_id,
                before=item.link.target_payload if item.link else None,
                after=item.payload,
                link=link,
            )
            sync_error_resolve(flow, record.id)
    except LinkConflict as exc:
        _error(
            ctx,
            record,
            Classification(ErrorCategory.DUPLICATE, False, str(exc)),
            item.payload,
            outcome.target_id,
        )
        return
    ctx.matcher.remember(item.payload, outcome.target_id)
    ctx.counts += RunCounts(created=1) if created else RunCounts(updated=1)


def _parent_flow(flow: SyncFlow) -> SyncFlow | None:
    parent = flow.options.get("parent")
    if not parent:
        return None
    return (
        SyncFlow.objects.filter(
            source=flow.source,
            target=flow.target,
            source_entity=flow.source_entity,
            target_entity=parent["target_entity"],
        )
        .exclude(state=SyncFlow.State.DISABLED)
        .select_related("source", "target")
        .first()
    )


def _dependencies_first(ctx: FlowContext, records: Sequence[Record]) -> None:
    """A child record (a Contact) needs its parent (the Account) on the target: records whose
    parent is not linked yet go through the parent flow first, in the same run."""
    parent = _parent_flow(ctx.flow)
    if parent is None or _blocked(parent) is not None:
        return
    linked = set(
        RecordLink.objects.filter(flow=parent, source_id__in=[r.id for r in records]).values_list(
            "source_id", flat=True
        )
    )
    missing = [r for r in records if r.id not in linked and not r.deleted]
    if not missing:
        return
    run = run_start(flow=parent, kind=ctx.run.kind, triggered_by=f"dependency of {ctx.flow}")
    with count_calls() as calls:
        parent_ctx = flow_context(parent, run, force=False)
        try:
            records_sync(parent_ctx, missing)
        except ConnectorError as exc:
            _finish(parent_ctx, calls, fatal=str(exc))
            return  # the children get missing_dependency errors naming what is missing
    _finish(parent_ctx, calls)


def records_sync(ctx: FlowContext, records: Sequence[Record]) -> RunCounts:
    """Map, match, write and record one batch of source records for one flow."""
    _dependencies_first(ctx, records)
    before = ctx.counts
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
        outcomes = _write(ctx, planned)
        # Each record is its own atomic unit (a savepoint: link and audit, or an error); the
        # batch commits once. A crash before the commit repeats the batch, which is idempotent.
        with transaction.atomic():
            for item, outcome in zip(planned, outcomes, strict=True):
                _record_outcome(ctx, item, outcome)
    added = ctx.counts
    return RunCounts(
        added.read - before.read,
        added.created - before.created,
        added.updated - before.updated,
        added.skipped - before.skipped,
        added.failed - before.failed,
    )


def _finish(ctx: FlowContext, calls: Any, fatal: str = "") -> SyncRun:
    run_finish(
        ctx.run,
        counts=ctx.counts,
        source_api_calls=calls[ctx.flow.source.system],
        target_api_calls=calls[ctx.flow.target.system],
        fatal=fatal,
    )
    return ctx.run


def _blocked(flow: SyncFlow) -> Classification | None:
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


# ---------------------------------------------------------------------------------------------
# Live: the inbox


def _run_kind(events: Iterable[ChangeEvent]) -> str:
    origins = {e.origin for e in events}
    if ChangeEvent.Origin.ADMIN in origins:
        return SyncRun.Kind.FORCE
    if origins == {ChangeEvent.Origin.RETRY}:
        return SyncRun.Kind.RETRY
    return SyncRun.Kind.LIVE


def _events_for_flow(flow: SyncFlow, events: list[ChangeEvent]) -> list[ChangeEvent]:
    return [e for e in events if e.flow_id in (None, flow.pk)]


def _events_errors(
    flow: SyncFlow,
    run: SyncRun,
    events: list[ChangeEvent],
    classification: Classification,
    records: dict[str, Record] | ConnectorError,
) -> None:
    """Every record behind `events` could not sync for one reason: an error row each, which
    retries by itself when the reason is transient and waits for a person otherwise."""
    names = {i: r.name for i, r in records.items()} if isinstance(records, dict) else {}
    for source_id in dict.fromkeys(e.external_id for e in events):
        sync_error_record(
            flow=flow,
            run=run,
            source_id=source_id,
            classification=classification,
            payload=None,
            source_name=names.get(source_id, ""),
        )


def _flow_failure(flow: SyncFlow, exc: ConnectorError) -> Classification:
    classification = error_classify(exc, system=exc.system or flow.target.system)
    if classification.category == ErrorCategory.MODULE_UNAVAILABLE:
        message = (
            f"{flow.target} has no {flow.target_entity} module (its edition may not include it), "
            f"so this flow cannot write there. {flow.target.get_system_display()} said: {exc.message}"
        )
        return replace(classification, message=message)
    return classification


def _sync_flow_events(
    flow: SyncFlow, events: list[ChangeEvent], records: dict[str, Record] | ConnectorError
) -> None:
    kind = _run_kind(events)
    run = run_start(
        flow=flow, kind=kind, triggered_by=", ".join(sorted({e.origin for e in events}))
    )
    ids = list(dict.fromkeys(e.external_id for e in events))
    failure = _blocked(flow)
    if failure is None and isinstance(records, ConnectorError):
        failure = error_classify(records, system=flow.source.system)
    if failure is not None:
        _events_errors(flow, run, events, failure, records)
        run_finish(run, counts=RunCounts(read=len(ids), failed=len(ids)), fatal=failure.message)
        return
    ctx: FlowContext | None = None
    with count_calls() as calls:
        try:
            ctx = flow_context(flow, run, force=kind == SyncRun.Kind.FORCE)
            records_sync(ctx, [records[i] for i in ids if i in records])
            _gone_at_source(ctx, [i for i in ids if i not in records])
        except ConnectorError as exc:
            _events_errors(flow, run, events, _flow_failure(flow, exc), records)
            if ctx is None:
                run_finish(run, counts=RunCounts(read=len(ids), failed=len(ids)), fatal=str(exc))
            else:
                _finish(ctx, calls, fatal=str(exc))
            return
    _finish(ctx, calls)


def _gone_at_source(ctx: FlowContext, ids: list[str]) -> None:
    """Records the source no longer returns (deleted transactions): the link says so, the audit
    trail too; the target record is kept."""
    now = timezone.now()
    for link in RecordLink.objects.filter(
        flow=ctx.flow, source_id__in=ids, source_deleted_at__isnull=True
    ):
        with transaction.atomic():
            RecordLink.objects.filter(pk=link.pk).update(source_deleted_at=now)
            audit_record(
                flow=ctx.flow,
                run=ctx.run,
                action=AuditEntry.Action.SKIP,
                source_id=link.source_id,
                target_id=link.target_id,
                link=link,
                note=f"Deleted in {ctx.flow.source.get_system_display()}; the linked record was kept.",
            )
    ctx.counts += RunCounts(read=len(ids), skipped=len(ids))


def _events_sync(connection: Connection, entity: str, events: list[ChangeEvent]) -> None:
    flows = flows_for(connection, entity)
    if not flows:
        return
    # Deletions are fetched too: QBO reports a deactivated customer as "Delete", and the record
    # (inactive) is still there to sync. Only what the source no longer returns is gone.
    ids = sorted({e.external_id for e in events})
    records: dict[str, Record] | ConnectorError = {}
    if ids and connection.status in USABLE and any(_blocked(f) is None for f in flows):
        try:
            records = {r.id: r for r in adapter_for(connection).fetch(entity, ids)}
        except ConnectorError as exc:
            records = exc  # each flow records why its records could not be read
    for flow in flows:
        mine = _events_for_flow(flow, events)
        if mine:
            _sync_flow_events(flow, mine, records)


def inbox_process(*, owner: str | None = None, limit: int = 200) -> int:
    """Claim a batch of pending changes and sync them; returns how many were claimed."""
    owner = owner or lease_owner_new()
    events = events_claim(owner=owner, limit=limit)
    groups: dict[tuple[int, str], list[ChangeEvent]] = defaultdict(list)
    for event in events:
        groups[(event.connection_id, event.entity)].append(event)
    connections = Connection.objects.in_bulk({key[0] for key in groups})
    for (connection_id, entity), group in groups.items():
        try:
            _events_sync(connections[connection_id], entity, group)
        except Exception as exc:  # a bug, not a vendor failure: back to the inbox, not lost
            logger.warning("Changes to %s on connection %s failed: %s", entity, connection_id, exc)
            for event in group:
                event_fail(event, owner=owner, error=exc, retry=not isinstance(exc, AuthError))
            continue
        for event in group:
            event_complete(event, owner=owner)
    return len(events)


def inbox_drain(*, budget: timedelta = timedelta(seconds=60), limit: int = 200) -> int:
    """Process the inbox until it is empty or the time budget is spent."""
    deadline = timezone.now() + budget
    total = 0
    while timezone.now() < deadline:
        claimed = inbox_process(limit=limit)
        total += claimed
        if not claimed:
            break
    return total


# ---------------------------------------------------------------------------------------------
# Scheduled, historical and one-record syncs


def _run_pages(flow: SyncFlow, run: SyncRun, *, since: datetime | None, after_page: Any) -> SyncRun:
    """Sync every page the source lists as changed since `since`; `after_page(page)` runs once
    each page is recorded (to move a cursor). A vendor failure ends the run, recorded."""
    with count_calls() as calls:
        try:
            ctx = flow_context(flow, run)
        except ConnectorError as exc:
            run_finish(run, counts=RunCounts(), fatal=str(exc))
            raise
        try:
            for page in ctx.source.changed(flow.source_entity, since=since):
                records_sync(ctx, page)
                after_page(page)
        except ConnectorError as exc:
            _finish(ctx, calls, fatal=str(exc))
            raise
    return _finish(ctx, calls)


def flow_poll(flow: SyncFlow, *, triggered_by: str = "schedule") -> SyncRun | None:
    """Reconcile: everything changed at the source since the cursor (less an overlap, since
    clocks and commit order differ), recorded page by page with the cursor moved after each."""
    if _blocked(flow) is not None:
        return None
    run = run_start(flow=flow, kind=SyncRun.Kind.SCHEDULED, triggered_by=triggered_by)
    stamp = (flow.cursor.get("source") or {}).get("modified_since")
    since = datetime.fromisoformat(stamp) - POLL_OVERLAP if stamp else None

    def advance(page: list[Record]) -> None:
        newest = max((r.modified_at for r in page if r.modified_at), default=None)
        if newest:
            flow_cursor_advance(
                flow, side="source", position={"modified_since": newest.isoformat()}
            )

    run = _run_pages(flow, run, since=since, after_page=advance)
    # Everything changed before the poll began is now recorded; the next poll starts there
    # (less the overlap), so a quiet source never drifts out of CDC's 30-day window.
    flow_cursor_advance(
        flow, side="source", position={"modified_since": run.started_at.isoformat()}
    )
    return run


def flow_history_run(flow: SyncFlow, *, triggered_by: str = "admin") -> SyncRun:
    """The historical sync from `history_since` to now. Resumable: run again after a crash,
    records already synced are skipped without a write; progress is counted page by page."""
    from syncs.services import flow_history_advance, flow_history_finish

    since = datetime.combine(flow.history_since or date(2000, 1, 1), time.min, tzinfo=UTC)
    run = run_start(flow=flow, kind=SyncRun.Kind.HISTORICAL, triggered_by=triggered_by)
    try:
        run = _run_pages(
            flow,
            run,
            since=since,
            after_page=lambda page: flow_history_advance(
                flow, cursor={"last_id": page[-1].id}, done=len(page)
            ),
        )
    except ConnectorError as exc:
        flow_history_finish(flow, error=str(exc))
        raise
    flow_history_finish(flow)
    if not (flow.cursor.get("source") or {}).get("modified_since"):
        # Everything changed before the backfill began is recorded: reconciliation starts there.
        flow_cursor_advance(
            flow, side="source", position={"modified_since": run.started_at.isoformat()}
        )
    return run


def flow_resume_catch_up(flow: SyncFlow) -> int:
    """Resume a paused flow and queue again every record that arrived while it was paused."""
    from syncs.services import flow_resume

    flow_resume(flow)
    flow.refresh_from_db()
    waiting = flow.errors.filter(category=ErrorCategory.PAUSED, status__in=("open", "retrying"))
    return sync_errors_retry(waiting.select_related("flow__source"))


def flow_force_sync(flow: SyncFlow, *, source_id: str) -> bool:
    """Queue one source record to be written again even if nothing changed."""
    return bool(
        events_record(
            [
                NewEvent(
                    connection=flow.source,
                    entity=flow.source_entity,
                    external_id=source_id.strip(),
                    version=f"force-{uuid.uuid4().hex[:12]}",
                    operation=ChangeEvent.Operation.UPDATE,
                    origin=ChangeEvent.Origin.ADMIN,
                    flow=flow,
                )
            ]
        )
    )


def sync_errors_retry(errors: Iterable[SyncError]) -> int:
    """Queue the records behind these errors again; each error resolves when its record syncs."""
    errors = [e for e in errors if e.is_open and e.source_id]
    SyncError.objects.filter(pk__in=[e.pk for e in errors]).update(
        status=SyncError.Status.RETRYING, next_retry_at=None
    )
    return events_record(
        NewEvent(
            connection=error.flow.source,
            entity=error.flow.source_entity,
            external_id=error.source_id,
            version=f"retry-{error.pk}-{error.attempts}",
            operation=ChangeEvent.Operation.UPDATE,
            origin=ChangeEvent.Origin.RETRY,
            flow=error.flow,
        )
        for error in errors
    )
