"""The one HTTP layer: nothing else in the project builds a requests session.

`build_session()` gives a session whose every request has a timeout. `ApiSession` calls one
connection's API on top of it: the access token, retries with exponential jitter on connection
errors, 5xx and 429, one refresh-and-retry on a 401, vendor failures hidden in 2xx answers
raised as `ConnectorError`, a per-connection rate limit and a count of calls. Only calls that
are safe to repeat are retried: reads, and writes that carry an idempotency key (QBO's
`requestid`) or are upserts.

A vendor's rate limit pauses the whole connection, not one call: a 429 closes the
connection's gate (`Connection.throttled_until`, in the database so every worker on every
machine sees it) for as long as the vendor asks (Retry-After, else the client's documented
pause: Intuit says 60 s), and every call waits at the gate until it opens, then goes on with
the batch it belongs to. A wait longer than `PACE_MAX_WAIT` is not waited out inside a call:
it raises `RateLimited` with the time left, for the caller to put its work back until then.
While a call waits, the activity hooks keep saying the worker is alive (`syncs.heartbeat`).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any, Protocol

import requests
from django.conf import settings
from django.core.cache import cache
from django.db.models import F, Q
from django.utils import timezone
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from connectors.base.exceptions import (
    ConnectionPaused,
    ConnectorError,
    RateLimited,
    RemoteUnavailable,
    TokenThrottled,
)
from connectors.base.hosts import url_check

logger = logging.getLogger(__name__)

# Patched by the tests, which record what would have been slept instead of sleeping.
sleep: Callable[[float], None] = time.sleep
clock: Callable[[], float] = time.time

ErrorParser = Callable[[requests.Response], ConnectorError | None]

PACE_MAX_WAIT = 120.0  # seconds a call waits at a closed gate before handing the wait back
PAUSE_SLICE = 10.0  # the activity hooks run at least this often while a call waits
DEFAULT_THROTTLE_PAUSE = 30.0  # a 429 without Retry-After, for a vendor that documents none

# Called before each request and while a call waits: the engine registers its heartbeat here
# (`syncs.apps`), so that a worker waiting on a vendor still proves it is alive.
_activity_hooks: list[Callable[[], None]] = []


def activity_hook_add(hook: Callable[[], None]) -> None:
    if hook not in _activity_hooks:
        _activity_hooks.append(hook)


def _activity() -> None:
    for hook in _activity_hooks:
        hook()


def pause(seconds: float) -> None:
    """Sleep `seconds`, running the activity hooks every `PAUSE_SLICE` seconds."""
    remaining = max(0.0, seconds)
    while remaining > 0:
        _activity()
        step = min(remaining, PAUSE_SLICE)
        sleep(step)
        remaining -= step


class TokenProvider(Protocol):
    """Gives a connection's access token: a fresh one with `force_refresh` (after a 401),
    unless another worker has already replaced `stale_token`."""

    def __call__(
        self, connection: Any, *, force_refresh: bool = ..., stale_token: str = ...
    ) -> str: ...


# The provider a session uses when its client names none: the OAuth token store, registered
# by `connectors.apps` (so that this layer imports nothing above it).
_default_tokens: list[TokenProvider] = []


def token_provider_set(provider: TokenProvider) -> None:
    _default_tokens[:] = [provider]


class CallBudget(Protocol):
    def __call__(self, connection: Any, *, per_minute: int, now: float) -> float:
        """0 when a call to `connection` may go now, counted; else the seconds until the next
        minute, when this minute's `per_minute` calls are spent. Raises RateLimited when the
        connection's daily cap is reached."""
        ...


def cache_budget(connection: Any, *, per_minute: int, now: float) -> float:
    """A minute's calls counted in the cache: shared by every worker when it is Redis."""
    minute = int(now // 60)
    key = f"connectors:calls:{connection.pk}:{minute}"
    while True:
        cache.add(key, 0, timeout=120)
        try:
            used = cache.incr(key)
        except ValueError:  # expired between add and incr
            continue
        return 0.0 if used <= per_minute else max(0.05, (minute + 1) * 60 - now)


# The budget every session counts its calls against: the cache's until `connectors.apps`
# registers the shared one (the database, or Redis when configured).
_budget: list[CallBudget] = [cache_budget]


def call_budget_set(budget: CallBudget) -> None:
    _budget[:] = [budget]


_call_counter: ContextVar[Counter | None] = ContextVar("connector_call_counter", default=None)


class _TimeoutSession(requests.Session):
    """A session whose every request has a timeout unless the caller gives one."""

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", settings.HTTP_TIMEOUT)
        return super().request(method, url, **kwargs)


def build_session() -> requests.Session:
    session = _TimeoutSession()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = "ml-connector/0.1"
    return session


@contextmanager
def count_calls() -> Iterator[Counter]:
    """Count the API calls made inside the block, by connection system (for run statistics)."""
    counter: Counter = Counter()
    token = _call_counter.set(counter)
    try:
        yield counter
    finally:
        _call_counter.reset(token)


def retry_after_seconds(response: requests.Response) -> float | None:
    """The Retry-After header in seconds, where the vendor sent one as a number."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def response_error_default(
    response: requests.Response, *, system: str, request_id: str = ""
) -> ConnectorError | None:
    """The transport-level reading of an answer: 429 and 5xx; vendors add their own on top."""
    if response.status_code == 429:
        return RateLimited(
            "The vendor is throttling requests",
            system=system,
            status=429,
            request_id=request_id,
            retry_after=retry_after_seconds(response),
        )
    if response.status_code >= 500:
        return RemoteUnavailable(
            f"The vendor answered {response.status_code}",
            system=system,
            status=response.status_code,
            request_id=request_id,
            retry_after=retry_after_seconds(response),
        )
    return None


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, TokenThrottled | ConnectionPaused):
        # Zoho's token throttle only gets longer if we insist; a long pause is the caller's.
        return False
    if isinstance(exc, RateLimited) and (exc.retry_after or 0) > PACE_MAX_WAIT:
        return False  # the vendor asked for more than a call waits: hand it back whole
    if isinstance(exc, ConnectorError):
        return exc.transient
    return isinstance(exc, requests.ConnectionError | requests.Timeout)


_jitter = wait_exponential_jitter(initial=1, max=60, jitter=1)


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, RateLimited):
        return 0.0  # the connection's gate holds the next attempt for as long as needed
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        return min(float(retry_after), 300.0)
    return _jitter(state)


class ApiSession:
    """Calls to one connection's API. Vendor clients build one and describe their errors."""

    def __init__(
        self,
        connection: Any,
        *,
        hosts: frozenset[str],
        parse_error: ErrorParser,
        tokens: TokenProvider | None = None,
        auth_scheme: str = "Bearer",
        calls_per_minute: int | None = None,
        throttle_pause: float = DEFAULT_THROTTLE_PAUSE,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.connection = connection
        self.hosts = hosts
        self.parse_error = parse_error
        self._tokens = tokens
        self.auth_scheme = auth_scheme
        self.calls_per_minute = calls_per_minute
        self.throttle_pause = throttle_pause
        self.session = build_session()
        self.session.headers.update(default_headers or {"Accept": "application/json"})

    def request(
        self,
        method: str,
        url: str,
        *,
        retry_safe: bool | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send one logical request, retried where safe; raises `ConnectorError` on failure."""
        if retry_safe is None:
            retry_safe = method.upper() in {"GET", "HEAD", "OPTIONS"}
        retrying = Retrying(
            stop=stop_after_attempt(settings.HTTP_MAX_ATTEMPTS if retry_safe else 1),
            wait=_wait,
            retry=retry_if_exception(_is_retryable),
            sleep=pause,
            reraise=True,
        )
        return retrying(self._authorised, method, url, kwargs)

    def _token_provider(self) -> TokenProvider:
        if self._tokens is not None:
            return self._tokens
        if not _default_tokens:
            raise RuntimeError("No token provider: pass `tokens` or register one at start-up.")
        return _default_tokens[0]

    def _authorised(self, method: str, url: str, kwargs: dict[str, Any]) -> requests.Response:
        tokens = self._token_provider()
        token = tokens(self.connection)
        response = self._send(method, url, token, kwargs)
        if response.status_code == 401:
            token = tokens(self.connection, force_refresh=True, stale_token=token)
            response = self._send(method, url, token, kwargs)
        error = self.parse_error(response)
        if isinstance(error, RateLimited):
            self._gate_close(error)
        if error is not None:
            raise error
        return response

    def _gate_close(self, error: RateLimited) -> None:
        """Pause every call of this connection, in every worker, for as long as the vendor
        asks; a later, longer pause wins over a shorter one."""
        seconds = error.retry_after if error.retry_after is not None else self.throttle_pause
        until = timezone.now() + timedelta(seconds=seconds)
        error.retry_after = seconds
        type(self.connection).objects.filter(pk=self.connection.pk).filter(
            Q(throttled_until__isnull=True) | Q(throttled_until__lt=until)
        ).update(throttled_until=until)

    def _gate_wait(self) -> None:
        """Wait until the connection's rate-limit gate is open, or hand the wait back to the
        caller as `RateLimited` when it is longer than `PACE_MAX_WAIT`."""
        until = (
            type(self.connection)
            .objects.filter(pk=self.connection.pk)
            .values_list("throttled_until", flat=True)
            .first()
        )
        if until is None:
            return
        wait = (until - timezone.now()).total_seconds()
        if wait <= 0:
            return
        if wait > PACE_MAX_WAIT:
            raise ConnectionPaused(
                f"{self.connection.get_system_display()} asked us to pause until "
                f"{until.isoformat(timespec='seconds')}",
                system=self.connection.system,
                retry_after=wait,
            )
        logger.info(
            "%s is rate-limited: waiting %.0f s for connection %s",
            self.connection.system,
            wait,
            self.connection.pk,
        )
        pause(wait)

    def _send(self, method: str, url: str, token: str, kwargs: dict[str, Any]) -> requests.Response:
        url_check(url, self.hosts, system=self.connection.system)  # vendor's hosts only
        self._gate_wait()
        self._throttle()
        _activity()
        headers = {**kwargs.get("headers", {}), "Authorization": f"{self.auth_scheme} {token}"}
        started = time.monotonic()
        try:
            response = self.session.request(method, url, **{**kwargs, "headers": headers})
        except (requests.ConnectionError, requests.Timeout) as exc:
            self._count()
            raise RemoteUnavailable(
                f"Could not reach {self.connection.get_system_display()}: {type(exc).__name__}",
                system=self.connection.system,
            ) from exc
        self._count(ok=response.status_code < 400)
        logger.info(
            "%s %s %s -> %s in %.0f ms",
            self.connection.system,
            method,
            url.split("?", 1)[0],
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response

    def _count(self, *, ok: bool = False) -> None:
        """One UPDATE a call: the call count, and when the vendor last answered well."""
        values: dict[str, Any] = {"api_call_count": F("api_call_count") + 1}
        if ok:
            values["last_ok_at"] = timezone.now()
        type(self.connection).objects.filter(pk=self.connection.pk).update(**values)
        counter = _call_counter.get()
        if counter is not None:
            counter[self.connection.system] += 1

    def _throttle(self) -> None:
        """Stay under the vendor's per-minute limit for this connection, counted across every
        worker and machine (`call_budget_set`); wait for the next minute when it is spent."""
        if not self.calls_per_minute:
            return
        while True:
            wait = _budget[0](self.connection, per_minute=self.calls_per_minute, now=clock())
            if not wait:
                return
            pause(wait)
