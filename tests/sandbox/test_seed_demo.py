"""`manage.py seed_demo`: the sandbox demo `make run` starts with, seeded against a live server
through the fakes' real OAuth pages, idempotent, and enough for records to flow into the CRM."""

from __future__ import annotations

import random
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils.module_loading import import_string
from django_q.brokers import get_broker
from django_q.signing import SignedPackage

from connectors.models import Connection
from connectors.oauth import connection_refresh
from connectors.sandbox import demo_records
from connectors.sandbox.demo import BOOKS_ORG, CONNECTIONS, CRM_ORG, QBO_COMPANY, SEED
from connectors.sandbox.models import FaultProfile, OutboundDelivery, RequestLog, Vendor
from connectors.sandbox.qbo.models import Company, Record, Token, token_digest
from connectors.sandbox.zoho.models import (
    AccessToken,
    BooksOrganization,
    BooksRecord,
    CrmOrg,
    CrmRecord,
    RefreshToken,
)
from syncs.models import RecordLink, SyncError, SyncFlow, SyncRun

LIVE = pytest.mark.django_db(transaction=True)
NON_ASCII = {"Søren Ødegård", "Zoë Müller GmbH", "José Álvarez", "Ana Ćirić"}
HISTORY = "syncs.tasks.flow_history_task"


@pytest.fixture
def base_url(live_server, settings) -> str:
    settings.PUBLIC_BASE_URL = live_server.url
    get_broker().purge_queue()  # a shared Redis broker may hold other tests' tasks
    return live_server.url


def seed(base_url: str) -> str:
    out = StringIO()
    call_command("seed_demo", base_url=base_url, stdout=out)
    return out.getvalue()


def qbo_docs(entity: str) -> list[dict[str, Any]]:
    company = Company.objects.get(name=QBO_COMPANY)
    return [r.doc | {"Id": str(r.qbo_id)} for r in company.records.filter(entity=entity)]


def counts() -> dict[str, int]:
    """Every record the demo makes, on both sides."""
    return {
        "qbo": Record.objects.count(),
        "crm": CrmRecord.objects.count(),
        "books": BooksRecord.objects.count(),
        "connections": Connection.objects.count(),
        "flows": SyncFlow.objects.count(),
        "companies": Company.objects.count() + CrmOrg.objects.count(),
    }


def demo_connections() -> dict[str, Connection]:
    return {c.system: c for c in Connection.objects.filter(name__in=CONNECTIONS.values())}


def queued() -> list[dict[str, Any]]:
    """What the worker would find in the queue, taken out of it."""
    broker, tasks = get_broker(), []
    while broker.queue_size():  # before dequeue: Redis' dequeue waits a second when empty
        for task_id, package in broker.dequeue() or []:
            tasks.append(SignedPackage.loads(package))
            if task_id is not None:
                broker.acknowledge(task_id)
    return tasks


def run_like_the_worker(tasks: list[dict[str, Any]]) -> None:
    """Run each task, then the rest of its chain after it, as django-q does."""
    for task in tasks:
        import_string(task["func"])(*task["args"])
        for func, args, *_ in task.get("chain") or []:
            import_string(func)(*args)


def test_the_records_are_the_same_on_every_machine_and_unique_where_vendors_insist():
    customers = demo_records.demo_customers(rng=random.Random(SEED))
    assert customers == demo_records.demo_customers(rng=random.Random(SEED))
    names = [c["DisplayName"].casefold() for c in customers]
    emails = [c["PrimaryEmailAddr"]["Address"] for c in customers]
    phones = [c[key]["FreeFormNumber"] for c in customers for key in ("PrimaryPhone", "Mobile")]
    assert len(set(names)) == len(names) and len(set(emails)) == len(emails)
    assert len(set(phones)) == len(phones)
    vendors = demo_records.demo_vendors(rng=random.Random(SEED))
    assert not {v["DisplayName"].casefold() for v in vendors} & set(names)  # one QBO namespace


@LIVE
def test_seed_demo_fills_the_sandbox_connects_the_product_and_queues_the_histories(base_url):
    output = seed(base_url)

    customers = qbo_docs("Customer")
    assert len(customers) >= 50
    assert NON_ASCII | {"Amy's Bird Sanctuary"} <= {c["DisplayName"] for c in customers}
    for customer in customers:
        assert customer["GivenName"] and customer["FamilyName"]
        assert customer["BillAddr"]["Line1"] and customer["ShipAddr"]["City"]
        assert "@" in customer["PrimaryEmailAddr"]["Address"]
        assert customer["PrimaryPhone"]["FreeFormNumber"] and customer["Mobile"]["FreeFormNumber"]
    assert sum(1 for c in customers if c.get("CompanyName")) >= 30
    assert {"Norway", "Germany", "Croatia"} <= {c["BillAddr"].get("Country") for c in customers}
    assert len(qbo_docs("Vendor")) == 10
    items = qbo_docs("Item")
    assert len(items) == 20 and {i["Type"] for i in items} == {"Service", "NonInventory"}
    assert all(i["Sku"] and i["UnitPrice"] > 0 and i["IncomeAccountRef"]["value"] for i in items)
    invoices = qbo_docs("Invoice")
    assert len(invoices) == 30
    ids = {"Customer": {c["Id"] for c in customers}, "Item": {i["Id"] for i in items}}
    for invoice in invoices:
        lines = [x for x in invoice["Line"] if x["DetailType"] == "SalesItemLineDetail"]
        assert 1 <= len(lines) <= 4 and invoice["CustomerRef"]["value"] in ids["Customer"]
        assert {x["SalesItemLineDetail"]["ItemRef"]["value"] for x in lines} <= ids["Item"]
        assert invoice["TotalAmt"] == pytest.approx(sum(x["Amount"] for x in lines))
    company = Company.objects.get(name=QBO_COMPANY)
    assert (company.currency, company.webhook_format) == ("USD", "legacy")
    assert company.webhook_url == f"{base_url}/webhooks/qbo/"
    # Seeding fired no webhook, and the fake sends them again afterwards.
    assert not OutboundDelivery.objects.exists()
    assert FaultProfile.for_vendor(Vendor.QBO).webhooks_enabled

    crm_org = CrmOrg.objects.get(name=CRM_ORG)
    assert crm_org.records.filter(module="Accounts").count() == 5
    assert crm_org.records.filter(module="Contacts").count() == 5
    assert not crm_org.records.filter(data__has_key="QBO_Id").exists()
    books = BooksOrganization.objects.get(name=BOOKS_ORG)
    assert books.records.filter(entity="contact").count() == 7
    assert books.records.filter(entity="invoice").count() == 8
    assert books.records.filter(entity="invoice", data__status="paid").count() == 2

    connections = demo_connections()
    assert set(connections) == set(CONNECTIONS)
    assert all(c.status == Connection.Status.CONNECTED for c in connections.values())
    qbo, crm = connections["qbo"], connections["zoho_crm"]
    assert qbo.realm_id == company.realm_id and qbo.webhook_secret == company.verifier_token
    assert connections["zoho_books"].organization_id == books.organization_id
    # The tokens are the ones the fakes' token endpoints minted for these clients.
    for token in (qbo.access_token, qbo.refresh_token):
        assert Token.objects.filter(
            token_digest=token_digest(token),
            grant__app__client_id=qbo.client_id,
            grant__company=company,
        ).exists()
    assert RefreshToken.objects.filter(
        token=crm.refresh_token, client__client_id=crm.client_id, crm_org=crm_org
    ).exists()
    assert AccessToken.objects.filter(token=crm.access_token, refresh__token=crm.refresh_token)

    flows = {f.target_entity: f for f in SyncFlow.objects.filter(source=qbo, target=crm)}
    assert set(flows) == {"Products", "Accounts", "Contacts", "Vendors"}
    assert all(f.mappings.exists() for f in flows.values())
    assert all(f.history_state == SyncFlow.HistoryState.RUNNING for f in flows.values())
    # Products depend on nothing and go first; Contacts need their accounts linked first:
    # their history is chained after Accounts'.
    in_order = queued()
    assert (in_order[0]["func"], in_order[0]["args"]) == (HISTORY, (flows["Products"].pk,))
    tasks = {(t["func"], t["args"]): t for t in in_order}
    assert set(tasks) == {
        (HISTORY, (flows[module].pk,)) for module in ("Products", "Accounts", "Vendors")
    }
    (chained,) = tasks[(HISTORY, (flows["Accounts"].pk,))]["chain"]
    assert chained[:2] == (HISTORY, (flows["Contacts"].pk,))

    assert "Demo ready" in output and f"{base_url}/admin/" in output
    assert f"{base_url}/sandbox/" in output


@LIVE
def test_the_queued_histories_bring_every_item_customer_and_vendor_into_the_crm(base_url):
    seed(base_url)

    run_like_the_worker(queued())

    crm = demo_connections()["zoho_crm"]
    linked = CrmRecord.objects.filter(org__name=CRM_ORG, data__has_key="QBO_Id")
    accounts = {r.data["QBO_Id"]: r for r in linked.filter(module="Accounts")}
    assert set(accounts) == {c["Id"] for c in qbo_docs("Customer")}
    assert {a.data["Account_Name"] for a in accounts.values()} >= NON_ASCII
    contacts = linked.filter(module="Contacts")
    assert contacts.count() == len(accounts)
    for contact in contacts:
        assert contact.data["Account_Name"]["id"] == accounts[contact.data["QBO_Id"]].record_id
    assert linked.filter(module="Vendors").count() == 10
    products = {r.data["QBO_Id"]: r.data for r in linked.filter(module="Products")}
    assert set(products) == {i["Id"] for i in qbo_docs("Item")}
    assert all(p["QBO_Last_Synced"] for p in products.values())
    assert RecordLink.objects.filter(flow__target=crm).count() == len(accounts) * 2 + 10 + 20
    runs = SyncRun.objects.filter(kind=SyncRun.Kind.HISTORICAL)
    assert [r.status for r in runs] == [SyncRun.Status.SUCCEEDED] * 4
    assert not SyncError.objects.exists()
    assert set(SyncFlow.objects.values_list("history_state", flat=True)) == {"done"}


@LIVE
def test_a_second_run_changes_nothing_and_says_so(base_url):
    seed(base_url)
    before = counts()
    connections = {c.pk: c.access_token for c in demo_connections().values()}
    requests_before = RequestLog.objects.count()
    queued()

    output = seed(base_url)

    assert counts() == before
    assert {c.pk: c.access_token for c in demo_connections().values()} == connections
    assert RequestLog.objects.count() == requests_before  # no OAuth, no calls at all
    assert queued() == []
    assert "nothing changed" in output
    # The refresh tokens it holds work at the fakes' token endpoints.
    for connection in demo_connections().values():
        old = connection.access_token
        assert connection_refresh(connection, stale_token=old) not in ("", old)


@LIVE
def test_a_demo_connection_that_needs_reconnecting_is_reconnected_in_place(base_url):
    seed(base_url)
    crm = demo_connections()["zoho_crm"]
    Connection.objects.filter(pk=crm.pk).update(status=Connection.Status.NEEDS_REAUTH)
    token_calls = RequestLog.objects.filter(endpoint__endswith="/oauth/v2/token")
    calls_before = token_calls.count()

    output = seed(base_url)

    crm.refresh_from_db()
    assert crm.status == Connection.Status.CONNECTED and crm.refresh_token
    assert token_calls.count() == calls_before + 1
    assert Connection.objects.filter(system="zoho_crm").count() == 1
    assert 'Connection "Demo Zoho CRM": reconnected' in output


@LIVE
def test_a_server_on_another_port_gets_the_demo_aimed_at_it(base_url):
    seed(base_url)
    elsewhere = "http://127.0.0.1:8123"

    output = seed(elsewhere)

    company = Company.objects.get(name=QBO_COMPANY)
    assert company.webhook_url == f"{elsewhere}/webhooks/qbo/"
    connections = demo_connections()
    assert connections["qbo"].api_base_url == f"{elsewhere}/sandbox/qbo"
    assert connections["zoho_crm"].api_domain == f"{elsewhere}/sandbox/zoho"
    assert connections["zoho_books"].accounts_server == f"{elsewhere}/sandbox/zoho/accounts"
    assert all(c.status == Connection.Status.CONNECTED for c in connections.values())
    assert "moved" in output


def test_seed_demo_refuses_without_the_sandbox(settings):
    settings.SANDBOX_ENABLED = False
    with pytest.raises(CommandError, match="SANDBOX_ENABLED"):
        call_command("seed_demo", base_url="http://127.0.0.1:9")
