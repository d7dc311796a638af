"""The outbox keeps every write until its answer is recorded, and forgets it only when that is
safe: answered rows after a week, unanswered rows to a pulled system after their batch was
planned again; a pushed system's writes wait however long it takes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from connectors.base.records import WriteOutcome
from connectors.models import Connection
from syncs.models import AuditEntry, OutboxWrite, RecordLink, SyncError, SyncFlow
from syncs.outbox import idempotency_key, outbox_queue, outbox_sweep, outcomes_record

pytestmark = pytest.mark.django_db


def row(flow: SyncFlow, n: int, **fields) -> OutboxWrite:
    return OutboxWrite(
        flow=flow,
        connection=flow.target,
        entity=flow.target_entity,
        idempotency_key=idempotency_key(flow, f"src-{n}", "3", f"digest{n}"),
        source_id=f"src-{n}",
        source_version="3",
        payload={"Account_Name": f"Acme {n}"},
        digest=f"digest{n}",
        **fields,
    )


def test_a_write_queued_again_is_the_same_row(flow):
    first = outbox_queue([row(flow, 1), row(flow, 2)])
    # Retried after a crash, the record the first attempt created is found: an update now.
    again = outbox_queue([row(flow, 2, target_id="crm-2"), row(flow, 3)])
    assert again[0].pk == first[1].pk
    assert OutboxWrite.objects.get(pk=first[1].pk).target_id == "crm-2"
    assert OutboxWrite.objects.count() == 3
    OutboxWrite.objects.filter(pk=first[0].pk).update(status="done")
    (due_again,) = outbox_queue([row(flow, 1)])
    assert (due_again.pk, due_again.status) == (first[0].pk, "pending")


def test_the_sweep_forgets_only_what_is_safe_to_forget(flow):
    pushed = Connection.objects.create(system="qbd", name="Desktop file")
    to_desktop = SyncFlow.objects.create(
        name="Accounts to Desktop",
        source=flow.target,
        target=pushed,
        source_entity="Accounts",
        target_entity="Customer",
    )
    long_ago = timezone.now() - timedelta(days=8)
    kept = outbox_queue(
        [
            row(flow, 1, status="done", answered_at=timezone.now()),
            row(flow, 2),  # pending, young: its run may be sending it now
            row(to_desktop, 3),  # pending for a pushed system: waits for its next session
        ]
    )
    gone = outbox_queue(
        [row(flow, 4, status="done", answered_at=long_ago), row(flow, 5, status="sent")]
    )
    OutboxWrite.objects.filter(pk__in=[r.pk for r in gone] + [kept[2].pk]).update(
        created_at=long_ago
    )

    assert outbox_sweep() == 2
    assert sorted(OutboxWrite.objects.values_list("source_id", flat=True)) == [
        "src-1",
        "src-2",
        "src-3",
    ]


def answers_for(flow: SyncFlow, ns: range) -> list:
    rows = outbox_queue([row(flow, n) for n in ns])
    return [
        (r, WriteOutcome(key=r.source_id, ok=True, target_id=f"crm-{n}", version="1"), None)
        for n, r in zip(ns, rows, strict=True)
    ]


def test_a_page_of_successes_is_recorded_in_as_many_statements_however_long(flow):
    SyncError.objects.create(
        flow=flow, source_id="src-3", category="remote_unavailable", message="was down"
    )
    counted = []
    for ns in (range(0, 5), range(100, 150)):
        answers = answers_for(flow, ns)
        with CaptureQueriesContext(connection) as queries:
            recorded = outcomes_record(flow, None, answers)
        counted.append(len(queries.captured_queries))
        assert [r.counts.created for r in recorded] == [1] * len(ns)
    assert counted[0] == counted[1], counted
    assert RecordLink.objects.filter(flow=flow).count() == 55
    assert AuditEntry.objects.filter(flow=flow, action="create").count() == 55
    assert SyncError.objects.get(source_id="src-3").status == "resolved"


def test_a_conflict_in_a_page_is_that_records_error_alone(flow):
    RecordLink.objects.create(flow=flow, source_id="someone-else", target_id="crm-2")
    recorded = outcomes_record(flow, None, answers_for(flow, range(1, 4)))

    assert [(r.counts.created, r.counts.failed) for r in recorded] == [(1, 0), (0, 1), (1, 0)]
    linked = dict(RecordLink.objects.filter(flow=flow).values_list("source_id", "target_id"))
    assert linked == {"someone-else": "crm-2", "src-1": "crm-1", "src-3": "crm-3"}
    error = SyncError.objects.get(flow=flow, source_id="src-2")
    assert error.category == "duplicate" and "already linked" in error.message
