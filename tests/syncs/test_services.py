"""Flow state, cursors, backfill progress, and one open error per flow and record."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.db import IntegrityError, close_old_connections, connections, transaction
from django.utils import timezone

from syncs.errors import Classification
from syncs.models import SyncError, SyncFlow, SyncRun
from syncs.records import run_start
from syncs.services import (
    HISTORY_INTERRUPTIONS,
    SYNC_ERROR_MAX_AUTO_RETRIES,
    flow_cursor_advance,
    flow_history_advance,
    flow_history_finish,
    flow_history_interrupt,
    flow_history_start,
    flow_pause,
    flow_resume,
    flows_history_stalled,
    sync_error_record,
    sync_error_resolve,
    sync_errors_due,
    sync_errors_ignore,
)

DUPLICATE = Classification(
    "duplicate", False, "Duplicate records exist in system.", "DUPLICATE_DATA"
)
LOCKED = Classification(
    "record_locked", True, "the record is locked", "RECORD_LOCKED", request_id="r1"
)
PAYLOAD = {"Account_Name": "Bill's Windsurf Shop"}


def record_error(flow, classification=DUPLICATE, source_id="2", **kwargs) -> SyncError:
    return sync_error_record(
        flow=flow,
        run=None,
        source_id=source_id,
        classification=classification,
        payload=PAYLOAD,
        source_name="Bill's Windsurf Shop",
        **kwargs,
    )


@pytest.mark.django_db
class TestSyncErrors:
    def test_a_repeat_updates_the_open_error(self, flow):
        first = record_error(flow, details={"api_name": "Account_Name"})
        assert (first.status, first.attempts, first.next_retry_at) == ("open", 1, None)
        again = record_error(flow, Classification("duplicate", False, "Still a duplicate"))
        assert again.pk == first.pk
        assert again.attempts == 2
        assert again.message == "Still a duplicate"
        assert again.last_seen > first.last_seen
        assert again.first_seen == first.first_seen
        assert again.details == {"api_name": "Account_Name"}  # kept: the repeat gave none
        assert SyncError.objects.count() == 1

    def test_transient_errors_retry_by_themselves_then_wait_for_a_person(self, flow):
        error = record_error(flow, LOCKED)
        assert error.status == "retrying"
        assert error.request_id == "r1"
        assert timezone.now() < error.next_retry_at <= timezone.now() + timedelta(minutes=1)
        for _ in range(SYNC_ERROR_MAX_AUTO_RETRIES - 1):
            error = record_error(flow, LOCKED)
        assert (error.attempts, error.status, error.next_retry_at) == (
            SYNC_ERROR_MAX_AUTO_RETRIES,
            "open",
            None,
        )

    def test_retry_after_from_the_vendor_is_respected(self, flow):
        throttled = Classification("rate_limited", True, "ThrottleExceeded", retry_after=600)
        error = record_error(flow, throttled)
        assert error.next_retry_at >= timezone.now() + timedelta(seconds=599)

    def test_a_resolved_error_leaves_history_and_a_new_failure_opens_a_new_one(self, flow):
        first = record_error(flow)
        assert sync_error_resolve(flow, "2") == 1
        first.refresh_from_db()
        assert first.status == "resolved" and first.resolved_at is not None
        second = record_error(flow)
        assert second.pk != first.pk
        assert sync_error_resolve(flow, "2") == 1
        assert sync_error_resolve(flow, "2") == 0

    def test_records_known_only_on_the_target_are_keyed_by_target_id(self, flow):
        first = record_error(flow, source_id="", target_id="4150868000003194003")
        again = record_error(flow, source_id="", target_id="4150868000003194003")
        other = record_error(flow, source_id="", target_id="4150868000003194999")
        assert again.pk == first.pk and again.attempts == 2
        assert other.pk != first.pk
        assert sync_error_resolve(flow, "", target_id="4150868000003194003") == 1
        with pytest.raises(ValueError, match="source id or target id"):
            record_error(flow, source_id="")

    def test_the_database_refuses_a_second_open_error(self, flow):
        record_error(flow)
        with pytest.raises(IntegrityError), transaction.atomic():
            SyncError.objects.create(
                flow=flow, category="duplicate", message="again", source_id="2"
            )
        SyncError.objects.create(
            flow=flow, category="duplicate", message="old", source_id="2", status="resolved"
        )

    def test_ignore_changes_only_open_errors(self, flow):
        open_one = record_error(flow, source_id="1")
        record_error(flow, LOCKED, source_id="2")
        resolved = record_error(flow, source_id="3")
        sync_error_resolve(flow, "3")
        assert sync_errors_ignore(SyncError.objects.all()) == 2
        open_one.refresh_from_db()
        resolved.refresh_from_db()
        assert open_one.status == "ignored" and open_one.resolved_at is not None
        assert resolved.status == "resolved"

    def test_due_errors_are_the_retrying_ones_whose_time_has_come(self, flow):
        due = record_error(flow, LOCKED, source_id="1")
        later = record_error(flow, LOCKED, source_id="2")
        record_error(flow, source_id="3")
        SyncError.objects.filter(pk=due.pk).update(next_retry_at=timezone.now())
        assert list(sync_errors_due()) == [due]
        flow_pause(flow)
        assert list(sync_errors_due()) == []
        assert later.status == "retrying"


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_recording_one_record_share_one_open_error(flow):
    workers, errors = 8, []
    start = threading.Barrier(workers)

    def worker() -> None:
        try:
            start.wait()
            record_error(flow)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    close_old_connections()
    assert errors == []
    [error] = SyncError.objects.all()
    assert error.attempts == workers


@pytest.mark.django_db
class TestFlowState:
    def test_pause_and_resume(self, flow):
        at = timezone.now() - timedelta(minutes=3)
        assert flow_pause(flow, at=at) is True
        assert flow_pause(flow) is False  # already paused
        flow.refresh_from_db()
        assert (flow.state, flow.paused_at) == ("paused", at)
        assert flow_resume(flow) is True
        assert flow_resume(flow) is False
        flow.refresh_from_db()
        assert (flow.state, flow.paused_at) == ("active", None)

    def test_resume_makes_records_held_by_the_pause_due(self, flow):
        flow_pause(flow)
        held = record_error(flow, Classification("paused", False, "Sync is paused for this flow"))
        assert held.status == "open"
        flow_resume(flow)
        held.refresh_from_db()
        assert held.status == "retrying" and held.next_retry_at <= timezone.now()

    def test_a_disabled_flow_is_not_paused_or_resumed(self, flow):
        SyncFlow.objects.filter(pk=flow.pk).update(state="disabled")
        assert flow_pause(flow) is False
        assert flow_resume(flow) is False

    def test_the_cursor_moves_per_side(self, flow):
        flow_cursor_advance(flow, side="source", position={"cdc_since": "2024-05-01T00:00:00Z"})
        flow_cursor_advance(flow, side="target", position={"modified_since": "2024-05-02"})
        cursor = flow_cursor_advance(
            flow, side="source", position={"cdc_since": "2024-05-03T00:00:00Z", "page": 2}
        )
        flow.refresh_from_db()
        assert (
            flow.cursor
            == cursor
            == {
                "source": {"cdc_since": "2024-05-03T00:00:00Z", "page": 2},
                "target": {"modified_since": "2024-05-02"},
            }
        )
        with pytest.raises(ValueError, match="side"):
            flow_cursor_advance(flow, side="middle", position={})

    def test_historical_sync_progress_and_resume(self, flow):
        assert flow_history_start(flow, since=date(2023, 1, 1), total=500) is True
        assert flow_history_start(flow, since=date(2022, 1, 1)) is False  # resumes instead
        assert flow_history_advance(flow, cursor={"start_position": 101}, done=100)
        assert flow_history_advance(flow, cursor={"start_position": 201}, done=100, total=480)
        assert (flow.history_done, flow.history_total, flow.history_percent) == (200, 480, 41)
        assert flow.history_cursor == {"start_position": 201}
        assert flow.history_since == date(2023, 1, 1)
        assert flow_history_finish(flow) is True
        assert flow.history_state == "done" and flow.history_finished_at is not None
        assert flow_history_advance(flow, cursor={}, done=1) is False
        assert flow_history_start(flow, since=date(2024, 1, 1)) is True
        assert (flow.history_done, flow.history_cursor, flow.history_percent) == (0, {}, None)
        assert flow_history_finish(flow, error="QBO said 3200") is True
        assert (flow.history_state, flow.history_error) == ("failed", "QBO said 3200")

    def test_a_failed_history_asked_again_from_its_date_resumes_where_it_stopped(self, flow):
        flow_history_start(flow, since=date(2023, 1, 1))
        flow_history_advance(flow, cursor={"start_position": 1001}, done=1000, total=2500)
        flow_history_finish(flow, error="token revoked")

        assert flow_history_start(flow, since=date(2023, 1, 1)) is True
        assert (flow.history_state, flow.history_error) == ("running", "")
        assert (flow.history_cursor, flow.history_done, flow.history_total) == (
            {"start_position": 1001},
            1000,
            2500,
        )

        flow_history_finish(flow, error="token revoked")
        assert flow_history_start(flow, since=date(2024, 6, 1)) is True  # another date: anew
        assert (flow.history_cursor, flow.history_done, flow.history_total) == ({}, 0, None)

    def test_passing_failures_keep_a_history_running_until_too_many_in_a_row(self, flow):
        flow_history_start(flow, since=date(2023, 1, 1))
        flow_history_advance(flow, cursor={"start_position": 201}, done=200)

        assert flow_history_interrupt(flow, error="QBO 503") is True
        assert flow.history_state == "running"
        assert flow.history_error == "QBO 503 (resumes by itself)"
        assert flow.history_cursor == {"start_position": 201, "interruptions": 1}

        flow_history_advance(flow, cursor={"start_position": 401}, done=200)  # progress
        assert (flow.history_error, flow.history_cursor) == ("", {"start_position": 401})

        for _ in range(HISTORY_INTERRUPTIONS - 1):
            flow_history_interrupt(flow, error="QBO 503")
        assert flow.history_state == "running"
        flow_history_interrupt(flow, error="QBO 503")
        assert flow.history_state == "failed"
        assert flow.history_error == (
            f"QBO 503 (stopped {HISTORY_INTERRUPTIONS} times in a row without progress)"
        )

    def test_a_running_history_nobody_works_on_is_stalled(self, flow):
        flow_history_start(flow, since=date(2023, 1, 1))
        assert not flows_history_stalled().exists()  # just started: its task is on its way
        assert list(flows_history_stalled(quiet_for=timedelta(0))) == [flow]

        run = run_start(flow=flow, kind=SyncRun.Kind.HISTORICAL, triggered_by="test")
        assert not flows_history_stalled(quiet_for=timedelta(0)).exists()  # a worker has it
        SyncRun.objects.filter(pk=run.pk).update(status=SyncRun.Status.FAILED)  # it died
        assert list(flows_history_stalled(quiet_for=timedelta(0))) == [flow]

        flow_history_finish(flow)
        assert not flows_history_stalled(quiet_for=timedelta(0)).exists()
