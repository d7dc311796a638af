"""A historical sync of 2500 customers: QBO query pages of 1000 in, Zoho upserts of 100 out,
and after the links are lost, matching the CRM's 2500 accounts again through page_token paging."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from connectors.sandbox.models import FaultProfile, RequestLog, Vendor
from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.zoho.models import CrmRecord
from syncs.models import RecordLink
from syncs.runs import flow_history_run
from syncs.services import flow_create_with_defaults, flow_history_start
from tests.e2e.conftest import E2E

CUSTOMERS = 2500


@E2E
def test_2500_customers_backfill_and_relink_through_page_tokens(qbo, crm, qbo_company):
    FaultProfile.objects.update_or_create(vendor=Vendor.QBO, defaults={"webhooks_enabled": False})
    with transaction.atomic():
        for n in range(CUSTOMERS):
            qbo_sandbox.record_create(
                company=qbo_company, entity="Customer", data={"DisplayName": f"Customer {n:05d}"}
            )
    flow = flow_create_with_defaults(
        name="Accounts", source=qbo, target=crm, source_entity="Customer", target_entity="Accounts"
    )

    flow_history_start(flow, since=date(2000, 1, 1))
    run = flow_history_run(flow)

    flow.refresh_from_db()
    assert (run.status, run.created_count, run.failed_count) == ("succeeded", CUSTOMERS, 0)
    assert (flow.history_state, flow.history_done, flow.history_total) == (
        "done",
        CUSTOMERS,
        CUSTOMERS,
    )
    assert run.source_api_calls == 4  # a COUNT(*), then query pages of 1000
    assert (
        run.target_api_calls <= 2 + CUSTOMERS // 100
    )  # metadata, the empty target, upserts of 100
    assert CrmRecord.objects.filter(module="Accounts").count() == CUSTOMERS

    # The links are lost (a reinstall): the next backfill reads the CRM's accounts, 2500 of
    # them through page_token paging, and links every one again without creating any.
    RecordLink.objects.filter(flow=flow).delete()
    RequestLog.objects.all().delete()
    flow_history_start(flow, since=date(2000, 1, 1))
    again = flow_history_run(flow)

    assert (again.created_count, again.updated_count, again.failed_count) == (0, CUSTOMERS, 0)
    assert CrmRecord.objects.filter(module="Accounts").count() == CUSTOMERS
    assert RecordLink.objects.filter(flow=flow).count() == CUSTOMERS
    reads = RequestLog.objects.filter(
        vendor=Vendor.ZOHO_CRM, method="GET", path__endswith="/crm/v8/Accounts"
    )
    assert reads.count() == 13  # 2500 / 200
    assert reads.filter(query__contains="page_token=").count() == 12
    assert not RequestLog.objects.filter(
        response_body__contains="DISCRETE_PAGINATION_LIMIT_EXCEEDED"
    ).exists()
