"""The engine's side of a system that calls us (`connectors.base.pushed`): its changes go into
the inbox like a webhook's, its writes come from the outbox and its answers are recorded by the
outbox's one path."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from connectors.base.inbound import Inbound
from connectors.base.pushed import Waiting
from connectors.base.records import WriteOutcome
from connectors.models import Connection
from syncs.inbox import NewEvent, events_record
from syncs.models import ChangeEvent, OutboxWrite, SyncFlow
from syncs.outbox import outbox_answer, outbox_take, write_item
from syncs.tasks import inbox_wake


class Engine:
    def changes_record(self, changes: Sequence[Inbound]) -> int:
        events = [
            NewEvent(
                connection=change.connection,
                entity=change.entity,
                external_id=change.external_id,
                version=change.version,
                operation=change.operation,
                origin=ChangeEvent.Origin.QBWC,
                payload=change.payload,
                record=change.record,
            )
            for change in changes
        ]
        new = events_record(events) if events else 0
        if new:
            transaction.on_commit(inbox_wake)
        return new

    def entities_wanted(self, connection: Connection) -> list[str]:
        flows = SyncFlow.objects.exclude(state=SyncFlow.State.DISABLED)
        read = set(flows.filter(source=connection).values_list("source_entity", flat=True))
        both = flows.filter(target=connection, direction=SyncFlow.Direction.TWO_WAY)
        return sorted(read | set(both.values_list("target_entity", flat=True)))

    def writes_waiting_count(self, connection: Connection) -> int:
        return OutboxWrite.objects.filter(
            connection=connection,
            status__in=[OutboxWrite.Status.PENDING, OutboxWrite.Status.SENT],
        ).count()

    def writes_take(self, connection: Connection, *, session: str, limit: int) -> list[Waiting]:
        rows = outbox_take(connection, session=session, limit=limit)
        return [Waiting(row.pk, row.entity, write_item(row), row.idempotency_key) for row in rows]

    def writes_answer(self, answers: Sequence[tuple[int, WriteOutcome]]) -> None:
        rows = OutboxWrite.objects.select_related("flow", "connection").in_bulk(
            [pk for pk, _ in answers]
        )
        outbox_answer([(rows[pk], outcome) for pk, outcome in answers if pk in rows])
