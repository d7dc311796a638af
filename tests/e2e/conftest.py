"""End-to-end fixtures: the product connected to the sandbox fakes over real HTTP on a live
server, through the real OAuth flow."""

from __future__ import annotations

import pytest

from connectors.models import Connection
from connectors.sandbox.connect import sandbox_connection_create
from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.zoho import services as zoho_sandbox

# Every end-to-end test shares the live server with the product's own HTTP calls.
E2E = pytest.mark.django_db(transaction=True)


@pytest.fixture
def base_url(live_server, settings) -> str:
    settings.PUBLIC_BASE_URL = live_server.url
    return live_server.url


@pytest.fixture
def qbo_company(base_url):
    return qbo_sandbox.company_create(
        name="Craig's Design and Landscaping", webhook_url=f"{base_url}/webhooks/qbo/"
    )


@pytest.fixture
def qbo(base_url, qbo_company) -> Connection:
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
def crm_org(base_url):
    return zoho_sandbox.crm_org_create(name="Zylker CRM")


@pytest.fixture
def crm(base_url, crm_org) -> Connection:
    return sandbox_connection_create(
        system=Connection.System.ZOHO_CRM,
        name="Sandbox Zoho CRM",
        base_url=base_url,
        org_id=crm_org.org_id,
    )
