"""The CRM fake's modules and fields, as data. Everything else (validation, metadata answers,
search) reads these definitions, so a module is added by describing it here.

The standard layouts of Zoho CRM (Professional edition) as the v8 API describes them; an org's
settings then adjust them: the line-item subform's name (`Invoiced_Items` on current orgs,
`Product_Details` on old ones), the Currency picklist (home currency, plus more with
multi-currency on) and whether the Vendors module exists."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from typing import TypedDict, Unpack

from connectors.sandbox.zoho.models import CrmOrg

JSON_TYPES = {
    "lookup": "jsonobject",
    "ownerlookup": "jsonobject",
    "subform": "jsonarray",
    "currency": "double",
    "double": "double",
    "integer": "integer",
    "boolean": "boolean",
}
DEFAULT_LENGTHS = {
    "text": 255,
    "email": 100,
    "phone": 30,
    "website": 255,
    "textarea": 32000,
    "picklist": 120,
    "currency": 16,
    "double": 16,
    "integer": 9,
    "lookup": 120,
    "ownerlookup": 120,
    "subform": 255,
    "boolean": 5,
    "date": 20,
    "datetime": 120,
}


@dataclass(frozen=True)
class FieldDef:
    api_name: str
    label: str
    data_type: str
    length: int = 0
    mandatory: bool = False
    unique: bool = False
    read_only: bool = False
    lookup: str = ""
    picklist: tuple[str, ...] = ()

    @property
    def max_length(self) -> int:
        return self.length or DEFAULT_LENGTHS.get(self.data_type, 255)


@dataclass(frozen=True)
class ModuleDef:
    api_name: str
    singular: str
    name_field: str
    fields: tuple[FieldDef, ...]
    duplicate_check: tuple[str, ...] = ()
    line_items: str = ""

    def field(self, api_name: str) -> FieldDef | None:
        return next((f for f in self.fields if f.api_name == api_name), None)


class _FieldOptions(TypedDict, total=False):
    """FieldDef's optional fields, as `_f` passes them on."""

    mandatory: bool
    unique: bool
    read_only: bool
    lookup: str
    picklist: tuple[str, ...]


class _Options(TypedDict, total=False):
    """What `_pick` and `_lookup` pass on to `_f`."""

    label: str
    mandatory: bool
    unique: bool
    read_only: bool


def _f(
    api_name: str,
    data_type: str = "text",
    length: int = 0,
    *,
    label: str | None = None,
    **options: Unpack[_FieldOptions],
) -> FieldDef:
    if label is None:
        label = api_name.replace("_", " ")
    return FieldDef(api_name, label, data_type, length, **options)


def _pick(api_name: str, *values: str, **options: Unpack[_Options]) -> FieldDef:
    return _f(api_name, "picklist", picklist=values, **options)


def _lookup(api_name: str, module: str, **options: Unpack[_Options]) -> FieldDef:
    return _f(api_name, "lookup", lookup=module, **options)


def _address(prefix: str, code_name: str = "Code") -> tuple[FieldDef, ...]:
    return (
        _f(f"{prefix}Street", length=250),
        _f(f"{prefix}City", length=30),
        _f(f"{prefix}State", length=30),
        _f(f"{prefix}{code_name}", length=30),
        _f(f"{prefix}Country", length=30),
    )


# Every module has these; Currency's picklist is filled in from the org.
SYSTEM_FIELDS = (
    _f("Owner", "ownerlookup"),
    _pick("Currency"),
    _f("Exchange_Rate", "double"),
    _f("Description", "textarea"),
    _f("Created_Time", "datetime", read_only=True),
    _f("Modified_Time", "datetime", read_only=True),
    _f("Created_By", "ownerlookup", read_only=True),
    _f("Modified_By", "ownerlookup", read_only=True),
)
READ_ONLY_SYSTEM = ("id", "Created_Time", "Modified_Time", "Created_By", "Modified_By")

# One line of Invoiced_Items / Quoted_Items / Ordered_Items / Purchased_Items.
LINE_ITEM_FIELDS = (
    _lookup("Product_Name", "Products", mandatory=True),
    _f("Quantity", "double", mandatory=True),
    _f("List_Price", "currency"),
    _f("Discount", "currency"),
    _f("Tax", "currency"),
    _f("Total", "currency", read_only=True),
    _f("Net_Total", "currency", read_only=True),
    _f("Description", "textarea", length=2000),
)

STATUS = ("Created", "Approved", "Delivered", "Cancelled")
LEAD_SOURCES = (
    "-None-", "Advertisement", "Cold Call", "Employee Referral", "External Referral",
    "Online Store", "Partner", "Public Relations", "Sales Email Alias", "Seminar Partner",
    "Internal Seminar", "Trade Show", "Web Download", "Web Research", "Chat",
)  # fmt: skip
INDUSTRIES = (
    "-None-", "ASP (Application Service Provider)", "Data/Telecom OEM",
    "ERP (Enterprise Resource Planning)", "Government/Military", "Large Enterprise",
    "ManagementISV", "MSP (Management Service Provider)", "Network Equipment Enterprise",
    "Non-management ISV", "Optical Networking", "Service Provider", "Small/Medium Enterprise",
    "Storage Equipment", "Storage Service Provider", "Systems Integrator", "Wireless Industry",
)  # fmt: skip
ACCOUNT_TYPES = (
    "-None-", "Analyst", "Competitor", "Customer", "Distributor", "Integrator", "Investor",
    "Other", "Partner", "Press", "Prospect", "Reseller", "Supplier", "Vendor",
)  # fmt: skip
STAGES = (
    "Qualification", "Needs Analysis", "Value Proposition", "Identify Decision Makers",
    "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost",
    "Closed Lost to Competition",
)  # fmt: skip
TOTALS = (
    _f("Sub_Total", "currency", read_only=True),
    _f("Discount", "currency"),
    _f("Tax", "currency"),
    _f("Adjustment", "currency"),
    _f("Grand_Total", "currency", read_only=True),
    _f("Terms_and_Conditions", "textarea"),
)


def _inventory(api_name: str, singular: str, line_items: str, *fields: FieldDef) -> ModuleDef:
    return ModuleDef(
        api_name,
        singular,
        "Subject",
        (
            _f("Subject", mandatory=True),
            *fields,
            _f(line_items, "subform", mandatory=True, label=line_items.replace("_", " ")),
            *TOTALS,
            *_address("Billing_"),
            *_address("Shipping_"),
        ),
        duplicate_check=("Subject",),
        line_items=line_items,
    )


# Custom fields an admin adds for ml-connector (README, "Zoho CRM"): the other system's id,
# unique so that writes can upsert on it, and when the record last synced.
LINKED_FIELDS = (
    _f("QBO_Id", length=50, unique=True, label="QuickBooks Id"),
    _f("QBO_Last_Synced", "datetime", label="QuickBooks Last Synced"),
    _f("QBD_Id", length=50, unique=True, label="QuickBooks Desktop Id"),
)

MODULES: dict[str, ModuleDef] = {
    module.api_name: module
    for module in (
        ModuleDef(
            "Accounts",
            "Account",
            "Account_Name",
            (
                _f("Account_Name", length=200, mandatory=True, unique=True),
                _f("Account_Number", length=40),
                _lookup("Parent_Account", "Accounts"),
                _f("Phone", "phone"),
                _f("Fax", "phone"),
                _f("Website", "website"),
                _pick("Account_Type", *ACCOUNT_TYPES),
                _pick("Industry", *INDUSTRIES),
                _f("Employees", "integer"),
                _f("Annual_Revenue", "currency"),
                *_address("Billing_"),
                *_address("Shipping_"),
                *LINKED_FIELDS,
                _f("QBO_Balance", "currency", label="QuickBooks Balance"),
                _f("QBO_Active", "boolean", label="Active in QuickBooks"),
                _f("QBD_Active", "boolean", label="Active in QuickBooks Desktop"),
            ),
            duplicate_check=("Account_Name",),
        ),
        ModuleDef(
            "Contacts",
            "Contact",
            "Full_Name",
            (
                _f("First_Name", length=40),
                _f("Last_Name", length=80, mandatory=True),
                _f("Full_Name", read_only=True),
                _f("Email", "email", unique=True),
                _f("Secondary_Email", "email"),
                _f("Phone", "phone"),
                _f("Mobile", "phone"),
                _lookup("Account_Name", "Accounts"),
                _lookup("Vendor_Name", "Vendors"),
                _f("Title", length=100),
                _f("Department", length=30),
                _pick("Lead_Source", *LEAD_SOURCES),
                _f("Date_of_Birth", "date"),
                _f("Email_Opt_Out", "boolean"),
                *_address("Mailing_", "Zip"),
                *LINKED_FIELDS,
            ),
            duplicate_check=("Email",),
        ),
        ModuleDef(
            "Vendors",
            "Vendor",
            "Vendor_Name",
            (
                _f("Vendor_Name", length=120, mandatory=True, unique=True),
                _f("Email", "email"),
                _f("Phone", "phone"),
                _f("Website", "website"),
                _f("Category", length=30),
                *_address("", "Zip_Code"),
                *LINKED_FIELDS,
                _f("QBO_Balance", "currency", label="QuickBooks Balance"),
            ),
            duplicate_check=("Vendor_Name",),
        ),
        ModuleDef(
            "Products",
            "Product",
            "Product_Name",
            (
                _f("Product_Name", length=120, mandatory=True, unique=True),
                _f("Product_Code", length=40),
                _f("Product_Active", "boolean"),
                _pick("Product_Category", "-None-", "Hardware", "Software", "CRM Applications"),
                _f("Unit_Price", "currency"),
                _f("Commission_Rate", "currency"),
                _f("Qty_in_Stock", "double"),
                _f("Taxable", "boolean"),
                _pick("Usage_Unit", "-None-", "Box", "Carton", "Dozen", "Each", "Hour(s)", "Pack"),
                _lookup("Vendor_Name", "Vendors"),
                _f("Description", "textarea"),
                *LINKED_FIELDS,
            ),
            duplicate_check=("Product_Name",),
        ),
        ModuleDef(
            "Deals",
            "Deal",
            "Deal_Name",
            (
                _f("Deal_Name", length=120, mandatory=True),
                _pick("Stage", *STAGES, mandatory=True),
                _f("Amount", "currency"),
                _f("Closing_Date", "date"),
                _f("Probability", "integer"),
                _pick("Type", "-None-", "Existing Business", "New Business"),
                _pick("Lead_Source", *LEAD_SOURCES),
                _f("Next_Step", length=100),
                _lookup("Account_Name", "Accounts"),
                _lookup("Contact_Name", "Contacts"),
                _f("QBD_Id", length=50, unique=True, label="QuickBooks Desktop Id"),
            ),
            duplicate_check=("Deal_Name",),
        ),
        _inventory(
            "Invoices",
            "Invoice",
            "Invoiced_Items",
            _lookup("Account_Name", "Accounts", mandatory=True),
            _lookup("Contact_Name", "Contacts"),
            _lookup("Deal_Name", "Deals"),
            _lookup("Sales_Order", "Sales_Orders"),
            _f("Invoice_Date", "date"),
            _f("Due_Date", "date"),
            _f("Purchase_Order", length=100),
            _pick("Status", *STATUS),
            *LINKED_FIELDS,
        ),
        _inventory(
            "Quotes",
            "Quote",
            "Quoted_Items",
            _lookup("Account_Name", "Accounts", mandatory=True),
            _lookup("Contact_Name", "Contacts"),
            _lookup("Deal_Name", "Deals"),
            _f("Valid_Till", "date"),
            _pick(
                "Quote_Stage",
                *("Draft", "Negotiation", "Delivered", "On Hold", "Confirmed"),
                *("Closed Won", "Closed Lost"),
            ),
            *LINKED_FIELDS,
        ),
        _inventory(
            "Sales_Orders",
            "Sales Order",
            "Ordered_Items",
            _lookup("Account_Name", "Accounts", mandatory=True),
            _lookup("Contact_Name", "Contacts"),
            _lookup("Deal_Name", "Deals"),
            _lookup("Quote_Name", "Quotes"),
            _f("Due_Date", "date"),
            _f("Purchase_Order", length=100),
            _pick("Status", *STATUS),
        ),
        _inventory(
            "Purchase_Orders",
            "Purchase Order",
            "Purchased_Items",
            _lookup("Vendor_Name", "Vendors", mandatory=True),
            _lookup("Contact_Name", "Contacts"),
            _f("PO_Date", "date"),
            _f("Due_Date", "date"),
            _f("PO_Number", length=100),
            _f("Tracking_Number", length=100),
            _pick("Status", *STATUS),
            *LINKED_FIELDS,
        ),
    )
}
LEGACY_LINE_ITEMS = "Product_Details"


def org_currencies(org: CrmOrg) -> list[str]:
    """The currencies records may carry: the home currency, plus the others when multi-currency
    is on."""
    extra = [c for c in org.currencies if c != org.currency] if org.multi_currency else []
    return [org.currency, *extra]


def module_names(org: CrmOrg) -> list[str]:
    """The modules this org's edition has (Vendors, and what cannot exist without it, may be
    missing)."""
    names = [name for name in MODULES if org.vendors_enabled or name != "Vendors"]
    return [
        name
        for name in names
        if all(f.lookup in names for f in MODULES[name].fields if f.lookup and f.mandatory)
    ]


def module_for(org: CrmOrg, api_name: str) -> ModuleDef | None:
    """The module as this org has it (subform name, currencies, lookups to modules that exist),
    or None when the org has no such module."""
    names = module_names(org)
    if api_name not in names:
        return None
    module = MODULES[api_name]
    subform = subform_name(org, module)
    fields = []
    for field in (*module.fields, *SYSTEM_FIELDS):
        if field.lookup and field.lookup not in names:
            continue
        if field.api_name == module.line_items:
            field = replace(field, api_name=subform, label=subform.replace("_", " "))
        elif field.api_name == "Currency":
            field = replace(field, picklist=tuple(org_currencies(org)))
        fields.append(field)
    return replace(module, fields=tuple(fields), line_items=subform)


def subform_name(org: CrmOrg, module: ModuleDef) -> str:
    if not module.line_items:
        return ""
    return LEGACY_LINE_ITEMS if org.line_items == CrmOrg.LineItems.LEGACY else module.line_items


def subform_module(org: CrmOrg, api_name: str) -> ModuleDef | None:
    """The line-item subform as a module of its own (`/settings/fields?module=Invoiced_Items`)."""
    for name in module_names(org):
        module = module_for(org, name)
        if module and module.line_items == api_name:
            return ModuleDef(api_name, api_name, "Product_Name", LINE_ITEM_FIELDS)
    return None


def metadata_id(org: CrmOrg, key: str) -> str:
    """A stable 19-digit id for a module or field of `org`, as Zoho's metadata carries."""
    return f"{org.id_prefix}{zlib.crc32(key.encode()) % 10**12:012d}"


def field_metadata(org: CrmOrg, module: ModuleDef, field: FieldDef) -> dict[str, object]:
    """One entry of `GET /settings/fields`."""
    entry: dict[str, object] = {
        "api_name": field.api_name,
        "field_label": field.label,
        "display_label": field.label,
        "data_type": field.data_type,
        "json_type": JSON_TYPES.get(field.data_type, "string"),
        "length": field.max_length,
        "system_mandatory": field.mandatory,
        "read_only": field.read_only,
        "custom_field": False,
        "visible": True,
        "unique": {"casesensitive": "false"} if field.unique else {},
        "id": metadata_id(org, f"{module.api_name}.{field.api_name}"),
        "lookup": {},
        "pick_list_values": [
            {"display_value": v, "actual_value": v, "id": metadata_id(org, f"{field.api_name}={v}")}
            for v in field.picklist
        ],
    }
    if field.lookup:
        entry["lookup"] = {
            "api_name": field.api_name,
            "display_label": field.label,
            "module": {"api_name": field.lookup, "id": metadata_id(org, field.lookup)},
        }
    if field.data_type == "subform":
        entry["associated_module"] = {
            "module": field.api_name,
            "id": metadata_id(org, field.api_name),
        }
    return entry


def module_metadata(org: CrmOrg, module: ModuleDef) -> dict[str, object]:
    """One entry of `GET /settings/modules`."""
    return {
        "api_name": module.api_name,
        "module_name": module.api_name,
        "singular_label": module.singular,
        "plural_label": module.api_name.replace("_", " "),
        "id": metadata_id(org, module.api_name),
        "api_supported": True,
        "generated_type": "default",
        "creatable": True,
        "editable": True,
        "deletable": True,
        "viewable": True,
        "visible": True,
        "modified_time": None,
    }
