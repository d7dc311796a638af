"""Webhooks out: signed deliveries in both formats, for API, console and batch changes.

The receiver is registered on `mock_http` (the boundary); the signature is recomputed here with
the company's verifier token, as the product's webhook view must do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

import pytest
import responses

from connectors.sandbox.delivery import deliveries_run_due
from connectors.sandbox.models import FaultProfile, OutboundDelivery
from connectors.sandbox.qbo.models import Company
from connectors.sandbox.qbo.services import company_create, record_create, record_update
from tests.sandbox.qbo.conftest import LIVE_DB, Connected, connect

pytestmark = LIVE_DB

HOOK = "https://hooks.example.test/qbo"


@pytest.fixture
def receiver(mock_http: responses.RequestsMock) -> responses.RequestsMock:
    mock_http.add(responses.POST, HOOK, status=200)
    return mock_http


def delivered(mock: responses.RequestsMock) -> list[Any]:
    """Send what is due and answer the requests that reached the receiver (in no promised
    order: Intuit does not promise one either)."""
    deliveries_run_due()
    return [call.request for call in mock.calls if call.request.url == HOOK]


def expected_signature(company: Company, body: bytes) -> str:
    digest = hmac.new(company.verifier_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def test_legacy_delivery_for_an_api_create(
    qbo: Connected, company: Company, receiver: responses.RequestsMock
) -> None:
    customer = qbo.create("Customer", {"DisplayName": "Hooked"})

    [request] = delivered(receiver)

    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["intuit-signature"] == expected_signature(company, request.body)
    notification = json.loads(request.body)["eventNotifications"][0]
    assert notification["realmId"] == company.realm_id
    [entity] = notification["dataChangeEvent"]["entities"]
    assert (entity["name"], entity["id"], entity["operation"]) == (
        "Customer",
        customer["Id"],
        "Create",
    )
    assert entity["lastUpdated"].endswith("Z")
    assert OutboundDelivery.objects.get().status == OutboundDelivery.Status.DELIVERED


def test_cloudevents_delivery_for_console_changes(
    sandbox: str, receiver: responses.RequestsMock
) -> None:
    company = company_create(name="Cloudy", webhook_format="cloudevents", webhook_url=HOOK)
    connect(sandbox, company)
    customer = record_create(company=company, entity="Customer", data={"DisplayName": "Cloud"})
    record_update(company=company, entity="Customer", record_id=customer["Id"], data={"Notes": "n"})

    requests_seen = delivered(receiver)

    assert len(requests_seen) == 2
    types = []
    for request in requests_seen:
        assert request.headers["Content-Type"] == "application/cloudevents+json"
        assert request.headers["intuit-signature"] == expected_signature(company, request.body)
        [event] = json.loads(request.body)
        assert event["specversion"] == "1.0"
        assert uuid.UUID(event["id"])
        assert event["source"].startswith("intuit.")
        assert event["datacontenttype"] == "application/json"
        assert (event["intuitentityid"], event["intuitaccountid"]) == (
            customer["Id"],
            company.realm_id,
        )
        assert event["data"] == {}
        types.append(event["type"])
    assert sorted(types) == ["qbo.customer.created.v1", "qbo.customer.updated.v1"]


def test_deactivate_delete_and_void_operations(
    qbo: Connected, company: Company, receiver: responses.RequestsMock
) -> None:
    customer = qbo.create("Customer", {"DisplayName": "Short Lived"})
    line = {"DetailType": "SalesItemLineDetail", "Amount": 5, "SalesItemLineDetail": {}}
    invoices = [
        qbo.create("Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [line]})
        for _ in range(2)
    ]
    qbo.post("invoice", {"Id": invoices[0]["Id"], "SyncToken": "0"}, operation="delete")
    qbo.post("invoice", {"Id": invoices[1]["Id"], "SyncToken": "0"}, operation="void")
    qbo.create(
        "Customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    )

    events = [
        entity
        for request in delivered(receiver)
        for entity in json.loads(request.body)["eventNotifications"][0]["dataChangeEvent"][
            "entities"
        ]
    ]

    assert sorted((e["name"], e["id"], e["operation"]) for e in events) == sorted(
        [
            ("Customer", customer["Id"], "Create"),
            ("Invoice", invoices[0]["Id"], "Create"),
            ("Invoice", invoices[1]["Id"], "Create"),
            ("Invoice", invoices[0]["Id"], "Delete"),
            ("Invoice", invoices[1]["Id"], "Void"),
            ("Customer", customer["Id"], "Delete"),  # a name list's only delete: inactive
        ]
    )


def test_a_batch_is_one_delivery(qbo: Connected, receiver: responses.RequestsMock) -> None:
    items = [
        {"bId": str(n), "operation": "create", "Vendor": {"DisplayName": f"Vendor {n}"}}
        for n in range(3)
    ] + [{"bId": "dup", "operation": "create", "Vendor": {"DisplayName": "Vendor 0"}}]

    qbo.post("batch", {"BatchItemRequest": items})

    [request] = delivered(receiver)
    entities = json.loads(request.body)["eventNotifications"][0]["dataChangeEvent"]["entities"]
    assert [e["operation"] for e in entities] == ["Create"] * 3  # the failed item sent nothing


def test_failed_requests_send_nothing(qbo: Connected, receiver: responses.RequestsMock) -> None:
    qbo.post("customer", {"Notes": "no name"})

    assert delivered(receiver) == []


def test_no_delivery_when_webhooks_are_off(
    qbo: Connected, profile: FaultProfile, receiver: responses.RequestsMock
) -> None:
    profile.webhooks_enabled = False
    profile.save()

    qbo.create("Customer", {"DisplayName": "Quiet"})

    assert not OutboundDelivery.objects.exists()
    assert delivered(receiver) == []


def test_default_webhook_url_is_the_products_own_view(settings: Any) -> None:
    settings.PUBLIC_BASE_URL = "https://connector.example.com"

    company = company_create(name="Defaults")

    assert company.webhook_url == "https://connector.example.com/webhooks/qbo/"
    assert company.webhook_format == "legacy"
    assert company.verifier_token
