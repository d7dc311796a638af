"""The kinds of record the fake keeps and the element order of their Ret aggregates, copied from
the qbXML 13.0 schema (qbxml130.xsd): QuickBooks answers in schema order, and a product that
validates what it receives must see the same."""

from __future__ import annotations

from dataclasses import dataclass

LIST_CORE = ("ListID", "TimeCreated", "TimeModified", "EditSequence")
TXN_CORE = ("TxnID", "TimeCreated", "TimeModified", "EditSequence", "TxnNumber")
ADDRESS = (
    *("Addr1", "Addr2", "Addr3", "Addr4", "Addr5"),
    *("City", "State", "PostalCode", "Country", "Note"),
)
REF = ("ListID", "FullName")
PERSON_NAME = ("Salutation", "FirstName", "MiddleName", "LastName", "Suffix")
COMM_INFO = ("Phone", "Mobile", "Pager", "AltPhone", "Fax", "Email", "Cc", "Contact", "AltContact")

CUSTOMER_RET = (
    *LIST_CORE,
    *("Name", "FullName", "IsActive", "ClassRef", "ParentRef", "Sublevel", "CompanyName"),
    *PERSON_NAME,
    *("JobTitle", "BillAddress", "BillAddressBlock", "ShipAddress", "ShipAddressBlock"),
    *("ShipToAddress", "PrintAs"),
    *COMM_INFO,
    *("AdditionalContactRef", "ContactsRet", "CustomerTypeRef", "TermsRef", "SalesRepRef"),
    *("Balance", "TotalBalance", "SalesTaxCodeRef", "ItemSalesTaxRef", "SalesTaxCountry"),
    *("ResaleNumber", "AccountNumber", "CreditLimit", "PreferredPaymentMethodRef"),
    *("CreditCardInfo", "JobStatus", "JobStartDate", "JobProjectedEndDate", "JobEndDate"),
    *("JobDesc", "JobTypeRef", "Notes", "AdditionalNotesRet", "IsStatementWithParent"),
    *("DeliveryMethod", "PreferredDeliveryMethod", "PriceLevelRef", "ExternalGUID"),
    *("TaxRegistrationNumber", "CurrencyRef", "DataExtRet"),
)
_ITEM_HEAD = (*LIST_CORE, "Name", "FullName", "BarCodeValue", "IsActive", "ClassRef", "ParentRef")
_SALES = ("SalesOrPurchase", "SalesAndPurchase")
ITEM_SERVICE_RET = (
    *_ITEM_HEAD,
    *("Sublevel", "UnitOfMeasureSetRef", "IsTaxIncluded", "SalesTaxCodeRef"),
    *_SALES,
    *("ExternalGUID", "DataExtRet"),
)
ITEM_NON_INVENTORY_RET = (
    *_ITEM_HEAD,
    *("Sublevel", "ManufacturerPartNumber", "UnitOfMeasureSetRef", "IsTaxIncluded"),
    *("SalesTaxCodeRef", *_SALES, "ExternalGUID", "DataExtRet"),
)
ITEM_INVENTORY_RET = (
    *_ITEM_HEAD,
    *("Sublevel", "ManufacturerPartNumber", "UnitOfMeasureSetRef", "IsTaxIncluded"),
    *("SalesTaxCodeRef", "SalesDesc", "SalesPrice", "IncomeAccountRef", "PurchaseDesc"),
    *("PurchaseCost", "PurchaseTaxCodeRef", "COGSAccountRef", "PrefVendorRef"),
    *("AssetAccountRef", "ReorderPoint", "Max", "QuantityOnHand", "AverageCost"),
    *("QuantityOnOrder", "QuantityOnSalesOrder", "ExternalGUID", "DataExtRet"),
)
ITEM_OTHER_CHARGE_RET = (
    *_ITEM_HEAD,
    *("Sublevel", "IsTaxIncluded", "SalesTaxCodeRef", *_SALES, "SpecialItemType"),
    *("ExternalGUID", "DataExtRet"),
)
ITEM_DISCOUNT_RET = (
    *_ITEM_HEAD,
    *("Sublevel", "ItemDesc", "SalesTaxCodeRef", "DiscountRate", "DiscountRatePercent"),
    *("AccountRef", "ExternalGUID", "DataExtRet"),
)
INVOICE_RET = (
    *TXN_CORE,
    *("CustomerRef", "ClassRef", "ARAccountRef", "TemplateRef", "TxnDate", "RefNumber"),
    *("BillAddress", "BillAddressBlock", "ShipAddress", "ShipAddressBlock", "IsPending"),
    *("IsFinanceCharge", "PONumber", "TermsRef", "DueDate", "SalesRepRef", "FOB", "ShipDate"),
    *("ShipMethodRef", "Subtotal", "ItemSalesTaxRef", "SalesTaxPercentage", "SalesTaxTotal"),
    *("AppliedAmount", "BalanceRemaining", "CurrencyRef", "ExchangeRate"),
    *("BalanceRemainingInHomeCurrency", "Memo", "IsPaid", "CustomerMsgRef", "IsToBePrinted"),
    *("IsToBeEmailed", "IsTaxIncluded", "CustomerSalesTaxCodeRef", "SuggestedDiscountAmount"),
    *("SuggestedDiscountDate", "Other", "ExternalGUID", "LinkedTxn", "InvoiceLineRet"),
    *("DiscountLineRet", "SalesTaxLineRet", "ShippingLineRet", "DataExtRet"),
)

# The order inside nested aggregates; any *Ref not listed is (ListID, FullName).
NESTED = {
    "BillAddress": ADDRESS,
    "ShipAddress": ADDRESS,
    "BillAddressBlock": ADDRESS[:5],
    "ShipAddressBlock": ADDRESS[:5],
    "ShipToAddress": ("Name", *ADDRESS, "DefaultShipTo"),
    "SalesOrPurchase": ("Desc", "Price", "PricePercent", "AccountRef"),
    "SalesAndPurchase": (
        *("SalesDesc", "SalesPrice", "IncomeAccountRef", "PurchaseDesc", "PurchaseCost"),
        *("PurchaseTaxCodeRef", "ExpenseAccountRef", "PrefVendorRef"),
    ),
    "InvoiceLineRet": (
        *("TxnLineID", "ItemRef", "Desc", "Quantity", "UnitOfMeasure", "OverrideUOMSetRef"),
        *("Rate", "RatePercent", "ClassRef", "Amount", "TaxAmount", "InventorySiteRef"),
        *("InventorySiteLocationRef", "SerialNumber", "LotNumber", "ServiceDate"),
        *("SalesTaxCodeRef", "IsTaxable", "Other1", "Other2", "DataExtRet"),
    ),
    "DataExtRet": ("OwnerID", "DataExtName", "DataExtType", "DataExtValue"),
}

# Field lengths QuickBooks enforces on customer writes (the schema's maxLength facets).
CUSTOMER_LIMITS = {
    "Name": 41,
    "CompanyName": 41,
    "Salutation": 15,
    "FirstName": 25,
    "MiddleName": 5,
    "LastName": 25,
    "JobTitle": 41,
    "PrintAs": 41,
    "Phone": 21,
    "Mobile": 21,
    "Pager": 21,
    "AltPhone": 21,
    "Fax": 21,
    "Email": 1023,
    "Cc": 1023,
    "Contact": 41,
    "AltContact": 41,
    "AccountNumber": 99,
    "Notes": 4095,
}
ADDRESS_LIMITS = {
    **dict.fromkeys(("Addr1", "Addr2", "Addr3", "Addr4", "Addr5", "Note"), 41),
    "City": 31,
    "State": 21,
    "PostalCode": 13,
    "Country": 31,
}


@dataclass(frozen=True)
class Kind:
    """One kind of record: its Ret tag and order, and whether it is a list or a transaction.
    `name_space` groups the kinds whose names must differ (all items share one)."""

    name: str
    ret_order: tuple[str, ...]
    is_list: bool = True
    name_space: str = ""

    @property
    def ret_tag(self) -> str:
        return self.name + "Ret"

    @property
    def id_tag(self) -> str:
        return "ListID" if self.is_list else "TxnID"


KINDS = {
    kind.name: kind
    for kind in (
        Kind("Customer", CUSTOMER_RET, name_space="Name"),
        Kind("ItemService", ITEM_SERVICE_RET, name_space="Item"),
        Kind("ItemNonInventory", ITEM_NON_INVENTORY_RET, name_space="Item"),
        Kind("ItemInventory", ITEM_INVENTORY_RET, name_space="Item"),
        Kind("ItemOtherCharge", ITEM_OTHER_CHARGE_RET, name_space="Item"),
        Kind("ItemDiscount", ITEM_DISCOUNT_RET, name_space="Item"),
        Kind("Invoice", INVOICE_RET, is_list=False),
    )
}
ITEM_KINDS = tuple(name for name, kind in KINDS.items() if kind.name_space == "Item")
# What each query answers with.
QUERY_KINDS = {
    "CustomerQueryRq": ("Customer",),
    "ItemQueryRq": ITEM_KINDS,
    "InvoiceQueryRq": ("Invoice",),
}


def kind_get(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"The sandbox keeps no {name!r} records; kinds: {sorted(KINDS)}") from None


def name_space_kinds(kind: Kind) -> tuple[str, ...]:
    return tuple(name for name, other in KINDS.items() if other.name_space == kind.name_space)
