"""The product connects to each fake through the vendors' OAuth flow and its own code."""

from __future__ import annotations

from connectors.models import Connection
from connectors.sandbox.connect import sandbox_connection_create
from connectors.sandbox.zoho import services as zoho_sandbox
from connectors.services import connection_test
from tests.e2e.conftest import E2E


@E2E
def test_qbo_connects_and_answers(qbo, qbo_company):
    assert qbo.status == Connection.Status.CONNECTED
    assert qbo.realm_id == qbo_company.realm_id
    assert connection_test(qbo) == "Craig's Design and Landscaping"


@E2E
def test_zoho_crm_connects_through_the_accounts_server_it_names(crm, base_url):
    assert crm.status == Connection.Status.CONNECTED
    assert crm.accounts_server == f"{base_url}/sandbox/zoho/accounts"
    assert crm.api_domain == f"{base_url}/sandbox/zoho"
    assert connection_test(crm) == "Zylker CRM"


@E2E
def test_zoho_books_with_two_organizations_picks_the_one_asked_for(base_url):
    zoho_sandbox.books_org_create(
        name="Zylker US", currency_code="USD", user_email="books@zylker.example"
    )
    uk = zoho_sandbox.books_org_create(
        name="Zylker UK", currency_code="GBP", user_email="books@zylker.example"
    )
    books = sandbox_connection_create(
        system=Connection.System.ZOHO_BOOKS,
        name="Books",
        base_url=base_url,
        organization_id=uk.organization_id,
    )
    assert books.organization_id == uk.organization_id
    assert connection_test(books) == "Zylker UK"
