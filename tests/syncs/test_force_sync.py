"""Force-sync one record, named by its id on either side of the flow: a QuickBooks id is queued
at the source; a CRM id is queued at the CRM on a two-way flow, and translated through the
flow's links to its QuickBooks record on a one-way flow."""

from __future__ import annotations

import pytest
from django.urls import reverse

from connectors.models import Connection
from syncs.models import ChangeEvent, SyncFlow
from syncs.records import link_save
from syncs.runs import ForcedRecord, flow_force_sync
from tests.factories import connected, connection_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def qbo() -> Connection:
    return connected(connection_create(Connection.System.QBO, name="QuickBooks"))


@pytest.fixture
def crm() -> Connection:
    return connected(connection_create(Connection.System.ZOHO_CRM, name="Zoho CRM"))


def make_flow(qbo: Connection, crm: Connection, direction: str) -> SyncFlow:
    return SyncFlow.objects.create(
        name=f"Customers {direction}",
        source=qbo,
        target=crm,
        source_entity="Customer",
        target_entity="Accounts" if direction == "two_way" else "Contacts",
        direction=direction,
    )


@pytest.fixture
def two_way(qbo, crm) -> SyncFlow:
    return make_flow(qbo, crm, SyncFlow.Direction.TWO_WAY)


@pytest.fixture
def one_way(qbo, crm) -> SyncFlow:
    flow = make_flow(qbo, crm, SyncFlow.Direction.ONE_WAY)
    link_save(flow=flow, source_id="58", target_id="5725767000000419001")
    return flow


def the_event() -> tuple:
    event = ChangeEvent.objects.get()
    assert event.version.startswith("force-")
    assert (event.origin, event.operation) == ("admin", "update")
    return event.connection_id, event.entity, event.external_id, event.flow_id


def test_a_quickbooks_id_is_queued_at_the_source(qbo, two_way):
    assert flow_force_sync(two_way, source_id=" 58 ") == ForcedRecord("source", "58")
    assert the_event() == (qbo.pk, "Customer", "58", two_way.pk)


def test_a_crm_id_on_a_two_way_flow_is_queued_at_the_crm(crm, two_way):
    forced = flow_force_sync(two_way, target_id="5725767000000419001")

    assert forced == ForcedRecord("target", "5725767000000419001")
    assert the_event() == (crm.pk, "Accounts", "5725767000000419001", two_way.pk)


def test_a_crm_id_on_a_one_way_flow_queues_its_linked_quickbooks_record(qbo, one_way):
    forced = flow_force_sync(one_way, target_id="5725767000000419001")

    assert forced == ForcedRecord("source", "58")
    assert the_event() == (qbo.pk, "Customer", "58", one_way.pk)


def test_an_unlinked_crm_id_on_a_one_way_flow_is_refused_with_a_clear_message(one_way):
    with pytest.raises(ValueError) as refused:
        flow_force_sync(one_way, target_id="999")

    assert str(refused.value) == (
        "No QuickBooks Online record is linked to Zoho CRM record 999 in this flow."
    )
    assert not ChangeEvent.objects.exists()


@pytest.mark.parametrize("ids", [{}, {"source_id": " "}, {"source_id": "1", "target_id": "2"}])
def test_exactly_one_id_is_given(two_way, ids):
    with pytest.raises(ValueError, match="Give one record id"):
        flow_force_sync(two_way, **ids)


def test_each_force_sync_is_queued_even_when_one_is_waiting(two_way):
    flow_force_sync(two_way, target_id="7")
    flow_force_sync(two_way, target_id="7")
    assert ChangeEvent.objects.count() == 2


# The admin page ------------------------------------------------------------------------------


def force_url(flow: SyncFlow) -> str:
    return reverse("admin:syncs_syncflow_force", args=[flow.pk])


def test_the_page_offers_either_side_by_its_system_name(admin_client, two_way, one_way):
    content = admin_client.get(force_url(two_way)).content.decode()
    assert "QuickBooks Online Customer id" in content
    assert "Zoho CRM Accounts id" in content
    assert "A Zoho CRM record is synced back to QuickBooks Online." in content
    content = admin_client.get(force_url(one_way)).content.decode()
    assert "Zoho CRM Contacts id" in content
    assert "found through its link" in content


def test_the_admin_force_syncs_a_crm_record_of_a_two_way_flow(admin_client, crm, two_way):
    response = admin_client.post(
        force_url(two_way), {"side": "target", "record_id": "5725767000000419001"}, follow=True
    )

    assert "Zoho CRM record 5725767000000419001 is queued to sync now." in (
        response.content.decode()
    )
    assert the_event() == (crm.pk, "Accounts", "5725767000000419001", two_way.pk)


def test_the_admin_says_which_quickbooks_record_a_crm_id_stands_for(admin_client, qbo, one_way):
    response = admin_client.post(
        force_url(one_way), {"side": "target", "record_id": "5725767000000419001"}, follow=True
    )

    assert (
        "Zoho CRM record 5725767000000419001 is linked to QuickBooks Online record 58, "
        "which is queued to sync now."
    ) in response.content.decode()
    assert the_event() == (qbo.pk, "Customer", "58", one_way.pk)


def test_the_admin_shows_why_an_unlinked_crm_id_cannot_be_synced(admin_client, one_way):
    response = admin_client.post(force_url(one_way), {"side": "target", "record_id": "999"})

    assert response.status_code == 200
    assert (
        "No QuickBooks Online record is linked to Zoho CRM record 999 in this flow."
        in response.content.decode()
    )
    assert not ChangeEvent.objects.exists()
