"""Throttles, injected failures and the minorversion check: the gateway around every call."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.sandbox.models import FaultProfile, InFlight, RequestLog, Vendor
from connectors.sandbox.qbo.models import Company
from tests.sandbox.qbo.conftest import LIVE_DB, Connected

pytestmark = LIVE_DB

THROTTLE_XML = (
    '<Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded; '
    "errorCode=003001; statusCode=429</Message><Detail>The request limit was reached.  Try "
    "again later</Detail></Error></Fault></IntuitResponse>"
)


def ping(qbo: Connected) -> int:
    return qbo.get(f"companyinfo/{qbo.realm_id}").status_code


def test_over_the_per_minute_limit_is_429_with_intuits_xml(
    qbo: Connected, profile: FaultProfile
) -> None:
    profile.rate_limit_per_minute = 3
    profile.save()

    statuses = [ping(qbo) for _ in range(3)]
    # A minute boundary may reset the window once; within 4 more calls the limit must bite.
    throttled = next(
        (
            r
            for r in (qbo.get(f"companyinfo/{qbo.realm_id}") for _ in range(4))
            if r.status_code == 429
        ),
        None,
    )

    assert statuses == [200, 200, 200]
    assert throttled is not None
    assert throttled.text.startswith('<?xml version="1.0"?><IntuitResponse time="')
    assert throttled.text.endswith(THROTTLE_XML)
    assert throttled.headers["Content-Type"].startswith("application/xml")
    assert throttled.headers["intuit_tid"]


def test_the_limit_is_per_company(sandbox: str, qbo: Connected, profile: FaultProfile) -> None:
    from connectors.sandbox.qbo.services import company_create
    from tests.sandbox.qbo.conftest import connect

    other = connect(sandbox, company_create(name="Other Co"))
    profile.rate_limit_per_minute = 2
    profile.save()
    first_company = [ping(qbo) for _ in range(5)]

    assert 429 in first_company
    assert ping(other) == 200


def test_batch_items_count_against_the_limit(qbo: Connected, profile: FaultProfile) -> None:
    profile.rate_limit_per_minute = 5
    profile.save()
    items = [{"bId": str(n), "Query": "SELECT * FROM Customer"} for n in range(6)]

    response = qbo.post("batch", {"BatchItemRequest": items})

    assert response.status_code == 429


def test_too_many_in_flight_is_429(qbo: Connected, company: Company, profile: FaultProfile) -> None:
    profile.concurrency_limit = 2
    profile.save()
    key = f"qbo:{company.realm_id}"
    later = timezone.now() + timedelta(seconds=60)
    running = [InFlight.objects.create(key=key, expires_at=later) for _ in range(2)]  # two calls

    busy = qbo.get(f"companyinfo/{company.realm_id}")
    running[0].delete()
    free = qbo.get(f"companyinfo/{company.realm_id}")
    InFlight.objects.filter(key=key).update(expires_at=timezone.now() - timedelta(seconds=1))
    after_crash = qbo.get(f"companyinfo/{company.realm_id}")  # a dead process's slots expire

    assert busy.status_code == 429
    assert 'code="3001"' in busy.text
    assert free.status_code == 200
    assert after_crash.status_code == 200
    assert InFlight.objects.filter(key=key).count() == 1  # only the expired leftover remains


def test_injected_failures_are_qbo_shaped_5xx(qbo: Connected, profile: FaultProfile) -> None:
    profile.error_rate = 1.0
    profile.save()

    response = qbo.get(f"companyinfo/{qbo.realm_id}")

    assert response.status_code in (500, 503)
    assert response.headers["intuit_tid"]
    fault = response.json()["Fault"]
    assert fault["type"] == "SystemFault"
    assert fault["Error"][0]["code"] == "10000"
    assert RequestLog.objects.filter(vendor=Vendor.QBO, status=response.status_code).exists()


def test_old_minorversion_is_flagged_in_header_and_log(qbo: Connected) -> None:
    response = qbo.get(f"companyinfo/{qbo.realm_id}", minorversion="65")

    assert response.status_code == 200
    assert "minorversion=65 is below 75" in response.headers["X-Sandbox-Warning"]
    logged = RequestLog.objects.filter(vendor=Vendor.QBO, path__contains="companyinfo").get()
    assert "minorversion=65 is below 75" in logged.note


@pytest.mark.parametrize("params", [{"minorversion": "75"}, {}])
def test_current_or_missing_minorversion_is_fine(qbo: Connected, params: dict) -> None:
    import requests

    response = requests.get(
        qbo.url(f"companyinfo/{qbo.realm_id}"), params=params, headers=qbo.headers(), timeout=10
    )

    assert response.status_code == 200
    assert "X-Sandbox-Warning" not in response.headers


def test_every_answer_carries_intuit_tid(qbo: Connected) -> None:
    answers = [
        qbo.query("SELECT * FROM Customer"),
        qbo.query("SELECT nonsense"),
        qbo.get("customer/12345"),
        qbo.post("customer", {"DisplayName": "Tid"}),
        qbo.get("nosuchthing/1"),
    ]

    assert all(answer.headers.get("intuit_tid") for answer in answers)
    assert [answer.status_code for answer in answers] == [200, 400, 400, 200, 400]
