"""OAuth end to end: the admin presses Connect, the fake's consent page answers, the browser
comes back to the product's own callback view, and the product exchanges the code exactly once."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.http import HttpResponse
from django.test import Client

from connectors.base.exceptions import AuthError
from connectors.models import Connection
from connectors.oauth import redirect_uri
from connectors.qbo.client import QboClient
from connectors.sandbox.qbo.models import Company
from connectors.sandbox.zoho import services as zoho_sandbox
from connectors.sandbox.zoho.models import BooksOrganization
from connectors.services import connection_test
from tests.integration.conftest import (
    LIVE_ADMIN,
    QBO_TOKEN_PATH,
    ZOHO_TOKEN_PATH,
    requests_to,
    token_request,
)

pytestmark = LIVE_ADMIN

QBO = Connection.System.QBO
CRM = Connection.System.ZOHO_CRM
BOOKS = Connection.System.ZOHO_BOOKS
TOKEN_PATHS = {QBO: QBO_TOKEN_PATH, CRM: ZOHO_TOKEN_PATH, BOOKS: ZOHO_TOKEN_PATH}


def consent_form(system: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """What the user picks on the vendor's consent page: the company or organization."""
    if system == QBO:
        return {"realm_id": request.getfixturevalue("qbo_company").realm_id}
    if system == CRM:
        return {"org_id": request.getfixturevalue("crm_org").org_id}
    return {"org_id": request.getfixturevalue("books_org").organization_id}


def press_connect(staff: Client, connection: Connection, *, approve: bool, **form: str) -> str:
    """Connect in the admin, then answer the vendor's consent page; where it sends the browser."""
    response = staff.get(f"/connections/{connection.pk}/authorize/")
    assert response.status_code == 302
    assert response["Location"].startswith(connection.oauth_base_url)
    answer = requests.post(
        response["Location"],
        data={"approve": "1" if approve else "0", **form},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def come_back(staff: Client, location: str) -> HttpResponse:
    """The browser following the vendor's redirect to the product's callback."""
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == redirect_uri()
    return staff.get(f"{parts.path}?{parts.query}")


@pytest.fixture
def connect(
    staff: Client, new_connection: Callable[..., Connection], request: pytest.FixtureRequest
) -> Callable[..., tuple[Connection, str]]:
    """Connect a new connection of `system` through the views; (connection, callback URL)."""

    def run(system: str, *, approve: bool = True) -> tuple[Connection, str]:
        connection = new_connection(system)
        location = press_connect(
            staff, connection, approve=approve, **consent_form(system, request)
        )
        return connection, location

    return run


@pytest.mark.parametrize("system", [QBO, CRM, BOOKS])
def test_connect_through_the_views_stores_working_tokens(
    system: str, connect: Callable[..., tuple[Connection, str]], staff: Client, base_url: str
) -> None:
    connection, location = connect(system)

    response = come_back(staff, location)

    assert response.status_code == 302
    assert response["Location"] == f"/admin/connectors/connection/{connection.pk}/change/"
    connection.refresh_from_db()
    assert connection.status == Connection.Status.CONNECTED
    assert connection.access_token and connection.refresh_token
    assert connection.token_refreshed_at
    assert len(requests_to(TOKEN_PATHS[system])) == 1
    assert connection_test(connection)  # the stored token opens the fake's API


def test_qbo_connection_keeps_the_realm_from_the_callback(
    connect: Callable[..., tuple[Connection, str]], staff: Client, qbo_company: Company
) -> None:
    connection, location = connect(QBO)

    come_back(staff, location)

    connection.refresh_from_db()
    assert connection.realm_id == qbo_company.realm_id
    assert connection.refresh_token_hard_expires_at is not None


def test_zoho_connection_keeps_the_accounts_server_and_api_domain_it_was_given(
    connect: Callable[..., tuple[Connection, str]], staff: Client, base_url: str
) -> None:
    connection, location = connect(CRM)

    come_back(staff, location)

    connection.refresh_from_db()
    assert connection.accounts_server == f"{base_url}/sandbox/zoho/accounts"
    assert connection.api_domain == f"{base_url}/sandbox/zoho"


def test_books_with_one_organization_is_connected_to_it(
    connect: Callable[..., tuple[Connection, str]], staff: Client, books_org: BooksOrganization
) -> None:
    connection, location = connect(BOOKS)

    come_back(staff, location)

    connection.refresh_from_db()
    assert connection.organization_id == books_org.organization_id


def test_books_with_two_organizations_asks_which_one_and_keeps_the_choice(
    connect: Callable[..., tuple[Connection, str]], staff: Client, books_org: BooksOrganization
) -> None:
    other = zoho_sandbox.books_org_create(name="Zylker UK", user_email=books_org.user_email)
    connection, location = connect(BOOKS)

    response = come_back(staff, location)
    assert response["Location"] == f"/connections/{connection.pk}/organization/"
    page = staff.get(response["Location"])
    chosen = staff.post(response["Location"], {"organization_id": other.organization_id})

    assert page.status_code == 200
    assert b"Zylker UK" in page.content and b"Zylker Books" in page.content
    assert chosen.status_code == 302
    connection.refresh_from_db()
    assert connection.organization_id == other.organization_id
    assert connection_test(connection) == "Zylker UK"


@pytest.mark.parametrize("system", [QBO, CRM, BOOKS])
def test_refused_consent_shows_a_friendly_page_and_saves_nothing(
    system: str, connect: Callable[..., tuple[Connection, str]], staff: Client
) -> None:
    connection, location = connect(system, approve=False)

    response = come_back(staff, location)

    assert response.status_code == 200
    assert b"Access was not granted" in response.content
    connection.refresh_from_db()
    assert connection.status == Connection.Status.PENDING
    assert connection.access_token == "" and connection.refresh_token == ""
    assert requests_to(TOKEN_PATHS[system]) == []


@pytest.mark.parametrize("system", [QBO, CRM, BOOKS])
def test_a_replayed_callback_is_refused_without_a_second_exchange(
    system: str, connect: Callable[..., tuple[Connection, str]], staff: Client
) -> None:
    connection, location = connect(system)
    come_back(staff, location)
    connection.refresh_from_db()

    replay = come_back(staff, location)

    assert replay.status_code == 400
    assert b"already used" in replay.content
    assert len(requests_to(TOKEN_PATHS[system])) == 1
    stored = Connection.objects.get(pk=connection.pk)
    assert stored.access_token == connection.access_token
    assert stored.status == Connection.Status.CONNECTED


def exchange_again(connection: Connection, code: str) -> requests.Response:
    """The code sent to the token endpoint a second time, as an attacker or a buggy retry would."""
    grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri()}
    return token_request(connection, grant)


@pytest.mark.parametrize(
    ("system", "status", "error"),
    [(QBO, 400, "invalid_grant"), (CRM, 200, "invalid_code"), (BOOKS, 200, "invalid_code")],
)
def test_a_code_replayed_at_the_token_endpoint_is_refused(
    system: str,
    status: int,
    error: str,
    connect: Callable[..., tuple[Connection, str]],
    staff: Client,
) -> None:
    connection, location = connect(system)
    come_back(staff, location)
    connection.refresh_from_db()

    answer = exchange_again(connection, dict(parse_qsl(urlsplit(location).query))["code"])

    assert answer.status_code == status
    assert answer.json()["error"] == error
    assert "access_token" not in answer.json()


def test_a_replayed_qbo_code_revokes_the_grant_and_the_product_asks_to_reconnect(
    connect: Callable[..., tuple[Connection, str]], staff: Client
) -> None:
    connection, location = connect(QBO)
    come_back(staff, location)
    connection.refresh_from_db()
    exchange_again(connection, dict(parse_qsl(urlsplit(location).query))["code"])

    with pytest.raises(AuthError):
        QboClient(connection).company_info()

    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert "invalid_grant" in connection.last_error
