"""CRM org, user and metadata endpoints, and the org settings that change them."""

from __future__ import annotations

import pytest

from connectors.sandbox.zoho import services
from tests.sandbox.zoho.conftest import SANDBOX_APPS

pytestmark = pytest.mark.django_db(transaction=True, available_apps=SANDBOX_APPS)


def fields_by_name(crm, zoho, module: str) -> dict[str, dict]:
    response = crm.get(f"{zoho.crm}/settings/fields", params={"module": module}, timeout=10)
    assert response.status_code == 200, response.text
    return {field["api_name"]: field for field in response.json()["fields"]}


def test_org_reports_its_home_currency(zoho, crm, crm_org):
    body = crm.get(f"{zoho.crm}/org", timeout=10).json()

    org = body["org"][0]
    assert org["id"] == crm_org.org_id
    assert org["company_name"] == "Acme Sandbox CRM"
    assert org["iso_code"] == "USD"
    assert org["currency"] == "US Dollar - USD"
    assert org["mc_status"] is False


def test_current_user(zoho, crm, crm_org):
    body = crm.get(f"{zoho.crm}/users", params={"type": "CurrentUser"}, timeout=10).json()

    assert body["users"][0]["id"] == crm_org.user_id
    assert body["users"][0]["email"] == crm_org.user_email


def test_modules_are_api_supported(zoho, crm):
    modules = crm.get(f"{zoho.crm}/settings/modules", timeout=10).json()["modules"]

    names = {m["api_name"] for m in modules}
    assert {"Accounts", "Contacts", "Vendors", "Products", "Deals", "Invoices", "Quotes"} <= names
    assert {"Sales_Orders", "Purchase_Orders"} <= names
    assert all(m["api_supported"] is True for m in modules)


def test_field_metadata_describes_types_lengths_and_mandatory_fields(zoho, crm):
    fields = fields_by_name(crm, zoho, "Contacts")

    assert fields["Last_Name"]["system_mandatory"] is True
    assert fields["Last_Name"]["data_type"] == "text"
    assert fields["Last_Name"]["length"] == 80
    assert fields["Email"]["data_type"] == "email"
    assert fields["Email"]["unique"] == {"casesensitive": "false"}
    assert fields["Account_Name"]["data_type"] == "lookup"
    assert fields["Account_Name"]["lookup"]["module"]["api_name"] == "Accounts"
    assert fields["Owner"]["data_type"] == "ownerlookup"
    assert fields["Email_Opt_Out"]["data_type"] == "boolean"
    assert fields["Currency"]["pick_list_values"][0]["actual_value"] == "USD"
    assert len(fields["Last_Name"]["id"]) == 19


def test_deal_stage_is_a_mandatory_picklist(zoho, crm):
    fields = fields_by_name(crm, zoho, "Deals")

    stage = fields["Stage"]
    assert stage["data_type"] == "picklist"
    assert stage["system_mandatory"] is True
    assert "Closed Won" in [v["actual_value"] for v in stage["pick_list_values"]]


def test_line_item_subform_is_named_the_v8_way(zoho, crm):
    fields = fields_by_name(crm, zoho, "Invoices")
    line_fields = fields_by_name(crm, zoho, "Invoiced_Items")

    assert fields["Invoiced_Items"]["data_type"] == "subform"
    assert fields["Invoiced_Items"]["associated_module"]["module"] == "Invoiced_Items"
    assert "Product_Details" not in fields
    assert line_fields["Product_Name"]["lookup"]["module"]["api_name"] == "Products"
    assert {"Quantity", "List_Price", "Discount", "Total"} <= set(line_fields)
    assert "Quoted_Items" in fields_by_name(crm, zoho, "Quotes")
    assert "Ordered_Items" in fields_by_name(crm, zoho, "Sales_Orders")
    assert "Purchased_Items" in fields_by_name(crm, zoho, "Purchase_Orders")


def test_a_legacy_org_names_line_items_product_details(zoho, crm, crm_org):
    services.crm_org_update(org=crm_org, legacy_line_items=True)

    fields = fields_by_name(crm, zoho, "Invoices")

    assert fields["Product_Details"]["data_type"] == "subform"
    assert "Invoiced_Items" not in fields


def test_an_edition_without_vendors_answers_invalid_module(zoho, crm, crm_org):
    services.crm_org_update(org=crm_org, vendors_enabled=False)

    modules = crm.get(f"{zoho.crm}/settings/modules", timeout=10).json()["modules"]
    listing = crm.get(f"{zoho.crm}/Vendors", params={"fields": "Vendor_Name"}, timeout=10)
    contact_fields = fields_by_name(crm, zoho, "Contacts")

    assert "Vendors" not in {m["api_name"] for m in modules}
    assert listing.status_code == 400
    assert listing.json()["code"] == "INVALID_MODULE"
    assert "Vendor_Name" not in contact_fields


def test_unknown_module_and_url(zoho, crm):
    module = crm.get(f"{zoho.crm}/Widgets", params={"fields": "Name"}, timeout=10)
    url = crm.get(f"{zoho.crm}/Accounts/1/2/3", timeout=10)

    assert module.status_code == 400
    assert module.json()["code"] == "INVALID_MODULE"
    assert url.status_code == 404
    assert url.json()["code"] == "INVALID_URL_PATTERN"


def test_multi_currency_adds_currencies_to_the_picklist(zoho, crm, crm_org):
    services.crm_org_update(org=crm_org, multi_currency=True, currencies=["EUR", "GBP"])

    currency = fields_by_name(crm, zoho, "Accounts")["Currency"]

    assert [v["actual_value"] for v in currency["pick_list_values"]] == ["USD", "EUR", "GBP"]
