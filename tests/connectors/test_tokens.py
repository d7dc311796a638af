"""Access tokens that stay valid: refresh ahead of expiry, once, under a row lock."""

from __future__ import annotations

import threading
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from connectors.base.exceptions import AuthError, TokenThrottled
from connectors.models import Connection
from connectors.oauth import connection_access_token
from tests.factories import QBO_TOKEN_URL, connected, connection_create, qbo_token_body

ZOHO_TOKEN_URL = "https://accounts.zoho.com/oauth/v2/token"
THROTTLED = {
    "error_description": "You have made too many requests continuously. Please try again after some time.",
    "error": "Access Denied",
    "status": "failure",
}


@pytest.mark.django_db
def test_fresh_token_is_reused_without_a_call(mock_http):
    connection = connected(connection_create())
    assert connection_access_token(connection) == "access-token-current-0001"
    assert len(mock_http.calls) == 0


@pytest.mark.django_db
def test_token_near_expiry_is_refreshed_and_the_rotated_refresh_token_saved(mock_http):
    connection = connected(connection_create(), expires_in=timedelta(minutes=2))
    call = mock_http.post(QBO_TOKEN_URL, json=qbo_token_body(refresh="rotated-refresh-token-0003"))

    assert connection_access_token(connection) == "new-access-token-0002"

    sent = parse_qs(call.calls[0].request.body)
    assert sent == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["refresh-token-current-0001"],
    }
    stored = Connection.objects.get(pk=connection.pk)
    assert stored.refresh_token == "rotated-refresh-token-0003"
    assert stored.access_token == "new-access-token-0002"
    assert stored.access_token_expires_at > timezone.now() + timedelta(minutes=55)


@pytest.mark.django_db
@pytest.mark.parametrize("error", ["invalid_grant", "invalid_client"])
def test_rejected_refresh_token_turns_the_connection_needs_reauth(mock_http, error):
    connection = connected(connection_create(), expires_in=timedelta(seconds=-5))
    call = mock_http.post(
        QBO_TOKEN_URL, status=400, json={"error": error, "error_description": "Token invalid"}
    )

    with pytest.raises(AuthError):
        connection_access_token(connection)

    stored = Connection.objects.get(pk=connection.pk)
    assert stored.status == Connection.Status.NEEDS_REAUTH
    assert error in stored.last_error
    with pytest.raises(AuthError):
        connection_access_token(stored)
    assert call.call_count == 1


@pytest.mark.django_db
@pytest.mark.parametrize("status", [200, 400])
def test_zoho_throttle_answer_backs_off_instead_of_retrying(mock_http, status):
    connection = connected(
        connection_create(Connection.System.ZOHO_CRM), expires_in=timedelta(seconds=-5)
    )
    call = mock_http.post(ZOHO_TOKEN_URL, status=status, json=THROTTLED)

    with pytest.raises(TokenThrottled) as caught:
        connection_access_token(connection)
    assert caught.value.retry_after and caught.value.retry_after >= 600

    stored = Connection.objects.get(pk=connection.pk)
    assert stored.token_refresh_blocked_until > timezone.now() + timedelta(minutes=10)
    assert stored.status == Connection.Status.CONNECTED
    with pytest.raises(TokenThrottled):
        connection_access_token(stored)
    assert call.call_count == 1


@pytest.mark.django_db
def test_zoho_never_gets_more_than_ten_token_requests_in_ten_minutes(mock_http):
    recent = [(timezone.now() - timedelta(minutes=m)).isoformat() for m in range(10)]
    connection = connected(
        connection_create(Connection.System.ZOHO_CRM),
        expires_in=timedelta(seconds=-5),
        token_refreshed_at=recent,
    )
    call = mock_http.post(ZOHO_TOKEN_URL, json={"access_token": "1000.x", "expires_in": 3600})
    with pytest.raises(TokenThrottled):
        connection_access_token(connection)
    assert call.call_count == 0

    older = [(timezone.now() - timedelta(minutes=11 + m)).isoformat() for m in range(10)]
    Connection.objects.filter(pk=connection.pk).update(
        token_refreshed_at=older, token_refresh_blocked_until=None
    )
    connection.refresh_from_db()
    assert connection_access_token(connection) == "1000.x"
    assert call.call_count == 1
    connection.refresh_from_db()
    assert len(connection.token_refreshed_at) == 1


@pytest.mark.django_db
def test_zoho_refresh_keeps_the_refresh_token_and_updates_the_api_domain(mock_http):
    connection = connected(
        connection_create(Connection.System.ZOHO_CRM),
        expires_in=timedelta(seconds=-5),
        api_domain="https://www.zohoapis.com",
    )
    mock_http.post(
        ZOHO_TOKEN_URL,
        json={
            "access_token": "1000.new",
            "api_domain": "https://www.zohoapis.com",
            "expires_in": 3600,
        },
    )
    connection_access_token(connection)
    stored = Connection.objects.get(pk=connection.pk)
    assert stored.refresh_token == "refresh-token-current-0001"
    assert stored.access_token == "1000.new"


@pytest.mark.django_db(transaction=True)
def test_twenty_workers_refreshing_one_expired_token_make_one_token_call(mock_http):
    connection = connected(connection_create(), expires_in=timedelta(seconds=-30))
    call = mock_http.post(QBO_TOKEN_URL, json=qbo_token_body(refresh="rotated-once"))
    barrier = threading.Barrier(20)
    tokens: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            mine = Connection.objects.get(pk=connection.pk)  # each worker has its own copy
            barrier.wait()
            tokens.append(connection_access_token(mine))
        except BaseException as exc:
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert call.call_count == 1
    assert tokens == ["new-access-token-0002"] * 20
    assert Connection.objects.get(pk=connection.pk).refresh_token == "rotated-once"
