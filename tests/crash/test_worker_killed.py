"""A worker SIGKILLed in the middle of its work: the next one finishes it, and both sides end
with every record once, every link, no run left "running" and no error for a person.

The kill comes at the worst moment: the CRM has taken records and the worker has not heard so
(the fake holds its answer to the last write), so the CRM has records whose links were never
saved, and it reports them back on the two-way flow's notification channel.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from connectors.models import Connection
from connectors.sandbox.models import FaultProfile, OutboundDelivery, Vendor
from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.qbo.models import Company, Record
from connectors.sandbox.zoho.models import CrmRecord
from connectors.zoho_crm.channels import channel_ensure
from syncs.models import (
    OPEN_STATUSES,
    AuditEntry,
    ChangeEvent,
    RecordLink,
    SyncError,
    SyncFlow,
    SyncRun,
)
from syncs.services import flow_create_with_defaults, flow_history_start
from syncs.tasks import flow_history_start_async
from tests.crash.conftest import CRASH, Worker, wait_for

pytestmark = CRASH

SINCE = date(2000, 1, 1)
RESUMED_WITHIN = 300  # seconds from the restart: the "within 5 minutes"


def customer(n: int) -> dict[str, Any]:
    return {"DisplayName": f"Shop {n:04d}", "GivenName": "Ann", "FamilyName": f"Lee{n:04d}"}


def customers_create(company: Company, numbers: range) -> None:
    with transaction.atomic():
        for n in numbers:
            qbo_sandbox.record_create(company=company, entity="Customer", data=customer(n))


@pytest.fixture
def accounts_and_contacts(qbo: Connection, crm: Connection) -> tuple[SyncFlow, SyncFlow]:
    """Customers two-way with CRM Accounts (the CRM reports its changes on a channel), and
    one-way to Contacts under them: the flows of the issue's crash."""
    accounts = flow_create_with_defaults(
        name="Customers <-> Accounts",
        source=qbo,
        target=crm,
        source_entity="Customer",
        target_entity="Accounts",
        direction=SyncFlow.Direction.TWO_WAY,
    )
    contacts = flow_create_with_defaults(
        name="Customers -> Contacts",
        source=qbo,
        target=crm,
        source_entity="Customer",
        target_entity="Contacts",
    )
    channel_ensure(crm, modules=["Accounts"])
    return accounts, contacts


def crm_upsert_of(module: str, *, written_at_least: int = 0):
    """The first CRM upsert of `module` after which the CRM holds that many of its records."""

    def when(vendor: str, request: Any) -> bool:
        return (
            vendor == Vendor.ZOHO_CRM
            and request.method == "POST"
            and request.path.endswith(f"/{module}/upsert")
            and CrmRecord.objects.filter(module=module).count() >= written_at_least
        )

    return when


def state(flows: tuple[SyncFlow, ...]) -> dict[str, Any]:
    """What is left to do, and what each side holds."""
    return {
        "histories": list(
            SyncFlow.objects.filter(pk__in=[f.pk for f in flows]).values_list(
                "name", "history_state", "history_done", "history_error"
            )
        ),
        "running": list(
            SyncRun.objects.filter(status=SyncRun.Status.RUNNING).values_list("flow_id", "kind")
        ),
        "events": ChangeEvent.objects.filter(status__in=["pending", "processing"]).count(),
        # A delivery the killed worker was sending waits out the vendor's own retry delay.
        "deliveries due": list(
            OutboundDelivery.objects.filter(
                status="pending", next_attempt_at__lte=timezone.now()
            ).values_list("vendor", "attempts", "last_status_code", "last_error", "next_attempt_at")
        ),
        "errors": list(
            SyncError.objects.filter(status__in=OPEN_STATUSES).values_list("category", "message")[
                :5
            ]
        ),
        "crm": {m: CrmRecord.objects.filter(module=m).count() for m in ("Accounts", "Contacts")},
        "links": {f.target_entity: RecordLink.objects.filter(flow=f).count() for f in flows},
    }


def settled(flows: tuple[SyncFlow, ...]) -> bool:
    """Nothing left to do: histories done, no run open, no event or webhook waiting."""
    now = state(flows)
    return (
        all(h[1] == "done" for h in now["histories"])
        and not now["running"]
        and not now["events"]
        and not now["deliveries due"]
    )


def crm_ids(module: str, field: str = "QBO_Id") -> list[str]:
    return [
        r.data.get(field)
        for r in CrmRecord.objects.filter(module=module, deleted_at=None).order_by("pk")
    ]


def assert_once_each(company: Company, flows: tuple[SyncFlow, ...], expected: int) -> None:
    """Both sides hold every record once, every record is linked, nothing waits for a person."""
    books = Record.objects.filter(company=company, entity="Customer", deleted=False)
    assert books.count() == expected  # nothing was created in the customer's books
    source_ids = {str(i) for i in books.values_list("qbo_id", flat=True)}
    for flow in flows:
        ids = crm_ids(flow.target_entity)
        assert len(ids) == expected, flow.target_entity
        assert set(ids) == source_ids, flow.target_entity  # every one once
        assert RecordLink.objects.filter(flow=flow).count() == expected
    assert not AuditEntry.objects.filter(towards=AuditEntry.Towards.SOURCE).exists()
    assert not SyncError.objects.filter(status__in=OPEN_STATUSES).exists()
    assert not SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists()


def test_a_worker_killed_mid_history_is_finished_by_the_next_one(
    qbo_company, accounts_and_contacts, worker: Worker, answer_hold
):
    """The issue's crash: both historical syncs started together, the worker killed while a
    batch of Accounts is written and not yet linked."""
    total = 2000
    FaultProfile.objects.update_or_create(vendor=Vendor.QBO, defaults={"webhooks_enabled": False})
    customers_create(qbo_company, range(total))
    accounts, contacts = accounts_and_contacts
    # Pages of 1000 are written 100 at a time and linked once all is written: the kill comes
    # in the second page, at 1,300 written, 1,000 linked.
    hold = answer_hold(crm_upsert_of("Accounts", written_at_least=1300))
    for flow in (accounts, contacts):  # the admin's button, on both at once
        assert flow_history_start(flow, since=SINCE)
        flow_history_start_async(flow.pk)

    worker.start()
    wait_for(hold.held.is_set, timeout=180, what="a CRM write mid-history", worker=worker)
    worker.kill()
    hold.release()

    assert CrmRecord.objects.filter(module="Accounts").count() == 1300
    assert RecordLink.objects.filter(flow=accounts).count() == 1000  # 300 written, not linked
    assert SyncRun.objects.filter(flow=accounts, kind="historical", status="running").exists()
    accounts.refresh_from_db()
    assert (accounts.history_state, accounts.history_done) == ("running", 1000)

    restarted = time.monotonic()
    worker.start()
    wait_for(
        lambda: settled(accounts_and_contacts),
        timeout=RESUMED_WITHIN,
        what="both historical syncs completing after the restart",
        worker=worker,
        state=lambda: state(accounts_and_contacts),
    )
    print(f"\nhistory resumed and completed {time.monotonic() - restarted:.1f} s after restart")

    assert_once_each(qbo_company, accounts_and_contacts, total)
    dead = SyncRun.objects.get(flow=accounts, kind="historical", status="failed")
    assert dead.error_summary.startswith("Stopped: its worker stopped answering")
    for flow in accounts_and_contacts:
        flow.refresh_from_db()
        assert (flow.history_done, flow.history_total, flow.history_error) == (total, total, "")


def test_a_worker_killed_mid_batch_leaves_its_events_to_the_next_one(
    qbo_company, accounts_and_contacts, worker: Worker, answer_hold
):
    """Live changes: QuickBooks' webhooks queue 300 new customers, the worker is killed while
    the CRM holds the answer to one of their batches."""
    total = 300
    accounts, contacts = accounts_and_contacts
    for flow in accounts_and_contacts:  # nothing to backfill: the books start empty
        flow_history_start(flow, since=SINCE)
        SyncFlow.objects.filter(pk=flow.pk).update(history_state="done")
    hold = answer_hold(crm_upsert_of("Accounts"))

    worker.start()
    customers_create(qbo_company, range(total))
    wait_for(hold.held.is_set, timeout=180, what="a CRM write of a live batch", worker=worker)
    worker.kill()
    hold.release()

    written = CrmRecord.objects.filter(module="Accounts").count()
    assert written > RecordLink.objects.filter(flow=accounts).count()
    assert ChangeEvent.objects.filter(status="processing").exists()  # claimed by the dead
    assert SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists()

    restarted = time.monotonic()
    worker.start()
    wait_for(
        lambda: (
            settled(accounts_and_contacts)
            and RecordLink.objects.filter(flow=contacts).count() == total
        ),
        timeout=RESUMED_WITHIN,
        what="every live change synced after the restart",
        worker=worker,
        state=lambda: state(accounts_and_contacts),
    )
    print(f"\nlive batch resumed and completed {time.monotonic() - restarted:.1f} s after restart")

    assert_once_each(qbo_company, accounts_and_contacts, total)
    assert SyncRun.objects.filter(
        status="failed", error_summary__startswith="Stopped: its worker stopped answering"
    ).exists()
