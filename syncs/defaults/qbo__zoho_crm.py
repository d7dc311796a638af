"""QuickBooks Online -> Zoho CRM: the flows and mappings a new flow starts with, as data.

Target fields are Zoho CRM's standard API names. Four are custom fields, named the way Zoho
names custom fields: `QBO_Id` (single line, 50, unique: the QuickBooks id, also the
`external_id` match key) and `QBO_Last_Synced` (date/time: when ml-connector last wrote the
record), on Accounts, Contacts, Vendors and Products, so that the link is visible on the CRM
record; `QBO_Balance` (currency) and `QBO_Active` (checkbox), both on Accounts. The sandbox CRM
must define them as custom fields (`connectors/sandbox/zoho/crm_schema.py`) so the default flows
validate there; a real org needs them added once (Setup > Customization > Modules and Fields).

Direction: on a two-way flow names and contact details (phone, email, web, addresses) go both
ways, as Zoho's own integration does; ids, balances and the active flag belong to the accounting
side and only go to the CRM. A name changed in the CRM that another QuickBooks customer, vendor
or employee already has is refused by QuickBooks (6240) and becomes a `name_conflict` error.

Transactions (invoices, estimates, purchase orders) go one way, QuickBooks to the CRM. Their
`options` say what the engine resolves by itself (`syncs/references.py`):

* `references`: lookups to records another flow keeps (`CustomerRef` -> the Account); a record
  whose reference is not linked yet has it synced first, in the same run;
* `line_items`: the QBO lines written into the CRM module's line-item subform, whose API name
  the engine reads from the CRM's field metadata (`Invoiced_Items`, or `Product_Details` on
  older orgs); each line's product is a reference too;
* `currency`: where the record's currency and exchange rate are, checked against the CRM's
  currencies (`currency_mismatch`), or converted when `convert_currency` is on;
* `create_in_source`: on a two-way flow, a record added in the CRM is created in QuickBooks
  (Accounts, Vendors, Products; a contact added alone has no customer to belong to);
* `refreshed_by`: source entities whose changes alter this flow's records (a Bill changes its
  vendor's balance), so their webhooks queue the referenced record again.
"""

from __future__ import annotations

from typing import Any

from syncs.defaults.base import DefaultFlow, T, rule
from syncs.mapping import MappingRule


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
            rule(f"{qbo_address}.{paths[part]}", f"{prefix}{suffix}", transform, both=True)
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
    rule("Id", "QBO_Id", T.NONE, required=True),
    rule("", "QBO_Last_Synced", T.SYNC_TIME),
)

QBO_CUSTOMER_TO_CRM_ACCOUNTS = (
    rule("DisplayName", "Account_Name", required=True, both=True),
    rule("PrimaryPhone.FreeFormNumber", "Phone", T.PHONE, both=True),
    rule("WebAddr.URI", "Website", both=True),
    *_address("Billing_", "BillAddr", _ACCOUNT_ADDRESS),
    *_address("Shipping_", "ShipAddr", _ACCOUNT_ADDRESS),
    rule("Balance", "QBO_Balance", T.NONE),
    rule("Active", "QBO_Active", T.BOOLEAN),
    *_LINK,
)

QBO_CUSTOMER_TO_CRM_CONTACTS = (
    rule("GivenName", "First_Name", both=True),
    # A customer that is a company often has no family name; Zoho requires Last_Name.
    rule("FamilyName", "Last_Name", both=True, required=True, fallback_paths=["DisplayName"]),
    rule("PrimaryEmailAddr.Address", "Email", both=True),
    rule("PrimaryPhone.FreeFormNumber", "Phone", T.PHONE, both=True),
    rule("Mobile.FreeFormNumber", "Mobile", T.PHONE, both=True),
    *_LINK,
)

QBO_VENDOR_TO_CRM_VENDORS = (
    rule("DisplayName", "Vendor_Name", required=True, both=True),
    rule("PrimaryEmailAddr.Address", "Email", both=True),
    rule("PrimaryPhone.FreeFormNumber", "Phone", T.PHONE, both=True),
    rule("WebAddr.URI", "Website", both=True),
    *_address("", "BillAddr", _VENDOR_ADDRESS),
    rule("Balance", "QBO_Balance", T.NONE),
    *_LINK,
)

# QuickBooks transactions. The number is the subject (a transaction without one, when the
# company does not number them, falls back on its id); the lookups and lines are options. The
# exchange rate is left to the CRM's own: QuickBooks states it the other way round.
_DOCUMENT = (
    rule("DocNumber", "Subject", required=True, fallback_paths=["Id"]),
    rule("CurrencyRef.value", "Currency", T.NONE),
    rule("TxnTaxDetail.TotalTax", "Tax", T.NONE),
    rule("PrivateNote", "Description"),
)

QBO_INVOICE_TO_CRM_INVOICES = (
    *_DOCUMENT,
    rule("TxnDate", "Invoice_Date", T.DATE),
    rule("DueDate", "Due_Date", T.DATE),
    # QuickBooks has no invoice status field: whether it was sent is the nearest thing.
    rule(
        "EmailStatus",
        "Status",
        T.VALUE_MAP,
        map={"NotSet": "Created", "NeedToSend": "Approved", "EmailSent": "Delivered"},
        default="Created",
    ),
    *_address("Billing_", "BillAddr", _ACCOUNT_ADDRESS),
    *_address("Shipping_", "ShipAddr", _ACCOUNT_ADDRESS),
    *_LINK,
)

QBO_ESTIMATE_TO_CRM_QUOTES = (
    *_DOCUMENT,
    rule("ExpirationDate", "Valid_Till", T.DATE),
    rule(
        "TxnStatus",
        "Quote_Stage",
        T.VALUE_MAP,
        map={
            "Pending": "Draft",
            "Accepted": "Confirmed",
            "Closed": "Closed Won",
            "Converted": "Closed Won",
            "Rejected": "Closed Lost",
        },
        default="Draft",
    ),
    *_address("Billing_", "BillAddr", _ACCOUNT_ADDRESS),
    *_address("Shipping_", "ShipAddr", _ACCOUNT_ADDRESS),
    *_LINK,
)

QBO_PURCHASE_ORDER_TO_CRM_PURCHASE_ORDERS = (
    *_DOCUMENT,
    rule("DocNumber", "PO_Number"),
    rule("TxnDate", "PO_Date", T.DATE),
    rule("DueDate", "Due_Date", T.DATE),
    rule(
        "POStatus",
        "Status",
        T.VALUE_MAP,
        map={"Open": "Created", "Closed": "Delivered"},
        default="Created",
    ),
    *_LINK,
)


def _lines(detail: str) -> dict[str, Any]:
    """QBO lines of one detail type as CRM line items: the product, quantity and rate (the
    CRM works the line's total out from them, as QuickBooks does the line's amount)."""
    return {
        "path": "Line",
        "detail_types": [detail],
        "reference": {
            "path": f"{detail}.ItemRef.value",
            "name_path": f"{detail}.ItemRef.name",
            "entity": "Item",
            "target_entity": "Products",
            "lookup_field": "Product_Name",
        },
        "fields": [
            {"source_path": f"{detail}.Qty", "target_field": "Quantity", "default": 1},
            {
                "source_path": f"{detail}.UnitPrice",
                "target_field": "List_Price",
                "fallback_paths": ["Amount"],
            },
            {"source_path": "Description", "target_field": "Description"},
        ],
    }


def _reference(path: str, entity: str, target_entity: str, lookup: str, **extra: Any) -> dict:
    return {
        "path": f"{path}.value",
        "name_path": f"{path}.name",
        "entity": entity,
        "target_entity": target_entity,
        "lookup_field": lookup,
        **extra,
    }


_CUSTOMER_REFERENCES = [
    _reference("CustomerRef", "Customer", "Accounts", "Account_Name"),
    # The customer's contact, where a contacts flow keeps one; no contact is no error.
    _reference("CustomerRef", "Customer", "Contacts", "Contact_Name", optional=True),
]


def _transaction(references: list[dict], detail: str) -> dict[str, Any]:
    """A transaction flow's options: its lookups, its lines of `detail`, its currency."""
    return {
        "references": references,
        "line_items": _lines(detail),
        "currency": {"path": "CurrencyRef.value", "rate_path": "ExchangeRate"},
    }


QBO_ITEM_TO_CRM_PRODUCTS = (
    rule("Name", "Product_Name", required=True, both=True),
    rule("Sku", "Product_Code", both=True),
    rule("Description", "Description", both=True),
    rule("UnitPrice", "Unit_Price", T.NONE, both=True),
    rule("Active", "Product_Active", T.BOOLEAN, both=True),
    *_LINK,
)


def _refreshed_by(path: str, *entities: str) -> list[dict[str, str]]:
    """Transactions whose change QuickBooks reports on themselves only, though it changes the
    record `path` points at too (a balance): each queues that record again."""
    return [{"entity": entity, "path": path} for entity in entities]


# (source entity, target entity) -> defaults.
FLOWS: dict[tuple[str, str], DefaultFlow] = {
    # Zoho identifies a product by its (unique) name, as it does accounts and vendors.
    ("Item", "Products"): DefaultFlow(
        mappings=QBO_ITEM_TO_CRM_PRODUCTS,
        match_keys=("link", "external_id", "name"),
        options={"create_in_source": True},
    ),
    # Invoices and payments change a customer's balance, which QuickBooks reports as a change
    # to the invoice or payment only.
    ("Customer", "Accounts"): DefaultFlow(
        mappings=QBO_CUSTOMER_TO_CRM_ACCOUNTS,
        match_keys=("link", "external_id", "name", "phone"),
        options={
            "create_in_source": True,
            "refreshed_by": _refreshed_by("CustomerRef.value", "Invoice", "Payment"),
        },
    ),
    # The customer's primary contact: a second flow over the same QBO customers. `parent`
    # tells the engine to sync the account first and point Account_Name at it.
    ("Customer", "Contacts"): DefaultFlow(
        mappings=QBO_CUSTOMER_TO_CRM_CONTACTS,
        match_keys=("link", "external_id", "email", "phone"),  # a last name alone is no identity
        options={"parent": {"target_entity": "Accounts", "lookup_field": "Account_Name"}},
    ),
    # Bills and bill payments change what is owed to the vendor.
    ("Vendor", "Vendors"): DefaultFlow(
        mappings=QBO_VENDOR_TO_CRM_VENDORS,
        match_keys=("link", "external_id", "email", "name"),
        options={
            "create_in_source": True,
            "refreshed_by": _refreshed_by("VendorRef.value", "Bill", "BillPayment"),
        },
    ),
    # Transactions are matched by their QuickBooks id only: two invoices may share a subject.
    ("Invoice", "Invoices"): DefaultFlow(
        mappings=QBO_INVOICE_TO_CRM_INVOICES,
        match_keys=("link", "external_id"),
        options=_transaction(_CUSTOMER_REFERENCES, "SalesItemLineDetail"),
    ),
    ("Estimate", "Quotes"): DefaultFlow(
        mappings=QBO_ESTIMATE_TO_CRM_QUOTES,
        match_keys=("link", "external_id"),
        options=_transaction(_CUSTOMER_REFERENCES, "SalesItemLineDetail"),
    ),
    ("PurchaseOrder", "Purchase_Orders"): DefaultFlow(
        mappings=QBO_PURCHASE_ORDER_TO_CRM_PURCHASE_ORDERS,
        match_keys=("link", "external_id"),
        options=_transaction(
            [_reference("VendorRef", "Vendor", "Vendors", "Vendor_Name")],
            "ItemBasedExpenseLineDetail",
        ),
    ),
}
