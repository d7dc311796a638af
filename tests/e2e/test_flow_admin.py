"""The flow's admin pages drive the engine: Run now, Historical sync, Force-sync, Retry, and
mappings checked against the CRM's own field metadata before they are saved."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_q.models import OrmQ

from connectors.sandbox.qbo import services as qbo_sandbox
from syncs.live import inbox_drain
from syncs.models import ChangeEvent, SyncError, SyncFlow
from syncs.services import flow_create_with_defaults
from tests.e2e.conftest import E2E
from tests.e2e.test_qbo_to_crm import CUSTOMER, crm_records


@pytest.fixture
def flow(qbo, crm) -> SyncFlow:
    return flow_create_with_defaults(
        name="Accounts", source=qbo, target=crm, source_entity="Customer", target_entity="Accounts"
    )


def _mapping_form(flow: SyncFlow, changes: dict[str, dict]) -> dict:
    """The change form's POST data for the flow and its mapping inline, with `changes` applied
    to the mappings by target field."""
    data = {
        "name": flow.name,
        "source": flow.source_id,
        "source_entity": flow.source_entity,
        "target": flow.target_id,
        "target_entity": flow.target_entity,
        "direction": flow.direction,
        "system_of_truth": flow.system_of_truth,
        "match_keys": '["link", "external_id", "name", "phone"]',
        "options": "{}",
    }
    mappings = list(flow.mappings.all())
    prefix = "mappings"
    data.update({f"{prefix}-TOTAL_FORMS": len(mappings), f"{prefix}-INITIAL_FORMS": len(mappings)})
    for i, m in enumerate(mappings):
        row = {
            "id": m.pk,
            "flow": flow.pk,
            "position": m.position,
            "source_path": m.source_path,
            "target_field": m.target_field,
            "transform": m.transform,
            "transform_options": "{}"
            if not m.transform_options
            else str(m.transform_options).replace("'", '"'),
            "direction": m.direction,
            **({"required": "on"} if m.required else {}),
        }
        row.update(changes.get(m.target_field, {}))
        data.update({f"{prefix}-{i}-{k}": v for k, v in row.items()})
    return data


@E2E
def test_a_mapping_to_an_unknown_crm_field_is_refused_with_a_clear_message(admin_client, flow):
    url = reverse("admin:syncs_syncflow_change", args=[flow.pk])
    response = admin_client.post(
        url, _mapping_form(flow, {"Website": {"target_field": "Web_Site_Typo"}})
    )
    assert response.status_code == 200
    assert "Web_Site_Typo" in response.content.decode()
    assert not flow.mappings.filter(target_field="Web_Site_Typo").exists()

    ok = admin_client.post(url, _mapping_form(flow, {}))
    assert ok.status_code == 302


@E2E
def test_force_sync_and_run_now_buttons(admin_client, flow, qbo_company):
    customer = qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=CUSTOMER)
    page = admin_client.get(reverse("admin:syncs_syncflow_change", args=[flow.pk]))
    assert b"Force-sync one record" in page.content and b"Run now" in page.content

    admin_client.post(
        reverse("admin:syncs_syncflow_force", args=[flow.pk]),
        {"side": "source", "record_id": customer["Id"]},
    )
    event = ChangeEvent.objects.get(origin="admin")
    assert (event.flow_id, event.external_id) == (flow.pk, customer["Id"])
    inbox_drain()
    assert len(crm_records("Accounts")) == 1

    queued = OrmQ.objects.count()
    response = admin_client.post(reverse("admin:syncs_syncflow_run", args=[flow.pk]), follow=True)
    assert b"is running" in response.content
    assert OrmQ.objects.count() == queued + 1 or response.status_code == 200


@E2E
def test_historical_sync_page_starts_a_backfill(admin_client, flow):
    url = reverse("admin:syncs_syncflow_history", args=[flow.pk])
    assert b'type="date"' in admin_client.get(url).content
    admin_client.post(url, {"since": "2024-01-01"})
    flow.refresh_from_db()
    assert (flow.history_state, str(flow.history_since)) == ("running", "2024-01-01")


@E2E
def test_retry_selected_resolves_a_fixed_error(admin_client, flow, qbo_company):
    qbo_sandbox.record_create(company=qbo_company, entity="Customer", data=CUSTOMER)
    error = SyncError.objects.create(
        flow=flow,
        category="invalid_value",
        message="made up for the test",
        source_id="1",
        source_name="Amy's Bird Sanctuary",
    )
    response = admin_client.post(
        reverse("admin:syncs_syncerror_changelist"),
        {"action": "retry_selected", "_selected_action": [error.pk]},
        follow=True,
    )
    assert b"Queued 1 record(s) to sync again." in response.content
    inbox_drain()
    error.refresh_from_db()
    assert error.status == "resolved"
    assert len(crm_records("Accounts")) == 1
