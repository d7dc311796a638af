"""The default mappings hold up against Zoho's field metadata and recorded QBO records."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.models import Connection
from connectors.zoho_crm.adapter import REFERENCES as CRM_REFERENCES
from syncs.defaults import DEFAULT_FLOWS
from syncs.mapping import (
    FieldSpec,
    MappedRecord,
    TargetSchema,
    mapping_apply,
    mapping_validate,
    payload_hash,
)
from syncs.models import FieldMapping, SyncFlow
from syncs.references import LineItems, lines_map, options_validate
from syncs.services import flow_create_with_defaults
from tests.syncs.conftest import LOCAL_FIXTURES, SHARED_FIXTURES


def zoho_schema(module: str) -> TargetSchema:
    """As the CRM adapter builds it from `GET /crm/v8/settings/fields?module=...`, with the
    line-item subform's own fields for an inventory module."""
    body = json.loads((LOCAL_FIXTURES / f"zoho_crm_fields_{module}.json").read_text())
    subform = next((f["api_name"] for f in body["fields"] if f["data_type"] == "subform"), "")
    return TargetSchema(
        label=f"Zoho CRM {module}",
        fields=_specs(body),
        line_items=subform,
        line_schema=zoho_schema(subform) if subform else None,
        references=CRM_REFERENCES,
    )


def _specs(body: dict[str, Any]) -> dict[str, FieldSpec]:
    return {
        spec.api_name: spec
        for spec in [
            FieldSpec(
                api_name=f["api_name"],
                data_type=f["data_type"],
                length=f.get("length"),
                mandatory=bool(f.get("system_mandatory")),
                picklist_values=tuple(v["actual_value"] for v in f.get("pick_list_values", [])),
                read_only=bool(f.get("read_only")),
            )
            for f in body["fields"]
        ]
    }


def qbo_customer() -> dict[str, Any]:
    return json.loads((SHARED_FIXTURES / "qbo" / "customer_read_response.json").read_text())[
        "Customer"
    ]


def qbo_vendors() -> list[dict[str, Any]]:
    body = json.loads((SHARED_FIXTURES / "qbo" / "vendor_query_response.json").read_text())
    return body["QueryResponse"]["Vendor"]


# An Item as QBO's read answers it (Intuit's sample company, "Rock Fountain").
QBO_ITEM = {
    "Id": "5",
    "Name": "Rock Fountain",
    "Sku": "RF-36",
    "Description": "Rock Fountain",
    "Active": True,
    "Type": "Inventory",
    "UnitPrice": 275,
    "IncomeAccountRef": {"value": "79", "name": "Sales of Product Income"},
    "SyncToken": "2",
}


def without_sync_time(mapped: MappedRecord) -> dict[str, Any]:
    """The payload without its QBO_Last_Synced stamp, after checking the stamp is now."""
    payload = dict(mapped.payload)
    stamp = datetime.fromisoformat(payload.pop("QBO_Last_Synced"))
    assert abs(stamp - datetime.now(tz=UTC)) < timedelta(minutes=1)
    assert mapped.volatile == {"QBO_Last_Synced"}
    return payload


@pytest.mark.parametrize("key", list(DEFAULT_FLOWS), ids=lambda key: f"{key[1]}->{key[3]}")
def test_default_mappings_validate_against_zoho_field_metadata(key):
    defaults = DEFAULT_FLOWS[key]
    schema = zoho_schema(key[3])
    assert options_validate(defaults.mappings, options=defaults.options, target_schema=schema) == []


def test_a_transaction_flow_without_its_options_misses_the_lookup_and_the_lines():
    defaults = DEFAULT_FLOWS[("qbo", "Invoice", "zoho_crm", "Invoices")]
    schema = zoho_schema("Invoices")
    assert mapping_validate(defaults.mappings, target_schema=schema) == [
        "Account_Name is mandatory in Zoho CRM Invoices but is not mapped.",
        "Invoiced_Items is mandatory in Zoho CRM Invoices but is not mapped.",
    ]
    wrong = {
        **defaults.options,
        "references": [{**defaults.options["references"][0], "lookup_field": "Subject"}],
    }
    assert options_validate(defaults.mappings, options=wrong, target_schema=schema)[0] == (
        "Zoho CRM Invoices has no lookup field Subject for a reference."
    )
    lines = {
        **defaults.options["line_items"],
        "fields": [{"source_path": "Qty", "target_field": "Amount"}],
    }
    messages = options_validate(
        defaults.mappings, options={**defaults.options, "line_items": lines}, target_schema=schema
    )
    assert messages == [
        "Line items: Zoho CRM Invoiced_Items has no field Amount.",
        "Line items: Quantity is mandatory in Zoho CRM Invoiced_Items but is not mapped.",
    ]


@pytest.mark.parametrize(
    "key", [k for k in DEFAULT_FLOWS if k[0] == "qbo"], ids=lambda key: f"{key[1]}->{key[3]}"
)
def test_every_default_flow_stamps_the_qbo_id_and_the_sync_time_on_the_crm_record(key):
    rules = {rule.target_field: rule for rule in DEFAULT_FLOWS[key].mappings}
    assert (rules["QBO_Id"].source_path, rules["QBO_Id"].required) == ("Id", True)
    assert rules["QBO_Last_Synced"].transform == FieldMapping.Transform.SYNC_TIME


@pytest.mark.parametrize(
    "key", [k for k in DEFAULT_FLOWS if k[0] == "qbd"], ids=lambda key: f"{key[1]}->{key[3]}"
)
def test_every_desktop_flow_stamps_the_quickbooks_id_on_the_crm_record(key):
    rules = {rule.target_field: rule for rule in DEFAULT_FLOWS[key].mappings}
    id_path = "TxnID" if key[1] == "Invoice" else "ListID"  # transactions have TxnIDs
    assert (rules["QBD_Id"].source_path, rules["QBD_Id"].required) == (id_path, True)


def test_a_recorded_qbo_customer_maps_to_a_zoho_account():
    defaults = DEFAULT_FLOWS[("qbo", "Customer", "zoho_crm", "Accounts")]
    mapped = mapping_apply(defaults.mappings, qbo_customer(), target_schema=zoho_schema("Accounts"))
    assert mapped.ok, mapped.problems
    assert without_sync_time(mapped) == {
        "Account_Name": "Bill's Windsurf Shop",
        "Phone": "4154446538",
        "Website": None,
        "Billing_Street": "12 Ocean Dr.",
        "Billing_City": "Half Moon Bay",
        "Billing_State": "CA",
        "Billing_Code": "94213",
        "Billing_Country": None,
        "Shipping_Street": None,
        "Shipping_City": None,
        "Shipping_State": None,
        "Shipping_Code": None,
        "Shipping_Country": None,
        "QBO_Balance": 85,
        "QBO_Active": True,
        "QBO_Id": "2",
    }


def test_its_primary_contact_maps_to_a_zoho_contact():
    defaults = DEFAULT_FLOWS[("qbo", "Customer", "zoho_crm", "Contacts")]
    mapped = mapping_apply(defaults.mappings, qbo_customer(), target_schema=zoho_schema("Contacts"))
    assert mapped.ok, mapped.problems
    assert without_sync_time(mapped) == {
        "First_Name": "Bill",
        "Last_Name": "Lucchini",
        "Email": "Surf@Intuit.com",
        "Phone": "4154446538",
        "Mobile": None,
        "QBO_Id": "2",
    }
    assert defaults.options["parent"] == {
        "target_entity": "Accounts",
        "lookup_field": "Account_Name",
    }


def test_a_company_without_a_family_name_still_gets_a_last_name():
    defaults = DEFAULT_FLOWS[("qbo", "Customer", "zoho_crm", "Contacts")]
    company = {"Id": "33", "DisplayName": "Chin's Gas and Oil", "Active": True}
    mapped = mapping_apply(defaults.mappings, company, target_schema=zoho_schema("Contacts"))
    assert mapped.payload["Last_Name"] == "Chin's Gas and Oil"


def test_recorded_qbo_vendors_map_to_zoho_vendors():
    defaults = DEFAULT_FLOWS[("qbo", "Vendor", "zoho_crm", "Vendors")]
    schema = zoho_schema("Vendors")
    mapped = [mapping_apply(defaults.mappings, v, target_schema=schema) for v in qbo_vendors()]
    assert all(m.ok for m in mapped), [m.problems for m in mapped]
    bessie = without_sync_time(mapped[1])
    assert bessie == {
        "Vendor_Name": "Books by Bessie",
        "Email": "Books@Intuit.com",
        "Phone": "6505557745",
        "Website": "http://www.booksbybessie.co",
        "Street": "15 Main St.",
        "City": "Palo Alto",
        "State": "CA",
        "Zip_Code": "94303",
        "Country": None,
        "QBO_Balance": 0,
        "QBO_Id": "30",
    }
    assert mapped[4].payload["Email"] is None  # Chin's Gas and Oil has no email: still syncs


def test_a_qbo_item_maps_to_a_zoho_product():
    defaults = DEFAULT_FLOWS[("qbo", "Item", "zoho_crm", "Products")]
    mapped = mapping_apply(defaults.mappings, QBO_ITEM, target_schema=zoho_schema("Products"))
    assert mapped.ok, mapped.problems
    assert without_sync_time(mapped) == {
        "Product_Name": "Rock Fountain",
        "Product_Code": "RF-36",
        "Description": "Rock Fountain",
        "Unit_Price": 275,
        "Product_Active": True,
        "QBO_Id": "5",
    }
    assert defaults.match_keys == ("link", "external_id", "name")


def test_an_unchanged_item_hashes_the_same_whatever_the_sync_time():
    defaults = DEFAULT_FLOWS[("qbo", "Item", "zoho_crm", "Products")]
    schema = zoho_schema("Products")
    first = mapping_apply(defaults.mappings, QBO_ITEM, target_schema=schema)
    later = mapping_apply(defaults.mappings, QBO_ITEM, target_schema=schema)
    later.payload["QBO_Last_Synced"] = "2099-01-01T00:00:00+00:00"  # another run, another time
    assert payload_hash(first.payload, exclude=first.volatile) == payload_hash(
        later.payload, exclude=later.volatile
    )
    repriced = mapping_apply(
        defaults.mappings, {**QBO_ITEM, "UnitPrice": 300}, target_schema=schema
    )
    assert payload_hash(repriced.payload, exclude=repriced.volatile) != payload_hash(
        first.payload, exclude=first.volatile
    )


def test_a_display_name_too_long_for_zoho_is_an_error_not_a_silent_cut():
    defaults = DEFAULT_FLOWS[("qbo", "Customer", "zoho_crm", "Accounts")]
    customer = {**qbo_customer(), "DisplayName": "x" * 201}
    mapped = mapping_apply(defaults.mappings, customer, target_schema=zoho_schema("Accounts"))
    [problem] = mapped.problems
    assert (problem.field, problem.category) == ("Account_Name", "value_too_long")


@pytest.mark.django_db
def test_flow_create_with_defaults(qbo: Connection, crm: Connection):
    flow = flow_create_with_defaults(
        name="QBO customers -> CRM contacts",
        source=qbo,
        target=crm,
        source_entity="Customer",
        target_entity="Contacts",
        direction=SyncFlow.Direction.TWO_WAY,
        options={"dry_run": True},
    )
    flow.refresh_from_db()
    assert flow.match_keys == ["link", "external_id", "email", "phone"]  # never a last name alone
    assert flow.options == {
        "parent": {"target_entity": "Accounts", "lookup_field": "Account_Name"},
        "dry_run": True,
    }
    assert flow.dry_run and flow.is_two_way and flow.is_active
    rows = list(flow.mappings.all())
    assert [m.target_field for m in rows] == [
        "First_Name",
        "Last_Name",
        "Email",
        "Phone",
        "Mobile",
        "QBO_Id",
        "QBO_Last_Synced",
    ]
    assert [m.position for m in rows] == [1, 2, 3, 4, 5, 6, 7]
    stamp = rows[-1]
    assert (stamp.source_path, stamp.transform, stamp.direction) == ("", "sync_time", "to_target")
    last_name = rows[1]
    assert (last_name.source_path, last_name.required, last_name.direction) == (
        "FamilyName",
        True,
        FieldMapping.Direction.BOTH,
    )
    assert last_name.transform_options == {"fallback_paths": ["DisplayName"]}
    # The rows work exactly like the defaults they came from.
    mapped = mapping_apply(rows, qbo_customer(), target_schema=zoho_schema("Contacts"))
    assert mapped.ok and mapped.payload["Last_Name"] == "Lucchini"
    assert mapped.volatile == {"QBO_Last_Synced"}


@pytest.mark.django_db
def test_a_pair_without_defaults_is_refused_with_the_pairs_that_have_them(qbo, crm):
    with pytest.raises(LookupError, match="qbo Customer -> zoho_crm Accounts"):
        flow_create_with_defaults(
            name="Deals", source=qbo, target=crm, source_entity="Invoice", target_entity="Deals"
        )
    assert not SyncFlow.objects.exists()


def test_a_recorded_qbo_invoice_maps_to_a_zoho_invoice_with_its_lines():
    defaults = DEFAULT_FLOWS[("qbo", "Invoice", "zoho_crm", "Invoices")]
    invoice = json.loads((SHARED_FIXTURES / "qbo" / "invoice_object_sandbox.json").read_text())
    invoice = invoice.get("Invoice", invoice)
    schema = zoho_schema("Invoices")
    mapped = mapping_apply(defaults.mappings, invoice, target_schema=schema)
    assert mapped.ok, mapped.problems
    assert mapped.payload["Subject"] == invoice["DocNumber"]
    assert mapped.payload["Invoice_Date"] == invoice["TxnDate"]
    assert mapped.payload["QBO_Id"] == invoice["Id"]

    line_items = LineItems.parse(defaults.options["line_items"])
    items = {
        line["SalesItemLineDetail"]["ItemRef"]["value"]: f"crm-{n}"
        for n, line in enumerate(line_items.lines(invoice))
    }
    lines = lines_map(line_items, invoice, schema=schema, targets=items)
    assert (lines.problems, lines.missing) == ([], [])
    sales = [line for line in invoice["Line"] if line["DetailType"] == "SalesItemLineDetail"]
    assert len(lines.lines) == len(sales) > 0
    for mapped_line, line in zip(lines.lines, sales, strict=True):
        detail = line["SalesItemLineDetail"]
        assert mapped_line["Product_Name"] == {"id": items[detail["ItemRef"]["value"]]}
        assert mapped_line["Quantity"] == detail.get("Qty", 1)
        assert mapped_line["List_Price"] == detail.get("UnitPrice", line["Amount"])
    without = lines_map(line_items, invoice, schema=schema, targets={})
    assert without.lines == [] and len(without.missing) == len(sales)
