"""The fake's answers have the shapes of Intuit's recorded ones (fixtures/qbo/*.json): every
key the recording has, with the same JSON type. Records are created from the recordings'
writable fields only, so every computed field (Id, SyncToken, MetaData, Balance, address Ids,
the SubTotal line, TotalAmt...) must come from the fake itself."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from django.utils import timezone

from connectors.sandbox.qbo.errors import DUPLICATE_NAME_DETAIL, NOT_FOUND_DETAIL, STALE_DETAIL
from connectors.sandbox.qbo.models import Company
from connectors.sandbox.qbo.services import record_deactivate
from tests.sandbox.qbo.conftest import LIVE_DB, Connected, assert_same_shape, fixture_json

pytestmark = LIVE_DB

COMPUTED = {"Id", "SyncToken", "MetaData", "domain", "sparse", "Balance", "V4IDPseudonym"}
CUSTOMER_DEFAULTS = {
    "BalanceWithJobs",
    "FullyQualifiedName",
    "BillWithParent",
    "Job",
    "Taxable",
    "PrintOnCheckName",
    "PreferredDeliveryMethod",
    "Active",
}


def writable(record: dict[str, Any], *, also: set[str] = frozenset()) -> dict[str, Any]:
    """What a client would send: no computed fields, no address Ids."""
    data = {k: copy.deepcopy(v) for k, v in record.items() if k not in COMPUTED | also}
    for key in ("BillAddr", "ShipAddr"):
        if isinstance(data.get(key), dict):
            data[key].pop("Id", None)
    return data


def customer_fixture() -> dict[str, Any]:
    return fixture_json("customer_read_response.json")


def create_fixture_customer(qbo: Connected) -> dict[str, Any]:
    data = writable(customer_fixture()["Customer"], also=CUSTOMER_DEFAULTS)
    return qbo.create("Customer", data)


def test_customer_read_has_the_recorded_shape(qbo: Connected) -> None:
    created = create_fixture_customer(qbo)

    response = qbo.get(f"customer/{created['Id']}")

    assert_same_shape(customer_fixture(), response.json())


def test_vendor_query_has_the_recorded_shape(qbo: Connected) -> None:
    recorded = fixture_json("vendor_query_response.json")
    for vendor in recorded["QueryResponse"]["Vendor"]:
        defaults = {"Active", "PrintOnCheckName", "CurrencyRef"}
        defaults |= {"Vendor1099"} if vendor["Vendor1099"] is False else set()
        qbo.create("Vendor", writable(vendor, also=defaults))

    response = qbo.query("SELECT * FROM Vendor ORDERBY Id")

    assert_same_shape(recorded, response.json())
    assert response.json()["QueryResponse"]["maxResults"] == 5


def test_invoice_has_the_recorded_shape_and_totals(qbo: Connected) -> None:
    recorded = fixture_json("invoice_object_sandbox.json")
    customer = qbo.create("Customer", {"DisplayName": recorded["CustomerRef"]["name"]})
    data = writable(recorded, also={"TotalAmt"})
    data["CustomerRef"] = {"value": customer["Id"]}
    data["Line"] = [line for line in data["Line"] if line["DetailType"] != "SubTotalLineDetail"]
    for line in data["Line"]:
        item = qbo.create("Item", {"Name": line["SalesItemLineDetail"]["ItemRef"]["name"]})
        line["SalesItemLineDetail"]["ItemRef"] = {"value": item["Id"]}
        del line["Id"], line["LineNum"]

    invoice = qbo.create("Invoice", data)

    assert_same_shape(recorded, invoice)
    assert invoice["TotalAmt"] == recorded["TotalAmt"] == 362.07
    assert invoice["Line"][-1]["Amount"] == recorded["Line"][-1]["Amount"] == 335.25
    assert qbo.get(f"invoice/{invoice['Id']}").json()["Invoice"] == invoice


def test_batch_faults_have_the_recorded_shape(qbo: Connected, company: Company) -> None:
    recorded = fixture_json("batch_response_with_faults.json")
    customer = create_fixture_customer(qbo)
    retired = qbo.create("Customer", {"DisplayName": "Retired"})
    record_deactivate(company=company, entity="Customer", record_id=retired["Id"])
    stale = {"Id": customer["Id"], "SyncToken": "9", "sparse": True, "Notes": "x"}
    body = {
        "BatchItemRequest": [
            {
                "bId": "bid1",
                "operation": "create",
                "Vendor": {"DisplayName": "Bill's Windsurf Shop"},
            },
            {
                "bId": "bid2",
                "operation": "create",
                "Invoice": {
                    "CustomerRef": {"value": retired["Id"]},
                    "Line": [{"DetailType": "SalesItemLineDetail", "Amount": 1}],
                },
            },
            {"bId": "bid3", "operation": "update", "Customer": stale},
            {"bId": "bid4", "Query": "SELECT * FROM Customer MAXRESULTS 1"},
        ]
    }

    response = qbo.post("batch", body)

    assert response.status_code == 200
    answer = response.json()
    faults = answer["BatchItemResponse"][:3]
    for mine, theirs in zip(faults, recorded["BatchItemResponse"][:3], strict=True):
        assert_same_shape(theirs, mine)
        error, expected = mine["Fault"]["Error"][0], theirs["Fault"]["Error"][0]
        assert (error["code"], error["Message"]) == (expected["code"], expected["Message"])
        assert error["Detail"].startswith(expected["Detail"])
    assert faults[0]["Fault"]["Error"][0]["Detail"] == (
        f"{DUPLICATE_NAME_DETAIL} : Id={customer['Id']}"
    )
    assert faults[1]["Fault"]["Error"][0]["Detail"] == NOT_FOUND_DETAIL
    assert faults[2]["Fault"]["Error"][0]["Detail"] == STALE_DETAIL
    query_item = answer["BatchItemResponse"][3]
    recorded_query = recorded["BatchItemResponse"][3]
    assert query_item["bId"] == "bid4"
    paging = {k: v for k, v in recorded_query["QueryResponse"].items() if k != "SalesReceipt"}
    assert_same_shape(paging, query_item["QueryResponse"])
    assert_same_shape(customer_fixture()["Customer"], query_item["QueryResponse"]["Customer"][0])
    assert isinstance(answer["time"], str)


def test_cdc_records_have_the_recorded_shape(qbo: Connected) -> None:
    create_fixture_customer(qbo)
    since = (timezone.now() - timedelta(days=1)).isoformat(timespec="seconds")

    body = qbo.get("cdc", entities="Customer", changedSince=since).json()

    assert isinstance(body["time"], str)
    [entity_response] = body["CDCResponse"][0]["QueryResponse"]
    assert (entity_response["startPosition"], entity_response["maxResults"]) == (1, 1)
    assert_same_shape(customer_fixture()["Customer"], entity_response["Customer"][0])
