"""qbXML status codes in the admin's categories. Status 1 is "no match", not a failure, and
500-999 are warnings: only the codes below are errors.

Reference: qbXML status codes (reference/qbwc.md §4.4)
"""

from __future__ import annotations

from connectors.base.errors import ErrorCategory as C
from connectors.base.errors import VendorRules, code_numeric

RULES = VendorRules(
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
    normalise=lambda code: code_numeric(code).lower(),
)
