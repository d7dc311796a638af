"""Runs that are not driven by the inbox: scheduled reconciliation (of the source, and of the
target of two-way flows), historical syncs, and the admin's force-sync and retry (which go
through the inbox)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from django.utils import timezone

from connectors.base.adapter import Adapter
from connectors.base.exceptions import ConnectorError, RateLimited
from connectors.base.http import count_calls
from connectors.base.records import Record
from connectors.registry import adapter_for
from syncs import heartbeat
from syncs.engine import (
    POLL_OVERLAP,
    FlowContext,
    HistoryWaiting,
    flow_blocked,
    flow_context,
    flow_dependencies,
    records_sync,
    run_close,
)
from syncs.inbox import NewEvent, events_record
from syncs.models import ChangeEvent, ErrorCategory, RecordLink, SyncError, SyncFlow, SyncRun
from syncs.records import RunCounts, run_finish, run_start
from syncs.services import (
    flow_cursor_advance,
    flow_history_advance,
    flow_history_finish,
    flow_history_interrupt,
    flow_history_wait,
)

# Records a resumed historical sync reads again before where it stopped: deletions meanwhile
# shift the positions of the records after them back.
HISTORY_OVERLAP = 100


def _run_pages(
    flow: SyncFlow,
    run: SyncRun,
    *,
    pages: Callable[[Adapter], Iterator[list[Record]]],
    after_page: Callable[[list[Record]], None] = lambda page: None,
    after_all: Callable[[FlowContext], None] | None = None,
) -> SyncRun:
    """Sync every page `pages(source)` lists; `after_page(page)` runs once each page is
    recorded (to move a cursor), `after_all(ctx)` once every page is. Any failure ends the run
    with its reason and is raised on; a historical sync that must wait for another ends its
    run with the reason too."""
    with count_calls() as calls:
        try:
            ctx = flow_context(flow, run)
        except Exception as exc:
            run_finish(run, counts=RunCounts(), fatal=_reason(exc))
            raise
        try:
            for page in pages(ctx.source):
                records_sync(ctx, page)
                after_page(page)
                heartbeat.beat()
            if after_all is not None:
                after_all(ctx)
        except HistoryWaiting as exc:
            run_finish(
                ctx.run,
                counts=ctx.counts,
                source_api_calls=calls[flow.source.system],
                target_api_calls=calls[flow.target.system],
                error_summary=str(exc),
            )
            raise
        except Exception as exc:
            run_close(ctx, calls, fatal=_reason(exc))
            raise
    return run_close(ctx, calls)


def _reason(exc: BaseException) -> str:
    """Why a run stopped, for the admin: a vendor's own words, or what broke in ours."""
    return str(exc) if isinstance(exc, ConnectorError) else f"{type(exc).__name__}: {exc}"


def _cursor_since(flow: SyncFlow, side: str) -> datetime | None:
    """Where a poll of `side` starts: the cursor less an overlap, since clocks and commit
    order differ (what the overlap lists again, the inbox drops as already recorded)."""
    stamp = (flow.cursor.get(side) or {}).get("modified_since")
    return datetime.fromisoformat(stamp) - POLL_OVERLAP if stamp else None


def flow_poll(flow: SyncFlow, *, triggered_by: str = "schedule") -> SyncRun | None:
    """Reconcile: everything changed at the source since the cursor, recorded page by page with
    the cursor moved after each; then, on a two-way flow, what changed at the target
    (`flow_poll_target`), in the same run (its calls count as the run's target calls)."""
    if flow_blocked(flow) is not None:
        return None
    run = run_start(flow=flow, kind=SyncRun.Kind.SCHEDULED, triggered_by=triggered_by)
    since = _cursor_since(flow, "source")

    def finish(ctx: FlowContext) -> None:
        # Everything changed before the poll began is now recorded; the next poll starts there
        # (less the overlap), so a quiet source never drifts out of CDC's 30-day window. The
        # cursor does not move page by page: the pages are in Id order, not in order of change,
        # so a poll that stops half-way lists the same changes again (writing none of them twice).
        flow_cursor_advance(
            flow, side="source", position={"modified_since": run.started_at.isoformat()}
        )
        if flow.is_two_way:
            flow_poll_target(flow, started_at=run.started_at, target=ctx.target)

    return _run_pages(
        flow,
        run,
        pages=lambda source: source.changed(flow.source_entity, since=since),
        after_all=finish,
    )


def flow_poll_target(
    flow: SyncFlow, *, started_at: datetime | None = None, target: Any = None
) -> int:
    """Reconcile the target side of a two-way flow (the CRM): every target record modified since
    the flow's target cursor becomes a `ChangeEvent` on the target (origin poll, version = its
    version, this flow), for the live worker to carry back to the source. Returns how
    many events are new; a second poll of unchanged records records none (same versions).

    `started_at` is when the poll began (now by default): the cursor moves there once every
    page is recorded. `target` is the target's adapter when the caller has one. A one-way or
    blocked flow is left alone. A vendor failure raises ConnectorError with the cursor unmoved,
    so the next poll lists the same changes again."""
    if not flow.is_two_way or flow_blocked(flow) is not None:
        return 0
    started_at = started_at or timezone.now()
    # The first poll (no target cursor: the flow was made two-way outside the admin, which
    # sets the cursor when it saves a flow two-way) starts now, not at the beginning: listing
    # the whole CRM would queue every record for writing back to QuickBooks at once, the ones
    # this flow has just written there and CRM-only ones nobody asked to sync. The past comes
    # in through a deliberate historical sync instead.
    since = _cursor_since(flow, "target") or started_at - POLL_OVERLAP
    target = target if target is not None else adapter_for(flow.target)
    recorded = 0
    for page in target.changed(flow.target_entity, since=since):
        recorded += events_record(_target_event(flow, record) for record in page)
        # The cursor does not move page by page: Zoho lists changed records by id, not by
        # modified time, so until the last page there is no moment before which everything
        # is known to be recorded. A crash lists the same changes again; the inbox drops the
        # repeats by version.
    flow_cursor_advance(flow, side="target", position={"modified_since": started_at.isoformat()})
    return recorded


def _target_event(flow: SyncFlow, record: Record) -> NewEvent:
    new = record.created_at is not None and record.created_at == record.modified_at
    operation = ChangeEvent.Operation.CREATE if new else ChangeEvent.Operation.UPDATE
    return NewEvent(
        connection=flow.target,
        entity=flow.target_entity,
        external_id=record.id,
        version=record.version,
        operation=operation,
        origin=ChangeEvent.Origin.POLL,
        flow=flow,
    )


def flow_target_cursor_start(flow: SyncFlow, *, at: datetime | None = None) -> None:
    """The flow has just become two-way (or now writes to another target): reconciliation of
    the target starts at this moment, not at the beginning of the target's history."""
    at = at or timezone.now()
    flow_cursor_advance(flow, side="target", position={"modified_since": at.isoformat()})


def flow_history_run(flow: SyncFlow, *, triggered_by: str = "admin") -> SyncRun | None:
    """The historical sync from `history_since` to now, counted first (where the source can
    say how many) so the admin shows a percentage, and recorded page by page.

    Resumable: run again after a crash, it lists from the position it had reached, less
    `HISTORY_OVERLAP` records in case some before that position were deleted meanwhile (a
    record read twice is not written twice). While a flow it depends on (the Accounts of
    these Contacts) has a historical sync of its own running, it waits for it: None, and the
    flow says so; it goes on when that one finishes. Every failure ends it with its reason:
    a passing one (an outage) resumes by itself, a rate limit waits without counting against
    it, anything else fails it."""
    busy = [f for f in flow_dependencies(flow) if f.history_state == SyncFlow.HistoryState.RUNNING]
    if busy:
        flow_history_wait(flow, note=str(HistoryWaiting(busy[0])))
        return None
    since = datetime.combine(flow.history_since or date(2000, 1, 1), time.min, tzinfo=UTC)
    reached = int(flow.history_cursor.get("start_position") or 1)  # 1-based, as QBO counts
    position = max(1, reached - HISTORY_OVERLAP)
    run = run_start(flow=flow, kind=SyncRun.Kind.HISTORICAL, triggered_by=triggered_by)

    def pages(source: Adapter) -> Iterator[list[Record]]:
        if flow.history_total is None:
            total = source.count(flow.source_entity, since=since)
            if total is not None:
                flow_history_advance(flow, cursor=flow.history_cursor, done=0, total=total)
        return source.listing(flow.source_entity, since=since, skip=position - 1)

    def advance(page: list[Record]) -> None:
        nonlocal position
        end = position + len(page)
        flow_history_advance(
            flow, cursor={"start_position": end}, done=max(0, end - max(position, reached))
        )
        position = end

    try:
        run = _run_pages(flow, run, pages=pages, after_page=advance)
    except HistoryWaiting as waiting:
        flow_history_wait(flow, note=str(waiting))
        return run
    except RateLimited as exc:
        flow_history_interrupt(flow, error=str(exc), counted=False)
        raise
    except ConnectorError as exc:
        if exc.transient:
            flow_history_interrupt(flow, error=str(exc))
        else:
            flow_history_finish(flow, error=str(exc))
        raise
    except Exception as exc:
        flow_history_finish(flow, error=_reason(exc))
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


@dataclass(frozen=True)
class ForcedRecord:
    """What a force-sync queued: the side ("source" or "target") and the record's id there."""

    side: str
    record_id: str


def flow_force_sync(flow: SyncFlow, *, source_id: str = "", target_id: str = "") -> ForcedRecord:
    """Queue one record to be synced again even if nothing changed, named by its id on either
    side (exactly one). A target id on a two-way flow is synced from the target; on a one-way
    flow it is translated through the flow's links to its source record, which is queued.
    ValueError, with a message for the admin, when no record or no linked record is named."""
    source_id, target_id = source_id.strip(), target_id.strip()
    if bool(source_id) == bool(target_id):
        raise ValueError("Give one record id: the source's or the target's.")
    if target_id and flow.is_two_way:
        forced = ForcedRecord("target", target_id)
    elif target_id:
        linked = (
            RecordLink.objects.filter(flow=flow, target_id=target_id)
            .values_list("source_id", flat=True)
            .first()
        )
        if linked is None:
            raise ValueError(
                f"No {flow.source.get_system_display()} record is linked to "
                f"{flow.target.get_system_display()} record {target_id} in this flow."
            )
        forced = ForcedRecord("source", linked)
    else:
        forced = ForcedRecord("source", source_id)
    connection, entity = (
        (flow.source, flow.source_entity)
        if forced.side == "source"
        else (flow.target, flow.target_entity)
    )
    events_record(
        [
            NewEvent(
                connection=connection,
                entity=entity,
                external_id=forced.record_id,
                version=f"force-{uuid.uuid4().hex[:12]}",  # never a duplicate of anything
                operation=ChangeEvent.Operation.UPDATE,
                origin=ChangeEvent.Origin.ADMIN,
                flow=flow,
            )
        ]
    )
    return forced


def sync_errors_retry(errors: Iterable[SyncError]) -> int:
    """Queue the records behind these errors again; each error resolves when its record syncs.
    On a two-way flow the record is queued from the target side when the error names its
    target record: what failed may be the target's change on its way to the source, which the
    source side (unchanged) would not carry again."""
    errors = [e for e in errors if e.is_open and (e.source_id or e.target_id)]
    SyncError.objects.filter(pk__in=[e.pk for e in errors]).update(
        status=SyncError.Status.RETRYING, next_retry_at=None
    )
    events = []
    for error in errors:
        flow = error.flow
        target_side = not error.source_id or (flow.is_two_way and bool(error.target_id))
        if target_side and not flow.is_two_way:
            continue  # a target record alone cannot be synced by a one-way flow
        events.append(
            NewEvent(
                connection=flow.target if target_side else flow.source,
                entity=flow.target_entity if target_side else flow.source_entity,
                external_id=error.target_id if target_side else error.source_id,
                version=f"retry-{error.pk}-{error.attempts}",
                operation=ChangeEvent.Operation.UPDATE,
                origin=ChangeEvent.Origin.RETRY,
                flow=flow,
            )
        )
    return events_record(events)
