"""Hostile and malformed bodies at the webhook receivers: a clear 400 and nothing stored; a
delivery naming a great many records is taken in bounded batches."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import tracemalloc

import pytest
from django.urls import reverse

from connectors.models import Connection, WebhookChannel
from syncs.models import ChangeEvent
from tests.factories import connected, connection_create

pytestmark = pytest.mark.django_db

VERIFIER = "verifier-token-for-tests-0001"
CHANNEL_TOKEN = "channel-token-for-tests"
DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture
def company() -> Connection:
    return connection_create(realm_id="310687", webhook_secret=VERIFIER)


@pytest.fixture
def channel() -> WebhookChannel:
    crm = connected(connection_create(Connection.System.ZOHO_CRM))
    return WebhookChannel.objects.create(
        connection=crm,
        kind=WebhookChannel.Kind.ZOHO_CRM_NOTIFICATIONS,
        channel_id="1000000068001",
        token=CHANNEL_TOKEN,
        events=["Accounts.all"],
        notify_url="http://testserver/webhooks/zoho-crm/",
    )


def _qbo(client, body: bytes):
    signature = base64.b64encode(hmac.new(VERIFIER.encode(), body, hashlib.sha256).digest())
    return client.post(
        reverse("webhook", kwargs={"system": "qbo"}),
        data=body,
        content_type="application/json",
        HTTP_INTUIT_SIGNATURE=signature.decode(),
    )


def _crm(client, body: bytes):
    return client.post(
        reverse("webhook", kwargs={"system": "zoho-crm"}),
        data=body,
        content_type="application/json",
    )


def _nested(levels: int) -> dict:
    inner: dict = {"x": 1}
    for _ in range(levels):
        inner = {"x": inner}
    return inner


def _notification(ids: list) -> bytes:
    return json.dumps(
        {
            "channel_id": "1000000068001",
            "token": CHANNEL_TOKEN,
            "module": "Accounts",
            "operation": "update",
            "server_time": 1764000000000,
            "ids": ids,
        }
    ).encode()


HOSTILE = {
    "nested-100000-deep": DEEP,
    "nested-past-the-limit": json.dumps({"eventNotifications": [_nested(40)]}).encode(),
    "latin-1-not-utf-8": '{"eventNotifications": ["Café"]}'.encode("latin-1"),
    "truncated": b'{"eventNotifications": [{"realmId": "310687"',
    "nul-bytes": b"\x00" * 64,
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_qbo_hostile_bodies_get_400_and_store_nothing(client, company, body):
    response = _qbo(client, body)
    assert response.status_code == 400
    assert "malformed" in response.json()["error"]
    assert ChangeEvent.objects.count() == 0


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_crm_hostile_bodies_get_400_and_store_nothing(client, channel, body):
    response = _crm(client, body)
    assert response.status_code == 400
    assert "malformed" in response.json()["error"]
    assert ChangeEvent.objects.count() == 0


@pytest.mark.parametrize(
    "ids", [[{"$gt": ""}], "1,2,3", [["1"]], [True]], ids=["object", "string", "nested", "bool"]
)
def test_crm_ids_that_are_not_ids_get_400(client, channel, ids):
    assert _crm(client, _notification(ids)).status_code == 400
    assert ChangeEvent.objects.count() == 0


def test_a_delivery_naming_5000_records_is_taken_in_bounded_batches(client, channel):
    ids = [str(4150868000001000000 + n) for n in range(5_000)]
    body = _notification(ids)
    tracemalloc.start()
    try:
        response = _crm(client, body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 200
    assert response.json() == {"received": 5_000, "new": 5_000}
    assert ChangeEvent.objects.filter(entity="Accounts").count() == 5_000
    # A row object per record at once took 4 times the memory (8 MiB here, 33 MiB at 20,000
    # ids); the batches keep it close to the size of the body.
    assert peak < 5 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"

    again = _crm(client, body)
    assert again.json()["new"] == 0, "a redelivery adds nothing"
