"""QBO's error envelopes: the JSON `Fault`, the XML throttle answer, Intuit's exact texts.

Texts come from the recorded payloads in fixtures/qbo/ and reference/qbo.md §6 wherever they
exist there, so a client's error parser meets the strings it will meet in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.sandbox.qbo.timefmt import intuit_time

# The Detail texts recorded in fixtures/qbo/batch_response_with_faults.json, verbatim (the
# duplicate-name one really carries a backslash and an `n`).
DUPLICATE_NAME_DETAIL = (
    "The name supplied already exists. : Another customer, vendor or employee is already using "
    "this \\nname. Please use a different name."
)
NOT_FOUND_DETAIL = (
    "Object Not Found : Something you're trying to use has been made inactive. Check the fields "
    "with accounts, customers, items, vendors or employees."
)
STALE_DETAIL = (
    "Stale Object Error : You and root were working on this at the same time. root finished "
    "before you did, so your work was not saved."
)
THROTTLE_XML = (
    '<?xml version="1.0"?><IntuitResponse time="{time}"><Fault type="SERVICE">'
    '<Error code="3001"><Message>message=ThrottleExceeded; errorCode=003001; statusCode=429'
    "</Message><Detail>The request limit was reached.  Try again later</Detail></Error></Fault>"
    "</IntuitResponse>"
)


@dataclass(eq=False)
class QboFault(Exception):
    """One QBO error: raised by the services, rendered by the views (and per batch item)."""

    code: str
    message: str
    detail: str
    fault_type: str = "ValidationFault"
    status: int = 400
    # Validation faults carry `element` (possibly ""); authentication and system faults do not.
    element: str | None = ""

    def __str__(self) -> str:
        return f"{self.code} {self.message}: {self.detail}"

    def fault(self) -> dict[str, Any]:
        error: dict[str, Any] = {"Message": self.message, "Detail": self.detail, "code": self.code}
        if self.element is not None:
            error["element"] = self.element
        return {"Error": [error], "type": self.fault_type}

    def body(self) -> dict[str, Any]:
        return {"Fault": self.fault(), "time": intuit_time()}


def not_found() -> QboFault:
    return QboFault("610", "Object Not Found", NOT_FOUND_DETAIL)


def stale_object() -> QboFault:
    return QboFault("5010", "Stale Object Error", STALE_DETAIL)


def duplicate_name(existing_id: int | str, *, detail: str = DUPLICATE_NAME_DETAIL) -> QboFault:
    return QboFault("6240", "Duplicate Name Exists Error", f"{detail} : Id={existing_id}")


def required_missing(what: str, *, element: str = "") -> QboFault:
    return QboFault(
        "2020",
        "Required Param Missing",
        f"Required parameter {what} is missing in the request",
        element=element,
    )


def too_long(element: str, *, limit: int, supplied: int) -> QboFault:
    return QboFault(
        "2050",
        "String length is either shorter or longer than supported by specification",
        f"String length specified does not match the supported length. Min:0 Max:{limit} "
        f"supplied length:{supplied}",
        element=element,
    )


def invalid_property(detail: str, *, element: str = "") -> QboFault:
    return QboFault("2010", "Request has invalid or unsupported property", detail, element=element)


def invalid_reference(entity: str, ref_id: str) -> QboFault:
    return QboFault(
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {entity} assigned to this transaction has been deleted. "
        f"Before you can modify this transaction, you must restore {entity} Id={ref_id}",
    )


def unsupported_operation(detail: str) -> QboFault:
    return QboFault("500", "Unsupported Operation", detail)


def query_parse_error(detail: str) -> QboFault:
    return QboFault("4000", "Error parsing query", f"QueryParserError: {detail}")


def query_invalid(detail: str) -> QboFault:
    return QboFault("4001", "Invalid query", f"QueryValidationError: {detail}")


def authentication_failed(detail: str) -> QboFault:
    return QboFault(
        "3200",
        "message=AuthenticationFailed; errorCode=003200; statusCode=401",
        detail,
        fault_type="AuthenticationFault",
        status=401,
        element=None,
    )


def authorization_failed(realm_id: str) -> QboFault:
    return QboFault(
        "3100",
        "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
        f"The application is not authorized to access company {realm_id}.",
        fault_type="AuthorizationFault",
        status=403,
        element=None,
    )


def system_failure(status: int) -> QboFault:
    """What Intuit answers when it falls over (used for injected faults)."""
    if status == 503:
        return QboFault(
            "10000",
            "Service Unavailable",
            "The service is temporarily unavailable. Please try again later.",
            fault_type="SystemFault",
            status=503,
            element=None,
        )
    return QboFault(
        "10000",
        "An application error has occurred while processing your request",
        "System Failure Error: An unexpected error occurred while accessing or saving your "
        "data. Please wait a few minutes and try again.",
        fault_type="SystemFault",
        status=500,
        element=None,
    )


def throttle_xml() -> str:
    return THROTTLE_XML.format(time=intuit_time())
