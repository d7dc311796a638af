"""Writing CRM records: per-record results inside a 2xx, the 100-record limit, validation
(mandatory, lengths, picklists, lookups, currency), line items, locking and search."""

from __future__ import annotations

import pytest

from connectors.sandbox.zoho import services
from tests.sandbox.zoho.conftest import (
    SANDBOX_APPS,
    fixture,
)
from tests.sandbox.zoho.shapes import assert_same_shape

pytestmark = pytest.mark.django_db(transaction=True, available_apps=SANDBOX_APPS)


def test_upsert_answers_each_record_inside_a_2xx(zoho, crm, crm_org):
    existing = services.crm_record_create(
        org=crm_org, module="Contacts", data={"Last_Name": "Old", "Email": "old@example.test"}
    )
    locked = services.crm_record_create(
        org=crm_org, module="Contacts", data={"Last_Name": "Locked", "Email": "lock@example.test"}
    )
    services.crm_record_lock(org=crm_org, module="Contacts", record_id=locked.record_id)
    rows = [
        {"Last_Name": "New", "Email": "new@example.test"},
        {"Last_Name": "Renamed", "Email": "OLD@example.test"},
        {"First_Name": "No last name", "Email": "nolast@example.test"},
        {"Last_Name": "x" * 81, "Email": "long@example.test"},
        {"Last_Name": "Changed", "Email": "lock@example.test"},
        {"Last_Name": "Bad picklist", "Lead_Source": "Carrier Pigeon"},
    ]

    response = crm.post(f"{zoho.crm}/Contacts/upsert", json={"data": rows}, timeout=10)

    assert response.status_code == 202
    data = response.json()["data"]
    assert [d["code"] for d in data] == [
        "SUCCESS",
        "SUCCESS",
        "MANDATORY_NOT_FOUND",
        "INVALID_DATA",
        "RECORD_LOCKED",
        "INVALID_DATA",
    ]
    assert data[0]["action"] == "insert" and data[0]["duplicate_field"] is None
    assert data[1]["action"] == "update" and data[1]["duplicate_field"] == "Email"
    assert data[1]["details"]["id"] == existing.record_id
    assert data[2]["details"] == {"api_name": "Last_Name", "json_path": "$.data[2].Last_Name"}
    assert data[3]["details"]["maximum_length"] == 80
    assert data[3]["details"]["api_name"] == "Last_Name"
    assert data[4]["details"]["id"] == locked.record_id
    assert "Carrier Pigeon" not in data[5]["details"]["supported_values"]
    assert "Trade Show" in data[5]["details"]["supported_values"]
    # The recording holds an update, then an insert.
    assert_same_shape({"data": [data[1], data[0]]}, fixture("crm_upsert_response.json"))


def test_insert_of_a_duplicate_unique_field_is_duplicate_data(zoho, crm, crm_org):
    first = services.crm_record_create(
        org=crm_org, module="Accounts", data={"Account_Name": "Acme Ltd"}
    )

    response = crm.post(
        f"{zoho.crm}/Accounts",
        json={"data": [{"Account_Name": "ACME LTD"}, {"Account_Name": "Globex"}]},
        timeout=10,
    )

    assert response.status_code == 202
    duplicate, created = response.json()["data"]
    assert duplicate["code"] == "DUPLICATE_DATA"
    assert duplicate["details"]["api_name"] == "Account_Name"
    assert duplicate["details"]["json_path"] == "$.data[0].Account_Name"
    assert duplicate["details"]["duplicate_record"]["id"] == first.record_id
    assert created["code"] == "SUCCESS"
    assert created["message"] == "record added"


def test_all_successful_inserts_are_201_and_updates_200(zoho, crm, crm_org):
    inserted = crm.post(
        f"{zoho.crm}/Products", json={"data": [{"Product_Name": "Widget"}]}, timeout=10
    )
    product_id = inserted.json()["data"][0]["details"]["id"]
    updated = crm.put(
        f"{zoho.crm}/Products",
        json={"data": [{"id": product_id, "Unit_Price": 12.5}]},
        timeout=10,
    )
    single = crm.put(
        f"{zoho.crm}/Products/{product_id}", json={"data": [{"Qty_in_Stock": 3}]}, timeout=10
    )

    assert inserted.status_code == 201
    assert updated.status_code == 200
    assert updated.json()["data"][0]["message"] == "record updated"
    assert single.status_code == 200
    record = crm.get(f"{zoho.crm}/Products/{product_id}", timeout=10).json()["data"][0]
    assert (record["Unit_Price"], record["Qty_in_Stock"]) == (12.5, 3)


def test_more_than_100_records_is_limit_exceeded(zoho, crm):
    rows = [{"Last_Name": f"N{n}"} for n in range(101)]

    response = crm.post(f"{zoho.crm}/Contacts/upsert", json={"data": rows}, timeout=10)

    assert response.status_code == 400
    assert response.json()["code"] == "LIMIT_EXCEEDED"


def test_wrong_types_and_unknown_lookups_are_invalid_data(zoho, crm, crm_org):
    rows = [
        {"Last_Name": "Typo", "Email": "not-an-email"},
        {"Last_Name": "Bool", "Email_Opt_Out": "yes"},
        {"Last_Name": "Date", "Date_of_Birth": "31/12/1990"},
        {"Last_Name": "Lookup", "Account_Name": {"id": f"{crm_org.id_prefix}000000999999"}},
    ]

    response = crm.post(f"{zoho.crm}/Contacts", json={"data": rows}, timeout=10)

    data = response.json()["data"]
    assert response.status_code == 400  # every record failed: a 400, still one entry each
    assert [d["code"] for d in data] == ["INVALID_DATA"] * 4
    assert data[0]["details"]["expected_data_type"] == "email"
    assert data[1]["details"]["expected_data_type"] == "boolean"
    assert data[2]["details"]["api_name"] == "Date_of_Birth"
    assert data[3]["message"] == "the id given seems to be invalid"


def test_a_foreign_currency_needs_multi_currency(zoho, crm, crm_org):
    row = {"Account_Name": "Euro Customer", "Currency": "EUR"}

    refused = crm.post(f"{zoho.crm}/Accounts", json={"data": [row]}, timeout=10).json()["data"][0]
    services.crm_org_update(org=crm_org, multi_currency=True, currencies=["EUR"])
    accepted = crm.post(f"{zoho.crm}/Accounts", json={"data": [row]}, timeout=10).json()["data"][0]

    assert refused["code"] == "INVALID_DATA"
    assert refused["details"]["api_name"] == "Currency"
    assert accepted["code"] == "SUCCESS"


def test_invoice_line_items_are_checked_and_totalled(zoho, crm, crm_org):
    account = services.crm_record_create(
        org=crm_org, module="Accounts", data={"Account_Name": "Buyer"}
    )
    product = services.crm_record_create(
        org=crm_org, module="Products", data={"Product_Name": "Gadget", "Unit_Price": 20.0}
    )
    invoice = {
        "Subject": "INV-1",
        "Account_Name": {"id": account.record_id},
        "Invoiced_Items": [
            {"Product_Name": {"id": product.record_id}, "Quantity": 3, "Discount": 5},
            {"Product_Name": {"id": product.record_id}, "Quantity": 1, "List_Price": 7.5},
        ],
    }
    no_lines = {"Subject": "INV-2", "Account_Name": {"id": account.record_id}}

    data = crm.post(f"{zoho.crm}/Invoices", json={"data": [invoice, no_lines]}, timeout=10).json()[
        "data"
    ]
    stored = crm.get(f"{zoho.crm}/Invoices/{data[0]['details']['id']}", timeout=10).json()

    record = stored["data"][0]
    assert data[1]["code"] == "MANDATORY_NOT_FOUND"
    assert data[1]["details"]["api_name"] == "Invoiced_Items"
    assert record["Account_Name"] == {"id": account.record_id, "name": "Buyer"}
    lines = record["Invoiced_Items"]
    assert lines[0]["Product_Name"] == {"id": product.record_id, "name": "Gadget"}
    assert (lines[0]["List_Price"], lines[0]["Total"], lines[0]["Net_Total"]) == (20.0, 60.0, 55.0)
    assert len(lines[0]["id"]) == 19
    assert record["Grand_Total"] == 62.5


def test_a_legacy_org_takes_line_items_as_product_details(zoho, crm, crm_org):
    services.crm_org_update(org=crm_org, legacy_line_items=True)
    account = services.crm_record_create(org=crm_org, module="Accounts", data={"Account_Name": "A"})
    product = services.crm_record_create(org=crm_org, module="Products", data={"Product_Name": "P"})
    quote = {
        "Subject": "Q-1",
        "Account_Name": {"id": account.record_id},
        "Product_Details": [{"Product_Name": {"id": product.record_id}, "Quantity": 2}],
    }
    v8_named = {**quote, "Quoted_Items": quote["Product_Details"]}
    del v8_named["Product_Details"]

    data = crm.post(f"{zoho.crm}/Quotes", json={"data": [quote, v8_named]}, timeout=10).json()

    assert [d["code"] for d in data["data"]] == ["SUCCESS", "MANDATORY_NOT_FOUND"]


def test_a_missing_lookup_on_purchase_orders_is_mandatory_not_found(zoho, crm):
    data = crm.post(
        f"{zoho.crm}/Purchase_Orders", json={"data": [{"Subject": "PO-1"}]}, timeout=10
    ).json()["data"]

    assert data[0]["code"] == "MANDATORY_NOT_FOUND"
    assert data[0]["details"]["api_name"] == "Vendor_Name"


def test_deals_need_a_name_and_a_valid_stage(zoho, crm):
    rows = [
        {"Deal_Name": "Big deal", "Stage": "Qualification", "Amount": 1000},
        {"Deal_Name": "No stage"},
        {"Deal_Name": "Odd stage", "Stage": "Maybe"},
    ]

    data = crm.post(f"{zoho.crm}/Deals", json={"data": rows}, timeout=10).json()["data"]

    assert [d["code"] for d in data] == ["SUCCESS", "MANDATORY_NOT_FOUND", "INVALID_DATA"]


def test_delete_removes_and_a_locked_record_stays(zoho, crm, crm_org):
    keep = services.crm_record_create(org=crm_org, module="Vendors", data={"Vendor_Name": "V1"})
    drop = services.crm_record_create(org=crm_org, module="Vendors", data={"Vendor_Name": "V2"})
    services.crm_record_lock(org=crm_org, module="Vendors", record_id=keep.record_id)

    response = crm.delete(
        f"{zoho.crm}/Vendors", params={"ids": f"{drop.record_id},{keep.record_id}"}, timeout=10
    )

    assert [d["code"] for d in response.json()["data"]] == ["SUCCESS", "RECORD_LOCKED"]
    assert crm.get(f"{zoho.crm}/Vendors/{drop.record_id}", timeout=10).status_code == 204


def test_services_refuse_what_the_api_refuses(crm_org):
    with pytest.raises(services.CrmRejected) as refused:
        services.crm_record_create(org=crm_org, module="Contacts", data={"Email": "a@b.test"})

    assert refused.value.entry["code"] == "MANDATORY_NOT_FOUND"


def test_search_by_email_phone_word_and_criteria(zoho, crm, crm_org):
    account = services.crm_record_create(
        org=crm_org, module="Accounts", data={"Account_Name": "Initech"}
    )
    services.crm_records_bulk_create(
        org=crm_org,
        module="Contacts",
        rows=[
            {
                "Last_Name": "Smith",
                "First_Name": "Ann",
                "Email": "ann@initech.test",
                "Phone": "+1 (555) 010-0001",
                "Account_Name": {"id": account.record_id},
            },
            {
                "Last_Name": "Smithers",
                "First_Name": "Bob",
                "Email": "bob@initech.test",
                "Phone": "555-010-0002",
            },
            {"Last_Name": "Jones", "First_Name": "Cy", "Email": "cy@elsewhere.test"},
        ],
    )

    def names(**params: str) -> list[str]:
        response = crm.get(f"{zoho.crm}/Contacts/search", params=params, timeout=10)
        if response.status_code == 204:
            return []
        return sorted(r["Last_Name"] for r in response.json()["data"])

    assert names(email="ANN@initech.test") == ["Smith"]
    assert names(phone="15550100001") == ["Smith"]
    assert names(word="smith") == ["Smith", "Smithers"]
    assert names(criteria="(Last_Name:starts_with:Smith)") == ["Smith", "Smithers"]
    assert names(criteria="((Last_Name:equals:Jones)or(First_Name:equals:bob))") == [
        "Jones",
        "Smithers",
    ]
    assert names(criteria="((Last_Name:starts_with:Smith)and(Account_Name:equals:Initech))") == [
        "Smith"
    ]
    assert names(email="nobody@initech.test") == []


def test_search_errors(zoho, crm):
    missing = crm.get(f"{zoho.crm}/Contacts/search", timeout=10)
    bad = crm.get(
        f"{zoho.crm}/Contacts/search", params={"criteria": "(Last_Name:like:x)"}, timeout=10
    )

    assert missing.json()["code"] == "REQUIRED_PARAM_MISSING"
    assert bad.status_code == 400
    assert bad.json()["code"] == "INVALID_QUERY"


def test_upsert_matches_on_the_duplicate_check_fields_given(zoho, crm, crm_org):
    services.crm_record_create(
        org=crm_org,
        module="Accounts",
        data={"Account_Name": "Hooli", "Account_Number": "QBO-42"},
    )
    row = {"Account_Name": "Hooli Inc", "Account_Number": "QBO-42"}

    matched = crm.post(
        f"{zoho.crm}/Accounts/upsert",
        json={"data": [row], "duplicate_check_fields": ["Account_Number"]},
        timeout=10,
    )
    unknown = crm.post(
        f"{zoho.crm}/Accounts/upsert",
        json={"data": [row], "duplicate_check_fields": ["No_Such_Field"]},
        timeout=10,
    )

    entry = matched.json()["data"][0]
    assert matched.status_code == 200
    assert (entry["action"], entry["duplicate_field"]) == ("update", "Account_Number")
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "INVALID_DATA"
