"""/webhooks/qbo/: recorded payloads signed inside the test; good, duplicate, forged, malformed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from django.urls import reverse

from syncs.models import ChangeEvent
from tests.factories import connection_create
from tests.paths import FIXTURES as SHARED_FIXTURES_ROOT

pytestmark = pytest.mark.django_db

FIXTURES = SHARED_FIXTURES_ROOT / "qbo"
VERIFIER = "verifier-token-for-tests-0001"


def _sign(body: bytes, key: str = VERIFIER) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def _post(
    client, body: bytes, signature: str | None = None, content_type: str = "application/json"
):
    headers = {} if signature is None else {"HTTP_INTUIT_SIGNATURE": signature}
    return client.post(
        reverse("webhook", kwargs={"system": "qbo"}),
        data=body,
        content_type=content_type,
        **headers,
    )


@pytest.fixture
def company():
    return connection_create(realm_id="310687", webhook_secret=VERIFIER)


def test_legacy_delivery_is_recorded_once_even_when_delivered_three_times(client, company):
    body = (FIXTURES / "webhook_legacy_eventnotifications.json").read_bytes()
    answers = [_post(client, body, _sign(body)) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["new"] for a in answers] == [1, 0, 0]
    event = ChangeEvent.objects.get()
    assert (event.connection_id, event.entity, event.external_id, event.operation) == (
        company.pk,
        "Account",
        "1234",
        "create",
    )
    assert event.status == ChangeEvent.Status.PENDING


def test_cloudevents_delivery_is_recorded(client, company):
    body = (FIXTURES / "webhook_cloudevents.json").read_bytes()
    response = _post(client, body, _sign(body), content_type="application/cloudevents+json")
    assert response.status_code == 200
    event = ChangeEvent.objects.get()
    assert (event.entity, event.external_id, event.operation) == ("Customer", "1234", "create")
    assert event.payload["event_id"] == "88cd52aa-33b6-4351-9aa4-47572edbd068"


def test_one_delivery_may_name_several_companies(client, company):
    other = connection_create(name="Other company", realm_id="999001", webhook_secret=VERIFIER)
    body = json.dumps(
        [
            {
                "specversion": "1.0",
                "id": "e1",
                "type": "qbo.customer.updated.v1",
                "time": "2026-11-21T10:00:00Z",
                "intuitentityid": "7",
                "intuitaccountid": "310687",
                "data": {},
            },
            {
                "specversion": "1.0",
                "id": "e2",
                "type": "qbo.vendor.created.v1",
                "time": "2026-11-21T10:00:01Z",
                "intuitentityid": "8",
                "intuitaccountid": "999001",
                "data": {},
            },
        ]
    ).encode()
    assert _post(client, body, _sign(body)).json() == {"received": 2, "new": 2}
    assert set(ChangeEvent.objects.values_list("connection_id", "entity", "operation")) == {
        (company.pk, "Customer", "update"),
        (other.pk, "Vendor", "create"),
    }


@pytest.mark.parametrize(
    "signature",
    [None, "", _sign(b"another body"), _sign(b"{}", key="wrong-verifier")],
    ids=["missing", "empty", "other-body", "wrong-key"],
)
def test_forged_or_missing_signature_stores_nothing(client, company, signature):
    body = (FIXTURES / "webhook_legacy_eventnotifications.json").read_bytes()
    if signature == _sign(b"{}", key="wrong-verifier"):
        signature = _sign(body, key="wrong-verifier")
    response = _post(client, body, signature)
    assert response.status_code == 401
    assert ChangeEvent.objects.count() == 0


def test_unknown_company_stores_nothing(client, company):
    body = json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": "404404",
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Customer",
                                "id": "1",
                                "operation": "Create",
                                "lastUpdated": "2026-11-21T10:00:00Z",
                            }
                        ]
                    },
                }
            ]
        }
    ).encode()
    assert _post(client, body, _sign(body)).status_code == 401
    assert ChangeEvent.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b'{"eventNotifications": "nope"}',
        b'[{"type": "something.else"}]',
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
        b"42",
        json.dumps(
            {"eventNotifications": [{"realmId": {"$gt": ""}, "dataChangeEvent": {"entities": []}}]}
        ).encode(),
    ],
    ids=[
        "not-json",
        "wrong-type",
        "unknown-cloudevent",
        "hostile-xml",
        "scalar",
        "object-as-realm",
    ],
)
def test_malformed_bodies_get_400_and_store_nothing(client, company, body):
    response = _post(client, body, _sign(body))
    assert response.status_code == 400
    assert "malformed" in response.json()["error"]
    assert ChangeEvent.objects.count() == 0


def test_get_is_not_allowed(client):
    assert client.get(reverse("webhook", kwargs={"system": "qbo"})).status_code == 405


def test_an_id_no_vendor_would_send_gets_400_and_stores_nothing(client, company):
    body = json.dumps(
        [
            {
                "specversion": "1.0",
                "id": "e1",
                "type": "qbo.customer.updated.v1",
                "time": "t",
                "intuitentityid": "9" * 10_000,
                "intuitaccountid": "310687",
                "data": {},
            }
        ]
    ).encode()
    response = _post(client, body, _sign(body))
    assert response.status_code == 400
    assert "malformed" in response.json()["error"]
    assert ChangeEvent.objects.count() == 0
