"""Tokens and secrets go to the vendors' own hosts only: a URL override pointing anywhere else
is refused when an admin types it and, whatever the database holds, before any request
leaves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from connectors.base.exceptions import PermanentError
from connectors.base.hosts import HostNotAllowed
from connectors.base.hosts import url_allowed as url_allowed_for
from connectors.models import Connection
from connectors.oauth import connection_access_token
from connectors.registry import system_spec
from connectors.services import connection_test
from tests.factories import connected, connection_create


def url_allowed(system: str, url: str) -> bool:
    return url_allowed_for(url, system_spec(system).hosts)


pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("system", "url", "allowed"),
    [
        ("qbo", "https://quickbooks.api.intuit.com/v3/company/1/query", True),
        ("qbo", "https://sandbox-quickbooks.api.intuit.com", True),
        ("qbo", "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer", True),
        ("qbo", "http://quickbooks.api.intuit.com", False),  # never in clear
        ("qbo", "https://quickbooks.api.intuit.com.evil.example", False),
        ("qbo", "https://user:pw@quickbooks.api.intuit.com", False),
        ("qbo", "https://www.zohoapis.com", False),  # another vendor's host
        ("zoho_crm", "https://www.zohoapis.eu/crm/v8/Accounts", True),
        ("zoho_crm", "https://accounts.zohocloud.ca/oauth/v2/token", True),
        ("zoho_books", "https://www.zohoapis.com.au/books/v3", True),
        ("zoho_crm", "https://accounts.zoho.example/oauth/v2/token", False),
        ("zoho_crm", "http://127.0.0.1:9/", False),
    ],
)
def test_the_vendors_documented_hosts(settings, system, url, allowed):
    settings.SANDBOX_ENABLED = False
    assert url_allowed(system, url) is allowed


def test_the_sandbox_only_while_it_is_enabled_and_only_on_this_server(settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    settings.SANDBOX_ENABLED = True
    assert url_allowed("qbo", "http://127.0.0.1:8000/sandbox/qbo")
    assert not url_allowed("qbo", "http://127.0.0.1:8001/sandbox/qbo"), "another port"
    assert not url_allowed("qbo", "http://127.0.0.1:8000/admin/"), "not the sandbox"
    settings.SANDBOX_ENABLED = False
    assert not url_allowed("qbo", "http://127.0.0.1:8000/sandbox/qbo")


def test_a_listed_host_is_accepted(settings):
    settings.SANDBOX_ENABLED = False
    settings.CONNECTION_URL_ALLOWED_HOSTS = ["egress.corp.example"]
    assert url_allowed("qbo", "https://egress.corp.example/qbo")
    assert not url_allowed("qbo", "https://other.corp.example/qbo")


@pytest.mark.parametrize("field", ["api_base_url", "oauth_base_url"])
def test_the_admin_refuses_an_override_to_another_host(settings, field):
    settings.SANDBOX_ENABLED = False
    admin = User.objects.create_superuser("root", "root@example.com", "pw-1234-long")
    client = Client()
    client.force_login(admin)
    connection = connection_create()
    response = client.post(
        reverse("admin:connectors_connection_change", args=[connection.pk]),
        {
            "name": connection.name,
            "system": "qbo",
            "environment": "production",
            "data_centre": "us",
            "client_id": connection.client_id,
            "client_secret": "",
            "webhook_secret": "",
            "api_base_url": "",
            "oauth_base_url": "",
            field: "http://127.0.0.1:9999/listener",
        },
    )
    assert response.status_code == 200, "the form is shown again with the error"
    assert "is not one of the vendor&#x27;s hosts" in response.content.decode()
    connection.refresh_from_db()
    assert getattr(connection, field) == ""


def _pointed_at(url: str, **fields) -> Connection:
    """A connection whose override was written behind the admin's back (or before the rule)."""
    connection = connected(connection_create())
    Connection.objects.filter(pk=connection.pk).update(**fields)
    connection.refresh_from_db()
    return connection


@pytest.mark.parametrize("sandbox", [False, True])
def test_test_connection_never_sends_the_token_to_a_foreign_host(settings, receiver, sandbox):
    settings.SANDBOX_ENABLED = sandbox
    connection = _pointed_at(receiver.url, api_base_url=receiver.url)

    with pytest.raises(HostNotAllowed) as refused:
        connection_test(connection)

    assert refused.value.code == "host_not_allowed"
    assert receiver.requests == [], "nothing at all reached the listener"
    connection.refresh_from_db()
    assert "Refused to send" in connection.last_error
    assert connection.access_token not in connection.last_error


def test_a_refresh_never_sends_the_secret_or_refresh_token_to_a_foreign_host(settings, receiver):
    settings.SANDBOX_ENABLED = False
    connection = _pointed_at(receiver.url, oauth_base_url=receiver.url)
    connection.access_token_expires_at = None  # due for a refresh
    connection.save(update_fields=["access_token_expires_at"])

    with pytest.raises(PermanentError):
        connection_access_token(connection)

    assert receiver.requests == []


def test_a_zoho_api_domain_outside_zoho_is_refused(settings, mock_http):
    settings.SANDBOX_ENABLED = False
    crm = connected(
        connection_create(Connection.System.ZOHO_CRM),
        accounts_server="https://accounts.zoho.com",
        expires_in=timedelta(seconds=-1),
    )
    mock_http.post(
        "https://accounts.zoho.com/oauth/v2/token",
        json={"access_token": "1000.x", "expires_in": 3600, "api_domain": "https://evil.example"},
    )
    with pytest.raises(HostNotAllowed):
        connection_access_token(crm)
    crm.refresh_from_db()
    assert crm.api_domain == "" and crm.access_token != "1000.x"
