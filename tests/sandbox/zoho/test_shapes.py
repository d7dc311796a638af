"""The shape comparison the fakes' tests rely on."""

from __future__ import annotations

from tests.sandbox.zoho.shapes import shape_differences


def test_same_keys_and_types_match():
    assert shape_differences({"a": 1.5, "b": ["x"], "c": None}, {"a": 2, "b": ["y"]}) == []


def test_missing_keys_and_other_types_are_reported():
    problems = shape_differences({"a": "1", "b": [1]}, {"a": 1, "b": ["s"], "c": True})

    assert problems == [
        "$.a: string where the recording has number",
        "$.b[0]: number where the recording has string",
        "$.c: missing",
    ]


def test_a_recorded_null_matches_any_type():
    assert shape_differences({"token": "t"}, {"token": None}) == []
