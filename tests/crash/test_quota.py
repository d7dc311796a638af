"""A company's QuickBooks quota spent by another app while the product syncs its changes: the
product pauses for the minute Intuit asks, every worker at once, then syncs the whole burst in
batches. No record waits on an error for a person, and the product does not hammer the
closed window with retries.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from connectors.models import Connection
from connectors.sandbox.models import FaultProfile, RequestLog, Vendor
from connectors.sandbox.zoho.models import CrmRecord
from syncs.models import ChangeEvent, ErrorCategory, RecordLink, SyncError, SyncFlow
from syncs.services import flow_create_with_defaults
from tests.crash.conftest import CRASH, Worker, wait_for

pytestmark = CRASH

PER_MINUTE = 200  # the company's quota in the fake: each batch item counts
CUSTOMERS = 300
BATCH = 30


def other_app_creates(qbo: Connection, base_url: str, total: int) -> int:
    """Another app of the same company creates `total` customers through the batch API, as
    fast as the quota lets it: a 429 makes it wait for the next minute. Returns its 429s."""
    url = f"{base_url}/sandbox/qbo/v3/company/{qbo.realm_id}/batch?minorversion=75"
    headers = {"Authorization": f"Bearer {qbo.access_token}", "Accept": "application/json"}
    refused = 0
    for start in range(0, total, BATCH):
        items = [
            {
                "bId": str(n),
                "operation": "create",
                "Customer": {"DisplayName": f"Burst {n:04d}", "FamilyName": f"Lee{n:04d}"},
            }
            for n in range(start, min(total, start + BATCH))
        ]
        while True:
            answer = requests.post(
                url, json={"BatchItemRequest": items}, headers=headers, timeout=30
            )
            if answer.status_code != 429:
                answer.raise_for_status()
                break
            refused += 1
            time.sleep(61 - time.time() % 60)  # the fake's window is the clock's minute
    return refused


def test_a_quota_spent_by_another_app_pauses_the_product_and_loses_nothing(
    qbo: Connection, crm: Connection, base_url: str, worker: Worker
):
    FaultProfile.objects.update_or_create(
        vendor=Vendor.QBO, defaults={"rate_limit_per_minute": PER_MINUTE}
    )
    flows = [
        flow_create_with_defaults(
            name=f"Customers -> {module}",
            source=qbo,
            target=crm,
            source_entity="Customer",
            target_entity=module,
        )
        for module in ("Accounts", "Contacts")
    ]
    worker.start()

    began = time.monotonic()
    other_refused = other_app_creates(qbo, base_url, CUSTOMERS)
    burst_over = time.monotonic()

    def synced() -> bool:
        return (
            all(RecordLink.objects.filter(flow=f).count() == CUSTOMERS for f in flows)
            and not ChangeEvent.objects.filter(status__in=["pending", "processing"]).exists()
        )

    def state() -> dict[str, Any]:
        return {
            "links": [RecordLink.objects.filter(flow=f).count() for f in flows],
            "events": list(ChangeEvent.objects.values_list("status", "last_error")[:5]),
            "errors": list(SyncError.objects.values_list("category", "message")[:5]),
        }

    wait_for(synced, timeout=240, what="the burst reaching the CRM", worker=worker, state=state)
    done = time.monotonic()
    product = RequestLog.objects.filter(vendor=Vendor.QBO).exclude(path__endswith="/batch")
    refused = product.filter(status=429).count()
    print(
        f"\n{CUSTOMERS} customers at {PER_MINUTE} calls/min: the other app was refused "
        f"{other_refused} times and done after {burst_over - began:.1f} s; the product was "
        f"refused {refused} times in {product.count()} calls and had synced everything "
        f"{done - burst_over:.1f} s later"
    )

    assert other_refused >= 1  # the company's quota really ran out
    assert refused >= 1  # and the product met it
    assert refused <= 4  # it paused rather than retried into the closed window
    qbo.refresh_from_db()
    assert qbo.throttled_until is not None  # the pause was the connection's, for every worker
    for module in ("Accounts", "Contacts"):
        names = list(CrmRecord.objects.filter(module=module).values_list("data", flat=True))
        assert len(names) == CUSTOMERS
        assert len({d["QBO_Id"] for d in names}) == CUSTOMERS
    # A rate limit is nobody's error: not one record waits on a person, or on a retry.
    assert not SyncError.objects.filter(category=ErrorCategory.RATE_LIMITED).exists()
    assert not SyncError.objects.exists()
    assert all(f.state == SyncFlow.State.ACTIVE for f in SyncFlow.objects.all())
