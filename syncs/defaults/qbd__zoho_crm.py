"""QuickBooks Desktop -> Zoho CRM: the flows and mappings a new flow starts with, as data.

Source paths are qbXML's own element names (`CustomerRet`: `Name`, `Phone`, `BillAddress.Addr1`
...). `QBD_Id` is a custom field on the CRM module (single line, 50, unique), as `QBO_Id` is for
QuickBooks Online: the QuickBooks ListID, also the `external_id` match key; `QBD_Active` (checkbox) says whether the customer is still active
there (made inactive, or deleted). A customer is
matched by its link, then its email, then its phone (both normalised); a name alone never
matches, so two customers "Acme Ltd" and "Acme Limited" stay two Accounts.
"""

from __future__ import annotations

from syncs.defaults.base import DefaultFlow, T, rule
from syncs.mapping import MappingRule
from syncs.models import SyncFlow


def _address(prefix: str, qbd_address: str) -> list[MappingRule]:
    parts = {
        "Addr1": "Street",
        "City": "City",
        "State": "State",
        "PostalCode": "Code",
        "Country": "Country",
    }
    return [
        rule(
            f"{qbd_address}.{part}",
            f"{prefix}{suffix}",
            T.COUNTRY if part == "Country" else T.TRIM,
            both=True,
        )
        for part, suffix in parts.items()
    ]


QBD_CUSTOMER_TO_CRM_ACCOUNTS = (
    rule("Name", "Account_Name", required=True, both=True),
    rule("Phone", "Phone", T.PHONE, both=True),
    rule("Fax", "Fax", T.PHONE, both=True),
    *_address("Billing_", "BillAddress"),
    *_address("Shipping_", "ShipAddress"),
    rule("IsActive", "QBD_Active", T.BOOLEAN),
    rule("ListID", "QBD_Id", T.NONE, required=True),
)

# Items of every kind (service, inventory, non-inventory, other charge...): a service's price
# and description sit in SalesOrPurchase, or in SalesAndPurchase when it is also bought; an
# inventory item's directly on it.
QBD_ITEM_TO_CRM_PRODUCTS = (
    rule("FullName", "Product_Name", required=True),
    rule(
        "SalesOrPurchase.Desc",
        "Description",
        fallback_paths=["SalesAndPurchase.SalesDesc", "SalesDesc", "ItemDesc"],
    ),
    rule(
        "SalesOrPurchase.Price",
        "Unit_Price",
        T.NONE,
        fallback_paths=["SalesAndPurchase.SalesPrice", "SalesPrice", "Price"],
    ),
    rule("IsActive", "Product_Active", T.BOOLEAN),
    rule("ListID", "QBD_Id", T.NONE, required=True),
)

# An invoice is a Deal the sales team already works in: won once paid, closed lost when the
# invoice is voided or deleted. Its lines' items are related to the Deal through the Deals' Products
# related list (each item synced first, by the Item -> Products flow); `lookup_field` names
# the Product in errors. The lines of an item group (InvoiceLineGroupRet) count one by one.
QBD_INVOICE_TO_CRM_DEALS = (
    rule("RefNumber", "Deal_Name", required=True, fallback_paths=["TxnID"]),
    # `_state` is the QuickBooks Desktop adapter's reading of the invoice: open, paid or voided.
    rule(
        "_state",
        "Stage",
        T.VALUE_MAP,
        map={"paid": "Closed Won", "open": "Negotiation/Review", "voided": "Closed Lost"},
        default="Negotiation/Review",
    ),
    rule("Subtotal", "Amount", T.NONE),
    rule("DueDate", "Closing_Date", T.DATE, fallback_paths=["TxnDate"]),
    rule("TxnID", "QBD_Id", T.NONE, required=True),
)

_ACCOUNT_REFERENCE = {
    "path": "CustomerRef.ListID",
    "name_path": "CustomerRef.FullName",
    "entity": "Customer",
    "target_entity": "Accounts",
    "lookup_field": "Account_Name",
}

FLOWS = {
    # Zoho identifies a product by its (unique) name, as it does for QuickBooks Online's items.
    ("Item", "Products"): DefaultFlow(
        QBD_ITEM_TO_CRM_PRODUCTS,
        ("link", "external_id", "name"),
        options={"on_source_deleted": {"Product_Active": False}},
    ),
    ("Invoice", "Deals"): DefaultFlow(
        QBD_INVOICE_TO_CRM_DEALS,
        ("link", "external_id"),
        options={
            "references": [_ACCOUNT_REFERENCE],
            "line_items": {
                "path": "InvoiceLineRet",
                "reference": {
                    "path": "ItemRef.ListID",
                    "name_path": "ItemRef.FullName",
                    "entity": "Item",
                    "target_entity": "Products",
                    "lookup_field": "Product_Name",
                },
                "related_list": "Products",
                "groups": {"path": "InvoiceLineGroupRet", "lines": "InvoiceLineRet"},
            },
            "on_source_deleted": {"Stage": "Closed Lost"},
        },
    ),
    # Both ways: an Account edited in the CRM reaches QuickBooks as a CustomerModRq on the next
    # session, one added there as a CustomerAddRq; QuickBooks is the system of truth for a
    # field changed on both sides.
    ("Customer", "Accounts"): DefaultFlow(
        QBD_CUSTOMER_TO_CRM_ACCOUNTS,
        ("link", "external_id", "email", "phone"),
        # QuickBooks Desktop keeps no deleted customer: the Account stays, marked inactive.
        options={
            "create_in_source": True,
            "on_source_deleted": {"QBD_Active": False},
            # An Account deleted in the CRM makes the customer inactive in QuickBooks.
            "on_target_deleted": {"IsActive": False},
        },
        direction=SyncFlow.Direction.TWO_WAY,
    ),
}
