"""The outbox keeps every write until its answer is recorded, and forgets it only when that is
safe: answered rows after a week, unanswered rows to a pulled system after their batch was
planned again; a pushed system's writes wait however long it takes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.models import Connection
from syncs.models import OutboxWrite, SyncFlow
from syncs.outbox import idempotency_key, outbox_queue, outbox_sweep

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
