"""The inbox records each change once and hands it to one worker at a time, under a lease."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from connectors.base.exceptions import RateLimited
from connectors.models import Connection
from syncs.inbox import (
    EVENT_MAX_ATTEMPTS,
    NewEvent,
    event_complete,
    event_fail,
    event_record,
    events_claim,
    events_record,
    events_sweep,
)
from syncs.models import ChangeEvent, SyncFlow

pytestmark = pytest.mark.django_db

Status = ChangeEvent.Status
LEASE = timedelta(minutes=5)


def record(connection: Connection, external_id: str = "2", version: str = "", **extra) -> bool:
    values = {"operation": "update", "origin": "webhook", **extra}
    return event_record(
        connection=connection, entity="Customer", external_id=external_id, version=version, **values
    )


def expire(event: ChangeEvent) -> None:
    ChangeEvent.objects.filter(pk=event.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )


def make_due(event: ChangeEvent) -> None:
    ChangeEvent.objects.filter(pk=event.pk).update(available_at=timezone.now())


def test_a_duplicate_delivery_of_one_version_inserts_nothing(qbo):
    assert record(qbo, version="3", payload={"realmId": "1"}) is True
    assert record(qbo, version="3") is False
    assert record(qbo, version="4") is True
    event = ChangeEvent.objects.get(version="3")
    assert (event.system, event.entity, event.external_id, event.status) == (
        "qbo",
        "Customer",
        "2",
        Status.PENDING,
    )
    assert event.payload == {"realmId": "1"}
    assert ChangeEvent.objects.count() == 2


def test_a_processed_version_stays_deduplicated(qbo):
    record(qbo, version="3")
    [event] = events_claim(owner="w1", limit=10, lease=LEASE)
    assert event_complete(event, owner="w1")
    assert record(qbo, version="3") is False


def test_versionless_events_dedupe_only_while_one_is_pending(qbo):
    assert record(qbo) is True
    assert record(qbo) is False  # the pending one will fetch the current state anyway
    assert len(events_claim(owner="w1", limit=10, lease=LEASE)) == 1
    # Once the worker has started, a new notification may describe a later change: keep it.
    assert record(qbo) is True
    assert record(qbo) is False
    assert ChangeEvent.objects.filter(version="").count() == 2


def test_the_same_record_on_another_connection_or_entity_is_not_a_duplicate(qbo):
    other = Connection.objects.create(system="qbo", name="Second company", realm_id="42")
    assert record(qbo, version="1")
    assert record(other, version="1")
    assert event_record(
        connection=qbo,
        entity="Vendor",
        external_id="2",
        version="1",
        operation="create",
        origin="cdc",
    )


def test_an_event_for_one_flow_does_not_swallow_a_connection_wide_one(qbo, flow):
    assert record(qbo, origin="admin", flow=flow)
    assert record(qbo)  # all flows of the connection need this one
    assert not record(qbo, origin="admin", flow=flow)


def test_invalid_events_are_refused_loudly_not_dropped(qbo):
    with pytest.raises(ValueError, match="operation"):
        record(qbo, operation="upsert")
    with pytest.raises(ValueError, match="external id"):
        record(qbo, external_id="  ")
    with pytest.raises(ValueError, match="longer"):
        record(qbo, version="x" * 65)
    with pytest.raises(ValueError, match="origin"):
        events_record([NewEvent(qbo, "Customer", "1", origin="email")])


def test_bulk_record_counts_new_events_and_skips_duplicates(qbo):
    record(qbo, external_id="1", version="1")
    batch = [
        NewEvent(qbo, "Customer", "1", "1"),  # already recorded
        NewEvent(qbo, "Customer", "2", "1"),
        NewEvent(qbo, "Customer", "2", "1"),  # twice in the same delivery
        NewEvent(qbo, "Customer", "3", ""),
        NewEvent(qbo, "Customer", "3", ""),
    ]
    assert events_record(batch) == 2
    assert events_record(batch) == 0
    assert ChangeEvent.objects.count() == 3


def test_a_delivery_of_a_hundred_events_is_one_insert_where_the_database_allows(qbo):
    batch = [NewEvent(qbo, "Customer", str(i), "0", "create") for i in range(100)]
    with CaptureQueriesContext(db) as queries:
        assert events_record(batch) == 100
    inserts = [q for q in queries if q["sql"].lstrip().upper().startswith("INSERT")]
    limit = db.features.max_query_params
    columns = len(ChangeEvent._meta.concrete_fields) - 1  # all but the id
    # PostgreSQL takes them in one statement; SQLite's 999-parameter limit forces a split.
    assert len(inserts) == (math.ceil(100 / (limit // columns)) if limit else 1)
    assert ChangeEvent.objects.count() == 100


def test_claim_takes_pending_events_oldest_first_under_a_lease(qbo):
    for external_id in ("1", "2", "3"):
        record(qbo, external_id=external_id, version="1")
    before = timezone.now()
    claimed = events_claim(owner="worker-a", limit=2, lease=LEASE)
    assert [e.external_id for e in claimed] == ["1", "2"]
    for event in claimed:
        assert event.status == Status.PROCESSING
        assert event.lease_owner == "worker-a"
        assert event.attempts == 1
        assert before + LEASE <= event.lease_expires_at <= timezone.now() + LEASE
    assert [e.external_id for e in events_claim(owner="worker-b", limit=5, lease=LEASE)] == ["3"]
    assert events_claim(owner="worker-c", limit=5, lease=LEASE) == []


def test_claim_can_be_limited_to_one_connection(qbo, crm):
    record(qbo, version="1")
    event_record(
        connection=crm,
        entity="Accounts",
        external_id="9",
        version="",
        operation="update",
        origin="webhook",
    )
    [event] = events_claim(owner="w", limit=5, lease=LEASE, connection=crm)
    assert event.connection == crm


def test_an_expired_lease_is_reclaimed_and_the_old_owner_can_no_longer_finish(qbo):
    record(qbo, version="1")
    [stale] = events_claim(owner="worker-a", limit=1, lease=LEASE)
    assert events_claim(owner="worker-b", limit=1, lease=LEASE) == []  # lease still live
    expire(stale)
    [taken] = events_claim(owner="worker-b", limit=1, lease=LEASE)
    assert taken.pk == stale.pk
    assert taken.attempts == 2
    assert event_complete(stale, owner="worker-a") is False
    assert event_fail(stale, owner="worker-a", error="late") is False
    taken.refresh_from_db()
    assert (taken.status, taken.lease_owner) == (Status.PROCESSING, "worker-b")
    assert event_complete(taken, owner="worker-b") is True
    assert taken.status == Status.DONE
    assert taken.finished_at is not None


def test_the_same_owner_name_cannot_finish_a_lease_it_lost_and_won_again(qbo):
    record(qbo, version="1")
    [first] = events_claim(owner="w", limit=1, lease=LEASE)
    expire(first)
    [second] = events_claim(owner="w", limit=1, lease=LEASE)
    assert event_complete(first, owner="w") is False  # attempts moved on
    assert event_complete(second, owner="w") is True


def test_one_record_is_processed_by_one_worker_at_a_time(qbo):
    record(qbo, external_id="2", version="1")
    record(qbo, external_id="2", version="2")
    record(qbo, external_id="7", version="1")
    first = events_claim(owner="a", limit=10, lease=LEASE)
    assert [(e.external_id, e.version) for e in first] == [("2", "1"), ("7", "1")]
    assert events_claim(owner="b", limit=10, lease=LEASE) == []  # 2 v2 waits for 2 v1
    event_complete(first[0], owner="a")
    [second] = events_claim(owner="b", limit=10, lease=LEASE)
    assert (second.external_id, second.version) == ("2", "2")


def test_an_abandoned_event_keeps_its_records_turn(qbo):
    record(qbo, external_id="2", version="1")
    [abandoned] = events_claim(owner="dead", limit=1, lease=LEASE)
    record(qbo, external_id="2", version="2")
    expire(abandoned)
    claimed = events_claim(owner="b", limit=10, lease=LEASE)
    assert [e.pk for e in claimed] == [abandoned.pk]


def test_failure_puts_the_event_back_with_backoff(qbo):
    record(qbo, version="1")
    [event] = events_claim(owner="w", limit=1, lease=LEASE)
    assert event_fail(event, owner="w", error=RateLimited("slow down", retry_after=120)) is True
    assert event.status == Status.PENDING
    assert event.last_error == "slow down"
    assert event.available_at >= timezone.now() + timedelta(seconds=119)
    assert events_claim(owner="w", limit=1, lease=LEASE) == []  # not due yet
    make_due(event)
    [again] = events_claim(owner="w", limit=1, lease=LEASE)
    assert again.attempts == 2


def test_failure_after_the_last_attempt_is_final(qbo):
    record(qbo, version="1")
    for attempt in range(1, EVENT_MAX_ATTEMPTS + 1):
        [event] = events_claim(owner="w", limit=1, lease=LEASE)
        assert event.attempts == attempt
        event_fail(event, owner="w", error="CRM down")
        make_due(event)
    event.refresh_from_db()
    assert event.status == Status.FAILED
    assert events_claim(owner="w", limit=1, lease=LEASE) == []


def test_a_permanent_failure_is_final_at_once(qbo):
    record(qbo, version="1")
    [event] = events_claim(owner="w", limit=1, lease=LEASE)
    assert event_fail(event, owner="w", error=ValueError("bad payload"), retry=False)
    assert (event.status, event.last_error) == (Status.FAILED, "bad payload")


def test_a_failed_versionless_event_yields_to_a_newer_pending_one(qbo):
    record(qbo)
    [event] = events_claim(owner="w", limit=1, lease=LEASE)
    assert record(qbo)  # arrived while the first was being processed
    assert event_fail(event, owner="w", error="timeout") is True
    assert event.status == Status.SKIPPED
    assert "superseded" in event.last_error
    assert ChangeEvent.objects.filter(status=Status.PENDING).count() == 1


def test_an_event_abandoned_too_often_is_given_up(qbo):
    record(qbo, version="1")
    [event] = events_claim(owner="w", limit=1, lease=LEASE)
    ChangeEvent.objects.filter(pk=event.pk).update(
        attempts=EVENT_MAX_ATTEMPTS, lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert events_claim(owner="w2", limit=5, lease=LEASE) == []
    event.refresh_from_db()
    assert event.status == Status.FAILED
    assert "Abandoned" in event.last_error


def test_skipped_completion(qbo):
    record(qbo, version="1")
    [event] = events_claim(owner="w", limit=1, lease=LEASE)
    assert event_complete(event, owner="w", skipped=True)
    assert event.status == Status.SKIPPED


def test_sweep_counts_what_waits_for_a_worker(qbo):
    assert events_sweep() == 0
    for external_id in ("1", "2", "3"):
        record(qbo, external_id=external_id, version="1")
    claimed = events_claim(owner="w", limit=2, lease=LEASE)
    assert events_sweep() == 1  # the third is pending; the two claimed are under a live lease
    expire(claimed[0])
    assert events_sweep() == 2
    event_fail(claimed[1], owner="w", error="later")
    assert events_sweep() == 2  # backing off: not due yet


def test_flow_scoped_events_keep_their_flow(qbo, flow):
    record(qbo, origin="admin", flow=flow)
    [event] = events_claim(owner="w", limit=1, lease=LEASE)
    assert event.flow == flow
    assert isinstance(event.flow, SyncFlow)
    assert str(event) == "qbo Customer 2 update"


def test_events_queued_behind_a_busy_record_do_not_hold_up_other_records(qbo):
    record(qbo, external_id="2", version="1")
    [busy] = events_claim(owner="a", limit=1, lease=LEASE)
    for version in ("2", "3", "4", "5"):
        record(qbo, external_id="2", version=version)
    record(qbo, external_id="7", version="1")
    claimed = events_claim(owner="b", limit=2, lease=LEASE)
    assert [e.external_id for e in claimed] == ["7"]
    assert busy.external_id == "2"


def test_a_claim_that_loses_a_record_to_another_worker_keeps_the_rest(qbo):
    """The race the partial unique index settles: between this claimer's read and its update,
    another worker started on record 2 (here, simulated by claiming it first)."""
    from syncs.inbox import _claims_mark

    record(qbo, external_id="2", version="1")
    record(qbo, external_id="2", version="2")
    record(qbo, external_id="7", version="1")
    first, late, other = ChangeEvent.objects.order_by("external_id", "version")
    [won] = events_claim(owner="a", limit=1, lease=LEASE)
    assert won.pk == first.pk
    values = {
        "status": Status.PROCESSING,
        "lease_owner": "b",
        "lease_expires_at": timezone.now() + LEASE,
    }
    assert _claims_mark([late, other], values) == [other.pk]
    late.refresh_from_db()
    assert late.status == Status.PENDING


def test_the_unique_indexes_drop_duplicates_a_concurrent_delivery_slipped_in(qbo, monkeypatch):
    """Between the look-up of known events and the INSERT, another delivery may have stored the
    same events; the database then drops them rather than failing the whole delivery."""
    record(qbo, external_id="1", version="1")
    record(qbo, external_id="2")
    monkeypatch.setattr("syncs.inbox._recorded_keys", lambda events: set())
    batch = [
        NewEvent(qbo, "Customer", "1", "1"),
        NewEvent(qbo, "Customer", "2", ""),
        NewEvent(qbo, "Customer", "3", "1"),
    ]
    events_record(batch)
    assert sorted(ChangeEvent.objects.values_list("external_id", "version")) == [
        ("1", "1"),
        ("2", ""),
        ("3", "1"),
    ]


def test_lease_owners_are_unique_per_call():
    from syncs.inbox import lease_owner_new

    first, second = lease_owner_new(), lease_owner_new()
    assert first != second
    assert len(first) <= ChangeEvent._meta.get_field("lease_owner").max_length
    assert events_record([]) == 0
    with pytest.raises(ValueError, match="owner"):
        events_claim(owner="", limit=1, lease=LEASE)
