"""Two-way flows, end to end: a change made in the CRM fake reaches the QBO fake through the
CRM's notification channel, once; concurrent edits resolve by the flow's system of truth; what
QuickBooks refuses becomes an error an admin can fix and retry."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.qbo.adapter import QboAdapter
from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.qbo.selectors import record_find, record_render
from connectors.sandbox.zoho import services as zoho_sandbox
from connectors.sandbox.zoho.models import CrmRecord
from connectors.zoho_crm.channels import channel_ensure
from syncs.models import AuditEntry, RecordLink, SyncError, SyncFlow
from syncs.runs import sync_errors_retry
from syncs.services import flow_create_with_defaults
from tests.e2e.conftest import E2E
from tests.e2e.test_products import FOUNTAIN, item_create
from tests.e2e.test_qbo_to_crm import CUSTOMER, crm_records, deliver_and_sync

TWO_WAY = SyncFlow.Direction.TWO_WAY


def two_way(qbo, crm, entity: str, module: str, **extra: Any) -> SyncFlow:
    return flow_create_with_defaults(
        name=f"QBO {entity} <-> CRM {module}",
        source=qbo,
        target=crm,
        source_entity=entity,
        target_entity=module,
        direction=TWO_WAY,
        **extra,
    )


@pytest.fixture
def accounts(qbo, crm) -> SyncFlow:
    flow = two_way(qbo, crm, "Customer", "Accounts")
    channel_ensure(crm, modules=["Accounts"])
    return flow


def qbo_record(company, entity: str, record_id: str) -> dict[str, Any]:
    return record_render(record_find(company=company, entity=entity, record_id=record_id))


def crm_edit(org, module: str, record_id: str, **data: Any) -> None:
    zoho_sandbox.crm_record_update(org=org, module=module, record_id=record_id, data=data)


def settle() -> None:
    """Deliver and process until both sides have nothing more to say."""
    for _ in range(5):
        if not deliver_and_sync():
            return


def crm_modified(module: str, record_id: str) -> str:
    return CrmRecord.objects.get(module=module, record_id=record_id).modified_at.isoformat()


@E2E
def test_a_crm_edit_reaches_quickbooks_once_and_does_not_come_back(qbo_company, crm_org, accounts):
    customer = qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=CUSTOMER)
    settle()
    (account,) = crm_records("Accounts")

    crm_edit(crm_org, "Accounts", account["id"], Website="https://birds.example.org")
    modified = crm_modified("Accounts", account["id"])
    settle()

    after = qbo_record(qbo_company, "Customer", customer["Id"])
    assert after["WebAddr"]["URI"] == "https://birds.example.org"
    assert int(after["SyncToken"]) == int(customer["SyncToken"]) + 1  # written once
    assert crm_modified("Accounts", account["id"]) == modified  # nothing came back
    entry = AuditEntry.objects.get(flow=accounts, towards="source")
    assert entry.changed_fields == {
        "Website": {"before": CUSTOMER["WebAddr"]["URI"], "after": "https://birds.example.org"}
    }
    # The QuickBooks webhook for our own write was our echo: no write to the CRM followed.
    assert not AuditEntry.objects.filter(flow=accounts, towards="target", action="update")
    assert not SyncError.objects.exists()


@E2E
@pytest.mark.parametrize("truth", ["source", "target"])
def test_concurrent_edits_resolve_by_the_system_of_truth(qbo, crm, qbo_company, crm_org, truth):
    flow = two_way(qbo, crm, "Customer", "Accounts", system_of_truth=truth)
    channel_ensure(crm, modules=["Accounts"])
    customer = qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=CUSTOMER)
    settle()
    (account,) = crm_records("Accounts")

    # Both sides change the website, and the CRM also changes the city, before either syncs.
    qbo_sandbox.record_update(
        company=qbo_company,
        entity="Customer",
        record_id=customer["Id"],
        data={"WebAddr": {"URI": "https://qbo.example"}},
    )
    crm_edit(
        crm_org, "Accounts", account["id"], Website="https://crm.example", Billing_City="Oakland"
    )
    settle()

    winner = "https://qbo.example" if truth == "source" else "https://crm.example"
    after = qbo_record(qbo_company, "Customer", customer["Id"])
    (account,) = crm_records("Accounts")
    assert after["WebAddr"]["URI"] == account["Website"] == winner
    assert after["BillAddr"]["City"] == account["Billing_City"] == "Oakland"
    assert after["BillAddr"]["Line1"] == CUSTOMER["BillAddr"]["Line1"]  # the rest is kept
    conflict = AuditEntry.objects.get(flow=flow, action="conflict")
    loser = "https://crm.example" if truth == "source" else "https://qbo.example"
    assert conflict.changed_fields == {"Website": {"before": loser, "after": winner}}
    system = "QuickBooks Online" if truth == "source" else "Zoho CRM"
    assert f"{system}'s value kept (the flow's system of truth)" in conflict.note
    assert not SyncError.objects.exists()


@E2E
@pytest.mark.parametrize("truth", ["source", "target"])
def test_an_edit_in_quickbooks_between_our_read_and_our_write_is_not_overwritten(
    qbo, crm, qbo_company, crm_org, truth, monkeypatch
):
    flow = two_way(qbo, crm, "Customer", "Accounts", system_of_truth=truth)
    channel_ensure(crm, modules=["Accounts"])
    customer = qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=CUSTOMER)
    settle()
    (account,) = crm_records("Accounts")
    crm_edit(
        crm_org, "Accounts", account["id"], Website="https://crm.example", Billing_City="Oakland"
    )
    send = QboAdapter._send

    def someone_edits_quickbooks_first(adapter, entity, writes):
        monkeypatch.setattr(QboAdapter, "_send", send)  # once: the re-send goes through
        address = {**CUSTOMER["BillAddr"], "PostalCode": "94019"}
        qbo_sandbox.record_update(
            company=qbo_company,
            entity="Customer",
            record_id=customer["Id"],
            data={"WebAddr": {"URI": "https://qbo.example"}, "BillAddr": address},
        )
        return send(adapter, entity, writes)  # 5010: the SyncToken just moved

    monkeypatch.setattr(QboAdapter, "_send", someone_edits_quickbooks_first)
    settle()

    winner, loser = ("https://qbo.example", "https://crm.example")[
        :: 1 if truth == "source" else -1
    ]
    after = qbo_record(qbo_company, "Customer", customer["Id"])
    (account,) = crm_records("Accounts")
    assert after["WebAddr"]["URI"] == account["Website"] == winner
    assert after["BillAddr"]["City"] == account["Billing_City"] == "Oakland"  # only ours
    assert after["BillAddr"]["PostalCode"] == account["Billing_Code"] == "94019"  # only theirs
    assert after["SyncToken"] == "2"  # their edit, then ours re-sent once
    conflict = AuditEntry.objects.get(flow=flow, action="conflict")
    assert conflict.changed_fields == {"Website": {"before": loser, "after": winner}}
    assert not SyncError.objects.exists()


@E2E
def test_a_name_quickbooks_already_has_is_a_name_conflict_until_fixed(
    qbo_company, crm_org, accounts
):
    qbo_sandbox.record_create(
        company=qbo_company, entity="Vendor", data={"DisplayName": "Hicks Hardware"}
    )
    customer = qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=CUSTOMER)
    settle()
    (account,) = crm_records("Accounts")

    crm_edit(crm_org, "Accounts", account["id"], Account_Name="Hicks Hardware")
    settle()

    error = SyncError.objects.get(flow=accounts)
    assert (error.category, error.code) == ("name_conflict", "6240")
    assert error.message.startswith("Duplicate Name Exists Error")
    assert error.status == "open" and error.target_id == account["id"]
    assert (
        qbo_record(qbo_company, "Customer", customer["Id"])["DisplayName"]
        == CUSTOMER["DisplayName"]
    )

    crm_edit(crm_org, "Accounts", account["id"], Account_Name="Hicks Birds")
    sync_errors_retry([error])
    settle()

    assert qbo_record(qbo_company, "Customer", customer["Id"])["DisplayName"] == "Hicks Birds"
    error.refresh_from_db()
    assert error.status == "resolved"


@E2E
def test_a_value_too_long_for_quickbooks_is_refused_before_any_call(qbo, crm, qbo_company, crm_org):
    flow = two_way(qbo, crm, "Item", "Products")
    channel_ensure(crm, modules=["Products"])
    fountain = item_create(qbo_company, FOUNTAIN)
    settle()
    (product,) = crm_records("Products")

    long_name = "Rock Fountain, " + "x" * 95
    crm_edit(crm_org, "Products", product["id"], Product_Name=long_name)
    settle()

    error = SyncError.objects.get(flow=flow)
    assert error.category == "value_too_long"
    assert error.message == (
        "Name is 110 characters; QuickBooks Item allows 100. "
        "Shorten it at the source, or set the mapping to truncate."
    )
    assert qbo_record(qbo_company, "Item", fountain["Id"])["Name"] == "Rock Fountain"

    flow.mappings.filter(target_field="Product_Name").update(
        transform="truncate", transform_options={}
    )
    sync_errors_retry([error])
    settle()
    assert qbo_record(qbo_company, "Item", fountain["Id"])["Name"] == long_name[:100]
    error.refresh_from_db()
    assert error.status == "resolved"


@E2E
def test_an_account_added_in_the_crm_becomes_a_quickbooks_customer(qbo_company, crm_org, accounts):
    created = zoho_sandbox.crm_record_create(
        org=crm_org,
        module="Accounts",
        data={"Account_Name": "Zylker Gardens", "Phone": "555-0100", "Billing_City": "Austin"},
    )
    settle()

    link = RecordLink.objects.get(flow=accounts, target_id=created.record_id)
    customer = qbo_record(qbo_company, "Customer", link.source_id)
    assert customer["DisplayName"] == "Zylker Gardens"
    assert customer["BillAddr"]["City"] == "Austin"
    (account,) = crm_records("Accounts")
    assert account["QBO_Id"] == link.source_id and account["QBO_Last_Synced"]
    assert len(crm_records("Accounts")) == 1
    assert not SyncError.objects.exists()
