"""Building an entity's stored document from what a client sent: QBO's write rules.

Pure functions over dicts; the database is reached only through `WriteContext` (references to
other records, per-company counters), which the services provide.
"""

from __future__ import annotations

import re
import secrets
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol

from connectors.sandbox.qbo import errors
from connectors.sandbox.qbo.entities import EntitySpec
from connectors.sandbox.qbo.timefmt import today_pacific

CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "CAD": "Canadian Dollar",
    "GBP": "British Pound Sterling",
    "EUR": "Euro",
    "AUD": "Australian Dollar",
    "INR": "Indian Rupee",
}
NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
ADDRESS_FIELDS = ("BillAddr", "ShipAddr", "VendorAddr", "ShipFromAddr")
EMAIL_FIELDS = ("PrimaryEmailAddr", "BillEmail")
SALES_LINES = ("SalesItemLineDetail", "GroupLineDetail", "DescriptionOnly", "DiscountLineDetail")
PURCHASE_LINES = ("AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail")
_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")
CENT = Decimal("0.01")

Doc = dict[str, Any]


class WriteContext(Protocol):
    currency: str

    def next_value(self, name: str) -> int:
        """The next number of a per-company sequence (address Ids, DocNumbers)."""
        ...

    def referenced(self, entity: str, ref_id: str) -> Doc:
        """The rendered record a reference points at; 2500 if unknown, 610 if inactive."""
        ...


def document_build(
    spec: EntitySpec, ctx: WriteContext, incoming: Doc, previous: Doc | None, *, sparse: bool
) -> Doc:
    """The document to store for a create (`previous` None), a sparse or a full update.

    A full update keeps only computed fields: every writable field it omits is cleared, as
    QBO clears it. An explicit `null` clears a field in both kinds of update.
    """
    unknown = sorted(set(incoming) - spec.accepted())
    if unknown:
        raise errors.invalid_property(
            f"Property Name:{unknown[0]} specified is unsupported or invalid", element=unknown[0]
        )
    changes = {key: value for key, value in incoming.items() if key in spec.writable}
    if previous is None:
        changes.update({key: incoming[key] for key in spec.create_only if key in incoming})
        doc = changes
    elif sparse:
        doc = {**previous, **changes}
    else:
        kept = spec.read_only | spec.create_only
        doc = {key: value for key, value in previous.items() if key in kept} | changes
    doc = {key: value for key, value in doc.items() if value is not None}
    if spec.is_name_list:
        _finish_name_list(spec, ctx, doc, created=previous is None)
    else:
        _finish_transaction(spec, ctx, doc, created=previous is None)
    _check_lengths(spec, doc)
    return doc


def document_void(doc: Doc) -> Doc:
    """A voided transaction: kept, with every amount zeroed and QBO's `Voided` note."""
    voided = dict(doc)
    voided["Line"] = [{**line, "Amount": 0} for line in doc.get("Line", [])]
    voided["TxnTaxDetail"] = {**doc.get("TxnTaxDetail", {}), "TotalTax": 0}
    voided["TotalAmt"] = 0
    if "Balance" in doc:
        voided["Balance"] = 0
    voided["PrivateNote"] = "Voided"
    return voided


def name_key(spec: EntitySpec, doc: Doc) -> str:
    """What must be unique, compared without case as QBO's name lookups are (unverified:
    Intuit documents only "equals")."""
    if not spec.name_field:
        return ""
    return str(doc.get(spec.name_field, "")).strip().casefold()


# --- name lists -------------------------------------------------------------------------------


def _finish_name_list(spec: EntitySpec, ctx: WriteContext, doc: Doc, *, created: bool) -> None:
    if spec.name_field == "DisplayName":
        _display_name(doc)
        doc.setdefault("PrintOnCheckName", doc["DisplayName"])
        doc.setdefault("CurrencyRef", currency_ref(ctx.currency))
    elif not str(doc.get("Name", "")).strip():
        raise errors.required_missing("Name", element="Name")
    _check_bool(doc, "Active", default=True)
    if spec.name in ("Customer", "Item"):
        _parent(spec, ctx, doc)
    _addresses(ctx, doc)
    _emails(doc)
    for key, value in _NAME_LIST_DEFAULTS[spec.name].items():
        doc.setdefault(key, value)
    if created and spec.name == "Vendor":
        # Intuit's opaque per-record pseudonym; 38 hex digits starting 002098 in the fixture.
        doc["V4IDPseudonym"] = "002098" + secrets.token_hex(16)


_NAME_LIST_DEFAULTS: dict[str, Doc] = {
    "Customer": {
        "Job": False,
        "BillWithParent": False,
        "Taxable": False,
        "PreferredDeliveryMethod": "Print",
        "Balance": 0,
        "BalanceWithJobs": 0,
    },
    "Vendor": {"Vendor1099": False, "Balance": 0},
    "Item": {
        "Type": "Service",
        "Taxable": False,
        "UnitPrice": 0,
        "PurchaseCost": 0,
        "TrackQtyOnHand": False,
        "SalesTaxIncluded": False,
        "PurchaseTaxIncluded": False,
    },
}


def _display_name(doc: Doc) -> None:
    """DisplayName, or built from the name parts when omitted (QBO does the same)."""
    if str(doc.get("DisplayName", "")).strip():
        return
    parts = [str(doc[part]).strip() for part in NAME_PARTS if str(doc.get(part, "")).strip()]
    if not parts:
        raise errors.required_missing(
            "DisplayName (or one of Title, GivenName, MiddleName, FamilyName, Suffix)",
            element="DisplayName",
        )
    doc["DisplayName"] = " ".join(parts)


def _parent(spec: EntitySpec, ctx: WriteContext, doc: Doc) -> None:
    """Sub-customers and sub-items: `Parent:Child` names, one level deeper than the parent."""
    name = doc[spec.name_field]
    parent_ref = doc.get("ParentRef")
    if not isinstance(parent_ref, dict) or not parent_ref.get("value"):
        doc.pop("ParentRef", None)
        doc.pop("Level", None)
        doc["FullyQualifiedName"] = name
        return
    parent = ctx.referenced(spec.name, str(parent_ref["value"]))
    doc["ParentRef"] = {"value": parent["Id"], "name": parent[spec.name_field]}
    doc["FullyQualifiedName"] = f"{parent['FullyQualifiedName']}:{name}"
    doc["Level"] = int(parent.get("Level", 0)) + 1
    doc.setdefault("Job" if spec.name == "Customer" else "SubItem", True)


def _addresses(ctx: WriteContext, doc: Doc) -> None:
    """QBO gives every stored address its own Id."""
    for key in ADDRESS_FIELDS:
        address = doc.get(key)
        if isinstance(address, dict) and "Id" not in address:
            doc[key] = {**address, "Id": str(ctx.next_value("PhysicalAddress"))}


def _emails(doc: Doc) -> None:
    for key in EMAIL_FIELDS:
        value = doc.get(key)
        address = value.get("Address") if isinstance(value, dict) else None
        if address is None:
            continue
        parts = [part.strip() for part in str(address).split(",")]
        if not all(_EMAIL.match(part) for part in parts):
            raise errors.QboFault(
                "2210",
                "Email Address does not conform to the syntax rules of RFC 822",
                f"Email Address does not conform to the syntax rules of RFC 822. "
                f"Supplied value:{address}",
                element=f"{key}.Address",
            )


# --- transactions -----------------------------------------------------------------------------


def _finish_transaction(spec: EntitySpec, ctx: WriteContext, doc: Doc, *, created: bool) -> None:
    party_entity = "Customer" if spec.party_ref == "CustomerRef" else "Vendor"
    party = _reference(ctx, doc, spec.party_ref, party_entity, required=True)
    lines = doc.get("Line")
    if not isinstance(lines, list) or not lines:
        raise errors.required_missing("Line", element="Line")
    if spec.line_kind == "sales":
        doc["Line"], net = _sales_lines(ctx, lines)
        _copy_from_customer(ctx, doc, party)
    else:
        doc["Line"], net = _purchase_lines(ctx, lines)
    tax_detail = doc.get("TxnTaxDetail")
    tax_detail = dict(tax_detail) if isinstance(tax_detail, dict) else {}
    tax = _money(tax_detail.get("TotalTax", 0), "TxnTaxDetail.TotalTax")
    doc["TxnTaxDetail"] = {**tax_detail, "TotalTax": _number(tax)}
    total = _number(net + tax)
    doc["TotalAmt"] = total
    if spec.name in ("Invoice", "Bill"):
        doc["Balance"] = total  # nothing is ever paid in the sandbox
    _dates(spec, doc)
    if created and spec.auto_doc_number and not doc.get("DocNumber"):
        doc["DocNumber"] = str(1000 + ctx.next_value(f"DocNumber:{spec.name}"))
    doc.setdefault("CurrencyRef", currency_ref(ctx.currency))
    _addresses(ctx, doc)
    _emails(doc)
    for key, value in _TRANSACTION_DEFAULTS[spec.name].items():
        doc.setdefault(key, value)


_SALES_DEFAULTS: Doc = {
    "ApplyTaxAfterDiscount": False,
    "PrintStatus": "NeedToPrint",
    "EmailStatus": "NotSet",
    "CustomField": [],
    "LinkedTxn": [],
}
_TRANSACTION_DEFAULTS: dict[str, Doc] = {
    "Invoice": _SALES_DEFAULTS
    | {
        "AllowIPNPayment": False,
        "AllowOnlinePayment": False,
        "AllowOnlineCreditCardPayment": False,
        "AllowOnlineACHPayment": False,
    },
    "Estimate": _SALES_DEFAULTS | {"TxnStatus": "Pending"},
    "Bill": {"LinkedTxn": []},
    "PurchaseOrder": {"POStatus": "Open", "EmailStatus": "NotSet", "CustomField": []},
}


def _reference(
    ctx: WriteContext, holder: Doc, key: str, entity: str, *, required: bool
) -> Doc | None:
    """Check a `{"value": id}` reference and fill in its `name`, as QBO does on read."""
    ref = holder.get(key)
    if not isinstance(ref, dict) or not str(ref.get("value", "")).strip():
        if required:
            raise errors.required_missing(key, element=key)
        return None
    target = ctx.referenced(entity, str(ref["value"]).strip())
    label = target.get("DisplayName") or target.get("Name") or ""
    holder[key] = {"value": target["Id"], "name": label}
    return target


def _copy_from_customer(ctx: WriteContext, doc: Doc, customer: Doc | None) -> None:
    """An invoice without addresses or email gets the customer's, as in QBO's own form."""
    if customer is None:
        return
    for key in ("BillAddr", "ShipAddr"):
        if key not in doc and isinstance(customer.get(key), dict):
            doc[key] = {k: v for k, v in customer[key].items() if k != "Id"}
    if "BillEmail" not in doc and isinstance(customer.get("PrimaryEmailAddr"), dict):
        doc["BillEmail"] = dict(customer["PrimaryEmailAddr"])
    if "SalesTermRef" not in doc and isinstance(customer.get("SalesTermRef"), dict):
        doc["SalesTermRef"] = dict(customer["SalesTermRef"])


def _sales_lines(ctx: WriteContext, lines: list[Any]) -> tuple[list[Doc], Decimal]:
    """Item lines numbered, checked and summed; QBO's own SubTotal line after them (a client's
    SubTotal line is recomputed, never trusted); discounts after that."""
    items: list[Doc] = []
    discounts: list[Doc] = []
    subtotal = discount = Decimal(0)
    for index, raw in enumerate(lines):
        line = _line(raw, index, (*SALES_LINES, "SubTotalLineDetail"))
        kind = line["DetailType"]
        if kind == "SubTotalLineDetail":
            continue
        amount = _line_amount(line, index, required=kind != "DescriptionOnly")
        if kind == "SalesItemLineDetail":
            _item_line(ctx, line, kind, amount, index)
        if kind == "DiscountLineDetail":
            discount += amount
            discounts.append(line)
        else:
            subtotal += amount
            items.append(line)
    numbered = _number_lines([*items, *discounts])
    subtotal_line: Doc = {
        "Amount": _number(subtotal),
        "DetailType": "SubTotalLineDetail",
        "SubTotalLineDetail": {},
    }
    return [*numbered[: len(items)], subtotal_line, *numbered[len(items) :]], subtotal - discount


def _purchase_lines(ctx: WriteContext, lines: list[Any]) -> tuple[list[Doc], Decimal]:
    out: list[Doc] = []
    total = Decimal(0)
    for index, raw in enumerate(lines):
        line = _line(raw, index, PURCHASE_LINES)
        kind = line["DetailType"]
        amount = _line_amount(line, index, required=True)
        if kind == "ItemBasedExpenseLineDetail":
            _item_line(ctx, line, kind, amount, index, item_required=True)
        else:
            detail = line.get(kind)
            if not isinstance(detail, dict) or not isinstance(detail.get("AccountRef"), dict):
                raise errors.required_missing(f"Line[{index}].{kind}.AccountRef")
        total += amount
        out.append(line)
    return _number_lines(out), total


def _line(raw: Any, index: int, kinds: tuple[str, ...]) -> Doc:
    if not isinstance(raw, dict):
        raise errors.invalid_property(f"Line[{index}] must be an object", element="Line")
    kind = raw.get("DetailType")
    if not kind:
        raise errors.required_missing("DetailType", element=f"Line[{index}].DetailType")
    if kind not in kinds:
        raise errors.QboFault(
            "2170", "Invalid Enumeration", f"Invalid Enumeration : {kind}", element="DetailType"
        )
    return dict(raw)


def _line_amount(line: Doc, index: int, *, required: bool) -> Decimal:
    if "Amount" not in line:
        if required:
            raise errors.required_missing("Amount", element=f"Line[{index}].Amount")
        return Decimal(0)
    amount = _money(line["Amount"], f"Line[{index}].Amount")
    line["Amount"] = _number(amount)
    return amount


def _item_line(
    ctx: WriteContext,
    line: Doc,
    kind: str,
    amount: Decimal,
    index: int,
    *,
    item_required: bool = False,
) -> None:
    """Check the item and that Amount = Qty x UnitPrice (error 6070 otherwise)."""
    detail = line.get(kind)
    detail = dict(detail) if isinstance(detail, dict) else {}
    _reference(ctx, detail, "ItemRef", "Item", required=item_required)
    if "Qty" in detail and "UnitPrice" in detail:
        qty = _money(detail["Qty"], f"Line[{index}].Qty", exact=True)
        price = _money(detail["UnitPrice"], f"Line[{index}].UnitPrice", exact=True)
        if (qty * price).quantize(CENT, ROUND_HALF_UP) != amount:
            raise errors.QboFault(
                "6070",
                "Amount is not equal to UnitPrice * Qty",
                f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount:,}",
                element=f"Line[{index}].Amount",
            )
    line[kind] = detail


def _number_lines(lines: list[Doc]) -> list[Doc]:
    """Keep the Ids a client sent back; give new lines the next free Id and every line its
    position as LineNum, as QBO does."""
    taken = [int(line["Id"]) for line in lines if str(line.get("Id", "")).isdigit()]
    next_id = max(taken, default=0) + 1
    numbered = []
    for position, line in enumerate(lines, start=1):
        if not str(line.get("Id", "")).isdigit():
            line["Id"] = str(next_id)
            next_id += 1
        line["LineNum"] = position
        numbered.append(line)
    return numbered


def _dates(spec: EntitySpec, doc: Doc) -> None:
    txn_date = doc.get("TxnDate") or today_pacific().isoformat()
    try:
        day = date.fromisoformat(str(txn_date))
    except ValueError:
        raise errors.invalid_property(
            f"Property Name:TxnDate value {txn_date} is not a valid date", element="TxnDate"
        ) from None
    doc["TxnDate"] = day.isoformat()
    if spec.name == "Invoice":
        doc.setdefault("DueDate", (day + timedelta(days=30)).isoformat())
    elif spec.name == "Bill":
        doc.setdefault("DueDate", day.isoformat())


# --- values -----------------------------------------------------------------------------------


def currency_ref(code: str) -> Doc:
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


def _money(value: Any, element: str, *, exact: bool = False) -> Decimal:
    """A JSON number as Decimal (bools and strings are not numbers), rounded to cents."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise errors.invalid_property(f"Property Name:{element} must be a number", element=element)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise errors.invalid_property(
            f"Property Name:{element} must be a number", element=element
        ) from None
    return number if exact else number.quantize(CENT, ROUND_HALF_UP)


def _number(value: Decimal) -> int | float:
    """Money as QBO prints it: 275, 12.75."""
    return int(value) if value == value.to_integral_value() else float(value)


def _check_bool(doc: Doc, key: str, *, default: bool) -> None:
    """A JSON boolean; "true"/"false" strings are coerced, as Intuit's JSON reader does."""
    value = doc.setdefault(key, default)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        value = doc[key] = value.lower() == "true"
    if not isinstance(value, bool):
        raise errors.invalid_property(f"Property Name:{key} must be true or false", element=key)


def _check_lengths(spec: EntitySpec, doc: Doc) -> None:
    for key, limit in spec.lengths.items():
        value = doc.get(key)
        if isinstance(value, str) and len(value) > limit:
            raise errors.too_long(key, limit=limit, supplied=len(value))
