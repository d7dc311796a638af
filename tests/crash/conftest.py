"""Real worker processes: `manage.py qcluster` started in a subprocess against the test
database and the live server (where the sandbox fakes and the product's webhooks answer),
killed with SIGKILL at a chosen moment and started again.

The test process plays the vendors (its live server thread answers the fakes' API) and the
person at the admin; the worker process does everything the product does by itself: the
schedules (the minute sweep, webhook deliveries), the queued tasks, the syncs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django_q.brokers import get_broker
from django_q.conf import Conf

from connectors.sandbox import faults

MANAGE = str(Path(settings.BASE_DIR) / "manage.py")
DEAD_AFTER_SECONDS = 5  # the workers' SYNC_RUN_DEAD_AFTER_SECONDS: dead runs show soon

CRASH = [pytest.mark.django_db(transaction=True), pytest.mark.crash]


def database_url() -> str:
    """The test database, as the worker process is to reach it."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """One `qcluster` process (its sentinel, pusher, monitor and workers in one process group)."""

    def __init__(self, base_url: str, log: Path) -> None:
        self.log = log
        self.process: subprocess.Popen | None = None
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DB_CONN_MAX_AGE": "0",
            "PUBLIC_BASE_URL": base_url,
            "SANDBOX_ENABLED": "true",
            "DEBUG": "false",
            "Q_CLUSTER_NAME": Conf.PREFIX,  # the queue this process's tasks go to
            "Q_WORKERS": "2",
            "Q_POLL": "0.2",
            "SYNC_RUN_DEAD_AFTER_SECONDS": str(DEAD_AFTER_SECONDS),
            "LOG_LEVEL": "INFO",
        }

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None
        with self.log.open("ab") as out:
            out.write(f"--- qcluster started at {time.strftime('%X')}\n".encode())
            self.process = subprocess.Popen(
                [sys.executable, MANAGE, "qcluster"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as one
            )

    def kill(self) -> None:
        """SIGKILL the whole process group: no handler runs, nothing is cleaned up."""
        assert self.process is not None and self.process.poll() is None, self.tail()
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def tail(self, lines: int = 60) -> str:
        if not self.log.exists():
            return "(no worker output)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def worker(base_url: str, tmp_path: Path) -> Iterator[Worker]:
    """A worker for this test's database, with the product's schedules in place. Tasks other
    tests left on a shared broker (Redis) are purged first: they name rows long gone."""
    get_broker().purge_queue()
    call_command("setup_schedules", verbosity=0)
    process = Worker(base_url, tmp_path / "qcluster.log")
    yield process
    process.stop()
    get_broker().purge_queue()


def wait_for(
    condition: Callable[[], Any],
    *,
    timeout: float,
    what: str,
    worker: Worker | None = None,
    state: Callable[[], Any] | None = None,
) -> Any:
    """Poll `condition` until it is truthy; fail saying `what` did not happen (with `state()`
    and what the worker last said) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    detail = f"\nstate: {state()}" if state else ""
    detail += f"\n--- worker output:\n{worker.tail()}" if worker else ""
    pytest.fail(f"{what} did not happen within {timeout:.0f} s{detail}")


class AnswerHold:
    """Holds the sandbox's answer to the first request `when(vendor, request)` picks, after the
    fake has done (and committed) its work: the moment a worker has written records but not yet
    heard so. `held` is set then; the answer goes once `release()` is called."""

    def __init__(self, when: Callable[[str, Any], bool]) -> None:
        self.when = when
        self.held = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, original: Callable[..., None]) -> Callable[..., None]:
        def logged(vendor: str, request: Any, response: Any, **kwargs: Any) -> None:
            original(vendor, request, response, **kwargs)
            with self._lock:
                hold = not self.held.is_set() and self.when(vendor, request)
                if hold:
                    self.held.set()
            if hold:
                self._release.wait(timeout=120)

        return logged

    def release(self) -> None:
        self._release.set()


@pytest.fixture
def answer_hold(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., AnswerHold]]:
    holds: list[AnswerHold] = []

    def install(when: Callable[[str, Any], bool]) -> AnswerHold:
        hold = AnswerHold(when)
        monkeypatch.setattr(faults, "request_log", hold(faults.request_log))
        holds.append(hold)
        return hold

    yield install
    for hold in holds:
        hold.release()
