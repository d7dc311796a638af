"""CRM notification channels: enable, deliver ids only to notify_url, expiry, renewal with
PATCH (and NOT_SUBSCRIBED once a channel is gone), listing and disabling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.sandbox.delivery import deliveries_run_due
from connectors.sandbox.models import FaultProfile, OutboundDelivery, Vendor
from connectors.sandbox.zoho import services
from connectors.sandbox.zoho.models import CrmChannel
from tests.sandbox.zoho.conftest import (
    SANDBOX_APPS,
    fixture,
)
from tests.sandbox.zoho.shapes import assert_same_shape

pytestmark = pytest.mark.django_db(transaction=True, available_apps=SANDBOX_APPS)

CHANNEL_TOKEN = "verify-me-0123456789"


def enable(crm, zoho, receiver, **overrides):
    watch = {
        "channel_id": 1000000068001,
        "events": ["Contacts.all", "Accounts.create"],
        "notify_url": f"{receiver.url}/zoho/notify?connection=7",
        "token": CHANNEL_TOKEN,
        **overrides,
    }
    return crm.post(f"{zoho.crm}/actions/watch", json={"watch": [watch]}, timeout=10)


def test_enable_answers_each_watched_module(zoho, crm, receiver):
    response = enable(crm, zoho, receiver)

    assert response.status_code == 201
    entry = response.json()["watch"][0]
    assert entry["code"] == "SUCCESS"
    events = entry["details"]["events"]
    assert {e["resource_name"] for e in events} == {"Accounts", "Contacts"}
    assert events[0]["resource_uri"] == f"{zoho.crm}/{events[0]['resource_name']}"
    assert events[0]["channel_id"] == "1000000068001"
    expiry = datetime.fromisoformat(events[0]["channel_expiry"])
    assert timedelta(minutes=59) < expiry - datetime.now(tz=UTC) <= timedelta(hours=1)


def test_changes_are_delivered_as_ids_only(zoho, crm, crm_org, receiver):
    enable(crm, zoho, receiver, return_affected_field_values=False)

    created = crm.post(
        f"{zoho.crm}/Contacts",
        json={"data": [{"Last_Name": "Nova", "Email": "nova@example.test"}]},
        timeout=10,
    ).json()["data"][0]["details"]["id"]
    services.crm_record_update(
        org=crm_org, module="Contacts", record_id=created, data={"Title": "CTO"}
    )
    services.crm_record_delete(org=crm_org, module="Contacts", record_id=created)
    services.crm_record_create(org=crm_org, module="Accounts", data={"Account_Name": "Watched"})
    services.crm_record_create(
        org=crm_org, module="Deals", data={"Deal_Name": "Unwatched", "Stage": "Qualification"}
    )

    assert deliveries_run_due() == 4
    # Keyed by what happened: the shared delivery queue does not promise an order.
    bodies = {(r.json()["module"], r.json()["operation"]): r for r in receiver.requests}
    assert set(bodies) == {
        ("Contacts", "insert"),
        ("Contacts", "update"),
        ("Contacts", "delete"),
        ("Accounts", "insert"),
    }
    insert = bodies["Contacts", "insert"].json()
    update = bodies["Contacts", "update"].json()
    assert insert["ids"] == [created]
    assert insert["token"] == CHANNEL_TOKEN
    assert insert["channel_id"] == "1000000068001"
    assert insert["query_params"] == {"connection": "7"}
    assert insert["resource_uri"] == f"{zoho.crm}/Contacts"
    assert "Last_Name" not in str(insert)  # ids only: no record data
    assert update["affected_fields"] == [{created: ["Title"]}]
    assert bodies["Contacts", "delete"].path == "/zoho/notify?connection=7"
    assert_same_shape(insert, fixture("crm_notification_callback.json"))


def test_affected_values_come_only_when_asked(zoho, crm, crm_org, receiver):
    enable(crm, zoho, receiver, return_affected_field_values=True)
    record = services.crm_record_create(org=crm_org, module="Contacts", data={"Last_Name": "V"})
    services.crm_record_update(
        org=crm_org, module="Contacts", record_id=record.record_id, data={"Title": "CEO"}
    )

    deliveries_run_due()

    update = next(r.json() for r in receiver.requests if r.json()["operation"] == "update")
    assert update["affected_values"] == [
        {"record_id": record.record_id, "values": {"Title": "CEO"}}
    ]


def test_no_callbacks_when_the_profile_disables_webhooks(zoho, crm, crm_org, receiver):
    enable(crm, zoho, receiver)
    FaultProfile.objects.update_or_create(
        vendor=Vendor.ZOHO_CRM, defaults={"webhooks_enabled": False}
    )

    services.crm_record_create(org=crm_org, module="Contacts", data={"Last_Name": "Quiet"})

    assert OutboundDelivery.objects.count() == 0


def test_an_expired_channel_vanishes_and_patch_is_not_subscribed(zoho, crm, crm_org, receiver):
    enable(crm, zoho, receiver)
    CrmChannel.objects.update(expires_at=datetime.now(tz=UTC) - timedelta(seconds=1))

    services.crm_record_create(org=crm_org, module="Contacts", data={"Last_Name": "Late"})
    renewal = crm.patch(
        f"{zoho.crm}/actions/watch",
        json={"watch": [{"channel_id": 1000000068001, "channel_expiry": _in(days=6)}]},
        timeout=10,
    )
    listing = crm.get(f"{zoho.crm}/actions/watch", timeout=10)

    assert OutboundDelivery.objects.count() == 0
    assert renewal.status_code == 400
    assert renewal.json()["watch"][0]["code"] == "NOT_SUBSCRIBED"
    assert listing.status_code == 204
    assert CrmChannel.objects.count() == 0


def test_patch_extends_a_live_channel_up_to_a_week(zoho, crm, receiver):
    enable(crm, zoho, receiver)

    renewed = crm.patch(
        f"{zoho.crm}/actions/watch",
        json={"watch": [{"channel_id": "1000000068001", "channel_expiry": _in(days=6)}]},
        timeout=10,
    )
    too_long = crm.patch(
        f"{zoho.crm}/actions/watch",
        json={"watch": [{"channel_id": "1000000068001", "channel_expiry": _in(days=8)}]},
        timeout=10,
    )

    assert renewed.status_code == 200
    expiry = datetime.fromisoformat(
        renewed.json()["watch"][0]["details"]["events"][0]["channel_expiry"]
    )
    assert expiry - datetime.now(tz=UTC) > timedelta(days=5)
    # Zoho: an expiry beyond a week falls back to the one-hour default.
    fallback = too_long.json()["watch"][0]["details"]["events"][0]["channel_expiry"]
    assert datetime.fromisoformat(fallback) - datetime.now(tz=UTC) <= timedelta(hours=1)


def test_patch_can_add_and_remove_events(zoho, crm, receiver):
    enable(crm, zoho, receiver)

    crm.patch(
        f"{zoho.crm}/actions/watch",
        json={"watch": [{"channel_id": 1000000068001, "events": ["Deals.edit"]}]},
        timeout=10,
    )
    crm.patch(
        f"{zoho.crm}/actions/watch",
        json={
            "watch": [
                {"channel_id": 1000000068001, "events": ["Accounts.create"], "_delete_events": True}
            ]
        },
        timeout=10,
    )

    assert CrmChannel.objects.get().events == ["Contacts.all", "Deals.edit"]


def test_get_lists_channels_and_delete_stops_them(zoho, crm, receiver):
    enable(crm, zoho, receiver)

    listing = crm.get(
        f"{zoho.crm}/actions/watch", params={"channel_id": "1000000068001"}, timeout=10
    ).json()
    contacts_only = crm.get(
        f"{zoho.crm}/actions/watch", params={"module": "Contacts"}, timeout=10
    ).json()
    deleted = crm.delete(
        f"{zoho.crm}/actions/watch", params={"channel_ids": "1000000068001"}, timeout=10
    )

    assert {w["resource_name"] for w in listing["watch"]} == {"Accounts", "Contacts"}
    assert listing["watch"][0]["notify_url"].endswith("/zoho/notify?connection=7")
    assert [w["events"] for w in contacts_only["watch"]] == [["Contacts.all"]]
    assert deleted.json()["watch"][0]["code"] == "SUCCESS"
    assert CrmChannel.objects.count() == 0


def test_enable_validates_each_channel(zoho, crm, receiver):
    response = crm.post(
        f"{zoho.crm}/actions/watch",
        json={
            "watch": [
                {
                    "channel_id": 1,
                    "events": ["Contacts.all"],
                    "notify_url": receiver.url,
                    "token": "t" * 51,
                },
                {"channel_id": 2, "events": ["Widgets.all"], "notify_url": receiver.url},
                {"channel_id": 3, "notify_url": receiver.url},
                {"channel_id": 4, "events": ["Contacts.edit"], "notify_url": receiver.url},
            ]
        },
        timeout=10,
    )

    entries = response.json()["watch"]
    assert response.status_code == 202
    assert entries[0]["code"] == "INVALID_DATA"
    assert entries[0]["details"]["api_name"] == "token"
    assert entries[1]["code"] == "INVALID_DATA"
    assert entries[2] == {
        "code": "MANDATORY_NOT_FOUND",
        "details": {"api_name": "events", "json_path": "$.watch[2].events"},
        "message": "required field not found",
        "status": "error",
    }
    assert entries[3]["code"] == "SUCCESS"


def test_a_failing_receiver_is_retried_later(zoho, crm, crm_org, receiver):
    enable(crm, zoho, receiver)
    receiver.status = 503

    services.crm_record_create(org=crm_org, module="Contacts", data={"Last_Name": "Retry"})
    deliveries_run_due()

    delivery = OutboundDelivery.objects.get()
    assert delivery.status == OutboundDelivery.Status.PENDING
    assert delivery.last_status_code == 503
    assert delivery.attempts == 1


def _in(**delta: float) -> str:
    return (datetime.now(tz=UTC) + timedelta(**delta)).isoformat(timespec="seconds")


def test_put_replaces_every_detail(zoho, crm, receiver):
    enable(crm, zoho, receiver, return_affected_field_values=True)

    replaced = crm.put(
        f"{zoho.crm}/actions/watch",
        json={
            "watch": [
                {
                    "channel_id": 1000000068001,
                    "events": ["Deals.all"],
                    "notify_url": f"{receiver.url}/other",
                }
            ]
        },
        timeout=10,
    )

    channel = CrmChannel.objects.get()
    assert replaced.status_code == 200
    assert channel.events == ["Deals.all"]
    assert channel.notify_url.endswith("/other")
    assert channel.token == ""  # not given, so gone
    assert channel.return_affected_field_values is False
