"""The QuickBooks Desktop part of the sandbox demo: a company file with customers, items and
invoices (some names outside ASCII), the product's QuickBooks Desktop connection to it with its
default flows into the demo CRM, and the .qwc added to the sandbox's Web Connector, which runs
a session every minute (the worker's "Sandbox Web Connector sessions" schedule), so a newcomer
sees the customers, products and deals reach the CRM within a minute of `make run`.

Idempotent like the rest of the demo: what exists is left as it is."""

from __future__ import annotations

import secrets

from django.db import transaction
from lxml import etree

from connectors.models import Connection
from connectors.qbd.models import QbdCompany
from connectors.qbd.qwc import qwc_document
from connectors.sandbox.qbd import services
from connectors.sandbox.qbd.models import SandboxQbCompany, SandboxWcApp
from syncs.models import SyncFlow
from syncs.services import flow_create_with_defaults

QBD_COMPANY = "Larkspur Landscaping"
QBD_FILE = r"C:\Users\Public\Documents\Intuit\QuickBooks\Larkspur Landscaping.QBW"
QBD_CONNECTION = "Demo QuickBooks Desktop"
QBD_USER = "demo-qbwc"
QBD_FLOWS = (
    ("Desktop items to CRM Products", "Item", "Products"),
    ("Desktop customers to CRM Accounts", "Customer", "Accounts"),
    ("Desktop invoices to CRM Deals", "Invoice", "Deals"),
)


def app_from_qwc(qwc: str, *, password: str, company: SandboxQbCompany) -> SandboxWcApp:
    """What the Web Connector does with *Add an application*: read the .qwc (the password is
    typed in by the user, never in the file)."""
    root = etree.fromstring(qwc.encode("utf-8"))
    return SandboxWcApp.objects.create(
        name=root.findtext("AppName") or "",
        app_url=root.findtext("AppURL") or "",
        username=root.findtext("UserName") or "",
        password=password,
        owner_id=root.findtext("OwnerID") or "",
        file_id=root.findtext("FileID") or "",
        company=company,
        run_every_minutes=int(root.findtext("Scheduler/RunEveryNMinutes") or 5),
    )


def demo_qbd_ensure(*, crm: Connection) -> list[tuple[str, str, str]]:
    """(subject, action, detail) for each thing looked at: the company file, the connection,
    the flows, the Web Connector's app."""
    said = []
    company = SandboxQbCompany.objects.filter(name=QBD_COMPANY).first()
    if company is None:
        company = services.company_create(name=QBD_COMPANY, file_path=QBD_FILE)
        counts = services.company_seed(company, customers=40, items=12, invoices=25, seed=7)
        said.append(("QuickBooks Desktop company file", "created", _counts(counts)))
    else:
        said.append(("QuickBooks Desktop company file", "exists", company.file_path))
    qbd = QbdCompany.objects.filter(connection__name=QBD_CONNECTION).first()
    password = ""
    if qbd is None:
        password = secrets.token_urlsafe(18)
        with transaction.atomic():
            connection = Connection.objects.create(
                system=Connection.System.QBD,
                name=QBD_CONNECTION,
                status=Connection.Status.CONNECTED,
            )
            qbd = QbdCompany(
                connection=connection, username=QBD_USER, company_file=QBD_FILE, poll_minutes=1
            )
            qbd.set_password(password)
            qbd.save()
        said.append((f'Connection "{QBD_CONNECTION}"', "created", f"user {QBD_USER}"))
    else:
        said.append((f'Connection "{QBD_CONNECTION}"', "exists", f"user {qbd.username}"))
    for name, source_entity, target_entity in QBD_FLOWS:
        kept = SyncFlow.objects.filter(
            source=qbd.connection,
            target=crm,
            source_entity=source_entity,
            target_entity=target_entity,
        )
        if kept.exists():
            said.append((f'Flow "{name}"', "exists", ""))
            continue
        flow_create_with_defaults(
            name=name,
            source=qbd.connection,
            target=crm,
            source_entity=source_entity,
            target_entity=target_entity,
        )
        said.append((f'Flow "{name}"', "created", ""))
    if password:
        SandboxWcApp.objects.filter(username=QBD_USER).delete()  # its password is lost
        app = app_from_qwc(qwc_document(qbd), password=password, company=company)
        said.append(("Web Connector app", "created", f"every {app.run_every_minutes} min"))
    else:
        said.append(("Web Connector app", "exists", ""))
    return said


def _counts(counts: dict) -> str:
    return ", ".join(f"{value} {key}" for key, value in counts.items())
