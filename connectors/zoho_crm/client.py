"""Zoho CRM REST API v8: HTTP only, answers parsed into small typed objects.

Reference: https://www.zoho.com/crm/developer/docs/api/v8/
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from connectors.exceptions import AuthError, ConnectorError, NotFound, PermanentError, RateLimited
from connectors.http import ApiSession, response_error_default
from connectors.models import Connection
from connectors.oauth import ZOHO_API_DOMAINS

AUTH_CODES = {"INVALID_TOKEN", "AUTHENTICATION_FAILURE", "OAUTH_SCOPE_MISMATCH", "NO_PERMISSION"}


@dataclass(frozen=True)
class CrmOrganization:
    id: str
    company_name: str
    currency: str


def zoho_api_base(connection: Connection) -> str:
    """The override, else the `api_domain` Zoho gave with the token, else the data centre's."""
    return (
        connection.api_base_url or connection.api_domain or ZOHO_API_DOMAINS[connection.data_centre]
    ).rstrip("/")


def crm_error(response: requests.Response) -> ConnectorError | None:
    """Read a CRM answer for a request-level failure (per-record results are read by callers)."""
    if response.status_code in (204, 304):
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    code = str(body.get("code", "")) if isinstance(body, dict) else ""
    failed = isinstance(body, dict) and body.get("status") == "error"
    if response.ok and not failed:
        return None
    message = str(body.get("message", "")) if isinstance(body, dict) else response.text[:200]
    kwargs = {"system": "zoho_crm", "code": code, "status": response.status_code, "details": body}
    if response.status_code == 429 or code == "TOO_MANY_REQUESTS":
        return RateLimited(message or "Zoho CRM is throttling requests", **kwargs)
    default = response_error_default(response, system="zoho_crm")
    if default is not None:
        return default
    if code in AUTH_CODES or response.status_code == 401:
        return AuthError(message or "Zoho CRM refused our credentials", **kwargs)
    if response.status_code == 404 or code in ("NOT_FOUND", "INVALID_URL_PATTERN"):
        return NotFound(message or "Not found in Zoho CRM", **kwargs)
    return PermanentError(message or f"Zoho CRM answered {response.status_code}", **kwargs)


class ZohoCrmClient:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.base_url = zoho_api_base(connection) + "/crm/v8"
        self.api = ApiSession(connection, parse_error=crm_error, auth_scheme="Zoho-oauthtoken")

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.api.request("GET", f"{self.base_url}/{path}", params=params)
        return response.json() if response.content else {}

    def organization(self) -> CrmOrganization:
        """Reference: https://www.zoho.com/crm/developer/docs/api/v8/get-org-data.html"""
        org = self.get("org")["org"][0]
        return CrmOrganization(
            id=str(org.get("id", "")),
            company_name=str(org.get("company_name", "")),
            currency=str(org.get("iso_code") or org.get("currency") or ""),
        )

    def ping(self) -> str:
        return self.organization().company_name
