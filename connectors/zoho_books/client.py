"""Zoho Books API v3: HTTP only, answers parsed into small typed objects.

Reference: https://www.zoho.com/books/api/v3/introduction/
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from connectors.base.exceptions import (
    AuthError,
    ConnectorError,
    NotFound,
    PermanentError,
    RateLimited,
)
from connectors.base.http import ApiSession, response_error_default
from connectors.vendor_hosts import ZOHO_HOSTS
from connectors.zoho_crm.client import zoho_api_base

if TYPE_CHECKING:
    from connectors.models import Connection

# Zoho Books allows 100 requests a minute per organization.
CALLS_PER_MINUTE = 90
PAGE_SIZE = 200  # the most a Books listing gives per page
THROTTLE_PAUSE = 60.0  # the limit is per minute; Zoho sends no Retry-After
AUTH_CODES = {"14", "57"}


@dataclass(frozen=True)
class BooksOrganization:
    organization_id: str
    name: str
    currency_code: str
    is_default: bool


def books_error(response: requests.Response) -> ConnectorError | None:
    """Zoho Books reports every outcome in `code`: 0 is success, anything else a failure."""
    try:
        body = response.json()
    except ValueError:
        body = None
    code = str(body.get("code", "")) if isinstance(body, dict) else ""
    if response.ok and code in ("0", ""):
        return None
    message = str(body.get("message", "")) if isinstance(body, dict) else response.text[:200]
    kwargs = {"system": "zoho_books", "code": code, "status": response.status_code, "details": body}
    if response.status_code == 429:
        return RateLimited(message or "Zoho Books is throttling requests", **kwargs)
    default = response_error_default(response, system="zoho_books")
    if default is not None:
        return default
    if response.status_code == 401 or code in AUTH_CODES:
        return AuthError(message or "Zoho Books refused our credentials", **kwargs)
    if response.status_code == 404:
        return NotFound(message or "Not found in Zoho Books", **kwargs)
    return PermanentError(message or f"Zoho Books answered {response.status_code}", **kwargs)


class ZohoBooksClient:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.base_url = zoho_api_base(connection) + "/books/v3"
        self.api = ApiSession(
            connection,
            hosts=ZOHO_HOSTS,
            parse_error=books_error,
            auth_scheme="Zoho-oauthtoken",
            calls_per_minute=CALLS_PER_MINUTE,
            throttle_pause=THROTTLE_PAUSE,
        )

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """Every call but `organizations` names the organization."""
        if path != "organizations":
            params = {"organization_id": self.connection.organization_id, **params}
        return self.api.request("GET", f"{self.base_url}/{path}", params=params).json()

    def send(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, retry_safe: bool
    ) -> dict[str, Any]:
        """A write to the organization: `code` 0 comes back as the body, anything else as the
        vendor's own error."""
        params = {"organization_id": self.connection.organization_id}
        response = self.api.request(
            method, f"{self.base_url}/{path}", params=params, json=body, retry_safe=retry_safe
        )
        return response.json()

    def pages(self, path: str, key: str, **params: Any) -> Iterator[list[dict[str, Any]]]:
        """Every page of a listing, 200 a page, while `page_context.has_more_page`.

        Reference: https://www.zoho.com/books/api/v3/pagination/"""
        page = int(params.pop("page", 1))
        while True:
            body = self.get(path, page=page, per_page=PAGE_SIZE, **params)
            rows = body.get(key) or []
            if rows:
                yield rows
            if not (body.get("page_context") or {}).get("has_more_page"):
                return
            page += 1

    def organizations(self) -> list[BooksOrganization]:
        """Reference: https://www.zoho.com/books/api/v3/organizations/#list-organizations"""
        return [
            BooksOrganization(
                organization_id=str(org.get("organization_id", "")),
                name=str(org.get("name", "")),
                currency_code=str(org.get("currency_code", "")),
                is_default=bool(org.get("is_default_org", False)),
            )
            for org in self.get("organizations").get("organizations", [])
        ]

    def ping(self) -> str:
        chosen = [
            o for o in self.organizations() if o.organization_id == self.connection.organization_id
        ]
        if not chosen:
            raise PermanentError(
                "Choose the Zoho Books organization for this connection first.", system="zoho_books"
            )
        return chosen[0].name
