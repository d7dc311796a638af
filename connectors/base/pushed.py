"""What a system that calls us (the QuickBooks Web Connector) needs of the engine, without
importing it: somewhere to put the changes it hands over, and the writes waiting for it. The
engine provides it at start-up (`syncs.apps`), as it provides API sessions their tokens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from connectors.base.inbound import Inbound
from connectors.base.records import WriteItem, WriteOutcome

if TYPE_CHECKING:
    from connectors.models import Connection


@dataclass(frozen=True)
class Waiting:
    """A write waiting for a pushed system: the outbox row it answers to, and what to write."""

    id: int
    entity: str
    item: WriteItem
    idempotency_key: str


class PushedEngine(Protocol):
    def changes_record(self, changes: Sequence[Inbound]) -> int:
        """Keep the changes in the inbox (committed on return); how many were new."""
        ...

    def entities_wanted(self, connection: Connection) -> list[str]:
        """The entities of this system the engine's flows read (from it, or both ways)."""
        ...

    def writes_waiting_count(self, connection: Connection) -> int: ...

    def writes_take(self, connection: Connection, *, session: str, limit: int) -> list[Waiting]:
        """The writes to hand over in `session`, oldest first, marked as handed to it."""
        ...

    def writes_answer(self, answers: Sequence[tuple[int, WriteOutcome]]) -> None:
        """Record what the system answered to the writes named by their `Waiting.id`."""
        ...


_engine: PushedEngine | None = None


def pushed_engine_set(engine: PushedEngine) -> None:
    global _engine
    _engine = engine


def pushed_engine() -> PushedEngine:
    if _engine is None:
        raise RuntimeError("No engine takes pushed changes: the syncs app is not installed.")
    return _engine
