"""CRM limits and injected faults: concurrency and daily credits answer 429 TOO_MANY_REQUESTS
without Retry-After; the fault profile's error rate answers INTERNAL_ERROR."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.sandbox.models import FaultProfile, InFlight, RequestLog, Vendor
from tests.sandbox.zoho.conftest import SANDBOX_APPS

pytestmark = pytest.mark.django_db(transaction=True, available_apps=SANDBOX_APPS)


def profile(**values: object) -> None:
    FaultProfile.objects.update_or_create(vendor=Vendor.ZOHO_CRM, defaults=values)


def busy(org, count: int) -> None:
    """`count` calls of the sandbox client are in flight for `org` right now."""
    key = f"zoho_crm:concurrency:{org.org_id}:1000.SANDBOXCLIENT"
    until = timezone.now() + timedelta(minutes=1)
    InFlight.objects.bulk_create([InFlight(key=key, expires_at=until) for _ in range(count)])


def test_past_the_concurrency_limit_is_429(zoho, crm, crm_org):
    profile(concurrency_limit=3)
    busy(crm_org, 3)

    refused = crm.get(f"{zoho.crm}/org", timeout=10)
    InFlight.objects.filter(pk=InFlight.objects.first().pk).delete()
    admitted = crm.get(f"{zoho.crm}/org", timeout=10)

    assert refused.status_code == 429
    assert refused.json()["code"] == "TOO_MANY_REQUESTS"
    assert "concurrency limit" in refused.json()["message"]
    assert "Retry-After" not in refused.headers
    assert admitted.status_code == 200
    assert InFlight.objects.count() == 2  # each call gave its slot back


def test_the_default_concurrency_is_the_professional_editions(zoho, crm, crm_org):
    busy(crm_org, 14)
    assert crm.get(f"{zoho.crm}/org", timeout=10).status_code == 200

    busy(crm_org, 1)
    assert crm.get(f"{zoho.crm}/org", timeout=10).status_code == 429


def test_daily_credits_run_out(zoho, crm):
    profile(daily_credit_limit=5)
    rows = [{"Last_Name": f"C{n}"} for n in range(25)]  # a write of 25 costs 3 credits

    write = crm.post(f"{zoho.crm}/Contacts", json={"data": rows}, timeout=10)
    reads = [crm.get(f"{zoho.crm}/org", timeout=10).status_code for _ in range(3)]

    assert write.status_code == 201
    assert reads == [200, 200, 429]
    last = crm.get(f"{zoho.crm}/org", timeout=10)
    assert last.json()["code"] == "TOO_MANY_REQUESTS"
    assert "24 hour" in last.json()["message"]
    assert "Retry-After" not in last.headers


def test_injected_faults_are_internal_error(zoho, crm):
    profile(error_rate=1.0)

    response = crm.get(f"{zoho.crm}/Contacts", params={"fields": "Last_Name"}, timeout=10)

    assert response.status_code == 500
    assert response.json() == {
        "code": "INTERNAL_ERROR",
        "details": {},
        "message": "Internal Server Error",
        "status": "error",
    }
    assert RequestLog.objects.filter(vendor=Vendor.ZOHO_CRM, status=500).exists()
