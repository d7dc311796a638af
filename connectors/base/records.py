"""Records in the engine's terms, the same for every system: what was read, what to write,
and what became of each write."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.base.exceptions import ConnectorError


@dataclass(frozen=True)
class Record:
    """One record: an id, a version (SyncToken, EditSequence, Modified_Time), when it changed,
    whether it is gone, and its data."""

    id: str
    version: str
    modified_at: datetime | None
    deleted: bool
    data: dict[str, Any]
    name: str = ""
    active: bool = True
    created_at: datetime | None = None  # when the system first held it, where it says


# A payload key `@<related list>` holds the ids of records the written one is related to through
# that related list (a Deal's Products), written after the record itself.
RELATED = "@"


def related_split(payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(the record's own fields, {related list: the ids related to it})."""
    fields = {k: v for k, v in payload.items() if not k.startswith(RELATED)}
    related = {
        k[len(RELATED) :]: list(v or []) for k, v in payload.items() if k.startswith(RELATED)
    }
    return fields, related


@dataclass(frozen=True)
class WriteItem:
    """One record to write: `target_id` to update a known record, else create (or upsert by
    `match`, the fields the target checks for duplicates)."""

    key: str
    payload: dict[str, Any]
    target_id: str = ""
    target_version: str = ""
    match: dict[str, str] = field(default_factory=dict)
    # For an update that meets a newer version (QBO 5010): the record `payload` was computed
    # from, and who keeps a field another writer changed since, "ours" or "theirs".
    base: dict[str, Any] | None = None
    on_conflict: str = "ours"
    # Names this write for good (the flow, the record and the version it was computed from): a
    # system that takes idempotency keys (QBO's `requestid`) answers a repeat, after a crash
    # between the write and its record, with the first result instead of writing it twice.
    idempotency_key: str = ""


@dataclass(frozen=True)
class WriteOutcome:
    """What happened to one `WriteItem`; failures carry the vendor's own code and message."""

    key: str
    ok: bool
    target_id: str = ""
    version: str = ""
    action: str = ""
    error: ConnectorError | None = None
    data: dict[str, Any] = field(default_factory=dict)
    # Fields another writer changed too, settled by the item's `on_conflict`: each dotted
    # path with the value that writer had set.
    conflicts: dict[str, Any] = field(default_factory=dict)
    # A pushed system answers a write only when it next calls us: nothing to record yet.
    pending: bool = False
    # What the system did to the write that the audit trail should say (text it could not
    # store as sent, for one).
    note: str = ""


def payload_rebase(
    payload: dict[str, Any], *, base: dict[str, Any], fresh: dict[str, Any], prefer: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """`payload`, computed from `base`, re-applied over `fresh` (the record as another writer
    left it): a field only we changed keeps our value, one only they changed keeps theirs,
    one both changed goes to `prefer` ("ours" or "theirs") and is returned with their value,
    by its dotted path. A group (an address) is rebased part by part and sent whole, over
    their other parts."""
    rebased: dict[str, Any] = {}
    conflicts: dict[str, Any] = {}
    for key, ours in payload.items():
        was, now = base.get(key), fresh.get(key)
        value = ours
        if isinstance(ours, dict) and isinstance(was or {}, dict) and isinstance(now or {}, dict):
            group, inner = payload_rebase(ours, base=was or {}, fresh=now or {}, prefer=prefer)
            value = {**(now or {}), **group}
            conflicts |= {f"{key}.{path}": theirs for path, theirs in inner.items()}
        elif now != was and ours == was:
            value = now  # a part of a group only they changed
        elif now != was and ours != now:
            conflicts[key] = now
            value = ours if prefer == "ours" else now
        if value != now:  # what the record holds already needs no sending
            rebased[key] = value
    return rebased, conflicts


def record_to_json(record: Record) -> dict[str, Any]:
    """A record as the inbox stores one that a system pushed to us."""
    modified = record.modified_at.isoformat() if record.modified_at else None
    return {
        "id": record.id,
        "version": record.version,
        "modified_at": modified,
        "deleted": record.deleted,
        "data": record.data,
        "name": record.name,
        "active": record.active,
        "created_at": record.created_at.isoformat() if record.created_at else None,
    }


def record_from_json(value: dict[str, Any]) -> Record:
    modified, created = value.get("modified_at"), value.get("created_at")
    return Record(
        id=str(value["id"]),
        version=str(value.get("version") or ""),
        modified_at=datetime.fromisoformat(modified) if modified else None,
        deleted=bool(value.get("deleted")),
        data=dict(value.get("data") or {}),
        name=str(value.get("name") or ""),
        active=bool(value.get("active", True)),
        created_at=datetime.fromisoformat(created) if created else None,
    )
