"""Runs that are not driven by the inbox: scheduled reconciliation, historical syncs, and the
admin's force-sync and retry (which go through the inbox)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import Any

from connectors.adapter import Record
from connectors.exceptions import ConnectorError
from connectors.http import count_calls
from syncs.engine import POLL_OVERLAP, flow_blocked, flow_context, records_sync, run_close
from syncs.inbox import NewEvent, events_record
from syncs.models import ChangeEvent, ErrorCategory, SyncError, SyncFlow, SyncRun
from syncs.records import RunCounts, run_finish, run_start
from syncs.services import flow_cursor_advance


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
            run_close(ctx, calls, fatal=str(exc))
            raise
    return run_close(ctx, calls)


def flow_poll(flow: SyncFlow, *, triggered_by: str = "schedule") -> SyncRun | None:
    """Reconcile: everything changed at the source since the cursor (less an overlap, since
    clocks and commit order differ), recorded page by page with the cursor moved after each."""
    if flow_blocked(flow) is not None:
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
