"""What differs between the vendors' OAuth servers: where to send the browser, where to exchange
codes and refresh tokens, how to authenticate there, and what the redirect and the answers carry.

Reference: https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0
Reference: https://www.zoho.com/accounts/protocol/oauth/web-server-applications.html
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import requests

from connectors.base.exceptions import (
    AuthError,
    ConnectorError,
    PermanentError,
    RemoteUnavailable,
    TokenThrottled,
)
from connectors.base.hosts import HostNotAllowed, url_allowed, url_check
from connectors.base.http import build_session
from connectors.base.oauth import (
    OAuthCallbackError,
    OAuthProvider,
    TokenSet,
)
from connectors.models import Connection
from connectors.vendor_hosts import INTUIT_HOSTS, ZOHO_ACCOUNTS_SERVERS, ZOHO_HOSTS

ZOHO_TOKENS_PER_WINDOW = 10
ZOHO_THROTTLE_BACKOFF = timedelta(minutes=15)
# Token-endpoint errors that mean "this grant will never work again": someone must reconnect.
REAUTH_ERRORS = {"invalid_grant", "invalid_code", "invalid_client", "invalid_client_secret"}


def _json_or_none(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _token_error(
    system: str, body: dict[str, Any] | None, response: requests.Response
) -> ConnectorError:
    request_id = response.headers.get("intuit_tid", "")
    error = str((body or {}).get("error", "")).strip()
    description = str((body or {}).get("error_description", "") or error or response.reason)
    if response.status_code >= 500:
        return RemoteUnavailable(
            "The token server is unavailable",
            system=system,
            status=response.status_code,
            request_id=request_id,
        )
    if "too many requests" in description.lower() or error.lower() == "access denied":
        return TokenThrottled(
            f"Token requests throttled: {description}",
            system=system,
            code=error,
            status=response.status_code,
            retry_after=ZOHO_THROTTLE_BACKOFF.total_seconds(),
        )
    if error in REAUTH_ERRORS:
        return AuthError(
            f"{error}: {description}",
            system=system,
            code=error,
            status=response.status_code,
            request_id=request_id,
        )
    return PermanentError(
        f"Token request failed: {description}",
        system=system,
        code=error,
        status=response.status_code,
        request_id=request_id,
    )


def _post_token(system: str, url: str, hosts: frozenset[str], **kwargs: Any) -> dict[str, Any]:
    url_check(url, hosts, system=system, what="token request")  # it carries the client secret
    try:
        response = build_session().post(url, **kwargs)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise RemoteUnavailable(
            f"Could not reach the token server: {type(exc).__name__}", system=system
        ) from exc
    body = _json_or_none(response)
    # Zoho answers some failures with HTTP 200 and an `error` key: never trust the status alone.
    if not response.ok or body is None or "error" in body or not body.get("access_token"):
        raise _token_error(system, body, response)
    return body


class IntuitOAuth(OAuthProvider):
    hosts = INTUIT_HOSTS
    AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
    TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"

    def scopes(self, connection: Connection) -> str:
        return "com.intuit.quickbooks.accounting"

    def authorize_url(self, connection: Connection) -> str:
        base = connection.oauth_base_url.rstrip("/")
        return f"{base}/connect/oauth2" if base else self.AUTHORIZE_URL

    def token_url(self, connection: Connection) -> str:
        base = connection.oauth_base_url.rstrip("/")
        return f"{base}/oauth2/v1/tokens/bearer" if base else self.TOKEN_URL

    def callback_apply(self, connection: Connection, params: Mapping[str, str]) -> None:
        realm_id = params.get("realmId", "").strip()
        if not realm_id.isdigit():
            raise OAuthCallbackError(
                "QuickBooks did not say which company was connected (realmId)."
            )
        if connection.realm_id and connection.realm_id != realm_id:
            raise OAuthCallbackError(
                f"This connection belongs to QuickBooks company {connection.realm_id}; "
                f"the company chosen was {realm_id}. Create a new connection for another company."
            )
        taken = Connection.objects.filter(system=connection.system, realm_id=realm_id).exclude(
            pk=connection.pk
        )
        if (other := taken.first()) is not None:
            raise OAuthCallbackError(
                f"QuickBooks company {realm_id} is already connected as {other.name}."
            )
        connection.realm_id = realm_id

    def token_request(self, connection: Connection, grant: dict[str, str]) -> TokenSet:
        basic = base64.b64encode(
            f"{connection.client_id}:{connection.client_secret}".encode()
        ).decode()
        body = _post_token(
            connection.system,
            self.token_url(connection),
            self.hosts,
            data=grant,
            headers={
                "Authorization": f"Basic {basic}",
                "Accept": "application/json",
                "x-include-refresh-token-hard-expires-in": "true",
            },
        )
        return TokenSet(
            access_token=body["access_token"],
            expires_in=int(body.get("expires_in", 3600)),
            refresh_token=body.get("refresh_token", ""),
            refresh_expires_in=_int_or_none(body.get("x_refresh_token_expires_in")),
            refresh_hard_expires_in=_int_or_none(body.get("x_refresh_token_hard_expires_in")),
        )


def _origin(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}".lower()


class ZohoOAuth(OAuthProvider):
    tokens_per_window = ZOHO_TOKENS_PER_WINDOW
    hosts = ZOHO_HOSTS

    def __init__(self, scopes: str) -> None:
        self._scopes = scopes

    def scopes(self, connection: Connection) -> str:
        return self._scopes

    def accounts_server(self, connection: Connection) -> str:
        return (
            connection.oauth_base_url
            or connection.accounts_server
            or ZOHO_ACCOUNTS_SERVERS[connection.data_centre]
        ).rstrip("/")

    def authorize_url(self, connection: Connection) -> str:
        return self.accounts_server(connection) + "/oauth/v2/auth"

    def extra_authorize_params(self) -> dict[str, str]:
        # offline: we need a refresh token; consent: Zoho only issues one when asked to.
        return {"access_type": "offline", "prompt": "consent"}

    def token_url(self, connection: Connection) -> str:
        return self.accounts_server(connection) + "/oauth/v2/token"

    def callback_apply(self, connection: Connection, params: Mapping[str, str]) -> None:
        server = params.get("accounts-server", "").strip()
        if not server:
            connection.accounts_server = self.accounts_server(connection)
            return
        # The code (and our client secret) goes to this server: only ever a Zoho one, or the
        # override an admin configured on this connection.
        allowed = {_origin(url) for url in ZOHO_ACCOUNTS_SERVERS.values()}
        if connection.oauth_base_url:
            allowed.add(_origin(connection.oauth_base_url))
        if _origin(server) not in allowed or not url_allowed(server, self.hosts):
            raise OAuthCallbackError(f"Unexpected Zoho accounts server {server!r}.")
        location = params.get("location", "").strip().lower()
        if location in ZOHO_ACCOUNTS_SERVERS and not connection.oauth_base_url:
            connection.data_centre = location
        connection.accounts_server = server.rstrip("/")

    def token_request(self, connection: Connection, grant: dict[str, str]) -> TokenSet:
        body = _post_token(
            connection.system,
            self.token_url(connection),
            self.hosts,
            data={
                **grant,
                "client_id": connection.client_id,
                "client_secret": connection.client_secret,
            },
            headers={"Accept": "application/json"},
        )
        api_domain = str(body.get("api_domain", ""))
        if api_domain and not url_allowed(api_domain, self.hosts):
            # Every later call, with its token, would go there.
            raise HostNotAllowed(
                f"Zoho named {api_domain!r} as the API domain, which is not one of its hosts.",
                system=connection.system,
                code="host_not_allowed",
            )
        return TokenSet(
            access_token=body["access_token"],
            expires_in=int(body.get("expires_in_sec") or body.get("expires_in") or 3600),
            refresh_token=body.get("refresh_token", ""),
            api_domain=api_domain,
        )


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
