"""Zoho CRM client: paging past 2000 with page_token, 304, upserts of 100, per-record results."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from connectors.base.exceptions import PermanentError, RateLimited
from connectors.models import Connection
from connectors.zoho_crm.client import ZohoCrmClient
from tests.factories import connected, connection_create
from tests.paths import FIXTURES as SHARED_FIXTURES_ROOT

pytestmark = pytest.mark.django_db

FIXTURES = SHARED_FIXTURES_ROOT / "zoho"
API = "https://www.zohoapis.com/crm/v8"


@pytest.fixture
def client() -> ZohoCrmClient:
    return ZohoCrmClient(
        connected(
            connection_create(Connection.System.ZOHO_CRM), api_domain="https://www.zohoapis.com"
        )
    )


def _params(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def test_record_pages_follow_page_token(client, mock_http):
    first = json.loads((FIXTURES / "crm_get_records_page_token_response.json").read_text())
    last = {
        "data": [{"id": "1", "Last_Name": "z"}],
        "info": {"more_records": False, "next_page_token": None, "count": 1},
    }
    mock_http.get(f"{API}/Leads", json=first)
    mock_http.get(f"{API}/Leads", json=last)

    pages = list(client.record_pages("Leads", ["Last_Name", "Email"]))

    assert [len(p) for p in pages] == [5, 1]
    assert "page_token" not in _params(mock_http.calls[0])
    assert _params(mock_http.calls[1])["page_token"] == ["c8582xx9e7c7"]
    assert _params(mock_http.calls[0])["fields"] == ["Last_Name,Email"]
    assert _params(mock_http.calls[0])["per_page"] == ["200"]


def test_if_modified_since_and_304(client, mock_http):
    call = mock_http.get(f"{API}/Accounts", status=304)
    assert (
        list(
            client.record_pages(
                "Accounts", ["Account_Name"], modified_since=datetime(2026, 11, 1, tzinfo=UTC)
            )
        )
        == []
    )
    assert call.calls[0].request.headers["If-Modified-Since"] == "2026-11-01T00:00:00+00:00"


def test_204_is_no_records(client, mock_http):
    mock_http.get(f"{API}/Accounts/search", status=204)
    assert client.search("Accounts", email="nobody@example.com") == []


def test_upsert_sends_100_a_call_and_reads_each_records_result(client, mock_http):
    recorded = json.loads((FIXTURES / "crm_upsert_response.json").read_text())["data"]
    failure = {
        "code": "MANDATORY_NOT_FOUND",
        "details": {"api_name": "Last_Name", "json_path": "$.data[0].Last_Name"},
        "message": "required field not found",
        "status": "error",
    }

    def reply(request):
        count = len(json.loads(request.body)["data"])
        return (
            202,
            {},
            json.dumps({"data": [recorded[0], recorded[1], failure, *[recorded[1]] * (count - 3)]}),
        )

    mock_http.add_callback("POST", f"{API}/Contacts/upsert", callback=reply)
    rows = [{"Last_Name": f"L{i}", "Email": f"p{i}@example.com"} for i in range(150)]
    results = client.upsert("Contacts", rows, duplicate_check_fields=["Email"])

    bodies = [json.loads(c.request.body) for c in mock_http.calls]
    assert [len(b["data"]) for b in bodies] == [100, 50]
    assert bodies[0]["duplicate_check_fields"] == ["Email"]
    assert len(results) == 150
    assert (results[0].ok, results[0].action, results[0].id) == (
        True,
        "update",
        "4150868000000376008",
    )
    assert (results[1].ok, results[1].action) == (True, "insert")
    assert (results[2].ok, results[2].code, results[2].api_name) == (
        False,
        "MANDATORY_NOT_FOUND",
        "Last_Name",
    )


def test_all_records_failing_with_http_400_still_gives_results(client, mock_http):
    body = {
        "data": [
            {
                "code": "INVALID_DATA",
                "details": {"api_name": "Phone", "maximum_length": 30},
                "message": "invalid data",
                "status": "error",
            }
        ]
    }
    mock_http.post(f"{API}/Accounts", status=400, json=body)
    (result,) = client.insert("Accounts", [{"Account_Name": "A", "Phone": "1" * 40}])
    assert (result.ok, result.code, result.details["maximum_length"]) == (False, "INVALID_DATA", 30)


def test_too_many_requests_is_rate_limited(client, mock_http, sleeps, settings):
    settings.HTTP_MAX_ATTEMPTS = 2
    mock_http.get(
        f"{API}/org",
        status=429,
        json={
            "code": "TOO_MANY_REQUESTS",
            "details": {},
            "message": "concurrency limit exceeded",
            "status": "error",
        },
    )
    with pytest.raises(RateLimited):
        client.organization()
    # Zoho sends no Retry-After: the connection pauses for the client's default, once.
    assert sum(sleeps) == pytest.approx(10, abs=0.5)


def test_renewing_an_expired_channel_says_not_subscribed(client, mock_http):
    mock_http.patch(
        f"{API}/actions/watch",
        status=400,
        json={
            "watch": [
                {
                    "code": "NOT_SUBSCRIBED",
                    "details": {},
                    "message": "the channel is not subscribed",
                    "status": "error",
                }
            ]
        },
    )
    with pytest.raises(PermanentError) as caught:
        client.watch("PATCH", {"channel_id": "1", "channel_expiry": "2026-11-28T00:00:00+00:00"})
    assert caught.value.code == "NOT_SUBSCRIBED"


def test_field_metadata_is_parsed(client, mock_http):
    mock_http.get(
        f"{API}/settings/fields",
        json={
            "fields": [
                {
                    "api_name": "Account_Name",
                    "data_type": "text",
                    "length": 200,
                    "system_mandatory": True,
                    "field_label": "Account Name",
                },
                {
                    "api_name": "Industry",
                    "data_type": "picklist",
                    "length": 120,
                    "pick_list_values": [{"display_value": "Retail", "actual_value": "Retail"}],
                },
                {
                    "api_name": "Parent_Account",
                    "data_type": "lookup",
                    "lookup": {"module": {"api_name": "Accounts", "id": "1"}},
                },
            ]
        },
    )
    fields = {f.api_name: f for f in client.fields("Accounts")}
    assert fields["Account_Name"].mandatory and fields["Account_Name"].length == 200
    assert fields["Industry"].picklist == ("Retail",)
    assert fields["Parent_Account"].lookup_module == "Accounts"
