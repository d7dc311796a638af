"""Zoho CRM's error codes in the admin's categories.

Reference: zoho.com/crm/developer/docs/api/v8 (crm-oas record.json; reference/zoho.md)
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.base.errors import ErrorCategory as C
from connectors.base.errors import VendorRules, details_mention
from connectors.base.exceptions import ConnectorError


def _refine(exc: ConnectorError, code: str) -> str | None:
    if code != "INVALID_DATA":
        return None
    # "the id given seems to be invalid" on the record's own id: it is not there (deleted).
    if isinstance(exc.details, Mapping) and exc.details.get("api_name") == "id":
        return C.NOT_FOUND
    # Zoho reports a value over a field's length as INVALID_DATA with details.maximum_length.
    if details_mention(exc.details, "maximum_length"):
        return C.VALUE_TOO_LONG
    return C.INVALID_VALUE


RULES = VendorRules(
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
    refine=_refine,
    normalise=lambda code: code.strip().upper(),
)
