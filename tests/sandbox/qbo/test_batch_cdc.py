"""`POST /batch` (items fail alone, HTTP 200) and `GET /cdc` (changes and deletions, 30 days)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from connectors.sandbox.qbo.models import Company, Record
from connectors.sandbox.qbo.services import record_create, record_deactivate, record_delete
from tests.sandbox.qbo.conftest import LIVE_DB, Connected

pytestmark = LIVE_DB


def iso(moment: timezone.datetime) -> str:
    return moment.isoformat(timespec="seconds")


def test_batch_answers_each_item_on_its_own(qbo: Connected) -> None:
    existing = qbo.create("Customer", {"DisplayName": "Already Here"})
    body = {
        "BatchItemRequest": [
            {"bId": "b1", "operation": "create", "Customer": {"DisplayName": "New One"}},
            {"bId": "b2", "operation": "create", "Vendor": {"DisplayName": "Already Here"}},
            {
                "bId": "b3",
                "operation": "update",
                "Customer": {"Id": existing["Id"], "SyncToken": "7", "sparse": True, "Notes": "x"},
            },
            {"bId": "b4", "operation": "update", "Customer": {"Id": "999", "SyncToken": "0"}},
            {"bId": "b5", "Query": "SELECT * FROM Customer WHERE DisplayName = 'Already Here'"},
        ]
    }

    response = qbo.post("batch", body)

    assert response.status_code == 200
    items = {item["bId"]: item for item in response.json()["BatchItemResponse"]}
    assert items["b1"]["Customer"]["DisplayName"] == "New One"
    assert items["b2"]["Fault"]["Error"][0]["code"] == "6240"
    assert items["b3"]["Fault"]["Error"][0]["code"] == "5010"
    assert items["b4"]["Fault"]["Error"][0]["code"] == "610"
    assert items["b5"]["QueryResponse"]["Customer"][0]["Id"] == existing["Id"]
    assert Record.objects.filter(entity="Customer").count() == 2
    assert not Record.objects.filter(entity="Vendor").exists()


def test_batch_delete_and_void(qbo: Connected, company: Company) -> None:
    customer = record_create(company=company, entity="Customer", data={"DisplayName": "Buyer"})
    line = {"DetailType": "SalesItemLineDetail", "Amount": 10, "SalesItemLineDetail": {}}
    invoices = [
        record_create(
            company=company,
            entity="Invoice",
            data={"CustomerRef": {"value": customer["Id"]}, "Line": [line]},
        )
        for _ in range(2)
    ]
    body = {
        "BatchItemRequest": [
            {
                "bId": "d",
                "operation": "delete",
                "Invoice": {"Id": invoices[0]["Id"], "SyncToken": "0"},
            },
            {
                "bId": "v",
                "operation": "update",
                "optionsData": "void",
                "Invoice": {"Id": invoices[1]["Id"], "SyncToken": "0"},
            },
        ]
    }

    items = qbo.post("batch", body).json()["BatchItemResponse"]

    assert items[0]["Invoice"]["status"] == "Deleted"
    assert items[1]["Invoice"]["PrivateNote"] == "Voided"


def test_more_than_30_items_is_a_fault(qbo: Connected) -> None:
    items = [
        {"bId": f"b{n}", "operation": "create", "Customer": {"DisplayName": f"C{n}"}}
        for n in range(31)
    ]

    response = qbo.post("batch", {"BatchItemRequest": items})

    assert response.status_code == 400
    assert response.json()["Fault"]["type"] == "ValidationFault"
    assert not Record.objects.exists()


def test_batch_with_requestid_runs_once(qbo: Connected) -> None:
    body = {"BatchItemRequest": [{"bId": "1", "operation": "create", "Item": {"Name": "Bolt"}}]}

    first = qbo.post("batch", body, requestid="batch-1")
    second = qbo.post("batch", body, requestid="batch-1")

    assert second.text == first.text
    assert Record.objects.filter(entity="Item").count() == 1


def test_cdc_returns_changes_including_inactive_and_deleted(
    qbo: Connected, company: Company
) -> None:
    since = iso(timezone.now() - timedelta(minutes=5))
    kept = record_create(company=company, entity="Customer", data={"DisplayName": "Kept"})
    retired = record_create(company=company, entity="Customer", data={"DisplayName": "Retired"})
    record_deactivate(company=company, entity="Customer", record_id=retired["Id"])
    line = {"DetailType": "SalesItemLineDetail", "Amount": 10, "SalesItemLineDetail": {}}
    invoice = record_create(
        company=company,
        entity="Invoice",
        data={"CustomerRef": {"value": kept["Id"]}, "Line": [line]},
    )
    record_delete(company=company, entity="Invoice", record_id=invoice["Id"])

    response = qbo.get("cdc", entities="Customer,Invoice,Vendor", changedSince=since)

    assert response.status_code == 200
    customers, invoices, vendors = response.json()["CDCResponse"][0]["QueryResponse"]
    assert [c["DisplayName"] for c in customers["Customer"]] == ["Kept", "Retired"]
    assert customers["Customer"][1]["Active"] is False
    assert (customers["startPosition"], customers["maxResults"]) == (1, 2)
    deleted = invoices["Invoice"][0]
    assert deleted["status"] == "Deleted"
    assert deleted["Id"] == invoice["Id"]
    assert deleted["domain"] == "QBO"
    assert deleted["MetaData"]["LastUpdatedTime"]
    assert vendors == {}


def test_cdc_leaves_out_older_changes(qbo: Connected, company: Company) -> None:
    old = record_create(company=company, entity="Customer", data={"DisplayName": "Old"})
    Record.objects.filter(qbo_id=old["Id"]).update(updated_at=timezone.now() - timedelta(days=2))
    record_create(company=company, entity="Customer", data={"DisplayName": "New"})

    response = qbo.get(
        "cdc", entities="Customer", changedSince=iso(timezone.now() - timedelta(days=1))
    )

    rows = response.json()["CDCResponse"][0]["QueryResponse"][0]["Customer"]
    assert [row["DisplayName"] for row in rows] == ["New"]


def test_cdc_looks_back_30_days_at_most(qbo: Connected) -> None:
    since = iso(timezone.now() - timedelta(days=31))

    response = qbo.get("cdc", entities="Customer", changedSince=since)

    assert response.status_code == 400
    error = response.json()["Fault"]["Error"][0]
    assert error["Detail"] == (
        f"Operation cdc with changedSince date {since} which is older than fixed days is not "
        "supported."
    )


def test_cdc_returns_at_most_1000_objects(qbo: Connected, company: Company) -> None:
    now = timezone.now().replace(microsecond=0)
    Record.objects.bulk_create(
        Record(
            company=company,
            entity=entity,
            qbo_id=n,
            doc={"DisplayName": f"{entity} {n}", "Active": True},
            created_at=now,
            updated_at=now,
        )
        for entity in ("Customer", "Vendor")
        for n in range(1, 601)
    )

    response = qbo.get(
        "cdc", entities="Customer,Vendor", changedSince=iso(now - timedelta(hours=1))
    )

    customers, vendors = response.json()["CDCResponse"][0]["QueryResponse"]
    assert len(customers["Customer"]) == 600
    assert len(vendors["Vendor"]) == 400
