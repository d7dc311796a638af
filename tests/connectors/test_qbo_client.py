"""QBO client: few calls (pages of 1000, Id IN batches, CDC), idempotent writes, batch faults."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from responses import matchers

from connectors.base.exceptions import NotFound, PermanentError
from connectors.qbo.client import QboClient, qbo_quote
from tests.factories import QBO_API, connected, connection_create
from tests.paths import FIXTURES as SHARED_FIXTURES_ROOT

pytestmark = pytest.mark.django_db

FIXTURES = SHARED_FIXTURES_ROOT / "qbo"
BASE = f"{QBO_API}/v3/company/9341452732952867"


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def _queries(mock_http) -> list[str]:
    return [
        parse_qs(urlsplit(c.request.url).query)["query"][0]
        for c in mock_http.calls
        if "/query" in c.request.url
    ]


@pytest.fixture
def client() -> QboClient:
    return QboClient(connected(connection_create()))


def test_query_pages_walk_in_pages_of_1000_including_inactive(client, mock_http):
    page = [
        {"Id": str(i), "SyncToken": "0", "DisplayName": f"C{i}", "Active": True}
        for i in range(1000)
    ]
    mock_http.get(
        f"{BASE}/query",
        json={"QueryResponse": {"Customer": page, "startPosition": 1, "maxResults": 1000}},
    )
    mock_http.get(
        f"{BASE}/query",
        json={"QueryResponse": {"Customer": page[:3], "startPosition": 1001, "maxResults": 3}},
    )

    pages = list(
        client.query_pages(
            "Customer", where=["Metadata.LastUpdatedTime >= '2026-01-01T00:00:00+00:00'"]
        )
    )

    assert [len(p) for p in pages] == [1000, 3]
    assert _queries(mock_http) == [
        "SELECT * FROM Customer WHERE Metadata.LastUpdatedTime >= '2026-01-01T00:00:00+00:00' AND Active IN (true, false) ORDERBY Id STARTPOSITION 1 MAXRESULTS 1000",
        "SELECT * FROM Customer WHERE Metadata.LastUpdatedTime >= '2026-01-01T00:00:00+00:00' AND Active IN (true, false) ORDERBY Id STARTPOSITION 1001 MAXRESULTS 1000",
    ]


def test_read_many_uses_id_in_queries_not_a_get_per_record(client, mock_http):
    vendors = _fixture("vendor_query_response.json")
    mock_http.get(f"{BASE}/query", json=vendors)
    records = client.read_many("Vendor", [v["Id"] for v in vendors["QueryResponse"]["Vendor"]])
    assert len(mock_http.calls) == 1
    assert {r.id for r in records} == {v["Id"] for v in vendors["QueryResponse"]["Vendor"]}
    assert "Id IN (" in _queries(mock_http)[0]
    assert records[0].sync_token == vendors["QueryResponse"]["Vendor"][0]["SyncToken"]


def test_read_parses_the_recorded_customer(client, mock_http):
    mock_http.get(f"{BASE}/customer/2", json=_fixture("customer_read_response.json"))
    record = client.read("Customer", "2")
    assert (record.id, record.sync_token, record.active, record.deleted) == ("2", "0", True, False)
    assert record.last_updated == datetime(2014, 9, 18, 19, 56, 1, tzinfo=UTC)
    assert record.data["BillAddr"]["City"] == "Half Moon Bay"


def test_cdc_returns_changes_and_deletions(client, mock_http):
    body = {
        "CDCResponse": [
            {
                "QueryResponse": [
                    {
                        "Customer": [_fixture("customer_read_response.json")["Customer"]],
                        "startPosition": 1,
                        "maxResults": 1,
                    },
                    {
                        "Invoice": [
                            {
                                "domain": "QBO",
                                "status": "Deleted",
                                "Id": "42",
                                "MetaData": {"LastUpdatedTime": "2026-11-20T10:00:00-08:00"},
                            }
                        ]
                    },
                ]
            }
        ],
        "time": "2026-11-21T04:00:00.000-08:00",
    }
    call = mock_http.get(f"{BASE}/cdc", json=body)
    records = client.cdc(["Customer", "Invoice"], datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    assert [(r.entity, r.id, r.deleted) for r in records] == [
        ("Customer", "2", False),
        ("Invoice", "42", True),
    ]
    sent = parse_qs(urlsplit(call.calls[0].request.url).query)
    assert sent["changedSince"] == ["2026-11-20T12:00:00+00:00"]
    assert sent["entities"] == ["Customer,Invoice"]


def test_writes_carry_a_requestid_and_are_sparse(client, mock_http):
    customer = _fixture("customer_read_response.json")
    call = mock_http.post(
        f"{BASE}/customer",
        json=customer,
        match=[matchers.query_param_matcher({"minorversion": "75", "requestid": "req-123"})],
    )
    record = client.update(
        "Customer", {"Id": "2", "SyncToken": "0", "Notes": "x"}, request_id="req-123"
    )
    assert record.id == "2"
    assert json.loads(call.calls[0].request.body) == {
        "Id": "2",
        "SyncToken": "0",
        "Notes": "x",
        "sparse": True,
    }


def test_a_write_retried_after_a_503_keeps_its_requestid(client, mock_http, sleeps):
    mock_http.post(f"{BASE}/customer", status=503, body="unavailable")
    mock_http.post(f"{BASE}/customer", json=_fixture("customer_read_response.json"))
    client.create("Customer", {"DisplayName": "Bill's Windsurf Shop"}, request_id="req-9")
    ids = [parse_qs(urlsplit(c.request.url).query)["requestid"][0] for c in mock_http.calls]
    assert ids == ["req-9", "req-9"]
    assert len(sleeps) == 1


def test_stale_sync_token_is_raised_with_code_5010(client, mock_http):
    fault = _fixture("batch_response_with_faults.json")["BatchItemResponse"][2]["Fault"]
    mock_http.post(f"{BASE}/customer", status=400, json={"Fault": fault, "time": "t"})
    with pytest.raises(PermanentError) as caught:
        client.update("Customer", {"Id": "2", "SyncToken": "0"})
    assert caught.value.code == "5010"
    assert "Stale Object Error" in caught.value.message


def test_batch_sends_30_a_call_and_reads_each_items_fault(client, mock_http):
    answers = _fixture("batch_response_with_faults.json")["BatchItemResponse"]
    ok_item = {"bId": "b3", "Customer": _fixture("customer_read_response.json")["Customer"]}

    def reply(request):
        items = json.loads(request.body)["BatchItemRequest"]
        body = []
        for n, item in enumerate(items):
            if item["bId"] in ("b0", "b1", "b2"):
                body.append({**answers[n], "bId": item["bId"]})
            else:
                body.append({**ok_item, "bId": item["bId"]})
        return 200, {}, json.dumps({"BatchItemResponse": body, "time": "t"})

    mock_http.add_callback("POST", f"{BASE}/batch", callback=reply)
    operations = [("create", "Customer", {"DisplayName": f"C{i}"}) for i in range(31)]
    results = client.batch(operations)

    assert [len(json.loads(c.request.body)["BatchItemRequest"]) for c in mock_http.calls] == [30, 1]
    assert [r.error.code if r.error else None for r in results[:4]] == ["6240", "610", "5010", None]
    assert isinstance(results[1].error, NotFound)
    assert results[3].record.id == "2"
    assert len(results) == 31


def test_query_values_are_quoted():
    assert qbo_quote("Bill's Windsurf Shop") == "'Bill\\'s Windsurf Shop'"
    assert qbo_quote("back\\slash") == "'back\\\\slash'"
