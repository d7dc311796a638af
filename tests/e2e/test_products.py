"""QuickBooks Online items -> Zoho CRM products, end to end: items made in the QBO fake reach the
CRM fake through webhooks and the inbox, carrying the QuickBooks id and the time of the sync."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.sandbox.delivery import deliveries_run_due
from connectors.sandbox.models import OutboundDelivery
from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.zoho import services as zoho_sandbox
from syncs.live import inbox_drain
from syncs.models import AuditEntry, RecordLink, SyncError, SyncFlow
from syncs.services import flow_create_with_defaults
from tests.e2e.conftest import E2E
from tests.e2e.test_qbo_to_crm import crm_records, deliver_and_sync

SERVICES_INCOME = {"value": "45", "name": "Landscaping Services"}
PRODUCT_INCOME = {"value": "79", "name": "Sales of Product Income"}
COST_OF_GOODS = {"value": "80", "name": "Cost of Goods Sold"}

DESIGN = {
    "Name": "Design",
    "Type": "Service",
    "Sku": "SRV-DES",
    "Description": "Custom landscape design (per hour)",
    "UnitPrice": 75.0,
    "IncomeAccountRef": SERVICES_INCOME,
}
FOUNTAIN = {
    "Name": "Rock Fountain",
    "Type": "NonInventory",
    "Sku": "NI-FTN",
    "Description": "Rock fountain, 36 in.",
    "UnitPrice": 275.0,
    "IncomeAccountRef": PRODUCT_INCOME,
    "ExpenseAccountRef": COST_OF_GOODS,
    "PurchaseCost": 125.0,
}
PUMP = {
    "Name": "Pump",
    "Type": "NonInventory",
    "Sku": "NI-PMP",
    "Description": "Fountain pump",
    "UnitPrice": 15.0,
    "IncomeAccountRef": PRODUCT_INCOME,
    "ExpenseAccountRef": COST_OF_GOODS,
    "PurchaseCost": 10.0,
}


@pytest.fixture
def flow(qbo, crm) -> SyncFlow:
    return flow_create_with_defaults(
        name="QBO items to CRM products",
        source=qbo,
        target=crm,
        source_entity="Item",
        target_entity="Products",
    )


def products() -> dict[str, dict[str, Any]]:
    return {p["Product_Name"]: p for p in crm_records("Products")}


def synced_at(product: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(product["QBO_Last_Synced"])


def item_create(company: Any, data: dict[str, Any]) -> dict[str, Any]:
    return qbo_sandbox.record_create(company=company, entity="Item", data=data)


@E2E
def test_items_of_every_kind_become_products_with_the_link_visible(qbo_company, flow):
    started = datetime.now(tz=UTC).replace(microsecond=0)
    design, fountain = item_create(qbo_company, DESIGN), item_create(qbo_company, FOUNTAIN)
    pump = item_create(qbo_company, PUMP)
    qbo_sandbox.record_deactivate(company=qbo_company, entity="Item", record_id=pump["Id"])

    deliver_and_sync()

    found = products()
    assert set(found) == {"Design", "Rock Fountain", "Pump"}
    for item, active in ((design, True), (fountain, True), (pump, False)):
        product = found[item["Name"]]
        assert (product["Product_Code"], product["Unit_Price"]) == (item["Sku"], item["UnitPrice"])
        assert product["Description"] == item["Description"]
        assert product["Product_Active"] is active
        assert product["QBO_Id"] == item["Id"]
        assert started <= synced_at(product) <= datetime.now(tz=UTC)
        link = RecordLink.objects.get(flow=flow, source_id=item["Id"])
        assert link.target_id == product["id"]
    assert not SyncError.objects.exists()


@E2E
def test_a_price_change_follows_and_a_redelivery_writes_nothing(qbo_company, flow, monkeypatch):
    fountain = item_create(qbo_company, FOUNTAIN)
    deliver_and_sync()
    qbo_sandbox.record_update(
        company=qbo_company,
        entity="Item",
        record_id=fountain["Id"],
        data={"Id": fountain["Id"], "UnitPrice": 299.0},
    )
    deliver_and_sync()

    (product,) = crm_records("Products")
    assert product["Unit_Price"] == 299.0
    update = AuditEntry.objects.get(flow=flow, action="update")
    assert update.changed_fields["Unit_Price"] == {"before": 275.0, "after": 299.0}

    # The same delivery again, a minute later: the sync time differs, nothing else does, so
    # the record is not written again (the hash leaves the sync time out).
    later = (synced_at(product) + timedelta(minutes=1)).isoformat()
    monkeypatch.setattr("syncs.transforms.transform_sync_time", lambda: later)
    delivery = OutboundDelivery.objects.order_by("-pk").first()
    OutboundDelivery.objects.filter(pk=delivery.pk).update(
        status="pending", next_attempt_at=delivery.created_at
    )
    deliveries_run_due()
    inbox_drain()

    assert crm_records("Products") == [product]
    assert AuditEntry.objects.filter(flow=flow).count() == 2


@E2E
def test_a_product_already_in_the_crm_is_matched_by_name_and_linked(qbo_company, crm_org, flow):
    existing = zoho_sandbox.crm_record_create(
        org=crm_org,
        module="Products",
        data={"Product_Name": "Rock Fountain", "Product_Code": "OLD-1", "Unit_Price": 250},
    )
    fountain = item_create(qbo_company, FOUNTAIN)

    deliver_and_sync()

    (product,) = crm_records("Products")
    assert product["id"] == existing.record_id
    assert (product["Product_Code"], product["Unit_Price"]) == ("NI-FTN", 275.0)
    assert product["QBO_Id"] == fountain["Id"] and product["QBO_Last_Synced"]
    assert RecordLink.objects.get(flow=flow).target_id == existing.record_id
    assert AuditEntry.objects.get(flow=flow).action == "update"
    assert not SyncError.objects.exists()
