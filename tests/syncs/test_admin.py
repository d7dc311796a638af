"""The sync console renders with data in it, without a query per row, and its actions work."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from connectors.models import Connection
from syncs.errors import Classification
from syncs.inbox import event_record
from syncs.models import SyncError, SyncFlow
from syncs.records import RunCounts, audit_record, link_save, run_finish, run_start
from syncs.services import flow_create_with_defaults, sync_error_record
from tests.factories import connection_create

pytestmark = pytest.mark.django_db

MODELS = ("syncflow", "syncerror", "syncrun", "auditentry", "changeevent", "recordlink")


def flow_with_history(qbo: Connection, crm: Connection, name: str, entity: str) -> SyncFlow:
    flow = flow_create_with_defaults(
        name=name, source=qbo, target=crm, source_entity="Customer", target_entity=entity
    )
    run = run_start(flow=flow, kind="live", triggered_by="webhook")
    run_finish(run, counts=RunCounts(read=2, created=1, failed=1))
    for source_id, classification in (
        ("2", Classification("duplicate", False, "Duplicate records exist in system.")),
        ("3", Classification("rate_limited", True, "API limit exceeded", "TOO_MANY_REQUESTS")),
    ):
        sync_error_record(
            flow=flow,
            run=run,
            source_id=source_id,
            classification=classification,
            payload={"Account_Name": "Bill's Windsurf Shop"},
            source_name="Bill's Windsurf Shop",
            details={"api_name": "Account_Name"},
        )
    link = link_save(flow=flow, source_id="1", target_id=f"{flow.pk}-9001")
    audit_record(
        flow=flow,
        run=run,
        link=link,
        action="create",
        source_id="1",
        target_id=link.target_id,
        after={"Account_Name": "Amy's Bird Sanctuary"},
    )
    return flow


@pytest.fixture
def populated(qbo, crm) -> SyncFlow:
    flow = flow_with_history(qbo, crm, "Customers to Accounts", "Accounts")
    event_record(
        connection=qbo,
        entity="Customer",
        external_id="2",
        version="3",
        operation="update",
        origin="webhook",
    )
    return flow


@pytest.mark.parametrize("model", MODELS)
def test_changelists_render_with_data(admin_client, populated, model):
    response = admin_client.get(reverse(f"admin:syncs_{model}_changelist"))
    assert response.status_code == 200


def test_flow_changelist_shows_state_last_run_and_open_errors(admin_client, populated):
    content = admin_client.get(reverse("admin:syncs_syncflow_changelist")).content.decode()
    assert "Customers to Accounts" in content
    assert ">Active</span>" in content
    assert ">Partly failed</span>" in content
    errors_url = reverse("admin:syncs_syncerror_changelist")
    assert (
        f'href="{errors_url}?flow__id__exact={populated.pk}&amp;status__in=open,retrying">2<'
        in (content)
    )


def test_flow_changelist_queries_do_not_grow_with_the_number_of_flows(admin_client, populated, qbo):
    url = reverse("admin:syncs_syncflow_changelist")
    with CaptureQueriesContext(db) as one_flow:
        admin_client.get(url)
    for n in range(4):
        crm = connection_create(Connection.System.ZOHO_CRM, name=f"CRM {n}")
        flow_with_history(qbo, crm, f"Flow {n}", "Contacts")
    with CaptureQueriesContext(db) as five_flows:
        response = admin_client.get(url)
    assert response.content.decode().count(">Active</span>") == 5
    assert len(five_flows) == len(one_flow)


def test_flow_change_page_has_the_mappings_inline(admin_client, populated):
    response = admin_client.get(reverse("admin:syncs_syncflow_change", args=[populated.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert "PrimaryPhone.FreeFormNumber" in content
    assert 'name="mappings-TOTAL_FORMS" value="17"' in content  # no empty extra rows


def test_pause_action(admin_client, populated):
    url = reverse("admin:syncs_syncflow_changelist")
    data = {"action": "pause_selected", "_selected_action": [populated.pk]}
    response = admin_client.post(url, data, follow=True)
    assert "Paused 1 flow(s)." in response.content.decode()
    populated.refresh_from_db()
    assert populated.state == "paused"
    response = admin_client.post(url, {**data, "action": "resume_selected"}, follow=True)
    assert (
        "Resumed 1 flow(s); 0 record(s) that waited are syncing now." in response.content.decode()
    )
    populated.refresh_from_db()
    assert populated.state == "active"


def test_error_changelist_colours_filters_and_search(admin_client, populated, qbo, crm):
    url = reverse("admin:syncs_syncerror_changelist")
    content = admin_client.get(url).content.decode()
    assert "#6a1b9a" in content and ">Duplicate</span>" in content  # data: purple
    assert "#b26a00" in content and ">Retrying</span>" in content  # clears by itself: amber
    assert "<strong>Bill&#x27;s Windsurf Shop (2)</strong><br>Duplicate records exist" in content
    assert ", next at " in content  # the rate-limited one retries by itself
    for query, expected in (
        ({"category__exact": "duplicate"}, 1),
        ({"status__in": "open,retrying"}, 2),
        ({"flow__id__exact": populated.pk}, 2),
        ({"connection": qbo.pk}, 2),
        ({"connection": crm.pk}, 2),
        ({"q": "Windsurf"}, 2),
        ({"q": "3"}, 1),
    ):
        response = admin_client.get(url, query)
        assert response.status_code == 200, query
        assert response.context["cl"].result_count == expected, query
    other = connection_create(Connection.System.ZOHO_BOOKS, name="Books")
    assert admin_client.get(url, {"connection": other.pk}).context["cl"].result_count == 0


def test_error_detail_is_read_only_and_shows_the_payload(admin_client, populated):
    error = SyncError.objects.get(source_id="2")
    response = admin_client.get(reverse("admin:syncs_syncerror_change", args=[error.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "&quot;Account_Name&quot;: &quot;Bill&#x27;s Windsurf Shop&quot;" in content
    assert 'name="message"' not in content  # nothing to edit
    assert admin_client.get(reverse("admin:syncs_syncerror_add")).status_code == 403


def test_ignore_selected_errors(admin_client, populated):
    errors = list(SyncError.objects.values_list("pk", flat=True))
    response = admin_client.post(
        reverse("admin:syncs_syncerror_changelist"),
        {"action": "ignore_selected", "_selected_action": errors},
        follow=True,
    )
    assert "Ignored 2 open error(s)." in response.content.decode()
    assert set(SyncError.objects.values_list("status", flat=True)) == {"ignored"}


@pytest.mark.parametrize("model", ("syncrun", "auditentry", "changeevent", "recordlink"))
def test_history_cannot_be_added_or_edited(admin_client, populated, model):
    assert admin_client.get(reverse(f"admin:syncs_{model}_add")).status_code == 403
    changelist = admin_client.get(reverse(f"admin:syncs_{model}_changelist"))
    assert changelist.context["has_add_permission"] is False


def test_a_run_is_viewed_not_changed_or_deleted(admin_client, populated):
    run = populated.runs.get()
    change_url = reverse("admin:syncs_syncrun_change", args=[run.pk])
    page = admin_client.get(change_url)
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert page.context["has_delete_permission"] is False
    assert admin_client.post(change_url, {"kind": "force"}).status_code == 403
    delete_url = reverse("admin:syncs_syncrun_delete", args=[run.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    run.refresh_from_db()
    assert run.kind == "live"


def test_run_changelist_shows_counts_and_duration(admin_client, populated):
    run = populated.runs.get()
    run.duration = timedelta(seconds=42)
    run.save(update_fields=["duration"])
    content = admin_client.get(reverse("admin:syncs_syncrun_changelist")).content.decode()
    assert ">Partly failed</span>" in content
    assert "0:00:42" in content


def test_disable_and_enable_actions(admin_client, populated):
    url = reverse("admin:syncs_syncflow_changelist")
    data = {"action": "disable_selected", "_selected_action": [populated.pk]}
    assert "Disabled 1 flow(s)." in admin_client.post(url, data, follow=True).content.decode()
    populated.refresh_from_db()
    assert populated.state == "disabled"
    response = admin_client.post(url, {**data, "action": "enable_selected"}, follow=True)
    assert "Enabled 1 flow(s)" in response.content.decode()
    populated.refresh_from_db()
    assert populated.state == "active"
