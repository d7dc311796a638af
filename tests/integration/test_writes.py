"""Writes through the product's clients: QBO batches answered item by item, QBO's `requestid`
making a repeated create harmless, Zoho CRM upserts 100 a call with a result per record."""

from __future__ import annotations

from connectors.base.exceptions import PermanentError
from connectors.models import Connection
from connectors.qbo.client import QboClient
from connectors.sandbox.models import RequestLog
from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.qbo.models import Company, Record
from connectors.sandbox.zoho import services as zoho_sandbox
from connectors.sandbox.zoho.models import CrmOrg
from connectors.zoho_crm.client import ZohoCrmClient
from tests.integration.conftest import LIVE, requests_to

pytestmark = LIVE


def test_qbo_batch_reports_duplicate_name_and_stale_token_per_item_in_one_call(
    qbo: Connection, qbo_company: Company
) -> None:
    taken = qbo_sandbox.record_create(
        company=qbo_company, entity="Customer", data={"DisplayName": "Already Here"}
    )
    qbo_sandbox.record_update(  # someone edits it in QBO: SyncToken 0 is now stale
        company=qbo_company, entity="Customer", record_id=taken["Id"], data={"Notes": "edited"}
    )

    results = QboClient(qbo).batch(
        [
            ("create", "Vendor", {"DisplayName": "Already Here"}),
            ("update", "Customer", {"Id": taken["Id"], "SyncToken": "0", "sparse": True}),
            ("create", "Customer", {"DisplayName": "Brand New"}),
        ]
    )

    assert [r.error.code if r.error else None for r in results] == ["6240", "5010", None]
    assert all(isinstance(r.error, PermanentError) for r in results[:2])
    assert results[0].error.message.startswith("Duplicate Name Exists Error: The name supplied")
    assert results[1].error.message.startswith("Stale Object Error: Stale Object Error : You")
    assert results[2].record is not None
    assert results[2].record.data["DisplayName"] == "Brand New"
    assert len(requests_to(f"/sandbox/qbo/v3/company/{qbo.realm_id}/batch")) == 1


def test_qbo_create_repeated_with_its_requestid_returns_the_same_record(
    qbo: Connection, qbo_company: Company
) -> None:
    client = QboClient(qbo)

    first = client.create("Customer", {"DisplayName": "Exactly Once"}, request_id="sync-42-a")
    again = client.create("Customer", {"DisplayName": "Exactly Once"}, request_id="sync-42-a")

    assert again == first
    assert Record.objects.filter(company=qbo_company, entity="Customer").count() == 1
    assert len(requests_to(f"/sandbox/qbo/v3/company/{qbo.realm_id}/customer")) == 2


def test_crm_upsert_of_150_records_takes_two_calls_and_answers_each_record(
    crm: Connection, crm_org: CrmOrg
) -> None:
    existing = zoho_sandbox.crm_record_create(
        org=crm_org, module="Accounts", data={"Account_Name": "Linked Co", "QBO_Id": "Q-1"}
    )
    zoho_sandbox.crm_record_create(org=crm_org, module="Accounts", data={"Account_Name": "Taken"})
    rows = [
        {"QBO_Id": "Q-1", "Account_Name": "Linked Co (renamed)"},  # matches: an update
        {"QBO_Id": "Q-2", "Account_Name": "Taken"},  # another account's unique name
        {"QBO_Id": "Q-3"},  # no Account_Name, which is mandatory
        *({"QBO_Id": f"Q-{n}", "Account_Name": f"Account {n}"} for n in range(4, 151)),
    ]

    results = ZohoCrmClient(crm).upsert("Accounts", rows, duplicate_check_fields=["QBO_Id"])

    assert len(results) == 150
    assert (results[0].ok, results[0].action, results[0].id) == (True, "update", existing.record_id)
    assert (results[1].ok, results[1].code, results[1].message) == (
        False,
        "DUPLICATE_DATA",
        "duplicate data",
    )
    assert results[1].api_name == "Account_Name"
    assert (results[2].ok, results[2].code, results[2].message) == (
        False,
        "MANDATORY_NOT_FOUND",
        "required field not found",
    )
    assert results[2].api_name == "Account_Name"
    assert all(r.ok and r.action == "insert" and r.id for r in results[3:])
    calls = RequestLog.objects.filter(path="/sandbox/zoho/crm/v8/Accounts/upsert")
    assert sorted(call.status for call in calls) == [201, 202]
