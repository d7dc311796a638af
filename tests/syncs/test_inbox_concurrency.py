"""Concurrent claimers, each on its own database connection, never get the same event.

On PostgreSQL the claims run side by side (`FOR UPDATE SKIP LOCKED`); on SQLite the settings'
`BEGIN IMMEDIATE` makes them take turns. The test is the same for both.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import close_old_connections, connections

from syncs.inbox import NewEvent, event_complete, events_claim, events_record
from syncs.models import ChangeEvent
from tests.factories import connection_create

WORKERS = 6
EVENTS = 120


def _claim_until_empty(
    owner: str, start: threading.Barrier, got: dict[str, list[int]], errors: list[BaseException]
) -> None:
    try:
        start.wait()
        while batch := events_claim(owner=owner, limit=7, lease=timedelta(minutes=5)):
            got[owner].extend(event.pk for event in batch)
            for event in batch:
                if not event_complete(event, owner=owner):
                    raise AssertionError(f"{owner} lost the lease of {event.pk}")
    except BaseException as exc:  # a thread's failure must fail the test, not vanish
        errors.append(exc)
    finally:
        connections.close_all()  # this thread's own connection


@pytest.mark.django_db(transaction=True)
def test_concurrent_claimers_get_disjoint_events_and_together_all_of_them():
    qbo = connection_create("qbo")
    # Some records have several versions: those must also never be processed in parallel.
    events_record(
        NewEvent(qbo, "Customer", str(i % 90), str(i // 90), "update") for i in range(EVENTS)
    )
    assert ChangeEvent.objects.count() == EVENTS
    start = threading.Barrier(WORKERS)
    got: dict[str, list[int]] = {f"worker-{n}": [] for n in range(WORKERS)}
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_claim_until_empty, args=(owner, start, got, errors))
        for owner in got
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    close_old_connections()

    assert errors == []
    assert not any(thread.is_alive() for thread in threads)
    claimed = [pk for pks in got.values() for pk in pks]
    duplicates = [pk for pk, n in Counter(claimed).items() if n > 1]
    assert duplicates == []
    assert sorted(claimed) == sorted(ChangeEvent.objects.values_list("pk", flat=True))
    assert set(ChangeEvent.objects.values_list("status", flat=True)) == {"done"}
    assert ChangeEvent.objects.filter(attempts=1).count() == EVENTS
