"""Each transform is a small pure function of one value."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from syncs.transforms import (
    TransformError,
    transform_apply,
    transform_boolean,
    transform_country,
    transform_date,
    transform_datetime,
    transform_phone,
    transform_reverse,
    transform_truncate,
    transform_value_map,
)


@pytest.mark.parametrize(
    ("transform", "value", "expected"),
    [
        ("none", " as is ", " as is "),
        ("trim", "  Bill's Windsurf Shop \n", "Bill's Windsurf Shop"),
        ("upper", " ca ", "CA"),
        ("lower", "Surf@Intuit.com", "surf@intuit.com"),
        ("title", "half moon bay", "Half Moon Bay"),
        ("trim", 94213, "94213"),
    ],
)
def test_text_transforms(transform, value, expected):
    assert transform_apply(transform, value, {}) == expected


@pytest.mark.parametrize("blank", [None, "", "   "])
@pytest.mark.parametrize("transform", ["trim", "phone", "date", "country", "boolean", "value_map"])
def test_blank_input_is_none_whatever_the_transform(transform, blank):
    assert transform_apply(transform, blank, {"map": {"": "x"}}) is None


def test_constant_ignores_the_source():
    assert transform_apply("constant", None, {"value": "QuickBooks"}) == "QuickBooks"
    assert transform_apply("constant", "anything", {"value": True}) is True


@pytest.mark.parametrize("source", [None, "", "2001-01-01T00:00:00Z", {"Id": "5"}])
def test_sync_time_is_now_whatever_the_source(source):
    before = datetime.now(tz=UTC).replace(microsecond=0)
    stamp = transform_apply("sync_time", source, {})
    after = datetime.now(tz=UTC)
    # ISO 8601 to the second with its offset, as transform_datetime writes it.
    assert stamp == transform_datetime(stamp)
    assert before <= datetime.fromisoformat(stamp) <= after
    assert after - before < timedelta(seconds=5)


def test_truncate_to_an_explicit_or_the_targets_length():
    assert transform_truncate("Brosnahan Insurance Agency", 10) == "Brosnahan"
    assert transform_apply("truncate", "abcdef", {"length": 3}) == "abc"
    assert transform_apply("truncate", "abcdef", {}, length=4) == "abcd"
    assert transform_apply("truncate", "short", {}, length=40) == "short"
    with pytest.raises(TransformError, match="length"):
        transform_apply("truncate", "abcdef", {})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-04", "2024-03-04"),
        ("2014-09-11T23:30:00-07:00", "2014-09-11"),  # the date as written, not UTC's
        ("2024/03/04", "2024-03-04"),
        ("4 Mar 2024", "2024-03-04"),
        ("March 4, 2024", "2024-03-04"),
        (date(2024, 3, 4), "2024-03-04"),
        (datetime(2024, 3, 4, 23, 0, tzinfo=UTC), "2024-03-04"),
    ],
)
def test_dates_become_iso(value, expected):
    assert transform_date(value) == expected


def test_an_ambiguous_date_needs_the_mappings_format():
    with pytest.raises(TransformError, match="format"):
        transform_date("03/04/2024")
    assert transform_date("03/04/2024", input_format="%m/%d/%Y") == "2024-03-04"
    assert transform_apply("date", "03/04/2024", {"format": "%d/%m/%Y"}) == "2024-04-03"


@pytest.mark.parametrize(
    ("value", "options", "expected"),
    [
        ("2014-09-18T12:56:01-07:00", {}, "2014-09-18T12:56:01-07:00"),
        ("2016-04-15T09:01:18.141-07:00", {}, "2016-04-15T09:01:18-07:00"),
        ("2013-10-07T18:24:51+0530", {}, "2013-10-07T18:24:51+05:30"),  # Zoho Books' form
        ("2020-10-14T10:31:43Z", {}, "2020-10-14T10:31:43+00:00"),
        ("2024-03-04 09:00:00", {"timezone": "America/New_York"}, "2024-03-04T09:00:00-05:00"),
        (1718117126473, {}, "2024-06-11T14:45:26+00:00"),  # Zoho's server_time, milliseconds
        (1718117126, {}, "2024-06-11T14:45:26+00:00"),
        ("04/03/2024 14:05", {"format": "%d/%m/%Y %H:%M"}, "2024-03-04T14:05:00+00:00"),
    ],
)
def test_datetimes_become_iso_with_an_offset(value, options, expected):
    assert transform_apply("datetime", value, options) == expected


def test_bad_datetimes_and_zones_are_reported():
    with pytest.raises(TransformError, match="date and time"):
        transform_datetime("next tuesday")
    with pytest.raises(TransformError, match="time zone"):
        transform_datetime("2024-03-04 09:00", timezone="Mars/Olympus")


@pytest.mark.parametrize(
    ("value", "options", "expected"),
    [
        ("(415) 444-6538", {}, "4154446538"),
        ("(415) 444-6538", {"default_country_code": "1"}, "+14154446538"),
        ("1-415-444-6538", {"default_country_code": "+1"}, "+14154446538"),
        ("+1 (650) 555-9912", {}, "+16505559912"),
        ("0044 20 7946 0958", {}, "+442079460958"),
        ("020 7946 0958", {"default_country_code": "44"}, "+442079460958"),
        ("(650) 555-9912 x12", {"default_country_code": "1"}, "+16505559912 ext. 12"),
        ("650.555.9912 ext. 7", {}, "6505559912 ext. 7"),
        (
            "(650) 555-9912",
            {"default_country_code": "1", "style": "international"},
            "+1 650-555-9912",
        ),
        ("+44 20 7946 0958", {"style": "international"}, "+442079460958"),
    ],
)
def test_phone_numbers_keep_plus_and_digits(value, options, expected):
    assert transform_apply("phone", value, options) == expected


@pytest.mark.parametrize("value", ["call me", "12345", "+1234567890123456"])
def test_things_that_are_not_phone_numbers(value):
    with pytest.raises(TransformError, match="not a phone number"):
        transform_phone(value)


@pytest.mark.parametrize(
    "value",
    ["United States", "USA", "US", "u.s.a.", "United States of America", " usa ", "America"],
)
def test_the_united_states_in_its_many_spellings(value):
    assert transform_country(value) == "United States"
    assert transform_country(value, output="alpha2") == "US"
    assert transform_country(value, output="alpha3") == "USA"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("UK", "United Kingdom"),
        ("GBR", "United Kingdom"),
        ("Great Britain", "United Kingdom"),
        ("Cote d'Ivoire", "Côte d'Ivoire"),
        ("the netherlands", "Netherlands"),
        ("Viet Nam", "Vietnam"),
        ("Russian Federation", "Russia"),
        ("deu", "Germany"),
        ("Türkiye", "Turkey"),
    ],
)
def test_countries_by_code_name_or_alias(value, expected):
    assert transform_country(value) == expected


def test_an_unknown_country_passes_through_unless_strict():
    assert transform_country(" Narnia ") == "Narnia"
    with pytest.raises(TransformError, match="country"):
        transform_country("Narnia", strict=True)


def test_value_map_with_default():
    colours = {"Print": "Paper", "Email": "E-mail"}
    assert transform_value_map("Print", mapping=colours) == "Paper"
    assert transform_value_map("email", mapping=colours) == "E-mail"  # case-insensitive
    assert transform_value_map("Fax", mapping=colours) == "Fax"
    assert transform_value_map("Fax", mapping=colours, default=None) is None
    options = {"map": colours, "default": "-None-"}
    assert transform_apply("value_map", "Fax", options) == "-None-"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        ("true", True),
        ("Yes", True),
        ("1", True),
        (1, True),
        (Decimal("0"), False),
        ("false", False),
        ("No", False),
        ("inactive", False),
        (0, False),
        (False, False),
    ],
)
def test_boolean(value, expected):
    assert transform_boolean(value) is expected


def test_boolean_to_the_targets_own_words_and_garbage():
    assert transform_apply("boolean", "true", {"true": "Yes", "false": "No"}) == "Yes"
    assert transform_apply("boolean", False, {"true": "Yes", "false": "No"}) == "No"
    with pytest.raises(TransformError, match="yes or no"):
        transform_boolean("maybe")


def test_unknown_transform():
    with pytest.raises(TransformError, match="Unknown transform"):
        transform_apply("reverse", "abc", {})


def test_the_way_back():
    options = {"map": {"Print": "Paper"}}
    assert transform_reverse("value_map", "Paper", options) == "Print"
    assert transform_reverse("constant", "QuickBooks", {"value": "QuickBooks"}) is None
    assert transform_reverse("sync_time", "2024-03-04T22:28:52+00:00", {}) is None
    assert transform_reverse("truncate", "Brosnahan Insurance", {}, length=9) == "Brosnahan"
    assert transform_reverse("truncate", "Brosnahan Insurance", {}) == "Brosnahan Insurance"
    assert transform_reverse("trim", "  ", {}) is None
    assert transform_reverse("boolean", "Yes", {"true": "Yes"}) is True
    assert transform_reverse("country", "United States", {"output": "alpha3"}) == "USA"
    assert transform_reverse("phone", "+1 650-555-9912", {}) == "+16505559912"
