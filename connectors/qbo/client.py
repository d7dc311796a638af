"""QuickBooks Online Accounting API v3: HTTP only, answers parsed into small typed objects.

Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/companyinfo
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import requests
from lxml import etree

from connectors.exceptions import (
    AuthError,
    ConnectorError,
    NotFound,
    PermanentError,
    RateLimited,
    RemoteUnavailable,
)
from connectors.http import ApiSession, response_error_default, retry_after_seconds
from connectors.models import Connection

MINOR_VERSION = "75"
PRODUCTION_URL = "https://quickbooks.api.intuit.com"
SANDBOX_URL = "https://sandbox-quickbooks.api.intuit.com"
# Intuit allows 500 requests a minute per company; keep headroom for the customer's other apps.
CALLS_PER_MINUTE = 450

AUTH_CODES = {"3200", "3201", "120", "3100"}
_XML_CODE = re.compile(rb'code="(\d+)"')


@dataclass(frozen=True)
class CompanyInfo:
    realm_id: str
    name: str
    legal_name: str
    country: str


def _fault_from_json(body: Any) -> tuple[str, str, str] | None:
    """(code, message, detail) of a Fault, in either of the casings Intuit uses."""
    if not isinstance(body, dict):
        return None
    fault = body.get("Fault") or body.get("fault")
    if not isinstance(fault, dict):
        return None
    errors = fault.get("Error") or fault.get("error") or [{}]
    first = errors[0] if isinstance(errors, list) and errors else {}
    code = str(first.get("code", ""))
    message = str(first.get("Message") or first.get("message") or "QuickBooks reported an error")
    detail = str(first.get("Detail") or first.get("detail") or "")
    return code, message, detail


def _fault_from_xml(content: bytes) -> tuple[str, str, str] | None:
    """Throttling answers often come as XML even when JSON was asked for."""
    if b"<" not in content[:200]:
        return None
    try:
        root = etree.fromstring(
            content, parser=etree.XMLParser(resolve_entities=False, no_network=True)
        )
    except etree.XMLSyntaxError:
        match = _XML_CODE.search(content)
        return (match.group(1).decode(), "QuickBooks reported an error", "") if match else None
    error = root.find(".//{*}Error")
    if error is None:
        return None
    return (
        error.get("code", ""),
        (error.findtext("{*}Message") or "").strip(),
        (error.findtext("{*}Detail") or "").strip(),
    )


def qbo_error(response: requests.Response) -> ConnectorError | None:
    """Read a QBO answer for failure, including a Fault inside an HTTP 200."""
    request_id = response.headers.get("intuit_tid", "")
    try:
        body = response.json()
    except ValueError:
        body = None
    fault = _fault_from_json(body) if body is not None else _fault_from_xml(response.content)
    if fault is None:
        if response.ok:
            return None
        return response_error_default(
            response, system="qbo", request_id=request_id
        ) or PermanentError(
            f"QuickBooks answered {response.status_code}: {response.text[:200]}",
            system="qbo",
            status=response.status_code,
            request_id=request_id,
        )
    code, message, detail = fault
    text = f"{message}: {detail}" if detail else message
    kwargs = {
        "system": "qbo",
        "code": code,
        "status": response.status_code,
        "request_id": request_id,
        "details": body,
    }
    if response.status_code == 429 or code == "3001":
        return RateLimited(text, retry_after=retry_after_seconds(response), **kwargs)
    if response.status_code >= 500 or (code.isdigit() and int(code) >= 10000):
        return RemoteUnavailable(text, retry_after=retry_after_seconds(response), **kwargs)
    if code in AUTH_CODES or response.status_code in (401, 403):
        return AuthError(text, **kwargs)
    if code == "610":
        return NotFound(text, **kwargs)
    return PermanentError(text, **kwargs)


class QboClient:
    """One QuickBooks company (realm) through one connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        default = (
            SANDBOX_URL
            if connection.environment == Connection.Environment.SANDBOX
            else PRODUCTION_URL
        )
        self.base_url = (connection.api_base_url or default).rstrip("/")
        self.api = ApiSession(connection, parse_error=qbo_error, calls_per_minute=CALLS_PER_MINUTE)

    def _url(self, path: str) -> str:
        return f"{self.base_url}/v3/company/{self.connection.realm_id}/{path}"

    def get(self, path: str, **params: str) -> dict[str, Any]:
        response = self.api.request(
            "GET", self._url(path), params={**params, "minorversion": MINOR_VERSION}
        )
        return response.json()

    def company_info(self) -> CompanyInfo:
        """Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/companyinfo"""
        info = self.get(f"companyinfo/{self.connection.realm_id}")["CompanyInfo"]
        return CompanyInfo(
            realm_id=str(info.get("Id", self.connection.realm_id)),
            name=str(info.get("CompanyName", "")),
            legal_name=str(info.get("LegalName", "")),
            country=str(info.get("Country", "")),
        )

    def ping(self) -> str:
        return self.company_info().name
