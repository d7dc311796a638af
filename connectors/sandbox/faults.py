"""What every fake endpoint does around its own work: latency, injected 5xx, the request log,
and the counters vendors throttle on."""

from __future__ import annotations

import functools
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from connectors.sandbox.models import FaultProfile, InFlight, RateWindow, RequestLog
from connectors.sandbox.redact import redact

BODY_LOG_LIMIT = 4000
_ID_SEGMENT = re.compile(r"/(\d+|[0-9a-f]{8,}[-0-9a-f]*)(?=/|$)")

View = Callable[..., HttpResponse]


def endpoint_name(path: str) -> str:
    """`/sandbox/qbo/v3/company/123/customer/9` -> `/sandbox/qbo/v3/company/{id}/customer/{id}`."""
    return _ID_SEGMENT.sub("/{id}", path)


def sandbox_endpoint(
    vendor: str, *, on_fault: Callable[[HttpRequest], HttpResponse]
) -> Callable[[View], View]:
    """Wrap a fake's view: add the profile's latency, answer `on_fault(request)` for the profile's
    share of requests, and log every request with its status and duration."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            started = time.monotonic()
            request_body = request.body[:BODY_LOG_LIMIT].decode("utf-8", "replace")
            profile = FaultProfile.for_vendor(vendor)
            if profile.latency_ms:
                time.sleep(profile.latency_ms / 1000)
            if profile.error_rate and random.random() < profile.error_rate:  # noqa: S311
                response = on_fault(request)
            else:
                response = view(request, *args, **kwargs)
            request_log(vendor, request, response, started=started, request_body=request_body)
            return response

        return wrapped

    return decorate


def request_log(
    vendor: str, request: HttpRequest, response: HttpResponse, *, started: float, request_body: str
) -> None:
    """Log one answered request; codes, tokens and secrets in it are redacted before they are
    stored, so even the database holds none of them."""
    content = b"" if getattr(response, "streaming", False) else response.content
    RequestLog.objects.create(
        vendor=vendor,
        method=request.method or "",
        path=request.path[:500],
        endpoint=f"{request.method} {endpoint_name(request.path)}"[:200],
        query=redact(request.META.get("QUERY_STRING", ""))[:2000],
        status=response.status_code,
        duration_ms=int((time.monotonic() - started) * 1000),
        request_body=redact(request_body),
        response_body=redact(content[:BODY_LOG_LIMIT].decode("utf-8", "replace")),
        note=response.get("X-Sandbox-Warning", "")[:300],
    )


def rate_window_hit(key: str, limit: int, *, window_seconds: int = 60) -> bool:
    """Count one request against `key` in the current fixed window; False once over `limit`."""
    epoch = int(time.time()) // window_seconds * window_seconds
    window_start = datetime.fromtimestamp(epoch, tz=UTC)
    updated = RateWindow.objects.filter(key=key, window_start=window_start).update(
        count=F("count") + 1
    )
    if not updated:
        try:
            with transaction.atomic():
                RateWindow.objects.create(key=key, window_start=window_start, count=1)
        except IntegrityError:
            RateWindow.objects.filter(key=key, window_start=window_start).update(
                count=F("count") + 1
            )
    count = RateWindow.objects.get(key=key, window_start=window_start).count
    return count <= limit


SLOT_LIFETIME = timedelta(seconds=120)


@contextmanager
def concurrency_slot(key: str, limit: int) -> Iterator[bool]:
    """Hold one of `limit` slots for `key` while the block runs; yields False when none is free.

    Each request is a row that expires, so a crashed process frees its slot by itself. Two
    requests racing for the last slot may both be refused: erring towards a 429 is what the
    vendors do too.
    """
    now = timezone.now()
    slot = InFlight.objects.create(key=key, expires_at=now + SLOT_LIFETIME)
    busy = InFlight.objects.filter(key=key, expires_at__gt=now).count()
    try:
        yield busy <= limit
    finally:
        InFlight.objects.filter(pk=slot.pk).delete()
