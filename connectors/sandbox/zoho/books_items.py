"""Zoho Books items: what invoices' lines sell, by name (unique in an organization), with a
rate, a description and an SKU; marked inactive rather than deleted once used.

Reference: https://www.zoho.com/books/api/v3/items/"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from connectors.sandbox.zoho.books_core import (
    BooksError,
    Entity,
    invalid,
    number,
    record_get,
    record_store,
    text,
)
from connectors.sandbox.zoho.models import BooksOrganization, BooksRecord

DEFAULTS = {
    "status": "active",
    "description": "",
    "sku": "",
    "product_type": "service",
    "unit": "",
    "zcrm_product_id": "",
}
ITEM_TEXT = {"name": 100, "description": 2000, "sku": 100, "unit": 100, "zcrm_product_id": 50}
PRODUCT_TYPES = ("goods", "service", "digital_service")


def item_save(
    *, org: BooksOrganization, data: Any, record: BooksRecord | None = None
) -> BooksRecord:
    """Create (`record` None) or update an item; its webhooks fire."""
    if not isinstance(data, dict):
        raise BooksError(4, "Invalid JSON passed for JSONString")
    stored = {**DEFAULTS, **(record.data if record else {})}
    if record is None and not data.get("name"):
        raise invalid("name")
    for name, limit in ITEM_TEXT.items():
        if name in data:
            stored[name] = text(data[name], name, limit)
    if "rate" in data or record is None:
        stored["rate"] = number(data.get("rate"), "rate", default=0.0)
    if "product_type" in data:
        if data["product_type"] not in PRODUCT_TYPES:
            raise invalid("product_type")
        stored["product_type"] = data["product_type"]
    with transaction.atomic():
        BooksOrganization.objects.select_for_update().filter(pk=org.pk).first()
        taken = BooksRecord.objects.filter(org=org, entity=Entity.ITEM, name__iexact=stored["name"])
        if record is not None:
            taken = taken.exclude(pk=record.pk)
        if taken.exists():
            raise BooksError(1001, f'Item "{stored["name"]}" already exists.')
        return record_store(org, Entity.ITEM, stored, record, name=stored["name"])


def item_mark(*, org: BooksOrganization, item_id: int, active: bool) -> BooksRecord:
    record = record_get(org, Entity.ITEM, item_id)
    record.data = {**record.data, "status": "active" if active else "inactive"}
    return item_save(org=org, data={}, record=record)
