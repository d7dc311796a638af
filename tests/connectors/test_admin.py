"""The connections console: renders, never shows a secret, buttons do what they say."""

from __future__ import annotations

import pytest
from django.urls import reverse

from connectors.models import Connection
from tests.factories import QBO_API, connected, connection_create, qbo_company_info_body

pytestmark = pytest.mark.django_db

PLAINTEXT = [
    "client-secret-abcdefgh",
    "access-token-current-0001",
    "refresh-token-current-0001",
    "verifier-zzzz-9876",
]


@pytest.fixture
def qbo() -> Connection:
    return connected(connection_create(webhook_secret="verifier-zzzz-9876"))


def test_changelist_and_change_page_render_without_any_secret(admin_client, qbo):
    connection_create(Connection.System.ZOHO_CRM, name="CRM EU", data_centre="eu")
    changelist = admin_client.get(reverse("admin:connectors_connection_changelist"))
    change = admin_client.get(reverse("admin:connectors_connection_change", args=[qbo.pk]))
    assert changelist.status_code == change.status_code == 200
    assert b"Europe (.eu)" in changelist.content
    assert b"Connected" in changelist.content
    for page in (changelist, change):
        for secret in PLAINTEXT:
            assert secret.encode() not in page.content
    assert "••••0001".encode() in change.content  # masked: the last four characters only
    assert b"http://127.0.0.1:8000/oauth/callback/" in change.content
    assert b"Reconnect" in change.content
    assert b"Test connection" in change.content


def test_blank_secret_fields_keep_the_stored_secrets(admin_client, qbo):
    url = reverse("admin:connectors_connection_change", args=[qbo.pk])
    data = {
        "name": "Renamed",
        "system": "qbo",
        "environment": "production",
        "data_centre": "us",
        "client_id": "client-id-1234",
        "client_secret": "",
        "webhook_secret": "",
        "api_base_url": "",
        "oauth_base_url": "",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302
    qbo.refresh_from_db()
    assert qbo.name == "Renamed"
    assert qbo.client_secret == "client-secret-abcdefgh"
    assert qbo.webhook_secret == "verifier-zzzz-9876"

    admin_client.post(url, {**data, "client_secret": "a-brand-new-secret-0000"})
    qbo.refresh_from_db()
    assert qbo.client_secret == "a-brand-new-secret-0000"


def test_test_button_shows_the_company_name(admin_client, qbo, mock_http):
    mock_http.get(
        f"{QBO_API}/v3/company/{qbo.realm_id}/companyinfo/{qbo.realm_id}",
        json=qbo_company_info_body("Craig's Design"),
    )
    response = admin_client.post(
        reverse("admin:connectors_connection_test", args=[qbo.pk]), follow=True
    )
    assert b"Connected to Craig&#x27;s Design." in response.content
    qbo.refresh_from_db()
    assert qbo.last_ok_at is not None


def test_test_button_shows_the_vendor_error(admin_client, qbo, mock_http):
    body = {
        "Fault": {
            "Error": [
                {
                    "Message": "ApplicationAuthorizationFailed",
                    "Detail": "Check your keys",
                    "code": "3100",
                }
            ],
            "type": "AuthorizationFault",
        }
    }
    mock_http.get(
        f"{QBO_API}/v3/company/{qbo.realm_id}/companyinfo/{qbo.realm_id}",
        status=403,
        json=body,
        headers={"intuit_tid": "tid-77"},
    )
    response = admin_client.post(
        reverse("admin:connectors_connection_test", args=[qbo.pk]), follow=True
    )
    assert (
        b"Test failed: ApplicationAuthorizationFailed: Check your keys | code 3100 | HTTP 403 | request id tid-77"
        in response.content
    )
    qbo.refresh_from_db()
    assert "3100" in qbo.last_error


def test_test_button_refuses_get(admin_client, qbo):
    assert (
        admin_client.get(reverse("admin:connectors_connection_test", args=[qbo.pk])).status_code
        == 405
    )


def test_every_admin_page_says_which_connection_needs_reconnecting(admin_client, qbo):
    Connection.objects.filter(pk=qbo.pk).update(status=Connection.Status.NEEDS_REAUTH)
    for url in (reverse("admin:index"), reverse("admin:auth_user_changelist")):
        page = admin_client.get(url)
        assert b"needs reconnecting" in page.content
        assert qbo.name.encode() in page.content


def test_connect_button_goes_through_the_authorize_view(admin_client):
    connection = connection_create()
    response = admin_client.get(reverse("admin:connectors_connection_change", args=[connection.pk]))
    assert reverse("connectors:authorize", args=[connection.pk]).encode() in response.content
    assert b">Connect<" in response.content


def test_each_system_says_where_it_is_and_what_it_still_needs(admin_client):
    """The region column and the buttons come from each system's registry entry."""
    connection_create(Connection.System.QBO, name="Books in QBO", environment="sandbox")
    books = connected(
        connection_create(Connection.System.ZOHO_BOOKS, name="Books IN", data_centre="in")
    )
    desktop = connection_create(Connection.System.QBD, name="Desktop file")
    changelist = admin_client.get(reverse("admin:connectors_connection_changelist")).content
    assert b"India (.in)" in changelist and b"Sandbox" in changelist

    page = admin_client.get(reverse("admin:connectors_connection_change", args=[books.pk]))
    assert b"Choose organization" in page.content, "connected, but no organization yet"
    books.organization_id = "60012345678"
    books.save()
    page = admin_client.get(reverse("admin:connectors_connection_change", args=[books.pk]))
    assert b"Choose organization" not in page.content

    page = admin_client.get(reverse("admin:connectors_connection_change", args=[desktop.pk]))
    assert page.status_code == 200
    assert b"Connect</a>" not in page.content, "the Web Connector calls us: no OAuth"
