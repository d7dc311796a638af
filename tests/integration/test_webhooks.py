"""Deliveries from the fakes verified by the product's own code: QBO webhooks (legacy and
CloudEvents) into the inbox, a bad signature refused, Zoho Books signatures checked on the exact
bytes sent, and a Zoho CRM notification channel created, delivering, lapsing and re-created."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.models import Connection, WebhookChannel
from connectors.sandbox.delivery import deliveries_run_due
from connectors.sandbox.models import OutboundDelivery, RequestLog, Vendor
from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.qbo.models import Company
from connectors.sandbox.zoho import services as zoho_sandbox
from connectors.sandbox.zoho.models import BooksOrganization, CrmChannel, CrmOrg
from connectors.zoho_books.webhooks import signature_valid
from connectors.zoho_crm.channels import channel_ensure, channel_renew, channels_renew
from syncs.models import ChangeEvent
from tests.integration.conftest import LIVE
from tests.receiver import Receiver

pytestmark = LIVE

BOOKS_SECRET = "Zylker2024WebhookKey"


def qbo_customer_created(company: Company, name: str) -> str:
    """A customer created in QBO itself; its webhook is queued at the fake."""
    return qbo_sandbox.record_create(
        company=company, entity="Customer", data={"DisplayName": name}
    )["Id"]


@pytest.mark.parametrize("webhook_format", list(Company.WebhookFormat.values))
def test_a_qbo_change_is_delivered_verified_and_recorded_in_the_inbox(
    webhook_format: str, qbo: Connection, qbo_company: Company
) -> None:
    Company.objects.filter(pk=qbo_company.pk).update(webhook_format=webhook_format)
    qbo_company.refresh_from_db()
    customer_id = qbo_customer_created(qbo_company, "Hooked Inc")

    assert deliveries_run_due() == 1

    delivery = OutboundDelivery.objects.get(vendor=Vendor.QBO)
    assert (delivery.status, delivery.last_status_code) == (OutboundDelivery.Status.DELIVERED, 200)
    event = ChangeEvent.objects.get()
    assert (event.connection_id, event.entity, event.external_id, event.operation) == (
        qbo.pk,
        "Customer",
        customer_id,
        ChangeEvent.Operation.CREATE,
    )


def test_a_qbo_delivery_signed_with_another_verifier_is_refused_and_nothing_recorded(
    qbo: Connection, qbo_company: Company
) -> None:
    Company.objects.filter(pk=qbo_company.pk).update(verifier_token="not-the-one-we-hold")
    qbo_company.refresh_from_db()
    qbo_customer_created(qbo_company, "Forged Ltd")

    assert deliveries_run_due() == 0

    delivery = OutboundDelivery.objects.get(vendor=Vendor.QBO)
    assert (delivery.status, delivery.last_status_code) == (OutboundDelivery.Status.PENDING, 401)
    assert "bad intuit-signature" in delivery.last_error
    assert not ChangeEvent.objects.exists()


def test_books_signatures_verify_on_the_exact_bytes_and_query_the_fake_sent(
    books_org: BooksOrganization, receiver: Receiver
) -> None:
    zoho_sandbox.books_webhook_create(
        org=books_org,
        data={
            "entity": "contact",
            "url": f"{receiver.url}/hooks/books/?source=zoho books",
            "secret": BOOKS_SECRET,
            "query_parameters": [{"param_name": "account", "value": "zylker & co"}],
        },
    )
    zoho_sandbox.books_contact_create(org=books_org, data={"contact_name": "Bowman & Co, Ltd."})

    assert deliveries_run_due() == 1

    [sent] = receiver.requests
    delivery = OutboundDelivery.objects.get(vendor=Vendor.ZOHO_BOOKS)
    assert sent.body == delivery.body.encode()
    assert sent.query == {"source": "zoho books", "account": "zylker & co"}
    signature = sent.headers["X-Zoho-Webhook-Signature"]
    assert signature_valid(sent.body, signature, BOOKS_SECRET, sent.query)
    assert not signature_valid(sent.body + b" ", signature, BOOKS_SECRET, sent.query)
    assert not signature_valid(sent.body, signature, "SomeOtherSecret123", sent.query)
    assert not signature_valid(sent.body, signature, BOOKS_SECRET, {})


@pytest.fixture
def channel(crm: Connection) -> WebhookChannel:
    return channel_ensure(crm, modules=["Accounts"])


def test_a_crm_channel_is_subscribed_at_zoho_with_our_url_and_token(
    channel: WebhookChannel, crm_org: CrmOrg, base_url: str
) -> None:
    at_zoho = CrmChannel.objects.get(org=crm_org, channel_id=channel.channel_id)

    assert channel.status == WebhookChannel.Status.ACTIVE
    assert at_zoho.events == ["Accounts.all"]
    assert at_zoho.notify_url == f"{base_url}/webhooks/zoho-crm/"
    assert at_zoho.token == channel.token
    assert at_zoho.expires_at > timezone.now() + timedelta(days=6)


def test_a_crm_change_is_notified_through_the_channel_into_the_inbox(
    channel: WebhookChannel, crm: Connection, crm_org: CrmOrg
) -> None:
    record = zoho_sandbox.crm_record_create(
        org=crm_org, module="Accounts", data={"Account_Name": "Notified Ltd"}
    )

    assert deliveries_run_due() == 1

    event = ChangeEvent.objects.get()
    assert (event.connection_id, event.entity, event.external_id, event.operation) == (
        crm.pk,
        "Accounts",
        record.record_id,
        ChangeEvent.Operation.CREATE,
    )
    channel.refresh_from_db()
    assert channel.last_delivery_at is not None


def test_a_live_crm_channel_is_renewed_in_place(channel: WebhookChannel) -> None:
    assert channel_renew(channel) == "renewed"

    calls = RequestLog.objects.filter(path="/sandbox/zoho/crm/v8/actions/watch")
    assert [(c.method, c.status) for c in calls.order_by("pk")] == [("POST", 201), ("PATCH", 200)]


def test_a_lapsed_crm_channel_is_re_created_and_delivers_again(
    channel: WebhookChannel, crm_org: CrmOrg
) -> None:
    CrmChannel.objects.filter(org=crm_org).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert channel_renew(channel) == "re-created"

    calls = RequestLog.objects.filter(path="/sandbox/zoho/crm/v8/actions/watch").order_by("pk")
    assert [(c.method, c.status) for c in calls] == [("POST", 201), ("PATCH", 400), ("POST", 201)]
    assert "NOT_SUBSCRIBED" in calls[1].response_body
    channel.refresh_from_db()
    assert channel.status == WebhookChannel.Status.ACTIVE and channel.last_error == ""
    record = zoho_sandbox.crm_record_create(
        org=crm_org, module="Accounts", data={"Account_Name": "After Renewal"}
    )
    assert deliveries_run_due() == 1
    assert ChangeEvent.objects.get().external_id == record.record_id


def test_the_renewal_sweep_renews_only_channels_that_expire_within_two_days(
    channel: WebhookChannel, crm_org: CrmOrg
) -> None:
    assert channels_renew() == 0
    WebhookChannel.objects.filter(pk=channel.pk).update(
        expires_at=timezone.now() + timedelta(days=1)
    )

    assert channels_renew() == 1

    channel.refresh_from_db()
    assert channel.expires_at > timezone.now() + timedelta(days=6)
    at_zoho = CrmChannel.objects.get(org=crm_org, channel_id=channel.channel_id)
    assert at_zoho.expires_at > timezone.now() + timedelta(days=6)
    calls = RequestLog.objects.filter(path="/sandbox/zoho/crm/v8/actions/watch").order_by("pk")
    assert [c.method for c in calls] == ["POST", "PATCH"]
