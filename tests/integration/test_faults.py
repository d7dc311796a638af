"""Throttles and failures the fakes inject, met by the product's HTTP layer: backoff on 429 and
5xx (recorded, never slept), retries only where a repeat is safe, the right exception at the end."""

from __future__ import annotations

import random
import time
from datetime import timedelta
from itertools import pairwise
from urllib.parse import parse_qs

import pytest
from django.conf import settings
from django.utils import timezone

from connectors.base.exceptions import RateLimited, RemoteUnavailable
from connectors.models import Connection
from connectors.qbo.client import QboClient
from connectors.sandbox.models import InFlight, RequestLog, Vendor
from connectors.sandbox.qbo.models import Company, Record
from connectors.sandbox.zoho.models import CrmOrg, CrmRecord
from connectors.zoho_crm.client import ZohoCrmClient
from tests.integration.conftest import LIVE, faults, requests_to

pytestmark = LIVE

ATTEMPTS = settings.HTTP_MAX_ATTEMPTS


def company_info_path(qbo: Connection) -> str:
    return f"/sandbox/qbo/v3/company/{qbo.realm_id}/companyinfo/{qbo.realm_id}"


def inside_one_minute(margin: float = 3.0) -> None:
    """Wait for the next minute when this one ends within `margin` seconds: the fake's
    per-minute windows must not reset in the middle of a test that counts on them."""
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.05)


def growing(waits: list[float]) -> bool:
    return all(later > earlier for earlier, later in pairwise(waits))


def test_qbo_429_backs_off_and_succeeds_when_the_window_allows(
    qbo: Connection, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    inside_one_minute()
    profile = faults(Vendor.QBO, rate_limit_per_minute=1)
    client = QboClient(qbo)
    client.company_info()  # the minute's only request

    def wait(seconds: float) -> None:  # the pause outlasts the window: the next one is open
        sleeps.append(seconds)
        profile.rate_limit_per_minute = 500
        profile.save()

    monkeypatch.setattr("connectors.base.http.sleep", wait)

    assert client.company_info().name == "Craig's Design and Landscaping"

    assert [call.status for call in requests_to(company_info_path(qbo))] == [200, 429, 200]
    # Intuit's 429 carries no Retry-After: the connection pauses for its documented minute.
    assert sum(sleeps) == pytest.approx(60, abs=1)


def test_qbo_429_that_never_ends_raises_rate_limited_with_intuits_code(
    qbo: Connection, sleeps: list[float]
) -> None:
    inside_one_minute()
    faults(Vendor.QBO, rate_limit_per_minute=1)
    client = QboClient(qbo)
    client.company_info()

    with pytest.raises(RateLimited) as caught:
        client.company_info()

    assert caught.value.code == "3001"
    assert caught.value.status == 429
    assert [call.status for call in requests_to(company_info_path(qbo))] == [200] + [429] * ATTEMPTS
    assert sum(sleeps) == pytest.approx(60 * (ATTEMPTS - 1), abs=ATTEMPTS)


def test_zoho_crm_concurrency_429_raises_rate_limited(
    crm: Connection, crm_org: CrmOrg, sleeps: list[float]
) -> None:
    faults(Vendor.ZOHO_CRM, concurrency_limit=1)
    # Another of our requests holds the one slot Zoho allows (it expires by itself).
    InFlight.objects.create(
        key=f"zoho_crm:concurrency:{crm_org.org_id}:{crm.client_id}",
        expires_at=timezone.now() + timedelta(seconds=60),
    )

    with pytest.raises(RateLimited) as caught:
        ZohoCrmClient(crm).organization()

    assert caught.value.code == "TOO_MANY_REQUESTS"
    assert "concurrency limit" in caught.value.message
    # Zoho sends no Retry-After: each 429 pauses the connection for a short while.
    assert caught.value.retry_after == 10
    assert [c.status for c in requests_to("/sandbox/zoho/crm/v8/org")] == [429] * ATTEMPTS
    assert sum(sleeps) == pytest.approx(10 * (ATTEMPTS - 1), abs=ATTEMPTS)


def test_zoho_crm_credits_spent_429_raises_rate_limited(crm: Connection) -> None:
    faults(Vendor.ZOHO_CRM, daily_credit_limit=1)
    client = ZohoCrmClient(crm)
    client.organization()

    with pytest.raises(RateLimited) as caught:
        client.organization()

    assert "24 hour period is exceeded" in caught.value.message
    # The day's credits are spent: one 429, then the connection pauses for a quarter of an
    # hour and the caller gets the wait back instead of a retry storm.
    assert caught.value.retry_after >= 800
    assert [c.status for c in requests_to("/sandbox/zoho/crm/v8/org")] == [200, 429]


def test_qbo_5xx_on_every_attempt_raises_remote_unavailable(
    qbo: Connection, sleeps: list[float]
) -> None:
    faults(Vendor.QBO, error_rate=1.0)

    with pytest.raises(RemoteUnavailable) as caught:
        QboClient(qbo).company_info()

    assert caught.value.code == "10000"
    statuses = [call.status for call in requests_to(company_info_path(qbo))]
    assert len(statuses) == ATTEMPTS and set(statuses) <= {500, 503}
    assert len(sleeps) == ATTEMPTS - 1 and growing(sleeps)


def test_zoho_crm_5xx_on_every_attempt_raises_remote_unavailable(crm: Connection) -> None:
    faults(Vendor.ZOHO_CRM, error_rate=1.0)

    with pytest.raises(RemoteUnavailable):
        ZohoCrmClient(crm).organization()

    assert [c.status for c in requests_to("/sandbox/zoho/crm/v8/org")] == [500] * ATTEMPTS


def test_reads_succeed_through_a_fifty_percent_failure_rate(
    qbo: Connection, qbo_company: Company, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fake draws its faults from this generator: half fail, in a sequence that repeats.
    monkeypatch.setattr("connectors.sandbox.faults.random", random.Random(7))
    faults(Vendor.QBO, error_rate=0.5)
    client = QboClient(qbo)

    names = [client.company_info().name for _ in range(3)]

    assert names == [qbo_company.name] * 3
    statuses = [call.status for call in requests_to(company_info_path(qbo))]
    assert statuses.count(200) == 3 and len(statuses) > 3


def test_a_zoho_insert_is_never_repeated_after_a_5xx(crm: Connection, crm_org: CrmOrg) -> None:
    faults(Vendor.ZOHO_CRM, error_rate=1.0)

    with pytest.raises(RemoteUnavailable):
        ZohoCrmClient(crm).insert("Accounts", [{"Account_Name": "Only Once Ltd"}])

    assert len(requests_to("/sandbox/zoho/crm/v8/Accounts", method="POST")) == 1
    assert not CrmRecord.objects.filter(org=crm_org).exists()


def test_a_qbo_create_is_retried_with_the_same_requestid(
    qbo: Connection, qbo_company: Company
) -> None:
    faults(Vendor.QBO, error_rate=1.0)

    with pytest.raises(RemoteUnavailable):
        QboClient(qbo).create("Customer", {"DisplayName": "Retried Safely"})

    calls = RequestLog.objects.filter(path=f"/sandbox/qbo/v3/company/{qbo.realm_id}/customer")
    request_ids = {parse_qs(call.query)["requestid"][0] for call in calls}
    assert calls.count() == ATTEMPTS and len(request_ids) == 1
    assert not Record.objects.filter(company=qbo_company).exists()
