"""QuickBooks Online transactions -> Zoho CRM, end to end: invoices, estimates and purchase
orders reach the CRM fake's inventory modules with their lookups and line items, syncing the
customers, vendors and products they need first, in the same run."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.sandbox.models import OutboundDelivery
from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.zoho import services as zoho_sandbox
from syncs.models import AuditEntry, RecordLink, SyncError, SyncFlow, SyncRun
from syncs.services import flow_create_with_defaults
from tests.e2e.conftest import E2E
from tests.e2e.test_products import COST_OF_GOODS, DESIGN, FOUNTAIN, PUMP, item_create
from tests.e2e.test_qbo_to_crm import CUSTOMER, crm_records, deliver_and_sync

PAIRS = (
    ("Item", "Products"),
    ("Customer", "Accounts"),
    ("Customer", "Contacts"),
    ("Vendor", "Vendors"),
    ("Invoice", "Invoices"),
    ("Estimate", "Quotes"),
    ("PurchaseOrder", "Purchase_Orders"),
)


@pytest.fixture
def catalogue(qbo, crm) -> dict[str, SyncFlow]:
    """Every default QBO -> CRM flow, keyed by the CRM module."""
    return {
        module: flow_create_with_defaults(
            name=f"QBO {entity} to CRM {module}",
            source=qbo,
            target=crm,
            source_entity=entity,
            target_entity=module,
        )
        for entity, module in PAIRS
    }


def sales_line(item: dict[str, Any], qty: float) -> dict[str, Any]:
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": item["UnitPrice"] * qty,
        "Description": item["Description"],
        "SalesItemLineDetail": {
            "ItemRef": {"value": item["Id"], "name": item["Name"]},
            "Qty": qty,
            "UnitPrice": item["UnitPrice"],
        },
    }


def webhooks_lost() -> None:
    """The vendor's webhooks so far never arrive: only what the test sends next does."""
    OutboundDelivery.objects.all().delete()


def lines_of(record: dict[str, Any], subform: str) -> list[tuple[str, float, float, float]]:
    return sorted(
        (line["Product_Name"]["id"], line["Quantity"], line["List_Price"], line["Total"])
        for line in record[subform]
    )


@E2E
def test_an_invoice_for_a_new_customer_and_new_items_arrives_whole_in_one_run(
    qbo_company, catalogue
):
    customer = qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=CUSTOMER)
    design, fountain = item_create(qbo_company, DESIGN), item_create(qbo_company, FOUNTAIN)
    webhooks_lost()
    invoice = qbo_sandbox.record_create(
        company=qbo_company,
        entity="Invoice",
        data={
            "CustomerRef": {"value": customer["Id"]},
            "TxnDate": "2026-11-02",
            "DueDate": "2026-12-02",
            "Line": [sales_line(design, 4), sales_line(fountain, 2)],
        },
    )

    deliver_and_sync()

    (account,), (contact,) = crm_records("Accounts"), crm_records("Contacts")
    products = {p["QBO_Id"]: p["id"] for p in crm_records("Products")}
    assert set(products) == {design["Id"], fountain["Id"]}
    (crm_invoice,) = crm_records("Invoices")
    assert crm_invoice["Subject"] == invoice["DocNumber"]
    assert (crm_invoice["Invoice_Date"], crm_invoice["Due_Date"]) == ("2026-11-02", "2026-12-02")
    assert crm_invoice["Account_Name"]["id"] == account["id"]
    assert crm_invoice["Contact_Name"]["id"] == contact["id"]
    assert crm_invoice["QBO_Id"] == invoice["Id"] and crm_invoice["QBO_Last_Synced"]
    assert lines_of(crm_invoice, "Invoiced_Items") == sorted(
        [(products[design["Id"]], 4, 75.0, 300.0), (products[fountain["Id"]], 2, 275.0, 550.0)]
    )
    assert crm_invoice["Grand_Total"] == invoice["TotalAmt"] == 850.0
    assert crm_invoice["Currency"] == "USD"
    # The customer and the items went through their own flows, in runs of their own.
    for module in ("Accounts", "Contacts", "Products"):
        run = SyncRun.objects.get(flow=catalogue[module], triggered_by__startswith="dependency")
        assert (run.created_count, run.failed_count) == (1 if module != "Products" else 2, 0)
    assert RecordLink.objects.get(flow=catalogue["Invoices"]).target_id == crm_invoice["id"]
    assert not SyncError.objects.exists()

    # An edit to the amount follows: one more unit of design.
    qbo_sandbox.record_update(
        company=qbo_company,
        entity="Invoice",
        record_id=invoice["Id"],
        data={"Id": invoice["Id"], "Line": [sales_line(design, 5), sales_line(fountain, 2)]},
    )
    deliver_and_sync()

    (crm_invoice,) = crm_records("Invoices")
    assert crm_invoice["Grand_Total"] == 925.0
    assert (products[design["Id"]], 5, 75.0, 375.0) in lines_of(crm_invoice, "Invoiced_Items")
    update = AuditEntry.objects.get(flow=catalogue["Invoices"], action="update")
    assert update.changed_fields  # the lines, before and after
    assert len(crm_records("Accounts")) == 1 and len(crm_records("Products")) == 2


@E2E
def test_the_subform_name_comes_from_the_crm_metadata(base_url, qbo, qbo_company):
    legacy = zoho_sandbox.crm_org_create(name="Old CRM", legacy_line_items=True)
    from connectors.models import Connection
    from connectors.sandbox.connect import sandbox_connection_create

    crm = sandbox_connection_create(
        system=Connection.System.ZOHO_CRM, name="Old CRM", base_url=base_url, org_id=legacy.org_id
    )
    for entity, module in (("Item", "Products"), ("Customer", "Accounts"), ("Invoice", "Invoices")):
        flow_create_with_defaults(
            name=f"{entity} to {module}", source=qbo, target=crm, source_entity=entity,
            target_entity=module,
        )  # fmt: skip
    customer = qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=CUSTOMER)
    pump = item_create(qbo_company, PUMP)
    qbo_sandbox.record_create(
        company=qbo_company,
        entity="Invoice",
        data={"CustomerRef": {"value": customer["Id"]}, "Line": [sales_line(pump, 3)]},
    )

    deliver_and_sync()

    (crm_invoice,) = crm_records("Invoices")
    assert "Invoiced_Items" not in crm_invoice
    assert [line["Quantity"] for line in crm_invoice["Product_Details"]] == [3]
    assert not SyncError.objects.exists()


@E2E
def test_an_estimate_becomes_a_quote_and_a_purchase_order_links_to_its_vendor(
    qbo_company, catalogue
):
    customer = qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=CUSTOMER)
    fountain = item_create(qbo_company, FOUNTAIN)
    vendor = qbo_sandbox.record_create(
        company=qbo_company,
        entity="Vendor",
        data={"DisplayName": "Hicks Hardware", "PrimaryEmailAddr": {"Address": "a@hicks.example"}},
    )
    webhooks_lost()
    estimate = qbo_sandbox.record_create(
        company=qbo_company,
        entity="Estimate",
        data={
            "CustomerRef": {"value": customer["Id"]},
            "ExpirationDate": "2026-12-31",
            "Line": [sales_line(fountain, 1)],
        },
    )
    order = qbo_sandbox.record_create(
        company=qbo_company,
        entity="PurchaseOrder",
        data={
            "VendorRef": {"value": vendor["Id"]},
            "APAccountRef": {"value": "33"},
            "Line": [
                {
                    "DetailType": "ItemBasedExpenseLineDetail",
                    "Amount": 1250.0,
                    "ItemBasedExpenseLineDetail": {
                        "ItemRef": {"value": fountain["Id"], "name": fountain["Name"]},
                        "Qty": 10,
                        "UnitPrice": 125.0,
                    },
                },
                {
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "Amount": 40.0,
                    "AccountBasedExpenseLineDetail": {"AccountRef": COST_OF_GOODS},
                },
            ],
        },
    )

    deliver_and_sync()

    (quote,) = crm_records("Quotes")
    (account,), (product,) = crm_records("Accounts"), crm_records("Products")
    assert (quote["Subject"], quote["QBO_Id"]) == (estimate["DocNumber"], estimate["Id"])
    assert (quote["Quote_Stage"], quote["Valid_Till"]) == ("Draft", "2026-12-31")
    assert quote["Account_Name"]["id"] == account["id"]
    assert lines_of(quote, "Quoted_Items") == [(product["id"], 1, 275.0, 275.0)]

    (crm_order,), (crm_vendor,) = crm_records("Purchase_Orders"), crm_records("Vendors")
    assert crm_order["Vendor_Name"]["id"] == crm_vendor["id"]
    assert crm_vendor["QBO_Id"] == vendor["Id"]
    assert crm_order["Status"] == "Created" and crm_order["QBO_Id"] == order["Id"]
    # The expense line has no product: only the item line is a CRM line item.
    assert lines_of(crm_order, "Purchased_Items") == [(product["id"], 10, 125.0, 1250.0)]
    assert not SyncError.objects.exists()


@E2E
def test_a_bill_refreshes_its_vendors_balance(qbo_company, catalogue):
    vendor = qbo_sandbox.record_create(
        company=qbo_company, entity="Vendor", data={"DisplayName": "Hicks Hardware"}
    )
    deliver_and_sync()
    assert crm_records("Vendors")[0]["QBO_Balance"] in (0, None)

    qbo_sandbox.record_create(
        company=qbo_company,
        entity="Bill",
        data={
            "VendorRef": {"value": vendor["Id"]},
            "Line": [
                {
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "Amount": 310.5,
                    "AccountBasedExpenseLineDetail": {"AccountRef": COST_OF_GOODS},
                }
            ],
        },
    )
    deliver_and_sync()

    (crm_vendor,) = crm_records("Vendors")
    assert crm_vendor["QBO_Balance"] == 310.5
    assert AuditEntry.objects.filter(flow=catalogue["Vendors"], action="update").count() == 1


@E2E
def test_an_invoice_whose_product_cannot_be_synced_names_what_is_missing(qbo_company, catalogue):
    SyncFlow.objects.filter(pk=catalogue["Products"].pk).update(state=SyncFlow.State.DISABLED)
    customer = qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=CUSTOMER)
    widget = item_create(qbo_company, {**PUMP, "Name": "Widget", "Sku": "W-1"})
    invoice = qbo_sandbox.record_create(
        company=qbo_company,
        entity="Invoice",
        data={"CustomerRef": {"value": customer["Id"]}, "Line": [sales_line(widget, 1)]},
    )

    deliver_and_sync()

    assert crm_records("Invoices") == []
    error = SyncError.objects.get(flow=catalogue["Invoices"])
    assert error.category == "missing_dependency"
    assert error.message.startswith(
        f"The product 'Widget' in invoice {invoice['DocNumber']} is not present in Zoho CRM."
    )
    assert "No flow keeps QuickBooks Online Item -> Zoho CRM Products" in error.message


@E2E
def test_an_invoice_in_a_foreign_currency_is_a_mismatch_unless_converted(qbo_company, catalogue):
    customer = qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=CUSTOMER)
    design = item_create(qbo_company, DESIGN)
    invoice = qbo_sandbox.record_create(
        company=qbo_company,
        entity="Invoice",
        data={
            "CustomerRef": {"value": customer["Id"]},
            "CurrencyRef": {"value": "EUR"},
            "ExchangeRate": 1.1,
            "Line": [sales_line(design, 2)],
        },
    )

    deliver_and_sync()

    assert crm_records("Invoices") == []
    error = SyncError.objects.get(flow=catalogue["Invoices"])
    assert error.category == "currency_mismatch"
    assert error.message.startswith("The record is in EUR; Zoho CRM's home currency is USD")

    flow = catalogue["Invoices"]
    flow.options = {**flow.options, "convert_currency": True}
    flow.save(update_fields=["options"])
    from syncs.runs import sync_errors_retry

    sync_errors_retry([error])
    deliver_and_sync()

    (crm_invoice,) = crm_records("Invoices")
    assert crm_invoice["Currency"] == "USD"
    assert crm_invoice["QBO_Id"] == invoice["Id"]
    ((_, qty, price, total),) = lines_of(crm_invoice, "Invoiced_Items")
    assert (qty, price, total) == (2, 82.5, 165.0)  # 75 EUR at 1.1 USD
    error.refresh_from_db()
    assert error.status == "resolved"
