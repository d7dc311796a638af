"""The engine when things go wrong: bad data, duplicates, throttling, expiring tokens, a worker
that dies mid-batch. Nothing is lost and nothing is written twice."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from connectors.models import Connection
from connectors.sandbox.models import FaultProfile, Vendor
from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.qbo.models import Token
from connectors.sandbox.zoho import services as zoho_sandbox
from connectors.services import connection_test
from syncs import engine, runs
from syncs.live import inbox_drain
from syncs.models import ChangeEvent, OutboxWrite, RecordLink, SyncError, SyncFlow
from syncs.runs import sync_errors_retry
from syncs.services import flow_create_with_defaults, flow_history_start, flow_pause
from syncs.tasks import tokens_refresh
from tests.e2e.conftest import E2E
from tests.e2e.test_qbo_to_crm import CUSTOMER, crm_records, deliver_and_sync


def _customer(n: int, **extra) -> dict:
    return {
        "DisplayName": f"Customer {n:04d}",
        "GivenName": f"Given{n}",
        "FamilyName": f"Family{n}",
        "PrimaryEmailAddr": {"Address": f"customer{n}@example.com"},
        **extra,
    }


@E2E
def test_mandatory_field_left_empty_is_an_error_and_retry_resolves_it_once_fixed(
    qbo_company, flows
):
    last_name = flows["Contacts"].mappings.get(target_field="Last_Name")
    last_name.transform_options = {}  # an admin removed the DisplayName fallback
    last_name.save()
    qbo_sandbox.record_create(
        company=qbo_company,
        entity="Customer",
        data={"DisplayName": "Acme Ltd", "CompanyName": "Acme Ltd"},
    )
    deliver_and_sync()

    error = SyncError.objects.get(flow=flows["Contacts"])
    assert (error.category, error.status) == ("mandatory_missing", "open")
    assert "Last_Name" in error.message
    assert error.source_name == "Acme Ltd"
    assert error.payload is not None and "Last_Name" not in error.payload
    assert len(crm_records("Accounts")) == 1 and crm_records("Contacts") == []

    last_name.transform_options = {"fallback_paths": ["DisplayName"]}
    last_name.save()
    assert (
        sync_errors_retry(SyncError.objects.filter(pk=error.pk).select_related("flow__source")) == 1
    )
    inbox_drain()

    error.refresh_from_db()
    assert error.status == "resolved"
    (contact,) = crm_records("Contacts")
    assert contact["Last_Name"] == "Acme Ltd"


@E2E
def test_a_duplicate_in_crm_is_reported_with_zohos_message(qbo_company, flows):
    qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=CUSTOMER)
    qbo_sandbox.record_create(
        company=qbo_company,
        entity="Customer",
        data={**CUSTOMER, "DisplayName": "Amy's Other Shop", "CompanyName": "Other"},
    )
    deliver_and_sync()

    assert len(crm_records("Accounts")) == 2
    assert len(crm_records("Contacts")) == 1
    error = SyncError.objects.get(flow=flows["Contacts"])
    assert error.category == "duplicate"
    assert error.code == "DUPLICATE_DATA"
    assert "duplicate" in error.message.lower()


@E2E
def test_throttling_storm_pauses_the_connection_and_loses_nothing(qbo, qbo_company, flows, sleeps):
    for n in range(5):
        qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=_customer(n))
    FaultProfile.objects.update_or_create(vendor=Vendor.QBO, defaults={"rate_limit_per_minute": 1})
    connection_test(qbo)  # the minute's one call: everything after it is a 429
    deliver_and_sync()

    # Each 429 paused the connection for Intuit's minute; the changes went back to the inbox
    # whole, for when the pause is over. Throttling is nobody's error to triage.
    assert sum(sleeps) >= 4 * 59, "the calls waited out the pause, in slices"
    assert not SyncError.objects.exists()
    qbo.refresh_from_db()
    assert qbo.throttled_until is not None
    waiting = ChangeEvent.objects.filter(connection=qbo, status="pending")
    assert waiting.count() == 5
    assert all("Rate limited" in e.last_error and e.attempts == 0 for e in waiting)
    assert all(e.available_at >= qbo.throttled_until - timedelta(seconds=1) for e in waiting)
    assert crm_records("Accounts") == []

    # The quota allows again: the pause is over and the whole batch goes at once.
    FaultProfile.objects.filter(vendor=Vendor.QBO).update(rate_limit_per_minute=None)
    Connection.objects.filter(pk=qbo.pk).update(throttled_until=timezone.now())
    waiting.update(available_at=timezone.now())
    inbox_drain()

    assert not SyncError.objects.exists()
    assert sorted(a["Account_Name"] for a in crm_records("Accounts")) == [
        f"Customer {n:04d}" for n in range(5)
    ]
    assert len(crm_records("Contacts")) == 5


@E2E
def test_an_access_token_expiring_mid_run_is_refreshed_once(qbo, qbo_company, flows):
    qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=CUSTOMER)
    Token.objects.filter(kind=Token.Kind.ACCESS).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    old_refresh = qbo.refresh_token

    deliver_and_sync()

    assert len(crm_records("Accounts")) == 1
    qbo.refresh_from_db()
    assert qbo.refresh_token != old_refresh  # rotated and saved


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing in the worker gets to clean up."""


@E2E
def test_a_worker_killed_mid_batch_leaves_no_duplicates_and_loses_nothing(
    qbo_company, flows, monkeypatch
):
    for n in range(3):
        qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=_customer(n))
    real_record = engine.outcomes_keep
    calls = {"n": 0}

    def dies_after_the_second_write(ctx, answered):
        calls["n"] += 1  # a page each: the accounts, then the contacts
        if calls["n"] == 2:
            raise WorkerKilled  # the CRM has the contacts; their links are not recorded
        real_record(ctx, answered)

    monkeypatch.setattr(engine, "outcomes_keep", dies_after_the_second_write)
    with pytest.raises(WorkerKilled):
        deliver_and_sync()
    monkeypatch.setattr(engine, "outcomes_keep", real_record)
    assert ChangeEvent.objects.filter(status="processing").count() == 3

    ChangeEvent.objects.filter(status="processing").update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    inbox_drain()  # another worker takes the abandoned events over

    assert ChangeEvent.objects.exclude(status="done").count() == 0
    assert sorted(a["QBO_Id"] for a in crm_records("Accounts")) == sorted(
        RecordLink.objects.filter(flow=flows["Accounts"]).values_list("source_id", flat=True)
    )
    assert len(crm_records("Accounts")) == 3
    assert len(crm_records("Contacts")) == 3
    # The killed batch's writes were kept in the outbox and written again under their keys.
    assert set(OutboxWrite.objects.values_list("status", flat=True)) == {"done"}


@E2E
def test_a_paused_flow_says_so_and_catches_up_on_resume(qbo_company, flows):
    flow_pause(flows["Accounts"])
    flow_pause(flows["Contacts"])
    qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=CUSTOMER)
    deliver_and_sync()

    assert crm_records("Accounts") == []
    error = SyncError.objects.get(flow=flows["Accounts"])
    assert error.category == "paused"
    assert error.message.startswith("Sync is paused for this module as of ")

    for flow in flows.values():
        flow.refresh_from_db()
        runs.flow_resume_catch_up(flow)
    inbox_drain()

    assert len(crm_records("Accounts")) == 1 and len(crm_records("Contacts")) == 1
    assert not SyncError.objects.filter(status__in=("open", "retrying")).exists()


@E2E
def test_vendors_flow_and_an_edition_without_vendors(qbo, crm, crm_org, qbo_company):
    flow = flow_create_with_defaults(
        name="Vendors", source=qbo, target=crm, source_entity="Vendor", target_entity="Vendors"
    )
    qbo_sandbox.record_create(
        company=qbo_company,
        entity="Vendor",
        data={
            "DisplayName": "Books by Bessie",
            "PrimaryEmailAddr": {"Address": "bessie@example.com"},
        },
    )
    deliver_and_sync()
    (vendor,) = crm_records("Vendors")
    assert (vendor["Vendor_Name"], vendor["Email"]) == ("Books by Bessie", "bessie@example.com")

    zoho_sandbox.crm_org_update(org=crm_org, vendors_enabled=False)
    qbo_sandbox.record_create(
        company=qbo_company, entity="Vendor", data={"DisplayName": "Brosnahan Insurance"}
    )
    deliver_and_sync()
    error = SyncError.objects.get(flow=flow)
    assert error.category == "module_unavailable"
    assert error.source_name == "Brosnahan Insurance"


@E2E
def test_reconciliation_catches_a_change_whose_webhook_was_lost(qbo_company, flows):
    FaultProfile.objects.update_or_create(vendor=Vendor.QBO, defaults={"webhooks_enabled": False})
    qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=CUSTOMER)

    for flow in flows.values():  # the scheduled reconcile, parents first
        runs.flow_poll(flow)

    assert len(crm_records("Accounts")) == 1 and len(crm_records("Contacts")) == 1
    accounts = SyncFlow.objects.get(pk=flows["Accounts"].pk)
    assert accounts.cursor["source"]["modified_since"]
    second = runs.flow_poll(accounts)  # CDC from the cursor: nothing new, nothing written
    assert (second.created_count, second.updated_count) == (0, 0)
    assert second.source_api_calls == 1


@E2E
def test_contacts_backfill_before_accounts_syncs_each_account_first(qbo_company, flows):
    FaultProfile.objects.update_or_create(vendor=Vendor.QBO, defaults={"webhooks_enabled": False})
    for n in range(3):
        qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=_customer(n))
    contacts = flows["Contacts"]
    flow_history_start(contacts, since=date(2000, 1, 1))

    run = runs.flow_history_run(contacts)

    assert (run.created_count, run.failed_count) == (3, 0)
    accounts = {a["id"] for a in crm_records("Accounts")}
    assert len(accounts) == 3
    assert {c["Account_Name"]["id"] for c in crm_records("Contacts")} == accounts
    assert not SyncError.objects.exists()
    contacts.refresh_from_db()
    assert contacts.cursor["source"]["modified_since"]  # reconciliation starts after the backfill


@E2E
def test_the_token_refresh_task_refreshes_what_expires_soon(qbo):
    Connection.objects.filter(pk=qbo.pk).update(
        access_token_expires_at=timezone.now() + timedelta(minutes=3)
    )
    old = Connection.objects.get(pk=qbo.pk).access_token

    assert tokens_refresh() == 1

    fresh = Connection.objects.get(pk=qbo.pk)
    assert fresh.access_token != old
    assert fresh.access_token_expires_at > timezone.now() + timedelta(minutes=50)
