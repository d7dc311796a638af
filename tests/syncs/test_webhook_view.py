"""One `/webhooks/<system>/` view for every system: the system's receiver verifies and reads the
delivery, the view keeps its changes in the inbox. Zoho Books deliveries carry the whole record,
which the inbox keeps so the engine need not read it again."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from connectors.base.records import record_from_json
from connectors.models import Connection
from connectors.sandbox.zoho.books_webhooks import webhook_signature
from syncs.inbox import pushed_record
from syncs.models import ChangeEvent
from tests.factories import connected, connection_create

pytestmark = pytest.mark.django_db

SECRET = "booksSecret1234567890"
ORG = "60012345678"
CONTACT = {
    "contact_id": "4815000000044080",
    "contact_name": "Bowman & Co",
    "email": "ap@bowman.example",
    "status": "active",
    "last_modified_time": "2026-12-03T10:15:02+0530",
}


@pytest.fixture
def books() -> Connection:
    return connected(
        connection_create(Connection.System.ZOHO_BOOKS, organization_id=ORG),
        webhook_secret=SECRET,
    )


def deliver(client, body: str, *, params: dict[str, str], secret: str = SECRET):
    signature = webhook_signature(secret=secret, body=body, params=sorted(params.items()))
    url = reverse("webhook", kwargs={"system": "zoho-books"})
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.post(
        f"{url}?{query}",
        data=body,
        content_type="application/json",
        headers={"X-Zoho-Webhook-Signature": signature},
    )


def test_a_books_delivery_is_kept_with_its_record(client, books):
    body = json.dumps({"contact": CONTACT})
    response = deliver(client, body, params={"organization_id": ORG, "event": "updated"})

    assert response.status_code == 200, response.content
    assert response.json() == {"received": 1, "new": 1}
    event = ChangeEvent.objects.get()
    assert (event.connection, event.entity, event.external_id, event.operation) == (
        books,
        "Contact",
        CONTACT["contact_id"],
        "update",
    )
    assert event.version == CONTACT["last_modified_time"]
    record = pushed_record(event)
    assert record is not None and record.data == CONTACT and record.name == "Bowman & Co"
    assert (
        record.modified_at is not None and record.modified_at.utcoffset().total_seconds() == 19800
    )


def test_the_same_record_again_adds_nothing_and_a_deletion_is_marked(client, books):
    body = json.dumps({"contact": CONTACT})
    deliver(client, body, params={"organization_id": ORG})
    again = deliver(client, body, params={"organization_id": ORG})
    assert again.json() == {"received": 1, "new": 0}

    gone = json.dumps({"contact": {**CONTACT, "last_modified_time": "2026-12-03T11:00:00+0530"}})
    deliver(client, gone, params={"organization_id": ORG, "event": "deleted"})
    deleted = ChangeEvent.objects.get(operation="delete")
    assert record_from_json(deleted.payload["record"]).deleted is True
    assert ChangeEvent.objects.count() == 2


@pytest.mark.parametrize(
    ("params", "secret", "why"),
    [
        ({"organization_id": ORG}, "anotherSecret12345", "signed with another secret"),
        ({"organization_id": "999"}, SECRET, "an organization not connected here"),
        ({}, SECRET, "no organization named"),
    ],
)
def test_a_forged_books_delivery_is_refused_and_nothing_kept(client, books, params, secret, why):
    response = deliver(client, json.dumps({"contact": CONTACT}), params=params, secret=secret)
    assert response.status_code == 401, why
    assert not ChangeEvent.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        json.dumps({"contact": {"contact_name": "no id"}}),
        json.dumps({"contact": CONTACT, "invoice": {"invoice_id": "1"}}),
        json.dumps(["contact"]),
        "\xff not json",
    ],
    ids=["nested 100,000 deep", "no id", "two records", "not an object", "not json"],
)
def test_a_signed_but_malformed_delivery_is_a_400(client, books, body):
    response = deliver(client, body, params={"organization_id": ORG})
    assert response.status_code == 400
    assert "malformed delivery" in response.json()["error"]
    assert not ChangeEvent.objects.exists()


def test_a_system_without_webhooks_is_not_found(client):
    for path in ("qbd", "nothing-here"):
        response = client.post(
            reverse("webhook", kwargs={"system": path}), data="{}", content_type="application/json"
        )
        assert response.status_code == 404


def test_the_old_addresses_are_the_same_view(client):
    assert reverse("webhook", kwargs={"system": "qbo"}) == "/webhooks/qbo/"
    assert reverse("webhook", kwargs={"system": "zoho-crm"}) == "/webhooks/zoho-crm/"
    assert client.get("/webhooks/zoho-books/").status_code == 405


def deliver_to(client, path: str, body: str, *, secret: str = SECRET):
    signature = webhook_signature(secret=secret, body=body, params=[])
    return client.post(
        path,
        data=body,
        content_type="application/json",
        headers={"X-Zoho-Webhook-Signature": signature},
    )


def test_a_books_delivery_to_its_connections_own_path_is_kept(client, books):
    url = reverse("webhook-connection", kwargs={"system": "zoho-books", "connection": books.pk})
    assert url == f"/webhooks/zoho-books/{books.pk}/"

    response = deliver_to(client, url, json.dumps({"contact": CONTACT}))

    assert response.status_code == 200, response.content
    event = ChangeEvent.objects.get()
    assert (event.connection, event.entity) == (books, "Contact")


def test_a_forged_delivery_to_a_connections_path_is_refused_and_nothing_kept(client, books):
    other = connection_create(Connection.System.ZOHO_CRM, name="CRM")
    body = json.dumps({"contact": CONTACT})

    forged = deliver_to(client, f"/webhooks/zoho-books/{books.pk}/", body, secret="guessed")
    elsewhere = deliver_to(client, f"/webhooks/zoho-books/{other.pk}/", body)
    unknown = deliver_to(client, "/webhooks/zoho-books/999999/", body)

    assert [r.status_code for r in (forged, elsewhere, unknown)] == [401, 401, 401]
    assert not ChangeEvent.objects.exists()
