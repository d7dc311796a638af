"""Runs, links and audit entries: the rows every sync leaves."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from syncs.mapping import payload_hash
from syncs.models import AuditEntry, RecordLink, SyncRun
from syncs.records import (
    LinkConflict,
    RunAlreadyRunning,
    RunCounts,
    audit_record,
    fields_changed,
    link_save,
    run_finish,
    run_start,
    runs_abandon_dead,
    runs_alive,
)

pytestmark = pytest.mark.django_db


def test_a_run_from_start_to_finish(flow):
    run = run_start(flow=flow, kind="live", triggered_by="webhook")
    assert run.status == "running"
    counts = RunCounts(read=10, created=3, updated=5, skipped=1) + RunCounts(read=2, failed=1)
    assert run_finish(run, counts=counts, source_api_calls=2, target_api_calls=4) is True
    assert (run.status, run.read_count, run.failed_count) == ("partial", 12, 1)
    assert (run.source_api_calls, run.target_api_calls) == (2, 4)
    assert run.duration == run.finished_at - run.started_at
    assert run_finish(run, counts=RunCounts()) is False  # finished once only


@pytest.mark.parametrize(
    ("counts", "fatal", "status"),
    [
        (RunCounts(read=3, updated=3), "", "succeeded"),
        (RunCounts(), "", "succeeded"),
        (RunCounts(read=2, failed=2), "", "failed"),
        (RunCounts(read=5, created=5), "Zoho CRM needs reconnecting", "failed"),
    ],
)
def test_run_status_follows_from_its_counts(flow, counts, fatal, status):
    run = run_start(flow=flow, kind="scheduled")
    run_finish(run, counts=counts, fatal=fatal, error_summary="1 record failed" if fatal else "")
    assert run.status == status
    if fatal:
        assert run.error_summary == "Zoho CRM needs reconnecting\n1 record failed"


def test_one_poll_or_backfill_of_a_flow_at_a_time(flow):
    first = run_start(flow=flow, kind="historical")
    with pytest.raises(RunAlreadyRunning):
        run_start(flow=flow, kind="historical")
    run_start(flow=flow, kind="scheduled")  # a different kind may run alongside
    run_start(flow=flow, kind="live")
    run_start(flow=flow, kind="live")  # live batches run in parallel on many workers
    run_finish(first, counts=RunCounts())
    run_start(flow=flow, kind="historical")


def _silent_for(run: SyncRun, seconds: float) -> None:
    SyncRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_runs_whose_worker_stopped_beating_are_marked_dead(flow, settings):
    settings.SYNC_RUN_DEAD_AFTER_SECONDS = 90
    dead = run_start(flow=flow, kind="scheduled")
    quiet = run_start(flow=flow, kind="live")
    _silent_for(dead, 91)
    _silent_for(quiet, 60)  # quiet, but within the limit: alive
    assert set(runs_alive().values_list("pk", flat=True)) == {quiet.pk}
    assert runs_abandon_dead() == 1
    dead.refresh_from_db()
    quiet.refresh_from_db()
    assert dead.status == "failed" and "stopped answering" in dead.error_summary
    assert dead.finished_at >= dead.started_at
    assert quiet.status == "running"
    assert runs_abandon_dead() == 0


def test_already_running_is_said_only_of_a_live_run(flow, settings):
    settings.SYNC_RUN_DEAD_AFTER_SECONDS = 90
    first = run_start(flow=flow, kind="historical")
    _silent_for(first, 30)
    with pytest.raises(RunAlreadyRunning):
        run_start(flow=flow, kind="historical")
    _silent_for(first, 120)  # its worker was killed
    second = run_start(flow=flow, kind="historical")
    first.refresh_from_db()
    assert first.status == "failed" and second.status == "running"


def test_a_beat_moves_the_heartbeat_of_this_workers_open_runs(flow):
    from syncs import heartbeat

    mine = run_start(flow=flow, kind="live")
    finished = run_start(flow=flow, kind="live")
    run_finish(finished, counts=RunCounts())
    _silent_for(mine, 60)
    heartbeat.beat(force=True)
    mine.refresh_from_db()
    assert timezone.now() - mine.heartbeat_at < timedelta(seconds=5)
    assert SyncRun.objects.get(pk=finished.pk).status == "succeeded"


def test_run_timestamps_are_checked_by_the_database(flow):
    run = run_start(flow=flow, kind="live")
    with pytest.raises(IntegrityError), transaction.atomic():
        SyncRun.objects.filter(pk=run.pk).update(finished_at=run.started_at - timedelta(1))


def test_links_are_created_then_updated_in_place(flow):
    link = link_save(
        flow=flow,
        source_id="2",
        target_id="4150868000000376008",
        source_version="0",
        target_version="2020-10-14T10:31:43+05:30",
        target_hash=payload_hash({"Account_Name": "Bill's"}),
    )
    again = link_save(flow=flow, source_id="2", target_id="4150868000000376008", source_version="1")
    assert again.pk == link.pk
    again.refresh_from_db()
    assert (again.source_version, again.target_version) == ("1", "2020-10-14T10:31:43+05:30")
    assert again.target_hash == payload_hash({"Account_Name": "Bill's"})
    assert str(again) == "2 <-> 4150868000000376008"


def test_a_target_linked_twice_is_a_conflict(flow):
    link_save(flow=flow, source_id="2", target_id="9001")
    with pytest.raises(LinkConflict, match="9001 is already linked to 2"):
        link_save(flow=flow, source_id="3", target_id="9001")
    assert RecordLink.objects.count() == 1


def test_blank_link_ids_are_refused_by_the_database(flow):
    with pytest.raises(IntegrityError), transaction.atomic():
        RecordLink.objects.create(flow=flow, source_id="2", target_id="")


def test_changed_fields_before_and_after():
    before = {"Phone": "4154446538", "Billing": {"City": "Half Moon Bay"}, "QBO_Balance": 85.0}
    after = {
        "Phone": "+14154446538",
        "Billing": {"City": "Half Moon Bay"},
        "QBO_Balance": Decimal("85"),
    }
    assert fields_changed(before, after) == {
        "Phone": {"before": "4154446538", "after": "+14154446538"}
    }
    assert fields_changed(None, {"Account_Name": "New"}) == {
        "Account_Name": {"before": None, "after": "New"}
    }


def test_audit_entry_says_what_changed_and_why(flow):
    run = run_start(flow=flow, kind="live")
    link = link_save(flow=flow, source_id="2", target_id="9001")
    entry = audit_record(
        flow=flow,
        run=run,
        link=link,
        action="conflict",
        source_id="2",
        target_id="9001",
        before={"Phone": "(415) 444-6538"},
        after={"Phone": "+14154446538"},
        note="both sides changed Phone; kept QuickBooks' value (system of truth)",
    )
    entry.refresh_from_db()
    assert entry.changed_fields == {"Phone": {"before": "(415) 444-6538", "after": "+14154446538"}}
    assert entry.towards == "target"
    assert str(entry) == "Conflict resolved 2 (Customers to Accounts)"
    assert list(AuditEntry.objects.all()) == [entry]
