"""The sandbox demo that `make run` seeds: a QuickBooks company full of plausible records
(customers, vendors, items, invoices, estimates, purchase orders, bills), a Zoho CRM org and a
Zoho Books organization with a little data of their own, the product connected to all three
through the fakes' real OAuth flow, and the QuickBooks -> CRM flows with their historical syncs
queued, so that a newcomer sees records flow within a minute; and a QuickBooks Desktop company
file reached through the sandbox's Web Connector (`connectors.sandbox.qbd.demo`).

Every step is idempotent: what exists (found by name) is left as it is, and what a demo seeded
by an older version lacks is added, so a second run changes nothing. The records come from
seeded `random.Random`s, so every machine gets the same ones.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypedDict

from django.db import transaction
from django_q.tasks import async_chain

from connectors.models import Connection
from connectors.sandbox import demo_records as records
from connectors.sandbox.connect import sandbox_connection_create, sandbox_consent, sandbox_urls
from connectors.sandbox.models import FaultProfile, Vendor
from connectors.sandbox.qbd.demo import demo_qbd_ensure
from connectors.sandbox.qbo import services as qbo
from connectors.sandbox.qbo.models import Company
from connectors.sandbox.qbo.selectors import record_render
from connectors.sandbox.zoho import services as zoho
from connectors.sandbox.zoho.models import BooksOrganization, CrmOrg
from connectors.zoho_books.organizations import connection_set_organization
from syncs.models import SyncFlow
from syncs.services import flow_create_with_defaults, flow_history_start

QBO_COMPANY = "Craig's Design and Landscaping Services"
CRM_ORG = "Zylker CRM"
BOOKS_ORG = "Zylker Books"
BOOKS_USER = "finance@zylker.example"
CONNECTIONS: dict[str, str] = {
    Connection.System.QBO: "Demo QuickBooks",
    Connection.System.ZOHO_CRM: "Demo Zoho CRM",
    Connection.System.ZOHO_BOOKS: "Demo Zoho Books",
}
TWO_WAY, ONE_WAY = SyncFlow.Direction.TWO_WAY, SyncFlow.Direction.ONE_WAY
# (name, QBO entity, CRM module, direction), in the order their histories run: what the others
# point at first (products, accounts, the contacts that point at their accounts, vendors), then
# the transactions, whose customers, vendors and line items are linked by then. The names and
# contact details of the catalogue go both ways; the transactions are QuickBooks'.
FLOWS = (
    ("Demo: QuickBooks items ↔ CRM products", "Item", "Products", TWO_WAY),
    ("Demo: QuickBooks customers ↔ CRM accounts", "Customer", "Accounts", TWO_WAY),
    ("Demo: QuickBooks customers ↔ CRM contacts", "Customer", "Contacts", TWO_WAY),
    ("Demo: QuickBooks vendors ↔ CRM vendors", "Vendor", "Vendors", TWO_WAY),
    ("Demo: QuickBooks invoices → CRM invoices", "Invoice", "Invoices", ONE_WAY),
    ("Demo: QuickBooks estimates → CRM quotes", "Estimate", "Quotes", ONE_WAY),
    (
        "Demo: QuickBooks purchase orders → CRM purchase orders",
        "PurchaseOrder",
        "Purchase_Orders",
        ONE_WAY,
    ),
)
# QBO transactions: what makes the demo's, who they are with, and what they are called.
DOCUMENTS: dict[str, tuple[Callable[..., list[records.Doc]], str, str]] = {
    "Invoice": (records.demo_invoices, "Customer", "invoices"),
    "Estimate": (records.demo_estimates, "Customer", "estimates"),
    "PurchaseOrder": (records.demo_purchase_orders, "Vendor", "purchase orders"),
    "Bill": (records.demo_bills, "Vendor", "bills"),
}
HISTORY_SINCE = date(2000, 1, 1)
HISTORY_TASK = "syncs.tasks.flow_history_task"
SEED = 20140911  # the day Intuit's sample company was made


class _FlowPair(TypedDict):
    """What finds a demo flow, with its CRM module: the connections and the QBO entity."""

    source: Connection
    target: Connection
    source_entity: str


@dataclass(frozen=True)
class Outcome:
    """One thing the seed looked at and what it did about it."""

    subject: str
    action: str  # created | connected | reconnected | moved | queued | exists
    detail: str = ""

    @property
    def changed(self) -> bool:
        return self.action != "exists"

    def __str__(self) -> str:
        return f"{self.subject}: {self.action}" + (f" ({self.detail})" if self.detail else "")


# --- the vendors' sides -----------------------------------------------------------------------


@contextmanager
def qbo_webhooks_paused() -> Iterator[None]:
    """No webhook for each seeded record: the product has no flows yet, and the historical
    syncs read the records anyway. The setting is put back as it was, whatever happens."""
    was = FaultProfile.for_vendor(Vendor.QBO).webhooks_enabled
    FaultProfile.objects.filter(vendor=Vendor.QBO).update(webhooks_enabled=False)
    try:
        yield
    finally:
        FaultProfile.objects.filter(vendor=Vendor.QBO).update(webhooks_enabled=was)


def demo_qbo_company_ensure(*, base_url: str) -> tuple[Company, Outcome]:
    """The QBO company with its customers, vendors and items (all or nothing), its webhooks
    aimed at `base_url`."""
    webhook_url = f"{base_url}/webhooks/qbo/"
    subject = f'QuickBooks company "{QBO_COMPANY}"'
    company = Company.objects.filter(name=QBO_COMPANY).order_by("pk").first()
    if company is not None:
        if company.webhook_url == webhook_url:
            return company, Outcome(subject, "exists", f"realm {company.realm_id}")
        Company.objects.filter(pk=company.pk).update(webhook_url=webhook_url)
        company.webhook_url = webhook_url
        return company, Outcome(subject, "moved", f"webhooks now go to {webhook_url}")
    rng = random.Random(SEED)  # noqa: S311 - made-up records, not secrets
    with qbo_webhooks_paused(), transaction.atomic():
        company = qbo.company_create(name=QBO_COMPANY, webhook_url=webhook_url)
        made = {
            entity: [qbo.record_create(company=company, entity=entity, data=doc) for doc in docs]
            for entity, docs in (
                ("Customer", records.demo_customers(rng=rng)),
                ("Vendor", records.demo_vendors(rng=rng)),
                ("Item", records.demo_items()),
            )
        }
    counts = ", ".join(f"{len(docs)} {entity.lower()}s" for entity, docs in made.items())
    return company, Outcome(subject, "created", counts)


def _names(company: Company, entity: str) -> list[records.Doc]:
    """The company's active customers, vendors or items as the API renders them: what a new
    transaction may point at (QBO refuses an inactive one)."""
    stored = company.records.filter(entity=entity, active=True, deleted=False).order_by("qbo_id")
    return [record_render(record) for record in stored]


def _documents_held(company: Company) -> str:
    """`30 invoices, 10 estimates, ...`: the company's transactions not deleted."""
    stored = company.records.filter(entity__in=DOCUMENTS, deleted=False)
    return ", ".join(
        f"{stored.filter(entity=entity).count()} {label}"
        for entity, (_, _, label) in DOCUMENTS.items()
    )


def demo_qbo_documents_ensure(*, company: Company, today: date) -> Outcome:
    """The company's invoices, estimates, purchase orders and bills, through the fake's own
    write rules. Each kind is made only if the company has none (deleted ones count): a kind
    someone has already used, or removed, is theirs, and a demo seeded before a kind existed
    gets it now. Every kind has its own `random.Random`, so adding one changes no other."""
    subject = f'QuickBooks transactions of "{company.name}"'
    present = set(
        company.records.filter(entity__in=DOCUMENTS)
        .order_by()
        .values_list("entity", flat=True)
        .distinct()
    )
    missing = [entity for entity in DOCUMENTS if entity not in present]
    if not missing:
        return Outcome(subject, "exists", _documents_held(company))
    made = []
    with qbo_webhooks_paused(), transaction.atomic():
        items = _names(company, "Item")
        for entity in missing:
            build, party, label = DOCUMENTS[entity]
            rng = random.Random(f"{SEED}:{entity}")  # noqa: S311 - made-up records, not secrets
            with_whom = {f"{party.lower()}s": _names(company, party)}
            docs = build(rng=rng, items=items, today=today, **with_whom)
            for doc in docs:
                qbo.record_create(company=company, entity=entity, data=doc)
            if docs:  # none when all they could point at was made inactive
                made.append(f"{len(docs)} {label}")
    if not made:
        return Outcome(subject, "exists", _documents_held(company))
    return Outcome(subject, "created", ", ".join(made))


def demo_crm_org_ensure() -> tuple[CrmOrg, Outcome]:
    """The CRM org: none of QuickBooks' records (the engine brings those), but a few accounts
    and contacts of its own, as a CRM in use has."""
    subject = f'Zoho CRM org "{CRM_ORG}"'
    org = CrmOrg.objects.filter(name=CRM_ORG).order_by("pk").first()
    if org is not None:
        return org, Outcome(subject, "exists", f"org {org.org_id}")
    with transaction.atomic():
        org = zoho.crm_org_create(name=CRM_ORG, currency="USD")
        accounts = zoho.crm_records_bulk_create(
            org=org, module="Accounts", rows=records.demo_crm_accounts(), notify=False
        )
        contacts = zoho.crm_records_bulk_create(
            org=org,
            module="Contacts",
            rows=records.demo_crm_contacts(account_ids=[a.record_id for a in accounts]),
            notify=False,
        )
    return org, Outcome(subject, "created", f"{len(accounts)} accounts, {len(contacts)} contacts")


def demo_books_org_ensure(*, today: date) -> tuple[BooksOrganization, Outcome]:
    """The Books organization: customers, a vendor, invoices over the last months, and two of
    them paid."""
    subject = f'Zoho Books organization "{BOOKS_ORG}"'
    org = BooksOrganization.objects.filter(name=BOOKS_ORG).order_by("pk").first()
    if org is not None:
        return org, Outcome(subject, "exists", f"organization {org.organization_id}")
    rng = random.Random(SEED)  # noqa: S311 - made-up records, not secrets
    with transaction.atomic():
        org = zoho.books_org_create(name=BOOKS_ORG, currency_code="USD", user_email=BOOKS_USER)
        customers = [
            (zoho.books_contact_create(org=org, data=data), line, rate)
            for data, line, rate in records.demo_books_contacts(rng=rng)
        ]
        vendor = {"contact_name": "Sunrise Office Supplies", "contact_type": "vendor"}
        zoho.books_contact_create(org=org, data=vendor)
        invoices = [
            zoho.books_invoice_create(
                org=org,
                data=records.demo_books_invoice(
                    rng=rng,
                    customer_id=contact.record_id,
                    line=line,
                    rate=rate,
                    day=today - timedelta(days=12 * (len(customers) + 3 - number)),
                    number=number,
                ),
            )
            for number, (contact, line, rate) in enumerate(customers + customers[:2], start=1)
        ]
        for invoice in invoices[:2]:
            total = invoice.data["total"]
            paid = [{"invoice_id": invoice.record_id, "amount_applied": total}]
            zoho.books_payment_create(
                org=org,
                data={"customer_id": invoice.customer_id, "amount": total, "invoices": paid}
                | {"payment_mode": "banktransfer", "date": invoice.data["due_date"]},
            )
    detail = f"{len(customers) + 1} contacts, {len(invoices)} invoices, 2 payments"
    return org, Outcome(subject, "created", detail)


# --- the product's side -----------------------------------------------------------------------


def _addresses(system: str, base_url: str) -> dict[str, str]:
    """Where a connection of `system` reaches the sandbox on `base_url`."""
    urls = sandbox_urls(system, base_url)
    if system != Connection.System.QBO:
        urls["accounts_server"] = urls["oauth_base_url"]
        urls["api_domain"] = f"{base_url}/sandbox/zoho"
    return urls


def demo_connection_ensure(
    *, system: str, base_url: str, organization_id: str = "", **form: str
) -> tuple[Connection, Outcome]:
    """The demo connection of `system`, connected through the sandbox's OAuth consent: made
    when missing, reconnected when it is pending or needs reconnecting, else left alone (only
    re-aimed when the server moved to another address)."""
    name = CONNECTIONS[system]
    subject = f'Connection "{name}"'
    connection = Connection.objects.filter(system=system, name=name).order_by("pk").first()
    if connection is None:
        connection = sandbox_connection_create(
            system=system, name=name, base_url=base_url, organization_id=organization_id, **form
        )
        return connection, Outcome(subject, "connected", "through the sandbox's OAuth consent")
    moved = {
        field: value
        for field, value in _addresses(system, base_url).items()
        if getattr(connection, field) and getattr(connection, field) != value
    }
    if moved:
        Connection.objects.filter(pk=connection.pk).update(**moved)
        connection.refresh_from_db()
    if connection.status == Connection.Status.CONNECTED:
        action = "moved" if moved else "exists"
        return connection, Outcome(subject, action, f"now on {base_url}" if moved else "connected")
    if connection.status == Connection.Status.DISABLED:
        return connection, Outcome(subject, "exists", "disabled by an admin: left as it is")
    result = sandbox_consent(connection, **form)
    connection.refresh_from_db()
    if result.needs_organization_choice and organization_id:
        connection_set_organization(connection, organization_id)
    return connection, Outcome(subject, "reconnected", "through the sandbox's OAuth consent")


def demo_qbo_webhook_secret(*, connection: Connection, company: Company) -> Outcome | None:
    """The QBO connection verifies webhooks with the company's verifier token."""
    if connection.webhook_secret == company.verifier_token:
        return None
    connection.webhook_secret = company.verifier_token
    connection.save(update_fields=["webhook_secret", "updated_at"])
    return Outcome(f'Connection "{connection.name}"', "updated", "webhook verifier token set")


def _direction(flow: SyncFlow) -> str:
    return "two-way" if flow.is_two_way else "one-way"


def demo_flows_ensure(
    *, qbo_connection: Connection, crm: Connection
) -> tuple[list[SyncFlow], list[Outcome]]:
    """The QuickBooks -> CRM flows with their default mappings, found by what they connect. One
    that exists keeps its direction and mappings: an admin may have chosen them."""
    flows, outcomes = [], []
    for name, source_entity, target_entity, direction in FLOWS:
        pair: _FlowPair = {"source": qbo_connection, "target": crm, "source_entity": source_entity}
        flow = SyncFlow.objects.filter(**pair, target_entity=target_entity).order_by("pk").first()
        if flow is None:
            flow = flow_create_with_defaults(
                name=name,
                **pair,
                target_entity=target_entity,
                direction=direction,
                system_of_truth=SyncFlow.SystemOfTruth.SOURCE,  # QuickBooks
            )
            detail = f"{_direction(flow)}, {flow.mappings.count()} field mappings"
            outcomes.append(Outcome(f'Flow "{flow.name}"', "created", detail))
        else:
            detail = f"{flow.get_state_display()}, {_direction(flow)}"
            outcomes.append(Outcome(f'Flow "{flow.name}"', "exists", detail))
        flows.append(flow)
    return flows, outcomes


def _history_task(flow: SyncFlow) -> tuple[str, tuple[int], dict[str, str]]:
    return HISTORY_TASK, (flow.pk,), {"task_name": f"history-{flow.pk}"}


def demo_histories_start(*, flows: list[SyncFlow]) -> list[Outcome]:
    """Start the historical sync of each flow that never had one, all in one django-q chain in
    the order of `flows`, so that each runs after what it points at: a contact whose account
    is not linked yet would fail as `missing_dependency`, which waits for a person, and an
    invoice would sync its customer and items itself, one by one. One chain also leaves the
    other workers free for the webhooks that arrive meanwhile."""
    started = [
        flow
        for flow in flows
        if flow.history_state == SyncFlow.HistoryState.IDLE
        and flow_history_start(flow, since=HISTORY_SINCE)
    ]
    if started:
        async_chain([_history_task(flow) for flow in started])
    return [
        Outcome(
            f'History of "{flow.name}"',
            "queued",
            "after the one above" if position else f"since {HISTORY_SINCE}",
        )
        for position, flow in enumerate(started)
    ]


def demo_seed(*, base_url: str, today: date | None = None) -> list[Outcome]:
    """Everything `seed_demo` does, in order; what each step found or did."""
    base_url = base_url.rstrip("/")
    today = today or date.today()
    company, outcome = demo_qbo_company_ensure(base_url=base_url)
    outcomes = [outcome, demo_qbo_documents_ensure(company=company, today=today)]
    crm_org, outcome = demo_crm_org_ensure()
    outcomes.append(outcome)
    books_org, outcome = demo_books_org_ensure(today=today)
    outcomes.append(outcome)
    qbo_connection, outcome = demo_connection_ensure(
        system=Connection.System.QBO, base_url=base_url, realm_id=company.realm_id
    )
    outcomes.append(outcome)
    if secret := demo_qbo_webhook_secret(connection=qbo_connection, company=company):
        outcomes.append(secret)
    crm, outcome = demo_connection_ensure(
        system=Connection.System.ZOHO_CRM, base_url=base_url, org_id=crm_org.org_id
    )
    outcomes.append(outcome)
    _, outcome = demo_connection_ensure(
        system=Connection.System.ZOHO_BOOKS,
        base_url=base_url,
        organization_id=books_org.organization_id,
        org_id=books_org.organization_id,
    )
    outcomes.append(outcome)
    flows, flow_outcomes = demo_flows_ensure(qbo_connection=qbo_connection, crm=crm)
    desktop = [Outcome(*said) for said in demo_qbd_ensure(crm=crm)]
    return [
        *outcomes,
        *flow_outcomes,
        *desktop,
        demo_channels_ensure(),
        *demo_histories_start(flows=flows),
    ]


def demo_channels_ensure() -> Outcome:
    """The CRM's notification channel for the two-way flows, now rather than at the hourly run,
    so that an edit in the sandbox CRM reaches QuickBooks from the start."""
    from connectors.models import WebhookChannel
    from syncs.tasks import channels_ensure_for_flows

    def state() -> list[tuple]:
        return list(WebhookChannel.objects.values_list("pk", "events", "status").order_by("pk"))

    before = state()
    done = channels_ensure_for_flows()
    subject = "Zoho CRM notification channel"
    if done.failed:
        return Outcome(subject, "failed", "see the channel's error in the admin")
    return Outcome(subject, "exists" if state() == before else "created")
