"""The small interface every adapter speaks: what the sync engine may ask of an external
system. Vendor details stay in `connectors/<system>/adapter.py`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol

from connectors.base.records import Record, WriteItem, WriteOutcome
from connectors.base.schema import TargetSchema


class PingClient(Protocol):
    def ping(self) -> str:
        """The remote company's or organization's name; raises ConnectorError on failure."""
        ...


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
