"""Access tokens kept valid against the fakes: QBO's rotating refresh tokens, Zoho's fixed ones,
a 401 answered by one refresh, and Zoho's ten-tokens-in-ten-minutes rule from both sides."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from connectors.base.exceptions import TokenThrottled
from connectors.models import Connection
from connectors.oauth import LOCAL_BUDGET, connection_access_token
from connectors.qbo.client import QboClient
from connectors.registry import system_spec
from connectors.sandbox.models import Vendor
from connectors.zoho_crm.client import ZohoCrmClient
from tests.integration.conftest import (
    LIVE,
    QBO_TOKEN_PATH,
    ZOHO_TOKEN_PATH,
    faults,
    requests_to,
    token_request,
)

pytestmark = LIVE

ZOHO_MINT_WINDOW = 600  # the fake counts tokens per refresh token in fixed 10-minute windows


def stale(connection: Connection) -> None:
    """The stored access token has expired (as far as the product knows)."""
    Connection.objects.filter(pk=connection.pk).update(
        access_token_expires_at=timezone.now() - timedelta(minutes=1)
    )
    connection.refresh_from_db()


def refresh_at_vendor(connection: Connection, refresh_token: str) -> requests.Response:
    """Someone presents `refresh_token` at the fake's token endpoint, with this app's credentials."""
    grant = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return token_request(connection, grant)


@pytest.fixture
def mint_window() -> Iterator[None]:
    """Start well inside one of the fake's 10-minute token windows, so a test counting tokens
    never straddles two (requested before the connection is made)."""
    left = ZOHO_MINT_WINDOW - time.time() % ZOHO_MINT_WINDOW
    if left < 5:
        time.sleep(left + 0.05)
    yield


def test_a_stale_qbo_token_is_refreshed_and_the_rotated_refresh_token_saved(
    qbo: Connection,
) -> None:
    old_refresh, old_access = qbo.refresh_token, qbo.access_token
    stale(qbo)

    QboClient(qbo).company_info()

    stored = Connection.objects.get(pk=qbo.pk)
    assert stored.refresh_token != old_refresh
    assert stored.access_token != old_access
    assert stored.access_token_expires_at > timezone.now() + timedelta(minutes=55)
    assert len(requests_to(QBO_TOKEN_PATH)) == 2  # the code exchange, then one refresh
    refused = refresh_at_vendor(qbo, old_refresh)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"


def test_a_stale_zoho_token_is_refreshed_and_the_refresh_token_kept(crm: Connection) -> None:
    old_refresh, old_access = crm.refresh_token, crm.access_token
    stale(crm)

    ZohoCrmClient(crm).organization()

    stored = Connection.objects.get(pk=crm.pk)
    assert stored.refresh_token == old_refresh
    assert stored.access_token != old_access
    assert len(requests_to(ZOHO_TOKEN_PATH)) == 2
    assert "access_token" in refresh_at_vendor(crm, old_refresh).json()


@pytest.mark.parametrize(
    ("fixture", "vendor", "token_path", "api_path"),
    [
        pytest.param(
            "qbo",
            Vendor.QBO,
            QBO_TOKEN_PATH,
            "/sandbox/qbo/v3/company/{realm}/companyinfo/{realm}",
            id="qbo",
        ),
        pytest.param(
            "crm", Vendor.ZOHO_ACCOUNTS, ZOHO_TOKEN_PATH, "/sandbox/zoho/crm/v8/org", id="zoho_crm"
        ),
    ],
)
def test_a_token_the_vendor_expired_early_gets_a_401_then_one_refresh_and_succeeds(
    fixture: str, vendor: str, token_path: str, api_path: str, request: pytest.FixtureRequest
) -> None:
    connection: Connection = request.getfixturevalue(fixture)
    faults(vendor, token_lifetime_seconds=1)
    connection_access_token(connection, force_refresh=True, stale_token=connection.access_token)
    faults(vendor, token_lifetime_seconds=3600)
    # Our clock says the token has an hour left; the vendor's says it is gone.
    Connection.objects.filter(pk=connection.pk).update(
        access_token_expires_at=timezone.now() + timedelta(hours=1)
    )
    connection.refresh_from_db()
    token_calls = len(requests_to(token_path))
    time.sleep(1.1)

    assert system_spec(connection.system).client(connection).ping()

    calls = requests_to(api_path.format(realm=connection.realm_id))
    assert [call.status for call in calls] == [401, 200]
    assert len(requests_to(token_path)) == token_calls + 1


def test_the_products_zoho_budget_stops_the_eleventh_token_before_zoho_would(
    mint_window: None, crm: Connection
) -> None:
    for _ in range(9):  # nine 401s, each answered by a refresh; connecting minted the first
        connection_access_token(crm, force_refresh=True, stale_token=crm.access_token)

    with pytest.raises(TokenThrottled) as caught:
        connection_access_token(crm, force_refresh=True, stale_token=crm.access_token)

    assert caught.value.code == LOCAL_BUDGET
    calls = requests_to(ZOHO_TOKEN_PATH)
    assert len(calls) == 10
    assert all(call.status == 200 and "Access Denied" not in call.response_body for call in calls)
    stored = Connection.objects.get(pk=crm.pk)
    assert stored.token_refresh_blocked_until is None
    assert len(stored.token_refreshed_at) == 10
    # Zoho really would have refused an eleventh.
    assert refresh_at_vendor(crm, crm.refresh_token).json()["error"] == "Access Denied"


def test_zohos_access_denied_answer_stops_refreshes_for_a_while(
    mint_window: None, crm: Connection
) -> None:
    # Another installation holding the same refresh token spends the rest of Zoho's allowance.
    spent = [refresh_at_vendor(crm, crm.refresh_token).json() for _ in range(9)]
    assert all("access_token" in answer for answer in spent)
    stale(crm)

    with pytest.raises(TokenThrottled):
        ZohoCrmClient(crm).organization()

    stored = Connection.objects.get(pk=crm.pk)
    assert stored.token_refresh_blocked_until > timezone.now() + timedelta(minutes=10)
    assert stored.status == Connection.Status.CONNECTED
    assert "too many requests" in stored.last_error
    asked = len(requests_to(ZOHO_TOKEN_PATH))
    with pytest.raises(TokenThrottled):
        ZohoCrmClient(stored).organization()
    assert len(requests_to(ZOHO_TOKEN_PATH)) == asked  # blocked here, Zoho is not asked again
