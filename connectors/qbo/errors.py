"""QuickBooks Online's error codes in the admin's categories.

Reference: developer.intuit.com .../develop/troubleshooting/error-codes (reference/qbo.md §6.2)
"""

from __future__ import annotations

from connectors.base.errors import ErrorCategory as C
from connectors.base.errors import VendorRules, code_numeric
from connectors.base.exceptions import ConnectorError


def _refine(exc: ConnectorError, code: str) -> str | None:
    # Intuit: codes of 10000 and above are severe system errors; retry later.
    if code.isdigit() and int(code) >= 10000:
        return C.REMOTE_UNAVAILABLE
    return None


RULES = VendorRules(
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
    refine=_refine,
    normalise=code_numeric,
)
