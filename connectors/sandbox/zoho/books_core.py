"""What the Books fakes share: the error envelope, value checks, and saving a record together
with its webhooks. Records are stored as the JSON Books returns for them; ids are numbers, as in
Zoho's recorded payloads (fixture books_list_contacts_response.json).

Reference: https://www.zoho.com/books/api/v3/introduction/"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.db import transaction

from connectors.sandbox.zoho.books_webhooks import webhooks_fire
from connectors.sandbox.zoho.common import books_ids_allocate, books_time, now_seconds
from connectors.sandbox.zoho.models import BooksOrganization, BooksRecord

Entity = BooksRecord.Entity
ID_KEYS: dict[str, str] = {
    Entity.CONTACT: "contact_id",
    Entity.ITEM: "item_id",
    Entity.INVOICE: "invoice_id",
    Entity.PAYMENT: "payment_id",
}
NAMES: dict[str, str] = {
    Entity.CONTACT: "Contact",
    Entity.ITEM: "Item",
    Entity.INVOICE: "Invoice",
    Entity.PAYMENT: "Payment",
}
CURRENCY_IDS = {"USD": 1, "EUR": 2, "GBP": 3, "INR": 4, "AUD": 5, "CAD": 6, "JPY": 7}


class BooksError(Exception):
    """A refusal in Books' envelope: `{"code": <non-zero>, "message": ...}` with a 4xx."""

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    @property
    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


def invalid(name: str) -> BooksError:
    """Books' answer to a bad value (`{"code": 2, "message": "Invalid value passed for ..."}`)."""
    return BooksError(2, f"Invalid value passed for {name}")


def not_found(entity: str) -> BooksError:
    # Zoho's documented example: {"code": 1002, "message": "Invoice does not exist."}
    return BooksError(1002, f"{NAMES.get(entity, entity)} does not exist.", status=404)


def currency_id(code: str) -> int:
    """A stable currency id per ISO code, in Books' 15-digit id style."""
    return 460000000000000 + CURRENCY_IDS.get(code, 90 + sum(map(ord, code)))


def record_get(org: BooksOrganization, entity: str, record_id: int) -> BooksRecord:
    record = BooksRecord.objects.filter(org=org, entity=entity, record_id=record_id).first()
    if record is None:
        raise not_found(entity)
    return record


def record_store(
    org: BooksOrganization,
    entity: str,
    stored: dict[str, Any],
    record: BooksRecord | None,
    *,
    name: str,
    customer_id: int | None = None,
    render: Callable[[BooksOrganization, BooksRecord], dict[str, Any]] | None = None,
) -> BooksRecord:
    """Save a record (new when `record` is None) and fire its webhooks, in one transaction;
    `render` turns the saved record into the webhook payload (default: its stored JSON)."""
    now = now_seconds()
    with transaction.atomic():
        if record is None:
            record_id = books_ids_allocate(org)[0]
            record = BooksRecord(org=org, entity=entity, record_id=record_id, created_at=now)
        event = "updated" if record.pk else "created"
        record.data, record.name, record.customer_id = stored, name, customer_id
        record.modified_at = now
        record.save()
        payload = render(org, record) if render else stamped(record)
        webhooks_fire(org=org, entity=entity, event=event, payload=payload)
    return record


def stamped(record: BooksRecord) -> dict[str, Any]:
    """The stored JSON with the id and the times Books adds to every record."""
    return {
        **record.data,
        ID_KEYS[record.entity]: record.record_id,
        "created_time": books_time(record.created_at),
        "last_modified_time": books_time(record.modified_at),
    }


def text(value: Any, name: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise invalid(name)
    return value


def int_or_none(value: Any, name: str = "id") -> int | None:
    """An id sent as a number or a digit string (clients do both)."""
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise invalid(name)


def number(value: Any, name: str, *, default: float | None = None) -> float:
    if value is None and default is not None:
        return default
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise invalid(name) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(name)
    return round(float(value), 2)


def day(value: Any, name: str, *, default: date) -> str:
    """A `YYYY-MM-DD` date, `default` when not given."""
    if value in (None, ""):
        return default.isoformat()
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise invalid(name) from None


def customer_of(org: BooksOrganization, value: Any) -> BooksRecord:
    """The customer a transaction names by `customer_id`."""
    customer_id = int_or_none(value, "customer_id")
    if customer_id is None:
        raise invalid("customer_id")
    customer = BooksRecord.objects.filter(
        org=org, entity=Entity.CONTACT, record_id=customer_id
    ).first()
    if customer is None or customer.data.get("contact_type") != "customer":
        raise BooksError(1002, "Customer does not exist.")
    return customer
