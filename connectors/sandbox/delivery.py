"""Outbound deliveries (QBO webhooks, Zoho CRM notifications, Zoho Books webhooks): stored first,
then sent by a worker, retried with backoff while the receiver fails."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from connectors.base.http import build_session
from connectors.sandbox.models import OutboundDelivery, RequestLog
from connectors.sandbox.redact import redact

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 5
BACKOFF_CAP_SECONDS = 3600


def delivery_enqueue(
    *, vendor: str, url: str, body: str, headers: dict[str, str]
) -> OutboundDelivery:
    """Store a delivery and wake a worker to send it once the current transaction commits."""
    delivery = OutboundDelivery.objects.create(
        vendor=vendor, url=url, body=body, headers=headers, next_attempt_at=timezone.now()
    )
    transaction.on_commit(
        lambda: async_task(
            delivery_attempt, delivery.pk, task_name=f"sandbox-delivery-{delivery.pk}"
        )
    )
    return delivery


def delivery_attempt(delivery_id: int) -> bool:
    """Send one delivery if it is still due; True when the receiver answered 2xx."""
    claimed = OutboundDelivery.objects.filter(
        pk=delivery_id, status=OutboundDelivery.Status.PENDING, next_attempt_at__lte=timezone.now()
    ).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    if not claimed:
        return False
    delivery = OutboundDelivery.objects.get(pk=delivery_id)
    delivery.attempts += 1
    started = time.monotonic()
    try:
        response = build_session().post(
            delivery.url,
            data=delivery.body.encode("utf-8"),
            headers=delivery.headers,
            timeout=(3, 10),
        )
        delivery.last_status_code = response.status_code
        delivery.last_error = "" if response.ok else response.text[:500]
        ok = response.ok
    except requests.RequestException as exc:
        delivery.last_status_code = None
        delivery.last_error = f"{type(exc).__name__}: {exc}"[:500]
        ok = False
    _log_attempt(delivery, started)
    now = timezone.now()
    if ok:
        delivery.status = OutboundDelivery.Status.DELIVERED
        delivery.delivered_at = now
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = OutboundDelivery.Status.FAILED
    else:
        backoff = min(BACKOFF_BASE_SECONDS * 2 ** (delivery.attempts - 1), BACKOFF_CAP_SECONDS)
        delivery.next_attempt_at = now + timedelta(seconds=backoff)
    delivery.save()
    if not ok:
        logger.info(
            "Sandbox delivery %s to %s failed (attempt %s)",
            delivery.pk,
            delivery.url,
            delivery.attempts,
        )
    return ok


def _log_attempt(delivery: OutboundDelivery, started: float) -> None:
    """Outbound webhooks appear in the request log beside the calls the fakes answered, so the
    console shows both directions of a change."""
    url = urlsplit(delivery.url)
    RequestLog.objects.create(
        vendor=delivery.vendor,
        method="POST",
        path=url.path[:500],
        endpoint=f"POST {url.path} (webhook out)"[:200],
        query=redact(url.query)[:2000],
        status=delivery.last_status_code or 0,
        duration_ms=int((time.monotonic() - started) * 1000),
        # A CRM notification carries the channel token our receiver checks: never logged.
        request_body=redact(delivery.body[:4000]),
        response_body=redact(delivery.last_error[:4000]),
        note=f"Webhook sent to {url.netloc}, attempt {delivery.attempts}",
    )


def deliveries_run_due() -> int:
    """Send every pending delivery that is due (the periodic sweeper, and tests); count sent."""
    due = (
        OutboundDelivery.objects.filter(
            status=OutboundDelivery.Status.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)
    )
    return sum(delivery_attempt(pk) for pk in list(due))
