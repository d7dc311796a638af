"""A CRM record deleted by someone while QuickBooks keeps it: the next change of the QuickBooks
record creates it again, links it, and the audit entry says why, one-way or two-way. An invoice
pointing at a deleted Account or Product waits, retries by itself, and gets them back first."""

from __future__ import annotations

from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.zoho import services as zoho_sandbox
from syncs.models import AuditEntry, RecordLink, SyncError
from syncs.runs import sync_errors_retry
from tests.e2e.conftest import E2E
from tests.e2e.test_products import DESIGN, item_create
from tests.e2e.test_qbo_to_crm import CUSTOMER, crm_records, deliver_and_sync
from tests.e2e.test_transactions import catalogue, sales_line  # noqa: F401 - a fixture
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


@E2E
def test_an_invoice_whose_account_and_product_were_deleted_gets_them_back_on_its_retries(
    qbo_company,
    crm_org,
    catalogue,  # noqa: F811
):
    customer = qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=CUSTOMER)
    design = item_create(qbo_company, DESIGN)
    invoice = qbo_sandbox.record_create(
        company=qbo_company,
        entity="Invoice",
        data={"CustomerRef": {"value": customer["Id"]}, "Line": [sales_line(design, 2)]},
    )
    deliver_and_sync()
    (old_account,), (old_product,) = crm_records("Accounts"), crm_records("Products")
    for module, record in (("Accounts", old_account), ("Products", old_product)):
        zoho_sandbox.crm_record_delete(org=crm_org, module=module, record_id=record["id"])

    qbo_sandbox.record_update(
        company=qbo_company,
        entity="Invoice",
        record_id=invoice["Id"],
        data={"Id": invoice["Id"], "Line": [sales_line(design, 3)]},
    )
    deliver_and_sync()

    error = SyncError.objects.get(flow=catalogue["Invoices"])
    assert (error.category, error.status) == ("missing_dependency", "retrying")
    assert error.message == (
        f"The Accounts record {old_account['id']} in Account_Name no longer exists in Zoho CRM "
        "(deleted); it is synced again before this record is retried."
    )
    for _ in range(3):  # what the minute's retry of due errors does, once per stale lookup
        error.refresh_from_db()
        if error.status == "resolved":
            break
        sync_errors_retry([error])
        deliver_and_sync()

    assert error.status == "resolved"
    (account,), (product,) = crm_records("Accounts"), crm_records("Products")
    assert account["id"] != old_account["id"] and product["id"] != old_product["id"]
    (crm_invoice,) = crm_records("Invoices")
    assert crm_invoice["Account_Name"]["id"] == account["id"]
    (line,) = crm_invoice["Invoiced_Items"]
    assert (line["Product_Name"]["id"], line["Quantity"]) == (product["id"], 3)
