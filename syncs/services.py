"""Services on flows and sync errors: what admin actions and the engine call.

State that workers race on changes through conditional updates (`filter(state=...).update()`)
or row locks, and each function says what it returns when the race was lost.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from connectors.models import Connection
from syncs import heartbeat
from syncs.defaults import DEFAULT_FLOWS, default_flow_for
from syncs.errors import Classification, backoff_for
from syncs.models import OPEN_STATUSES, ErrorCategory, FieldMapping, SyncError, SyncFlow, SyncRun
from syncs.records import runs_alive

SYNC_ERROR_MAX_AUTO_RETRIES = 8
SIDES = ("source", "target")

HISTORY_INTERRUPTIONS = 10  # passing failures in a row after which a historical sync has failed


def flow_create_with_defaults(
    *,
    name: str,
    source: Connection,
    target: Connection,
    source_entity: str,
    target_entity: str,
    direction: str = "",
    system_of_truth: str = SyncFlow.SystemOfTruth.SOURCE,
    options: dict[str, Any] | None = None,
) -> SyncFlow:
    """Create a flow with the default mappings, match keys, options and direction (unless
    `direction` says otherwise) for its pair of entities (`syncs.defaults`). LookupError names
    the pairs that have defaults."""
    defaults = default_flow_for(source.system, source_entity, target.system, target_entity)
    if defaults is None:
        known = ", ".join(f"{s} {se} -> {t} {te}" for s, se, t, te in DEFAULT_FLOWS)
        raise LookupError(
            f"No default mappings for {source.system} {source_entity} -> {target.system} "
            f"{target_entity}. Defaults exist for: {known}."
        )
    with transaction.atomic():
        flow = SyncFlow.objects.create(
            name=name,
            source=source,
            target=target,
            source_entity=source_entity,
            target_entity=target_entity,
            direction=direction or defaults.direction,
            system_of_truth=system_of_truth,
            match_keys=list(defaults.match_keys),
            options={**defaults.options, **(options or {})},
        )
        FieldMapping.objects.bulk_create(
            FieldMapping(
                flow=flow,
                source_path=rule.source_path,
                target_field=rule.target_field,
                transform=rule.transform,
                transform_options=dict(rule.transform_options),
                required=rule.required,
                direction=rule.direction,
                position=position,
            )
            for position, rule in enumerate(defaults.mappings, start=1)
        )
    return flow


def flow_pause(flow: SyncFlow, *, at: datetime | None = None) -> bool:
    """Pause an active flow (its events wait in the inbox). False if it was not active."""
    at = at or timezone.now()
    updated = SyncFlow.objects.filter(pk=flow.pk, state=SyncFlow.State.ACTIVE).update(
        state=SyncFlow.State.PAUSED, paused_at=at, updated_at=timezone.now()
    )
    if updated:
        flow.state, flow.paused_at = SyncFlow.State.PAUSED, at
    return bool(updated)


def flow_resume(flow: SyncFlow) -> bool:
    """Resume a paused flow; the records that failed as `paused` are due for retry at once.
    False if it was not paused."""
    now = timezone.now()
    with transaction.atomic():
        updated = SyncFlow.objects.filter(pk=flow.pk, state=SyncFlow.State.PAUSED).update(
            state=SyncFlow.State.ACTIVE, paused_at=None, updated_at=now
        )
        if updated:
            SyncError.objects.filter(
                flow=flow, category=ErrorCategory.PAUSED, status__in=OPEN_STATUSES
            ).update(status=SyncError.Status.RETRYING, next_retry_at=now)
    if updated:
        flow.state, flow.paused_at = SyncFlow.State.ACTIVE, None
    return bool(updated)


def flow_cursor_advance(flow: SyncFlow, *, side: str, position: dict[str, Any]) -> dict[str, Any]:
    """Merge `position` into the flow's cursor for `side` ("source" or "target"). Call it
    after the batch the position covers is recorded, never before. Returns the new cursor."""
    if side not in SIDES:
        raise ValueError(f"side is one of {SIDES}, not {side!r}.")
    with transaction.atomic():
        # The row lock keeps a concurrent advance of the other side from being overwritten.
        locked = SyncFlow.objects.select_for_update().only("cursor").get(pk=flow.pk)
        cursor = dict(locked.cursor or {})
        cursor[side] = {**cursor.get(side, {}), **position}
        SyncFlow.objects.filter(pk=flow.pk).update(cursor=cursor, updated_at=timezone.now())
    flow.cursor = cursor
    return cursor


def flow_history_start(flow: SyncFlow, *, since: date, total: int | None = None) -> bool:
    """Start a historical sync from `since`. A failed one asked for again from the same date
    resumes from the position it reached. False if one is already running (it resumes from
    its own cursor instead)."""
    now = timezone.now()
    idle = SyncFlow.objects.filter(pk=flow.pk).exclude(history_state=SyncFlow.HistoryState.RUNNING)
    values: dict[str, Any] = {
        "history_state": SyncFlow.HistoryState.RUNNING,
        "history_finished_at": None,
        "history_error": "",
        "updated_at": now,
    }
    resumed = idle.filter(history_state=SyncFlow.HistoryState.FAILED, history_since=since).update(
        **values
    )
    if not resumed:
        values |= {
            "history_since": since,
            "history_cursor": {},
            "history_done": 0,
            "history_total": total,
            "history_started_at": now,
        }
        resumed = idle.update(**values)
    flow.refresh_from_db()
    return bool(resumed)


def flow_history_advance(
    flow: SyncFlow, *, cursor: dict[str, Any], done: int, total: int | None = None
) -> bool:
    """Record a recorded page of the backfill: where to resume and how many more are done.
    Progress clears the note of an interruption."""
    values: dict[str, Any] = {
        "history_cursor": cursor,
        "history_done": F("history_done") + done,
        "history_error": "",
    }
    if total is not None:
        values["history_total"] = total
    updated = SyncFlow.objects.filter(
        pk=flow.pk, history_state=SyncFlow.HistoryState.RUNNING
    ).update(**values, updated_at=timezone.now())
    flow.refresh_from_db()
    return bool(updated)


def flow_history_interrupt(flow: SyncFlow, *, error: str, counted: bool = True) -> bool:
    """A passing failure (an outage, throttling) stopped the running historical sync: it stays
    running, says why, and the sweep starts it again from where it stopped, up to
    `HISTORY_INTERRUPTIONS` times in a row without progress; after that it has failed. A
    rate limit is not `counted`: the vendor's quota, not the sync, decides when it goes on."""
    interruptions = int(flow.history_cursor.get("interruptions", 0)) + int(counted)
    if interruptions >= HISTORY_INTERRUPTIONS:
        return flow_history_finish(
            flow, error=f"{error} (stopped {interruptions} times in a row without progress)"
        )
    updated = SyncFlow.objects.filter(
        pk=flow.pk, history_state=SyncFlow.HistoryState.RUNNING
    ).update(
        history_cursor={**flow.history_cursor, "interruptions": interruptions},
        history_error=f"{error} (resumes by itself)",
        updated_at=timezone.now(),
    )
    flow.refresh_from_db()
    return bool(updated)


def flow_history_wait(flow: SyncFlow, *, note: str) -> bool:
    """The running historical sync waits for another one (a flow it depends on): it stays
    running and says so; it goes on when that one is done, or at the sweep after."""
    updated = SyncFlow.objects.filter(
        pk=flow.pk, history_state=SyncFlow.HistoryState.RUNNING
    ).update(history_error=note, updated_at=timezone.now())
    flow.refresh_from_db()
    return bool(updated)


def flow_history_finish(flow: SyncFlow, *, error: str = "") -> bool:
    """End the running historical sync: done, or failed with `error`."""
    state = SyncFlow.HistoryState.FAILED if error else SyncFlow.HistoryState.DONE
    now = timezone.now()
    updated = SyncFlow.objects.filter(
        pk=flow.pk, history_state=SyncFlow.HistoryState.RUNNING
    ).update(history_state=state, history_finished_at=now, history_error=error, updated_at=now)
    flow.refresh_from_db()
    return bool(updated)


def flows_history_stalled(*, quiet_for: timedelta | None = None) -> QuerySet[SyncFlow]:
    """Running historical syncs nobody is working on: interrupted, waiting, or their worker
    died or lost the task. Quiet for `quiet_for` (as long as a run may go without a
    heartbeat: a task queued but not yet started is not stalled), with no live run (one whose
    worker still beats) in progress."""
    quiet_for = heartbeat.dead_after() if quiet_for is None else quiet_for
    working = runs_alive().filter(kind=SyncRun.Kind.HISTORICAL).values("flow_id")
    return SyncFlow.objects.filter(
        history_state=SyncFlow.HistoryState.RUNNING, updated_at__lt=timezone.now() - quiet_for
    ).exclude(pk__in=working)


def _retry_plan(
    classification: Classification, attempts: int, now: datetime
) -> tuple[str, datetime | None]:
    """Transient errors retry by themselves with capped backoff until they have used their
    attempts; then, like every other category, they wait for a person."""
    if not classification.transient or attempts >= SYNC_ERROR_MAX_AUTO_RETRIES:
        return SyncError.Status.OPEN, None
    delay = max(backoff_for(attempts), timedelta(seconds=classification.retry_after or 0))
    return SyncError.Status.RETRYING, now + delay


def _record_key(source_id: str, target_id: str) -> dict[str, str]:
    if source_id:
        return {"source_id": source_id}
    if target_id:
        return {"source_id": "", "target_id": target_id}
    raise ValueError("A sync error names its record by source id or target id.")


def _error_fields(
    classification: Classification, run: SyncRun | None, payload: Any, now: datetime, **extra: Any
) -> dict[str, Any]:
    fields = {
        "category": classification.category,
        "message": classification.message,
        "code": classification.code[:100],
        "request_id": classification.request_id[:100],
        "payload": payload,
        "last_seen": now,
        **{key: value for key, value in extra.items() if value},
    }
    if run is not None:
        fields["run"] = run
    return fields


def _sync_error_repeat(
    error: SyncError, classification: Classification, fields: dict[str, Any], now: datetime
) -> SyncError:
    error.attempts += 1
    error.status, error.next_retry_at = _retry_plan(classification, error.attempts, now)
    for name, value in fields.items():
        setattr(error, name, value)
    error.save()
    return error


def sync_error_record(
    *,
    flow: SyncFlow,
    run: SyncRun | None,
    source_id: str,
    classification: Classification,
    payload: Any,
    source_name: str = "",
    target_id: str = "",
    details: dict[str, Any] | None = None,
) -> SyncError:
    """Record that a record failed. One open error per flow and record: a repeat updates the
    open one (attempts + 1, last_seen, the newest message) instead of adding a row. Safe
    against a concurrent worker recording the same record: the partial unique index makes one
    insert fail, and that worker updates the row the other inserted."""
    key = _record_key(source_id, target_id)
    extra = {"source_name": source_name[:255], "target_id": target_id, "details": details}
    for _ in range(3):
        now = timezone.now()
        fields = _error_fields(classification, run, payload, now, **extra)
        with transaction.atomic():
            existing = (
                SyncError.objects.select_for_update()
                .filter(flow=flow, status__in=OPEN_STATUSES, **key)
                .first()
            )
            if existing is not None:
                return _sync_error_repeat(existing, classification, fields, now)
            status, next_retry_at = _retry_plan(classification, 1, now)
            try:
                with transaction.atomic():
                    values = {**fields, **key, "status": status, "next_retry_at": next_retry_at}
                    return SyncError.objects.create(flow=flow, first_seen=now, **values)
            except IntegrityError:
                continue  # another worker opened it first: go round and update theirs
    raise RuntimeError(f"Could not record the error for {key} on {flow}: it kept changing.")


def sync_error_resolve(flow: SyncFlow, source_id: str, *, target_id: str = "") -> int:
    """Close the open error of a record that has now synced. Returns how many were closed."""
    now = timezone.now()
    return SyncError.objects.filter(
        flow=flow, status__in=OPEN_STATUSES, **_record_key(source_id, target_id)
    ).update(status=SyncError.Status.RESOLVED, resolved_at=now, next_retry_at=None)


def sync_errors_resolve(flow: SyncFlow, source_ids: list[str]) -> int:
    """Close the open errors of records that have now synced, in one statement."""
    return SyncError.objects.filter(
        flow=flow, status__in=OPEN_STATUSES, source_id__in=source_ids
    ).update(status=SyncError.Status.RESOLVED, resolved_at=timezone.now(), next_retry_at=None)


def sync_errors_ignore(queryset: QuerySet[SyncError]) -> int:
    """Ignore the open errors among `queryset` (an admin's "these don't matter"). Returns how
    many changed; resolved and already ignored ones are left as they are."""
    return queryset.filter(status__in=OPEN_STATUSES).update(
        status=SyncError.Status.IGNORED, resolved_at=timezone.now(), next_retry_at=None
    )


def sync_errors_due(*, now: datetime | None = None) -> QuerySet[SyncError]:
    """Errors retrying by themselves whose time has come, oldest due first, on active flows.
    All of them: the vendors' quotas pace the retries, not a cap here."""
    return (
        SyncError.objects.filter(
            status=SyncError.Status.RETRYING,
            next_retry_at__lte=now or timezone.now(),
            flow__state=SyncFlow.State.ACTIVE,
        )
        .select_related("flow__source", "flow__target")
        .order_by("next_retry_at", "pk")
    )
