"""The one exception family for everything that talks to an external system.

`transient` errors may succeed if the same call is made later (network, 5xx, throttling);
`permanent` ones will not until something changes (bad data, revoked access). Messages carry the
vendor's own code, message and request id, never a token or secret.
"""

from __future__ import annotations

from typing import Any


class ConnectorError(Exception):
    transient: bool = False

    def __init__(
        self,
        message: str,
        *,
        system: str = "",
        code: str = "",
        status: int | None = None,
        request_id: str = "",
        retry_after: float | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.system = system
        self.code = str(code or "")
        self.status = status
        self.request_id = request_id
        self.retry_after = retry_after
        self.details = details

    def __str__(self) -> str:
        parts = [self.message]
        if self.code:
            parts.append(f"code {self.code}")
        if self.status:
            parts.append(f"HTTP {self.status}")
        if self.request_id:
            parts.append(f"request id {self.request_id}")
        return " | ".join(parts)


class TransientError(ConnectorError):
    """Try the same call again later."""

    transient = True


class PermanentError(ConnectorError):
    """The same call will fail again until a person or the data changes."""


class RateLimited(TransientError):
    """The vendor throttled us (HTTP 429, QBO 3001, Zoho TOO_MANY_REQUESTS)."""


class ConnectionPaused(RateLimited):
    """The connection is paused by an earlier rate limit for longer than a call waits:
    `retry_after` says how long is left. Nothing was sent."""


class RemoteUnavailable(TransientError):
    """Connection failure, timeout or a 5xx answer."""


class TokenThrottled(TransientError):
    """Zoho refuses to mint more access tokens for now; never retried in a loop."""


class AuthError(PermanentError):
    """The vendor rejected our credentials: the connection needs someone to reconnect it."""


class NotFound(PermanentError):
    """The record or resource does not exist on the remote side."""
