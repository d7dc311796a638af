"""The inbox: record detected changes once, and hand them to workers under a lease.

Webhook views call `event_record` / `events_record` and acknowledge the delivery only after
they return (the row is committed). Workers call `events_claim`, process what they got, then
`event_complete` or `event_fail`. The django-q2 queue only wakes workers: `events_sweep` counts
what is waiting so a scheduled task can re-enqueue work a lost task left behind.

Claims are correct on both databases:

* PostgreSQL: candidates are read `FOR UPDATE SKIP LOCKED`, so concurrent claimers lock
  disjoint rows without waiting for each other.
* SQLite: `select_for_update` is a no-op, but the settings open every atomic block with
  `BEGIN IMMEDIATE`, which takes the database's write lock first; claimers run one after
  another, each seeing the previous one's claims.

On both, a partial unique index allows one `processing` event per record, so two workers never
write the same record at once; a claim that loses that race skips the record.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from connectors.base.exceptions import ConnectorError
from connectors.base.records import Record, record_from_json, record_to_json
from connectors.models import Connection
from syncs import heartbeat
from syncs.errors import backoff_for
from syncs.models import ChangeEvent, SyncFlow

Status = ChangeEvent.Status

EVENT_MAX_ATTEMPTS = 5
EVENT_BACKOFF_BASE = timedelta(seconds=15)
EVENT_BACKOFF_CAP = timedelta(minutes=30)

DedupeKey = tuple[int, str, str, str, int]


@dataclass(frozen=True)
class NewEvent:
    """One change as a webhook view or poller reports it, before it is a row."""

    connection: Connection
    entity: str
    external_id: str
    version: str = ""
    operation: str = ChangeEvent.Operation.UNKNOWN
    origin: str = ChangeEvent.Origin.WEBHOOK
    payload: dict[str, Any] | None = None
    flow: SyncFlow | None = None
    # The whole record, when the system pushed it (QBWC answers, Books webhooks): the engine
    # takes it as read and does not fetch it again.
    record: Record | None = None


def pushed_record(event: ChangeEvent) -> Record | None:
    """The record an event carries, if its system pushed it."""
    value = (event.payload or {}).get("record")
    return record_from_json(value) if isinstance(value, dict) else None


def _pushed_version(record: Record) -> str:
    """A pushed record without a version of its own dedupes by its content: the same content
    again adds nothing, a different one is kept."""
    data = json.dumps(record_to_json(record), sort_keys=True, default=str).encode()
    return "sha1:" + hashlib.sha1(data, usedforsecurity=False).hexdigest()[:32]


def lease_owner_new() -> str:
    """A lease owner unique to this worker process and call: host, pid and a nonce."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _max_length(name: str) -> int:
    return getattr(ChangeEvent._meta.get_field(name), "max_length", 0) or 0


def _event_build(new: NewEvent) -> ChangeEvent:
    """Validate here: SQLite's INSERT OR IGNORE (behind `ignore_conflicts`) would silently drop
    a row breaking any constraint, not only a duplicate."""
    entity, external_id = new.entity.strip(), str(new.external_id).strip()
    version = str(new.version or "").strip()
    payload = dict(new.payload or {})
    if new.record is not None:
        payload["record"] = record_to_json(new.record)
        version = version or _pushed_version(new.record)
    if not entity or not external_id:
        raise ValueError("An event needs an entity and an external id.")
    for name, value in (("entity", entity), ("external_id", external_id), ("version", version)):
        if len(value) > _max_length(name):
            raise ValueError(f"{name} {value[:40]!r}... is longer than {_max_length(name)}.")
    if new.operation not in ChangeEvent.Operation.values:
        raise ValueError(f"Unknown operation {new.operation!r}.")
    if new.origin not in ChangeEvent.Origin.values:
        raise ValueError(f"Unknown origin {new.origin!r}.")
    return ChangeEvent(
        connection=new.connection,
        system=new.connection.system,
        entity=entity,
        external_id=external_id,
        version=version,
        operation=new.operation,
        origin=new.origin,
        payload=payload,
        flow=new.flow,
    )


def event_record(
    *,
    connection: Connection,
    entity: str,
    external_id: str,
    version: str,
    operation: str,
    origin: str,
    payload: dict[str, Any] | None = None,
    flow: SyncFlow | None = None,
) -> bool:
    """Insert one event. True if it is new; False if it duplicates one already recorded (same
    version, or no version and one still pending). Never raises on a duplicate."""
    new = NewEvent(connection, entity, external_id, version, operation, origin, payload, flow)
    event = _event_build(new)
    try:
        with transaction.atomic():
            event.save(force_insert=True)
    except IntegrityError:
        return False
    return True


def _dedupe_key(event: ChangeEvent) -> DedupeKey:
    return (event.connection_id, event.entity, event.external_id, event.version, event.flow_id or 0)


def _recorded_keys(events: list[ChangeEvent]) -> set[DedupeKey]:
    """The keys among `events` the inbox already holds (blank versions only while pending)."""
    rows = ChangeEvent.objects.filter(
        ~Q(version="") | Q(status=Status.PENDING),
        connection_id__in={e.connection_id for e in events},
        entity__in={e.entity for e in events},
        external_id__in={e.external_id for e in events},
    ).values_list("connection_id", "entity", "external_id", "version", "flow_id")
    return {(c, en, x, v, f or 0) for c, en, x, v, f in rows}


EVENTS_CHUNK = 500  # events built and inserted at a time: a huge delivery costs no more memory


def _chunks(events: Iterable[NewEvent], size: int) -> Iterator[list[NewEvent]]:
    chunk: list[NewEvent] = []
    for event in events:
        chunk.append(event)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def events_record(events: Iterable[NewEvent]) -> int:
    """Insert many events in one transaction, all or none, `EVENTS_CHUNK` at a time and in as
    few INSERTs as the database allows (SQLite's 999-parameter limit splits a chunk). Returns
    how many were new. Duplicates, within the delivery or of recorded events, are left out;
    the unique indexes drop any that a concurrent delivery inserts meanwhile (then the count
    includes it, though only one row is stored). An invalid event (`ValueError`) stores none."""
    new = 0
    with transaction.atomic():
        for chunk in _chunks(events, EVENTS_CHUNK):
            built: dict[DedupeKey, ChangeEvent] = {}
            for item in chunk:
                event = _event_build(item)
                built.setdefault(_dedupe_key(event), event)
            # Earlier chunks are in the table already, so the query sees them as recorded.
            known = _recorded_keys(list(built.values()))
            fresh = [event for key, event in built.items() if key not in known]
            ChangeEvent.objects.bulk_create(fresh, ignore_conflicts=True)
            new += len(fresh)
    return new


def _claimable(now: datetime, connection: Connection | None = None) -> QuerySet[ChangeEvent]:
    """Pending events that are due, unless their record is being processed (they wait their
    turn, behind it rather than in front of other records), and events whose lease expired."""
    busy = ChangeEvent.objects.filter(
        status=Status.PROCESSING,
        connection_id=OuterRef("connection_id"),
        entity=OuterRef("entity"),
        external_id=OuterRef("external_id"),
    )
    waiting = Q(status=Status.PENDING, available_at__lte=now) & ~Exists(busy)
    abandoned = Q(status=Status.PROCESSING, lease_expires_at__lt=now)
    events = ChangeEvent.objects.filter(waiting | abandoned)
    return events.filter(connection=connection) if connection is not None else events


def _claims_choose(candidates: list[ChangeEvent]) -> tuple[list[ChangeEvent], list[ChangeEvent]]:
    """(to claim, to give up on): the oldest event of each record, except abandoned events
    that have used their attempts (their worker keeps dying on them)."""
    chosen: list[ChangeEvent] = []
    exhausted: list[ChangeEvent] = []
    records: set[tuple[int, str, str]] = set()
    for event in candidates:
        if event.status == Status.PROCESSING and event.attempts >= EVENT_MAX_ATTEMPTS:
            exhausted.append(event)
            continue
        key = (event.connection_id, event.entity, event.external_id)
        if key not in records:
            chosen.append(event)
            records.add(key)
    return chosen, exhausted


def _claims_mark(chosen: list[ChangeEvent], values: dict[str, Any]) -> list[int]:
    ids = [event.pk for event in chosen]
    try:
        with transaction.atomic():
            ChangeEvent.objects.filter(pk__in=ids).update(**values)
        return ids
    except IntegrityError:
        pass  # another worker claimed one of these records a moment ago: go one by one
    claimed = []
    for event_id in ids:
        try:
            with transaction.atomic():
                ChangeEvent.objects.filter(pk=event_id).update(**values)
            claimed.append(event_id)
        except IntegrityError:
            continue
    return claimed


def _events_give_up(events: list[ChangeEvent], now: datetime) -> None:
    if events:
        ChangeEvent.objects.filter(pk__in=[e.pk for e in events]).update(
            status=Status.FAILED,
            last_error=f"Abandoned {EVENT_MAX_ATTEMPTS} times: the worker stopped while "
            "processing it (crash or timeout).",
            lease_expires_at=None,
            finished_at=now,
        )


def events_claim(
    *,
    owner: str,
    limit: int = 50,
    lease: timedelta | None = None,
    connection: Connection | None = None,
) -> list[ChangeEvent]:
    """Claim up to `limit` events, oldest first: pending ones that are due, and processing
    ones whose lease expired (their worker died). Each claimed event is `processing` under
    `owner` until `lease` from now (by default as long as a run may go without a heartbeat;
    the owner's heartbeats extend it while it works), with `attempts` counted up by one."""
    if not owner:
        raise ValueError("A claim needs an owner (see lease_owner_new).")
    lease = lease or heartbeat.lease_length()
    now = timezone.now()
    with transaction.atomic():
        candidates = list(
            _claimable(now, connection)
            .select_for_update(skip_locked=True)
            .order_by("received_at", "pk")[:limit]
        )
        chosen, exhausted = _claims_choose(candidates)
        _events_give_up(exhausted, now)
        values = {
            "status": Status.PROCESSING,
            "lease_owner": owner,
            "lease_expires_at": now + lease,
            "attempts": F("attempts") + 1,
        }
        claimed = _claims_mark(chosen, values)
        return list(ChangeEvent.objects.filter(pk__in=claimed).order_by("received_at", "pk"))


def _owned(event: ChangeEvent, owner: str) -> QuerySet[ChangeEvent]:
    """The event, only while `owner` still holds the lease it was given: a worker whose lease
    was taken over (attempts moved on) changes nothing."""
    return ChangeEvent.objects.filter(
        pk=event.pk, status=Status.PROCESSING, lease_owner=owner, attempts=event.attempts
    )


def _refresh(event: ChangeEvent) -> None:
    event.refresh_from_db(
        fields=["status", "available_at", "lease_expires_at", "last_error", "finished_at"]
    )


def event_complete(event: ChangeEvent, *, owner: str, skipped: bool = False) -> bool:
    """Mark a claimed event done (or skipped: nothing to do for it). False if `owner` no longer
    holds its lease."""
    updated = _owned(event, owner).update(
        status=Status.SKIPPED if skipped else Status.DONE,
        lease_expires_at=None,
        finished_at=timezone.now(),
    )
    if updated:
        _refresh(event)
    return bool(updated)


def _error_text(error: BaseException | str) -> str:
    return error if isinstance(error, str) else (str(error) or type(error).__name__)


def _retry_delay(event: ChangeEvent, error: BaseException | str) -> timedelta:
    delay = backoff_for(event.attempts, base=EVENT_BACKOFF_BASE, cap=EVENT_BACKOFF_CAP)
    retry_after = error.retry_after if isinstance(error, ConnectorError) else None
    return max(delay, timedelta(seconds=retry_after or 0))


def event_fail(
    event: ChangeEvent, *, owner: str, error: BaseException | str, retry: bool = True
) -> bool:
    """Give a claimed event back: pending again after a backoff, or failed once it has used
    its attempts (or at once when `retry` is False). False if `owner` no longer holds its
    lease."""
    now, message = timezone.now(), _error_text(error)
    owned = _owned(event, owner)
    if not retry or event.attempts >= EVENT_MAX_ATTEMPTS:
        updated = owned.update(
            status=Status.FAILED, last_error=message, lease_expires_at=None, finished_at=now
        )
    else:
        try:
            with transaction.atomic():
                updated = owned.update(
                    status=Status.PENDING,
                    available_at=now + _retry_delay(event, error),
                    last_error=message,
                    lease_expires_at=None,
                )
        except IntegrityError:
            # An ids-only notification for this record is already pending again; it fetches
            # the current state, so this one has nothing left to add.
            updated = owned.update(
                status=Status.SKIPPED,
                last_error=f"{message} (superseded by a newer pending notification)",
                lease_expires_at=None,
                finished_at=now,
            )
    if updated:
        _refresh(event)
    return bool(updated)


def event_defer(event: ChangeEvent, *, owner: str, until: datetime, reason: str) -> bool:
    """Put a claimed event back, untouched, until `until`: its system rate-limited us, which
    says nothing about the record, so the attempt is not counted. False if `owner` no longer
    holds its lease."""
    owned = _owned(event, owner)
    values: dict[str, Any] = {
        "status": Status.PENDING,
        "available_at": until,
        "last_error": reason,
        "lease_expires_at": None,
        "attempts": F("attempts") - 1,
    }
    try:
        with transaction.atomic():
            updated = owned.update(**values)
    except IntegrityError:
        # An ids-only notification for this record is pending already: it carries the change.
        updated = owned.update(
            status=Status.SKIPPED,
            last_error=f"{reason} (superseded by a newer pending notification)",
            lease_expires_at=None,
            finished_at=timezone.now(),
        )
    if updated:
        _refresh(event)
    return bool(updated)


def events_sweep() -> int:
    """How many events are waiting for a worker now: pending and due, or abandoned under an
    expired lease. The caller enqueues a django-q2 task when this is not zero."""
    return _claimable(timezone.now()).count()
