"""Zoho CRM records in the engine's terms.

Writes are upserts keyed on the field that holds the other system's id, 100 a call, so a write
repeated after a crash finds the record its first attempt made instead of creating another.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.core.cache import cache

from connectors.base.exceptions import ConnectorError, PermanentError
from connectors.base.records import Record, WriteItem, WriteOutcome, related_split
from connectors.base.schema import FieldSpec, ReferenceShape, TargetSchema
from connectors.models import Connection
from connectors.zoho_crm.client import FieldMeta, RecordResult, ZohoCrmClient

SCHEMA_CACHE_SECONDS = 300
SUBFORM_TYPES = ("subform", "lineitem")  # "lineitem" on orgs still on Product_Details
NAME_FIELDS = (
    "Account_Name",
    "Vendor_Name",
    "Product_Name",
    "Deal_Name",
    "Subject",
    "Full_Name",
    "Last_Name",
)


def _time(data: dict[str, Any], name: str) -> datetime | None:
    stamp = data.get(name)
    return datetime.fromisoformat(stamp) if isinstance(stamp, str) and stamp else None


def _lookup_read(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    return str(value) if isinstance(value, str | int) and str(value).strip() else None


def _lookup_gone(error: Exception) -> tuple[str, str] | None:
    """Zoho refuses a lookup to a deleted record as INVALID_DATA, "the id given seems to be
    invalid", naming the lookup field and the id."""
    details = getattr(error, "details", None)
    if getattr(error, "code", "") != "INVALID_DATA" or not isinstance(details, Mapping):
        return None
    field_name, target_id = str(details.get("api_name") or ""), str(details.get("id") or "")
    return (field_name, target_id) if field_name and target_id else None


def _lookup_write(record_id: str) -> dict[str, str]:
    return {"id": record_id}


# A lookup field holds `{"id": ..., "name": ...}`; written as `{"id": ...}`. Named functions,
# not lambdas: a schema carrying this shape is cached (pickled).
REFERENCES = ReferenceShape(write=_lookup_write, read=_lookup_read, gone=_lookup_gone)


def _record(data: dict[str, Any]) -> Record:
    name = next((str(data[f]) for f in NAME_FIELDS if data.get(f)), str(data.get("id", "")))
    return Record(
        id=str(data.get("id", "")),
        version=str(data.get("Modified_Time", "")),
        modified_at=_time(data, "Modified_Time"),
        deleted=False,
        data=data,
        name=name,
        created_at=_time(data, "Created_Time"),
    )


def _spec(meta: FieldMeta) -> FieldSpec:
    return FieldSpec(
        api_name=meta.api_name,
        data_type=meta.data_type,
        length=meta.length,
        mandatory=meta.mandatory,
        picklist_values=meta.picklist,
        read_only=meta.read_only,
    )


def _outcome(item: WriteItem, result: RecordResult) -> WriteOutcome:
    if result.ok:
        return WriteOutcome(
            key=item.key,
            ok=True,
            target_id=result.id,
            version=str((result.details or {}).get("Modified_Time", "")),
            action=result.action or ("update" if item.target_id else "create"),
        )
    error = PermanentError(
        result.message, system="zoho_crm", code=result.code, details=result.details
    )
    return WriteOutcome(key=item.key, ok=False, error=error)


class ZohoCrmAdapter:
    system: str = "zoho_crm"

    def __init__(self, connection: Connection) -> None:
        self.client = ZohoCrmClient(connection)
        self._schemas: dict[str, TargetSchema] = {}

    def schema(self, entity: str) -> TargetSchema:
        """The module's fields, from Zoho's metadata; kept a few minutes in the shared cache so
        that a live change does not cost a metadata call each time."""
        if entity not in self._schemas:
            key = f"zoho_crm:schema:{self.client.connection.pk}:{entity}"
            schema = cache.get(key)
            if schema is None:
                schema = self._schema_read(entity)
                cache.set(key, schema, SCHEMA_CACHE_SECONDS)
            self._schemas[entity] = schema
        return self._schemas[entity]

    def _schema_read(self, entity: str) -> TargetSchema:
        """The module's fields; for an inventory module also its line-item subform, whose name
        differs between orgs (`Invoiced_Items`, `Product_Details`), and one line's fields."""
        fields = {meta.api_name: _spec(meta) for meta in self.client.fields(entity)}
        subform = next((n for n, f in fields.items() if f.data_type in SUBFORM_TYPES), "")
        line_schema = None
        if subform:
            line_fields = {meta.api_name: _spec(meta) for meta in self.client.fields(subform)}
            line_schema = TargetSchema(
                label=f"Zoho CRM {subform}", fields=line_fields, references=REFERENCES
            )
        return TargetSchema(
            label=f"Zoho CRM {entity}",
            fields=fields,
            line_items=subform,
            line_schema=line_schema,
            references=REFERENCES,
        )

    def currencies(self, entity: str) -> tuple[str, ...]:
        """The currencies a record of `entity` may carry: the org's home currency first, then
        the others its Currency picklist offers (with multi-currency on)."""
        key = f"zoho_crm:home_currency:{self.client.connection.pk}"
        home = cache.get(key)
        if home is None:
            home = self.client.organization().currency
            cache.set(key, home, SCHEMA_CACHE_SECONDS)
        currency = self.schema(entity).get("Currency")
        return tuple(dict.fromkeys([home, *(currency.picklist_values if currency else ())]))

    def _field_names(self, entity: str) -> list[str]:
        names = [
            name
            for name, spec in self.schema(entity).fields.items()
            if spec.data_type not in SUBFORM_TYPES
        ]
        preferred = [n for n in ("Modified_Time", *NAME_FIELDS) if n in names]
        return list(dict.fromkeys([*preferred, *names]))

    def changed(self, entity: str, *, since: datetime | None) -> Iterator[list[Record]]:
        for page in self.client.record_pages(
            entity, self._field_names(entity), modified_since=since
        ):
            yield [_record(data) for data in page]

    def listing(
        self, entity: str, *, since: datetime | None, skip: int = 0
    ) -> Iterator[list[Record]]:
        """Zoho pages by token, not by position: the first `skip` records are read again and
        left out here."""
        for page in self.changed(entity, since=since):
            if skip >= len(page):
                skip -= len(page)
                continue
            yield page[skip:]
            skip = 0

    def count(self, entity: str, *, since: datetime | None) -> None:
        """Unknown until read: the count endpoint is not used."""
        return None

    def fetch(self, entity: str, ids: Sequence[str]) -> list[Record]:
        return [
            _record(d)
            for d in self.client.records_by_ids(entity, list(ids), self._field_names(entity))
        ]

    def find(self, entity: str, *, field_name: str, value: str) -> list[Record]:
        """Records whose `field_name` holds `value`. The e-mail and phone searches are Zoho's
        own, kept whole: a phone written "(650) 555-0142" is the same as "650.555.0142", which the
        matcher decides by the digits. The others keep only the value itself, case aside."""
        if field_name == "Email":
            return [_record(d) for d in self.client.search(entity, email=value)]
        if field_name == "Phone":
            return [_record(d) for d in self.client.search(entity, phone=value)]
        escaped = (
            value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").replace(",", "\\,")
        )
        found = self.client.search(entity, criteria=f"({field_name}:equals:{escaped})")
        return [
            _record(d) for d in found if str(d.get(field_name, "")).casefold() == value.casefold()
        ]

    def write(self, entity: str, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        """Known records are updated by id; new ones upserted on their `match` field. The ids a
        payload names under `@<related list>` are then related to the written record."""
        outcomes: dict[str, WriteOutcome] = {}
        split = {item.key: related_split(item.payload) for item in items}
        updates = [i for i in items if i.target_id]
        if updates:
            records = [{**split[i.key][0], "id": i.target_id} for i in updates]
            for item, result in zip(updates, self.client.update(entity, records), strict=True):
                outcomes[item.key] = _outcome(item, result)
        creates = [i for i in items if not i.target_id]
        by_key_field: dict[tuple[str, ...], list[WriteItem]] = {}
        for item in creates:
            by_key_field.setdefault(tuple(sorted(item.match)), []).append(item)
        for fields, group in by_key_field.items():
            records = [{**split[i.key][0], **i.match} for i in group]
            results = self.client.upsert(entity, records, duplicate_check_fields=list(fields))
            for item, result in zip(group, results, strict=True):
                outcomes[item.key] = _outcome(item, result)
        for item in items:
            related = split[item.key][1]
            if related and outcomes[item.key].ok:
                outcomes[item.key] = self._relate(entity, outcomes[item.key], related)
        return [outcomes[i.key] for i in items]

    def _relate(
        self, entity: str, outcome: WriteOutcome, related: dict[str, list[str]]
    ) -> WriteOutcome:
        """Relate the written record's related records, one call each; a refusal fails the
        write (written again on its retry, which relates what is missing)."""
        try:
            for related_list, ids in related.items():
                for related_id in ids:
                    self.client.relate(entity, outcome.target_id, related_list, related_id)
        except ConnectorError as exc:
            return replace(outcome, ok=False, error=exc)
        return outcome

    def deactivate(self, entity: str, record_id: str) -> WriteOutcome:
        raise PermanentError(
            "Zoho CRM records are marked inactive through a mapped field, not deleted.",
            system="zoho_crm",
        )

    def ping(self) -> str:
        return self.client.ping()
