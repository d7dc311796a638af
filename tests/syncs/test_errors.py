"""Remote errors become the categories an admin triages; transient ones back off."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
import requests
from lxml import etree

from connectors.base.exceptions import (
    AuthError,
    ConnectorError,
    NotFound,
    PermanentError,
    RateLimited,
    RemoteUnavailable,
    TokenThrottled,
    TransientError,
)
from syncs.errors import BACKOFF_BASE, BACKOFF_CAP, Classification, backoff_for, error_classify
from tests.syncs.conftest import SHARED_FIXTURES


def perm(code: str, message: str = "failed", **kwargs) -> PermanentError:
    return PermanentError(message, code=code, **kwargs)


CASES = [
    # QuickBooks Online
    ("qbo", perm("6240", "Duplicate Name Exists Error", status=400), "name_conflict", False),
    ("qbo", perm("2050", "String length is either shorter or longer"), "value_too_long", False),
    ("qbo", perm("2020", "Required param missing"), "mandatory_missing", False),
    ("qbo", perm("6140", "Duplicate Document Number Error"), "duplicate", False),
    ("qbo", perm("2170", "Invalid Enumeration"), "invalid_value", False),
    ("qbo", perm("620", "TxnID Cannot Be Linked"), "missing_dependency", False),
    ("qbo", RateLimited("ThrottleExceeded", code="3001", status=429), "rate_limited", True),
    ("qbo", perm("003001", "message=ThrottleExceeded; errorCode=003001"), "rate_limited", True),
    ("qbo", AuthError("AuthenticationFailed", code="3200", status=401), "auth", False),
    ("qbo", perm("3201", "Not authorized for the company"), "auth", False),
    ("qbo", perm("120", "Authorization Failure"), "auth", False),
    ("qbo", AuthError("Token invalid", code="invalid_grant", status=400), "auth", False),
    ("qbo", perm("10000", "An application error has occurred"), "remote_unavailable", True),
    ("qbo", RemoteUnavailable("Service Unavailable", status=503), "remote_unavailable", True),
    ("qbo", PermanentError("Internal Server Error", status=500), "remote_unavailable", True),
    ("qbo", perm("9999", "Something new"), "unknown", False),
    ("qbo", TransientError("Read timed out"), "remote_unavailable", True),
    ("qbo", requests.ConnectionError("Connection reset by peer"), "remote_unavailable", True),
    ("qbo", requests.Timeout("Read timed out"), "remote_unavailable", True),
    ("qbo", ValueError("unexpected"), "unknown", False),
    # Zoho CRM (per-record codes of a 2xx write answer, and whole-call errors)
    ("zoho_crm", perm("DUPLICATE_DATA", details={"api_name": "Email"}), "duplicate", False),
    ("zoho_crm", perm("MANDATORY_NOT_FOUND", details={"api_name": "Last_Name"}), "mandatory_missing", False),
    ("zoho_crm", perm("INVALID_DATA", details={"api_name": "Account_Name", "maximum_length": 200}), "value_too_long", False),
    ("zoho_crm", perm("INVALID_DATA", details=[{"api_name": "Phone", "maximum_length": 30}]), "value_too_long", False),
    ("zoho_crm", perm("INVALID_DATA", details={"api_name": "Email", "expected_data_type": "email"}), "invalid_value", False),
    ("zoho_crm", perm("INVALID_DATA", "the id given seems to be invalid", details={"api_name": "id", "id": "9"}), "not_found", False),
    ("zoho_crm", perm("INVALID_DATA", "the id given seems to be invalid", details={"api_name": "Account_Name"}), "invalid_value", False),
    ("zoho_crm", perm("RECORD_LOCKED", "the record is locked"), "record_locked", True),
    ("zoho_crm", perm("RECORD_IN_BLUEPRINT", "record is in blueprint"), "record_locked", True),
    ("zoho_crm", perm("INVALID_MODULE", "the module name given seems to be invalid"), "module_unavailable", False),
    ("zoho_crm", perm("FEATURE_NOT_SUPPORTED", "Vendors is not available in this edition"), "module_unavailable", False),
    ("zoho_crm", RateLimited("API limit exceeded", code="TOO_MANY_REQUESTS", status=429), "rate_limited", True),
    ("zoho_crm", AuthError("invalid oauth token", code="INVALID_TOKEN", status=401), "auth", False),
    ("zoho_crm", perm("AUTHENTICATION_FAILURE", "Authentication failed"), "auth", False),
    ("zoho_crm", NotFound("the related id given seems to be invalid", code="NOT_FOUND"), "not_found", False),
    # Zoho Books
    ("zoho_books", perm("1002", "Invoice does not exist.", status=404), "not_found", False),
    ("zoho_books", perm("1001", 'Contact "Acme" already exists.'), "duplicate", False),
    ("zoho_books", perm("57", "You are not authorized to perform this operation"), "auth", False),
    ("zoho_books", perm("1000", "Internal error", status=500), "remote_unavailable", True),
    ("zoho_books", perm("4", "Contact name is mandatory"), "mandatory_missing", False),
    ("zoho_books", perm("15", "Invalid value passed for Email"), "invalid_value", False),
    ("zoho_books", RateLimited("Rate limit exceeded", status=429), "rate_limited", True),
    # QuickBooks Desktop (qbXML statusCode through the Web Connector)
    ("qbd", perm("3100", "The name of the list element is already in use."), "name_conflict", False),
    ("qbd", perm("3120", "Object cannot be found"), "not_found", False),
    ("qbd", perm("3170", "There was an error when modifying"), "record_locked", True),
    ("qbd", perm("3175", "Record is in use"), "record_locked", True),
    ("qbd", perm("3176", "Record is in use by another user"), "record_locked", True),
    ("qbd", perm("3180", "There was an error when saving"), "record_locked", True),
    ("qbd", perm("3250", "This feature is not enabled or not available"), "module_unavailable", False),
    ("qbd", perm("0x80040408", "Could not start QuickBooks."), "remote_unavailable", True),
]  # fmt: skip


@pytest.mark.parametrize(("system", "exc", "category", "transient"), CASES)
def test_classification_table(system: str, exc: Exception, category: str, transient: bool):
    result = error_classify(exc, system=system)
    assert (result.category, result.transient) == (category, transient)
    expected_message = exc.message if isinstance(exc, ConnectorError) else str(exc)
    assert result.message == expected_message


@pytest.mark.parametrize(
    ("system", "code", "references", "category"),
    [
        ("qbo", "610", False, "not_found"),
        ("qbo", "610", True, "missing_dependency"),
        ("qbo", "2500", False, "not_found"),
        ("qbo", "2500", True, "missing_dependency"),
        ("qbd", "3120", True, "missing_dependency"),
    ],
)
def test_not_found_depends_on_whether_the_call_referred_to_other_records(
    system, code, references, category
):
    exc = NotFound("Object Not Found", system=system, code=code)
    assert error_classify(exc, system=system, references=references).category == category


@pytest.mark.parametrize(("system", "code"), [("qbo", "5010"), ("qbd", "3200")])
def test_a_stale_version_is_retried_after_a_fresh_read(system, code):
    result = error_classify(perm(code, "Stale Object Error"), system=system)
    assert (result.category, result.transient, result.stale) == ("record_locked", True, True)
    assert not error_classify(perm("3170"), system="qbd").stale


def test_classification_carries_the_vendors_code_request_id_and_retry_after():
    exc = RateLimited("ThrottleExceeded", code="3001", request_id="tid-123", retry_after=60.0)
    result = error_classify(exc, system="qbo")
    assert (result.code, result.request_id, result.retry_after) == ("3001", "tid-123", 60.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.category = "unknown"  # type: ignore[misc]


def test_the_exceptions_own_system_is_used_when_none_is_given():
    exc = PermanentError("Duplicate Name Exists Error", system="qbo", code="6240")
    assert error_classify(exc, system="").category == "name_conflict"


def _batch_errors() -> dict[str, ConnectorError]:
    """The Faults of a recorded QBO batch answer, as the QBO client raises them."""
    body = json.loads((SHARED_FIXTURES / "qbo" / "batch_response_with_faults.json").read_text())
    errors = {}
    for item in body["BatchItemResponse"]:
        if "Fault" not in item:
            continue
        error = item["Fault"]["Error"][0]
        cls = NotFound if error["code"] == "610" else PermanentError
        text = f"{error['Message']}: {error['Detail']}"
        errors[item["bId"]] = cls(text, system="qbo", code=error["code"], details=item)
    return errors


def test_recorded_qbo_batch_faults():
    errors = _batch_errors()
    assert set(errors) == {"bid1", "bid2", "bid3"}
    duplicate = error_classify(errors["bid1"], system="qbo")
    assert (duplicate.category, duplicate.transient) == ("name_conflict", False)
    assert duplicate.message.startswith("Duplicate Name Exists Error: The name supplied")
    inactive_reference = error_classify(errors["bid2"], system="qbo", references=True)
    assert inactive_reference.category == "missing_dependency"
    stale = error_classify(errors["bid3"], system="qbo")
    assert (stale.category, stale.transient, stale.stale) == ("record_locked", True, True)


def test_recorded_qbwc_3100_status():
    envelope = etree.parse(
        str(SHARED_FIXTURES / "qbwc" / "receiveResponseXML.error3100.request.xml")
    )
    inner = envelope.findtext(".//{http://developer.intuit.com/}response").strip()
    status = etree.fromstring(inner.encode()).find(".//ItemServiceAddRs")
    exc = PermanentError(status.get("statusMessage"), system="qbd", code=status.get("statusCode"))
    result = error_classify(exc, system="qbd")
    assert (result.category, result.code) == ("name_conflict", "3100")
    assert "already in use" in result.message


def test_recorded_zoho_token_throttle():
    body = json.loads((SHARED_FIXTURES / "zoho" / "token_rate_limited_error.json").read_text())
    exc = TokenThrottled(body["error_description"], system="zoho_crm", code=body["error"])
    result = error_classify(exc, system="zoho_crm")
    assert (result.category, result.transient) == ("rate_limited", True)
    # The same body seen by code alone, as a client that has not recognised it might raise it:
    plain = PermanentError(body["error_description"], code=body["error"], status=400)
    assert error_classify(plain, system="zoho_books").category == "rate_limited"


def test_backoff_grows_exponentially_with_jitter_up_to_a_cap():
    for attempts in range(1, 12):
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempts - 1))
        for _ in range(20):
            assert ceiling / 2 <= backoff_for(attempts) <= ceiling
    assert BACKOFF_CAP / 2 <= backoff_for(10_000) <= BACKOFF_CAP
    assert BACKOFF_BASE / 2 <= backoff_for(0) <= BACKOFF_BASE
    assert len({backoff_for(5) for _ in range(20)}) > 1


def test_backoff_takes_its_own_base_and_cap():
    small = backoff_for(3, base=timedelta(seconds=1), cap=timedelta(seconds=3))
    assert timedelta(seconds=1.5) <= small <= timedelta(seconds=3)


def test_classification_is_a_small_value_object():
    result = Classification("duplicate", False, "Duplicate record")
    assert (result.code, result.stale, result.retry_after, result.request_id) == (
        "",
        False,
        None,
        "",
    )
