"""The categories an admin triages (DESIGN.md, "Errors an admin triages") and how a remote error
is put in one.

Each system describes its own codes with a `VendorRules` on its registry entry; `classify` reads
them first, then the exception's class from `connectors.base.exceptions`, then the HTTP status.
Whatever is left is `remote_unavailable` when the exception says it is transient, else
`unknown`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from django.db import models

from connectors.base.exceptions import (
    AuthError,
    ConnectorError,
    NotFound,
    RateLimited,
    RemoteUnavailable,
    TokenThrottled,
)


class ErrorCategory(models.TextChoices):
    DUPLICATE = "duplicate", "Duplicate"
    MANDATORY_MISSING = "mandatory_missing", "Mandatory field missing"
    CURRENCY_MISMATCH = "currency_mismatch", "Currency mismatch"
    MISSING_DEPENDENCY = "missing_dependency", "Missing dependency"
    RECORD_LOCKED = "record_locked", "Record locked"
    NAME_CONFLICT = "name_conflict", "Name conflict"
    VALUE_TOO_LONG = "value_too_long", "Value too long"
    INVALID_VALUE = "invalid_value", "Invalid value"
    NOT_FOUND = "not_found", "Not found"
    AUTH = "auth", "Reconnect needed"
    RATE_LIMITED = "rate_limited", "Rate limited"
    REMOTE_UNAVAILABLE = "remote_unavailable", "Remote unavailable"
    PAUSED = "paused", "Flow paused"
    MODULE_UNAVAILABLE = "module_unavailable", "Module unavailable"
    UNKNOWN = "unknown", "Unknown"


C = ErrorCategory

# These clear up by themselves; the engine retries them with capped backoff. Every other
# category waits for a person (fix the data, reconnect, resume the flow).
TRANSIENT_CATEGORIES = frozenset({C.RATE_LIMITED, C.REMOTE_UNAVAILABLE, C.RECORD_LOCKED})


@dataclass(frozen=True)
class Classification:
    """What went wrong, in the admin's terms, and whether it clears up by itself.

    `stale` means the write carried an outdated version (QBO SyncToken, QBD EditSequence): the
    engine re-reads the record and retries at once rather than waiting out a backoff.
    """

    category: str
    transient: bool
    message: str
    code: str = ""
    stale: bool = False
    retry_after: float | None = None
    request_id: str = ""


def code_strip(code: str) -> str:
    return code.strip()


def code_numeric(code: str) -> str:
    """`003001` and `3001` are one code (QBO's XML throttle body pads it)."""
    code = code.strip()
    return (code.lstrip("0") or "0") if code.isdigit() else code


def details_mention(details: Any, key: str) -> bool:
    """Whether `key` appears anywhere in a vendor's nested error details."""
    if isinstance(details, Mapping):
        return key in details or any(details_mention(v, key) for v in details.values())
    if isinstance(details, list | tuple):
        return any(details_mention(item, key) for item in details)
    return False


Refiner = Callable[[ConnectorError, str], str | None]


@dataclass(frozen=True)
class VendorRules:
    """How one system's error codes map to categories."""

    codes: Mapping[str, str]
    # Codes meaning "a record was not found": the record itself (not_found), or, when the
    # failing call referred to other records (CustomerRef, ItemRef...), one of those
    # (missing_dependency).
    reference_codes: frozenset[str] = frozenset()
    stale_codes: frozenset[str] = frozenset()
    refine: Refiner | None = None
    normalise: Callable[[str], str] = code_strip

    def category_for(self, exc: ConnectorError, *, references: bool) -> str | None:
        code = self.normalise(exc.code)
        if code in self.reference_codes:
            return C.MISSING_DEPENDENCY if references else C.NOT_FOUND
        category = self.codes.get(code)
        if category is None and self.refine is not None:
            category = self.refine(exc, code)
        return category

    def is_stale(self, exc: ConnectorError) -> bool:
        return self.normalise(exc.code) in self.stale_codes


NO_RULES = VendorRules(codes={})

# OAuth errors look the same at Intuit and Zoho (Zoho's token throttle is "Access Denied").
_OAUTH_CODES = {
    "invalid_grant": C.AUTH,
    "invalid_client": C.AUTH,
    "invalid_client_secret": C.AUTH,
    "invalid_code": C.AUTH,
    "unauthorized_client": C.AUTH,
    "access denied": C.RATE_LIMITED,
}

# Most specific first: TokenThrottled and RateLimited are also TransientErrors.
_EXCEPTION_CATEGORIES: tuple[tuple[type[ConnectorError], str], ...] = (
    (TokenThrottled, C.RATE_LIMITED),
    (RateLimited, C.RATE_LIMITED),
    (RemoteUnavailable, C.REMOTE_UNAVAILABLE),
    (AuthError, C.AUTH),
    (NotFound, C.NOT_FOUND),
)


def _by_status(status: int | None) -> str | None:
    if status is None:
        return None
    if status in (401, 403):
        return C.AUTH
    if status == 404:
        return C.NOT_FOUND
    if status == 429:
        return C.RATE_LIMITED
    if status >= 500:
        return C.REMOTE_UNAVAILABLE
    return None


def _category(exc: ConnectorError, rules: VendorRules, *, references: bool) -> str:
    category = rules.category_for(exc, references=references)
    category = category or _OAUTH_CODES.get(exc.code.strip().lower())
    category = category or next(
        (cat for cls, cat in _EXCEPTION_CATEGORIES if isinstance(exc, cls)), None
    )
    category = category or _by_status(exc.status)
    if category is None:
        category = C.REMOTE_UNAVAILABLE if exc.transient else C.UNKNOWN
    return category


def classify(
    exc: ConnectorError | Exception, rules: VendorRules = NO_RULES, *, references: bool = False
) -> Classification:
    """Classify an error from a call to the system whose codes `rules` describes.

    `references`: the failing call referred to other records (an invoice's CustomerRef and
    ItemRefs), so "not found" codes mean a missing dependency rather than a missing record.
    """
    if not isinstance(exc, ConnectorError):
        network = (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError)
        category: str = C.REMOTE_UNAVAILABLE if isinstance(exc, network) else C.UNKNOWN
        message = str(exc) or type(exc).__name__
        return Classification(category, category in TRANSIENT_CATEGORIES, message)
    category = _category(exc, rules, references=references)
    return Classification(
        category=category,
        transient=category in TRANSIENT_CATEGORIES,
        message=exc.message or str(exc),
        code=exc.code,
        stale=rules.is_stale(exc),
        retry_after=exc.retry_after,
        request_id=exc.request_id,
    )
