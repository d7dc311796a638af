"""Shared test fixtures.

Every test runs with outbound HTTP blocked: a request to anything but this machine's loopback
(where the live server and the sandbox answer) fails unless the test registered a response on
`mock_http`. Sleeps in the HTTP layer are recorded instead of slept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import responses

pytest_plugins = ["tests.live_sandbox", "tests.receiver"]

LOOPBACK = re.compile(r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?/")


@pytest.fixture(autouse=True)
def mock_http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru(LOOPBACK)
        yield rsps


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Rate-limit counters live in the cache (Redis under CI): no test sees another's."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """What the HTTP layer would have slept, in seconds, in order."""
    slept: list[float] = []
    monkeypatch.setattr("connectors.base.http.sleep", slept.append, raising=False)
    return slept


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Django removes the SQLite test database but not its WAL side files."""
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for suffix in ("-wal", "-shm"):
        (root / f"test-db-{os.getpid()}.sqlite3{suffix}").unlink(missing_ok=True)
