"""Reading everything, and only what changed: CRM pages past 2000 records, QBO query pages of
1000, QBO change data capture with deletions, CRM `If-Modified-Since`."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from connectors.models import Connection
from connectors.qbo.client import QboClient
from connectors.sandbox.models import Vendor
from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.qbo.models import Company, Record
from connectors.sandbox.zoho import services as zoho_sandbox
from connectors.sandbox.zoho.models import CrmOrg, CrmRecord
from connectors.zoho_crm.client import ZohoCrmClient
from tests.integration.conftest import LIVE, faults, requests_to

pytestmark = LIVE


def test_crm_record_pages_return_2500_records_once_each_through_page_tokens(
    crm: Connection, crm_org: CrmOrg
) -> None:
    created = zoho_sandbox.crm_records_bulk_create(
        org=crm_org,
        module="Accounts",
        rows=[{"Account_Name": f"Account {n:04d}"} for n in range(2500)],
        notify=False,
    )

    pages = list(ZohoCrmClient(crm).record_pages("Accounts", ["Account_Name"]))

    ids = [record["id"] for page in pages for record in page]
    assert len(ids) == len(set(ids)) == 2500
    assert set(ids) == {record.record_id for record in created}
    calls = requests_to("/sandbox/zoho/crm/v8/Accounts", method="GET")
    assert len(calls) == 13 and {call.status for call in calls} == {200}
    assert all("page_token=" in call.query for call in calls[10:])  # past 2000 records
    assert not any("DISCRETE_PAGINATION_LIMIT_EXCEEDED" in call.response_body for call in calls)


def test_qbo_query_pages_return_2500_customers_in_pages_of_1000(
    qbo: Connection, qbo_company: Company
) -> None:
    faults(Vendor.QBO, webhooks_enabled=False)  # 2500 deliveries nobody reads
    with transaction.atomic():  # one commit, not 2500 (the services' own blocks nest inside)
        for n in range(2500):
            qbo_sandbox.record_create(
                company=qbo_company, entity="Customer", data={"DisplayName": f"Customer {n:04d}"}
            )
    qbo_sandbox.record_deactivate(company=qbo_company, entity="Customer", record_id="7")

    pages = list(QboClient(qbo).query_pages("Customer"))

    assert [len(page) for page in pages] == [1000, 1000, 500]
    ids = [record.id for page in pages for record in page]
    assert len(set(ids)) == 2500
    assert next(r for page in pages for r in page if r.id == "7").active is False
    assert len(requests_to(f"/sandbox/qbo/v3/company/{qbo.realm_id}/query")) == 3


def test_qbo_cdc_returns_changes_and_deletions_since_the_moment_asked(
    qbo: Connection, qbo_company: Company
) -> None:
    def create(entity: str, data: dict) -> dict:
        return qbo_sandbox.record_create(company=qbo_company, entity=entity, data=data)

    old = create("Customer", {"DisplayName": "Unchanged Since Last Week"})
    Record.objects.filter(qbo_id=old["Id"], entity="Customer").update(
        updated_at=timezone.now() - timedelta(days=7)
    )
    since = timezone.now() - timedelta(minutes=1)
    edited = create("Customer", {"DisplayName": "Edited"})
    qbo_sandbox.record_update(
        company=qbo_company, entity="Customer", record_id=edited["Id"], data={"Notes": "new"}
    )
    gone = create("Customer", {"DisplayName": "Made Inactive"})
    qbo_sandbox.record_deactivate(company=qbo_company, entity="Customer", record_id=gone["Id"])
    line = {"DetailType": "SalesItemLineDetail", "Amount": 10, "SalesItemLineDetail": {}}
    invoice = create("Invoice", {"CustomerRef": {"value": edited["Id"]}, "Line": [line]})
    qbo_sandbox.record_delete(company=qbo_company, entity="Invoice", record_id=invoice["Id"])

    changes = QboClient(qbo).cdc(["Customer", "Invoice"], since)

    by_key = {(record.entity, record.id): record for record in changes}
    assert set(by_key) == {
        ("Customer", edited["Id"]),
        ("Customer", gone["Id"]),
        ("Invoice", invoice["Id"]),
    }
    assert by_key["Customer", edited["Id"]].sync_token == "1"
    assert by_key["Customer", gone["Id"]].active is False
    assert by_key["Invoice", invoice["Id"]].deleted is True


def test_crm_if_modified_since_reads_only_changed_records_and_nothing_when_none_changed(
    crm: Connection, crm_org: CrmOrg
) -> None:
    zoho_sandbox.crm_records_bulk_create(
        org=crm_org,
        module="Accounts",
        rows=[{"Account_Name": name} for name in ("Old One", "Old Two", "Changed")],
        notify=False,
    )
    CrmRecord.objects.filter(org=crm_org).update(modified_at=timezone.now() - timedelta(hours=1))
    changed = CrmRecord.objects.get(org=crm_org, data__Account_Name="Changed")
    since = timezone.now() - timedelta(minutes=1)
    zoho_sandbox.crm_record_update(
        org=crm_org, module="Accounts", record_id=changed.record_id, data={"Phone": "555-0100"}
    )
    client = ZohoCrmClient(crm)

    recent = list(client.record_pages("Accounts", ["Account_Name"], modified_since=since))
    nothing = list(client.record_pages("Accounts", ["Account_Name"], modified_since=timezone.now()))

    assert [[record["id"] for record in page] for page in recent] == [[changed.record_id]]
    assert nothing == []
    calls = requests_to("/sandbox/zoho/crm/v8/Accounts", method="GET")
    assert [call.status for call in calls] == [200, 304]
