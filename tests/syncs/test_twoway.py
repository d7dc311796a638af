"""The two-way merge decision: which field crosses which way, and which conflict."""

from __future__ import annotations

from connectors.zoho_crm.adapter import REFERENCES as CRM_REFERENCES
from syncs.twoway import merge_decide, same

FIELDS = ["Account_Name", "Phone", "Website"]
AGREED = {"Account_Name": "Amy's Birds", "Phone": "6505553311", "Website": "https://a.example"}


def decide(source: dict, target: dict, truth: str = "source") -> tuple[list[str], list[str]]:
    return merge_decide(
        FIELDS, source={**AGREED, **source}, target={**AGREED, **target}, agreed=AGREED, truth=truth
    )


def test_nothing_changed_on_the_target_sends_nothing_to_the_source():
    assert decide({"Phone": "6505550000"}, {}) == ([], [])


def test_a_target_change_alone_goes_to_the_source():
    assert decide({}, {"Website": "https://b.example"}) == (["Website"], [])


def test_the_same_change_on_both_sides_is_no_conflict():
    assert decide({"Phone": "1"}, {"Phone": "1"}) == ([], [])


def test_a_field_changed_on_both_sides_takes_the_system_of_truths_value():
    both = ({"Website": "https://q.example"}, {"Website": "https://c.example", "Phone": "2"})
    assert decide(*both, truth="source") == (["Phone"], ["Website"])
    assert decide(*both, truth="target") == (["Phone", "Website"], ["Website"])


def test_values_compare_by_meaning():
    assert same(None, "") and same(85.0, 85) and not same("a", "b")
    assert same({"id": "7"}, {"id": "7", "name": "Amy's Birds"}, CRM_REFERENCES)
    assert not same({"id": "7"}, {"id": "8", "name": "Other"}, CRM_REFERENCES)
    assert not same({"id": "7"}, {"id": "7", "name": "Amy's Birds"}), "a plain system's groups"
