"""Fixtures for driving the Zoho fakes over real HTTP: the live server's Zoho base URLs, sandbox
orgs, OAuth tokens obtained through the consent page, and a receiver for notifications and
webhooks (a tiny HTTP server on loopback that records what it is sent)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from connectors.sandbox.zoho import services
from connectors.sandbox.zoho.models import BooksOrganization, CrmOrg

FIXTURES = Path(__file__).parent / "fixtures"
CLIENT_ID = "1000.SANDBOXCLIENT"
CLIENT_SECRET = "sandbox-client-secret"
REDIRECT_URI = "http://127.0.0.1:9/oauth/callback/"
CRM_SCOPE = ",".join(
    (
        "ZohoCRM.modules.ALL",
        "ZohoCRM.settings.ALL",
        "ZohoCRM.notifications.ALL",
        "ZohoCRM.org.READ",
        "ZohoCRM.users.READ",
    )
)
BOOKS_SCOPE = "ZohoBooks.fullaccess.all"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@dataclass
class Zoho:
    """The fakes' base URLs on the live server, and the OAuth dance against them."""

    root: str

    @property
    def accounts(self) -> str:
        return f"{self.root}/accounts"

    @property
    def crm(self) -> str:
        return f"{self.root}/crm/v8"

    @property
    def books(self) -> str:
        return f"{self.root}/books/v3"

    def auth_params(self, scope: str, **extra: str) -> dict[str, str]:
        return {
            "scope": scope,
            "client_id": CLIENT_ID,
            "response_type": "code",
            "access_type": "offline",
            "prompt": "consent",
            "redirect_uri": REDIRECT_URI,
            "state": "opaque-state",
            **extra,
        }

    def consent(self, scope: str, *, approve: bool = True, org_id: str = "", **extra: str) -> dict:
        """Answer the consent page; the query parameters of the redirect it sends back."""
        form = {"approve": "1" if approve else "0", **({"org_id": org_id} if org_id else {})}
        response = requests.post(
            f"{self.accounts}/oauth/v2/auth",
            params=self.auth_params(scope, **extra),
            data=form,
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, response.text
        location = response.headers["Location"]
        assert location.startswith(REDIRECT_URI)
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

    def exchange(self, code: str, secret: str = CLIENT_SECRET) -> requests.Response:
        return requests.post(
            f"{self.accounts}/oauth/v2/token",
            data={
                "grant_type": "authorization_code",
                "client_id": CLIENT_ID,
                "client_secret": secret,
                "redirect_uri": REDIRECT_URI,
                "code": code,
            },
            timeout=10,
        )

    def refresh(self, refresh_token: str, secret: str = CLIENT_SECRET) -> requests.Response:
        return requests.post(
            f"{self.accounts}/oauth/v2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": CLIENT_ID,
                "client_secret": secret,
                "refresh_token": refresh_token,
            },
            timeout=10,
        )

    def tokens(self, scope: str, org_id: str = "") -> dict[str, Any]:
        """Consent, then exchange the code: the token response."""
        code = self.consent(scope, org_id=org_id)["code"]
        body = self.exchange(code).json()
        assert "access_token" in body, body
        return body


class FreshConnections(requests.Session):
    """A session that opens a new connection per request: a kept-alive connection to Django's
    live server waits ~40 ms per answer on the TCP delayed ACK, four times the whole call."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        try:
            return super().request(*args, **kwargs)
        finally:
            self.close()


def session(token: str) -> requests.Session:
    """A session that authenticates like Zoho's clients do."""
    http = FreshConnections()
    http.headers["Authorization"] = f"Zoho-oauthtoken {token}"
    return http


@pytest.fixture
def zoho(live_server: Any) -> Zoho:
    return Zoho(root=f"{live_server.url}/sandbox/zoho")


@pytest.fixture
def crm_org(transactional_db: None) -> CrmOrg:
    return services.crm_org_create(name="Acme Sandbox CRM", currency="USD")


@pytest.fixture
def crm_tokens(zoho: Zoho, crm_org: CrmOrg) -> dict[str, Any]:
    return zoho.tokens(CRM_SCOPE, org_id=crm_org.org_id)


@pytest.fixture
def crm(crm_tokens: dict[str, Any]) -> requests.Session:
    return session(crm_tokens["access_token"])


@pytest.fixture
def books_orgs(transactional_db: None) -> list[BooksOrganization]:
    """Two organizations of one user (so a client must pick one) and one of somebody else."""
    return [
        services.books_org_create(
            name="Acme US", currency_code="USD", user_email="owner@acme.test"
        ),
        services.books_org_create(
            name="Acme EU", currency_code="EUR", user_email="owner@acme.test"
        ),
        services.books_org_create(name="Other Co", user_email="someone@other.test"),
    ]


@pytest.fixture
def books(zoho: Zoho, books_orgs: list[BooksOrganization]) -> requests.Session:
    tokens = zoho.tokens(BOOKS_SCOPE, org_id=books_orgs[0].organization_id)
    return session(tokens["access_token"])


def fresh_window(seconds: int, margin: float) -> None:
    """Wait for a new fixed rate window when the current one ends within `margin` seconds, so a
    test that counts requests cannot straddle two windows."""
    left = seconds - time.time() % seconds
    if left < margin:
        time.sleep(left + 0.05)


# What a sandbox test touches. Naming them keeps Django from flushing, and re-creating content
# types and permissions for, every other app after each transactional test.
SANDBOX_APPS = ["connectors.sandbox", "connectors.sandbox.zoho", "django_q"]
