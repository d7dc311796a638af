"""The pieces every write shares: QuickBooks' ids and sequences, its clock, and how an invoice's
lines and totals are worked out. Used by the services and by the bulk seed alike, so a seeded
record cannot differ from one made through the services."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from connectors.sandbox.qbd.models import SandboxQbCompany, SandboxQbRecord

Data = dict[str, Any]

CENT = Decimal("0.01")
# The chart of accounts items and invoices point at (the fake keeps no Account records).
ACCOUNTS = {
    "Accounts Receivable": "8000FF01-1300000000",
    "Services": "8000FF02-1300000000",
    "Sales": "8000FF03-1300000000",
    "Cost of Goods Sold": "8000FF04-1300000000",
    "Inventory Asset": "8000FF05-1300000000",
}


def now_seconds() -> datetime:
    """Now, to the second: QuickBooks' times have no fractions, and FromModifiedDate compares
    with what it returned."""
    return timezone.now().replace(microsecond=0)


def new_guid() -> str:
    """`{3F2504E0-4F89-11D3-9A0C-0305E82C3301}`, the form OwnerID and FileID take."""
    return "{" + str(uuid.uuid4()).upper() + "}"


def guid_key(value: str) -> str:
    return value.strip().strip("{}").lower()


def company_date(company: SandboxQbCompany, moment: datetime) -> date:
    """The date on the QuickBooks machine's calendar."""
    return moment.astimezone(ZoneInfo(company.time_zone)).date()


def ids_reserve(company: SandboxQbCompany, counter: str, count: int) -> int:
    """The first of `count` new sequence numbers; the conditional update makes two writers
    get different ones."""
    with transaction.atomic():
        SandboxQbCompany.objects.filter(pk=company.pk).update(**{counter: F(counter) + count})
        last = SandboxQbCompany.objects.values_list(counter, flat=True).get(pk=company.pk)
    return last - count + 1


def list_id(number: int, moment: datetime) -> str:
    return f"{0x80000000 + number:X}-{int(moment.timestamp())}"


def txn_id(number: int, moment: datetime) -> str:
    return f"{number:X}-{int(moment.timestamp())}"


def next_edit_sequence(previous: str, moment: datetime) -> str:
    """The modification time in epoch seconds, but always above the last one."""
    return str(max(int(moment.timestamp()), int(previous or 0) + 1))


@dataclass(frozen=True)
class Line:
    """One invoice line: an item, how many, at what rate."""

    item: SandboxQbRecord
    quantity: Decimal
    rate: Decimal
    desc: str = ""


def invoice_data(
    *,
    customer: SandboxQbRecord,
    lines: Sequence[tuple[Line, str]],
    number: int,
    txn_date: date,
    ref_number: str,
    terms_days: int,
    paid: bool,
) -> Data:
    """An invoice's data: each line's Amount is Quantity x Rate, the Subtotal their sum, and a
    paid invoice has nothing remaining. `lines` pairs each line with its TxnLineID."""
    rendered: list[Data] = []
    for line, line_id in lines:
        amount = (line.quantity * line.rate).quantize(CENT)
        rendered.append(
            {
                "TxnLineID": line_id,
                "ItemRef": {"ListID": line.item.record_id, "FullName": line.item.name},
                "Desc": line.desc or item_desc(line.item),
                "Quantity": quantity_text(line.quantity),
                "Rate": f"{line.rate:.2f}",
                "Amount": f"{amount:.2f}",
            }
        )
    subtotal = sum((Decimal(line["Amount"]) for line in rendered), Decimal("0.00"))
    data: Data = {
        "TxnNumber": number,
        "CustomerRef": {"ListID": customer.record_id, "FullName": customer.name},
        "ARAccountRef": account("Accounts Receivable"),
        "TxnDate": txn_date.isoformat(),
        "RefNumber": ref_number,
        "IsPending": False,
        "IsFinanceCharge": False,
        "DueDate": (txn_date + timedelta(days=terms_days)).isoformat(),
        "Subtotal": f"{subtotal:.2f}",
        "SalesTaxPercentage": "0.00",
        "SalesTaxTotal": "0.00",
        "AppliedAmount": f"{-subtotal if paid else Decimal('0.00'):.2f}",
        "BalanceRemaining": "0.00" if paid else f"{subtotal:.2f}",
        "IsPaid": paid,
        "IsToBePrinted": False,
        "IsToBeEmailed": False,
        "InvoiceLineRet": rendered,
    }
    if isinstance(customer.data.get("BillAddress"), Mapping):
        data["BillAddress"] = dict(customer.data["BillAddress"])
    return data


def item_desc(item: SandboxQbRecord) -> str:
    sales = item.data.get("SalesOrPurchase") or {}
    return str(sales.get("Desc") or item.data.get("SalesDesc") or item.name)


def quantity_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def account(name: str) -> Data:
    return {"ListID": ACCOUNTS[name], "FullName": name}
