"""Classification of remote errors into the categories an admin triages (DESIGN.md, "Errors an
admin triages"), and the backoff the engine waits before retrying a transient one.

The vendor's own code decides first (one table per system, looked up through a registry rather
than a chain of ifs on the system name); then the exception's class from
`connectors.exceptions`; then the HTTP status. Whatever is left is `remote_unavailable` when the
exception says it is transient, else `unknown`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests

from connectors.exceptions import (
    AuthError,
    ConnectorError,
    NotFound,
    RateLimited,
    RemoteUnavailable,
    TokenThrottled,
)
from syncs.models import TRANSIENT_CATEGORIES, ErrorCategory

C = ErrorCategory


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


def _strip(code: str) -> str:
    return code.strip()


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
    normalise: Callable[[str], str] = _strip

    def category_for(self, exc: ConnectorError, *, references: bool) -> str | None:
        code = self.normalise(exc.code)
        if code in self.reference_codes:
            return C.MISSING_DEPENDENCY if references else C.NOT_FOUND
        category = self.codes.get(code)
        if category is None and self.refine is not None:
            category = self.refine(exc, code)
        return category


def _numeric(code: str) -> str:
    """QBO's XML throttle body says `errorCode=003001`; the JSON says `3001`."""
    code = code.strip()
    return (code.lstrip("0") or "0") if code.isdigit() else code


def _qbo_refine(exc: ConnectorError, code: str) -> str | None:
    # Intuit: codes of 10000 and above are severe system errors; retry later.
    if code.isdigit() and int(code) >= 10000:
        return C.REMOTE_UNAVAILABLE
    return None


def _details_mention(details: Any, key: str) -> bool:
    if isinstance(details, Mapping):
        return key in details or any(_details_mention(v, key) for v in details.values())
    if isinstance(details, list | tuple):
        return any(_details_mention(item, key) for item in details)
    return False


def _zoho_crm_refine(exc: ConnectorError, code: str) -> str | None:
    if code != "INVALID_DATA":
        return None
    # "the id given seems to be invalid" on the record's own id: it is not there (deleted).
    if isinstance(exc.details, Mapping) and exc.details.get("api_name") == "id":
        return C.NOT_FOUND
    # Zoho reports a value over a field's length as INVALID_DATA with details.maximum_length.
    if _details_mention(exc.details, "maximum_length"):
        return C.VALUE_TOO_LONG
    return C.INVALID_VALUE


# Zoho Books documents few of its numeric codes; its messages are consistent, so they fill in.
_BOOKS_MESSAGE_HINTS = (
    ("already exists", C.DUPLICATE),
    ("does not exist", C.NOT_FOUND),
    ("maximum length", C.VALUE_TOO_LONG),
    ("cannot exceed", C.VALUE_TOO_LONG),
    ("is mandatory", C.MANDATORY_MISSING),
    ("is required", C.MANDATORY_MISSING),
    ("invalid value", C.INVALID_VALUE),
)


def _zoho_books_refine(exc: ConnectorError, code: str) -> str | None:
    text = exc.message.lower()
    return next((category for hint, category in _BOOKS_MESSAGE_HINTS if hint in text), None)


QBO = VendorRules(
    # Reference: developer.intuit.com .../develop/troubleshooting/error-codes (reference/qbo.md §6.2)
    codes={
        "120": C.AUTH,
        "3100": C.AUTH,  # ApplicationAuthorizationFailed (QBWC's 3100 means something else)
        "3200": C.AUTH,
        "3201": C.AUTH,
        "6190": C.AUTH,  # company subscription ended: someone must act on the connection
        "3001": C.RATE_LIMITED,
        "429": C.RATE_LIMITED,
        "620": C.MISSING_DEPENDENCY,
        "2020": C.MANDATORY_MISSING,
        "2050": C.VALUE_TOO_LONG,
        "2170": C.INVALID_VALUE,
        "2210": C.INVALID_VALUE,
        "6000": C.INVALID_VALUE,
        "6210": C.INVALID_VALUE,  # accounting period closed
        "6540": C.INVALID_VALUE,  # deposited transaction cannot be changed
        "5010": C.RECORD_LOCKED,
        "6140": C.DUPLICATE,
        "6240": C.NAME_CONFLICT,
    },
    reference_codes=frozenset({"610", "2500"}),
    stale_codes=frozenset({"5010"}),
    refine=_qbo_refine,
    normalise=_numeric,
)

QBD = VendorRules(
    # Reference: qbXML status codes (reference/qbwc.md §4.4)
    codes={
        "1": C.NOT_FOUND,
        "500": C.MISSING_DEPENDENCY,
        "1000": C.REMOTE_UNAVAILABLE,
        "3010": C.INVALID_VALUE,
        "3020": C.INVALID_VALUE,
        "3030": C.INVALID_VALUE,
        "3070": C.VALUE_TOO_LONG,
        "3100": C.NAME_CONFLICT,
        "3140": C.MISSING_DEPENDENCY,
        "3170": C.RECORD_LOCKED,
        "3175": C.RECORD_LOCKED,
        "3176": C.RECORD_LOCKED,
        "3180": C.RECORD_LOCKED,
        "3200": C.RECORD_LOCKED,
        "3210": C.INVALID_VALUE,
        "3250": C.MODULE_UNAVAILABLE,
        "3260": C.AUTH,
        "3261": C.AUTH,
        "3391": C.REMOTE_UNAVAILABLE,  # iterator expired: restart it next session
        "0x80040401": C.REMOTE_UNAVAILABLE,
        "0x80040408": C.REMOTE_UNAVAILABLE,
        "0x8004040d": C.REMOTE_UNAVAILABLE,
    },
    reference_codes=frozenset({"3000", "3120"}),
    stale_codes=frozenset({"3200"}),
    normalise=lambda code: _numeric(code).lower(),
)

ZOHO_CRM = VendorRules(
    # Reference: zoho.com/crm/developer/docs/api/v8 (crm-oas record.json; reference/zoho.md)
    codes={
        "DUPLICATE_DATA": C.DUPLICATE,
        "MANDATORY_NOT_FOUND": C.MANDATORY_MISSING,
        "DEPENDENT_FIELD_MISSING": C.MANDATORY_MISSING,
        "PATTERN_NOT_MATCHED": C.INVALID_VALUE,
        "DATA_MISMATCH": C.INVALID_VALUE,
        "RECORD_LOCKED": C.RECORD_LOCKED,
        "RECORD_IN_BLUEPRINT": C.RECORD_LOCKED,
        "INVALID_MODULE": C.MODULE_UNAVAILABLE,
        "FEATURE_NOT_SUPPORTED": C.MODULE_UNAVAILABLE,
        "FEATURE_NOT_ENABLED": C.MODULE_UNAVAILABLE,
        "API_NOT_SUPPORTED": C.MODULE_UNAVAILABLE,
        "TOO_MANY_REQUESTS": C.RATE_LIMITED,
        "INVALID_TOKEN": C.AUTH,
        "AUTHENTICATION_FAILURE": C.AUTH,
        "OAUTH_SCOPE_MISMATCH": C.AUTH,
        "NO_PERMISSION": C.AUTH,
        "NOT_FOUND": C.NOT_FOUND,
        "INTERNAL_ERROR": C.REMOTE_UNAVAILABLE,
    },
    refine=_zoho_crm_refine,
    normalise=lambda code: code.strip().upper(),
)

ZOHO_BOOKS = VendorRules(
    # Reference: zoho.com/books/api/v3/errors (code 0 is success; the rest are sparsely listed)
    codes={
        "57": C.AUTH,  # "You are not authorized to perform this operation"
        "9017": C.AUTH,  # "This user is not associated with any organization"
        "1000": C.REMOTE_UNAVAILABLE,  # "Internal error"
        "1001": C.DUPLICATE,  # "... already exists"
        "1002": C.NOT_FOUND,  # "... does not exist"
        "1038": C.INVALID_VALUE,  # "JSON is not well formed"
    },
    refine=_zoho_books_refine,
    normalise=_numeric,
)

RULES: dict[str, VendorRules] = {
    "qbo": QBO,
    "qbd": QBD,
    "zoho_crm": ZOHO_CRM,
    "zoho_books": ZOHO_BOOKS,
}

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


def _connector_category(exc: ConnectorError, *, system: str, references: bool) -> str:
    rules = RULES.get(system or exc.system)
    category = rules.category_for(exc, references=references) if rules else None
    category = category or _OAUTH_CODES.get(exc.code.strip().lower())
    category = category or next(
        (cat for cls, cat in _EXCEPTION_CATEGORIES if isinstance(exc, cls)), None
    )
    category = category or _by_status(exc.status)
    if category is None:
        category = C.REMOTE_UNAVAILABLE if exc.transient else C.UNKNOWN
    return category


def error_classify(
    exc: ConnectorError | Exception, *, system: str, references: bool = False
) -> Classification:
    """Classify an error from a call to `system` (a `Connection.System` value).

    `references`: the failing call referred to other records (an invoice's CustomerRef and
    ItemRefs), so "not found" codes mean a missing dependency rather than a missing record.
    """
    if not isinstance(exc, ConnectorError):
        network = (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError)
        category = C.REMOTE_UNAVAILABLE if isinstance(exc, network) else C.UNKNOWN
        message = str(exc) or type(exc).__name__
        return Classification(category, category in TRANSIENT_CATEGORIES, message)
    category = _connector_category(exc, system=system, references=references)
    rules = RULES.get(system or exc.system)
    stale = bool(rules and rules.normalise(exc.code) in rules.stale_codes)
    return Classification(
        category=category,
        transient=category in TRANSIENT_CATEGORIES,
        message=exc.message or str(exc),
        code=exc.code,
        stale=stale,
        retry_after=exc.retry_after,
        request_id=exc.request_id,
    )


BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)


def backoff_for(
    attempts: int, *, base: timedelta = BACKOFF_BASE, cap: timedelta = BACKOFF_CAP
) -> timedelta:
    """How long to wait before attempt `attempts + 1`: base * 2^(attempts-1), capped, with
    "equal jitter" (a random point in the upper half) so that records failing together do not
    retry together, yet the wait still grows with every attempt."""
    exponent = min(max(attempts, 1) - 1, 32)  # 2**32 * 30 s is far past any cap
    ceiling = min(cap, base * (2**exponent))
    seconds = ceiling.total_seconds()
    # Not security-sensitive: jitter only spreads retries out.
    return timedelta(seconds=random.uniform(seconds / 2, seconds))  # noqa: S311
