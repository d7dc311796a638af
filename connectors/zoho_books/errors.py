"""Zoho Books' error codes in the admin's categories. Books documents few of its numeric codes;
its messages are consistent, so they fill in.

Reference: zoho.com/books/api/v3/errors (code 0 is success; the rest are sparsely listed)
"""

from __future__ import annotations

from connectors.base.errors import ErrorCategory as C
from connectors.base.errors import VendorRules, code_numeric
from connectors.base.exceptions import ConnectorError

_MESSAGE_HINTS = (
    ("already exists", C.DUPLICATE),
    ("does not exist", C.NOT_FOUND),
    ("maximum length", C.VALUE_TOO_LONG),
    ("cannot exceed", C.VALUE_TOO_LONG),
    ("is mandatory", C.MANDATORY_MISSING),
    ("is required", C.MANDATORY_MISSING),
    ("invalid value", C.INVALID_VALUE),
)


def _refine(exc: ConnectorError, code: str) -> str | None:
    text = exc.message.lower()
    return next((category for hint, category in _MESSAGE_HINTS if hint in text), None)


RULES = VendorRules(
    codes={
        "57": C.AUTH,  # "You are not authorized to perform this operation"
        "9017": C.AUTH,  # "This user is not associated with any organization"
        "1000": C.REMOTE_UNAVAILABLE,  # "Internal error"
        "1001": C.DUPLICATE,  # "... already exists"
        "1002": C.NOT_FOUND,  # "... does not exist"
        "1038": C.INVALID_VALUE,  # "JSON is not well formed"
    },
    refine=_refine,
    normalise=code_numeric,
)
