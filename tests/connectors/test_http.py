"""The one HTTP layer: retries where safe, one refresh on a 401, vendor failures raised."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
import responses
from django.utils import timezone

from connectors.base.exceptions import (
    AuthError,
    NotFound,
    PermanentError,
    RateLimited,
    RemoteUnavailable,
)
from connectors.base.http import count_calls
from connectors.models import Connection
from connectors.qbo.client import QboClient
from connectors.zoho_books.client import ZohoBooksClient
from connectors.zoho_crm.client import ZohoCrmClient
from tests.factories import (
    QBO_API,
    QBO_TOKEN_URL,
    connected,
    connection_create,
    qbo_company_info_body,
    qbo_token_body,
)
from tests.paths import FIXTURES as SHARED_FIXTURES_ROOT

pytestmark = pytest.mark.django_db

FIXTURES = SHARED_FIXTURES_ROOT
COMPANY_INFO = f"{QBO_API}/v3/company/9341452732952867/companyinfo/9341452732952867"
THROTTLE_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><IntuitResponse time="2026-11-21T04:00:00.000-08:00">'
    '<Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded; errorCode=003001; statusCode=429'
    "</Message><Detail>The request limit was reached.  Try again later</Detail></Error></Fault></IntuitResponse>"
)
AUTH_FAULT = {
    "Fault": {
        "Error": [
            {
                "Message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                "Detail": "Token expired",
                "code": "3200",
            }
        ],
        "type": "AuthenticationFault",
    },
    "time": "2026-11-21T04:00:00.000-08:00",
}


@pytest.fixture
def qbo() -> Connection:
    return connected(connection_create())


def test_every_qbo_call_carries_minorversion_and_the_bearer_token(qbo, mock_http):
    call = mock_http.get(COMPANY_INFO, json=qbo_company_info_body())
    assert QboClient(qbo).company_info().name == "Sandbox Company_US_1"
    request = call.calls[0].request
    assert "minorversion=75" in request.url
    assert request.headers["Authorization"] == "Bearer access-token-current-0001"
    assert request.headers["Accept"] == "application/json"


def test_401_refreshes_once_then_succeeds(qbo, mock_http):
    api = mock_http.get(COMPANY_INFO, status=401, json=AUTH_FAULT)
    mock_http.get(COMPANY_INFO, json=qbo_company_info_body())
    token = mock_http.post(QBO_TOKEN_URL, json=qbo_token_body())

    assert QboClient(qbo).ping() == "Sandbox Company_US_1"

    assert token.call_count == 1
    assert [
        c.request.headers["Authorization"]
        for c in mock_http.calls
        if c.request.url.startswith(QBO_API)
    ] == [
        "Bearer access-token-current-0001",
        "Bearer new-access-token-0002",
    ]
    assert api.call_count == 1


def test_a_second_401_after_refreshing_is_an_auth_error(qbo, mock_http):
    mock_http.get(COMPANY_INFO, status=401, json=AUTH_FAULT)
    token = mock_http.post(QBO_TOKEN_URL, json=qbo_token_body())
    with pytest.raises(AuthError) as caught:
        QboClient(qbo).ping()
    assert caught.value.code == "3200"
    assert token.call_count == 1


def test_429_waits_the_retry_after_then_succeeds(qbo, mock_http, sleeps):
    mock_http.get(COMPANY_INFO, status=429, body=THROTTLE_XML, headers={"Retry-After": "7"})
    mock_http.get(COMPANY_INFO, json=qbo_company_info_body())
    assert QboClient(qbo).ping() == "Sandbox Company_US_1"
    assert sum(sleeps) == pytest.approx(7, abs=0.5)
    qbo.refresh_from_db()
    assert qbo.throttled_until is not None


def test_429_without_retry_after_pauses_the_connection_for_intuits_minute(qbo, mock_http, sleeps):
    for _ in range(3):
        mock_http.get(COMPANY_INFO, status=429, body=THROTTLE_XML, content_type="application/xml")
    mock_http.get(COMPANY_INFO, json=qbo_company_info_body())
    assert QboClient(qbo).ping() == "Sandbox Company_US_1"
    # Intuit: "wait 60 seconds before retrying"; each 429 pauses the connection again.
    assert sum(sleeps) == pytest.approx(180, abs=1)
    assert max(sleeps) <= 10, "the wait is sliced so the worker's heartbeat keeps going"


def test_the_pause_is_shared_by_every_worker(qbo, mock_http, sleeps):
    mock_http.get(COMPANY_INFO, status=429, body=THROTTLE_XML, headers={"Retry-After": "20"})
    mock_http.get(COMPANY_INFO, json=qbo_company_info_body())
    with pytest.raises(RateLimited):  # one worker meets the 429 and gives up at once
        QboClient(qbo).api.request("GET", COMPANY_INFO, retry_safe=False)
    sleeps.clear()
    other_worker = QboClient(Connection.objects.get(pk=qbo.pk))  # its own copy of the row
    assert other_worker.ping() == "Sandbox Company_US_1"
    assert sum(sleeps) == pytest.approx(20, abs=0.5)
    assert len(mock_http.calls) == 2, "the other worker waited before calling"


def test_a_long_pause_is_handed_back_without_a_call(qbo, mock_http, sleeps):
    from connectors.base.exceptions import ConnectionPaused

    Connection.objects.filter(pk=qbo.pk).update(
        throttled_until=timezone.now() + timedelta(minutes=30)
    )
    with pytest.raises(ConnectionPaused) as caught:
        QboClient(qbo).ping()
    assert 1790 <= caught.value.retry_after <= 1800
    assert sleeps == [] and len(mock_http.calls) == 0


def test_a_waiting_call_keeps_saying_the_worker_is_alive(qbo, mock_http, sleeps, monkeypatch):
    beats: list[int] = []
    monkeypatch.setattr("connectors.base.http._activity_hooks", [lambda: beats.append(len(sleeps))])
    Connection.objects.filter(pk=qbo.pk).update(
        throttled_until=timezone.now() + timedelta(seconds=45)
    )
    mock_http.get(COMPANY_INFO, json=qbo_company_info_body())
    QboClient(qbo).ping()
    assert len(sleeps) == 5 and beats[:5] == [0, 1, 2, 3, 4], "a beat before every slice"


def test_429_storm_gives_up_with_the_vendor_code(qbo, mock_http, sleeps, settings):
    settings.HTTP_MAX_ATTEMPTS = 3
    mock_http.get(COMPANY_INFO, status=429, body=THROTTLE_XML, headers={"intuit_tid": "tid-429"})
    with pytest.raises(RateLimited) as caught:
        QboClient(qbo).ping()
    assert caught.value.code == "3001"
    assert caught.value.request_id == "tid-429"
    assert "ThrottleExceeded" in caught.value.message
    assert caught.value.retry_after == 60
    assert sum(sleeps) == pytest.approx(120, abs=1)


def test_5xx_and_connection_errors_are_retried_for_reads(qbo, mock_http, sleeps):
    mock_http.get(COMPANY_INFO, status=503, body="Service Unavailable")
    mock_http.get(COMPANY_INFO, body=requests.ConnectionError("reset by peer"))
    mock_http.get(COMPANY_INFO, json=qbo_company_info_body())
    assert QboClient(qbo).ping() == "Sandbox Company_US_1"
    assert len(sleeps) == 2


def test_unsafe_writes_are_not_retried(qbo, mock_http, sleeps):
    url = f"{QBO_API}/v3/company/9341452732952867/customer"
    call = mock_http.post(url, status=503, body="down")
    with pytest.raises(RemoteUnavailable):
        QboClient(qbo).api.request("POST", url, json={"DisplayName": "X"})
    assert call.call_count == 1
    assert sleeps == []


def test_a_fault_inside_http_200_is_raised(qbo, mock_http):
    batch = json.loads((FIXTURES / "qbo" / "batch_response_with_faults.json").read_text())
    fault_200 = {
        "Fault": batch["BatchItemResponse"][0]["Fault"],
        "time": "2026-11-21T04:00:00.000-08:00",
    }
    mock_http.get(COMPANY_INFO, status=200, json=fault_200, headers={"intuit_tid": "tid-6240"})
    with pytest.raises(PermanentError) as caught:
        QboClient(qbo).ping()
    assert caught.value.code == "6240"
    assert "Duplicate Name Exists Error" in caught.value.message
    assert caught.value.request_id == "tid-6240"


def test_lowercase_fault_and_object_not_found(qbo, mock_http):
    body = {
        "fault": {
            "error": [{"message": "Object Not Found", "detail": "gone", "code": "610"}],
            "type": "ValidationFault",
        }
    }
    mock_http.get(COMPANY_INFO, status=400, json=body)
    with pytest.raises(NotFound) as caught:
        QboClient(qbo).ping()
    assert caught.value.code == "610"


def test_zoho_books_code_other_than_zero_is_an_error(mock_http):
    books = connected(
        connection_create(Connection.System.ZOHO_BOOKS, organization_id="1"),
        api_domain="https://www.zohoapis.com",
    )
    mock_http.get(
        "https://www.zohoapis.com/books/v3/organizations",
        status=200,
        json={"code": 57, "message": "You are not authorized to perform this operation"},
    )
    with pytest.raises(AuthError) as caught:
        ZohoBooksClient(books).organizations()
    assert caught.value.code == "57"


def test_zoho_crm_invalid_token_refreshes_through_the_accounts_server(mock_http):
    crm = connected(
        connection_create(Connection.System.ZOHO_CRM),
        api_domain="https://www.zohoapis.com",
        accounts_server="https://accounts.zoho.com",
    )
    mock_http.get(
        "https://www.zohoapis.com/crm/v8/org",
        status=401,
        json={
            "code": "INVALID_TOKEN",
            "details": {},
            "message": "invalid oauth token",
            "status": "error",
        },
    )
    mock_http.get(
        "https://www.zohoapis.com/crm/v8/org",
        json={"org": [{"id": "5", "company_name": "Zylker", "iso_code": "USD"}]},
    )
    token = mock_http.post(
        "https://accounts.zoho.com/oauth/v2/token",
        json={"access_token": "1000.fresh", "expires_in": 3600},
    )
    assert ZohoCrmClient(crm).ping() == "Zylker"
    assert token.call_count == 1
    assert mock_http.calls[-1].request.headers["Authorization"] == "Zoho-oauthtoken 1000.fresh"


def test_calls_are_counted_per_connection_and_per_block(qbo, mock_http):
    mock_http.get(COMPANY_INFO, json=qbo_company_info_body())
    with count_calls() as counter:
        QboClient(qbo).ping()
        QboClient(qbo).ping()
    assert counter["qbo"] == 2
    qbo.refresh_from_db()
    assert qbo.api_call_count == 2


def test_per_connection_rate_limit_waits_for_the_next_minute(qbo, mock_http, sleeps, monkeypatch):
    monkeypatch.setattr("connectors.qbo.client.CALLS_PER_MINUTE", 2)
    mock_http.get(COMPANY_INFO, json=qbo_company_info_body())
    clock = iter([120.0, 120.0, 120.5, 180.0])
    monkeypatch.setattr("connectors.base.http.clock", lambda: next(clock))
    client = QboClient(qbo)
    client.ping()
    client.ping()
    client.ping()
    assert sum(sleeps) == pytest.approx(59.5)


def test_unregistered_outbound_calls_fail_the_test(qbo):
    with pytest.raises(requests.ConnectionError):
        requests.get("https://example.com/", timeout=1)


def test_expired_connection_with_no_refresh_token_needs_reauth(mock_http):
    bare = connection_create()
    bare.status = Connection.Status.CONNECTED
    bare.save()
    with pytest.raises(AuthError):
        QboClient(bare).ping()
    bare.refresh_from_db()
    assert bare.status == Connection.Status.NEEDS_REAUTH
    assert len(mock_http.calls) == 0


@responses.activate
def test_responses_fixture_is_the_only_gate(qbo):
    # A second, nested mock still refuses anything unregistered.
    with pytest.raises(requests.ConnectionError):
        requests.get("https://quickbooks.api.intuit.com/v3/company/1/companyinfo/1", timeout=1)


def test_expiry_margin_refreshes_five_minutes_early(mock_http):
    connection = connected(connection_create(), expires_in=timedelta(minutes=4))
    mock_http.post(QBO_TOKEN_URL, json=qbo_token_body())
    mock_http.get(COMPANY_INFO, json=qbo_company_info_body())
    QboClient(connection).ping()
    assert mock_http.calls[0].request.url == QBO_TOKEN_URL


def test_a_good_answer_records_when_the_vendor_last_answered_well(qbo, mock_http):
    mock_http.get(
        COMPANY_INFO,
        status=400,
        json={"Fault": {"Error": [{"Message": "bad", "code": "2010"}], "type": "ValidationFault"}},
    )
    with pytest.raises(PermanentError):
        QboClient(qbo).ping()
    qbo.refresh_from_db()
    assert qbo.last_ok_at is None
    mock_http.get(COMPANY_INFO, json=qbo_company_info_body())
    QboClient(qbo).ping()
    qbo.refresh_from_db()
    assert qbo.last_ok_at is not None and qbo.api_call_count == 2
