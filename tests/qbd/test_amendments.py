"""Amendments both ways: an Account edited in the CRM reaches QuickBooks as a CustomerModRq with
the current EditSequence on the next session; one created there becomes a CustomerAddRq; what
QuickBooks answers is recorded when it answers (the outbox), and its refusals are errors with
its own words."""

from __future__ import annotations

import pytest
from lxml import etree

from connectors.sandbox.zoho import services as zoho_sandbox
from connectors.sandbox.zoho.models import CrmRecord
from syncs.inbox import NewEvent, events_record
from syncs.live import inbox_drain
from syncs.models import AuditEntry, OutboxWrite, RecordLink, SyncError, SyncFlow
from tests.qbd.conftest import company_make, customers_flow
from tests.qbd.wc import customer_ret, rs, session_run

pytestmark = pytest.mark.django_db(transaction=True)


class QuickBooks:
    """Answers a session the way QuickBooks would for these tests: the listings hold
    `customers` (qbXML CustomerRet text) once, then nothing new; writes succeed unless a name
    is in `taken`."""

    def __init__(self, customers: str = "", taken: tuple[str, ...] = ()) -> None:
        self.customers = customers
        self.taken = taken
        self.added = 0

    def __call__(self, request: etree._Element) -> str:
        if request.tag == "CustomerQueryRq":
            found, self.customers = self.customers, ""
            return rs(request, found, status=0 if found else 1)
        if request.tag == "CustomerModRq":
            mod = request.find("CustomerMod")
            edit = str(int(mod.findtext("EditSequence")) + 1)
            number = int(mod.findtext("ListID")[5:8])
            return rs(request, customer_ret(number, edit=edit, phone=mod.findtext("Phone")))
        if request.tag == "CustomerAddRq":
            name = request.findtext("CustomerAdd/Name")
            if name in self.taken:
                return rs(
                    request,
                    status=3100,
                    message=f'The name "{name}" of the list element is already in use.',
                )
            self.added += 1
            return rs(request, customer_ret(900 + self.added, name=name))
        return rs(request, status=1)


def linked(client, crm, crm_org):
    company = company_make()
    flow = customers_flow(company, crm)
    assert flow.direction == SyncFlow.Direction.TWO_WAY
    session_run(client, company, QuickBooks(customer_ret(1)))
    inbox_drain()
    return company, flow, RecordLink.objects.get(flow=flow)


def crm_event(crm, record_id: str) -> None:
    events_record([NewEvent(connection=crm, entity="Accounts", external_id=record_id)])
    inbox_drain()


def test_a_crm_edit_reaches_quickbooks_with_the_current_edit_sequence(client, crm, crm_org):
    company, flow, link = linked(client, crm, crm_org)
    zoho_sandbox.crm_record_update(
        org=crm_org, module="Accounts", record_id=link.target_id, data={"Phone": "6505559999"}
    )
    crm_event(crm, link.target_id)
    assert OutboxWrite.objects.filter(flow=flow, status="pending", towards="source").count() == 1

    sent = session_run(client, company, QuickBooks())

    (mod,) = [r for r in sent if r.tag == "CustomerModRq"]
    assert mod.findtext("CustomerMod/ListID") == "80000001-1700000000"
    assert mod.findtext("CustomerMod/EditSequence") == "1"
    assert mod.findtext("CustomerMod/Phone") == "6505559999"
    link.refresh_from_db()
    assert link.source_version == "2"
    audit = AuditEntry.objects.get(flow=flow, towards=AuditEntry.Towards.SOURCE)
    assert audit.changed_fields["Phone"]["after"] == "6505559999"
    assert not OutboxWrite.objects.exclude(status="done").exists()


def test_an_account_created_in_the_crm_becomes_a_customer_add(client, crm, crm_org):
    company, flow, _ = linked(client, crm, crm_org)
    account = zoho_sandbox.crm_record_create(
        org=crm_org, module="Accounts", data={"Account_Name": "Tidewater Ltd"}
    )
    crm_event(crm, account.record_id)

    sent = session_run(client, company, QuickBooks())

    (add,) = [r for r in sent if r.tag == "CustomerAddRq"]
    assert add.findtext("CustomerAdd/Name") == "Tidewater Ltd"
    new = RecordLink.objects.get(flow=flow, target_id=account.record_id)
    assert new.source_id == "80000901-1700000000"
    created = AuditEntry.objects.get(flow=flow, action="create", towards="source")
    assert created.target_id == account.record_id
    assert CrmRecord.objects.filter(org=crm_org, module="Accounts").count() == 2


def test_a_name_quickbooks_already_has_is_a_name_conflict_in_its_words(client, crm, crm_org):
    company, flow, _ = linked(client, crm, crm_org)
    account = zoho_sandbox.crm_record_create(
        org=crm_org, module="Accounts", data={"Account_Name": "Bowman & Co"}
    )
    crm_event(crm, account.record_id)

    sent = session_run(client, company, QuickBooks(taken=("Bowman & Co",)))

    assert [r.findtext("CustomerAdd/Name") for r in sent if r.tag == "CustomerAddRq"] == [
        "Bowman & Co"
    ]
    error = SyncError.objects.get(flow=flow)
    assert error.category == "name_conflict" and error.target_id == account.record_id
    assert 'The name "Bowman & Co" of the list element is already in use.' in error.message
    assert not RecordLink.objects.filter(flow=flow, target_id=account.record_id).exists()


class StaleOnce(QuickBooks):
    """QuickBooks where someone edited the customer (its fax) after our last read: the first
    CustomerModRq finds its EditSequence stale."""

    def __init__(self) -> None:
        super().__init__()
        self.stale_answered = False

    def __call__(self, request: etree._Element) -> str:
        if request.tag == "CustomerModRq" and not self.stale_answered:
            self.stale_answered = True
            edit = request.findtext("CustomerMod/EditSequence")
            return rs(
                request,
                status=3200,
                message=f'The provided edit sequence "{edit}" is out-of-date.',
            )
        if request.tag == "CustomerQueryRq" and request.find("ListID") is not None:
            ret = customer_ret(1, edit="5").replace("</Phone>", "</Phone><Fax>650-555-7777</Fax>")
            return rs(request, ret)
        return super().__call__(request)


def test_a_stale_edit_sequence_is_read_again_and_the_change_re_applied(client, crm, crm_org):
    company, _, link = linked(client, crm, crm_org)
    zoho_sandbox.crm_record_update(
        org=crm_org, module="Accounts", record_id=link.target_id, data={"Phone": "6505559999"}
    )
    crm_event(crm, link.target_id)

    sent = session_run(client, company, StaleOnce())

    mods = [r for r in sent if r.tag == "CustomerModRq"]
    assert [m.findtext("CustomerMod/EditSequence") for m in mods] == ["1", "5"]
    assert mods[1].findtext("CustomerMod/Phone") == "6505559999"
    assert mods[1].find("CustomerMod/Fax") is None, "QuickBooks' own change is left alone"
    requery = [r for r in sent if r.tag == "CustomerQueryRq" and r.find("ListID") is not None]
    assert [q.findtext("ListID") for q in requery] == ["80000001-1700000000"]
    link.refresh_from_db()
    assert link.source_version == "6"
    assert not SyncError.objects.exists()
    assert not OutboxWrite.objects.exclude(status="done").exists()


def test_a_locked_record_is_tried_again_later(client, crm, crm_org):
    company, flow, link = linked(client, crm, crm_org)
    zoho_sandbox.crm_record_update(
        org=crm_org, module="Accounts", record_id=link.target_id, data={"Phone": "6505559999"}
    )
    crm_event(crm, link.target_id)

    def locked(request):
        if request.tag == "CustomerModRq":
            return rs(
                request,
                status=3175,
                message="There was an error when modifying a Customer list, element "
                '"Customer 1". QuickBooks error message: This record is in use.',
            )
        return rs(request, status=1)

    session_run(client, company, locked)

    error = SyncError.objects.get(flow=flow)
    assert (error.category, error.status) == ("record_locked", "retrying")
    assert error.next_retry_at is not None and "in use" in error.message


def test_text_quickbooks_cannot_store_is_transliterated_and_the_audit_says_so(client, crm, crm_org):
    company, flow, _ = linked(client, crm, crm_org)
    account = zoho_sandbox.crm_record_create(
        org=crm_org, module="Accounts", data={"Account_Name": "Łódź Trading"}
    )
    crm_event(crm, account.record_id)

    sent = session_run(client, company, QuickBooks())

    (add,) = [r for r in sent if r.tag == "CustomerAddRq"]
    assert add.findtext("CustomerAdd/Name") == "Lódz Trading"
    created = AuditEntry.objects.get(flow=flow, action="create", towards="source")
    assert "stores only Latin-1" in created.note and "'Lódz Trading'" in created.note


def test_an_account_deleted_in_the_crm_makes_the_customer_inactive_in_quickbooks(
    client, crm, crm_org
):
    company, flow, link = linked(client, crm, crm_org)
    zoho_sandbox.crm_record_delete(org=crm_org, module="Accounts", record_id=link.target_id)
    events_record(
        [
            NewEvent(
                connection=crm,
                entity="Accounts",
                external_id=link.target_id,
                operation="delete",
            )
        ]
    )
    inbox_drain()

    sent = session_run(client, company, QuickBooks())

    (mod,) = [r for r in sent if r.tag == "CustomerModRq"]
    assert mod.findtext("CustomerMod/ListID") == link.source_id
    assert mod.findtext("CustomerMod/IsActive") == "false"
    entry = AuditEntry.objects.filter(flow=flow, towards="source").latest("pk")
    assert entry.note.startswith("Deleted in Zoho CRM: IsActive set to False in QuickBooks")
    link.refresh_from_db()
    assert link.target_deleted_at is not None

    # QuickBooks then lists the customer as inactive: the deleted Account is not made again.
    inactive = customer_ret(1, edit="3").replace(
        "<IsActive>true</IsActive>", "<IsActive>false</IsActive>"
    )
    session_run(client, company, QuickBooks(inactive))
    inbox_drain()
    assert not CrmRecord.objects.filter(
        org=crm_org, module="Accounts", deleted_at__isnull=True
    ).exists()


class StaleBothChanged(StaleOnce):
    """Someone changed the same phone in QuickBooks meanwhile."""

    def __call__(self, request: etree._Element) -> str:
        if request.tag == "CustomerQueryRq" and request.find("ListID") is not None:
            return rs(request, customer_ret(1, edit="5", phone="650-555-4242"))
        return super().__call__(request)


def test_a_field_changed_on_both_sides_keeps_the_system_of_truths_value(client, crm, crm_org):
    company, flow, link = linked(client, crm, crm_org)
    assert flow.system_of_truth == SyncFlow.SystemOfTruth.SOURCE  # QuickBooks
    zoho_sandbox.crm_record_update(
        org=crm_org, module="Accounts", record_id=link.target_id, data={"Phone": "6505559999"}
    )
    crm_event(crm, link.target_id)

    sent = session_run(client, company, StaleBothChanged())

    mods = [r for r in sent if r.tag == "CustomerModRq"]
    assert len(mods) == 1, "QuickBooks' phone stands: nothing is left to re-apply"
    link.refresh_from_db()
    assert link.source_version == "5"
    assert not OutboxWrite.objects.exclude(status="done").exists()
    assert not SyncError.objects.exists()
