"""Matching new QuickBooks customers to what the CRM already holds, end to end: a key shared by
several CRM records identifies none of them, and one CRM record is given to one customer only,
even when two customers in the same batch point at it."""

from __future__ import annotations

from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.zoho import services as zoho_sandbox
from syncs.models import RecordLink, SyncError
from tests.e2e.conftest import E2E
from tests.e2e.test_qbo_to_crm import crm_records, deliver_and_sync


def customer(name: str, phone: str) -> dict:
    given, _, family = name.partition(" ")
    return {
        "DisplayName": name,
        "GivenName": given,
        "FamilyName": family,
        "PrimaryPhone": {"FreeFormNumber": phone},
    }


def crm_contact(crm_org, last_name: str, phone: str, email: str) -> str:
    record = zoho_sandbox.crm_record_create(
        org=crm_org,
        module="Contacts",
        data={"Last_Name": last_name, "Phone": phone, "Email": email},
    )
    return record.record_id


@E2E
def test_a_phone_shared_by_several_crm_contacts_matches_none_of_them(qbo_company, crm_org, flows):
    samples = {
        crm_contact(crm_org, f"Sample {n}", "555-555-5555", f"sample{n}@noemail.invalid")
        for n in range(3)
    }
    created = qbo_sandbox.record_create(
        company=qbo_company, entity="Customer", data=customer("Kris Marrier", "555-555-5555")
    )

    deliver_and_sync()

    link = RecordLink.objects.get(flow=flows["Contacts"], source_id=created["Id"])
    assert link.target_id not in samples
    contacts = {c["id"]: c for c in crm_records("Contacts")}
    assert len(contacts) == 4
    assert contacts[link.target_id]["Last_Name"] == "Marrier"
    assert all(contacts[s]["Last_Name"].startswith("Sample") for s in samples)
    assert not SyncError.objects.exists()


@E2E
def test_two_customers_in_one_batch_never_claim_the_same_crm_contact(qbo_company, crm_org, flows):
    existing = crm_contact(crm_org, "Bowman", "(650) 555-0142", "molly@bowman.example")
    first = qbo_sandbox.record_create(
        company=qbo_company, entity="Customer", data=customer("Molly Bowman", "(650) 555-0142")
    )
    second = qbo_sandbox.record_create(
        company=qbo_company, entity="Customer", data=customer("Sam Bowman", "650.555.0142")
    )

    deliver_and_sync()

    links = {
        link.source_id: link.target_id for link in RecordLink.objects.filter(flow=flows["Contacts"])
    }
    assert set(links) == {first["Id"], second["Id"]}
    assert sorted(links.values()).count(existing) == 1
    assert len(crm_records("Contacts")) == 2
    assert not SyncError.objects.exists()
