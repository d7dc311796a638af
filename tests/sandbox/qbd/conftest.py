"""Helpers for the QuickBooks Desktop fake: a company file, qbXML request messages as the
product builds them, and the qbXML 13.0 schema every answer is checked against."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from lxml import etree

from connectors.sandbox.qbd.models import SandboxQbCompany, SandboxQbRecord
from connectors.sandbox.qbd.services import company_create
from tests.paths import FIXTURES

SCHEMA = FIXTURES / "qbwc" / "qbxml130" / "qbxmlops130.xsd"
OWNER_ID = "{6F3C1B2A-9D4E-4F5A-8B7C-1D2E3F4A5B6C}"
FILE_ID = "{0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D}"


@pytest.fixture(scope="session")
def qbxml_schema() -> etree.XMLSchema:
    """Intuit's qbXML 13.0 schema (loading it takes most of a second: once per run)."""
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


@pytest.fixture
def company(db: None) -> SandboxQbCompany:
    return company_create(name="Acme Landscaping", file_path="C:\\Books\\Acme.QBW")


def message(*requests: str, on_error: str = "continueOnError") -> str:
    """A request message as the product's sendRequestXML returns it."""
    body = "".join(requests)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="13.0"?>\n'
        f'<QBXML><QBXMLMsgsRq onError="{on_error}">{body}</QBXMLMsgsRq></QBXML>'
    )


def parsed(response: str) -> etree._Element:
    """The QBXML root of a response message (its declaration stripped: lxml refuses a str
    that declares an encoding)."""
    return etree.fromstring(re.sub(r"^\s*<\?xml[^>]*\?>", "", response))


def answers(response: str) -> list[etree._Element]:
    return list(parsed(response).find("QBXMLMsgsRs"))


def answer(response: str) -> etree._Element:
    (only,) = answers(response)
    return only


def assert_valid(schema: etree.XMLSchema, response: str) -> None:
    document = parsed(response)
    assert schema.validate(document), "\n".join(str(error) for error in schema.error_log)


def ids(rs: etree._Element, tag: str = "ListID") -> list[str]:
    return [ret.findtext(tag) for ret in rs]


def modified_at(record: SandboxQbRecord, moment: datetime) -> None:
    """Backdate a record's TimeModified, as if it had last changed then."""
    SandboxQbRecord.objects.filter(pk=record.pk).update(time_modified=moment)
    record.refresh_from_db()
