"""Calls counted by every worker together: a minute's budget is never overspent however many
threads (each with its own database connection, as workers have) take from it at once, and a
daily cap, once reached, refuses with a rate limit until the next day."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection as db_connection

from connectors.base.exceptions import RateLimited
from connectors.models import CallWindow, Connection
from connectors.quota import calls_today, daily_share, shared_budget

pytestmark = pytest.mark.django_db(transaction=True)

NOW = 1_796_000_000.0  # a fixed moment, mid-minute


def books() -> Connection:
    return Connection.objects.create(
        system=Connection.System.ZOHO_BOOKS, name="Books", status=Connection.Status.CONNECTED
    )


def test_five_workers_together_never_overspend_a_minute():
    connection = books()
    granted, waits, errors = [], [], []

    def worker() -> None:
        try:
            for _ in range(8):
                wait = shared_budget(connection, per_minute=10, now=NOW)
                (waits if wait else granted).append(wait)
        except Exception as exc:  # a failure in a thread must fail the test
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(granted) == 10 and len(waits) == 30
    assert all(0 < wait <= 60 for wait in waits), "the rest wait for the next minute"
    # The day counts what went (the minute is counted in Redis when there is one).
    assert CallWindow.objects.get(connection=connection, period="day").used == 10
    assert shared_budget(connection, per_minute=10, now=NOW + 60) == 0, "a new minute"


def test_a_daily_cap_refuses_until_tomorrow_and_is_counted():
    connection = books()
    connection.daily_call_cap = 3
    connection.save()

    for second in range(3):
        assert shared_budget(connection, per_minute=100, now=NOW + second) == 0
    with pytest.raises(RateLimited) as refused:
        shared_budget(connection, per_minute=100, now=NOW + 5)

    assert "3 API calls for today" in refused.value.message
    assert 0 < refused.value.retry_after <= 86400
    day = CallWindow.objects.get(connection=connection, period="day")
    assert day.used == 3
    tomorrow = (int(NOW // 86400) + 1) * 86400.0
    assert shared_budget(connection, per_minute=100, now=tomorrow + 1) == 0


def test_todays_calls_are_counted_without_a_cap_and_shown_against_one(admin_client):
    connection = books()
    for _ in range(4):
        shared_budget(connection, per_minute=100, now=time.time())
    assert calls_today(connection) == 4 and daily_share(connection) is None

    connection.daily_call_cap = 10
    connection.save()
    assert daily_share(connection) == pytest.approx(0.4)
    page = admin_client.get(f"/admin/connectors/connection/{connection.pk}/change/")
    assert b"4 of 10 (40%)" in page.content
