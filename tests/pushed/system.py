"""A throwaway system that only pushes, standing in for QuickBooks Desktop: it is never read
(its records arrive with their events), and it answers a write only on its next "session"
(its adapter says "pending"; the test hands the outbox rows over and answers them later).
Registered under the name `test_push` by the `pushed_system` fixture."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from connectors.base.records import Record, WriteItem, WriteOutcome
from connectors.base.schema import FieldSpec, TargetSchema
from connectors.base.spec import Delivery, SystemSpec

SYSTEM = "test_push"
FIELDS = ("Name", "Phone", "Email", "CRM_Id")


class PushAdapter:
    system = SYSTEM

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def changed(self, entity: str, *, since: datetime | None) -> Iterator[list[Record]]:
        return iter(())

    def listing(
        self, entity: str, *, since: datetime | None, skip: int = 0
    ) -> Iterator[list[Record]]:
        return iter(())

    def count(self, entity: str, *, since: datetime | None) -> int | None:
        return None

    def fetch(self, entity: str, ids: Sequence[str]) -> list[Record]:
        raise AssertionError(f"a pushed system is never read; asked for {entity} {list(ids)}")

    def find(self, entity: str, *, field_name: str, value: str) -> list[Record]:
        return []

    def write(self, entity: str, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        return [WriteOutcome(key=item.key, ok=False, pending=True) for item in items]

    def deactivate(self, entity: str, record_id: str) -> WriteOutcome:
        return WriteOutcome(key=record_id, ok=False, pending=True)

    def schema(self, entity: str) -> TargetSchema:
        return TargetSchema.of(f"Pushed {entity}", [FieldSpec(name) for name in FIELDS])

    def ping(self) -> str:
        return "a pushed system"


SPEC = SystemSpec(system=SYSTEM, delivery=Delivery.PUSHED, adapter=PushAdapter)
