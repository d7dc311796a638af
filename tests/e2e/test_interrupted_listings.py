"""Listings of QuickBooks stopped half-way by an outage. A historical sync says so, stays
running, and the sweep starts it again from the position it reached, with its progress counted
once. A reconciliation poll keeps its cursor, so the next poll lists the same changes again."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from connectors.base.exceptions import ConnectorError
from connectors.sandbox.models import RequestLog, Vendor
from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.zoho.models import CrmRecord
from syncs import runs
from syncs.models import RecordLink, SyncRun
from syncs.services import (
    flow_create_with_defaults,
    flow_cursor_advance,
    flow_history_start,
    flows_history_stalled,
)
from syncs.tasks import flow_history_task
from tests.e2e.conftest import E2E
from tests.integration.conftest import faults

CUSTOMERS = 1500  # two QBO query pages: 1000, then 500


def customers_create(company, count: int) -> None:
    with transaction.atomic():
        for n in range(count):
            qbo_sandbox.record_create(
                company=company, entity="Customer", data={"DisplayName": f"Customer {n:05d}"}
            )


@E2E
def test_an_interrupted_history_resumes_where_it_stopped(
    qbo, crm, qbo_company, sleeps, monkeypatch: pytest.MonkeyPatch
):
    faults(Vendor.QBO, webhooks_enabled=False)
    customers_create(qbo_company, CUSTOMERS)
    flow = flow_create_with_defaults(
        name="Accounts", source=qbo, target=crm, source_entity="Customer", target_entity="Accounts"
    )
    recorded = runs.flow_history_advance

    def outage_after_the_first_page(flow, **progress):
        advanced = recorded(flow, **progress)
        if progress["cursor"].get("start_position") == 1001:
            faults(Vendor.QBO, error_rate=1.0)
        return advanced

    monkeypatch.setattr(runs, "flow_history_advance", outage_after_the_first_page)
    flow_history_start(flow, since=date(2000, 1, 1))

    assert flow_history_task(flow.pk).startswith("failed:")

    flow.refresh_from_db()
    assert flow.history_state == "running"
    assert flow.history_error.endswith("(resumes by itself)")
    assert (flow.history_done, flow.history_total, flow.history_percent) == (1000, CUSTOMERS, 66)
    assert flow.history_cursor == {"start_position": 1001, "interruptions": 1}
    assert CrmRecord.objects.filter(module="Accounts").count() == 1000

    # The outage ends; the sweep finds the history nobody is working on and starts it again.
    faults(Vendor.QBO, error_rate=0.0)
    RequestLog.objects.all().delete()
    assert list(flows_history_stalled(quiet_for=timedelta(0))) == [flow]
    flow_history_task(flow.pk)

    flow.refresh_from_db()
    assert (flow.history_state, flow.history_error) == ("done", "")
    assert (flow.history_done, flow.history_percent) == (CUSTOMERS, 100)
    resumed = SyncRun.objects.filter(flow=flow).latest("pk")
    # Read again from 100 records before the stop, in case of deletions meanwhile; those 100
    # are known and unchanged, so nothing is written twice.
    assert (resumed.created_count, resumed.skipped_count, resumed.failed_count) == (500, 100, 0)
    (query,) = RequestLog.objects.filter(vendor=Vendor.QBO, path__endswith="/query")
    assert "STARTPOSITION 901" in query.query.replace("+", " ")
    assert CrmRecord.objects.filter(module="Accounts").count() == CUSTOMERS
    assert RecordLink.objects.filter(flow=flow).count() == CUSTOMERS
    assert not flows_history_stalled(quiet_for=timedelta(0)).exists()


@E2E
def test_a_poll_stopped_half_way_keeps_its_cursor(qbo, crm, qbo_company, sleeps, monkeypatch):
    faults(Vendor.QBO, webhooks_enabled=False)
    customers_create(qbo_company, CUSTOMERS)
    flow = flow_create_with_defaults(
        name="Accounts", source=qbo, target=crm, source_entity="Customer", target_entity="Accounts"
    )
    # Last reconciled 40 days ago: past CDC's 30 days, so the poll lists by query, by Id.
    long_ago = (timezone.now() - timedelta(days=40)).isoformat()
    flow_cursor_advance(flow, side="source", position={"modified_since": long_ago})
    synced = runs.records_sync

    def outage_after_the_first_page(ctx, page):
        synced(ctx, page)
        faults(Vendor.QBO, error_rate=1.0)

    monkeypatch.setattr(runs, "records_sync", outage_after_the_first_page)
    with pytest.raises(ConnectorError):
        runs.flow_poll(flow)

    flow.refresh_from_db()
    assert flow.cursor["source"] == {"modified_since": long_ago}
    assert CrmRecord.objects.filter(module="Accounts").count() == 1000

    faults(Vendor.QBO, error_rate=0.0)
    monkeypatch.setattr(runs, "records_sync", synced)
    again = runs.flow_poll(flow)

    assert (again.created_count, again.skipped_count, again.failed_count) == (500, 1000, 0)
    flow.refresh_from_db()
    assert flow.cursor["source"]["modified_since"] == again.started_at.isoformat()
    assert CrmRecord.objects.filter(module="Accounts").count() == CUSTOMERS
