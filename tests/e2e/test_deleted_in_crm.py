"""A CRM record deleted by someone while QuickBooks keeps its customer: the next change of the
customer creates the record again, links it, and the audit entry says why, one-way or two-way."""

from __future__ import annotations

from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.zoho import services as zoho_sandbox
from syncs.models import AuditEntry, RecordLink, SyncError
from tests.e2e.conftest import E2E
from tests.e2e.test_qbo_to_crm import CUSTOMER, crm_records, deliver_and_sync
from tests.e2e.test_twoway import accounts, settle  # noqa: F401 - the two-way fixture


def rename(company, customer: dict, name: str) -> None:
    qbo_sandbox.record_update(
        company=company,
        entity="Customer",
        record_id=customer["Id"],
        data={"Id": customer["Id"], "DisplayName": name},
    )


def assert_created_again(flow, deleted_id: str, name: str) -> dict:
    (account,) = crm_records("Accounts")
    assert account["Account_Name"] == name and account["id"] != deleted_id
    assert RecordLink.objects.get(flow=flow).target_id == account["id"]
    entry = AuditEntry.objects.filter(flow=flow).latest("pk")
    assert (entry.action, entry.target_id) == ("create", account["id"])
    assert entry.note == (
        f"The linked Zoho CRM record {deleted_id} no longer exists there (deleted); created again."
    )
    assert not SyncError.objects.exists()
    return account


@E2E
def test_one_way_a_deleted_account_is_created_again_and_its_contact_follows(
    qbo_company, crm_org, flows
):
    customer = qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=CUSTOMER)
    deliver_and_sync()
    (deleted,) = crm_records("Accounts")
    zoho_sandbox.crm_record_delete(org=crm_org, module="Accounts", record_id=deleted["id"])

    rename(qbo_company, customer, "Amy's Bird Sanctuary & Cafe")
    deliver_and_sync()

    account = assert_created_again(flows["Accounts"], deleted["id"], "Amy's Bird Sanctuary & Cafe")
    (contact,) = crm_records("Contacts")
    assert contact["Account_Name"]["id"] == account["id"]


@E2E
def test_two_way_a_deleted_account_is_created_again(qbo_company, crm_org, accounts):  # noqa: F811
    customer = qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=CUSTOMER)
    settle()
    (deleted,) = crm_records("Accounts")
    zoho_sandbox.crm_record_delete(org=crm_org, module="Accounts", record_id=deleted["id"])
    settle()  # the CRM's notification of the delete changes nothing in QuickBooks

    rename(qbo_company, customer, "Amy's Bird Sanctuary & Cafe")
    settle()

    assert_created_again(accounts, deleted["id"], "Amy's Bird Sanctuary & Cafe")
