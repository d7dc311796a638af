"""The OAuth dance: signed single-use state, one code exchange, what each vendor adds."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.urls import reverse

from connectors.models import Connection
from connectors.oauth import oauth_authorize_url
from tests.factories import QBO_TOKEN_URL, connection_create, qbo_token_body

pytestmark = pytest.mark.django_db


def _state_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


def _callback(client, **params):
    return client.get(reverse("connectors:oauth_callback"), params)


def test_authorize_view_redirects_to_intuit_with_a_signed_state(admin_client):
    connection = connection_create()
    response = admin_client.get(reverse("connectors:authorize", args=[connection.pk]))
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    query = parse_qs(target.query)
    assert (
        f"{target.scheme}://{target.netloc}{target.path}"
        == "https://appcenter.intuit.com/connect/oauth2"
    )
    assert query["client_id"] == ["client-id-1234"]
    assert query["scope"] == ["com.intuit.quickbooks.accounting"]
    assert query["redirect_uri"] == ["http://127.0.0.1:8000/oauth/callback/"]
    assert signing.loads(query["state"][0], salt="connectors.oauth.state")["c"] == connection.pk


def test_authorize_view_needs_a_staff_login(client):
    connection = connection_create()
    response = client.get(reverse("connectors:authorize", args=[connection.pk]))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_code_is_exchanged_once_and_tokens_saved(admin_client, mock_http):
    connection = connection_create(realm_id="")
    token_call = mock_http.post(QBO_TOKEN_URL, json=qbo_token_body())
    state = _state_of(oauth_authorize_url(connection))

    response = _callback(admin_client, code="auth-code-1", state=state, realmId="123145")

    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:connectors_connection_change", args=[connection.pk]
    )
    assert token_call.call_count == 1
    sent = parse_qs(token_call.calls[0].request.body)
    assert sent["grant_type"] == ["authorization_code"]
    assert sent["code"] == ["auth-code-1"]
    assert token_call.calls[0].request.headers["Authorization"].startswith("Basic ")
    connection.refresh_from_db()
    assert connection.status == Connection.Status.CONNECTED
    assert connection.realm_id == "123145"
    assert connection.access_token == "new-access-token-0002"
    assert connection.refresh_token == "new-refresh-token-0002"
    assert connection.refresh_token_hard_expires_at is not None

    replay = _callback(admin_client, code="auth-code-1", state=state, realmId="123145")
    assert replay.status_code == 400
    assert b"already used" in replay.content
    assert token_call.call_count == 1


@pytest.mark.parametrize(
    "state", ["", "forged-state", signing.dumps({"n": "x", "c": 1}, salt="other-salt")]
)
def test_missing_or_forged_state_is_refused_without_any_call(admin_client, mock_http, state):
    connection = connection_create()
    token_call = mock_http.post(QBO_TOKEN_URL, json=qbo_token_body())
    response = _callback(admin_client, code="c", state=state, realmId="1")
    assert response.status_code == 400
    assert token_call.call_count == 0
    connection.refresh_from_db()
    assert connection.access_token == ""


def test_expired_state_is_refused(admin_client, mock_http, monkeypatch):
    connection = connection_create()
    token_call = mock_http.post(QBO_TOKEN_URL, json=qbo_token_body())
    state = _state_of(oauth_authorize_url(connection))
    monkeypatch.setattr("connectors.oauth.STATE_MAX_AGE", timedelta(seconds=-1))
    response = _callback(admin_client, code="c", state=state, realmId="1")
    assert response.status_code == 400
    assert b"expired" in response.content
    assert token_call.call_count == 0


def test_access_denied_shows_a_friendly_message_and_saves_nothing(admin_client, mock_http):
    connection = connection_create()
    token_call = mock_http.post(QBO_TOKEN_URL, json=qbo_token_body())
    state = _state_of(oauth_authorize_url(connection))
    response = _callback(admin_client, error="access_denied", state=state)
    assert response.status_code == 200
    assert b"Access was not granted" in response.content
    assert token_call.call_count == 0
    connection.refresh_from_db()
    assert connection.status == Connection.Status.PENDING


def test_vendor_refusing_the_code_saves_nothing(admin_client, mock_http):
    connection = connection_create()
    mock_http.post(
        QBO_TOKEN_URL, status=400, json={"error": "invalid_grant"}, headers={"intuit_tid": "tid-1"}
    )
    state = _state_of(oauth_authorize_url(connection))
    response = _callback(admin_client, code="stale", state=state, realmId=connection.realm_id)
    assert response.status_code == 502
    connection.refresh_from_db()
    assert connection.access_token == ""


def test_zoho_eu_connection_never_calls_dot_com(admin_client, mock_http):
    connection = connection_create(Connection.System.ZOHO_CRM, data_centre="eu")
    url = oauth_authorize_url(connection)
    assert url.startswith("https://accounts.zoho.eu/oauth/v2/auth?")
    query = parse_qs(urlsplit(url).query)
    assert query["access_type"] == ["offline"]
    assert query["prompt"] == ["consent"]
    mock_http.post(
        "https://accounts.zoho.eu/oauth/v2/token",
        json={
            "access_token": "1000.eu-access",
            "refresh_token": "1000.eu-refresh",
            "api_domain": "https://www.zohoapis.eu",
            "token_type": "Bearer",
            "expires_in": 3600,
        },
    )
    mock_http.get(
        "https://www.zohoapis.eu/crm/v8/org",
        json={"org": [{"id": "1", "company_name": "Acme GmbH", "iso_code": "EUR"}]},
    )

    response = _callback(
        admin_client,
        code="c",
        state=query["state"][0],
        location="eu",
        **{"accounts-server": "https://accounts.zoho.eu"},
    )
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.accounts_server == "https://accounts.zoho.eu"
    assert connection.api_domain == "https://www.zohoapis.eu"

    from connectors.services import connection_test

    assert connection_test(connection) == "Acme GmbH"
    hosts = {urlsplit(call.request.url).netloc for call in mock_http.calls}
    assert hosts == {"accounts.zoho.eu", "www.zohoapis.eu"}


def test_zoho_accounts_server_from_the_redirect_must_be_zohos(admin_client, mock_http):
    connection = connection_create(Connection.System.ZOHO_CRM)
    state = _state_of(oauth_authorize_url(connection))
    response = _callback(
        admin_client, code="c", state=state, **{"accounts-server": "https://evil.example.net"}
    )
    assert response.status_code == 400
    assert b"Unexpected Zoho accounts server" in response.content
    assert len(mock_http.calls) == 0


def test_zoho_oauth_error_inside_http_200_is_an_error(admin_client, mock_http):
    connection = connection_create(Connection.System.ZOHO_CRM)
    mock_http.post(
        "https://accounts.zoho.com/oauth/v2/token", status=200, json={"error": "invalid_code"}
    )
    state = _state_of(oauth_authorize_url(connection))
    response = _callback(
        admin_client, code="used", state=state, **{"accounts-server": "https://accounts.zoho.com"}
    )
    assert response.status_code == 502
    assert b"invalid_code" in response.content
    connection.refresh_from_db()
    assert connection.status == Connection.Status.PENDING


def test_books_with_several_organizations_asks_the_admin(admin_client, mock_http):
    connection = connection_create(Connection.System.ZOHO_BOOKS)
    mock_http.post(
        "https://accounts.zoho.com/oauth/v2/token",
        json={
            "access_token": "1000.a",
            "refresh_token": "1000.r",
            "api_domain": "https://www.zohoapis.com",
            "expires_in": 3600,
        },
    )
    orgs = {
        "code": 0,
        "message": "success",
        "organizations": [
            {
                "organization_id": "10234695",
                "name": "Zylker US",
                "currency_code": "USD",
                "is_default_org": True,
            },
            {
                "organization_id": "10234696",
                "name": "Zylker UK",
                "currency_code": "GBP",
                "is_default_org": False,
            },
        ],
    }
    mock_http.get("https://www.zohoapis.com/books/v3/organizations", json=orgs)
    state = _state_of(oauth_authorize_url(connection))
    response = _callback(
        admin_client, code="c", state=state, **{"accounts-server": "https://accounts.zoho.com"}
    )
    assert response["Location"] == reverse("connectors:choose_organization", args=[connection.pk])

    page = admin_client.get(response["Location"])
    assert b"Zylker UK" in page.content
    admin_client.post(response["Location"], {"organization_id": "10234696"})
    connection.refresh_from_db()
    assert connection.organization_id == "10234696"


def test_second_connection_to_the_same_realm_is_refused(admin_client, mock_http):
    connection_create(name="First", realm_id="555")
    second = connection_create(name="Second", realm_id="")
    mock_http.post(QBO_TOKEN_URL, json=qbo_token_body())
    state = _state_of(oauth_authorize_url(second))
    response = _callback(admin_client, code="c", state=state, realmId="555")
    assert response.status_code == 400
    assert b"already connected" in response.content
