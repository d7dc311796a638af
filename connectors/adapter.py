"""What the sync engine knows of an external system: records in its own terms, and the small
interface every adapter speaks. Vendor details stay in `connectors/<system>/adapter.py`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from connectors.exceptions import ConnectorError

if TYPE_CHECKING:
    from syncs.mapping import TargetSchema


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


@dataclass(frozen=True)
class WriteItem:
    """One record to write: `target_id` to update a known record, else create (or upsert by
    `match`, the fields the target checks for duplicates)."""

    key: str
    payload: dict[str, Any]
    target_id: str = ""
    target_version: str = ""
    match: dict[str, str] = field(default_factory=dict)


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


class Adapter(Protocol):
    system: str

    def changed(self, entity: str, *, since: datetime | None) -> Iterator[list[Record]]:
        """Pages of records changed since a moment (all records when `since` is None)."""
        ...

    def listing(
        self, entity: str, *, since: datetime | None, skip: int = 0
    ) -> Iterator[list[Record]]:
        """Pages of every record changed since a moment (all when `since` is None) in a stable
        order, leaving out the first `skip`: a long listing that stopped resumes there."""
        ...

    def count(self, entity: str, *, since: datetime | None) -> int | None:
        """How many records `listing` gives in all, or None when the system cannot say
        without reading them."""
        ...

    def fetch(self, entity: str, ids: Sequence[str]) -> list[Record]:
        """Records by id, in batches; ids not found are simply absent."""
        ...

    def find(self, entity: str, *, field_name: str, value: str) -> list[Record]:
        """Records whose field equals a value (matching by email, phone or name)."""
        ...

    def write(self, entity: str, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        """Create or update in bulk, with an outcome per item in the same order."""
        ...

    def deactivate(self, entity: str, record_id: str) -> WriteOutcome:
        """Mark a record inactive (never delete it)."""
        ...

    def schema(self, entity: str) -> TargetSchema:
        """The fields a record of `entity` may carry, with types, lengths and mandatory flags."""
        ...

    def ping(self) -> str: ...
