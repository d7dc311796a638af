"""Which QBO entities the fake knows, and what each accepts, keeps, requires and lets you query.

Field lists follow Intuit's API reference as summarised in reference/qbo.md §3. They exist so the
fake rejects what QBO rejects: an unknown top-level property is error 2010, a missing required
one 2020, an over-long string 2050.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from connectors.sandbox.qbo import errors


class Kind(Enum):
    NAME_LIST = "name list"  # never deleted, only made inactive (Active=false)
    TRANSACTION = "transaction"  # hard-deleted (or voided)


# Present on every entity, rendered from the record's columns; ignored when a client sends them.
SYSTEM_FIELDS = frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse", "status"})

_PERSON = frozenset(
    {"Title", "GivenName", "MiddleName", "FamilyName", "Suffix", "DisplayName", "CompanyName"}
    | {"PrintOnCheckName", "Active", "PrimaryEmailAddr", "PrimaryPhone", "Mobile"}
    | {"AlternatePhone", "Fax", "WebAddr", "BillAddr", "Notes", "OtherContactInfo"}
    | {"BusinessNumber", "GSTIN", "GSTRegistrationType"}
)
_TXN = frozenset(
    {"DocNumber", "TxnDate", "PrivateNote", "Line", "ExchangeRate"}
    | {"TxnTaxDetail", "LinkedTxn", "DepartmentRef", "CustomField", "GlobalTaxCalculation"}
    | {"TransactionLocationType", "TxnSource", "DueDate", "SalesTermRef", "ClassRef"}
)
_SALES = _TXN | frozenset(
    {"CustomerRef", "BillEmail", "BillEmailCc", "BillEmailBcc", "BillAddr", "ShipAddr"}
    | {"ShipFromAddr", "ShipDate", "ShipMethodRef", "TrackingNum", "CustomerMemo"}
    | {"ApplyTaxAfterDiscount", "PrintStatus", "EmailStatus", "ProjectRef", "FreeFormAddress"}
    | {"TaxExemptionRef", "RecurDataRef"}
)
_PURCHASE = _TXN | frozenset({"VendorRef", "APAccountRef", "VendorAddr", "IncludeInAnnualTPAR"})

_NAME_LENGTHS = {
    "DisplayName": 500,
    "CompanyName": 100,
    "GivenName": 100,
    "MiddleName": 100,
    "FamilyName": 100,
    "Title": 16,
    "Suffix": 16,
    "PrintOnCheckName": 110,
    "Notes": 2000,
}
_TXN_LENGTHS = {"DocNumber": 21, "PrivateNote": 4000}
_COMMON_QUERY = frozenset({"Id", "SyncToken", "MetaData.CreateTime", "MetaData.LastUpdatedTime"})
_PERSON_QUERY = _COMMON_QUERY | frozenset(
    {"DisplayName", "GivenName", "MiddleName", "FamilyName", "CompanyName", "Title", "Suffix"}
    | {"PrimaryEmailAddr", "PrintOnCheckName", "Active", "Balance"}
)
_TXN_QUERY = _COMMON_QUERY | frozenset({"DocNumber", "TxnDate", "DueDate", "TotalAmt"})


@dataclass(frozen=True)
class EntitySpec:
    name: str
    kind: Kind
    writable: frozenset[str]
    # Computed by QBO: ignored on input, kept across a full update.
    read_only: frozenset[str]
    # Accepted on create only; an update keeps the stored value (QBO cannot change currency).
    create_only: frozenset[str]
    lengths: dict[str, int]
    queryable: frozenset[str]
    # The field that must be unique and the namespace it is unique in ("" = none).
    name_field: str = ""
    name_space: str = ""
    line_kind: str = ""  # "sales" | "purchase" | ""
    party_ref: str = ""  # CustomerRef | VendorRef
    voidable: bool = False
    auto_doc_number: bool = False

    @property
    def path(self) -> str:
        """The URL segment: `customer`, `purchaseorder` (Intuit's URIs are lowercase)."""
        return self.name.lower()

    @property
    def is_name_list(self) -> bool:
        return self.kind is Kind.NAME_LIST

    def accepted(self) -> frozenset[str]:
        return self.writable | self.read_only | self.create_only | SYSTEM_FIELDS


SPECS: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in (
        EntitySpec(
            name="Customer",
            kind=Kind.NAME_LIST,
            writable=_PERSON
            | {"ShipAddr", "Taxable", "Job", "ParentRef", "BillWithParent"}
            | {"PreferredDeliveryMethod", "DefaultTaxCodeRef", "SalesTermRef"}
            | {"PaymentMethodRef", "ResaleNum", "PrimaryTaxIdentifier", "ARAccountRef"}
            | {"SecondaryTaxIdentifier", "TaxExemptionReasonId", "CustomerTypeRef"}
            | {"IsProject", "Source", "OpenBalanceDate"},
            read_only=frozenset(
                {"Balance", "BalanceWithJobs", "FullyQualifiedName", "Level", "V4IDPseudonym"}
            ),
            create_only=frozenset({"CurrencyRef"}),
            lengths=_NAME_LENGTHS,
            queryable=_PERSON_QUERY | {"FullyQualifiedName", "Job", "ParentRef"},
            name_field="DisplayName",
            name_space="party",
        ),
        EntitySpec(
            name="Vendor",
            kind=Kind.NAME_LIST,
            writable=_PERSON
            | {"Vendor1099", "AcctNum", "TaxIdentifier", "TermRef", "BillRate", "APAccountRef"}
            | {"T4AEligible", "T5018Eligible", "CostRate", "HasTPAR", "TaxReportingBasis"}
            | {"VendorPaymentBankDetail", "Source"},
            read_only=frozenset({"Balance", "V4IDPseudonym"}),
            create_only=frozenset({"CurrencyRef"}),
            lengths=_NAME_LENGTHS,
            queryable=_PERSON_QUERY,
            name_field="DisplayName",
            name_space="party",
        ),
        EntitySpec(
            name="Item",
            kind=Kind.NAME_LIST,
            writable=frozenset(
                {"Name", "Sku", "Description", "Active", "SubItem", "ParentRef", "Type"}
                | {"UnitPrice", "RatePerUnit", "Taxable", "SalesTaxIncluded", "PurchaseDesc"}
                | {"PurchaseCost", "PurchaseTaxIncluded", "TrackQtyOnHand", "QtyOnHand"}
                | {"InvStartDate", "IncomeAccountRef", "ExpenseAccountRef", "AssetAccountRef"}
                | {"SalesTaxCodeRef", "PurchaseTaxCodeRef", "PrefVendorRef", "ReorderPoint"}
                | {"ClassRef", "ServiceType", "ItemCategoryType", "TaxClassificationRef"}
            ),
            read_only=frozenset({"FullyQualifiedName", "Level"}),
            create_only=frozenset(),
            lengths={"Name": 100, "Sku": 100, "Description": 4000, "PurchaseDesc": 1000},
            queryable=_COMMON_QUERY
            | {"Name", "Active", "Type", "Sku", "FullyQualifiedName", "Taxable", "ParentRef"},
            name_field="Name",
            name_space="item",
        ),
        EntitySpec(
            name="Invoice",
            kind=Kind.TRANSACTION,
            writable=_SALES
            | {"AllowIPNPayment", "AllowOnlinePayment", "AllowOnlineCreditCardPayment"}
            | {"AllowOnlineACHPayment", "Deposit", "DepositToAccountRef", "ARAccountRef"}
            | {"DeliveryInfo"},
            read_only=frozenset(
                {"TotalAmt", "Balance", "HomeBalance", "HomeTotalAmt", "InvoiceLink"}
            ),
            create_only=frozenset({"CurrencyRef"}),
            lengths=_TXN_LENGTHS,
            queryable=_TXN_QUERY | {"CustomerRef", "Balance"},
            line_kind="sales",
            party_ref="CustomerRef",
            voidable=True,
            auto_doc_number=True,
        ),
        EntitySpec(
            name="Estimate",
            kind=Kind.TRANSACTION,
            writable=_SALES | {"ExpirationDate", "AcceptedBy", "AcceptedDate", "TxnStatus"},
            read_only=frozenset({"TotalAmt"}),
            create_only=frozenset({"CurrencyRef"}),
            lengths=_TXN_LENGTHS,
            queryable=_TXN_QUERY | {"CustomerRef", "TxnStatus"},
            line_kind="sales",
            party_ref="CustomerRef",
            auto_doc_number=True,
        ),
        EntitySpec(
            name="Bill",
            kind=Kind.TRANSACTION,
            writable=_PURCHASE,
            read_only=frozenset({"TotalAmt", "Balance"}),
            create_only=frozenset({"CurrencyRef"}),
            lengths=_TXN_LENGTHS,
            queryable=_TXN_QUERY | {"VendorRef", "Balance"},
            line_kind="purchase",
            party_ref="VendorRef",
        ),
        EntitySpec(
            name="PurchaseOrder",
            kind=Kind.TRANSACTION,
            writable=_PURCHASE
            | {"ShipTo", "ShipAddr", "ShipMethodRef", "POStatus", "POEmail", "EmailStatus"}
            | {"Memo", "PrintStatus", "CustomerRef"},
            read_only=frozenset({"TotalAmt"}),
            create_only=frozenset({"CurrencyRef"}),
            lengths=_TXN_LENGTHS,
            queryable=_TXN_QUERY | {"VendorRef", "POStatus"},
            line_kind="purchase",
            party_ref="VendorRef",
            auto_doc_number=True,
        ),
    )
}
_BY_PATH = {spec.path: spec for spec in SPECS.values()}


def spec_for(entity: str) -> EntitySpec:
    """The spec of an entity by its exact name (`Customer`)."""
    try:
        return SPECS[entity]
    except KeyError:
        raise errors.unsupported_operation(
            f"Operation entity {entity} is not supported by the sandbox."
        ) from None


def spec_for_path(segment: str) -> EntitySpec:
    """The spec behind a URL segment (`customer`); Intuit's answer to an unknown resource."""
    try:
        return _BY_PATH[segment]
    except KeyError:
        raise errors.unsupported_operation(
            "Operation No resource method found for this request, return 405 with Allow header "
            "is not supported."
        ) from None


def query_property(spec: EntitySpec, written: str) -> str:
    """The canonical property a query names (`metadata.lastupdatedtime` ->
    `MetaData.LastUpdatedTime`); property names are case-insensitive, entity names are not."""
    for known in spec.queryable:
        if known.lower() == written.lower():
            return known
    raise errors.query_invalid(f"property '{written}' is not queryable for {spec.name}")
