"""Zoho Books in the engine's terms: contacts (customers, with their contact persons), items,
invoices (with their line items) and customer payments, read 200 a page (`page` / `per_page` while
`has_more_page`), every call naming the organization.

A record's version is its `last_modified_time`. Books filters invoices and payments by it but
not contacts: a contacts reader sorts by it, newest first, and stops at its watermark. A record
is fetched by id one call each (the list's entries lack the contact persons and addresses the
mappings read). Books filters neither contacts nor items by modification time.

Reference: https://www.zoho.com/books/api/v3/
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.base.exceptions import AuthError, ConnectorError, NotFound, RateLimited
from connectors.base.records import Record, WriteItem, WriteOutcome
from connectors.base.schema import FieldSpec, TargetSchema
from connectors.models import Connection
from connectors.zoho_books.client import PAGE_SIZE, ZohoBooksClient


@dataclass(frozen=True)
class Kind:
    """One Books entity: where it lives and how its records are named."""

    path: str  # contacts
    many: str  # the list's key: contacts
    one: str  # a single record's key: contact
    id_field: str  # contact_id
    name_field: str  # contact_name
    filters_modified: bool  # whether the listing takes `last_modified_time`
    filters: tuple[str, ...] = ()  # fields the listing filters on exactly


KINDS = {
    "Contact": Kind(
        "contacts",
        "contacts",
        "contact",
        "contact_id",
        "contact_name",
        filters_modified=False,
        filters=("contact_name", "email", "zcrm_account_id", "zcrm_contact_id"),
    ),
    "Item": Kind(
        "items",
        "items",
        "item",
        "item_id",
        "name",
        filters_modified=False,
        filters=("name", "sku", "zcrm_product_id"),
    ),
    "Invoice": Kind(
        "invoices",
        "invoices",
        "invoice",
        "invoice_id",
        "invoice_number",
        filters_modified=True,
        filters=("invoice_number",),
    ),
    "CustomerPayment": Kind(
        "customerpayments",
        "customerpayments",
        "payment",
        "payment_id",
        "payment_number",
        filters_modified=True,
    ),
}

_ADDRESS = ("attention", "address", "street2", "city", "state", "zip", "country")
CONTACT_FIELDS = (
    FieldSpec("contact_name", mandatory=True, length=200),
    FieldSpec("company_name", length=200),
    FieldSpec("first_name", length=100),
    FieldSpec("last_name", length=100),
    FieldSpec("email", "email", length=100),
    FieldSpec("phone", "phone", length=50),
    FieldSpec("mobile", "phone", length=50),
    FieldSpec("website", "website", length=255),
    FieldSpec("notes", "textarea", length=5000),
    FieldSpec("contact_type", "picklist", picklist_values=("customer", "vendor")),
    *(FieldSpec(f"billing_address.{part}", length=100) for part in _ADDRESS),
    *(FieldSpec(f"shipping_address.{part}", length=100) for part in _ADDRESS),
    FieldSpec("zcrm_account_id", length=50),
    FieldSpec("zcrm_contact_id", length=50),
)


ITEM_FIELDS = (
    FieldSpec("name", mandatory=True, length=100),
    FieldSpec("rate", "currency"),
    FieldSpec("description", "textarea", length=2000),
    FieldSpec("sku", length=100),
    FieldSpec("unit", length=100),
    FieldSpec("product_type", "picklist", picklist_values=("goods", "service", "digital_service")),
    FieldSpec("zcrm_product_id", length=50),
)
SCHEMAS = {"Contact": CONTACT_FIELDS, "Item": ITEM_FIELDS}


def books_time(moment: datetime) -> str:
    """A time as Books writes them: `2026-12-08T10:00:00+0000`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S%z")


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value)
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class ZohoBooksAdapter:
    system = "zoho_books"

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.client = ZohoBooksClient(connection)

    def _kind(self, entity: str) -> Kind:
        try:
            return KINDS[entity]
        except KeyError:
            raise NotFound(
                f"Zoho Books has no {entity} here ({', '.join(KINDS)}).",
                system=self.system,
            ) from None

    def _record(self, kind: Kind, body: dict[str, Any]) -> Record:
        return Record(
            id=str(body.get(kind.id_field, "")),
            version=str(body.get("last_modified_time", "")),
            modified_at=_when(body.get("last_modified_time")),
            deleted=False,
            data=body,
            name=str(body.get(kind.name_field) or ""),
            active=body.get("status") not in ("inactive", "void"),
        )

    def listing(
        self, entity: str, *, since: datetime | None, skip: int = 0
    ) -> Iterator[list[Record]]:
        """Oldest first, by creation: a listing that stopped resumes after `skip` records."""
        kind = self._kind(entity)
        params: dict[str, Any] = {"sort_column": "created_time", "sort_order": "A"}
        filtered_here = since is not None and not kind.filters_modified
        if since is not None and kind.filters_modified:
            params["last_modified_time"] = books_time(since)
        if not filtered_here:
            params["page"] = skip // PAGE_SIZE + 1
            skip %= PAGE_SIZE
        for rows in self.client.pages(kind.path, kind.many, **params):
            records = [self._record(kind, row) for row in rows]
            if filtered_here:
                records = [r for r in records if r.modified_at and since and r.modified_at >= since]
            if skip:
                dropped, skip = min(skip, len(records)), max(0, skip - len(records))
                records = records[dropped:]
            if records:
                yield records

    def changed(self, entity: str, *, since: datetime | None) -> Iterator[list[Record]]:
        """Newest changes first, down to `since`."""
        kind = self._kind(entity)
        params: dict[str, Any] = {"sort_column": "last_modified_time", "sort_order": "D"}
        if since is not None and kind.filters_modified:
            params["last_modified_time"] = books_time(since)
        for rows in self.client.pages(kind.path, kind.many, **params):
            records = [self._record(kind, row) for row in rows]
            newer = [
                r for r in records if since is None or (r.modified_at and r.modified_at >= since)
            ]
            if newer:
                yield newer
            if len(newer) < len(records):
                return  # sorted newest first: the rest are older still

    def count(self, entity: str, *, since: datetime | None) -> int | None:
        return None  # Books' page_context gives no total

    def fetch(self, entity: str, ids: Sequence[str]) -> list[Record]:
        kind = self._kind(entity)
        found = []
        for record_id in ids:
            if not str(record_id).isdigit():
                continue
            try:
                body = self.client.get(f"{kind.path}/{record_id}")
            except NotFound:
                continue
            found.append(self._record(kind, body.get(kind.one) or {}))
        return found

    def find(self, entity: str, *, field_name: str, value: str) -> list[Record]:
        kind = self._kind(entity)
        params = {field_name: value} if field_name in kind.filters else {"search_text": value}
        return [
            record
            for rows in self.client.pages(kind.path, kind.many, **params)
            for record in (self._record(kind, row) for row in rows)
            if str(record.data.get(field_name) or "").lower() == value.lower()
        ]

    def write(self, entity: str, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        """One call each (Books has no batch write). A create whose `match` finds the record
        a first attempt made (a retry after a crash) updates that one instead."""
        kind = self._kind(entity)
        outcomes = []
        for item in items:
            target_id = item.target_id or self._matched(entity, item.match)
            try:
                if target_id:
                    body = self.client.send(
                        "PUT", f"{kind.path}/{target_id}", item.payload, retry_safe=True
                    )
                else:
                    body = self.client.send("POST", kind.path, item.payload, retry_safe=False)
            except (RateLimited, AuthError):
                raise
            except ConnectorError as exc:
                outcomes.append(WriteOutcome(key=item.key, ok=False, error=exc))
                continue
            record = self._record(kind, body.get(kind.one) or {})
            outcomes.append(
                WriteOutcome(
                    key=item.key,
                    ok=True,
                    target_id=record.id,
                    version=record.version,
                    action="update" if target_id else "create",
                    data=record.data,
                )
            )
        return outcomes

    def _matched(self, entity: str, match: dict[str, Any]) -> str:
        for field_name, value in match.items():
            if value and field_name in self._kind(entity).filters:
                found = self.find(entity, field_name=field_name, value=str(value))
                if found:
                    return found[0].id
        return ""

    def deactivate(self, entity: str, record_id: str) -> WriteOutcome:
        """Reference: https://www.zoho.com/books/api/v3/contacts/#mark-as-inactive (items:
        /items/{id}/inactive)"""
        kind = self._kind(entity)
        try:
            self.client.send("POST", f"{kind.path}/{record_id}/inactive", retry_safe=True)
        except (RateLimited, AuthError):
            raise
        except ConnectorError as exc:
            return WriteOutcome(key=record_id, ok=False, error=exc)
        return WriteOutcome(key=record_id, ok=True, target_id=record_id, action="update")

    def schema(self, entity: str) -> TargetSchema:
        return TargetSchema.of(f"Zoho Books {entity}", list(SCHEMAS.get(entity, ())))

    def ping(self) -> str:
        return self.client.ping()
