"""The adapter contract: what every adapter promises the engine, run against each system's
sandbox fake over real HTTP. A system joins by adding a `Case` below: how to make records on the
vendor's side, what a record of its test entity looks like, and how the vendor deletes one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from connectors.base.adapter import Adapter
from connectors.models import Connection
from connectors.registry import adapter_for
from connectors.sandbox.connect import sandbox_connection_create
from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.zoho import services as zoho_sandbox


@dataclass
class Case:
    system: str
    adapter: Adapter
    entity: str
    name_field: str  # a field `find` can search by, whose value is unique per record here
    seed: Callable[[str], str]  # makes a record named so at the vendor; returns its id
    payload: Callable[[str], dict[str, Any]]  # a record to write, named so
    invalid: dict[str, Any]  # a record the vendor refuses
    vendor_delete: Callable[[str], None]  # deletes (or deactivates) a record the vendor's way
    deactivates: bool = True  # False: `deactivate` refuses, saying how the system does it
    # The version is the modified time to the second (Zoho's Modified_Time): a change made in
    # the same second as the one before keeps it, so it only never goes back.
    version_is_second: bool = False
    match: Callable[[str], dict[str, str]] = field(default=lambda name: {})


def _qbo_case(connection: Connection, company: Any) -> Case:
    def seed(name: str) -> str:
        return qbo_sandbox.record_create(
            company=company, entity="Customer", data={"DisplayName": name}
        )["Id"]

    return Case(
        system="qbo",
        adapter=adapter_for(connection),
        entity="Customer",
        name_field="DisplayName",
        seed=seed,
        payload=lambda name: {"DisplayName": name, "CompanyName": f"{name} Ltd"},
        invalid={"DisplayName": "x" * 600},  # over the 500 characters Intuit allows
        vendor_delete=lambda record_id: qbo_sandbox.record_deactivate(
            company=company, entity="Customer", record_id=record_id
        ),
    )


def _crm_case(connection: Connection, org: Any) -> Case:
    def seed(name: str) -> str:
        record = zoho_sandbox.crm_record_create(
            org=org, module="Accounts", data={"Account_Name": name}
        )
        return str(record.record_id)

    return Case(
        system="zoho_crm",
        adapter=adapter_for(connection),
        entity="Accounts",
        name_field="Account_Name",
        seed=seed,
        payload=lambda name: {"Account_Name": name, "Website": "https://example.com"},
        invalid={"Website": "https://example.com"},  # no Account_Name: mandatory
        vendor_delete=lambda record_id: zoho_sandbox.crm_record_delete(
            org=org, module="Accounts", record_id=record_id
        ),
        deactivates=False,
        version_is_second=True,
        match=lambda name: {"Account_Name": name},
    )


def _books(base_url: str) -> tuple[Any, Connection]:
    org = zoho_sandbox.books_org_create(name="Zylker Books")
    connection = sandbox_connection_create(
        system=Connection.System.ZOHO_BOOKS,
        name="Sandbox Zoho Books",
        base_url=base_url,
        organization_id=org.organization_id,
    )
    return org, connection


def _books_item_case(base_url: str) -> Case:
    org, connection = _books(base_url)

    def seed(name: str) -> str:
        return str(zoho_sandbox.books_item_create(org=org, data={"name": name}).record_id)

    return Case(
        system="zoho_books",
        adapter=adapter_for(connection),
        entity="Item",
        name_field="name",
        seed=seed,
        payload=lambda name: {"name": name, "rate": 75, "description": "Design work"},
        invalid={"rate": 10},  # no name: mandatory
        vendor_delete=lambda record_id: zoho_sandbox.books_item_mark(
            org=org, item_id=int(record_id), active=False
        ),  # Books keeps a used item; it is marked inactive
        version_is_second=True,
    )


def _books_case(base_url: str) -> Case:
    org, connection = _books(base_url)

    def seed(name: str) -> str:
        return str(
            zoho_sandbox.books_contact_create(org=org, data={"contact_name": name}).record_id
        )

    return Case(
        system="zoho_books",
        adapter=adapter_for(connection),
        entity="Contact",
        name_field="contact_name",
        seed=seed,
        payload=lambda name: {"contact_name": name, "company_name": f"{name} Ltd"},
        invalid={"company_name": "No contact name"},  # contact_name is mandatory
        vendor_delete=lambda record_id: zoho_sandbox.books_contact_delete(
            org=org, contact_id=int(record_id)
        ),
        version_is_second=True,
    )


@pytest.fixture(params=["qbo", "zoho_crm", "zoho_books", "zoho_books_item"])
def case(request: pytest.FixtureRequest) -> Case:
    if request.param == "qbo":
        return _qbo_case(request.getfixturevalue("qbo"), request.getfixturevalue("qbo_company"))
    if request.param == "zoho_books":
        return _books_case(request.getfixturevalue("base_url"))
    if request.param == "zoho_books_item":
        return _books_item_case(request.getfixturevalue("base_url"))
    return _crm_case(request.getfixturevalue("crm"), request.getfixturevalue("crm_org"))
