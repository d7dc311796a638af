"""QuickBooks Desktop as the engine sees it: a system that is never called. Its records
arrive in the Web Connector's answers (`connectors.qbd.work`), so there is nothing to list or
read on demand; a write is "pending" until the Web Connector takes it on its next session and
answers on the one after (`syncs.outbox`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from connectors.base.records import Record, WriteItem, WriteOutcome
from connectors.base.schema import FieldSpec, TargetSchema
from connectors.models import Connection
from connectors.qbd.records import records_held

_ADDRESS = ("Addr1", "Addr2", "Addr3", "City", "State", "PostalCode", "Country", "Note")

# The CustomerAdd fields ml-connector writes, with qbXML's lengths (qbxmlops130.xsd).
_CUSTOMER = (
    FieldSpec("Name", mandatory=True, length=41),
    FieldSpec("CompanyName", length=41),
    FieldSpec("FirstName", length=25),
    FieldSpec("LastName", length=25),
    *(FieldSpec(f"BillAddress.{part}", length=41) for part in _ADDRESS),
    *(FieldSpec(f"ShipAddress.{part}", length=41) for part in _ADDRESS),
    FieldSpec("Phone", "phone", length=21),
    FieldSpec("AltPhone", "phone", length=21),
    FieldSpec("Fax", "phone", length=21),
    FieldSpec("Email", "email", length=1023),
    FieldSpec("IsActive", "boolean"),
    FieldSpec("Notes", length=4095),
)


class QbdAdapter:
    system = "qbd"

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def changed(self, entity: str, *, since: datetime | None) -> Iterator[list[Record]]:
        return iter(())  # changes come with the Web Connector's sessions

    def listing(
        self, entity: str, *, since: datetime | None, skip: int = 0
    ) -> Iterator[list[Record]]:
        return iter(())  # a historical sync is the first session's full listing

    def count(self, entity: str, *, since: datetime | None) -> int | None:
        return None

    def fetch(self, entity: str, ids: Sequence[str]) -> list[Record]:
        """The records as the Web Connector last handed them over: QuickBooks itself cannot be
        asked between sessions."""
        return records_held(self.connection.qbd, entity, ids)

    def find(self, entity: str, *, field_name: str, value: str) -> list[Record]:
        return []

    def write(self, entity: str, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        return [WriteOutcome(key=item.key, ok=False, pending=True) for item in items]

    def deactivate(self, entity: str, record_id: str) -> WriteOutcome:
        return WriteOutcome(key=record_id, ok=False, pending=True)

    def schema(self, entity: str) -> TargetSchema:
        fields = _CUSTOMER if entity == "Customer" else ()
        return TargetSchema.of(f"QuickBooks Desktop {entity}", list(fields))

    def ping(self) -> str:
        return self.connection.name
