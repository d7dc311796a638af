"""QBO adapter writes: a stale SyncToken (5010) is re-read and re-sent, a fresh `requestid`
each round, only for the records that were stale, with outcomes in the order of the items."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from connectors.base.exceptions import PermanentError
from connectors.base.records import WriteItem
from connectors.qbo.adapter import QboAdapter
from tests.factories import QBO_API, connected, connection_create
from tests.paths import FIXTURES

pytestmark = pytest.mark.django_db

BASE = f"{QBO_API}/v3/company/9341452732952867"
_RECORDED = json.loads((FIXTURES / "qbo" / "batch_response_with_faults.json").read_text())
DUPLICATE_FAULT = _RECORDED["BatchItemResponse"][0]["Fault"]
STALE_FAULT = _RECORDED["BatchItemResponse"][2]["Fault"]
STALE_MESSAGE = (
    "Stale Object Error: Stale Object Error : You and root were working on this at the same "
    "time. root finished before you did, so your work was not saved."
)


def _customer(record_id: str, sync_token: str, **data: Any) -> dict[str, Any]:
    return {"Id": record_id, "SyncToken": sync_token, "DisplayName": f"C{record_id}", **data}


def _batch_answer(*answers: dict[str, Any]) -> dict[str, Any]:
    return {
        "BatchItemResponse": [{**a, "bId": f"b{n}"} for n, a in enumerate(answers)],
        "time": "t",
    }


def _query_answer(*customers: dict[str, Any]) -> dict[str, Any]:
    return {"QueryResponse": {"Customer": list(customers), "startPosition": 1}, "time": "t"}


def _calls(mock_http: responses.RequestsMock, path: str) -> list[responses.Call]:
    return [c for c in mock_http.calls if urlsplit(c.request.url).path.endswith(path)]


def _sent(call: responses.Call) -> list[dict[str, Any]]:
    """The entity bodies of one batch request, in order."""
    return [item["Customer"] for item in json.loads(call.request.body)["BatchItemRequest"]]


def _param(call: responses.Call, name: str) -> str:
    return parse_qs(urlsplit(call.request.url).query)[name][0]


@pytest.fixture
def adapter() -> QboAdapter:
    return QboAdapter(connected(connection_create()))


def test_a_stale_update_is_re_read_and_re_sent_with_the_fresh_sync_token(adapter, mock_http):
    mock_http.post(f"{BASE}/batch", json=_batch_answer({"Fault": STALE_FAULT}))
    mock_http.get(f"{BASE}/query", json=_query_answer(_customer("7", "4", Notes="theirs")))
    mock_http.post(
        f"{BASE}/batch",
        json=_batch_answer({"Customer": _customer("7", "5", Notes="theirs", Title="Dr")}),
    )

    [outcome] = adapter.write(
        "Customer",
        [WriteItem(key="crm-1", payload={"Title": "Dr"}, target_id="7", target_version="3")],
    )

    assert (outcome.ok, outcome.key, outcome.target_id, outcome.version, outcome.action) == (
        True,
        "crm-1",
        "7",
        "5",
        "update",
    )
    [read] = _calls(mock_http, "/query")
    assert _param(read, "query") == (
        "SELECT * FROM Customer WHERE Id IN ('7') AND Active IN (true, false) "
        "ORDERBY Id STARTPOSITION 1 MAXRESULTS 1000"
    )
    first, second = _calls(mock_http, "/batch")
    assert _sent(first) == [{"Title": "Dr", "Id": "7", "SyncToken": "3", "sparse": True}]
    assert _sent(second) == [{"Title": "Dr", "Id": "7", "SyncToken": "4", "sparse": True}]
    # A repeated requestid would get QBO's first answer (the 5010) back, not a new write.
    assert _param(first, "requestid") != _param(second, "requestid")


def test_a_record_stale_on_every_attempt_returns_quickbooks_5010_after_three_sends(
    adapter, mock_http
):
    for token in ("1", "2"):  # someone keeps editing it between our read and our write
        mock_http.post(f"{BASE}/batch", json=_batch_answer({"Fault": STALE_FAULT}))
        mock_http.get(f"{BASE}/query", json=_query_answer(_customer("7", token)))
    mock_http.post(f"{BASE}/batch", json=_batch_answer({"Fault": STALE_FAULT}))

    [outcome] = adapter.write(
        "Customer",
        [WriteItem(key="crm-1", payload={"Notes": "ours"}, target_id="7", target_version="0")],
    )

    assert outcome.ok is False
    assert isinstance(outcome.error, PermanentError)
    assert (outcome.error.code, outcome.error.message) == ("5010", STALE_MESSAGE)
    batches = _calls(mock_http, "/batch")
    assert [_sent(c)[0]["SyncToken"] for c in batches] == ["0", "1", "2"]
    assert len({_param(c, "requestid") for c in batches}) == 3
    assert len(_calls(mock_http, "/query")) == 2


def test_only_stale_records_are_re_sent_and_outcomes_keep_the_items_order(adapter, mock_http):
    items = [
        WriteItem(key="new", payload={"DisplayName": "New Co"}),
        WriteItem(key="s7", payload={"Notes": "a"}, target_id="7", target_version="0"),
        WriteItem(key="ok8", payload={"Notes": "b"}, target_id="8", target_version="2"),
        WriteItem(key="taken", payload={"DisplayName": "Taken"}),
        WriteItem(key="s9", payload={"Notes": "c"}, target_id="9", target_version="0"),
        WriteItem(key="gone10", payload={"Notes": "d"}, target_id="10", target_version="0"),
    ]
    mock_http.post(
        f"{BASE}/batch",
        json=_batch_answer(
            {"Customer": _customer("60", "0", DisplayName="New Co")},
            {"Fault": STALE_FAULT},
            {"Customer": _customer("8", "3", Notes="b")},
            {"Fault": DUPLICATE_FAULT},
            {"Fault": STALE_FAULT},
            {"Fault": STALE_FAULT},
        ),
    )
    # Customer 10 was deleted (made inactive and purged) after our write: the re-read lacks it.
    mock_http.get(f"{BASE}/query", json=_query_answer(_customer("7", "1"), _customer("9", "6")))
    mock_http.post(
        f"{BASE}/batch",
        json=_batch_answer(
            {"Customer": _customer("7", "2", Notes="a")},
            {"Customer": _customer("9", "7", Notes="c")},
        ),
    )

    outcomes = adapter.write("Customer", items)

    assert [(o.key, o.ok, o.version, o.error.code if o.error else "") for o in outcomes] == [
        ("new", True, "0", ""),
        ("s7", True, "2", ""),
        ("ok8", True, "3", ""),
        ("taken", False, "", "6240"),
        ("s9", True, "7", ""),
        ("gone10", False, "", "5010"),
    ]
    [read] = _calls(mock_http, "/query")
    assert "Id IN ('7', '9', '10')" in _param(read, "query")  # one read for all stale records
    first, second = _calls(mock_http, "/batch")
    assert len(_sent(first)) == 6
    assert _sent(second) == [
        {"Notes": "a", "Id": "7", "SyncToken": "1", "sparse": True},
        {"Notes": "c", "Id": "9", "SyncToken": "6", "sparse": True},
    ]


def test_a_failed_re_read_keeps_the_writes_that_happened(adapter, mock_http):
    mock_http.post(
        f"{BASE}/batch",
        json=_batch_answer({"Customer": _customer("8", "3")}, {"Fault": STALE_FAULT}),
    )
    fault = {"Error": [{"Message": "Invalid query", "code": "4000", "Detail": "bad"}]}
    mock_http.get(f"{BASE}/query", status=400, json={"Fault": fault, "time": "t"})

    outcomes = adapter.write(
        "Customer",
        [
            WriteItem(key="ok8", payload={"Notes": "b"}, target_id="8", target_version="2"),
            WriteItem(key="s7", payload={"Notes": "a"}, target_id="7", target_version="0"),
        ],
    )

    assert (outcomes[0].ok, outcomes[0].version) == (True, "3")
    assert outcomes[1].ok is False
    assert (outcomes[1].error.code, outcomes[1].error.message) == ("4000", "Invalid query: bad")
    assert len(_calls(mock_http, "/batch")) == 1


def test_deactivate_retries_when_the_record_changes_between_its_read_and_its_write(
    adapter, mock_http
):
    mock_http.get(f"{BASE}/customer/7", json={"Customer": _customer("7", "3"), "time": "t"})
    mock_http.post(f"{BASE}/batch", json=_batch_answer({"Fault": STALE_FAULT}))
    mock_http.get(f"{BASE}/query", json=_query_answer(_customer("7", "4")))
    mock_http.post(
        f"{BASE}/batch", json=_batch_answer({"Customer": _customer("7", "5", Active=False)})
    )

    outcome = adapter.deactivate("Customer", "7")

    assert (outcome.ok, outcome.version, outcome.data["Active"]) == (True, "5", False)
    assert [_sent(c)[0] for c in _calls(mock_http, "/batch")] == [
        {"Active": False, "Id": "7", "SyncToken": "3", "sparse": True},
        {"Active": False, "Id": "7", "SyncToken": "4", "sparse": True},
    ]


def test_a_create_is_never_re_read(adapter, mock_http):
    # A create has no SyncToken to go stale: whatever its Fault, it is answered once.
    mock_http.post(f"{BASE}/batch", json=_batch_answer({"Fault": STALE_FAULT}))

    [outcome] = adapter.write("Customer", [WriteItem(key="new", payload={"DisplayName": "X"})])

    assert (outcome.ok, outcome.error.code) == (False, "5010")
    assert not _calls(mock_http, "/query")
    assert re.fullmatch(r"[0-9a-f]{24}-0", _param(_calls(mock_http, "/batch")[0], "requestid"))


BASE_RECORD = {
    "DisplayName": "Amy's Bird Sanctuary",
    "WebAddr": {"URI": "https://amy.example"},
    "BillAddr": {"Line1": "4581 Finch St.", "City": "Bayshore", "PostalCode": "94326"},
}
OURS = {  # a CRM edit: the website and the city
    "WebAddr": {"URI": "https://crm.example"},
    "BillAddr": {**BASE_RECORD["BillAddr"], "City": "Oakland"},
}
THEIRS = {  # meanwhile in QuickBooks: the website and the postal code
    **BASE_RECORD,
    "WebAddr": {"URI": "https://qbo.example"},
    "BillAddr": {**BASE_RECORD["BillAddr"], "PostalCode": "94019"},
}


@pytest.mark.parametrize(
    ("prefer", "website"),
    [("ours", {"WebAddr": {"URI": "https://crm.example"}}), ("theirs", {})],  # theirs: unsent
)
def test_a_stale_update_with_a_base_is_rebased_on_the_record_as_re_read(
    adapter, mock_http, prefer, website
):
    mock_http.post(f"{BASE}/batch", json=_batch_answer({"Fault": STALE_FAULT}))
    mock_http.get(f"{BASE}/query", json=_query_answer(_customer("7", "4", **THEIRS)))
    mock_http.post(f"{BASE}/batch", json=_batch_answer({"Customer": _customer("7", "5")}))
    item = WriteItem(
        key="crm-1",
        payload=OURS,
        target_id="7",
        target_version="3",
        base=BASE_RECORD,
        on_conflict=prefer,
    )

    [outcome] = adapter.write("Customer", [item])

    assert outcome.ok and outcome.conflicts == {"WebAddr.URI": "https://qbo.example"}
    _, resent = _calls(mock_http, "/batch")
    assert _sent(resent) == [
        {
            **website,
            # The city is ours alone, the postal code theirs alone: both kept.
            "BillAddr": {"Line1": "4581 Finch St.", "City": "Oakland", "PostalCode": "94019"},
            "Id": "7",
            "SyncToken": "4",
            "sparse": True,
        }
    ]


def test_a_stale_update_whose_every_field_the_other_writer_won_sends_nothing(adapter, mock_http):
    mock_http.post(f"{BASE}/batch", json=_batch_answer({"Fault": STALE_FAULT}))
    mock_http.get(f"{BASE}/query", json=_query_answer(_customer("7", "4", **THEIRS)))
    item = WriteItem(
        key="crm-1",
        payload={"WebAddr": {"URI": "https://crm.example"}},
        target_id="7",
        target_version="3",
        base=BASE_RECORD,
        on_conflict="theirs",
    )

    [outcome] = adapter.write("Customer", [item])

    assert (outcome.ok, outcome.version, outcome.conflicts) == (
        True,
        "4",
        {"WebAddr.URI": "https://qbo.example"},
    )
    assert outcome.data["WebAddr"] == {"URI": "https://qbo.example"}
    assert len(_calls(mock_http, "/batch")) == 1  # the first send only
