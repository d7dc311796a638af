"""Field paths, applying mappings with every check made before a call, validation, hashing."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from connectors.zoho_crm.adapter import REFERENCES as CRM_REFERENCES
from syncs.mapping import (
    FieldSpec,
    MappingRule,
    TargetSchema,
    mapping_apply,
    mapping_get,
    mapping_set,
    mapping_validate,
    payload_hash,
)

INVOICE = {
    "Id": "130",
    "CustomerRef": {"value": "6", "name": "Dylan Sollfrank"},
    "Line": [
        {"Amount": 337.5, "SalesItemLineDetail": {"ItemRef": {"value": "4"}}},
        {"Amount": 337.5, "DetailType": "SubTotalLineDetail"},
    ],
    "BillAddr": {"City": "Half Moon Bay", "Line1": None},
}

SCHEMA = TargetSchema.of(
    "Zoho CRM Accounts",
    [
        FieldSpec("Account_Name", "text", 20, mandatory=True),
        FieldSpec("Email", "email", 100),
        FieldSpec("Phone", "phone", 30),
        FieldSpec("Billing_City", "text", 30),
        FieldSpec("Employees", "integer", 9),
        FieldSpec("Annual_Revenue", "currency", 16),
        FieldSpec("QBO_Active", "boolean"),
        FieldSpec("Since", "date"),
        FieldSpec("QBO_Last_Synced", "datetime"),
        FieldSpec("Account_Type", "picklist", 120, picklist_values=("-None-", "Customer")),
        FieldSpec("Parent_Account", "lookup"),
        FieldSpec("Tags", "multiselectpicklist", picklist_values=("A", "B")),
        FieldSpec("Full_Name", "text", 255, read_only=True),
        FieldSpec("Record_Owner", "ownerlookup", mandatory=True, read_only=True),
    ],
    references=CRM_REFERENCES,
)


def rule(source: str, target: str, transform: str = "none", **kwargs) -> MappingRule:
    options = kwargs.pop("options", {})
    return MappingRule(source, target, transform, options, **kwargs)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("Id", "130"),
        ("CustomerRef.name", "Dylan Sollfrank"),
        ("Line.0.Amount", 337.5),
        ("Line.1.DetailType", "SubTotalLineDetail"),
        ("Line.-1.Amount", 337.5),
        ("Line.0.SalesItemLineDetail.ItemRef.value", "4"),
        ("Line.5.Amount", None),
        ("Line.first", None),
        ("BillAddr.Line1", None),
        ("BillAddr.Line1.Text", None),
        ("Missing.Deeply.Nested", None),
        ("Id.0", None),
        ("", INVOICE),
    ],
)
def test_reading_by_path(path, expected):
    assert mapping_get(INVOICE, path) == expected


def test_setting_by_path_builds_what_is_missing():
    data: dict = {"BillAddr": {"City": "Old"}}
    mapping_set(data, "BillAddr.City", "Half Moon Bay")
    mapping_set(data, "PrimaryEmailAddr.Address", "surf@intuit.com")
    mapping_set(data, "Line.1.Amount", 10)
    mapping_set(data, "Tags.0", "A")
    assert data == {
        "BillAddr": {"City": "Half Moon Bay"},
        "PrimaryEmailAddr": {"Address": "surf@intuit.com"},
        "Line": [None, {"Amount": 10}],
        "Tags": ["A"],
    }
    with pytest.raises(ValueError, match="empty path"):
        mapping_set(data, " ", 1)


def test_applying_mappings_converts_to_the_targets_types():
    source = {
        "DisplayName": "  Bill's Windsurf  ",
        "PrimaryEmailAddr": {"Address": "Surf@Intuit.com"},
        "Size": "12",
        "Balance": "85.00",
        "Active": "true",
        "Since": "2014-09-11T16:49:28-07:00",
        "ParentRef": {"value": "58"},
        "Kind": "customer",
        "Tags": "A",
    }
    mappings = [
        rule("DisplayName", "Account_Name", "trim"),
        rule("PrimaryEmailAddr.Address", "Email"),
        rule("Size", "Employees"),
        rule("Balance", "Annual_Revenue"),
        rule("Active", "QBO_Active"),
        rule("Since", "Since"),
        rule("ParentRef.value", "Parent_Account"),
        rule("Kind", "Account_Type", "value_map", options={"map": {"customer": "Customer"}}),
        rule("Tags", "Tags"),
        rule("Nowhere", "Billing_City"),
    ]
    mapped = mapping_apply(mappings, source, target_schema=SCHEMA)
    assert mapped.ok, mapped.problems
    assert mapped.payload == {
        "Account_Name": "Bill's Windsurf",
        "Email": "Surf@Intuit.com",
        "Employees": 12,
        "Annual_Revenue": 85,
        "QBO_Active": True,
        "Since": "2014-09-11",
        "Parent_Account": {"id": "58"},
        "Account_Type": "Customer",
        "Tags": ["A"],
        "Billing_City": None,  # empty at the source: cleared at the target
    }


def test_every_problem_is_reported_before_any_call():
    source = {
        "DisplayName": "",
        "Email": "not-an-email",
        "City": "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch",
        "Size": "12.5",
        "Revenue": "a lot",
        "Active": "perhaps",
        "Kind": "Vendor",
        "Phone": "n/a",
        "Since": {"date": "2024-01-01"},
    }
    mappings = [
        rule("DisplayName", "Account_Name", "trim"),
        rule("Email", "Email", "trim"),
        rule("City", "Billing_City", "trim"),
        rule("Size", "Employees"),
        rule("Revenue", "Annual_Revenue"),
        rule("Active", "QBO_Active"),
        rule("Kind", "Account_Type"),
        rule("Phone", "Phone", "phone"),
        rule("Since", "Since"),
        rule("Id", "No_Such_Field"),
    ]
    mapped = mapping_apply(mappings, source, target_schema=SCHEMA)
    problems = {p.field: p for p in mapped.problems}
    assert {f: p.category for f, p in problems.items()} == {
        "Account_Name": "mandatory_missing",
        "Email": "invalid_value",
        "Billing_City": "value_too_long",
        "Employees": "invalid_value",
        "Annual_Revenue": "invalid_value",
        "QBO_Active": "invalid_value",
        "Account_Type": "invalid_value",
        "Phone": "invalid_value",
        "Since": "invalid_value",
        "No_Such_Field": "invalid_value",
    }
    assert not mapped.ok
    assert mapped.payload == {}
    assert "Account_Name is mandatory in Zoho CRM Accounts" in problems["Account_Name"].message
    assert "58 characters; Zoho CRM Accounts allows 30" in problems["Billing_City"].message
    assert "not a valid email address" in problems["Email"].message
    assert "-None-, Customer" in problems["Account_Type"].message
    assert "whole number" in problems["Employees"].message
    assert "Zoho CRM Accounts has no field No_Such_Field" in problems["No_Such_Field"].message


def test_truncate_mappings_shorten_instead_of_failing():
    long_name = "Brosnahan Insurance Agency of Northern California"
    mappings = [rule("DisplayName", "Account_Name", "truncate")]
    mapped = mapping_apply(mappings, {"DisplayName": long_name}, target_schema=SCHEMA)
    assert mapped.ok
    assert mapped.payload == {"Account_Name": "Brosnahan Insurance"}


def test_required_is_checked_even_without_a_schema():
    mappings = [rule("Id", "QBO_Id", required=True), rule("Notes", "Description")]
    mapped = mapping_apply(mappings, {"Notes": "hi"}, target_schema=None)
    [problem] = mapped.problems
    assert (problem.field, problem.category) == ("QBO_Id", "mandatory_missing")
    assert mapped.payload == {"Description": "hi"}


def test_fallback_paths_fill_an_empty_source():
    mappings = [
        rule("FamilyName", "Last_Name", "trim", options={"fallback_paths": ["DisplayName"]})
    ]
    company = {"FamilyName": " ", "DisplayName": "Cal Telephone"}
    assert mapping_apply(mappings, company, target_schema=None).payload == {
        "Last_Name": "Cal Telephone"
    }
    person = {"FamilyName": "Williams", "DisplayName": "Books by Bessie"}
    assert mapping_apply(mappings, person, target_schema=None).payload == {"Last_Name": "Williams"}


def test_the_way_back_writes_source_paths_and_skips_one_way_mappings():
    mappings = [
        rule("BillAddr.City", "Billing_City", "trim", direction="both"),
        rule("BillAddr.Country", "Billing_Country", "country", direction="both"),
        rule("PrimaryPhone.FreeFormNumber", "Phone", "phone", direction="to_source"),
        rule("", "Lead_Source", "constant", options={"value": "QuickBooks"}, direction="both"),
        rule("DisplayName", "Account_Name"),  # to the target only
        rule(
            "Kind",
            "Account_Type",
            "value_map",
            options={"map": {"c": "Customer"}},
            direction="both",
        ),
    ]
    crm_record = {
        "Billing_City": " Palo Alto ",
        "Billing_Country": "USA",
        "Phone": "+1 650 555 1616",
        "Account_Name": "Renamed in the CRM",
        "Account_Type": "Customer",
        "Lead_Source": "QuickBooks",
    }
    qbo_schema = TargetSchema.of(
        "QuickBooks Online Customer",
        [
            FieldSpec("BillAddr.City", "text", 255),
            FieldSpec("BillAddr.Country", "text", 255),
            FieldSpec("PrimaryPhone.FreeFormNumber", "phone", 30),
            FieldSpec("Kind", "text", 20),
        ],
    )
    mapped = mapping_apply(mappings, crm_record, target_schema=qbo_schema, direction="to_source")
    assert mapped.ok, mapped.problems
    assert mapped.payload == {
        "BillAddr": {"City": "Palo Alto", "Country": "United States"},
        "PrimaryPhone": {"FreeFormNumber": "+16505551616"},
        "Kind": "c",
    }


def test_validation_accepts_a_sound_mapping():
    mappings = [
        rule("DisplayName", "Account_Name", "trim"),
        rule("PrimaryEmailAddr.Address", "Email", "lower"),
        rule("Active", "QBO_Active", "boolean"),
        rule("", "Account_Type", "constant", options={"value": "Customer"}),
        rule("Since", "Since", "date"),
    ]
    assert mapping_validate(mappings, target_schema=SCHEMA) == []


def test_validation_explains_what_is_wrong():
    mappings = [
        rule("DisplayName", "Acount_Name", "trim"),  # typo
        rule("Active", "Since", "phone"),
        rule("Active", "QBO_Active", "trim"),
        rule("Size", "Employees", "truncate"),
        rule("Kind", "Account_Type", "value_map", options={"map": {"c": "Client"}}),
        rule("", "Account_Type", "constant"),
        rule("", "Email", "trim"),
        rule("A..B", "Billing_City"),
        rule("Name", "Full_Name"),
        rule("Phone", "Phone", "phone", options={"style": "fancy"}),
        rule("Country", "Billing_City", "country", options={"output": "flag"}),
        rule("Date", "Since", "wiggle"),
    ]
    messages = mapping_validate(mappings, target_schema=SCHEMA)
    expected = [
        "Zoho CRM Accounts has no field Acount_Name. Did you mean Account_Name?",
        "Since is of type date; the phone transform cannot produce a value for it.",
        "QBO_Active is of type boolean; the trim transform cannot produce a value for it.",
        "Employees is of type integer; the truncate transform cannot produce a value for it.",
        "Account_Type: 'Client' is not one of Account_Type's values: -None-, Customer.",
        'Account_Type: a constant needs {"value": ...} in its options.',
        "Email: a source path is needed (only a constant or a sync time has none).",
        "Billing_City: the source path 'A..B' has an empty step.",
        "Full_Name is read-only in Zoho CRM Accounts.",
        "Phone: phone style is e164 or international.",
        "Billing_City: country output is name, alpha2 or alpha3.",
        "Since: unknown transform 'wiggle'.",
        "Account_Type is mapped more than once.",
        "Billing_City is mapped more than once.",
        "Since is mapped more than once.",
        "Account_Name is mandatory in Zoho CRM Accounts but is not mapped.",  # the typo
    ]
    for message in expected:
        assert message in messages
    assert len(messages) == len(expected)


def test_validation_names_mandatory_fields_left_unmapped():
    messages = mapping_validate([rule("Email", "Email")], target_schema=SCHEMA)
    assert messages == ["Account_Name is mandatory in Zoho CRM Accounts but is not mapped."]


def test_boolean_into_text_needs_the_words_to_use():
    words = {"true": "Yes", "false": "No"}
    ok = [rule("Name", "Account_Name"), rule("Active", "Billing_City", "boolean", options=words)]
    assert mapping_validate(ok, target_schema=SCHEMA) == []


def test_payload_hash_is_stable():
    first = {"Account_Name": "Bill's", "Billing": {"City": "HMB", "Code": "94213"}, "Balance": 85.0}
    second = {"Balance": Decimal("85.00"), "Billing": {"Code": "94213", "City": "HMB"}}
    second["Account_Name"] = "Bill's"
    assert payload_hash(first) == payload_hash(second)
    assert len(payload_hash(first)) == 64
    assert payload_hash(first) != payload_hash({**first, "Balance": 85.5})
    assert payload_hash({"Phone": None}) != payload_hash({})
    assert payload_hash({"Since": date(2024, 3, 4)}) == payload_hash({"Since": "2024-03-04"})
    assert payload_hash({"Tags": ["A", "B"]}) != payload_hash({"Tags": ["B", "A"]})
    assert payload_hash({"X": True}) != payload_hash({"X": 1})
    assert payload_hash({"X": float("nan")}) == payload_hash({"X": float("nan")})


def test_a_sync_time_is_written_and_reported_as_volatile():
    mappings = [
        rule("DisplayName", "Account_Name", "trim"),
        rule("", "QBO_Last_Synced", "sync_time"),
    ]
    mapped = mapping_apply(mappings, {"DisplayName": "Bill's"}, target_schema=SCHEMA)
    assert mapped.ok, mapped.problems
    assert datetime.fromisoformat(mapped.payload["QBO_Last_Synced"]).tzinfo is not None
    assert mapped.volatile == {"QBO_Last_Synced"}
    plain = mapping_apply(mappings[:1], {"DisplayName": "Bill's"}, target_schema=SCHEMA)
    assert plain.volatile == frozenset()


def test_a_sync_time_has_no_way_back():
    mappings = [
        rule("BillAddr.City", "Billing_City", "trim", direction="both"),
        rule("", "QBO_Last_Synced", "sync_time", direction="both"),
    ]
    crm_record = {"Billing_City": "Palo Alto", "QBO_Last_Synced": "2024-03-04T22:28:52+00:00"}
    mapped = mapping_apply(mappings, crm_record, target_schema=None, direction="to_source")
    assert (mapped.payload, mapped.volatile) == ({"BillAddr": {"City": "Palo Alto"}}, frozenset())


def test_validation_takes_a_sync_time_without_a_source_into_a_date_time_or_text():
    ok = [rule("Name", "Account_Name"), rule("", "QBO_Last_Synced", "sync_time")]
    assert mapping_validate(ok, target_schema=SCHEMA) == []
    wrong = [rule("Name", "Account_Name"), rule("", "Since", "sync_time")]
    assert mapping_validate(wrong, target_schema=SCHEMA) == [
        "Since is of type date; the sync_time transform cannot produce a value for it."
    ]


def test_payload_hash_leaves_out_the_excluded_fields():
    first = {"Account_Name": "Bill's", "QBO_Last_Synced": "2024-03-04T22:28:52+00:00"}
    later = {**first, "QBO_Last_Synced": "2024-03-05T08:00:00+00:00"}
    assert payload_hash(first) != payload_hash(later)
    volatile = {"QBO_Last_Synced"}
    assert payload_hash(first, exclude=volatile) == payload_hash(later, exclude=volatile)
    assert payload_hash(first, exclude=volatile) == payload_hash({"Account_Name": "Bill's"})
    renamed = {**later, "Account_Name": "Bill's Surf"}
    assert payload_hash(renamed, exclude=volatile) != payload_hash(first, exclude=volatile)
    nested = {"Meta": {"Synced": "now", "Id": "2"}}
    assert payload_hash(nested, exclude={"Meta.Synced", "Absent.Path"}) == payload_hash(
        {"Meta": {"Id": "2"}}
    )
    assert nested == {"Meta": {"Synced": "now", "Id": "2"}}  # the payload itself is untouched


def test_the_way_back_is_checked_against_the_source_schema_too():
    mappings = [
        rule("PrimaryEmailAddr.Address", "Email", "trim", direction="both"),
        rule("CompanyName", "Account_Name", "truncate", direction="both"),
        rule("DisplayName", "Vendor_Name", "trim", direction="both", required=True),
    ]
    qbo_schema = TargetSchema.of(
        "QuickBooks Online Customer",
        [
            FieldSpec("PrimaryEmailAddr.Address", "email", 100),
            FieldSpec("CompanyName", "text", 9),
            FieldSpec("DisplayName", "text", 500, mandatory=True),
        ],
    )
    crm = {"Email": "not an email", "Account_Name": "Brosnahan Insurance", "Vendor_Name": ""}
    mapped = mapping_apply(mappings, crm, target_schema=qbo_schema, direction="to_source")
    problems = {p.field: p for p in mapped.problems}
    assert problems["PrimaryEmailAddr.Address"].category == "invalid_value"
    assert problems["DisplayName"].message == (
        "DisplayName is mandatory in QuickBooks Online Customer, but Vendor_Name is empty."
    )
    assert mapped.payload == {"CompanyName": "Brosnahan"}
