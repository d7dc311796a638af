"""Fixtures for tests that run the product against the sandbox fakes on a live server: the
connections are made through the fakes' consent pages and the product's own OAuth code.
Registered for the whole suite in tests/conftest.py; a test package's own fixture of the same
name wins over these."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.models import Connection
from connectors.sandbox.connect import sandbox_connection_create
from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.qbo.models import Company
from connectors.sandbox.zoho import services as zoho_sandbox
from connectors.sandbox.zoho.models import CrmOrg


@pytest.fixture
def base_url(live_server: Any, settings: Any) -> str:
    """The live server, where the product (callbacks, webhooks) and the fakes both answer."""
    settings.PUBLIC_BASE_URL = live_server.url
    return live_server.url


@pytest.fixture
def qbo_company(base_url: str) -> Company:
    return qbo_sandbox.company_create(
        name="Craig's Design and Landscaping", webhook_url=f"{base_url}/webhooks/qbo/"
    )


@pytest.fixture
def qbo(base_url: str, qbo_company: Company) -> Connection:
    """A QBO connection made through the fake's consent page, with the company's verifier."""
    connection = sandbox_connection_create(
        system=Connection.System.QBO,
        name="Sandbox QuickBooks",
        base_url=base_url,
        realm_id=qbo_company.realm_id,
    )
    connection.webhook_secret = qbo_company.verifier_token
    connection.save(update_fields=["webhook_secret"])
    return connection


@pytest.fixture
def crm_org(base_url: str) -> CrmOrg:
    return zoho_sandbox.crm_org_create(name="Zylker CRM")


@pytest.fixture
def crm(base_url: str, crm_org: CrmOrg) -> Connection:
    return sandbox_connection_create(
        system=Connection.System.ZOHO_CRM,
        name="Sandbox Zoho CRM",
        base_url=base_url,
        org_id=crm_org.org_id,
    )
