"""Creates, updates, deletes and voids through `POST /<entity>`: QBO's rules and its errors."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from connectors.sandbox.qbo.errors import DUPLICATE_NAME_DETAIL, STALE_DETAIL
from connectors.sandbox.qbo.models import Company, Record
from connectors.sandbox.qbo.services import record_create, record_deactivate
from tests.sandbox.qbo.conftest import LIVE_DB, Connected

pytestmark = LIVE_DB


def fault_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    fault = response.json()["Fault"]
    assert len(fault["Error"]) == 1
    return {"type": fault["type"], **fault["Error"][0]}


def sale(customer_id: str, item_id: str, *, qty: float, price: float, amount: float) -> dict:
    return {
        "CustomerRef": {"value": customer_id},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": amount,
                "SalesItemLineDetail": {
                    "ItemRef": {"value": item_id},
                    "Qty": qty,
                    "UnitPrice": price,
                },
            }
        ],
    }


def test_create_answers_a_complete_customer(qbo: Connected) -> None:
    customer = qbo.create("Customer", {"GivenName": "Ada", "FamilyName": "Lovelace"})

    assert customer["DisplayName"] == "Ada Lovelace"  # built from the name parts
    assert customer["Id"].isdigit()
    assert customer["SyncToken"] == "0"
    assert customer["Active"] is True
    assert customer["domain"] == "QBO"
    assert customer["sparse"] is False
    assert customer["MetaData"]["CreateTime"][-6:] in ("-08:00", "-07:00")


def test_read_by_id_and_unknown_id(qbo: Connected) -> None:
    created = qbo.create("Customer", {"DisplayName": "Readable"})

    read = qbo.get(f"customer/{created['Id']}")
    missing = qbo.get("customer/99999")

    assert read.json()["Customer"] == created
    assert read.json()["time"]
    fault = fault_of(missing)
    assert (fault["code"], fault["Message"]) == ("610", "Object Not Found")


def test_sparse_update_merges_and_bumps_the_sync_token(qbo: Connected) -> None:
    created = qbo.create("Customer", {"DisplayName": "Sparse Co", "CompanyName": "Sparse Ltd"})

    updated = qbo.create(
        "Customer",
        {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Notes": "Called on Monday"},
    )

    assert updated["SyncToken"] == "1"
    assert updated["CompanyName"] == "Sparse Ltd"
    assert updated["Notes"] == "Called on Monday"
    assert updated["MetaData"]["CreateTime"] == created["MetaData"]["CreateTime"]


def test_full_update_clears_omitted_writable_fields(qbo: Connected) -> None:
    created = qbo.create("Customer", {"DisplayName": "Full Co", "CompanyName": "Full Ltd"})

    updated = qbo.create(
        "Customer", {"Id": created["Id"], "SyncToken": "0", "DisplayName": "Full Co"}
    )

    assert "CompanyName" not in updated
    assert updated["Balance"] == 0  # computed fields survive


def test_stale_sync_token_is_5010(qbo: Connected) -> None:
    created = qbo.create("Customer", {"DisplayName": "Contended"})
    qbo.create("Customer", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Notes": "a"})

    stale = qbo.post(
        "customer", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Notes": "b"}
    )

    fault = fault_of(stale)
    assert fault == {
        "type": "ValidationFault",
        "Message": "Stale Object Error",
        "Detail": STALE_DETAIL,
        "code": "5010",
        "element": "",
    }


def test_update_without_sync_token_is_2020(qbo: Connected) -> None:
    created = qbo.create("Customer", {"DisplayName": "No Token"})

    fault = fault_of(qbo.post("customer", {"Id": created["Id"], "Notes": "x"}))

    assert (fault["code"], fault["Message"]) == ("2020", "Required Param Missing")


@pytest.mark.parametrize("first, second", [("Customer", "Customer"), ("Customer", "Vendor")])
def test_display_name_is_unique_across_customers_and_vendors(
    qbo: Connected, first: str, second: str
) -> None:
    existing = qbo.create(first, {"DisplayName": "Acme Supplies"})

    fault = fault_of(qbo.post(second.lower(), {"DisplayName": "Acme Supplies"}))

    assert fault["code"] == "6240"
    assert fault["Message"] == "Duplicate Name Exists Error"
    assert fault["Detail"] == f"{DUPLICATE_NAME_DETAIL} : Id={existing['Id']}"


def test_inactive_names_still_count_as_taken(qbo: Connected, company: Company) -> None:
    vendor = record_create(company=company, entity="Vendor", data={"DisplayName": "Old Vendor"})
    record_deactivate(company=company, entity="Vendor", record_id=vendor["Id"])

    fault = fault_of(qbo.post("customer", {"DisplayName": "Old Vendor"}))

    assert fault["code"] == "6240"


def test_renaming_onto_a_taken_name_is_6240(qbo: Connected) -> None:
    qbo.create("Vendor", {"DisplayName": "Taken"})
    customer = qbo.create("Customer", {"DisplayName": "Free"})

    fault = fault_of(
        qbo.post(
            "customer",
            {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "Taken"},
        )
    )

    assert fault["code"] == "6240"


@pytest.mark.parametrize(
    "entity, body",
    [
        ("customer", {"Notes": "no name at all"}),
        ("vendor", {"CompanyName": "only a company"}),
        ("item", {"Type": "Service"}),
        ("invoice", {"Line": []}),
        ("bill", {"Line": [{"DetailType": "AccountBasedExpenseLineDetail", "Amount": 1}]}),
        ("purchaseorder", {"VendorRef": {"value": "1"}}),
    ],
)
def test_required_fields_are_2020(qbo: Connected, entity: str, body: dict) -> None:
    if entity == "purchaseorder":
        qbo.create("Vendor", {"DisplayName": "PO Vendor"})

    fault = fault_of(qbo.post(entity, body))

    assert (fault["code"], fault["Message"]) == ("2020", "Required Param Missing")


@pytest.mark.parametrize(
    "entity, field, limit",
    [
        ("customer", "DisplayName", 500),
        ("customer", "CompanyName", 100),
        ("vendor", "GivenName", 100),
        ("vendor", "FamilyName", 100),
        ("item", "Name", 100),
    ],
)
def test_string_lengths_are_2050(qbo: Connected, entity: str, field: str, limit: int) -> None:
    body = {"DisplayName": "Length Test", field: "x" * (limit + 1)}
    if entity == "item":
        body = {"Name": "x" * (limit + 1)}

    fault = fault_of(qbo.post(entity, body))

    assert fault["code"] == "2050"
    assert fault["element"] == field
    assert f"supplied length:{limit + 1}" in fault["Detail"]


def test_unknown_property_is_2010(qbo: Connected) -> None:
    fault = fault_of(qbo.post("customer", {"DisplayName": "Typo", "DisplayNmae": "x"}))

    assert fault["code"] == "2010"


def test_invoice_totals_come_from_the_lines(qbo: Connected) -> None:
    customer = qbo.create(
        "Customer", {"DisplayName": "Buyer", "PrimaryEmailAddr": {"Address": "b@x.io"}}
    )
    item = qbo.create("Item", {"Name": "Widget", "UnitPrice": 9.5})
    body = sale(customer["Id"], item["Id"], qty=5, price=9.5, amount=47.5)
    body["Line"].append(
        {
            "DetailType": "SalesItemLineDetail",
            "Amount": 12.75,
            "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 1, "UnitPrice": 12.75},
        }
    )

    invoice = qbo.create("Invoice", {**body, "TotalAmt": 1, "TxnTaxDetail": {"TotalTax": 4.8}})

    assert invoice["TotalAmt"] == 65.05  # 47.5 + 12.75 + 4.8; the TotalAmt sent is ignored
    assert invoice["Balance"] == 65.05
    assert invoice["CustomerRef"] == {"value": customer["Id"], "name": "Buyer"}
    assert invoice["Line"][0]["SalesItemLineDetail"]["ItemRef"]["name"] == "Widget"
    assert [line.get("LineNum") for line in invoice["Line"]] == [1, 2, None]
    assert invoice["Line"][-1] == {
        "Amount": 60.25,
        "DetailType": "SubTotalLineDetail",
        "SubTotalLineDetail": {},
    }
    assert invoice["DocNumber"] == "1001"
    assert invoice["BillEmail"] == {"Address": "b@x.io"}


def test_line_amount_must_be_qty_times_unit_price(qbo: Connected) -> None:
    customer = qbo.create("Customer", {"DisplayName": "Buyer"})
    item = qbo.create("Item", {"Name": "Widget"})

    fault = fault_of(
        qbo.post("invoice", sale(customer["Id"], item["Id"], qty=7, price=225, amount=1000))
    )

    assert fault["code"] == "6070"
    assert "Amount is not equal to UnitPrice * Qty" in fault["Detail"]


def test_invoice_for_an_inactive_customer_is_610(qbo: Connected, company: Company) -> None:
    customer = qbo.create("Customer", {"DisplayName": "Gone Away"})
    item = qbo.create("Item", {"Name": "Widget"})
    record_deactivate(company=company, entity="Customer", record_id=customer["Id"])

    fault = fault_of(
        qbo.post("invoice", sale(customer["Id"], item["Id"], qty=1, price=5, amount=5))
    )

    assert fault["code"] == "610"


def test_bill_with_an_account_line(qbo: Connected) -> None:
    vendor = qbo.create("Vendor", {"DisplayName": "Power Co"})
    line = {
        "DetailType": "AccountBasedExpenseLineDetail",
        "Amount": 120.0,
        "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "7", "name": "Utilities"}},
    }

    bill = qbo.create("Bill", {"VendorRef": {"value": vendor["Id"]}, "Line": [line]})

    assert bill["TotalAmt"] == 120
    assert bill["VendorRef"]["name"] == "Power Co"
    assert bill["DueDate"] == bill["TxnDate"]


def test_delete_a_transaction(qbo: Connected) -> None:
    customer = qbo.create("Customer", {"DisplayName": "Buyer"})
    item = qbo.create("Item", {"Name": "Widget"})
    invoice = qbo.create("Invoice", sale(customer["Id"], item["Id"], qty=1, price=5, amount=5))

    deleted = qbo.post("invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="delete")

    assert deleted.status_code == 200
    assert deleted.json()["Invoice"]["status"] == "Deleted"
    assert deleted.json()["Invoice"]["Id"] == invoice["Id"]
    assert qbo.get(f"invoice/{invoice['Id']}").status_code == 400
    assert qbo.rows("SELECT * FROM Invoice") == []


def test_name_lists_cannot_be_deleted(qbo: Connected) -> None:
    customer = qbo.create("Customer", {"DisplayName": "Permanent"})

    fault = fault_of(
        qbo.post("customer", {"Id": customer["Id"], "SyncToken": "0"}, operation="delete")
    )

    assert (fault["code"], fault["Message"]) == ("500", "Unsupported Operation")


def test_void_an_invoice(qbo: Connected) -> None:
    customer = qbo.create("Customer", {"DisplayName": "Buyer"})
    item = qbo.create("Item", {"Name": "Widget"})
    invoice = qbo.create("Invoice", sale(customer["Id"], item["Id"], qty=2, price=5, amount=10))

    voided = qbo.post("invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="void")

    body = voided.json()["Invoice"]
    assert (body["TotalAmt"], body["Balance"], body["PrivateNote"]) == (0, 0, "Voided")
    assert body["SyncToken"] == "1"


def test_same_requestid_returns_the_first_answer(qbo: Connected) -> None:
    first = qbo.post("customer", {"DisplayName": "Once Only"}, requestid="req-1")
    second = qbo.post("customer", {"DisplayName": "Once Only"}, requestid="req-1")

    assert first.status_code == second.status_code == 200
    assert second.text == first.text  # the same Id, SyncToken and even `time`
    assert Record.objects.filter(entity="Customer").count() == 1


def test_a_new_requestid_runs_again(qbo: Connected) -> None:
    qbo.post("customer", {"DisplayName": "Twice"}, requestid="req-a")

    again = qbo.post("customer", {"DisplayName": "Twice"}, requestid="req-b")

    assert fault_of(again)["code"] == "6240"


def test_requestid_longer_than_intuits_50_is_refused(qbo: Connected) -> None:
    response = qbo.post("customer", {"DisplayName": "Long Id"}, requestid="r" * 51)

    fault = fault_of(response)
    assert (fault["code"], fault["element"]) == ("2050", "requestid")
    assert not Record.objects.exists()


def test_malformed_json_is_a_fault(qbo: Connected) -> None:
    response = requests.post(
        qbo.url("customer"), data="{not json", headers=qbo.headers(), timeout=10
    )

    assert fault_of(response)["code"] == "2010"


def test_discount_lines_come_after_the_subtotal(qbo: Connected) -> None:
    customer = qbo.create("Customer", {"DisplayName": "Bargain Hunter"})
    item = qbo.create("Item", {"Name": "Widget"})
    body = sale(customer["Id"], item["Id"], qty=4, price=25, amount=100)
    body["Line"].append(
        {"DetailType": "DiscountLineDetail", "Amount": 10, "DiscountLineDetail": {}}
    )

    estimate = qbo.create("Estimate", body)

    kinds = [line["DetailType"] for line in estimate["Line"]]
    assert kinds == ["SalesItemLineDetail", "SubTotalLineDetail", "DiscountLineDetail"]
    assert estimate["Line"][1]["Amount"] == 100
    assert estimate["TotalAmt"] == 90
    assert (estimate["TxnStatus"], estimate["DocNumber"]) == ("Pending", "1001")


def test_purchase_order_with_an_item_line(qbo: Connected) -> None:
    vendor = qbo.create("Vendor", {"DisplayName": "Parts Inc"})
    item = qbo.create("Item", {"Name": "Gear", "Type": "NonInventory"})
    line = {
        "DetailType": "ItemBasedExpenseLineDetail",
        "Amount": 30,
        "ItemBasedExpenseLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 3, "UnitPrice": 10},
    }

    order = qbo.create("PurchaseOrder", {"VendorRef": {"value": vendor["Id"]}, "Line": [line]})

    assert order["TotalAmt"] == 30
    assert order["POStatus"] == "Open"
    assert order["Line"][0]["ItemBasedExpenseLineDetail"]["ItemRef"]["name"] == "Gear"


def test_sparse_update_of_lines_keeps_line_ids_and_recomputes(qbo: Connected) -> None:
    customer = qbo.create("Customer", {"DisplayName": "Buyer"})
    item = qbo.create("Item", {"Name": "Widget"})
    invoice = qbo.create("Invoice", sale(customer["Id"], item["Id"], qty=1, price=5, amount=5))
    lines = [line for line in invoice["Line"] if line["DetailType"] != "SubTotalLineDetail"]
    lines[0]["Amount"] = 15
    lines[0]["SalesItemLineDetail"]["Qty"] = 3

    updated = qbo.create(
        "Invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "Line": lines}
    )

    assert updated["Line"][0]["Id"] == invoice["Line"][0]["Id"]
    assert updated["TotalAmt"] == updated["Balance"] == 15
    assert updated["DocNumber"] == invoice["DocNumber"]
