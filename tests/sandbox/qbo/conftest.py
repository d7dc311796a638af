"""Helpers for driving the QBO fake over real HTTP: the OAuth dance and an API client.

Everything goes through `requests` against pytest-django's live server, so the fake's URLs,
headers and bodies are what is tested, not its functions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from connectors.sandbox.models import FaultProfile, Vendor
from connectors.sandbox.qbo.models import Company
from connectors.sandbox.qbo.services import company_create
from tests.paths import FIXTURES as SHARED_FIXTURES_ROOT

# The recorded payloads live next to the repository, as for the client tests.
# Live-server tests need real commits; flushing only these apps' tables between tests (not the
# whole project's) keeps each one fast on PostgreSQL.
LIVE_DB = pytest.mark.django_db(
    transaction=True,
    available_apps=["connectors.sandbox", "connectors.sandbox.qbo", "django_q"],
)
FIXTURES = SHARED_FIXTURES_ROOT / "qbo"
CLIENT_ID = "ml-connector-test-app"
CLIENT_SECRET = "test-client-secret"
REDIRECT_URI = "http://localhost/connections/1/callback/"
SCOPE = "com.intuit.quickbooks.accounting openid"


def fixture_json(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@dataclass
class Connected:
    """What a product stores after connecting: the realm and the two tokens."""

    base: str
    realm_id: str
    access_token: str
    refresh_token: str

    def url(self, path: str) -> str:
        return f"{self.base}/v3/company/{self.realm_id}/{path}"

    def headers(self, **extra: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.access_token}",
            "Accept": "application/json",
            **extra,
        }

    def get(self, path: str, **params: str) -> requests.Response:
        params.setdefault("minorversion", "75")
        return requests.get(self.url(path), params=params, headers=self.headers(), timeout=10)

    def post(self, path: str, body: Any, **params: str) -> requests.Response:
        params.setdefault("minorversion", "75")
        return requests.post(
            self.url(path),
            params=params,
            data=json.dumps(body),
            headers=self.headers(**{"Content-Type": "application/json"}),
            timeout=10,
        )

    def query(self, text: str) -> requests.Response:
        return self.get("query", query=text)

    def rows(self, text: str) -> list[dict[str, Any]]:
        """The entities a SELECT returns (none: the empty QueryResponse)."""
        response = self.query(text)
        assert response.status_code == 200, response.text
        body = response.json()["QueryResponse"]
        entity = text.split()[3]
        return body.get(entity, [])

    def create(self, entity: str, data: dict[str, Any]) -> dict[str, Any]:
        response = self.post(entity.lower(), data)
        assert response.status_code == 200, response.text
        return response.json()[entity]


def authorize(
    base: str, *, realm_id: str = "", approve: str = "1", state: str = "st-123", **overrides: str
) -> requests.Response:
    """Submit the consent form as a user clicking Connect (or Cancel) would."""
    params = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "scope": SCOPE,
        "redirect_uri": REDIRECT_URI,
        "state": state,
        **overrides,
    }
    return requests.post(
        f"{base}/connect/oauth2",
        params=params,
        data={"approve": approve, "realm_id": realm_id},
        allow_redirects=False,
        timeout=10,
    )


def callback_params(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI)
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def token_call(
    base: str, data: dict[str, str], *, secret: str = CLIENT_SECRET, **headers: str
) -> requests.Response:
    return requests.post(
        f"{base}/oauth2/v1/tokens/bearer",
        data=data,
        auth=(CLIENT_ID, secret),
        headers={"Accept": "application/json", **headers},
        timeout=10,
    )


def exchange(base: str, code: str) -> requests.Response:
    return token_call(
        base, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    )


def connect(base: str, company: Company) -> Connected:
    """The whole dance: consent for `company`, then the code exchange."""
    params = callback_params(authorize(base, realm_id=company.realm_id))
    tokens = exchange(base, params["code"])
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    return Connected(base, params["realmId"], body["access_token"], body["refresh_token"])


@pytest.fixture
def sandbox(live_server: Any) -> str:
    """The base URL of the fake, as a connection's base URL override would hold it."""
    return f"{live_server.url}/sandbox/qbo"


@pytest.fixture
def company(db: None) -> Company:
    return company_create(name="Sandbox Company US 1", webhook_url="https://hooks.example.test/qbo")


@pytest.fixture
def qbo(sandbox: str, company: Company) -> Connected:
    return connect(sandbox, company)


@pytest.fixture
def profile(db: None) -> FaultProfile:
    return FaultProfile.for_vendor(Vendor.QBO)


def assert_same_shape(expected: Any, actual: Any, path: str = "$") -> None:
    """Every key the fixture has, the fake has too, with the same JSON type, all the way down.
    List items are compared by position (Invoice lines differ by kind), extra items against
    the fixture's last one."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        missing = sorted(set(expected) - set(actual))
        assert not missing, f"{path}: missing keys {missing}"
        for key, value in expected.items():
            assert_same_shape(value, actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected a list, got {actual!r}"
        if expected:
            assert actual, f"{path}: expected items, got an empty list"
        for index, item in enumerate(actual[: len(expected)] if expected else []):
            assert_same_shape(expected[index], item, f"{path}[{index}]")
    else:
        assert _json_type(expected) == _json_type(actual), (
            f"{path}: expected {_json_type(expected)} ({expected!r}), got {actual!r}"
        )


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__
