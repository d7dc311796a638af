"""The query tokenizer and parser on their own (no database, no HTTP)."""

from __future__ import annotations

import pytest

from connectors.sandbox.qbo.errors import QboFault
from connectors.sandbox.qbo.query import Condition, Order, query_parse, tokenize


def test_a_full_query() -> None:
    query = query_parse(
        "select * from Customer where Metadata.LastUpdatedTime > '2024-06-01T00:00:00-07:00' "
        "and Active in (true, false) orderby Metadata.LastUpdatedTime desc, Id "
        "startposition 101 maxresults 50"
    )

    assert query.entity == "Customer"
    assert query.count is False
    assert query.where == (
        Condition("MetaData.LastUpdatedTime", ">", ("2024-06-01T00:00:00-07:00",)),
        Condition("Active", "in", (True, False)),
    )
    assert query.order == (
        Order("MetaData.LastUpdatedTime", descending=True),
        Order("Id", descending=False),
    )
    assert (query.start_position, query.max_results) == (101, 50)


def test_defaults_and_count() -> None:
    query = query_parse("SELECT COUNT(*) FROM Invoice")

    assert query.count is True
    assert (query.start_position, query.max_results) == (1, 100)


def test_maxresults_is_held_to_1000() -> None:
    assert query_parse("SELECT * FROM Item MAXRESULTS 5000").max_results == 1000


def test_string_escapes() -> None:
    tokens = tokenize(r"'Bill\'s \\ Shop'")

    assert tokens[0].kind == "string"
    assert tokens[0].value == "Bill's \\ Shop"


def test_numbers_and_operators() -> None:
    query = query_parse("SELECT * FROM Invoice WHERE TotalAmt >= 100.5 AND TotalAmt < 200")

    assert query.where == (
        Condition("TotalAmt", ">=", (100.5,)),
        Condition("TotalAmt", "<", (200,)),
    )


def test_property_names_ignore_case_entity_names_do_not() -> None:
    assert query_parse("SELECT * FROM Vendor WHERE displayname = 'x'").where[0].prop == (
        "DisplayName"
    )
    with pytest.raises(QboFault) as raised:
        query_parse("SELECT * FROM vendor")
    assert raised.value.code == "4001"


@pytest.mark.parametrize(
    "text, column",
    [
        ("SELECT * FROM Customer WHERE Id != '1'", 33),
        ("SELECT * FROM Customer;", 23),
        ("SELECT * FROM Customer WHERE", 29),
    ],
)
def test_syntax_errors_name_the_column(text: str, column: int) -> None:
    with pytest.raises(QboFault) as raised:
        query_parse(text)

    assert raised.value.code == "4000"
    assert f"column {column}" in raised.value.detail
