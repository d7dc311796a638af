"""Live syncing: changes recorded in the inbox (webhooks, polls, admin actions), claimed by
workers in batches, fetched from the source once per batch and run through every flow they feed.
A vendor failure becomes an error per record; only a crash sends events back to the inbox."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from connectors.base.exceptions import AuthError, ConnectorError, RateLimited
from connectors.base.http import count_calls
from connectors.base.records import Record
from connectors.models import Connection
from connectors.registry import adapter_for
from syncs import heartbeat
from syncs.engine import (
    USABLE,
    FlowContext,
    flow_blocked,
    flow_context,
    flows_for,
    records_sync,
    run_close,
)
from syncs.errors import Classification, error_classify
from syncs.inbox import (
    NewEvent,
    event_complete,
    event_defer,
    event_fail,
    events_claim,
    events_record,
    lease_owner_new,
    pushed_record,
)
from syncs.mapping import mapping_get
from syncs.models import AuditEntry, ChangeEvent, ErrorCategory, RecordLink, SyncFlow, SyncRun
from syncs.records import RunCounts, audit_record, run_finish, run_start
from syncs.services import sync_error_record
from syncs.twoway_target import gone_at_target, target_records_sync

logger = logging.getLogger(__name__)


class InboxDeferred(Exception):
    """A system rate-limited us: the events of the batch wait in the inbox, whole, until the
    pause it asked for is over. Throttling says nothing about the records, so it is no
    record's error and costs no attempt."""

    def __init__(self, error: RateLimited) -> None:
        super().__init__(str(error))
        self.error = error
        self.until = timezone.now() + timedelta(seconds=error.retry_after or 0)

    @property
    def reason(self) -> str:
        when = timezone.localtime(self.until).strftime("%H:%M:%S")
        return f"Rate limited ({self.error.message}); waits until {when}."


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
    target_side = events[0].connection_id != flow.source_id
    for record_id in dict.fromkeys(e.external_id for e in events):
        sync_error_record(
            flow=flow,
            run=run,
            source_id="" if target_side else record_id,
            target_id=record_id if target_side else "",
            classification=classification,
            payload=None,
            source_name=names.get(record_id, ""),
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
    failure = flow_blocked(flow)
    if failure is None and isinstance(records, ConnectorError):
        failure = error_classify(records, system=flow.source.system)
    if failure is not None:
        _events_errors(flow, run, events, failure, records)
        run_finish(run, counts=RunCounts(read=len(ids), failed=len(ids)), fatal=failure.message)
        return
    assert not isinstance(records, ConnectorError)  # a read failure is the `failure` above
    ctx: FlowContext | None = None
    target_side = events[0].connection_id != flow.source_id
    with count_calls() as calls:
        try:
            ctx = flow_context(flow, run, force=kind == SyncRun.Kind.FORCE)
            found = [records[i] for i in ids if i in records]
            if target_side:
                target_records_sync(ctx, found, forward=records_sync)
                deleted = {
                    e.external_id for e in events if e.operation == ChangeEvent.Operation.DELETE
                }
                gone = [i for i in ids if i not in records and i in deleted]
                ctx.counts += RunCounts(read=len(ids) - len(found), skipped=len(ids) - len(found))
                gone_at_target(ctx, gone)
            else:
                records_sync(ctx, found)
                _gone_at_source(ctx, [i for i in ids if i not in records])
        except RateLimited as exc:
            deferred = InboxDeferred(exc)
            fatal = f"{deferred.reason} The {len(ids)} records are back in the inbox."
            if ctx is None:
                run_finish(run, counts=RunCounts(read=len(ids)), fatal=fatal)
            else:
                run_close(ctx, calls, fatal=fatal)
            raise deferred from exc
        except ConnectorError as exc:
            _events_errors(flow, run, events, _flow_failure(flow, exc), records)
            if ctx is None:
                run_finish(run, counts=RunCounts(read=len(ids), failed=len(ids)), fatal=str(exc))
            else:
                run_close(ctx, calls, fatal=str(exc))
            return
    run_close(ctx, calls)


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


def _refreshing(connection: Connection, entity: str) -> list[tuple[SyncFlow, str]]:
    """The flows whose records a change to `entity` alters (a Bill, its vendor's balance), with
    the path of the referenced record's id (`options.refreshed_by`)."""
    found = []
    for flow in SyncFlow.objects.filter(source=connection).exclude(state=SyncFlow.State.DISABLED):
        for rule in flow.options.get("refreshed_by", []):
            if rule.get("entity") == entity:
                found.append((flow, str(rule["path"])))
    return found


def _related_refresh(connection: Connection, entity: str, events: list[ChangeEvent]) -> None:
    """Queue again the records that changes to `entity` alter. Read failures end here: the
    next reconciliation catches the change."""
    refreshing = _refreshing(connection, entity)
    if not refreshing or connection.status not in USABLE:
        return
    ids = sorted({e.external_id for e in events})
    try:
        records = adapter_for(connection).fetch(entity, ids)
    except ConnectorError as exc:
        logger.warning("Could not read %s %s to refresh what they change: %s", entity, ids, exc)
        return
    origin = events[0].origin
    events_record(
        NewEvent(
            connection=connection,
            entity=flow.source_entity,
            external_id=str(referenced),
            operation=ChangeEvent.Operation.UPDATE,
            origin=origin,
            flow=flow,
        )
        for flow, path in refreshing
        for record in records
        if (referenced := mapping_get(record.data, path))
    )


def _target_side_flows(connection: Connection, entity: str) -> list[SyncFlow]:
    """The two-way flows that `entity` on `connection` is the target of."""
    flows = SyncFlow.objects.filter(
        target=connection, target_entity=entity, direction=SyncFlow.Direction.TWO_WAY
    ).exclude(state=SyncFlow.State.DISABLED)
    return list(flows.select_related("source", "target"))


def _events_sync(connection: Connection, entity: str, events: list[ChangeEvent]) -> None:
    _related_refresh(connection, entity, events)
    flows = flows_for(connection, entity) + _target_side_flows(connection, entity)
    if not flows:
        return
    # Deletions are fetched too: QBO reports a deactivated customer as "Delete", and the record
    # (inactive) is still there to sync. Only what the source no longer returns is gone.
    # A record the system pushed with its event is taken as read; only the others are fetched.
    pushed = {r.id: r for e in events if (r := pushed_record(e)) is not None}
    ids = sorted({e.external_id for e in events} - set(pushed))
    records: dict[str, Record] | ConnectorError = dict(pushed)
    if ids and connection.status in USABLE and any(flow_blocked(f) is None for f in flows):
        try:
            records = {**pushed, **{r.id: r for r in adapter_for(connection).fetch(entity, ids)}}
        except RateLimited as exc:
            raise InboxDeferred(exc) from exc
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
    with heartbeat.leases_held(owner):
        for (connection_id, entity), group in groups.items():
            _group_process(connections[connection_id], entity, group, owner)
    return len(events)


def _group_process(
    connection: Connection, entity: str, group: list[ChangeEvent], owner: str
) -> None:
    try:
        _events_sync(connection, entity, group)
    except InboxDeferred as deferred:
        logger.info("Changes to %s on connection %s wait: %s", entity, connection.pk, deferred)
        for event in group:
            event_defer(event, owner=owner, until=deferred.until, reason=deferred.reason)
        return
    except Exception as exc:  # a bug, not a vendor failure: back to the inbox, not lost
        logger.warning("Changes to %s on connection %s failed: %s", entity, connection.pk, exc)
        for event in group:
            event_fail(event, owner=owner, error=exc, retry=not isinstance(exc, AuthError))
        return
    for event in group:
        event_complete(event, owner=owner)


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
