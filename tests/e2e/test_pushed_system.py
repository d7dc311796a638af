"""A system that only pushes fits the engine unchanged: its records arrive with their events
and are never read again; writes to it wait in the outbox, are handed over on its next session
and recorded when it answers; two flows from two sources into CRM Accounts never make a
duplicate Account. The pushed system is the throwaway `tests.pushed.system` (it stands for
QuickBooks Desktop); the CRM is the sandbox's, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from connectors.base.exceptions import PermanentError
from connectors.base.records import Record, WriteOutcome
from connectors.models import Connection
from connectors.registry import SPECS, system_spec
from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.zoho import services as zoho_sandbox
from connectors.sandbox.zoho.models import CrmRecord
from syncs.inbox import NewEvent, events_record
from syncs.live import inbox_drain
from syncs.models import (
    AuditEntry,
    ChangeEvent,
    FieldMapping,
    OutboxWrite,
    RecordLink,
    SyncError,
    SyncFlow,
    SyncRun,
)
from syncs.outbox import outbox_answer, outbox_take
from tests.e2e.conftest import E2E
from tests.pushed.system import SYSTEM

pytestmark = E2E


@pytest.fixture
def pushed(db) -> Iterator[Connection]:
    """A connection to the throwaway pushed system, registered for this test only."""
    SPECS[SYSTEM] = "tests.pushed.system"
    system_spec.cache_clear()
    try:
        yield Connection.objects.create(
            system=SYSTEM, name="Pushed books", status=Connection.Status.CONNECTED
        )
    finally:
        del SPECS[SYSTEM]
        system_spec.cache_clear()


def flow_between(
    source: Connection,
    source_entity: str,
    target: Connection,
    target_entity: str,
    rules: list[tuple[str, str]],
    match_keys: list[str],
) -> SyncFlow:
    flow = SyncFlow.objects.create(
        name=f"{source.name} {source_entity} to {target.name} {target_entity}",
        source=source,
        target=target,
        source_entity=source_entity,
        target_entity=target_entity,
        match_keys=match_keys,
    )
    for source_path, target_field in rules:
        FieldMapping.objects.create(flow=flow, source_path=source_path, target_field=target_field)
    return flow


def customer(n: int, *, phone: str = "") -> Record:
    data = {"ListID": f"80000{n:03d}-1700000000", "Name": f"Pushed Co {n}", "Phone": phone}
    return Record(
        id=data["ListID"],
        version="1700000000",
        modified_at=datetime(2026, 12, 1, 9, n, tzinfo=UTC),
        deleted=False,
        data=data,
        name=data["Name"],
    )


def push(connection: Connection, records: list[Record]) -> int:
    return events_record(
        NewEvent(
            connection=connection,
            entity="Customer",
            external_id=record.id,
            version=record.version,
            operation=ChangeEvent.Operation.CREATE,
            origin=ChangeEvent.Origin.QBWC,
            record=record,
        )
        for record in records
    )


def test_pushed_records_reach_the_crm_without_being_read_again(pushed, crm, crm_org):
    flow = flow_between(
        pushed,
        "Customer",
        crm,
        "Accounts",
        [("Name", "Account_Name"), ("Phone", "Phone")],
        ["link", "name"],
    )
    assert push(pushed, [customer(1, phone="650-555-0101"), customer(2)]) == 2

    inbox_drain()  # the adapter raises if the engine tries to read the pushed system

    accounts = CrmRecord.objects.filter(org=crm_org, module="Accounts", deleted_at__isnull=True)
    assert sorted(a.data["Account_Name"] for a in accounts) == ["Pushed Co 1", "Pushed Co 2"]
    links = dict(RecordLink.objects.filter(flow=flow).values_list("source_id", "target_id"))
    assert sorted(links) == [customer(1).id, customer(2).id]
    assert set(links.values()) == {a.record_id for a in accounts}
    assert not ChangeEvent.objects.exclude(status=ChangeEvent.Status.DONE).exists()
    assert OutboxWrite.objects.filter(flow=flow, status=OutboxWrite.Status.DONE).count() == 2


def test_writes_to_a_pushed_system_wait_for_its_next_session_and_are_recorded_then(
    pushed, crm, crm_org
):
    flow = flow_between(crm, "Accounts", pushed, "Customer", [("Account_Name", "Name")], ["link"])
    made = [
        zoho_sandbox.crm_record_create(org=crm_org, module="Accounts", data={"Account_Name": name})
        for name in ("Acme Ltd", "Bowman & Co")
    ]
    events_record(
        NewEvent(connection=crm, entity="Accounts", external_id=str(a.record_id)) for a in made
    )

    inbox_drain()

    waiting = list(OutboxWrite.objects.filter(flow=flow).order_by("pk"))
    assert [(w.status, w.payload) for w in waiting] == [
        ("pending", {"Name": "Acme Ltd"}),
        ("pending", {"Name": "Bowman & Co"}),
    ]
    assert not RecordLink.objects.filter(flow=flow).exists(), (
        "nothing is recorded before the answer"
    )
    assert not SyncError.objects.exists()
    assert not ChangeEvent.objects.exclude(status=ChangeEvent.Status.DONE).exists()

    # A session takes the writes and dies before answering: the next one gets them again,
    # under the same idempotency keys.
    first = outbox_take(pushed, session="session-1")
    again = outbox_take(pushed, session="session-2")
    assert [r.idempotency_key for r in again] == [r.idempotency_key for r in first]
    assert outbox_take(pushed, session="session-2") == [], "handed to this session already"

    acme, bowman = again
    counts = outbox_answer(
        [
            (
                acme,
                WriteOutcome(
                    key=acme.source_id,
                    ok=True,
                    target_id="80000101-1",
                    version="1",
                    action="create",
                ),
            ),
            (
                bowman,
                WriteOutcome(
                    key=bowman.source_id,
                    ok=False,
                    error=PermanentError(
                        'The name "Bowman & Co" of the list element is already in use.',
                        system=SYSTEM,
                        code="3100",
                    ),
                ),
            ),
        ]
    )

    assert (counts.created, counts.failed) == (1, 1)
    link = RecordLink.objects.get(flow=flow)
    assert (link.source_id, link.target_id, link.target_version) == (
        str(made[0].record_id),
        "80000101-1",
        "1",
    )
    audit = AuditEntry.objects.get(flow=flow)
    assert (
        audit.action == AuditEntry.Action.CREATE
        and audit.changed_fields["Name"]["after"] == "Acme Ltd"
    )
    error = SyncError.objects.get(flow=flow)
    assert error.source_id == str(made[1].record_id) and "already in use" in error.message
    run = SyncRun.objects.get(flow=flow, triggered_by__startswith="answers from")
    assert (run.status, run.created_count, run.failed_count) == ("partial", 1, 1)
    assert set(OutboxWrite.objects.filter(flow=flow).values_list("status", flat=True)) == {"done"}

    # The same answers again (a repeated call) record nothing twice.
    assert (
        outbox_answer(
            [(acme, WriteOutcome(key=acme.source_id, ok=True, target_id="80000101-1"))]
        ).created
        == 0
    )
    assert RecordLink.objects.filter(flow=flow).count() == 1


def test_two_flows_from_two_systems_into_accounts_make_no_duplicate(
    pushed, qbo, qbo_company, crm, crm_org, flows
):
    qbo_sandbox.record_create(
        company=qbo_company,
        entity="Customer",
        data={
            "DisplayName": "Harbour Supplies",
            "PrimaryPhone": {"FreeFormNumber": "650-555-0199"},
        },
    )
    from syncs.runs import flow_poll

    flow_poll(flows["Accounts"])
    (account,) = CrmRecord.objects.filter(org=crm_org, module="Accounts", deleted_at__isnull=True)

    from_pushed = flow_between(
        pushed,
        "Customer",
        crm,
        "Accounts",
        [("Name", "Account_Name"), ("Phone", "Phone")],
        ["link", "phone"],
    )
    record = customer(7, phone="650-555-0199")
    push(pushed, [record])
    inbox_drain()

    accounts = CrmRecord.objects.filter(org=crm_org, module="Accounts", deleted_at__isnull=True)
    assert accounts.count() == 1, "the pushed customer found the Account the QBO flow made"
    assert RecordLink.objects.get(flow=from_pushed).target_id == account.record_id
    assert RecordLink.objects.get(flow=flows["Accounts"]).target_id == account.record_id


def test_a_two_way_flow_never_takes_another_flows_account_for_one_of_its_own(
    pushed, qbo, qbo_company, crm, crm_org, flows
):
    qbo_sandbox.record_create(
        company=qbo_company, entity="Customer", data={"DisplayName": "Quayside Traders"}
    )
    from syncs.runs import flow_poll

    flow_poll(flows["Accounts"])
    (account,) = CrmRecord.objects.filter(org=crm_org, module="Accounts", deleted_at__isnull=True)
    two_way = flow_between(
        pushed, "Customer", crm, "Accounts", [("Name", "Account_Name")], ["link", "name"]
    )
    SyncFlow.objects.filter(pk=two_way.pk).update(
        direction=SyncFlow.Direction.TWO_WAY, options={"create_in_source": True}
    )
    # The CRM reports the Account the QBO flow wrote, as it reports any change.
    events_record([NewEvent(connection=crm, entity="Accounts", external_id=account.record_id)])

    inbox_drain()

    assert not OutboxWrite.objects.filter(flow=two_way).exists(), "nothing written to Desktop"
    assert not RecordLink.objects.filter(flow=two_way).exists()
    skip = AuditEntry.objects.get(flow=two_way)
    assert skip.action == AuditEntry.Action.SKIP and skip.target_id == account.record_id
    assert skip.note.startswith(f"Kept by the flow {flows['Accounts'].name}")
    assert not SyncError.objects.exists()


@pytest.fixture
def held(monkeypatch) -> dict[str, Record]:
    """The pushed system's records as it last pushed them: what its adapter answers a read
    with (QuickBooks Desktop's keeps them the same way, since it cannot be asked)."""
    from tests.pushed.system import PushAdapter

    kept: dict[str, Record] = {}
    monkeypatch.setattr(
        PushAdapter, "fetch", lambda self, entity, ids: [kept[i] for i in ids if i in kept]
    )
    return kept


def two_way_from_pushed(pushed: Connection, crm: Connection, **options) -> SyncFlow:
    flow = flow_between(
        pushed,
        "Customer",
        crm,
        "Accounts",
        [("Name", "Account_Name"), ("Phone", "Phone")],
        ["link", "name"],
    )
    FieldMapping.objects.filter(flow=flow).update(direction=FieldMapping.Direction.BOTH)
    SyncFlow.objects.filter(pk=flow.pk).update(
        direction=SyncFlow.Direction.TWO_WAY, options=options
    )
    flow.refresh_from_db()
    return flow


def linked_then_edited_in_crm(
    pushed: Connection, held: dict[str, Record], crm: Connection, crm_org, record: Record, edit
) -> tuple[SyncFlow, RecordLink]:
    """A two-way flow from the pushed system, `record` pushed and synced, then its Account
    edited in the CRM (`edit`) and the CRM's notification taken."""
    flow = two_way_from_pushed(pushed, crm)
    held[record.id] = record
    push(pushed, [record])
    inbox_drain()
    link = RecordLink.objects.get(flow=flow)
    zoho_sandbox.crm_record_update(
        org=crm_org, module="Accounts", record_id=link.target_id, data=edit
    )
    events_record([NewEvent(connection=crm, entity="Accounts", external_id=link.target_id)])
    inbox_drain()
    return flow, link


def test_a_crm_edit_reaches_a_pushed_source_on_its_next_session(pushed, held, crm, crm_org):
    record = customer(3, phone="650-555-0103")
    flow, link = linked_then_edited_in_crm(
        pushed, held, crm, crm_org, record, {"Phone": "650-555-0999"}
    )

    (waiting,) = OutboxWrite.objects.filter(flow=flow, towards=OutboxWrite.Towards.SOURCE)
    assert (waiting.status, waiting.connection, waiting.payload) == (
        "pending",
        pushed,
        {"Phone": "650-555-0999"},
    )
    assert (waiting.target_id, waiting.target_version) == (record.id, record.version)
    link.refresh_from_db()
    assert link.target_payload["Phone"] == "650-555-0103", "agreed only once it is answered"
    assert not AuditEntry.objects.filter(flow=flow, towards=AuditEntry.Towards.SOURCE).exists()

    (taken,) = outbox_take(pushed, session="session-1")
    counts = outbox_answer(
        [(taken, WriteOutcome(key=taken.source_id, ok=True, target_id=record.id, version="2"))]
    )

    assert counts.updated == 1
    link.refresh_from_db()
    assert (link.source_version, link.target_payload["Phone"]) == ("2", "650-555-0999")
    audit = AuditEntry.objects.get(flow=flow, towards=AuditEntry.Towards.SOURCE)
    assert audit.changed_fields == {"Phone": {"before": "650-555-0103", "after": "650-555-0999"}}
    assert (audit.source_id, audit.target_id) == (record.id, link.target_id)

    # The source then pushes the record as it now holds it: the agreed values, so nothing
    # crosses back to the CRM.
    account = CrmRecord.objects.get(org=crm_org, record_id=link.target_id)
    modified = account.modified_at
    changed = Record(
        id=record.id,
        version="2",
        modified_at=record.modified_at,
        deleted=False,
        data={**record.data, "Phone": "650-555-0999"},
        name=record.name,
    )
    held[record.id] = changed
    push(pushed, [changed])
    inbox_drain()
    account.refresh_from_db()
    assert account.modified_at == modified, "no echo back to the CRM"
    assert not SyncError.objects.exists()


def test_an_account_created_in_the_crm_is_created_at_a_pushed_source_when_it_answers(
    pushed, held, crm, crm_org
):
    flow = two_way_from_pushed(pushed, crm, create_in_source=True)
    account = zoho_sandbox.crm_record_create(
        org=crm_org, module="Accounts", data={"Account_Name": "Tidewater Ltd"}
    )
    events_record([NewEvent(connection=crm, entity="Accounts", external_id=account.record_id)])
    inbox_drain()
    inbox_drain()  # a repeat (a redelivered event) queues nothing twice

    (waiting,) = OutboxWrite.objects.filter(flow=flow)
    assert (waiting.towards, waiting.status, waiting.target_id) == ("source", "pending", "")
    assert waiting.payload["Name"] == "Tidewater Ltd"
    assert not RecordLink.objects.filter(flow=flow).exists()

    (taken,) = outbox_take(pushed, session="session-1")
    outbox_answer(
        [
            (
                taken,
                WriteOutcome(
                    key=taken.source_id,
                    ok=True,
                    target_id="80000777-1",
                    version="1",
                    action="create",
                ),
            )
        ]
    )

    link = RecordLink.objects.get(flow=flow)
    assert (link.source_id, link.target_id, link.source_version) == (
        "80000777-1",
        account.record_id,
        "1",
    )
    audit = AuditEntry.objects.get(flow=flow, action=AuditEntry.Action.CREATE)
    assert audit.towards == AuditEntry.Towards.SOURCE
    assert audit.changed_fields["Name"]["after"] == "Tidewater Ltd"
    assert CrmRecord.objects.filter(org=crm_org, module="Accounts").count() == 1


def test_a_pushed_source_refusing_a_crm_edit_leaves_an_error_and_keeps_the_change(
    pushed, held, crm, crm_org
):
    record = customer(4)
    flow, link = linked_then_edited_in_crm(
        pushed, held, crm, crm_org, record, {"Account_Name": "Pushed 4"}
    )
    (taken,) = outbox_take(pushed, session="s")

    outbox_answer(
        [
            (
                taken,
                WriteOutcome(
                    key=taken.source_id,
                    ok=False,
                    error=PermanentError(
                        'The name "Pushed 4" of the list element is already in use.',
                        system=SYSTEM,
                        code="3100",
                    ),
                ),
            )
        ]
    )

    error = SyncError.objects.get(flow=flow)
    assert (error.source_id, error.target_id) == (record.id, link.target_id)
    assert "already in use" in error.message
    link.refresh_from_db()
    assert link.target_payload["Account_Name"] == "Pushed Co 4", "the change stays unagreed"
    account = CrmRecord.objects.get(org=crm_org, record_id=link.target_id)
    assert account.data["Account_Name"] == "Pushed 4", "the CRM keeps its edit"
