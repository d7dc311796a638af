"""Historical syncs that depend on each other (Contacts under Accounts), started together: one
run per flow, the dependent waits for its dependency and goes on when it is done; a failure
ends the run and the historical sync with its reason, and the task does not swallow it."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import transaction

from connectors.sandbox.models import FaultProfile, Vendor
from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.zoho.models import CrmRecord
from syncs.models import RecordLink, SyncError, SyncFlow, SyncRun
from syncs.services import flow_history_start
from syncs.tasks import flow_history_task
from tests.e2e.conftest import E2E

CUSTOMERS = 120
SINCE = date(2000, 1, 1)


@pytest.fixture
def customers(qbo_company) -> int:
    FaultProfile.objects.update_or_create(vendor=Vendor.QBO, defaults={"webhooks_enabled": False})
    with transaction.atomic():
        for n in range(CUSTOMERS):
            qbo_sandbox.record_create(
                company=qbo_company,
                entity="Customer",
                data={"DisplayName": f"Shop {n:03d}", "GivenName": "Ann", "FamilyName": f"Lee{n}"},
            )
    return CUSTOMERS


@pytest.fixture
def queued(monkeypatch) -> list[tuple]:
    """The tasks the engine queues, instead of a broker."""
    calls: list[tuple] = []
    monkeypatch.setattr(
        "syncs.tasks.async_task", lambda func, *args, **kw: calls.append((func, *args))
    )
    return calls


def history_state(flow: SyncFlow) -> tuple[str, str]:
    flow.refresh_from_db()
    return flow.history_state, flow.history_error


@E2E
def test_contacts_started_with_their_accounts_wait_and_then_complete(flows, customers, queued):
    accounts, contacts = flows["Accounts"], flows["Contacts"]
    flow_history_start(accounts, since=SINCE)
    flow_history_start(contacts, since=SINCE)

    # The Contacts' task comes first: it waits, opening no run of its own or of the Accounts.
    assert flow_history_task(contacts.pk) == "blocked or waiting"
    state, note = history_state(contacts)
    assert state == "running"
    assert note.startswith(f"Waiting for the historical sync of {accounts}")
    assert not SyncRun.objects.exists()

    assert flow_history_task(accounts.pk).startswith("run ")
    assert history_state(accounts) == ("done", "")
    # The Accounts being done lets the waiting Contacts go on at once.
    assert ("syncs.tasks.flow_history_task", contacts.pk) in queued

    assert flow_history_task(contacts.pk).startswith("run ")
    assert history_state(contacts) == ("done", "")
    assert CrmRecord.objects.filter(module="Accounts").count() == CUSTOMERS
    assert CrmRecord.objects.filter(module="Contacts").count() == CUSTOMERS
    account_ids = set(
        CrmRecord.objects.filter(module="Accounts").values_list("record_id", flat=True)
    )
    lookups = {r.data["Account_Name"]["id"] for r in CrmRecord.objects.filter(module="Contacts")}
    assert lookups == account_ids
    # One historical run per flow; the Contacts never opened a second one for the Accounts.
    runs = SyncRun.objects.values_list("flow_id", "kind", "status")
    assert sorted(runs) == sorted(
        [(accounts.pk, "historical", "succeeded"), (contacts.pk, "historical", "succeeded")]
    )
    assert RecordLink.objects.filter(flow=contacts).count() == CUSTOMERS
    assert not SyncError.objects.exists()


@E2E
def test_a_dependency_that_starts_mid_run_is_waited_for_not_opened_twice(
    flows, customers, queued, monkeypatch
):
    """The Contacts' run is already reading when the Accounts' historical sync starts: its next
    page finds the Accounts busy and ends its run, saying why, instead of a second Accounts run."""
    accounts, contacts = flows["Accounts"], flows["Contacts"]
    flow_history_start(contacts, since=SINCE)
    monkeypatch.setattr("syncs.runs.flow_dependencies", lambda flow: [])  # past the first check
    flow_history_start(accounts, since=SINCE)

    assert flow_history_task(contacts.pk).startswith("run ")

    run = SyncRun.objects.get(flow=contacts)
    assert run.status == "succeeded"
    assert run.error_summary.startswith(f"Waiting for the historical sync of {accounts}")
    assert history_state(contacts)[0] == "running"
    assert not SyncRun.objects.filter(flow=accounts).exists()
    assert not CrmRecord.objects.filter(module="Contacts").exists()
    assert not SyncError.objects.exists()


@E2E
def test_a_failure_ends_the_run_and_the_history_with_its_reason_and_is_raised(
    flows, customers, queued, monkeypatch
):
    accounts = flows["Accounts"]
    flow_history_start(accounts, since=SINCE)

    def broken(ctx, records):
        raise ValueError("a mapping that cannot be applied")

    monkeypatch.setattr("syncs.runs.records_sync", broken)

    with pytest.raises(ValueError, match="cannot be applied"):
        flow_history_task(accounts.pk)

    run = SyncRun.objects.get(flow=accounts)
    assert run.status == "failed"
    assert run.error_summary == "ValueError: a mapping that cannot be applied"
    assert history_state(accounts) == ("failed", "ValueError: a mapping that cannot be applied")
    assert not SyncRun.objects.filter(status="running").exists()
