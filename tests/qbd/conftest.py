from __future__ import annotations

import pytest

from connectors.models import Connection
from connectors.qbd.models import QbdCompany
from syncs.models import SyncFlow
from syncs.services import flow_create_with_defaults

PASSWORD = "correct horse battery staple"


def company_make(name: str = "Acme Books", username: str = "acme-qbwc") -> QbdCompany:
    connection = Connection.objects.create(
        system=Connection.System.QBD, name=name, status=Connection.Status.CONNECTED
    )
    company = QbdCompany(
        connection=connection, username=username, company_file=rf"C:\Books\{name}.QBW"
    )
    company.set_password(PASSWORD)
    company.save()
    return company


def customers_flow(company: QbdCompany, crm: Connection) -> SyncFlow:
    return flow_create_with_defaults(
        name=f"{company.connection.name} customers to CRM",
        source=company.connection,
        target=crm,
        source_entity="Customer",
        target_entity="Accounts",
    )


def desktop_flows(company: QbdCompany, crm: Connection, *pairs: tuple[str, str]) -> list[SyncFlow]:
    """The default flows of the (source entity, target entity) pairs, from the company file
    into the CRM."""
    return [
        flow_create_with_defaults(
            name=f"{company.connection.name} {source} to CRM {target}",
            source=company.connection,
            target=crm,
            source_entity=source,
            target_entity=target,
        )
        for source, target in pairs
    ]


@pytest.fixture
def crm_connection(db) -> Connection:
    return Connection.objects.create(
        system=Connection.System.ZOHO_CRM, name="CRM", status=Connection.Status.CONNECTED
    )


@pytest.fixture
def company(db, crm_connection) -> QbdCompany:
    made = company_make()
    customers_flow(made, crm_connection)
    return made
