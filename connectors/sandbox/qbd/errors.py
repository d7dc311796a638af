"""How QuickBooks says no: a status code on one request's answer, or an hresult from the request
processor refusing the whole message. The texts are QuickBooks' own where they are known
(reference/qbwc.md §4.4, the hotglue and consolibyte captures)."""

from __future__ import annotations

PARSE_HRESULT = "0x80040400"
PARSE_MESSAGE = "QuickBooks found an error when parsing the provided XML text stream."

STATUS_OK = "Status OK"
NO_MATCH = "A query request did not find a matching object in QuickBooks"

DEFAULT_MESSAGES = {
    1: NO_MATCH,
    3170: "There was an error when modifying a list element. QuickBooks error message: "
    "This list has been modified by another user.",
    3175: "There was an error when modifying a list element. QuickBooks error message: "
    "The record is in use by another user.",
    3176: "There was an error when modifying a transaction. QuickBooks error message: "
    "The transaction is in use by another user.",
    3180: "There was an error when saving a list element. QuickBooks error message: "
    "Cannot save the record.",
    3250: "This feature is not enabled or not available in this version of QuickBooks.",
    3260: "Insufficient permission level to perform this action.",
}


class QbStatusError(Exception):
    """One request failed: its answer carries this status and no Ret."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class QbRequestError(Exception):
    """The request processor refused the message: QBWC passes the hresult and message to
    receiveResponseXML with an empty response."""

    def __init__(self, hresult: str, message: str) -> None:
        super().__init__(f"{hresult}: {message}")
        self.hresult = hresult
        self.message = message


def severity(code: int) -> str:
    """0-499 Info (1 is an empty query, not a failure), 500-999 Warn, the rest Error."""
    if code < 500:
        return "Info"
    return "Warn" if code < 1000 else "Error"


def default_message(code: int) -> str:
    return DEFAULT_MESSAGES.get(code, f"QuickBooks returned status {code}.")


def parse_error() -> QbRequestError:
    return QbRequestError(PARSE_HRESULT, PARSE_MESSAGE)


def name_in_use(name: str) -> QbStatusError:
    return QbStatusError(3100, f'The name "{name}" of the list element is already in use.')


def not_found(object_id: str) -> QbStatusError:
    return QbStatusError(3120, f'Object "{object_id}" specified in the request cannot be found.')


def invalid_parent(name: str, list_name: str = "Customers") -> QbStatusError:
    return QbStatusError(
        3130,
        f'There is an invalid reference to a parent "{name}" in the {list_name} list.  '
        "QuickBooks error message: Invalid argument.  The specified record does not exist "
        "in the list.",
    )


def too_long(field: str, value: str) -> QbStatusError:
    return QbStatusError(3070, f'The string "{value}" in the field "{field}" is too long.')


def stale_edit_sequence(edit_sequence: str) -> QbStatusError:
    return QbStatusError(3200, f'The provided edit sequence "{edit_sequence}" is out-of-date.')


def invalid_iterator(iterator_id: str) -> QbStatusError:
    return QbStatusError(3391, f'The iteratorID "{iterator_id}" is not valid.')


def missing_element(element: str) -> QbStatusError:
    return QbStatusError(
        500,
        "The query request has not been fully completed. There was a required element "
        f'("{element}") that could not be found in QuickBooks.',
    )


def not_supported(request_type: str) -> QbStatusError:
    return QbStatusError(
        3250, f"{DEFAULT_MESSAGES[3250]} (The sandbox does not answer {request_type}.)"
    )
