"""Writing CRM records: insert, update, upsert and delete, each record judged on its own and
answered with Zoho's per-record entry, then one notification per operation to the channels that
watch the module. The API views and the services (console, seed) both come through here.

Reference: https://www.zoho.com/crm/developer/docs/api/v8/upsert-records.html"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from connectors.sandbox.zoho.common import crm_ids_allocate, crm_time, now_seconds
from connectors.sandbox.zoho.crm_schema import ModuleDef, metadata_id
from connectors.sandbox.zoho.crm_validate import (
    Checker,
    RecordError,
    error_entry,
    owner_of,
    record_check,
)
from connectors.sandbox.zoho.crm_watch import crm_notify
from connectors.sandbox.zoho.models import CrmOrg, CrmRecord

WRITE_LIMIT = 100
MESSAGES = {"insert": "record added", "update": "record updated"}


class ValueIndex:
    """The module's unique and duplicate-check values, read once per write call: looking each
    row's values up in the database would scan the module per row (quadratic on a backfill).
    Keys are lower-cased, as Zoho compares them case-insensitively; the writes of the call keep
    it current."""

    def __init__(self, org: CrmOrg, module: ModuleDef, names: Iterable[str]) -> None:
        self.names = set(names)
        self.values: dict[str, dict[str, int]] = {name: {} for name in self.names}
        rows = _live(org, module).order_by("pk").values_list("pk", "data")
        for pk, data in rows:
            self.add(pk, data)

    def find(self, name: str, value: Any) -> int | None:
        if not isinstance(value, str) or not value or name not in self.values:
            return None
        return self.values[name].get(value.lower())

    def add(self, pk: int, data: dict[str, Any]) -> None:
        for name in self.names:
            value = data.get(name)
            if isinstance(value, str) and value:
                self.values[name].setdefault(value.lower(), pk)

    def remove(self, pk: int, data: dict[str, Any]) -> None:
        for name in self.names:
            value = data.get(name)
            if isinstance(value, str) and self.values[name].get(value.lower()) == pk:
                del self.values[name][value.lower()]


@dataclass
class WriteBatch:
    """What one write call did, for its answer and its notifications."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    inserted: list[str] = field(default_factory=list)
    updated: dict[str, dict[str, Any]] = field(default_factory=dict)


def records_write(
    *,
    org: CrmOrg,
    module: ModuleDef,
    rows: list[Any],
    mode: str,
    duplicate_check_fields: Iterable[str] | None = None,
) -> WriteBatch:
    """Write `rows` (mode insert, update or upsert) in one transaction that holds the org's row
    lock, so concurrent writers cannot both pass a uniqueness check."""
    batch = WriteBatch()
    dup_fields = list(duplicate_check_fields or module.duplicate_check)
    with transaction.atomic():
        org = CrmOrg.objects.select_for_update().get(pk=org.pk)
        checker = Checker(org, module)
        unique = ValueIndex(
            org, module, [*(f.api_name for f in module.fields if f.unique), *dup_fields]
        )
        for index, row in enumerate(rows):
            checker.index = index
            try:
                batch.entries.append(_row_write(checker, row, mode, dup_fields, batch, unique))
            except RecordError as failure:
                batch.entries.append(failure.entry)
        crm_notify(org=org, module=module.api_name, operation="insert", ids=batch.inserted)
        crm_notify(
            org=org,
            module=module.api_name,
            operation="update",
            ids=list(batch.updated),
            changes=batch.updated,
        )
    return batch


def records_delete(*, org: CrmOrg, module: ModuleDef, ids: list[str]) -> list[dict[str, Any]]:
    """Move records to the recycle bin (they then show in `/deleted`)."""
    entries, deleted = [], []
    with transaction.atomic():
        org = CrmOrg.objects.select_for_update().get(pk=org.pk)
        for record_id in ids:
            record = _live(org, module).filter(record_id=record_id).first()
            if record is None:
                entries.append(_bad_id(record_id, "$.ids"))
            elif record.locked:
                entries.append(_locked(record_id))
            else:
                CrmRecord.objects.filter(pk=record.pk).update(deleted_at=now_seconds())
                deleted.append(record_id)
                entries.append(
                    {
                        "code": "SUCCESS",
                        "details": {"id": record_id},
                        "message": "record deleted",
                        "status": "success",
                    }
                )
        crm_notify(org=org, module=module.api_name, operation="delete", ids=deleted)
    return entries


def records_bulk_create(
    *, org: CrmOrg, module: ModuleDef, rows: list[dict[str, Any]], notify: bool = True
) -> list[CrmRecord]:
    """Insert many records at once (seeding thousands): the same checks as the API, then one
    `bulk_create`. All or nothing: the first bad row raises RecordError."""
    now = now_seconds()
    with transaction.atomic():
        org = CrmOrg.objects.select_for_update().get(pk=org.pk)
        stored_rows = _rows_check(Checker(org, module), rows)
        records = [
            CrmRecord(
                org=org,
                module=module.api_name,
                record_id=record_id,
                data=stored,
                created_at=now,
                modified_at=now,
            )
            for record_id, stored in zip(
                crm_ids_allocate(org, len(stored_rows)), stored_rows, strict=True
            )
        ]
        CrmRecord.objects.bulk_create(records, batch_size=500)
        if notify:
            for start in range(0, len(records), WRITE_LIMIT):
                chunk = [r.record_id for r in records[start : start + WRITE_LIMIT]]
                crm_notify(org=org, module=module.api_name, operation="insert", ids=chunk)
    return records


def _rows_check(checker: Checker, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row checked as the API checks it, uniqueness within the batch included."""
    seen: dict[str, set[str]] = {f.api_name: set() for f in checker.module.fields if f.unique}
    stored_rows = []
    for index, row in enumerate(rows):
        checker.index = index
        stored = record_check(checker, row, existing=None)
        _unique_in_batch(checker, stored, seen)
        stored_rows.append(stored)
    _unique_against_db(checker, seen)
    return stored_rows


def record_lock(*, org: CrmOrg, module: str, record_id: str, locked: bool) -> bool:
    """Flag a record as in approval (locked): updates and deletes are then `RECORD_LOCKED`."""
    return bool(
        CrmRecord.objects.filter(
            org=org, module=module, record_id=record_id, deleted_at=None
        ).update(locked=locked)
    )


def write_status(batch: WriteBatch, mode: str) -> int:
    """The status when every record succeeded: 201 when something was created, else 200.
    (Failures: see `crm_views._entries_answer`.)"""
    return 201 if batch.inserted and mode != "update" else 200


def _row_write(
    checker: Checker,
    row: Any,
    mode: str,
    dup_fields: list[str],
    batch: WriteBatch,
    unique: ValueIndex,
) -> dict[str, Any]:
    existing, dup_field = _target(checker, row, mode, dup_fields, unique)
    if existing is not None and existing.locked:
        raise RecordError(_locked(existing.record_id))
    stored = record_check(checker, row, existing=existing)
    _unique_check(checker, stored, exclude=existing, unique=unique)
    now = now_seconds()
    if existing is None:
        record = CrmRecord.objects.create(
            org=checker.org,
            module=checker.module.api_name,
            record_id=crm_ids_allocate(checker.org, 1)[0],
            data=stored,
            created_at=now,
            modified_at=now,
        )
        batch.inserted.append(record.record_id)
        action = "insert"
    else:
        changed = {k: v for k, v in stored.items() if existing.data.get(k) != v}
        CrmRecord.objects.filter(pk=existing.pk).update(data=stored, modified_at=now)
        unique.remove(existing.pk, existing.data)
        existing.modified_at = now
        record = existing
        batch.updated[record.record_id] = changed
        action = "update"
    unique.add(record.pk, stored)
    return _success(checker.org, record, action, dup_field if mode == "upsert" else None, mode)


def _target(
    checker: Checker, row: Any, mode: str, dup_fields: list[str], unique: ValueIndex
) -> tuple[CrmRecord | None, str | None]:
    """The record a row writes to (None: a new one) and, for upsert, the field that matched."""
    if mode == "insert" or not isinstance(row, dict):
        return None, None
    live = _live(checker.org, checker.module)
    if row.get("id"):
        record = live.filter(record_id=str(row["id"])).first()
        if record is None:
            raise RecordError(_bad_id(str(row["id"]), checker.path("id")))
        return record, None
    if mode == "update":
        raise RecordError(
            error_entry(
                "MANDATORY_NOT_FOUND",
                "required field not found",
                {"api_name": "id", "json_path": checker.path("id")},
            )
        )
    for name in dup_fields:
        pk = unique.find(name, row.get(name))
        if pk is not None:
            return live.get(pk=pk), name
    return None, None


def _unique_check(
    checker: Checker, stored: dict[str, Any], *, exclude: CrmRecord | None, unique: ValueIndex
) -> None:
    for fdef in checker.module.fields:
        if not fdef.unique:
            continue
        pk = unique.find(fdef.api_name, stored.get(fdef.api_name))
        if pk is not None and (exclude is None or pk != exclude.pk):
            other = CrmRecord.objects.get(pk=pk)
            raise RecordError(_duplicate(checker, fdef.api_name, other))


def _unique_in_batch(checker: Checker, stored: dict[str, Any], seen: dict[str, set[str]]) -> None:
    for name, values in seen.items():
        value = stored.get(name)
        if isinstance(value, str) and value:
            if value.lower() in values:
                raise RecordError(
                    error_entry("DUPLICATE_DATA", "duplicate data", {"api_name": name})
                )
            values.add(value.lower())


def _unique_against_db(checker: Checker, seen: dict[str, set[str]]) -> None:
    """One pass over the module's records per unique field, instead of one query per row."""
    for name, values in seen.items():
        if not values:
            continue
        for record in _live(checker.org, checker.module).only("data", "record_id", "module"):
            value = record.data.get(name)
            if isinstance(value, str) and value.lower() in values:
                raise RecordError(_duplicate(checker, name, record))


def _live(org: CrmOrg, module: ModuleDef) -> QuerySet[CrmRecord]:
    return CrmRecord.objects.filter(org=org, module=module.api_name, deleted_at=None)


def _success(
    org: CrmOrg, record: CrmRecord, action: str, dup_field: str | None, mode: str
) -> dict[str, Any]:
    """The per-record success entry, shaped like fixture crm_upsert_response.json."""
    user = {"name": org.user_name, "id": org.user_id}
    entry: dict[str, Any] = {"code": "SUCCESS"}
    if mode == "upsert":
        entry.update({"duplicate_field": dup_field, "action": action})
    entry["details"] = {
        "Modified_Time": crm_time(record.modified_at),
        "Modified_By": user,
        "Created_Time": crm_time(record.created_at),
        "id": record.record_id,
        "Created_By": dict(user),
    }
    entry.update({"message": MESSAGES[action], "status": "success"})
    return entry


def _duplicate(checker: Checker, name: str, other: CrmRecord) -> dict[str, Any]:
    details = {
        "api_name": name,
        "json_path": checker.path(name),
        "duplicate_record": {
            "id": other.record_id,
            "module": {"api_name": other.module, "id": metadata_id(checker.org, other.module)},
            "Owner": owner_of(checker.org),
        },
    }
    return error_entry("DUPLICATE_DATA", "duplicate data", details)


def _locked(record_id: str) -> dict[str, Any]:
    return error_entry(
        "RECORD_LOCKED",
        "the record is locked for approval and cannot be changed",
        {"id": record_id},
    )


def _bad_id(record_id: str, json_path: str) -> dict[str, Any]:
    return error_entry(
        "INVALID_DATA",
        "the id given seems to be invalid",
        {"api_name": "id", "json_path": json_path, "id": record_id},
    )
