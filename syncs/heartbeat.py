"""Proof of life: a worker's open runs and the inbox events it has claimed carry a heartbeat.

A run (poll, historical sync, live batch) beats while its worker works on it: at each page and
batch, before every vendor call, and while the worker waits out a vendor's rate limit. Each
beat also extends the lease of the inbox events the worker holds. A run whose heartbeat is
older than `dead_after()` belongs to a worker that has stopped (killed, crashed, timed out): it
is marked so by the minute sweep (`syncs.records.runs_abandon_dead`) and its work resumes by
itself, and an event whose lease lapsed goes to the next worker. "Already running" is only
ever said of a run that still beats.

The state is per thread of execution (a `ContextVar`): one worker process runs one task at a
time, and the tests' threads never see each other's runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone


def dead_after() -> timedelta:
    """How long a run may go without a heartbeat before it counts as dead."""
    return timedelta(seconds=settings.SYNC_RUN_DEAD_AFTER_SECONDS)


def lease_length() -> timedelta:
    """An event's lease: as long as a run may go quiet; every beat extends it."""
    return dead_after()


def _beat_every() -> float:
    return max(0.5, min(10.0, settings.SYNC_RUN_DEAD_AFTER_SECONDS / 6))


@dataclass
class _Alive:
    runs: set[int] = field(default_factory=set)
    owners: set[str] = field(default_factory=set)
    last: float = 0.0


_alive: ContextVar[_Alive | None] = ContextVar("syncs_alive", default=None)


def _current() -> _Alive:
    alive = _alive.get()
    if alive is None:
        alive = _Alive()
        _alive.set(alive)
    return alive


def run_alive(run_id: int) -> None:
    """`run_id` is being worked on here from now on (called by `run_start`)."""
    _current().runs.add(run_id)


def run_gone(run_id: int) -> None:
    """`run_id` is finished (called by `run_finish`)."""
    _current().runs.discard(run_id)


@contextmanager
def leases_held(owner: str) -> Iterator[None]:
    """While the block runs, beats extend the leases of the events `owner` has claimed."""
    alive = _current()
    alive.owners.add(owner)
    try:
        yield
    finally:
        alive.owners.discard(owner)


def beat(*, force: bool = False) -> None:
    """Tell the other workers that this one is alive: the open runs' heartbeat and the held
    events' leases move to now. At most one write every few seconds unless `force`d. Called
    outside transactions (the HTTP layer calls it before each request and while it waits)."""
    alive = _alive.get()
    if alive is None or not (alive.runs or alive.owners):
        return
    clock = time.monotonic()
    if not force and clock - alive.last < _beat_every():
        return
    alive.last = clock
    from syncs.models import ChangeEvent, SyncRun

    now = timezone.now()
    if alive.runs:
        SyncRun.objects.filter(pk__in=alive.runs, status=SyncRun.Status.RUNNING).update(
            heartbeat_at=now
        )
    if alive.owners:
        ChangeEvent.objects.filter(
            lease_owner__in=alive.owners, status=ChangeEvent.Status.PROCESSING
        ).update(lease_expires_at=now + lease_length())
