"""Two-way flows, end to end against the sandbox CRM over the live server: the flow's CRM module
gets a notification channel at the fake, a record edited in the fake is found by the CRM-side
reconciliation and recorded in the inbox as a change on the CRM side of the flow (once), and
the admin force-syncs by CRM id on two-way and one-way flows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from connectors.models import WebhookChannel
from connectors.sandbox.delivery import deliveries_run_due
from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.zoho import services as zoho_sandbox
from connectors.sandbox.zoho.common import crm_time
from connectors.sandbox.zoho.models import CrmChannel, CrmRecord
from syncs.live import inbox_drain
from syncs.models import ChangeEvent, RecordLink, SyncFlow, SyncRun
from syncs.runs import flow_force_sync, flow_poll
from syncs.services import flow_create_with_defaults
from syncs.tasks import channels_renew
from tests.e2e.conftest import E2E
from tests.e2e.test_qbo_to_crm import CUSTOMER


def customers_to_accounts(qbo, crm, direction: str) -> SyncFlow:
    return flow_create_with_defaults(
        name=f"Customers to Accounts ({direction})",
        source=qbo,
        target=crm,
        source_entity="Customer",
        target_entity="Accounts",
        direction=direction,
    )


@pytest.fixture
def two_way(qbo, crm) -> SyncFlow:
    return customers_to_accounts(qbo, crm, SyncFlow.Direction.TWO_WAY)


def polled() -> list[tuple]:
    return list(
        ChangeEvent.objects.filter(origin=ChangeEvent.Origin.POLL).values_list(
            "connection_id", "entity", "external_id", "version", "flow_id"
        )
    )


@E2E
def test_a_two_way_flow_gets_a_channel_and_finds_crm_edits_once(two_way, crm, crm_org, base_url):
    account = zoho_sandbox.crm_record_create(
        org=crm_org, module="Accounts", data={"Account_Name": "Edited In CRM Ltd"}
    )
    # Last changed long before the flow became two-way: the first poll must not queue it.
    CrmRecord.objects.filter(pk=account.pk).update(modified_at=timezone.now() - timedelta(days=3))

    assert channels_renew().startswith("1 channel(s) in place")

    ours = WebhookChannel.objects.get(connection=crm)
    at_zoho = CrmChannel.objects.get(org=crm_org)
    assert (at_zoho.channel_id, at_zoho.token) == (ours.channel_id, ours.token)
    assert at_zoho.events == ["Accounts.all"]
    assert at_zoho.notify_url == f"{base_url}/webhooks/zoho-crm/"

    first = flow_poll(two_way)
    assert first.status == SyncRun.Status.SUCCEEDED
    assert polled() == []

    zoho_sandbox.crm_record_update(
        org=crm_org, module="Accounts", record_id=account.record_id, data={"Phone": "555-0101"}
    )
    account.refresh_from_db()
    second = flow_poll(two_way)

    assert polled() == [
        (crm.pk, "Accounts", account.record_id, crm_time(account.modified_at), two_way.pk)
    ]
    assert second.target_api_calls >= 1  # the CRM listing counts on the poll's run
    two_way.refresh_from_db()
    assert two_way.cursor["target"]["modified_since"] == second.started_at.isoformat()

    flow_poll(two_way)  # lists the edit again (the overlap): nothing new
    assert len(polled()) == 1

    # The channel made for the flow delivers too: the edit's notification is in the inbox.
    assert deliveries_run_due() >= 1
    notified = ChangeEvent.objects.get(origin=ChangeEvent.Origin.WEBHOOK)
    assert (notified.connection_id, notified.entity, notified.external_id, notified.flow) == (
        crm.pk,
        "Accounts",
        account.record_id,
        None,
    )


@E2E
def test_the_admin_force_syncs_a_crm_record_of_a_two_way_flow_from_the_crm(
    admin_client, two_way, crm, crm_org
):
    account = zoho_sandbox.crm_record_create(
        org=crm_org, module="Accounts", data={"Account_Name": "Forced From CRM"}
    )

    response = admin_client.post(
        reverse("admin:syncs_syncflow_force", args=[two_way.pk]),
        {"side": "target", "record_id": account.record_id},
        follow=True,
    )

    assert f"Zoho CRM record {account.record_id} is queued" in response.content.decode()
    event = ChangeEvent.objects.get(origin=ChangeEvent.Origin.ADMIN)
    assert (event.connection_id, event.entity, event.external_id, event.flow_id) == (
        crm.pk,
        "Accounts",
        account.record_id,
        two_way.pk,
    )
    assert event.version.startswith("force-")


@E2E
def test_the_admin_force_syncs_a_one_way_flow_by_crm_id_through_its_link(
    admin_client, qbo, qbo_company, crm
):
    flow = customers_to_accounts(qbo, crm, SyncFlow.Direction.ONE_WAY)
    customer = qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=CUSTOMER)
    flow_force_sync(flow, source_id=customer["Id"])
    inbox_drain()
    link = RecordLink.objects.get(flow=flow)
    ChangeEvent.objects.all().delete()
    url = reverse("admin:syncs_syncflow_force", args=[flow.pk])

    response = admin_client.post(url, {"side": "target", "record_id": link.target_id}, follow=True)

    assert (
        f"Zoho CRM record {link.target_id} is linked to QuickBooks Online record "
        f"{customer['Id']}, which is queued to sync now."
    ) in response.content.decode()
    event = ChangeEvent.objects.get()
    assert (event.connection_id, event.entity, event.external_id, event.flow_id) == (
        qbo.pk,
        "Customer",
        customer["Id"],
        flow.pk,
    )

    refused = admin_client.post(url, {"side": "target", "record_id": "1234567890"})
    assert (
        "No QuickBooks Online record is linked to Zoho CRM record 1234567890 in this flow."
        in refused.content.decode()
    )
    assert ChangeEvent.objects.count() == 1
