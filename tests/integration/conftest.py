"""The product's own code against the sandbox fakes, over real HTTP on pytest-django's live server.

Every connection here is made through the real OAuth flow (`sandbox_connection_create`), every
call goes through the product's clients and `ApiSession`, and what the fakes saw is read back
from their `RequestLog`. Sleeps in the HTTP layer are recorded, never slept (tests/conftest.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client

from connectors.models import Connection
from connectors.sandbox.connect import sandbox_urls
from connectors.sandbox.models import FaultProfile, RequestLog
from connectors.sandbox.zoho import services as zoho_sandbox
from connectors.sandbox.zoho.models import BooksOrganization
from tests.paths import FIXTURES as SHARED_FIXTURES_ROOT

# What these tests touch. Naming the apps keeps Django from flushing, and re-creating content
# types and permissions for, everything else after each transactional test. Live-server tests
# need real commits: the fakes answer from another thread.
APPS = [
    "django_q",  # the fakes queue their deliveries, the webhook views wake the workers
    "connectors",
    "connectors.sandbox",
    "connectors.sandbox.qbo",
    "connectors.sandbox.zoho",
    "syncs",
]
LIVE = pytest.mark.django_db(transaction=True, available_apps=APPS)
# The admin's own pages (sign-in, templates, messages) for tests that drive the product's views.
ADMIN_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    *APPS,
]
LIVE_ADMIN = pytest.mark.django_db(transaction=True, available_apps=ADMIN_APPS)

FIXTURES = SHARED_FIXTURES_ROOT
QBO_TOKEN_PATH = "/sandbox/qbo/oauth2/v1/tokens/bearer"
ZOHO_TOKEN_PATH = "/sandbox/zoho/accounts/oauth/v2/token"


def recorded(name: str) -> Any:
    """A recorded vendor payload from tests/fixtures (`qbo/...`, `zoho/...`)."""
    return json.loads((FIXTURES / name).read_text())


def requests_to(path: str, **filters: Any) -> list[RequestLog]:
    """What the fakes answered on `path`, oldest first."""
    return list(RequestLog.objects.filter(path=path, **filters).order_by("created_at", "pk"))


def faults(vendor: str, **settings: Any) -> FaultProfile:
    """Make one fake misbehave (latency, 5xx share, throttles, token lifetime, webhooks)."""
    profile = FaultProfile.for_vendor(vendor)
    for name, value in settings.items():
        setattr(profile, name, value)
    profile.save()
    return profile


@pytest.fixture
def books_org(base_url: str) -> BooksOrganization:
    return zoho_sandbox.books_org_create(
        name="Zylker Books", currency_code="USD", user_email="books@zylker.example"
    )


@pytest.fixture
def staff(db: None) -> Client:
    """A browser signed in as an admin who may change connections."""
    user = get_user_model().objects.create(username="admin", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def new_connection(base_url: str) -> Callable[..., Connection]:
    """A not-yet-connected connection pointed at the sandbox, as an admin would create it."""

    def create(system: str, **fields: Any) -> Connection:
        return Connection.objects.create(
            system=system,
            name=f"New {system}",
            environment=Connection.Environment.SANDBOX,
            client_id=f"it-{system}-client",
            client_secret=f"it-{system}-secret-0123456789",
            **sandbox_urls(system, base_url),
            **fields,
        )

    return create


def token_request(connection: Connection, grant: dict[str, str]) -> requests.Response:
    """`grant` presented at the fake's token endpoint with this app's credentials, the way each
    vendor takes them (Intuit: Basic auth; Zoho: form fields), bypassing the product's code."""
    if connection.system == Connection.System.QBO:
        return requests.post(
            f"{connection.oauth_base_url}/oauth2/v1/tokens/bearer",
            data=grant,
            auth=(connection.client_id, connection.client_secret),
            headers={"Accept": "application/json"},
            timeout=10,
        )
    credentials = {"client_id": connection.client_id, "client_secret": connection.client_secret}
    return requests.post(
        f"{connection.accounts_server}/oauth/v2/token", data={**grant, **credentials}, timeout=10
    )
