"""django-q2 tasks: thin wrappers that take primary keys and call the engine.

The queue only wakes workers; the inbox in the database is the record of what is left to do,
so every task is safe to run twice and a lost task costs only a delay until the next sweep.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from connectors.base.exceptions import ConnectorError
from connectors.base.spec import Channels, ChannelsEnsured
from connectors.models import Connection
from connectors.oauth import connection_access_token
from connectors.registry import SPECS, system_spec
from syncs.engine import flow_dependencies
from syncs.inbox import events_sweep
from syncs.live import inbox_drain
from syncs.models import ErrorCategory, SyncError, SyncFlow, SyncRun
from syncs.outbox import outbox_sweep
from syncs.records import RunAlreadyRunning, runs_abandon_dead
from syncs.runs import flow_history_run, flow_poll, sync_errors_retry
from syncs.services import flows_history_stalled, sync_errors_due

logger = logging.getLogger(__name__)

WAKE_DEBOUNCE_SECONDS = 2
BURST_WINDOW_SECONDS = 1.5
REFRESH_AHEAD = timedelta(minutes=15)
RETRY_CHUNK = 500


def inbox_wake() -> None:
    """Ask a worker to drain the inbox now; a burst of webhooks queues one task, not hundreds."""
    if cache.add("syncs:inbox-wake", 1, timeout=WAKE_DEBOUNCE_SECONDS):
        async_task("syncs.tasks.inbox_drain_task", task_name="inbox-drain")


def inbox_drain_task() -> int:
    # Webhooks come in bursts (a batch of edits, an import): waiting a moment lets the burst
    # land in one batch, which costs far fewer vendor calls than one batch per webhook.
    time.sleep(BURST_WINDOW_SECONDS)
    return inbox_drain()


def inbox_sweep() -> int:
    """Every minute: mark dead the runs whose worker stopped beating, start again the
    historical syncs nobody is working on (from the position they had recorded), and drain
    what a lost task or a dead worker left waiting; forget old outbox rows."""
    runs_abandon_dead()
    outbox_sweep()
    for flow_id in flows_history_stalled().values_list("pk", flat=True):
        flow_history_start_async(flow_id)
    waiting = events_sweep()
    if waiting:
        inbox_drain()
    return waiting


def _flow_task(run_flow: Callable[[SyncFlow], SyncRun | None], flow_id: int) -> str:
    """Run one flow in a worker and say what happened (the run itself records the details)."""
    flow = SyncFlow.objects.select_related("source", "target").get(pk=flow_id)
    try:
        run = run_flow(flow)
    except RunAlreadyRunning:
        return "already running"
    except ConnectorError as exc:
        return f"failed: {exc}"
    return f"run {run.pk}" if run else "blocked or waiting"


def flow_poll_task(flow_id: int) -> str:
    return _flow_task(flow_poll, flow_id)


def flows_reconcile() -> int:
    """Every N minutes: each active flow reads what changed since its cursor (QBO through CDC),
    catching anything a webhook missed; a two-way flow also reads what changed at its target
    (the CRM, through If-Modified-Since) into the inbox."""
    flows = SyncFlow.objects.filter(state=SyncFlow.State.ACTIVE).values_list("pk", flat=True)
    for flow_id in flows:
        flow_poll_task(flow_id)
    return len(flows)


def flow_history_task(flow_id: int) -> str:
    # Only a started historical sync runs: a task left over from one that has finished since
    # (an admin's second click, a redelivered task) would read the whole history again.
    if not SyncFlow.objects.filter(
        pk=flow_id, history_state=SyncFlow.HistoryState.RUNNING
    ).exists():
        return "no historical sync to run"
    try:
        outcome = _flow_task(flow_history_run, flow_id)
    finally:
        _history_dependents_start(flow_id)
    return outcome


def _history_dependents_start(flow_id: int) -> None:
    """A historical sync that has ended lets the ones waiting for it go on at once."""
    flow = SyncFlow.objects.select_related("source", "target").get(pk=flow_id)
    if flow.history_state == SyncFlow.HistoryState.RUNNING:
        return
    waiting = SyncFlow.objects.filter(history_state=SyncFlow.HistoryState.RUNNING).exclude(
        pk=flow_id
    )
    for other in waiting.select_related("source", "target"):
        if any(dependency.pk == flow_id for dependency in flow_dependencies(other)):
            flow_history_start_async(other.pk)


def tokens_refresh() -> int:
    """Refresh access tokens that expire soon, so no sync waits on a refresh."""
    soon = timezone.now() + REFRESH_AHEAD
    due = Connection.objects.filter(
        status=Connection.Status.CONNECTED, access_token_expires_at__lte=soon
    )
    refreshed = 0
    for connection in due:
        if not connection.refresh_token:  # encrypted: not filterable in the database
            continue
        try:
            connection_access_token(connection)
            refreshed += 1
        except ConnectorError as exc:
            logger.warning("Refreshing %s failed: %s", connection, exc)
    return refreshed


def sync_errors_retry_due() -> int:
    """Transient errors whose backoff is over, and errors whose cause is gone (a reconnected
    connection, a resumed flow), are queued again."""
    unblocked = SyncError.objects.filter(
        status=SyncError.Status.OPEN,
        category__in=(ErrorCategory.AUTH, ErrorCategory.PAUSED),
        flow__state=SyncFlow.State.ACTIVE,
        flow__source__status=Connection.Status.CONNECTED,
        flow__target__status=Connection.Status.CONNECTED,
    ).exclude(Q(source_id=""))
    # Every due error goes, however many there are, in chunks of one inbox insert each.
    ids = [*sync_errors_due().values_list("pk", flat=True), *unblocked.values_list("pk", flat=True)]
    queued = 0
    for start in range(0, len(ids), RETRY_CHUNK):
        chunk = SyncError.objects.filter(pk__in=ids[start : start + RETRY_CHUNK])
        queued += sync_errors_retry(chunk.select_related("flow__source", "flow__target"))
    return queued


def flow_history_start_async(flow_id: int) -> None:
    async_task("syncs.tasks.flow_history_task", flow_id, task_name=f"history-{flow_id}")


def flow_poll_async(flow_id: int) -> None:
    async_task("syncs.tasks.flow_poll_task", flow_id, task_name=f"poll-{flow_id}")


def _entities_watched(system: str) -> dict[int, list[str]]:
    """The entities each `system` connection must be watched for: the target entity of each
    two-way flow writing to it, and the source entity of each flow reading from it. Paused flows
    count (their changes wait in the inbox until they resume); disabled ones do not."""
    flows = SyncFlow.objects.exclude(state=SyncFlow.State.DISABLED)
    wanted: dict[int, set[str]] = defaultdict(set)
    two_way = flows.filter(direction=SyncFlow.Direction.TWO_WAY, target__system=system)
    for connection_id, entity in two_way.values_list("target_id", "target_entity"):
        wanted[connection_id].add(entity)
    reading = flows.filter(source__system=system).values_list("source_id", "source_entity")
    for connection_id, entity in reading:
        wanted[connection_id].add(entity)
    return {connection_id: sorted(entities) for connection_id, entities in wanted.items()}


def _watched_systems() -> list[tuple[str, Channels]]:
    return [(s, spec.channels) for s in SPECS if (spec := system_spec(s)).channels is not None]


def channels_ensure_for_flows() -> ChannelsEnsured:
    """Every system whose notifications are subscribed (its registry entry's `channels`) gets
    exactly the channels its flows need."""
    ensured = ChannelsEnsured()
    for system, channels in _watched_systems():
        ensured += channels.ensure(_entities_watched(system))
    return ensured


def channels_renew() -> str:
    """Hourly: each connection gets the notification channel its flows need, then channels
    that expire soon are renewed."""
    ensured = channels_ensure_for_flows()
    renewed = sum(channels.renew() for _, channels in _watched_systems())
    return (
        f"{ensured.ensured} channel(s) in place, {ensured.stopped} stopped, "
        f"{ensured.failed} failed; {renewed} renewed"
    )


def channels_ensure_task() -> str:
    ensured = channels_ensure_for_flows()
    return (
        f"{ensured.ensured} channel(s) in place, {ensured.stopped} stopped, {ensured.failed} failed"
    )


def channels_ensure_on_commit() -> None:
    """Bring the notification channels in line with the flows once the current transaction
    commits (a flow saved two-way, or no longer). In a worker: an admin's save never waits on
    Zoho, and a failure is recorded on the channel row, not on the save."""
    transaction.on_commit(
        lambda: async_task("syncs.tasks.channels_ensure_task", task_name="channels-ensure"),
        robust=True,
    )
