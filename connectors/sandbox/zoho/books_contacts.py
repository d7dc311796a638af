"""Zoho Books contacts: customers and vendors with their contact persons and addresses.

The contact's top-level `first_name`, `last_name`, `email`, `phone` and `mobile` are those of its
primary contact person, as in Books; receivables are computed from its invoices and payments.

Reference: https://www.zoho.com/books/api/v3/contacts/"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction

from connectors.sandbox.zoho.books_core import (
    BooksError,
    Entity,
    currency_id,
    int_or_none,
    invalid,
    record_get,
    record_store,
    stamped,
    text,
)
from connectors.sandbox.zoho.books_webhooks import webhooks_fire
from connectors.sandbox.zoho.common import books_ids_allocate
from connectors.sandbox.zoho.models import BooksOrganization, BooksRecord

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ADDRESS_KEYS = (
    "attention", "address", "street2", "city", "state", "state_code", "zip", "country",
    "phone", "fax",
)  # fmt: skip
PERSON_KEYS = (
    "salutation", "first_name", "last_name", "email", "phone", "mobile", "designation",
    "department",
)  # fmt: skip
PRIMARY_KEYS = ("first_name", "last_name", "email", "phone", "mobile")
CONTACT_TEXT = {"contact_name": 200, "company_name": 200, "website": 255, "notes": 5000}
SUMMARY_KEYS = (
    "contact_id", "contact_name", "company_name", "contact_type", "status", "payment_terms",
    "payment_terms_label", "currency_id", "currency_code", "outstanding_receivable_amount",
    "unused_credits_receivable_amount", "first_name", "last_name", "email", "phone", "mobile",
    "created_time", "last_modified_time",
)  # fmt: skip
DEFAULTS = {
    "contact_type": "customer",
    "customer_sub_type": "business",
    "status": "active",
    "company_name": "",
    "website": "",
    "notes": "",
    "custom_fields": [],
    "is_linked_with_zohocrm": False,
    "zcrm_account_id": "",
    "zcrm_contact_id": "",
}
CHOICES = {"contact_type": ("customer", "vendor"), "customer_sub_type": ("business", "individual")}


def contact_save(
    *, org: BooksOrganization, data: Any, record: BooksRecord | None = None
) -> BooksRecord:
    """Create (`record` None) or update a contact, then fire the contact webhooks."""
    if not isinstance(data, dict):
        raise BooksError(4, "Invalid JSON passed for JSONString")
    with transaction.atomic():
        # The organization's row lock makes the name check and the save one step.
        BooksOrganization.objects.select_for_update().filter(pk=org.pk).first()
        return _contact_write(org, data, record)


def _contact_write(
    org: BooksOrganization, data: dict[str, Any], record: BooksRecord | None
) -> BooksRecord:
    stored = {**DEFAULTS, **(record.data if record else {})}
    if record is None and not data.get("contact_name"):
        raise invalid("contact_name")
    for name, limit in CONTACT_TEXT.items():
        if name in data:
            stored[name] = text(data[name], name, limit)
    for name, allowed in CHOICES.items():
        if name in data:
            if data[name] not in allowed:
                raise invalid(name)
            stored[name] = data[name]
    for kind in ("billing_address", "shipping_address"):
        if kind in data or kind not in stored:
            stored[kind] = _address(data.get(kind) or {}, kind)
    for name in ("zcrm_account_id", "zcrm_contact_id"):
        if name in data:
            stored[name] = str(data[name] or "")
    _persons_apply(org, stored, data)
    _terms_apply(stored, data)
    stored["currency_code"] = (
        data.get("currency_code") or stored.get("currency_code") or org.currency_code
    )
    stored["currency_id"] = currency_id(stored["currency_code"])
    _name_unique(org, stored["contact_name"], record)
    return record_store(
        org, Entity.CONTACT, stored, record, name=stored["contact_name"], render=contact_render
    )


def contact_mark(*, org: BooksOrganization, contact_id: int, active: bool) -> BooksRecord:
    """Mark a contact active or inactive (Books keeps an inactive one, out of new
    transactions); fires the contact webhooks like any other change."""
    record = record_get(org, Entity.CONTACT, contact_id)
    record.data = {**record.data, "status": "active" if active else "inactive"}
    return contact_save(org=org, data={}, record=record)


def contact_delete(*, org: BooksOrganization, contact_id: int) -> None:
    """Delete a contact that has no transactions; fires the `deleted` webhooks."""
    record = record_get(org, Entity.CONTACT, contact_id)
    if BooksRecord.objects.filter(org=org, customer_id=contact_id).exists():
        raise BooksError(
            2, "The contact cannot be deleted as it has transactions associated with it."
        )
    snapshot = contact_render(org, record)
    with transaction.atomic():
        record.delete()
        webhooks_fire(org=org, entity=Entity.CONTACT, event="deleted", payload=snapshot)


def contact_render(org: BooksOrganization, record: BooksRecord) -> dict[str, Any]:
    """A contact as `GET /contacts/{id}` returns it."""
    return {**stamped(record), **_receivables(org, [record.record_id])[record.record_id]}


def contacts_render(org: BooksOrganization, records: list[BooksRecord]) -> list[dict[str, Any]]:
    """List entries, shaped like fixture books_list_contacts_response.json."""
    owed = _receivables(org, [r.record_id for r in records])
    entries = []
    for record in records:
        body = {**stamped(record), **owed[record.record_id]}
        entries.append({key: body.get(key) for key in SUMMARY_KEYS})
    return entries


def _persons_apply(org: BooksOrganization, stored: dict[str, Any], data: dict[str, Any]) -> None:
    """Contact persons: kept by id when given one, new ones numbered; exactly one is primary,
    and its details are the contact's own top-level ones."""
    persons: list[dict[str, Any]] = stored.get("contact_persons", [])
    old = {p["contact_person_id"]: p for p in persons}
    if "contact_persons" in data:
        if not isinstance(data["contact_persons"], list):
            raise invalid("contact_persons")
        persons = [_person(org, given, old) for given in data["contact_persons"]]
    elif any(key in data for key in PRIMARY_KEYS):
        primary = next((p for p in persons if p["is_primary_contact"]), None)
        given = {**(primary or {}), **{k: data[k] for k in PRIMARY_KEYS if k in data}}
        fresh = _person(org, {**given, "is_primary_contact": True}, old)
        persons = [fresh if p is primary else p for p in persons] if primary else [fresh, *persons]
    if persons and not any(p["is_primary_contact"] for p in persons):
        persons[0]["is_primary_contact"] = True
    stored["contact_persons"] = persons
    primary = next((p for p in persons if p["is_primary_contact"]), {})
    for key in PRIMARY_KEYS:
        stored[key] = primary.get(key, "")


def _person(org: BooksOrganization, given: Any, old: dict[int, dict[str, Any]]) -> dict[str, Any]:
    if not isinstance(given, dict):
        raise invalid("contact_persons")
    person_id = int_or_none(given.get("contact_person_id"), "contact_person_id")
    if person_id is not None and person_id not in old:
        raise invalid("contact_person_id")
    person = dict(old[person_id]) if person_id is not None else {}
    for key in PERSON_KEYS:
        person[key] = text(given[key], key, 100) if key in given else person.get(key, "")
    if person["email"] and not EMAIL.match(person["email"]):
        raise invalid("email")
    person["contact_person_id"] = person_id or books_ids_allocate(org)[0]
    person["is_primary_contact"] = bool(given.get("is_primary_contact", False))
    person.setdefault("enable_portal", False)
    return person


def _terms_apply(stored: dict[str, Any], data: dict[str, Any]) -> None:
    if "payment_terms" in data:
        terms = data["payment_terms"]
        if isinstance(terms, bool) or not isinstance(terms, int) or terms < 0:
            raise invalid("payment_terms")
        stored["payment_terms"] = terms
    days = stored.setdefault("payment_terms", 0)
    stored["payment_terms_label"] = data.get("payment_terms_label") or (
        f"Net {days}" if days else "Due on Receipt"
    )


def _address(value: Any, name: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise invalid(name)
    return {key: text(value.get(key), f"{name}.{key}", 500) for key in ADDRESS_KEYS}


def _name_unique(org: BooksOrganization, name: str, record: BooksRecord | None) -> None:
    clash = BooksRecord.objects.filter(org=org, entity=Entity.CONTACT, name__iexact=name)
    if record is not None:
        clash = clash.exclude(pk=record.pk)
    if clash.exists():
        raise BooksError(
            3062, f'The contact "{name}" already exists. Please specify a different name.'
        )


def _receivables(org: BooksOrganization, contact_ids: list[int]) -> dict[int, dict[str, float]]:
    """What each customer owes (open invoice balances) and has in unused payments."""
    owed = {cid: [0.0, 0.0] for cid in contact_ids}
    rows = BooksRecord.objects.filter(org=org, customer_id__in=contact_ids).values_list(
        "customer_id", "entity", "data"
    )
    for customer, entity, data in rows:
        assert customer is not None  # rows of the customers asked for
        if entity == Entity.INVOICE:
            owed[customer][0] += data.get("balance", 0)
        elif entity == Entity.PAYMENT:
            owed[customer][1] += data.get("unused_amount", 0)
    return {
        cid: {
            "outstanding_receivable_amount": round(due, 2),
            "unused_credits_receivable_amount": round(unused, 2),
        }
        for cid, (due, unused) in owed.items()
    }
