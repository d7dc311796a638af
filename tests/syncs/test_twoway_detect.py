"""Detecting changes on the CRM side of two-way flows: a notification channel per CRM
connection watching exactly the modules two-way flows write to, kept in line with the flows
(hourly and when the admin saves a flow), and a reconciliation of the CRM through
If-Modified-Since that records each changed record in the inbox. Also the schedules that run
them and the historical sync page's defaults and resume."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from connectors.base.exceptions import ConnectorError
from connectors.base.spec import ChannelsEnsured
from connectors.models import Connection, WebhookChannel
from syncs import admin as admin_module
from syncs.engine import POLL_OVERLAP
from syncs.models import ChangeEvent, SyncFlow, SyncRun
from syncs.runs import flow_poll_target
from syncs.services import (
    flow_cursor_advance,
    flow_history_advance,
    flow_history_finish,
    flow_history_start,
    flow_pause,
)
from syncs.tasks import (
    channels_ensure_for_flows,
    channels_ensure_task,
    channels_renew,
    flow_history_task,
)
from tests.factories import connected, connection_create
from tests.syncs.conftest import LOCAL_FIXTURES

pytestmark = pytest.mark.django_db

API = "https://www.zohoapis.com/crm/v8"
WATCH = f"{API}/actions/watch"
TWO_WAY, ONE_WAY = SyncFlow.Direction.TWO_WAY, SyncFlow.Direction.ONE_WAY
SUBSCRIBED = {
    "watch": [
        {
            "code": "SUCCESS",
            "details": {"events": []},
            "message": "Successfully subscribed for actions-watch of the given module",
            "status": "success",
        }
    ]
}
NOT_SUBSCRIBED = {
    "watch": [
        {
            "code": "NOT_SUBSCRIBED",
            "details": {},
            "message": "Not subscribed for actions-watch",
            "status": "error",
        }
    ]
}


@pytest.fixture
def qbo() -> Connection:
    return connected(connection_create(Connection.System.QBO, name="QuickBooks"))


def crm_connection(name: str = "Zoho CRM", domain: str = "https://www.zohoapis.com") -> Connection:
    return connected(connection_create(Connection.System.ZOHO_CRM, name=name), api_domain=domain)


@pytest.fixture
def crm() -> Connection:
    return crm_connection()


def make_flow(
    qbo: Connection,
    crm: Connection,
    target_entity: str,
    direction: str = TWO_WAY,
    source_entity: str = "Customer",
) -> SyncFlow:
    return SyncFlow.objects.create(
        name=f"{source_entity} to {crm.name} {target_entity}",
        source=qbo,
        target=crm,
        source_entity=source_entity,
        target_entity=target_entity,
        direction=direction,
    )


@pytest.fixture
def flow(qbo: Connection, crm: Connection) -> SyncFlow:
    return make_flow(qbo, crm, "Accounts")


def sent(call) -> dict:
    return json.loads(call.request.body)["watch"][0]


# Notification channels ------------------------------------------------------------------------


def test_two_way_flows_get_one_channel_watching_exactly_their_target_modules(
    qbo, crm, mock_http, settings
):
    settings.PUBLIC_BASE_URL = "https://connector.example.com"
    make_flow(qbo, crm, "Accounts")
    make_flow(qbo, crm, "Contacts")
    make_flow(qbo, crm, "Vendors", direction=ONE_WAY, source_entity="Vendor")
    disabled = make_flow(qbo, crm, "Products", source_entity="Item")
    SyncFlow.objects.filter(pk=disabled.pk).update(state=SyncFlow.State.DISABLED)
    post = mock_http.post(WATCH, json=SUBSCRIBED, status=201)

    assert channels_ensure_for_flows() == ChannelsEnsured(ensured=1)

    [call] = post.calls
    body = sent(call)
    assert body["events"] == ["Accounts.all", "Contacts.all"]
    assert body["notify_url"] == "https://connector.example.com/webhooks/zoho-crm/"
    channel = WebhookChannel.objects.get(connection=crm)
    assert (body["channel_id"], body["token"]) == (channel.channel_id, channel.token)
    assert channel.status == WebhookChannel.Status.ACTIVE
    assert channel.expires_at > timezone.now() + timedelta(days=6)

    assert channels_ensure_for_flows() == ChannelsEnsured(ensured=1)
    assert len(mock_http.calls) == 1  # already right: no call


def test_a_paused_two_way_flow_keeps_its_module_watched(qbo, crm, flow, mock_http):
    flow_pause(flow)
    post = mock_http.post(WATCH, json=SUBSCRIBED, status=201)

    channels_ensure_for_flows()

    assert sent(post.calls[0])["events"] == ["Accounts.all"]


def test_the_channel_follows_the_flows_and_stops_when_none_is_two_way(qbo, crm, mock_http):
    accounts, contacts = make_flow(qbo, crm, "Accounts"), make_flow(qbo, crm, "Contacts")
    mock_http.post(WATCH, json=SUBSCRIBED, status=201)
    channels_ensure_for_flows()
    channel_id = WebhookChannel.objects.get().channel_id

    SyncFlow.objects.filter(pk=contacts.pk).update(direction=ONE_WAY)
    put = mock_http.put(WATCH, json=SUBSCRIBED)
    assert channels_ensure_for_flows() == ChannelsEnsured(ensured=1)
    assert sent(put.calls[0])["events"] == ["Accounts.all"]
    assert sent(put.calls[0])["channel_id"] == channel_id

    SyncFlow.objects.filter(pk=accounts.pk).update(direction=ONE_WAY)
    delete = mock_http.delete(WATCH, json={"watch": [{"status": "success", "code": "SUCCESS"}]})
    assert channels_ensure_for_flows() == ChannelsEnsured(stopped=1)
    assert parse_qs(urlsplit(delete.calls[0].request.url).query) == {"channel_ids": [channel_id]}
    assert not WebhookChannel.objects.exists()


def test_a_channel_zoho_has_already_dropped_counts_as_stopped(qbo, crm, flow, mock_http):
    mock_http.post(WATCH, json=SUBSCRIBED, status=201)
    channels_ensure_for_flows()
    SyncFlow.objects.filter(pk=flow.pk).update(direction=ONE_WAY)
    mock_http.delete(WATCH, json=NOT_SUBSCRIBED, status=400)

    assert channels_ensure_for_flows() == ChannelsEnsured(stopped=1)
    assert not WebhookChannel.objects.exists()


def test_zoho_down_is_recorded_on_the_channel_and_the_other_connections_go_on(
    qbo, crm, flow, mock_http
):
    other = crm_connection("Zoho CRM EU", "https://www.zohoapis.eu")
    make_flow(qbo, other, "Accounts")
    mock_http.post(WATCH, json={"code": "INTERNAL_ERROR", "status": "error"}, status=500)
    mock_http.post("https://www.zohoapis.eu/crm/v8/actions/watch", json=SUBSCRIBED, status=201)

    assert channels_ensure_for_flows() == ChannelsEnsured(ensured=1, failed=1)

    failed = WebhookChannel.objects.get(connection=crm)
    assert failed.status == WebhookChannel.Status.FAILED
    assert "HTTP 500" in failed.last_error
    assert WebhookChannel.objects.get(connection=other).status == WebhookChannel.Status.ACTIVE
    # The task the admin queues says so instead of failing.
    assert channels_ensure_task().endswith("1 failed")


def test_a_channel_whose_first_subscription_failed_is_created_once_zoho_is_back(
    qbo, crm, flow, mock_http
):
    mock_http.post(WATCH, json={"code": "INTERNAL_ERROR", "status": "error"}, status=500)
    channels_ensure_for_flows()
    mock_http.replace("POST", WATCH, json=SUBSCRIBED, status=201)
    put = mock_http.put(WATCH, json=NOT_SUBSCRIBED, status=400)

    assert channels_ensure_for_flows() == ChannelsEnsured(ensured=1)

    assert len(put.calls) == 1  # Zoho never knew it: PUT answers NOT_SUBSCRIBED, then POST
    channel = WebhookChannel.objects.get()
    assert (channel.status, channel.last_error) == (WebhookChannel.Status.ACTIVE, "")


def test_connections_that_are_not_connected_and_disabled_channels_are_left_alone(
    qbo, crm, flow, mock_http
):
    other = crm_connection("Zoho CRM 2")
    make_flow(qbo, other, "Accounts")
    Connection.objects.filter(pk=crm.pk).update(status=Connection.Status.NEEDS_REAUTH)
    WebhookChannel.objects.create(
        connection=other,
        kind=WebhookChannel.Kind.ZOHO_CRM_NOTIFICATIONS,
        channel_id="1000000000001",
        notify_url="https://connector.example.com/webhooks/zoho-crm/",
        status=WebhookChannel.Status.DISABLED,
    )

    assert channels_ensure_for_flows() == ChannelsEnsured()
    assert not mock_http.calls


def test_the_hourly_task_ensures_channels_then_renews_them(qbo, crm, flow, mock_http):
    mock_http.post(WATCH, json=SUBSCRIBED, status=201)

    assert channels_renew() == "1 channel(s) in place, 0 stopped, 0 failed; 0 renewed"
    assert WebhookChannel.objects.get().status == WebhookChannel.Status.ACTIVE


# Reconciliation of the CRM side ----------------------------------------------------------------


def account(record_id: str, modified: str, created: str = "2026-11-01T09:00:00+00:00") -> dict:
    return {
        "id": record_id,
        "Account_Name": f"Account {record_id}",
        "Created_Time": created,
        "Modified_Time": modified,
    }


@pytest.fixture
def accounts_api(mock_http):
    """Zoho's Accounts fields (for the field list of the read) and a registered list answer."""
    fields = json.loads((LOCAL_FIXTURES / "zoho_crm_fields_Accounts.json").read_text())
    mock_http.get(f"{API}/settings/fields", json=fields)

    def answer(*pages: list[dict], status: int = 0):
        calls = []
        for i, page in enumerate(pages):
            more = i < len(pages) - 1
            info = {"more_records": more, "next_page_token": f"token-{i}" if more else None}
            calls.append(mock_http.get(f"{API}/Accounts", json={"data": page, "info": info}))
        if not pages and status:
            calls.append(mock_http.get(f"{API}/Accounts", status=status))
        return calls

    return answer


def events() -> list[tuple]:
    return list(
        ChangeEvent.objects.order_by("external_id").values_list(
            "connection_id", "entity", "external_id", "version", "origin", "flow_id", "operation"
        )
    )


def test_crm_records_changed_since_the_cursor_become_target_events(crm, flow, accounts_api):
    cursor = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    flow.cursor = {"target": {"modified_since": cursor.isoformat()}}
    flow.save()
    started = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    [listing] = accounts_api(
        [
            account("5001", "2026-11-20T08:30:00+00:00"),
            account("5002", "2026-11-20T08:40:00+00:00", created="2026-11-20T08:40:00+00:00"),
        ]
    )

    assert flow_poll_target(flow, started_at=started) == 2

    sent_since = listing.calls[0].request.headers["If-Modified-Since"]
    assert sent_since == (cursor - POLL_OVERLAP).isoformat(timespec="seconds")
    update, create = ChangeEvent.Operation.UPDATE, ChangeEvent.Operation.CREATE
    assert events() == [
        (crm.pk, "Accounts", "5001", "2026-11-20T08:30:00+00:00", "poll", flow.pk, update),
        (crm.pk, "Accounts", "5002", "2026-11-20T08:40:00+00:00", "poll", flow.pk, create),
    ]
    flow.refresh_from_db()
    assert flow.cursor["target"] == {"modified_since": started.isoformat()}

    # Listed again (the overlap, an unchanged record): nothing new in the inbox.
    assert flow_poll_target(flow, started_at=started + timedelta(minutes=15)) == 0
    assert len(events()) == 2


def test_the_first_poll_starts_now_not_at_the_beginning_of_the_crm(flow, accounts_api):
    [listing] = accounts_api(status=304)
    started = timezone.now()

    assert flow_poll_target(flow, started_at=started) == 0

    sent_since = listing.calls[0].request.headers["If-Modified-Since"]
    assert sent_since == (started - POLL_OVERLAP).isoformat(timespec="seconds")
    flow.refresh_from_db()
    assert flow.cursor["target"]["modified_since"] == started.isoformat()


def test_one_way_and_blocked_flows_are_not_polled_at_the_crm(qbo, crm, flow, mock_http):
    one_way = make_flow(qbo, crm, "Contacts", direction=ONE_WAY)
    flow_pause(flow)

    assert flow_poll_target(one_way) == 0
    assert flow_poll_target(flow) == 0
    assert not mock_http.calls
    flow.refresh_from_db()
    assert "target" not in flow.cursor


def test_a_failure_mid_listing_keeps_the_cursor_so_the_next_poll_lists_again(
    crm, flow, accounts_api, mock_http
):
    flow.cursor = {"target": {"modified_since": "2026-11-20T08:00:00+00:00"}}
    flow.save()
    first = {
        "data": [account("5001", "2026-11-20T08:30:00+00:00")],
        "info": {"more_records": True, "next_page_token": "token-1"},
    }
    accounts_api()  # the fields only
    mock_http.get(f"{API}/Accounts", json=first)
    mock_http.get(f"{API}/Accounts", json={"code": "INTERNAL_ERROR"}, status=500)

    with pytest.raises(ConnectorError):
        flow_poll_target(flow)

    assert [e[2] for e in events()] == ["5001"]  # the page read is recorded
    flow.refresh_from_db()
    assert flow.cursor["target"] == {"modified_since": "2026-11-20T08:00:00+00:00"}


# The admin -------------------------------------------------------------------------------------


def flow_form(flow: SyncFlow | None, **changes: str) -> dict:
    data = {
        "name": "Customers both ways",
        "source": "",
        "source_entity": "Customer",
        "target": "",
        "target_entity": "Accounts",
        "direction": TWO_WAY,
        "system_of_truth": "source",
        "match_keys": '["link", "email"]',
        "options": "{}",
        "mappings-TOTAL_FORMS": "0",
        "mappings-INITIAL_FORMS": "0",
    }
    if flow is not None:
        data.update(name=flow.name, source=flow.source_id, target=flow.target_id)
    return {**data, **changes}


@pytest.fixture
def queued(monkeypatch) -> list[str]:
    """The tasks enqueued, by function name, whichever broker the suite runs with."""
    names: list[str] = []
    monkeypatch.setattr("syncs.tasks.async_task", lambda func, *args, **kwargs: names.append(func))
    return names


def test_saving_a_flow_two_way_starts_the_crm_cursor_and_queues_the_channel(
    queued, admin_client, qbo, crm, mock_http, django_capture_on_commit_callbacks
):
    url = reverse("admin:syncs_syncflow_add")
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, flow_form(None, source=qbo.pk, target=crm.pk))
    assert response.status_code == 302, response.content.decode()[:2000]

    flow = SyncFlow.objects.get()
    assert datetime.fromisoformat(flow.cursor["target"]["modified_since"]) >= before
    assert queued == ["syncs.tasks.channels_ensure_task"]
    assert not mock_http.calls  # Zoho is called by the worker, never by the save


def test_saving_a_flow_keeps_what_workers_moved_while_the_page_was_saving(
    queued, admin_client, qbo, crm, mock_http, monkeypatch
):
    mock_http.get(f"{API}/settings/fields", json={"fields": []})
    flow = make_flow(qbo, crm, "Accounts", direction=ONE_WAY)
    flow_history_start(flow, since=date(2020, 1, 1))
    moved = {"source": {"modified_since": "2026-11-27T10:00:00+00:00"}}
    validate = admin_module.options_validate

    def a_worker_moves_on(*args, **kwargs):  # after the page loaded the flow, before it saves
        flow_cursor_advance(flow, side="source", position=moved["source"])
        flow_history_advance(flow, cursor={"start_position": 1001}, done=1000)
        return validate(*args, **kwargs)

    monkeypatch.setattr(admin_module, "options_validate", a_worker_moves_on)
    url = reverse("admin:syncs_syncflow_change", args=[flow.pk])
    response = admin_client.post(url, flow_form(flow, direction=ONE_WAY, name="Renamed"))
    assert response.status_code == 302, response.content.decode()[:2000]

    flow.refresh_from_db()
    assert flow.name == "Renamed"
    assert flow.cursor == moved
    assert (flow.history_done, flow.history_cursor) == (1000, {"start_position": 1001})


def test_saving_a_one_way_flow_queues_nothing_and_making_it_one_way_does(
    queued, admin_client, qbo, crm, mock_http, django_capture_on_commit_callbacks
):
    mock_http.get(f"{API}/settings/fields", json={"fields": []})
    flow = make_flow(qbo, crm, "Accounts", direction=ONE_WAY)
    url = reverse("admin:syncs_syncflow_change", args=[flow.pk])
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url, flow_form(flow, direction=ONE_WAY))
    assert queued == []

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url, flow_form(flow, direction=TWO_WAY))
    flow.refresh_from_db()
    stamp = flow.cursor["target"]["modified_since"]
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url, flow_form(flow, direction=TWO_WAY, name="Renamed"))
    flow.refresh_from_db()
    assert flow.cursor["target"]["modified_since"] == stamp  # still two-way: cursor kept
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url, flow_form(flow, direction=ONE_WAY))  # its module stops
    assert queued == ["syncs.tasks.channels_ensure_task"] * 3


def test_the_flow_page_shows_the_crm_channel_of_a_two_way_flow(admin_client, flow, mock_http):
    url = reverse("admin:syncs_syncflow_change", args=[flow.pk])
    assert "None yet" in admin_client.get(url).content.decode()
    mock_http.post(WATCH, json={"code": "INTERNAL_ERROR", "status": "error"}, status=500)
    channels_ensure_for_flows()

    content = admin_client.get(url).content.decode()
    assert ">Failed</span>" in content and "HTTP 500" in content


# Schedules and the historical sync ---------------------------------------------------------------


def test_setup_schedules_replaces_the_schedules_it_renamed():
    Schedule.objects.create(name="Renew Zoho CRM notification channels", func="x")
    Schedule.objects.create(name="Reconcile flows (QBO change data capture)", func="y")
    Schedule.objects.create(name="Ensure and renew Zoho CRM notification channels", func="z")

    call_command("setup_schedules", stdout=StringIO())
    call_command("setup_schedules", stdout=StringIO())

    funcs = dict(Schedule.objects.values_list("name", "func"))
    assert funcs["Ensure and renew notification channels"] == "syncs.tasks.channels_renew"
    assert (
        funcs["Reconcile flows (changes since each cursor, both sides of two-way flows)"]
        == "syncs.tasks.flows_reconcile"
    )
    assert "Renew Zoho CRM notification channels" not in funcs
    assert "Reconcile flows (QBO change data capture)" not in funcs
    assert "Ensure and renew Zoho CRM notification channels" not in funcs


def test_the_historical_sync_starts_on_2000_01_01_unless_the_admin_picks_a_date(admin_client, flow):
    url = reverse("admin:syncs_syncflow_history", args=[flow.pk])
    assert 'value="2000-01-01"' in admin_client.get(url).content.decode()


def test_a_historical_sync_whose_worker_died_is_resumed_from_the_admin(queued, admin_client, flow):
    url = reverse("admin:syncs_syncflow_history", args=[flow.pk])
    admin_client.post(url, {"since": "2020-01-01"})
    run = SyncRun.objects.create(flow=flow, kind=SyncRun.Kind.HISTORICAL)

    response = admin_client.post(url, {"since": "2021-01-01"}, follow=True)
    assert "already running" in response.content.decode()

    SyncRun.objects.filter(pk=run.pk).update(status=SyncRun.Status.FAILED)  # abandoned
    response = admin_client.post(url, {"since": "2021-01-01"}, follow=True)
    assert "from 2020-01-01 had stopped; it is running again" in response.content.decode()
    assert queued == ["syncs.tasks.flow_history_task"] * 2


def test_a_failed_historical_sync_offers_its_date_and_resumes_from_the_admin(
    queued, admin_client, flow
):
    url = reverse("admin:syncs_syncflow_history", args=[flow.pk])
    flow_history_start(flow, since=date(2019, 5, 1))
    flow_history_advance(flow, cursor={"start_position": 301}, done=300, total=900)
    flow_history_finish(flow, error="The refresh token was revoked")

    assert 'value="2019-05-01"' in admin_client.get(url).content.decode()
    response = admin_client.post(url, {"since": "2019-05-01"}, follow=True)

    assert "resumed after its first 300 records" in response.content.decode()
    flow.refresh_from_db()
    assert (flow.history_state, flow.history_cursor) == ("running", {"start_position": 301})
    assert queued == ["syncs.tasks.flow_history_task"]


def test_a_history_task_left_over_from_a_finished_history_does_nothing(flow):
    assert flow_history_task(flow.pk) == "no historical sync to run"
    assert not SyncRun.objects.exists()
