"""QuickBooks Online records in the engine's terms.

Reads prefer CDC (one call for many changes, deletions included) and fall back to query pages of
1000; writes go in batches of 30 with a `requestid`, as sparse updates with the current SyncToken.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from connectors.base.exceptions import ConnectorError, RateLimited
from connectors.base.records import Record, WriteItem, WriteOutcome, payload_rebase
from connectors.base.schema import FieldSpec, ReferenceShape, TargetSchema
from connectors.models import Connection
from connectors.qbo.client import BatchResult, QboClient, QboRecord, qbo_quote, qbo_timestamp
from connectors.qbo.errors import RULES

CDC_LOOKBACK = timedelta(days=29)  # Intuit's limit is 30 days; keep a day of margin
CDC_MAX_OBJECTS = 1000
# Sends of one stale update in all: the first and two re-reads. A record edited that often
# while we sync is contended; the engine's backoff serves it better than a tight loop.
STALE_ATTEMPTS = 3

# QBO publishes no field metadata API: these are its documented types and lengths.
_SCHEMAS: dict[str, dict[str, FieldSpec]] = {
    "Customer": {
        spec.api_name: spec
        for spec in (
            FieldSpec("DisplayName", "text", 500, mandatory=True),
            FieldSpec("CompanyName", "text", 100),
            FieldSpec("Title", "text", 16),
            FieldSpec("GivenName", "text", 100),
            FieldSpec("MiddleName", "text", 100),
            FieldSpec("FamilyName", "text", 100),
            FieldSpec("Suffix", "text", 16),
            FieldSpec("PrimaryEmailAddr.Address", "email", 100),
            FieldSpec("PrimaryPhone.FreeFormNumber", "phone", 30),
            FieldSpec("Mobile.FreeFormNumber", "phone", 30),
            FieldSpec("Fax.FreeFormNumber", "phone", 30),
            FieldSpec("WebAddr.URI", "website", 1000),
            FieldSpec("BillAddr.Line1", "text", 500),
            FieldSpec("BillAddr.City", "text", 255),
            FieldSpec("BillAddr.CountrySubDivisionCode", "text", 255),
            FieldSpec("BillAddr.PostalCode", "text", 30),
            FieldSpec("BillAddr.Country", "text", 255),
            FieldSpec("ShipAddr.Line1", "text", 500),
            FieldSpec("ShipAddr.City", "text", 255),
            FieldSpec("ShipAddr.CountrySubDivisionCode", "text", 255),
            FieldSpec("ShipAddr.PostalCode", "text", 30),
            FieldSpec("ShipAddr.Country", "text", 255),
            FieldSpec("Notes", "textarea", 2000),
            FieldSpec("Active", "boolean"),
        )
    },
}
_SCHEMAS["Vendor"] = {
    name: spec
    for name, spec in _SCHEMAS["Customer"].items()
    if not name.startswith("ShipAddr") and name != "Notes"
}
_SCHEMAS["Item"] = {
    spec.api_name: spec
    for spec in (
        FieldSpec("Name", "text", 100, mandatory=True),
        FieldSpec("Sku", "text", 100),
        FieldSpec("Description", "textarea", 4000),
        FieldSpec("UnitPrice", "currency"),
        FieldSpec("Active", "boolean"),
    )
}


def _ref_read(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("value")
    return str(value) if isinstance(value, str | int) and str(value).strip() else None


def _ref_write(record_id: str) -> dict[str, str]:
    return {"value": record_id}


# A reference (`CustomerRef`, `ItemRef`) is `{"value": id, "name": ...}`; written as `{"value": id}`.
REFERENCES = ReferenceShape(write=_ref_write, read=_ref_read)


def _record(raw: QboRecord) -> Record:
    data = raw.data
    name = str(data.get("DisplayName") or data.get("Name") or data.get("DocNumber") or raw.id)
    return Record(
        id=raw.id,
        version=raw.sync_token,
        modified_at=raw.last_updated,
        deleted=raw.deleted,
        data=data,
        name=name,
        active=raw.active,
    )


def _outcome(item: WriteItem, result: BatchResult) -> WriteOutcome:
    if result.error is not None or result.record is None:
        return WriteOutcome(key=item.key, ok=False, error=result.error)
    return _written(item, result.record)


def _written(item: WriteItem, record: QboRecord) -> WriteOutcome:
    """The item's record as QuickBooks now holds it."""
    return WriteOutcome(
        key=item.key,
        ok=True,
        target_id=record.id,
        version=record.sync_token,
        action="update" if item.target_id else "create",
        data=record.data,
    )


def _rebase(item: WriteItem, current: QboRecord) -> tuple[WriteItem, dict[str, Any]]:
    """The item re-applied over the record as re-read, when it says what it was computed from;
    else re-sent as it is (its sparse payload names only its own fields)."""
    if item.base is None:
        return item, {}
    payload, conflicts = payload_rebase(
        item.payload, base=item.base, fresh=current.data, prefer=item.on_conflict
    )
    return replace(item, payload=payload), conflicts


def _changed_since(since: datetime | None) -> list[str]:
    return [f"Metadata.LastUpdatedTime >= {qbo_quote(qbo_timestamp(since))}"] if since else []


def _stale_updates(
    items: Sequence[WriteItem], outcomes: Sequence[WriteOutcome], indexes: Iterable[int]
) -> list[int]:
    """The updates among `indexes` that failed on a stale SyncToken. Which codes mean stale is
    the error classifier's to say (it also normalises `005010`-style codes), not ours."""
    return [
        n
        for n in indexes
        if items[n].target_id and (error := outcomes[n].error) is not None and RULES.is_stale(error)
    ]


class QboAdapter:
    system: str = "qbo"

    def __init__(self, connection: Connection) -> None:
        self.client = QboClient(connection)

    def changed(self, entity: str, *, since: datetime | None) -> Iterator[list[Record]]:
        if since is not None and since > timezone.now() - CDC_LOOKBACK:
            changes = self.client.cdc([entity], since)
            if len(changes) < CDC_MAX_OBJECTS:
                if changes:
                    yield [_record(r) for r in changes]
                return
        yield from self.listing(entity, since=since)

    def listing(
        self, entity: str, *, since: datetime | None, skip: int = 0
    ) -> Iterator[list[Record]]:
        for page in self.client.query_pages(entity, where=_changed_since(since), start=skip + 1):
            yield [_record(r) for r in page]

    def count(self, entity: str, *, since: datetime | None) -> int:
        return self.client.count(entity, where=_changed_since(since))

    def fetch(self, entity: str, ids: Sequence[str]) -> list[Record]:
        return [_record(r) for r in self.client.read_many(entity, ids)]

    def find(self, entity: str, *, field_name: str, value: str) -> list[Record]:
        where = [f"{field_name} = {qbo_quote(value)}"]
        return [_record(r) for page in self.client.query_pages(entity, where=where) for r in page]

    def write(self, entity: str, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        """Create or update in batches, an outcome per item in the order of `items`.

        Creates that carry an idempotency key go first, one call each with a `requestid` of
        their own (`_create_once`). An update QBO finds stale (5010: the record changed after we read it) is re-read and
        re-sent with the fresh SyncToken, up to `STALE_ATTEMPTS` sends in all. The sparse
        payload names only our fields, so the other writer's changes to the rest stay; an item
        with a `base` is rebased on the re-read record, so a field the other writer changed
        too is settled by the item's `on_conflict` and named in the outcome's `conflicts`."""
        keyed = {n for n, item in enumerate(items) if not item.target_id and item.idempotency_key}
        created = {n: self._create_once(entity, items[n]) for n in sorted(keyed)}
        writes = [(item, item.target_version) for n, item in enumerate(items) if n not in keyed]
        results = iter(self._send(entity, writes))
        outcomes = [
            created[n] if n in keyed else _outcome(item, next(results))
            for n, item in enumerate(items)
        ]
        stale = _stale_updates(items, outcomes, range(len(items)))
        for _ in range(STALE_ATTEMPTS - 1):
            if not stale:
                break
            stale = self._resend_stale(entity, items, stale, outcomes)
        return outcomes

    def _create_once(self, entity: str, item: WriteItem) -> WriteOutcome:
        """A create with a `requestid` derived from the item's idempotency key: repeated after a
        crash, QuickBooks answers with the record the first attempt made. One call each (a
        batch's requestid covers the whole batch, whose make-up a repeat need not share)."""
        realm = self.client.connection.realm_id
        digest = hashlib.sha256(f"{realm}:{entity}:{item.idempotency_key}".encode()).hexdigest()
        try:
            record = self.client.create(entity, dict(item.payload), request_id=digest[:36])
        except RateLimited:
            raise  # the whole write waits; nothing after this create has been sent
        except ConnectorError as exc:
            return WriteOutcome(key=item.key, ok=False, error=exc)
        return _written(item, record)

    def _send(self, entity: str, writes: Sequence[tuple[WriteItem, str]]) -> list[BatchResult]:
        """One round of batches. Each round has its own `requestid`: QBO answers a repeated
        one with its first answer, which for a stale update would be the same 5010."""
        operations: list[tuple[str, str, dict[str, Any]]] = []
        for item, sync_token in writes:
            if item.target_id:
                body = {
                    **item.payload,
                    "Id": item.target_id,
                    "SyncToken": sync_token,
                    "sparse": True,
                }
                operations.append(("update", entity, body))
            else:
                operations.append(("create", entity, dict(item.payload)))
        return self.client.batch(operations, request_id=uuid.uuid4().hex[:24])

    def _resend_stale(
        self,
        entity: str,
        items: Sequence[WriteItem],
        stale: list[int],
        outcomes: list[WriteOutcome],
    ) -> list[int]:
        """Re-read the stale records (one query for all), re-send those found with their
        current SyncToken, and record the new outcomes in place; the indexes still stale.

        A record the re-read does not find (deleted since) keeps its 5010 outcome. A failed
        re-read or re-send must not raise: the first round's writes happened and the caller
        needs their outcomes, so the error becomes the outcome of the records it held up."""
        found = stale  # until the re-read says otherwise, every stale record is held up
        try:
            current = {
                record.id: record
                for record in self.client.read_many(entity, [items[n].target_id for n in stale])
            }
            found = [n for n in stale if items[n].target_id in current]
            rebased = {n: _rebase(items[n], current[items[n].target_id]) for n in found}
            for n in found:  # the other writer changed every field we meant to: nothing to send
                item, conflicts = rebased[n]
                if not item.payload:
                    record = current[item.target_id]
                    outcomes[n] = replace(_written(item, record), conflicts=conflicts)
            sending = [n for n in found if rebased[n][0].payload]
            if not sending:
                return []
            writes = [(rebased[n][0], current[items[n].target_id].sync_token) for n in sending]
            results = self._send(entity, writes)
        except ConnectorError as exc:
            for n in found:
                outcomes[n] = WriteOutcome(key=items[n].key, ok=False, error=exc)
            return []
        for n, result in zip(sending, results, strict=True):
            item, conflicts = rebased[n]
            outcomes[n] = replace(_outcome(item, result), conflicts=conflicts)
        return _stale_updates(items, outcomes, sending)

    def deactivate(self, entity: str, record_id: str) -> WriteOutcome:
        current = self.client.read(entity, record_id)
        item = WriteItem(
            key=record_id,
            payload={"Active": False},
            target_id=record_id,
            target_version=current.sync_token,
        )
        return self.write(entity, [item])[0]

    def schema(self, entity: str) -> TargetSchema:
        return TargetSchema(
            label=f"QuickBooks {entity}", fields=_SCHEMAS.get(entity, {}), references=REFERENCES
        )

    def ping(self) -> str:
        return self.client.ping()
