"""qbXML 13.0 for the Web Connector: the request messages we send QuickBooks Desktop, built with
lxml so names like "AT&T" are escaped, and the responses it sends back, parsed without trusting
them. Pure functions: no Django, no database.

Reference: Intuit qbXML 13.0 schema, qbxmlops130.xsd (element order is the schema's sequences);
reference/qbwc.md §4.1-4.7
"""

from __future__ import annotations

import copy
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from lxml import etree

QBXML_VERSION = "13.0"
MAX_RESPONSE_BYTES = 20 * 1024 * 1024

ON_ERROR = frozenset({"stopOnError", "continueOnError", "rollbackOnError"})
REQUEST_ID_MAX = 50  # QuickBooks answers a longer requestID with status 1060

# The schema's enumerations, space-separated (SIM905 would want one name a line).
LIST_DEL_TYPES = frozenset(
    "Account BillingRate Class Currency Customer CustomerMsg CustomerType DateDrivenTerms "  # noqa: SIM905
    "Employee InventorySite ItemDiscount ItemFixedAsset ItemGroup ItemInventory "
    "ItemInventoryAssembly ItemNonInventory ItemOtherCharge ItemPayment ItemSalesTax "
    "ItemSalesTaxGroup ItemService ItemSubtotal JobType OtherName PaymentMethod PayrollItemNonWage "
    "PayrollItemWage PriceLevel SalesRep SalesTaxCode ShipMethod StandardTerms ToDo "
    "UnitOfMeasureSet Vehicle Vendor VendorType WorkersCompCode".split()
)
TXN_DEL_TYPES = frozenset(
    "ARRefundCreditCard Bill BillPaymentCheck BillPaymentCreditCard BuildAssembly Charge Check "  # noqa: SIM905
    "CreditCardCharge CreditCardCredit CreditMemo Deposit Estimate InventoryAdjustment Invoice "
    "ItemReceipt JournalEntry PurchaseOrder ReceivePayment SalesOrder SalesReceipt "
    "SalesTaxPaymentCheck TimeTracking TransferInventory VehicleMileage VendorCredit".split()
)

REPEATED_TAGS = frozenset(
    "AdditionalContactRef AdditionalNotesRet AppliedToTxnRet AssignToObject BillingRatePerItemRet "  # noqa: SIM905
    "ComponentItemLineRet ContactsRet CreditMemoLineGroupRet CreditMemoLineRet DataExtRet "
    "DefaultUnit DepositLineRet Earnings EstimateLineGroupRet EstimateLineRet ExpenseLineRet "
    "InventoryAdjustmentLineRet InvoiceLineGroupRet InvoiceLineRet ItemGroupLine ItemGroupLineRet "
    "ItemInventoryAssemblyLine ItemLineRet JournalCreditLine JournalDebitLine LeadContactsRet "
    "LinkedTxn LocationsRet PrefillAccountRef PriceLevelPerItemRet PurchaseOrderLineGroupRet "
    "PurchaseOrderLineRet RateHistory RefundAppliedToTxnRet RelatedUnit SalesOrderLineGroupRet "
    "SalesOrderLineRet SalesReceiptLineGroupRet SalesReceiptLineRet SalesTaxPayableLineRet "
    "SalesTaxPaymentCheckLineRet Service ShipToAddress SupportedQBXMLVersion "
    "TransferInventoryLineRet TxnLineDetail".split()
)
"""Children that may occur more than once inside a *Ret, taken from qbxmlops130.xsd: ret_dict
always gives these as lists, so one invoice line still comes back as a one-item list.
ItemSalesTaxRef is left out: it repeats only in ItemSalesTaxGroupRet and is single elsewhere."""

_TRANSLITERATIONS = {
    "\N{LATIN SMALL LETTER L WITH STROKE}": "l",
    "\N{LATIN CAPITAL LETTER L WITH STROKE}": "L",
    "\N{LATIN SMALL LETTER D WITH STROKE}": "d",
    "\N{LATIN CAPITAL LETTER D WITH STROKE}": "D",
    "\N{LATIN SMALL LETTER H WITH STROKE}": "h",
    "\N{LATIN CAPITAL LETTER H WITH STROKE}": "H",
    "\N{LATIN SMALL LETTER DOTLESS I}": "i",
    "\N{LATIN SMALL LIGATURE OE}": "oe",
    "\N{LATIN CAPITAL LIGATURE OE}": "OE",
    "\N{EURO SIGN}": "EUR",
    "\N{HYPHEN}": "-",
    "\N{NON-BREAKING HYPHEN}": "-",
    "\N{FIGURE DASH}": "-",
    "\N{EN DASH}": "-",
    "\N{EM DASH}": "-",
    "\N{MINUS SIGN}": "-",
    "\N{LEFT SINGLE QUOTATION MARK}": "'",
    "\N{RIGHT SINGLE QUOTATION MARK}": "'",
    "\N{SINGLE LOW-9 QUOTATION MARK}": "'",
    "\N{SINGLE HIGH-REVERSED-9 QUOTATION MARK}": "'",
    "\N{LEFT DOUBLE QUOTATION MARK}": '"',
    "\N{RIGHT DOUBLE QUOTATION MARK}": '"',
    "\N{DOUBLE LOW-9 QUOTATION MARK}": '"',
    "\N{BULLET}": "*",
}


class QbxmlRefused(ValueError):
    """Hostile or malformed qbXML: a DTD or entity, too large, not XML, or not a QBXML response."""


def latin1(text: str) -> tuple[str, bool]:
    """Text QuickBooks Desktop can store (ISO-8859-1 only) and whether anything had to change.

    Characters outside Latin-1 are transliterated ("ł" -> "l", "€" -> "EUR", accents dropped);
    what has no Latin-1 spelling, and control characters XML cannot carry, become "?".
    """
    composed = unicodedata.normalize("NFC", text)
    safe = "".join(_latin1_char(char) for char in composed)
    return safe, safe != composed


def _latin1_char(char: str) -> str:
    code = ord(char)
    if code < 0x20 and char not in "\t\n\r":
        return "?"
    if code < 0x100:
        return char
    if char in _TRANSLITERATIONS:
        return _TRANSLITERATIONS[char]
    if unicodedata.combining(char):
        return ""
    plain = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return plain if plain and all(ord(c) < 0x100 for c in plain) else "?"


def request_message(
    requests: Sequence[etree._Element], *, on_error: str = "continueOnError"
) -> str:
    """The qbXML message set sendRequestXML returns: the requests (copied, so the caller's stay
    untouched) inside QBXML/QBXMLMsgsRq, with every text made Latin-1 safe."""
    if on_error not in ON_ERROR:
        raise ValueError(f"onError must be one of {sorted(ON_ERROR)}, not {on_error!r}")
    if not requests:
        raise ValueError("a qbXML message set needs at least one request")
    root = etree.Element("QBXML")
    message_set = etree.SubElement(root, "QBXMLMsgsRq", onError=on_error)
    for request in requests:
        message_set.append(copy.deepcopy(request))
    for element in message_set.iter(etree.Element):
        if element.text:
            element.text = latin1(element.text)[0]
        if element.tail:
            element.tail = latin1(element.tail)[0]
        for name, value in element.attrib.items():
            element.set(name, latin1(value)[0])
    body = etree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="{QBXML_VERSION}"?>\n{body}'


def customer_query(
    request_id: str, *, from_modified: datetime | None, max_returned: int, iterator_id: str = ""
) -> etree._Element:
    """CustomerQueryRq for an incremental read: active and inactive customers (an inactivated one
    would otherwise vanish), changed since from_modified, in iterator chunks, with custom fields."""
    return _list_query("CustomerQueryRq", request_id, from_modified, max_returned, iterator_id)


def customers_by_id(request_id: str, list_ids: Sequence[str]) -> etree._Element:
    """CustomerQueryRq for the customers named by ListID, as QuickBooks holds them now (their
    current EditSequence, after a CustomerModRq found its own stale)."""
    if not list_ids:
        raise ValueError("a query by ListID needs at least one ListID")
    request = _request("CustomerQueryRq", request_id)
    for list_id in list_ids:
        _leaf(request, "ListID", list_id)
    _leaf(request, "OwnerID", "0")
    return request


def item_query(
    request_id: str, *, from_modified: datetime | None, max_returned: int, iterator_id: str = ""
) -> etree._Element:
    """ItemQueryRq like customer_query; the answer mixes ItemServiceRet, ItemInventoryRet and
    the other item kinds, told apart by their tag."""
    return _list_query("ItemQueryRq", request_id, from_modified, max_returned, iterator_id)


def invoice_query(
    request_id: str, *, from_modified: datetime | None, max_returned: int, iterator_id: str = ""
) -> etree._Element:
    """InvoiceQueryRq with its lines (QuickBooks leaves them out unless asked); for transactions
    the modified date sits inside ModifiedDateRangeFilter."""
    request = _iterated(_request("InvoiceQueryRq", request_id), iterator_id)
    _leaf(request, "MaxReturned", _max_returned(max_returned))
    if from_modified is not None:
        dates = etree.SubElement(request, "ModifiedDateRangeFilter")
        _leaf(dates, "FromModifiedDate", _timestamp(from_modified))
    _leaf(request, "IncludeLineItems", "true")
    _leaf(request, "OwnerID", "0")
    return request


def list_deleted_query(
    request_id: str, types: Sequence[str], *, from_deleted: datetime | None
) -> etree._Element:
    """ListDeletedQueryRq for list records (ListDelType, e.g. "Customer") deleted since
    from_deleted. The schema gives deletion queries no iterator and no MaxReturned."""
    return _deleted_query(
        "ListDeletedQueryRq", "ListDelType", LIST_DEL_TYPES, request_id, types, from_deleted
    )


def txn_deleted_query(
    request_id: str, types: Sequence[str], *, from_deleted: datetime | None
) -> etree._Element:
    """TxnDeletedQueryRq for transactions (TxnDelType, e.g. "Invoice") deleted since
    from_deleted."""
    return _deleted_query(
        "TxnDeletedQueryRq", "TxnDelType", TXN_DEL_TYPES, request_id, types, from_deleted
    )


def customer_add(request_id: str, fields: Mapping[str, Any]) -> etree._Element:
    """CustomerAddRq from fields named as in qbXML (see CUSTOMER_FIELDS), written in the order
    the schema's CustomerAdd sequence demands. None and empty values are left out."""
    if not fields.get("Name"):
        raise ValueError("CustomerAdd needs a Name")
    request = _request("CustomerAddRq", request_id)
    _customer_fields(etree.SubElement(request, "CustomerAdd"), fields, clearing=False)
    return request


def customer_mod(
    request_id: str, list_id: str, edit_sequence: str, fields: Mapping[str, Any]
) -> etree._Element:
    """CustomerModRq changing only the fields given; an empty string clears a field, None leaves
    it alone. A stale edit_sequence earns status 3200."""
    request = _request("CustomerModRq", request_id)
    mod = etree.SubElement(request, "CustomerMod")
    _leaf(mod, "ListID", list_id)
    _leaf(mod, "EditSequence", edit_sequence)
    _customer_fields(mod, fields, clearing=True)
    return request


def _request(tag: str, request_id: str) -> etree._Element:
    if len(request_id) > REQUEST_ID_MAX:
        raise ValueError(f"requestID is limited to {REQUEST_ID_MAX} characters: {request_id!r}")
    return etree.Element(tag, requestID=request_id)


def _iterated(request: etree._Element, iterator_id: str) -> etree._Element:
    if iterator_id:
        request.set("iterator", "Continue")
        request.set("iteratorID", iterator_id)
    else:
        request.set("iterator", "Start")
    return request


def _list_query(
    tag: str,
    request_id: str,
    from_modified: datetime | None,
    max_returned: int,
    iterator_id: str,
) -> etree._Element:
    request = _iterated(_request(tag, request_id), iterator_id)
    _leaf(request, "MaxReturned", _max_returned(max_returned))
    _leaf(request, "ActiveStatus", "All")
    if from_modified is not None:
        _leaf(request, "FromModifiedDate", _timestamp(from_modified))
    _leaf(request, "OwnerID", "0")
    return request


def _deleted_query(
    tag: str,
    type_tag: str,
    known: frozenset[str],
    request_id: str,
    types: Sequence[str],
    from_deleted: datetime | None,
) -> etree._Element:
    if not types:
        raise ValueError(f"{tag} needs at least one {type_tag}")
    unknown = sorted(set(types) - known)
    if unknown:
        raise ValueError(f"not a {type_tag}: {', '.join(unknown)}")
    request = _request(tag, request_id)
    for kind in types:
        _leaf(request, type_tag, kind)
    if from_deleted is not None:
        dates = etree.SubElement(request, "DeletedDateRangeFilter")
        _leaf(dates, "FromDeletedDate", _timestamp(from_deleted))
    return request


def _leaf(parent: etree._Element, tag: str, text: str) -> etree._Element:
    element = etree.SubElement(parent, tag)
    element.text = latin1(text)[0]
    return element


def _timestamp(moment: datetime) -> str:
    """QuickBooks reads a date without an offset as its own machine's local time."""
    if moment.utcoffset() is None:
        raise ValueError(f"a qbXML date needs a UTC offset: {moment!r}")
    return moment.isoformat(timespec="seconds")


def _max_returned(count: int) -> str:
    if count < 1:
        raise ValueError(f"MaxReturned must be at least 1, not {count}")
    return str(count)


_Writer = Callable[[etree._Element, str, Any, bool], None]


def _text(parent: etree._Element, tag: str, value: Any, clearing: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError(f"{tag} must be text, not {type(value).__name__}")
    if value != "" or clearing:
        _leaf(parent, tag, str(value))


def _boolean(parent: etree._Element, tag: str, value: Any, clearing: bool) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{tag} must be True or False, not {value!r}")
    _leaf(parent, tag, "true" if value else "false")


def _aggregate(*keys: str) -> _Writer:
    def write(parent: etree._Element, tag: str, value: Any, clearing: bool) -> None:
        if not isinstance(value, Mapping):
            raise ValueError(f"{tag} must be a mapping of {', '.join(keys)}")
        unknown = sorted(set(value) - set(keys))
        if unknown:
            raise ValueError(f"not a {tag} field: {', '.join(unknown)}")
        element = etree.Element(tag)
        for key in keys:
            if value.get(key) is not None:
                _text(element, key, value[key], clearing)
        if len(element):
            parent.append(element)

    return write


_address = _aggregate(
    "Addr1", "Addr2", "Addr3", "Addr4", "Addr5", "City", "State", "PostalCode", "Country", "Note"
)
_reference = _aggregate("ListID", "FullName")

CUSTOMER_FIELDS: dict[str, _Writer] = {
    "Name": _text,
    "IsActive": _boolean,
    "ClassRef": _reference,
    "ParentRef": _reference,
    "CompanyName": _text,
    "Salutation": _text,
    "FirstName": _text,
    "MiddleName": _text,
    "LastName": _text,
    "Suffix": _text,
    "JobTitle": _text,
    "BillAddress": _address,
    "ShipAddress": _address,
    "PrintAs": _text,
    "Phone": _text,
    "Mobile": _text,
    "Pager": _text,
    "AltPhone": _text,
    "Fax": _text,
    "Email": _text,
    "Cc": _text,
    "Contact": _text,
    "AltContact": _text,
    "CustomerTypeRef": _reference,
    "TermsRef": _reference,
    "SalesRepRef": _reference,
    "SalesTaxCodeRef": _reference,
    "ItemSalesTaxRef": _reference,
    "ResaleNumber": _text,
    "AccountNumber": _text,
    "JobDesc": _text,
    "Notes": _text,
    "PriceLevelRef": _reference,
    "TaxRegistrationNumber": _text,
    "CurrencyRef": _reference,
}
"""The CustomerAdd / CustomerMod fields we write, in the schema's order (the two sequences agree
on these; OpenBalance and ExternalGUID, which only CustomerAdd has, are left out)."""


def _customer_fields(parent: etree._Element, fields: Mapping[str, Any], *, clearing: bool) -> None:
    unknown = sorted(set(fields) - set(CUSTOMER_FIELDS))
    if unknown:
        raise ValueError(f"not a {parent.tag} field: {', '.join(unknown)}")
    for tag, write in CUSTOMER_FIELDS.items():
        if fields.get(tag) is not None:
            write(parent, tag, fields[tag], clearing)


@dataclass(frozen=True)
class Response:
    """One *Rs of a response message set: QuickBooks' status for one request and its records.
    Status 1 ("no match") is an empty answer, not a failure."""

    request_id: str
    name: str
    status_code: int
    severity: str
    message: str
    records: list[dict[str, Any]]
    iterator_id: str = ""
    remaining: int | None = None
    ret_count: int | None = None


def responses_parse(xml: str | bytes) -> list[Response]:
    """The *Rs elements of a qbXML response, in document order, each with its *Ret records."""
    return [_response(element) for element in _message_set(xml).iterchildren(etree.Element)]


def ret_dict(element: etree._Element) -> dict[str, Any]:
    """A *Ret element as a dict: leaves as text, nested aggregates (CustomerRef, BillAddress) as
    dicts, REPEATED_TAGS as lists; the Ret's own tag under "_type"."""
    return {"_type": element.tag, **_children(element)}


def company_file_id(hcp_response: str, owner_id: str) -> str | None:
    """The FileID the Web Connector stored on the company under our OwnerID, from the first
    sendRequestXML's strHCPResponse: it tells us which company file we are talking to."""
    wanted = _guid(owner_id)
    for response in responses_parse(hcp_response):
        for record in response.records:
            if record["_type"] != "CompanyRet":
                continue
            for extension in record.get("DataExtRet", []):
                if (
                    isinstance(extension, dict)
                    and extension.get("DataExtName") == "FileID"
                    and _guid(extension.get("OwnerID", "")) == wanted
                ):
                    return str(extension.get("DataExtValue", "")).strip() or None
    return None


def host_versions(hcp_response: str) -> list[str]:
    """The qbXML versions the QuickBooks behind this session supports (HostRet)."""
    for response in responses_parse(hcp_response):
        for record in response.records:
            if record["_type"] == "HostRet":
                versions = record.get("SupportedQBXMLVersion", [])
                return [version.strip() for version in versions if isinstance(version, str)]
    return []


def _message_set(xml: str | bytes) -> etree._Element:
    """QBXMLMsgsRs, refusing what could make the parser read files, expand entities or exhaust
    memory: anything with a DTD is refused before parsing, and again after (for encodings a
    byte search cannot see)."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    if len(data) > MAX_RESPONSE_BYTES:
        raise QbxmlRefused(f"a qbXML response over {MAX_RESPONSE_BYTES} bytes is refused")
    data = data.lstrip()
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise QbxmlRefused("a qbXML response with a DOCTYPE or entity declaration is refused")
    parser = etree.XMLParser(
        encoding="utf-8" if isinstance(xml, str) else None,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError) as error:
        raise QbxmlRefused(f"not well-formed XML: {error}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise QbxmlRefused("a qbXML response with a DOCTYPE is refused")
    message_set = root.find("QBXMLMsgsRs") if root.tag == "QBXML" else None
    if message_set is None:
        raise QbxmlRefused(f"not a qbXML response: root {root.tag!r} holds no QBXMLMsgsRs")
    return message_set


def _response(element: etree._Element) -> Response:
    status_code = _count(element, "statusCode")
    if status_code is None:
        raise QbxmlRefused(f"{element.tag} has no statusCode")
    return Response(
        request_id=element.get("requestID", ""),
        name=element.tag,
        status_code=status_code,
        severity=element.get("statusSeverity", ""),
        message=element.get("statusMessage", ""),
        records=[
            ret_dict(child)
            for child in element.iterchildren(etree.Element)
            if child.tag.endswith("Ret")
        ],
        iterator_id=element.get("iteratorID", ""),
        remaining=_count(element, "iteratorRemainingCount"),
        ret_count=_count(element, "retCount"),
    )


def _count(element: etree._Element, attribute: str) -> int | None:
    value = element.get(attribute)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise QbxmlRefused(f"{element.tag} {attribute} is not an integer: {value!r}") from None


def _children(element: etree._Element) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for child in element.iterchildren(etree.Element):
        has_children = next(child.iterchildren(etree.Element), None) is not None
        value = _children(child) if has_children else (child.text or "")
        if child.tag in REPEATED_TAGS:
            fields.setdefault(child.tag, []).append(value)
        elif child.tag not in fields:
            fields[child.tag] = value
        elif isinstance(fields[child.tag], list):
            fields[child.tag].append(value)
        else:
            # A repeat REPEATED_TAGS does not list (ItemSalesTaxRef in a tax group): keep both.
            fields[child.tag] = [fields[child.tag], value]
    return fields


def _guid(text: str) -> str:
    return text.strip().strip("{}").lower()
