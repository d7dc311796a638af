"""`GET|POST /query`: filtering, ordering, paging, inactive rows, timestamps, COUNT, errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from connectors.sandbox.qbo.models import Company, Record
from connectors.sandbox.qbo.services import record_create, record_deactivate
from tests.sandbox.qbo.conftest import LIVE_DB, Connected

pytestmark = LIVE_DB

NAMES = ["Amy's Bird Sanctuary", "Bill's Windsurf Shop", "Cool Cars", "Diego Rodriguez", "Dukes"]


@pytest.fixture
def customers(company: Company) -> list[dict]:
    """Five customers, created through the same service the seed uses; Dukes inactive."""
    created = [
        record_create(company=company, entity="Customer", data={"DisplayName": name})
        for name in NAMES
    ]
    record_deactivate(company=company, entity="Customer", record_id=created[-1]["Id"])
    return created


def names(rows: list[dict]) -> list[str]:
    return [row["DisplayName"] for row in rows]


def test_select_all_hides_inactive_names(qbo: Connected, customers: list[dict]) -> None:
    response = qbo.query("SELECT * FROM Customer")

    body = response.json()["QueryResponse"]
    assert names(body["Customer"]) == NAMES[:4]
    assert body["startPosition"] == 1
    assert body["maxResults"] == 4
    assert response.json()["time"]


def test_active_in_true_false_shows_inactive(qbo: Connected, customers: list[dict]) -> None:
    assert names(qbo.rows("select * from Customer where Active IN (true, false)")) == NAMES
    assert names(qbo.rows("SELECT * FROM Customer WHERE Active = false")) == ["Dukes"]


def test_equality_with_escaped_quote(qbo: Connected, customers: list[dict]) -> None:
    rows = qbo.rows("SELECT * FROM Customer WHERE DisplayName = 'Bill\\'s Windsurf Shop'")

    assert names(rows) == ["Bill's Windsurf Shop"]


def test_in_and_id(qbo: Connected, customers: list[dict]) -> None:
    ids = [customers[0]["Id"], customers[2]["Id"], customers[4]["Id"]]

    rows = qbo.rows(f"SELECT * FROM Customer WHERE Id IN ('{ids[0]}', '{ids[1]}', '{ids[2]}')")

    assert names(rows) == [NAMES[0], NAMES[2]]  # the inactive one stays hidden


def test_like_with_percent(qbo: Connected, customers: list[dict]) -> None:
    assert names(qbo.rows("SELECT * FROM Customer WHERE DisplayName LIKE 'D%'")) == [
        "Diego Rodriguez"
    ]
    assert names(qbo.rows("SELECT * FROM Customer WHERE DisplayName LIKE '%s%'")) == [
        "Amy's Bird Sanctuary",
        "Bill's Windsurf Shop",
        "Cool Cars",
    ]


def test_orderby_and_paging(qbo: Connected, customers: list[dict]) -> None:
    page_one = qbo.query("SELECT * FROM Customer ORDERBY DisplayName DESC MAXRESULTS 2")
    page_two = qbo.query(
        "SELECT * FROM Customer ORDER BY DisplayName DESC STARTPOSITION 3 MAXRESULTS 2"
    )

    assert names(page_one.json()["QueryResponse"]["Customer"]) == [NAMES[3], NAMES[2]]
    second = page_two.json()["QueryResponse"]
    assert names(second["Customer"]) == [NAMES[1], NAMES[0]]
    assert (second["startPosition"], second["maxResults"]) == (3, 2)


def test_past_the_last_page_is_empty(qbo: Connected, customers: list[dict]) -> None:
    response = qbo.query("SELECT * FROM Customer STARTPOSITION 50")

    assert response.json()["QueryResponse"] == {}


def test_count(qbo: Connected, customers: list[dict]) -> None:
    visible = qbo.query("SELECT COUNT(*) FROM Customer").json()["QueryResponse"]
    everyone = qbo.query("SELECT COUNT(*) FROM Customer WHERE Active IN (true,false)").json()

    assert visible == {"totalCount": 4}
    assert everyone["QueryResponse"] == {"totalCount": 5}


def test_timestamps_compare_with_their_offsets(
    qbo: Connected, company: Company, customers: list[dict]
) -> None:
    """Stored times: Amy 12:00Z, Bill 20:00Z. No offset means Pacific (05:00 PST = 13:00Z)."""
    Record.objects.filter(qbo_id=customers[0]["Id"]).update(
        updated_at=datetime(2026, 1, 10, 12, tzinfo=UTC)
    )
    Record.objects.filter(qbo_id=customers[1]["Id"]).update(
        updated_at=datetime(2026, 1, 10, 20, tzinfo=UTC)
    )
    window = "Metadata.LastUpdatedTime {op} '{at}' AND MetaData.LastUpdatedTime < '2026-01-11'"

    def between(op: str, at: str) -> list[str]:
        return names(qbo.rows(f"SELECT * FROM Customer WHERE {window.format(op=op, at=at)}"))

    assert between(">", "2026-01-10T05:00:00-08:00") == ["Bill's Windsurf Shop"]
    assert between(">", "2026-01-10T05:00:00") == ["Bill's Windsurf Shop"]
    assert between(">", "2026-01-10T05:00:00Z") == NAMES[:2]
    assert between(">=", "2026-01-10T04:00:00-08:00") == NAMES[:2]
    shown = qbo.get(f"customer/{customers[1]['Id']}").json()["Customer"]["MetaData"]
    assert shown["LastUpdatedTime"] == "2026-01-10T12:00:00-08:00"


def test_query_by_post_with_application_text(qbo: Connected, customers: list[dict]) -> None:
    response = requests.post(
        qbo.url("query"),
        params={"minorversion": "75"},
        data="SELECT * FROM Customer WHERE DisplayName = 'Cool Cars'",
        headers=qbo.headers(**{"Content-Type": "application/text"}),
        timeout=10,
    )

    assert names(response.json()["QueryResponse"]["Customer"]) == ["Cool Cars"]


def test_transactions_by_doc_number_and_date(qbo: Connected, company: Company) -> None:
    customer = record_create(company=company, entity="Customer", data={"DisplayName": "Buyer"})
    line = {"DetailType": "SalesItemLineDetail", "Amount": 10, "SalesItemLineDetail": {}}
    for day in ("2026-01-05", "2026-02-05"):
        record_create(
            company=company,
            entity="Invoice",
            data={"CustomerRef": {"value": customer["Id"]}, "Line": [line], "TxnDate": day},
        )

    rows = qbo.rows("SELECT * FROM Invoice WHERE TxnDate >= '2026-02-01'")

    assert [row["DocNumber"] for row in rows] == ["1002"]
    assert len(qbo.rows("SELECT * FROM Invoice WHERE DocNumber = '1001'")) == 1
    assert len(qbo.rows(f"SELECT * FROM Invoice WHERE CustomerRef = '{customer['Id']}'")) == 2


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * FROM Customer WHERE DisplayName = 'a' OR DisplayName = 'b'",
        "SELECT Id FROM Customer",
        "SELECT * Customer",
        "SELECT * FROM Customer WHERE DisplayName = 'unterminated",
        "SELECT * FROM Customer ORDERBY",
        "SELECT * FROM Customer MAXRESULTS ten",
    ],
)
def test_bad_queries_are_4000(qbo: Connected, text: str) -> None:
    response = qbo.query(text)

    assert response.status_code == 400
    error = response.json()["Fault"]["Error"][0]
    assert (error["code"], error["Message"]) == ("4000", "Error parsing query")
    assert response.json()["Fault"]["type"] == "ValidationFault"


def test_unknown_property_is_refused(qbo: Connected) -> None:
    response = qbo.query("SELECT * FROM Customer WHERE ShoeSize = '9'")

    assert response.status_code == 400
    assert response.json()["Fault"]["Error"][0]["code"] == "4001"
