"""`manage.py seed_demo`: the sandbox demo `make run` starts with, seeded against a live server
through the fakes' real OAuth pages, idempotent, and enough for records to flow into the CRM."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
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
from connectors.sandbox.demo import (
    BOOKS_ORG,
    CONNECTIONS,
    CRM_ORG,
    QBO_COMPANY,
    SEED,
    demo_qbo_company_ensure,
    demo_qbo_documents_ensure,
)
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
# The CRM modules the demo's flows write, in the order their histories run.
CATALOGUE = ("Products", "Accounts", "Contacts", "Vendors")
TRANSACTIONS = ("Invoices", "Quotes", "Purchase_Orders")
TRANSACTION_ENTITIES = ("Estimate", "PurchaseOrder", "Bill")


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


def chained(tasks: list[dict[str, Any]]) -> list[tuple[str, tuple[int, ...]]]:
    """The one task queued and the chain behind it, as (function, args) in the order they run."""
    (head,) = tasks
    return [(head["func"], head["args"])] + [(f, a) for f, a, *_ in head.get("chain") or []]


def item_lines(doc: dict[str, Any], detail: str) -> list[dict[str, Any]]:
    return [line for line in doc["Line"] if line["DetailType"] == detail]


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


@pytest.mark.django_db
def test_the_company_gets_estimates_orders_and_bills_on_its_own_customers_vendors_and_items():
    company, _ = demo_qbo_company_ensure(base_url="http://127.0.0.1:9")
    today = date(2025, 6, 30)

    outcome = demo_qbo_documents_ensure(company=company, today=today)

    assert outcome.detail == "30 invoices, 10 estimates, 6 purchase orders, 8 bills"
    customers = {c["Id"]: c for c in qbo_docs("Customer")}
    vendors = {v["Id"]: v for v in qbo_docs("Vendor")}
    items = {i["Id"]: i for i in qbo_docs("Item")}
    buyable = {i for i, item in items.items() if item.get("PurchaseCost")}
    assert all(items[i]["ExpenseAccountRef"]["value"] for i in buyable)

    estimates = qbo_docs("Estimate")
    assert len(estimates) == 10
    assert {e["TxnStatus"] for e in estimates} == {"Pending", "Accepted", "Closed", "Rejected"}
    for estimate in estimates:
        lines = item_lines(estimate, "SalesItemLineDetail")
        assert 1 <= len(lines) <= 3 and estimate["CustomerRef"]["value"] in customers
        assert {x["SalesItemLineDetail"]["ItemRef"]["value"] for x in lines} <= set(items)
        assert 0 < estimate["TotalAmt"] == pytest.approx(sum(x["Amount"] for x in lines))
        assert estimate["TxnDate"] < estimate["ExpirationDate"]
        if estimate["TxnStatus"] in ("Accepted", "Closed"):
            assert estimate["AcceptedBy"] and estimate["TxnDate"] < estimate["AcceptedDate"]
        if estimate["TxnStatus"] == "Pending":  # still open to the customer
            assert estimate["ExpirationDate"] >= today.isoformat()

    orders = qbo_docs("PurchaseOrder")
    assert len(orders) == 6
    assert [o["POStatus"] for o in orders] == ["Closed"] * 3 + ["Open"] * 3  # oldest first
    bills = qbo_docs("Bill")
    assert len(bills) == 8
    for document in orders + bills:
        assert document["VendorRef"]["value"] in vendors
        assert document["APAccountRef"]["value"] == "33"
        for line in item_lines(document, "ItemBasedExpenseLineDetail"):
            detail = line["ItemBasedExpenseLineDetail"]
            item = items[detail["ItemRef"]["value"]]
            assert item["Id"] in buyable and detail["UnitPrice"] == item["PurchaseCost"]
            assert Decimal(str(line["Amount"])) == detail["Qty"] * Decimal(
                str(item["PurchaseCost"])
            )
    for order in orders:
        assert item_lines(order, "ItemBasedExpenseLineDetail") == order["Line"]
    # Materials from the suppliers, and a few services on expense accounts.
    services = [b for b in bills if item_lines(b, "AccountBasedExpenseLineDetail")]
    assert 0 < len(services) < len(bills)
    assert all(b["Balance"] == b["TotalAmt"] > 0 for b in bills)
    # What the company owes its vendors is what their bills say, as QuickBooks keeps it.
    owed: dict[str, Decimal] = {}
    for bill in bills:
        vendor_id = bill["VendorRef"]["value"]
        owed[vendor_id] = owed.get(vendor_id, Decimal(0)) + Decimal(str(bill["Balance"]))
    assert len(owed) >= 3
    balances = {v: Decimal(str(vendors[v]["Balance"])) for v in vendors}
    assert balances == {v: owed.get(v, Decimal(0)) for v in vendors}


@pytest.mark.django_db
def test_the_transactions_are_made_only_for_kinds_the_company_has_none_of():
    company, _ = demo_qbo_company_ensure(base_url="http://127.0.0.1:9")
    demo_qbo_documents_ensure(company=company, today=date(2025, 6, 30))
    Record.objects.filter(entity="Estimate").delete()  # as a demo seeded before estimates
    Record.objects.filter(entity="Bill").first().delete()  # a bill someone removed
    before = {e: len(qbo_docs(e)) for e in ("Invoice", *TRANSACTION_ENTITIES)}

    outcome = demo_qbo_documents_ensure(company=company, today=date(2025, 7, 1))
    again = demo_qbo_documents_ensure(company=company, today=date(2025, 7, 2))

    assert (outcome.action, outcome.detail) == ("created", "10 estimates")
    assert {e: len(qbo_docs(e)) for e in ("Invoice", *TRANSACTION_ENTITIES)} == before | {
        "Estimate": 10
    }
    assert again.action == "exists"
    assert again.detail == "30 invoices, 10 estimates, 6 purchase orders, 7 bills"


def qbo_flows():
    """The QuickBooks Online flows (the demo's QuickBooks Desktop ones are tested in
    tests/qbd/)."""
    return SyncFlow.objects.filter(source__system="qbo")


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
    assert [len(qbo_docs(entity)) for entity in TRANSACTION_ENTITIES] == [10, 6, 8]
    company = Company.objects.get(name=QBO_COMPANY)
    assert (company.currency, company.webhook_format) == ("USD", "legacy")
    # A US landscaper without multicurrency: every transaction is in dollars.
    for entity in ("Invoice", *TRANSACTION_ENTITIES):
        assert {d["CurrencyRef"]["value"] for d in qbo_docs(entity)} == {"USD"}
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
    assert set(flows) == {*CATALOGUE, *TRANSACTIONS}
    assert all(f.mappings.exists() for f in flows.values())
    assert all(f.history_state == SyncFlow.HistoryState.RUNNING for f in flows.values())
    # The catalogue goes both ways, QuickBooks winning a conflict; transactions go one way.
    two_way, one_way = SyncFlow.Direction.TWO_WAY, SyncFlow.Direction.ONE_WAY
    assert {module: (f.source_entity, f.direction) for module, f in flows.items()} == {
        "Products": ("Item", two_way),
        "Accounts": ("Customer", two_way),
        "Contacts": ("Customer", two_way),
        "Vendors": ("Vendor", two_way),
        "Invoices": ("Invoice", one_way),
        "Quotes": ("Estimate", one_way),
        "Purchase_Orders": ("PurchaseOrder", one_way),
    }
    assert {f.system_of_truth for f in flows.values()} == {SyncFlow.SystemOfTruth.SOURCE}
    # One chain: products, accounts, the contacts that point at them and vendors are linked
    # before the transactions that point at all of them.
    order = (*CATALOGUE, *TRANSACTIONS)
    assert chained(queued()) == [(HISTORY, (flows[module].pk,)) for module in order]

    assert "Demo ready" in output and f"{base_url}/admin/" in output
    assert f"{base_url}/sandbox/" in output


@LIVE
def test_the_queued_histories_bring_the_catalogue_and_its_transactions_into_the_crm(base_url):
    seed(base_url)

    run_like_the_worker(queued())

    crm = demo_connections()["zoho_crm"]
    linked = CrmRecord.objects.filter(org__name=CRM_ORG, data__has_key="QBO_Id")
    accounts = {r.data["QBO_Id"]: r for r in linked.filter(module="Accounts")}
    assert set(accounts) == {c["Id"] for c in qbo_docs("Customer")}
    assert {a.data["Account_Name"] for a in accounts.values()} >= NON_ASCII
    contacts = {r.data["QBO_Id"]: r for r in linked.filter(module="Contacts")}
    assert set(contacts) == set(accounts)
    for customer_id, contact in contacts.items():
        assert contact.data["Account_Name"]["id"] == accounts[customer_id].record_id
    vendors = {r.data["QBO_Id"]: r for r in linked.filter(module="Vendors")}
    assert set(vendors) == {v["Id"] for v in qbo_docs("Vendor")}
    products = {r.data["QBO_Id"]: r for r in linked.filter(module="Products")}
    assert set(products) == {i["Id"] for i in qbo_docs("Item")}
    assert all(p.data["QBO_Last_Synced"] for p in products.values())
    # Each transaction points at the records the catalogue flows made, line by line.
    for entity, module, subform, detail in (
        ("Invoice", "Invoices", "Invoiced_Items", "SalesItemLineDetail"),
        ("Estimate", "Quotes", "Quoted_Items", "SalesItemLineDetail"),
        ("PurchaseOrder", "Purchase_Orders", "Purchased_Items", "ItemBasedExpenseLineDetail"),
    ):
        synced = {r.data["QBO_Id"]: r.data for r in linked.filter(module=module)}
        documents = qbo_docs(entity)
        assert set(synced) == {d["Id"] for d in documents}, module
        for document in documents:
            record = synced[document["Id"]]
            assert record["Subject"] == document["DocNumber"]
            if "CustomerRef" in document:
                customer_id = document["CustomerRef"]["value"]
                assert record["Account_Name"]["id"] == accounts[customer_id].record_id
                assert record["Contact_Name"]["id"] == contacts[customer_id].record_id
            else:
                vendor_id = document["VendorRef"]["value"]
                assert record["Vendor_Name"]["id"] == vendors[vendor_id].record_id
            lines = [
                (products[x[detail]["ItemRef"]["value"]].record_id, x[detail]["Qty"])
                for x in item_lines(document, detail)
            ]
            assert [(x["Product_Name"]["id"], x["Quantity"]) for x in record[subform]] == lines
            assert record["Grand_Total"] == pytest.approx(document["TotalAmt"])
    quotes = linked.filter(module="Quotes")
    stages = {"Draft", "Confirmed", "Closed Won", "Closed Lost"}
    assert {q.data["Quote_Stage"] for q in quotes} == stages
    assert RecordLink.objects.filter(flow__target=crm).count() == len(accounts) * 2 + 10 + 20 + 46
    runs = SyncRun.objects.filter(kind=SyncRun.Kind.HISTORICAL)
    assert [r.status for r in runs] == [SyncRun.Status.SUCCEEDED] * 7
    assert not SyncError.objects.exists()
    assert set(qbo_flows().values_list("history_state", flat=True)) == {"done"}


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
def test_a_demo_seeded_before_the_transactions_gets_them_and_their_flows_once(base_url):
    seed(base_url)
    queued()
    # What an older version left: no estimates, orders or bills, no flows for transactions,
    # and one-way catalogue flows whose histories ran.
    Record.objects.filter(entity__in=TRANSACTION_ENTITIES).delete()
    qbo_flows().filter(target_entity__in=TRANSACTIONS).delete()
    qbo_flows().update(
        direction=SyncFlow.Direction.ONE_WAY, history_state=SyncFlow.HistoryState.DONE
    )
    catalogue = {f.target_entity: f.pk for f in qbo_flows()}

    output = seed(base_url)

    assert [len(qbo_docs(e)) for e in ("Invoice", *TRANSACTION_ENTITIES)] == [30, 10, 6, 8]
    flows = {f.target_entity: f for f in qbo_flows()}
    assert set(flows) == {*CATALOGUE, *TRANSACTIONS}
    assert {module: flows[module].pk for module in CATALOGUE} == catalogue
    # The flows that exist are left as an admin may have set them.
    assert {flows[module].direction for module in CATALOGUE} == {SyncFlow.Direction.ONE_WAY}
    assert chained(queued()) == [(HISTORY, (flows[module].pk,)) for module in TRANSACTIONS]
    assert "created (10 estimates, 6 purchase orders, 8 bills)" in output
    before = counts()
    assert "nothing changed" in seed(base_url)
    assert counts() == before and queued() == []


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
