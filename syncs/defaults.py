"""The mappings a new flow starts with, as data: one `DefaultFlow` per pair of entities.

Target fields are Zoho CRM's standard API names. Four are custom fields, named the way Zoho
names custom fields: `QBO_Id` (single line, 50, unique: the QuickBooks id, also the
`external_id` match key) and `QBO_Last_Synced` (date/time: when ml-connector last wrote the
record), on Accounts, Contacts, Vendors and Products, so that the link is visible on the CRM
record; `QBO_Balance` (currency) and `QBO_Active` (checkbox), both on Accounts. The sandbox CRM
must define them as custom fields (`connectors/sandbox/zoho/crm_schema.py`) so the default flows
validate there; a real org needs them added once (Setup > Customization > Modules and Fields).

Direction: contact details (phone, email, web, addresses) go both ways on a two-way flow;
names, ids, balances and the active flag belong to the accounting side and only go to the CRM.
A name renamed in the CRM must not rename a QuickBooks customer behind the bookkeeper's back,
and it would collide with QBO's unique DisplayName (error 6240).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from syncs.mapping import MappingRule
from syncs.models import FieldMapping

T = FieldMapping.Transform
BOTH = FieldMapping.Direction.BOTH


def _rule(
    source_path: str,
    target_field: str,
    transform: str = T.TRIM,
    *,
    both: bool = False,
    required: bool = False,
    **options: Any,
) -> MappingRule:
    return MappingRule(
        source_path=source_path,
        target_field=target_field,
        transform=transform,
        transform_options=options,
        required=required,
        direction=BOTH if both else FieldMapping.Direction.TO_TARGET,
    )


def _address(prefix: str, qbo_address: str, fields: dict[str, str]) -> list[MappingRule]:
    """One QBO address (BillAddr, ShipAddr) into Zoho fields named `prefix` + suffix."""
    paths = {
        "street": "Line1",
        "city": "City",
        "state": "CountrySubDivisionCode",
        "code": "PostalCode",
        "country": "Country",
    }
    rules = []
    for part, suffix in fields.items():
        transform = T.COUNTRY if part == "country" else T.TRIM
        rules.append(
            _rule(f"{qbo_address}.{paths[part]}", f"{prefix}{suffix}", transform, both=True)
        )
    return rules


_ACCOUNT_ADDRESS = {
    "street": "Street",
    "city": "City",
    "state": "State",
    "code": "Code",
    "country": "Country",
}
_VENDOR_ADDRESS = {
    "street": "Street",
    "city": "City",
    "state": "State",
    "code": "Zip_Code",
    "country": "Country",
}

# The QuickBooks id and the time of the last write, on every CRM record a flow writes. The sync
# time changes on every write by design; the payload hash leaves it out (`mapping_apply`).
_LINK = (
    _rule("Id", "QBO_Id", T.NONE, required=True),
    _rule("", "QBO_Last_Synced", T.SYNC_TIME),
)

QBO_CUSTOMER_TO_CRM_ACCOUNTS = (
    _rule("DisplayName", "Account_Name", required=True),
    _rule("PrimaryPhone.FreeFormNumber", "Phone", T.PHONE, both=True),
    _rule("WebAddr.URI", "Website", both=True),
    *_address("Billing_", "BillAddr", _ACCOUNT_ADDRESS),
    *_address("Shipping_", "ShipAddr", _ACCOUNT_ADDRESS),
    _rule("Balance", "QBO_Balance", T.NONE),
    _rule("Active", "QBO_Active", T.BOOLEAN),
    *_LINK,
)

QBO_CUSTOMER_TO_CRM_CONTACTS = (
    _rule("GivenName", "First_Name", both=True),
    # A customer that is a company often has no family name; Zoho requires Last_Name.
    _rule("FamilyName", "Last_Name", both=True, required=True, fallback_paths=["DisplayName"]),
    _rule("PrimaryEmailAddr.Address", "Email", both=True),
    _rule("PrimaryPhone.FreeFormNumber", "Phone", T.PHONE, both=True),
    _rule("Mobile.FreeFormNumber", "Mobile", T.PHONE, both=True),
    *_LINK,
)

QBO_VENDOR_TO_CRM_VENDORS = (
    _rule("DisplayName", "Vendor_Name", required=True),
    _rule("PrimaryEmailAddr.Address", "Email", both=True),
    _rule("PrimaryPhone.FreeFormNumber", "Phone", T.PHONE, both=True),
    _rule("WebAddr.URI", "Website", both=True),
    *_address("", "BillAddr", _VENDOR_ADDRESS),
    *_LINK,
)

# One-way: prices and names are the bookkeeper's, kept in QuickBooks.
QBO_ITEM_TO_CRM_PRODUCTS = (
    _rule("Name", "Product_Name", required=True),
    _rule("Sku", "Product_Code"),
    _rule("Description", "Description"),
    _rule("UnitPrice", "Unit_Price", T.NONE),
    _rule("Active", "Product_Active", T.BOOLEAN),
    *_LINK,
)


@dataclass(frozen=True)
class DefaultFlow:
    mappings: tuple[MappingRule, ...]
    match_keys: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)


# (source system, source entity, target system, target entity) -> defaults.
DEFAULT_FLOWS: dict[tuple[str, str, str, str], DefaultFlow] = {
    # Zoho identifies a product by its (unique) name, as it does accounts and vendors.
    ("qbo", "Item", "zoho_crm", "Products"): DefaultFlow(
        mappings=QBO_ITEM_TO_CRM_PRODUCTS,
        match_keys=("link", "external_id", "name"),
    ),
    ("qbo", "Customer", "zoho_crm", "Accounts"): DefaultFlow(
        mappings=QBO_CUSTOMER_TO_CRM_ACCOUNTS,
        match_keys=("link", "external_id", "name", "phone"),
    ),
    # The customer's primary contact: a second flow over the same QBO customers. `parent`
    # tells the engine to sync the account first and point Account_Name at it.
    ("qbo", "Customer", "zoho_crm", "Contacts"): DefaultFlow(
        mappings=QBO_CUSTOMER_TO_CRM_CONTACTS,
        match_keys=("link", "external_id", "email", "phone"),  # a last name alone is no identity
        options={"parent": {"target_entity": "Accounts", "lookup_field": "Account_Name"}},
    ),
    ("qbo", "Vendor", "zoho_crm", "Vendors"): DefaultFlow(
        mappings=QBO_VENDOR_TO_CRM_VENDORS,
        match_keys=("link", "external_id", "email", "name"),
    ),
}


def default_flow_for(
    source_system: str, source_entity: str, target_system: str, target_entity: str
) -> DefaultFlow | None:
    return DEFAULT_FLOWS.get((source_system, source_entity, target_system, target_entity))
