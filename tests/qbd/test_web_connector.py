"""The whole way over real HTTP: the sandbox's Web Connector runs sessions against the
product's /qbwc/ on the live server, the sandbox's QuickBooks answers the qbXML, the engine
takes the inbox into the sandbox CRM. The .qwc the product makes is what the Web Connector
reads."""

from __future__ import annotations

import pytest

from connectors.qbd.models import QbdCompany, QbwcSession
from connectors.qbd.qwc import qwc_document
from connectors.sandbox.qbd import services as qb
from connectors.sandbox.qbd.demo import app_from_qwc
from connectors.sandbox.qbd.models import SandboxQbRecord
from connectors.sandbox.qbd.webconnector import session_run
from connectors.sandbox.zoho.models import CrmRecord, CrmRelation
from syncs.live import inbox_drain
from syncs.models import ChangeEvent, RecordLink, SyncFlow
from tests.qbd.conftest import PASSWORD, company_make, desktop_flows

pytestmark = pytest.mark.django_db(transaction=True)


def connected(crm, *, customers: int, items: int = 0, invoices: int = 0, name: str = "Acme"):
    """A QuickBooks company file with its records, the product's connection to it with the
    default flows, and its .qwc added to the sandbox's Web Connector."""
    company = qb.company_create(name=f"{name} Landscaping", file_path=rf"C:\Books\{name}.QBW")
    qb.company_seed(company, customers=customers, items=items, invoices=invoices, seed=3)
    qbd = company_make(f"{name} Desktop", f"{name.lower()}-qbwc")
    qbd.company_file = company.file_path
    qbd.save()
    pairs = [("Customer", "Accounts")]
    pairs += [("Item", "Products"), ("Invoice", "Deals")] if invoices else []
    desktop_flows(qbd, crm, *pairs)
    app = app_from_qwc(qwc_document(qbd), password=PASSWORD, company=company)
    return company, qbd, app


def accounts(crm_org):
    return CrmRecord.objects.filter(org=crm_org, module="Accounts", deleted_at__isnull=True)


def test_customers_items_and_invoices_reach_the_crm_in_one_session(base_url, crm, crm_org):
    company, qbd, app = connected(crm, customers=250, items=6, invoices=20)

    session = session_run(app)
    inbox_drain()

    assert session.status == "done", session.log
    assert accounts(crm_org).count() == 250
    deals = CrmRecord.objects.filter(org=crm_org, module="Deals")
    assert deals.count() == 20
    invoice = SandboxQbRecord.objects.filter(company=company, kind="Invoice").first()
    deal = deals.get(record_id=RecordLink.objects.get(source_id=invoice.record_id).target_id)
    assert deal.data["Deal_Name"] == invoice.data["RefNumber"]
    lines = {line["ItemRef"]["ListID"] for line in invoice.data["InvoiceLineRet"]}
    related = CrmRelation.objects.filter(record_id=deal.record_id, related_list="Products")
    products = RecordLink.objects.filter(source_id__in=lines).values_list("target_id", flat=True)
    assert set(related.values_list("related_id", flat=True)) == set(products)
    ours = QbwcSession.objects.get(ticket=session.ticket)
    assert ours.status == "done" and ours.progress == 100
    assert ours.round_trips == session.round_trips
    qbd.refresh_from_db()
    assert set(qbd.watermarks) >= {"Customer", "Item", "Invoice"}


def test_nothing_changed_is_nothing_written(base_url, crm, crm_org):
    _, _, app = connected(crm, customers=30)
    session_run(app)
    inbox_drain()
    calls = crm.__class__.objects.get(pk=crm.pk).api_call_count

    again = session_run(app)
    inbox_drain()

    assert again.status == "done"
    assert crm.__class__.objects.get(pk=crm.pk).api_call_count == calls, "no CRM call"


def test_a_session_dropped_mid_listing_is_finished_by_the_next_without_duplicates(
    base_url, crm, crm_org
):
    _, qbd, app = connected(crm, customers=450)
    QbdCompany.objects.filter(pk=qbd.pk).update(page_sizes={"Customer": 100})

    dropped = session_run(app, stop_after=2, drop_iterators=True)
    finished = session_run(app)
    inbox_drain()

    assert dropped.status == "dropped" and finished.status == "done"
    assert accounts(crm_org).count() == 450
    assert ChangeEvent.objects.filter(connection=qbd.connection).count() == 450
    statuses = list(QbwcSession.objects.filter(company=qbd).values_list("status", flat=True))
    assert sorted(statuses) == ["done", "expired"]


def test_an_edit_in_quickbooks_follows_and_a_crm_edit_goes_back(base_url, crm, crm_org):
    from connectors.sandbox.zoho import services as zoho
    from syncs.inbox import NewEvent, events_record

    company, qbd, app = connected(crm, customers=3)
    session_run(app)
    inbox_drain()
    customer = SandboxQbRecord.objects.filter(company=company, kind="Customer").first()
    qb.record_modify(record=customer, changes={"Name": "Renamed in QuickBooks"})
    session_run(app)
    inbox_drain()
    link = RecordLink.objects.get(flow__source=qbd.connection, source_id=customer.record_id)
    account = CrmRecord.objects.get(org=crm_org, record_id=link.target_id)
    assert account.data["Account_Name"] == "Renamed in QuickBooks"

    zoho.crm_record_update(
        org=crm_org, module="Accounts", record_id=account.record_id, data={"Phone": "6505550199"}
    )
    events_record([NewEvent(connection=crm, entity="Accounts", external_id=account.record_id)])
    inbox_drain()
    session_run(app)

    customer.refresh_from_db()
    assert customer.data["Phone"] == "6505550199"
    link.refresh_from_db()
    assert link.source_version == customer.edit_sequence


def test_the_wrong_company_file_is_refused_and_nothing_read(base_url, crm, crm_org):
    _, _, app = connected(crm, customers=5)
    other = qb.company_create(name="Someone Else", file_path=r"C:\Books\Other.QBW")
    qb.company_seed(other, customers=5, seed=9)
    other.file_ids = {app.owner_id: "{00000000-0000-4000-8000-000000000BAD}"}
    other.save()
    app.company = other
    app.save()

    session = session_run(app)

    assert session.status == "error"
    assert any("wrong company file" in line for line in session.log), session.log
    assert not ChangeEvent.objects.exists()
    assert QbwcSession.objects.get(ticket=session.ticket).status == "refused"


def test_a_wrong_password_is_invalid_user(base_url, crm, crm_org):
    _, _, app = connected(crm, customers=1)
    app.password = "not it"
    app.save()

    assert session_run(app).status == "nvu"
    assert QbwcSession.objects.filter(status="refused").count() == 1
    assert SyncFlow.objects.count() == 1


def test_iterators_page_through_2500_customers_without_losing_or_repeating_one(
    base_url, crm, crm_org
):
    company, qbd, app = connected(crm, customers=2500)

    session = session_run(app)

    assert session.status == "done", session.log[-5:]
    events = ChangeEvent.objects.filter(connection=qbd.connection, entity="Customer")
    ids = set(events.values_list("external_id", flat=True))
    listed = set(
        SandboxQbRecord.objects.filter(company=company, kind="Customer").values_list(
            "record_id", flat=True
        )
    )
    assert ids == listed and events.count() == 2500
    ours = QbwcSession.objects.get(ticket=session.ticket)
    assert ours.records_received == 2500
    qbd.refresh_from_db()
    assert qbd.page_sizes["Customer"] > 100, "fast answers grow the page"


def test_a_customer_deleted_in_quickbooks_before_its_crm_edit_arrives(base_url, crm, crm_org):
    from connectors.sandbox.zoho import services as zoho
    from syncs.inbox import NewEvent, events_record
    from syncs.models import SyncError

    company, qbd, app = connected(crm, customers=2)
    session_run(app)
    inbox_drain()
    customer = SandboxQbRecord.objects.filter(company=company, kind="Customer").first()
    link = RecordLink.objects.get(flow__source=qbd.connection, source_id=customer.record_id)
    zoho.crm_record_update(
        org=crm_org, module="Accounts", record_id=link.target_id, data={"Phone": "6505550123"}
    )
    events_record([NewEvent(connection=crm, entity="Accounts", external_id=link.target_id)])
    inbox_drain()
    qb.record_delete(record=customer)  # gone before the next session hands the change over

    session = session_run(app)

    assert session.status == "done"
    error = SyncError.objects.get(flow=link.flow)
    assert error.code == "3120" and error.target_id == link.target_id
    assert error.message, "QuickBooks' own words"
