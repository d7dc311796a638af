"""Calls to a connection counted by every worker and machine together: a vendor's per-minute
limit (Zoho Books: 100 a minute per organization) and the plan's daily cap, in the database
(`CallWindow`), or the minute's count in Redis when it is configured (no database write per
call). A call is taken by a conditional UPDATE, so two workers can never both take the last
one. Registered as every API session's budget by `connectors.apps`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from connectors.base.exceptions import RateLimited
from connectors.base.http import cache_budget
from connectors.models import CallWindow, Connection

Period = CallWindow.Period
KEEP = timedelta(days=2)  # windows older than this are forgotten
UNCAPPED = 2**31 - 1  # a day without a cap is counted all the same
SLOWING_SHARE = 0.8  # past this share of the daily cap, polling slows (`daily_share`)


def _redis() -> bool:
    return "redis" in settings.CACHES["default"]["BACKEND"].lower()


def _take(connection_pk: int, period: str, start: int, limit: int) -> bool:
    """One call of the window, if it has one left. The window's row is made by the first
    call that finds none (a worker that loses that race takes from the winner's)."""
    window = CallWindow.objects.filter(connection_id=connection_pk, period=period, start=start)
    if window.filter(used__lt=limit).update(used=F("used") + 1):
        return True
    if not window.exists():
        try:
            with transaction.atomic():
                CallWindow.objects.create(
                    connection_id=connection_pk, period=period, start=start, used=0
                )
        except IntegrityError:
            pass  # another worker opened it a moment ago
        else:
            _forget_old(connection_pk, period, start)
    return bool(window.filter(used__lt=limit).update(used=F("used") + 1))


def _forget_old(connection_pk: int, period: str, start: int) -> None:
    """Windows older than KEEP, dropped when a new day's window opens."""
    if period != Period.DAY:
        return
    old = CallWindow.objects.filter(connection_id=connection_pk)
    old.filter(period=Period.DAY, start__lt=start - KEEP.days).delete()
    old.filter(period=Period.MINUTE, start__lt=(start - KEEP.days) * 24 * 60).delete()


def shared_budget(connection: Any, *, per_minute: int, now: float) -> float:
    """`connectors.base.http.CallBudget`, shared across processes: the minute's calls first
    (a spent minute waits, taking nothing of the day), then the day's."""
    if _redis():
        wait = cache_budget(connection, per_minute=per_minute, now=now)
    else:
        minute = int(now // 60)
        granted = _take(connection.pk, Period.MINUTE, minute, per_minute)
        wait = 0.0 if granted else max(0.05, (minute + 1) * 60 - now)
    if wait:
        return wait
    cap = getattr(connection, "daily_call_cap", None)
    day = int(now // 86400)
    if not _take(connection.pk, Period.DAY, day, cap or UNCAPPED):
        raise RateLimited(
            f"{connection} has used its {cap} API calls for today (the plan's daily cap); "
            "its syncs go on after midnight UTC.",
            system=getattr(connection, "system", ""),
            code="daily_cap",
            retry_after=(day + 1) * 86400 - now,
        )
    return 0.0


def calls_today(connection: Connection, *, now: datetime | None = None) -> int:
    day = int((now or datetime.now(UTC)).timestamp() // 86400)
    window = CallWindow.objects.filter(connection=connection, period=Period.DAY, start=day)
    return window.values_list("used", flat=True).first() or 0


def daily_share(connection: Connection) -> float | None:
    """The share of today's cap used (None without a cap); a poller slows past
    SLOWING_SHARE."""
    if not connection.daily_call_cap:
        return None
    return calls_today(connection) / connection.daily_call_cap
