"""QuickBooks Online -> Zoho CRM, end to end: a change in the QBO fake is delivered by webhook
to the product, recorded in the inbox, processed as a worker would, and written to the CRM fake."""

from __future__ import annotations

from connectors.qbo.client import QboClient
from connectors.sandbox.delivery import deliveries_run_due
from connectors.sandbox.models import OutboundDelivery
from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.zoho.models import CrmRecord
from syncs.live import inbox_drain
from syncs.models import AuditEntry, ChangeEvent, RecordLink, SyncError, SyncRun
from tests.e2e.conftest import E2E

CUSTOMER = {
    "DisplayName": "Amy's Bird Sanctuary",
    "CompanyName": "Amy's Bird Sanctuary",
    "GivenName": "Amy",
    "FamilyName": "Lauterbach",
    "PrimaryEmailAddr": {"Address": "birds@intuit.com"},
    "PrimaryPhone": {"FreeFormNumber": "(650) 555-3311"},
    "Mobile": {"FreeFormNumber": "(650) 555-0000"},
    "WebAddr": {"URI": "https://amysbirds.example.com"},
    "BillAddr": {
        "Line1": "4581 Finch St.",
        "City": "Bayshore",
        "CountrySubDivisionCode": "CA",
        "PostalCode": "94326",
        "Country": "USA",
    },
}


def crm_records(module: str) -> list[dict]:
    return [
        {**r.data, "id": r.record_id}
        for r in CrmRecord.objects.filter(module=module, deleted_at=None).order_by("pk")
    ]


def deliver_and_sync() -> int:
    """What the vendor and a worker do: send pending webhooks, then drain the inbox."""
    deliveries_run_due()
    return inbox_drain()


@E2E
def test_a_new_customer_becomes_an_account_with_its_contact(qbo_company, flows):
    customer = qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=CUSTOMER)

    assert deliver_and_sync() == 1

    (account,) = crm_records("Accounts")
    assert account["Account_Name"] == "Amy's Bird Sanctuary"
    assert account["Billing_City"] == "Bayshore"
    assert account["Billing_Country"] == "United States"
    assert account["QBO_Id"] == customer["Id"]
    assert account["QBO_Active"] is True
    (contact,) = crm_records("Contacts")
    assert (contact["First_Name"], contact["Last_Name"], contact["Email"]) == (
        "Amy",
        "Lauterbach",
        "birds@intuit.com",
    )
    assert contact["Account_Name"]["id"] == account["id"]
    assert RecordLink.objects.get(flow=flows["Accounts"]).target_id == account["id"]
    assert AuditEntry.objects.filter(action="create").count() == 2
    assert not SyncError.objects.exists()


@E2E
def test_an_address_change_follows_and_a_redelivery_changes_nothing(qbo_company, flows):
    customer = qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=CUSTOMER)
    deliver_and_sync()
    qbo_sandbox.record_update(
        company=qbo_company,
        entity="Customer",
        record_id=customer["Id"],
        data={"Id": customer["Id"], "BillAddr": {**CUSTOMER["BillAddr"], "City": "Half Moon Bay"}},
    )
    deliver_and_sync()

    (account,) = crm_records("Accounts")
    assert account["Billing_City"] == "Half Moon Bay"
    update = AuditEntry.objects.get(flow=flows["Accounts"], action="update")
    assert update.changed_fields["Billing_City"] == {"before": "Bayshore", "after": "Half Moon Bay"}

    # The same delivery three more times: one event at most, and nothing is written again.
    delivery = OutboundDelivery.objects.order_by("-pk").first()
    for _ in range(3):
        OutboundDelivery.objects.filter(pk=delivery.pk).update(
            status="pending", next_attempt_at=delivery.created_at
        )
        deliveries_run_due()
    assert inbox_drain() <= 1
    assert len(crm_records("Accounts")) == 1
    assert AuditEntry.objects.filter(flow=flows["Accounts"]).count() == 2


@E2E
def test_a_deactivated_customer_is_marked_inactive_never_deleted(qbo_company, flows):
    customer = qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=CUSTOMER)
    deliver_and_sync()
    qbo_sandbox.record_deactivate(company=qbo_company, entity="Customer", record_id=customer["Id"])
    deliver_and_sync()

    (account,) = crm_records("Accounts")
    assert account["QBO_Active"] is False
    assert len(crm_records("Contacts")) == 1
    assert ChangeEvent.objects.filter(status="done").count() == 2


@E2E
def test_200_new_customers_arrive_with_a_handful_of_crm_calls_per_hundred(qbo, qbo_company, flows):
    customers = [
        {
            "DisplayName": f"Shop {n:03d}",
            "GivenName": f"Ann{n}",
            "FamilyName": f"Lee{n}",
            "PrimaryEmailAddr": {"Address": f"shop{n}@example.com"},
        }
        for n in range(200)
    ]
    results = QboClient(qbo).batch([("create", "Customer", c) for c in customers])
    assert all(r.error is None for r in results)

    deliver_and_sync()

    assert len(crm_records("Accounts")) == 200
    contacts = crm_records("Contacts")
    assert len(contacts) == 200 and len({c["Email"] for c in contacts}) == 200
    runs = SyncRun.objects.filter(flow__in=flows.values())
    crm_calls = sum(runs.values_list("target_api_calls", flat=True))
    assert crm_calls <= 10, (
        crm_calls
    )  # per 200 records, both flows: metadata, one read, upserts of 100
    assert not SyncError.objects.exists()
