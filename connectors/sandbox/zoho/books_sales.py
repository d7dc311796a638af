"""Zoho Books invoices and customer payments. A payment applied to invoices lowers their
balances (and moves their status to partially_paid / paid), which is an invoice update: the
invoice webhooks fire for it too.

Reference: https://www.zoho.com/books/api/v3/invoices/ and
https://www.zoho.com/books/api/v3/customer-payments/"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F

from connectors.sandbox.zoho.books_core import (
    BooksError,
    Entity,
    customer_of,
    day,
    int_or_none,
    invalid,
    number,
    record_get,
    record_store,
    stamped,
    text,
)
from connectors.sandbox.zoho.common import books_ids_allocate
from connectors.sandbox.zoho.models import BooksOrganization, BooksRecord

INVOICE_SUMMARY = (
    "invoice_id", "invoice_number", "customer_id", "customer_name", "status", "reference_number",
    "date", "due_date", "currency_code", "total", "balance", "zcrm_potential_id",
    "created_time", "last_modified_time",
)  # fmt: skip
PAYMENT_SUMMARY = (
    "payment_id", "payment_number", "customer_id", "customer_name", "payment_mode", "date",
    "amount", "unused_amount", "reference_number", "currency_code", "created_time",
    "last_modified_time",
)  # fmt: skip
PAYMENT_MODES = (
    "cash",
    "check",
    "creditcard",
    "banktransfer",
    "bankremittance",
    "autotransaction",
    "others",
)


def invoice_save(
    *, org: BooksOrganization, data: Any, record: BooksRecord | None = None
) -> BooksRecord:
    """Create (`record` None) or update an invoice; totals and balance are computed."""
    if not isinstance(data, dict):
        raise BooksError(4, "Invalid JSON passed for JSONString")
    stored: dict[str, Any] = (
        dict(record.data) if record else {"status": "draft", "paid_amount": 0.0}
    )
    terms = _invoice_customer(org, stored, data, new=record is None)
    if record is None or "line_items" in data:
        stored["line_items"] = _lines(org, data.get("line_items"), stored.get("line_items", []))
    _invoice_details(stored, data, terms)
    stored["invoice_number"] = stored.get("invoice_number") or _next_number(org)
    _totals(stored)
    return record_store(
        org,
        Entity.INVOICE,
        stored,
        record,
        name=stored["invoice_number"],
        customer_id=stored["customer_id"],
    )


def _invoice_customer(
    org: BooksOrganization, stored: dict[str, Any], data: dict[str, Any], *, new: bool
) -> int:
    """Set (or keep) the invoice's customer; its payment terms, in days."""
    if new or "customer_id" in data:
        customer = customer_of(org, data.get("customer_id"))
    else:
        customer = customer_of(org, stored["customer_id"])
    stored.update(
        customer_id=customer.record_id,
        customer_name=customer.data["contact_name"],
        currency_code=customer.data["currency_code"],
    )
    return int(customer.data.get("payment_terms", 0))


def _invoice_details(stored: dict[str, Any], data: dict[str, Any], terms: int) -> None:
    """Dates (due after the customer's terms unless given), texts, CRM link, adjustment."""
    stored["date"] = day(data.get("date") or stored.get("date"), "date", default=date.today())
    default_due = date.fromisoformat(stored["date"]) + timedelta(days=terms)
    given_due = data.get("due_date") or stored.get("due_date")
    stored["due_date"] = day(given_due, "due_date", default=default_due)
    for name in ("reference_number", "notes", "terms"):
        if name in data or name not in stored:
            stored[name] = text(data.get(name), name, 5000)
    if "zcrm_potential_id" in data or "zcrm_potential_id" not in stored:
        stored["zcrm_potential_id"] = str(data.get("zcrm_potential_id") or "")
    adjustment = data.get("adjustment", stored.get("adjustment"))
    stored["adjustment"] = number(adjustment, "adjustment", default=0.0)


def payment_save(*, org: BooksOrganization, data: Any) -> BooksRecord:
    """Record a customer payment and apply it to the invoices it names."""
    if not isinstance(data, dict):
        raise BooksError(4, "Invalid JSON passed for JSONString")
    customer = customer_of(org, data.get("customer_id"))
    with transaction.atomic():
        # One payment at a time per organization: balances are read, then lowered.
        BooksOrganization.objects.select_for_update().filter(pk=org.pk).first()
        stored = _payment_body(org, customer, data)
        payment = record_store(
            org,
            Entity.PAYMENT,
            stored,
            None,
            name=stored["payment_number"],
            customer_id=customer.record_id,
        )
        for application in stored["invoices"]:
            _invoice_pay(org, application["invoice_id"], application["amount_applied"])
    return payment


def _payment_body(
    org: BooksOrganization, customer: BooksRecord, data: dict[str, Any]
) -> dict[str, Any]:
    amount = number(data.get("amount"), "amount")
    if amount <= 0:
        raise invalid("amount")
    mode = data.get("payment_mode") or "cash"
    if mode not in PAYMENT_MODES:
        raise invalid("payment_mode")
    applied = _applications(org, customer, data.get("invoices") or [], amount)
    paid_before = BooksRecord.objects.filter(org=org, entity=Entity.PAYMENT).count()
    return {
        "payment_number": str(paid_before + 1),
        "customer_id": customer.record_id,
        "customer_name": customer.data["contact_name"],
        "payment_mode": mode,
        "date": day(data.get("date"), "date", default=date.today()),
        "amount": amount,
        "unused_amount": round(amount - sum(a["amount_applied"] for a in applied), 2),
        "reference_number": text(data.get("reference_number"), "reference_number", 100),
        "description": text(data.get("description"), "description", 1000),
        "currency_code": customer.data["currency_code"],
        "invoices": applied,
    }


def summary(record: BooksRecord) -> dict[str, Any]:
    """A list entry for an invoice or payment."""
    keys = INVOICE_SUMMARY if record.entity == Entity.INVOICE else PAYMENT_SUMMARY
    body = stamped(record)
    return {key: body.get(key) for key in keys}


def _lines(org: BooksOrganization, given: Any, old: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Line items: each needs a name (or item id) and a rate; a known `line_item_id` keeps its
    line, new lines are numbered."""
    if not isinstance(given, list) or not given:
        raise invalid("line_items")
    known = {line["line_item_id"] for line in old}
    lines = []
    for line in given:
        if not isinstance(line, dict) or not (line.get("name") or line.get("item_id")):
            raise invalid("line_items")
        line_id = int_or_none(line.get("line_item_id"), "line_item_id")
        if line_id is not None and line_id not in known:
            raise invalid("line_item_id")
        rate = number(line.get("rate"), "rate", default=0.0)
        quantity = number(line.get("quantity"), "quantity", default=1.0)
        discount = number(line.get("discount"), "discount", default=0.0)
        lines.append(
            {
                "line_item_id": line_id or books_ids_allocate(org)[0],
                "item_id": int_or_none(line.get("item_id"), "item_id"),
                "name": text(line.get("name"), "name", 200),
                "description": text(line.get("description"), "description", 2000),
                "rate": rate,
                "quantity": quantity,
                "discount": discount,
                "item_total": round(rate * quantity - discount, 2),
            }
        )
    return lines


def _totals(stored: dict[str, Any]) -> None:
    stored["sub_total"] = round(sum(line["item_total"] for line in stored["line_items"]), 2)
    stored["tax_total"] = 0.0
    stored["total"] = round(stored["sub_total"] + stored["adjustment"], 2)
    paid = stored.get("paid_amount", 0.0)
    if paid > stored["total"]:
        raise BooksError(2, "The invoice total cannot be less than the amount already paid.")
    stored["balance"] = round(stored["total"] - paid, 2)
    if paid:
        stored["status"] = "paid" if stored["balance"] == 0 else "partially_paid"


def _applications(
    org: BooksOrganization, customer: BooksRecord, given: Any, amount: float
) -> list[dict[str, Any]]:
    """The invoices a payment pays: the customer's own, never beyond their balance or the
    payment's amount."""
    if not isinstance(given, list):
        raise invalid("invoices")
    applied = []
    for entry in given:
        if not isinstance(entry, dict):
            raise invalid("invoices")
        invoice = record_get(
            org, Entity.INVOICE, int_or_none(entry.get("invoice_id"), "invoice_id") or 0
        )
        share = number(entry.get("amount_applied"), "amount_applied")
        if (
            invoice.customer_id != customer.record_id
            or share <= 0
            or share > invoice.data["balance"]
        ):
            raise invalid("amount_applied")
        applied.append(
            {
                "invoice_id": invoice.record_id,
                "invoice_number": invoice.data["invoice_number"],
                "date": invoice.data["date"],
                "invoice_amount": invoice.data["total"],
                "amount_applied": share,
                "balance_amount": round(invoice.data["balance"] - share, 2),
            }
        )
    if sum(a["amount_applied"] for a in applied) > amount:
        raise BooksError(2, "The amount applied to invoices exceeds the payment amount.")
    return applied


def _invoice_pay(org: BooksOrganization, invoice_id: int, share: float) -> None:
    invoice = BooksRecord.objects.select_for_update().get(org=org, record_id=invoice_id)
    stored = {**invoice.data, "paid_amount": round(invoice.data.get("paid_amount", 0) + share, 2)}
    _totals(stored)
    record_store(
        org, Entity.INVOICE, stored, invoice, name=invoice.name, customer_id=invoice.customer_id
    )


def _next_number(org: BooksOrganization) -> str:
    BooksOrganization.objects.filter(pk=org.pk).update(invoice_seq=F("invoice_seq") + 1)
    seq = BooksOrganization.objects.values_list("invoice_seq", flat=True).get(pk=org.pk)
    return f"INV-{seq:06d}"
