"""Small builders for test rows (plain functions; no factory library needed)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from connectors.models import Connection

QBO_API = "https://quickbooks.api.intuit.com"
QBO_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"


def connection_create(system: str = Connection.System.QBO, **fields: Any) -> Connection:
    defaults: dict[str, Any] = {
        "name": f"Test {system}",
        "client_id": "client-id-1234",
        "client_secret": "client-secret-abcdefgh",
    }
    if system == Connection.System.QBO:
        defaults["realm_id"] = "9341452732952867"
    return Connection.objects.create(system=system, **{**defaults, **fields})


def connected(
    connection: Connection, *, expires_in: timedelta = timedelta(hours=1), **fields: Any
) -> Connection:
    """Give a connection tokens as if OAuth had completed."""
    connection.status = Connection.Status.CONNECTED
    connection.access_token = fields.pop("access_token", "access-token-current-0001")
    connection.refresh_token = fields.pop("refresh_token", "refresh-token-current-0001")
    connection.access_token_expires_at = timezone.now() + expires_in
    for name, value in fields.items():
        setattr(connection, name, value)
    connection.save()
    return connection


def qbo_token_body(
    access: str = "new-access-token-0002", refresh: str = "new-refresh-token-0002"
) -> dict:
    return {
        "token_type": "bearer",
        "access_token": access,
        "expires_in": 3600,
        "refresh_token": refresh,
        "x_refresh_token_expires_in": 8726400,
        "x_refresh_token_hard_expires_in": 157680000,
    }


def qbo_company_info_body(name: str = "Sandbox Company_US_1") -> dict:
    return {
        "CompanyInfo": {
            "CompanyName": name,
            "LegalName": name,
            "Country": "US",
            "Id": "9341452732952867",
            "SyncToken": "0",
        },
        "time": "2026-11-21T04:00:00.000-08:00",
    }
