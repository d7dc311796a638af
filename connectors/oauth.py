"""OAuth 2.0 for QuickBooks Online and Zoho: the authorize URL with a signed single-use state,
the code exchange (exactly once), and access tokens kept valid by one refresh at a time.

Vendor differences live in `connectors/oauth_providers.py`; everything here is shared.
Reference: https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0
Reference: https://www.zoho.com/accounts/protocol/oauth/web-server-applications.html
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from connectors.base.exceptions import (
    AuthError,
    ConnectorError,
    TokenThrottled,
)
from connectors.base.oauth import CallbackResult, OAuthCallbackError, OAuthProvider, TokenSet
from connectors.models import Connection, OAuthState
from connectors.oauth_providers import ZOHO_THROTTLE_BACKOFF
from connectors.registry import system_spec

logger = logging.getLogger(__name__)

STATE_SALT = "connectors.oauth.state"
STATE_MAX_AGE = timedelta(minutes=10)
REFRESH_MARGIN = timedelta(minutes=5)
ZOHO_TOKEN_WINDOW = timedelta(minutes=10)
# How long one worker may take to refresh before another may try: longer than a token call with
# its timeouts. Others poll for its result meanwhile.
REFRESH_LEASE = timedelta(seconds=90)
REFRESH_POLL_SECONDS = 0.1
LOCAL_BUDGET = "local_token_budget"


def redirect_uri() -> str:
    """The one redirect URI to register with Intuit and Zoho."""
    return settings.PUBLIC_BASE_URL + reverse("connectors:oauth_callback")


def oauth_provider(connection: Connection) -> OAuthProvider:
    provider = system_spec(connection.system).oauth
    if provider is None:
        raise OAuthCallbackError(
            f"{connection.get_system_display()} does not connect through OAuth."
        )
    return provider


def oauth_authorize_url(connection: Connection) -> str:
    """Where to send the admin's browser to grant access; the state is signed and single-use."""
    provider = oauth_provider(connection)
    nonce = secrets.token_urlsafe(24)
    OAuthState.objects.create(nonce=nonce, connection=connection)
    state = signing.dumps({"n": nonce, "c": connection.pk}, salt=STATE_SALT)
    params = {
        "client_id": connection.client_id,
        "response_type": "code",
        "scope": provider.scopes(connection),
        "redirect_uri": redirect_uri(),
        "state": state,
        **provider.extra_authorize_params(),
    }
    return f"{provider.authorize_url(connection)}?{urlencode(params)}"


def _state_consume(state: str) -> Connection:
    if not state:
        raise OAuthCallbackError(
            "The request has no state: it did not come from a Connect button here."
        )
    try:
        payload = signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise OAuthCallbackError(
            "This authorisation took too long and has expired. Please connect again."
        ) from exc
    except signing.BadSignature as exc:
        raise OAuthCallbackError("The state is not one we issued.") from exc
    used = OAuthState.objects.filter(
        nonce=payload.get("n", ""), connection_id=payload.get("c"), used_at__isnull=True
    ).update(used_at=timezone.now())
    if used != 1:
        raise OAuthCallbackError("This authorisation was already used. Please connect again.")
    return Connection.objects.get(pk=payload["c"])


def oauth_callback(params: Mapping[str, str]) -> CallbackResult:
    """Handle the vendor's redirect: verify the state, then exchange the code exactly once."""
    connection = _state_consume(params.get("state", ""))
    error = params.get("error", "")
    if error:
        message = (
            "Access was not granted, so nothing changed. Press Connect again when you are ready."
            if error == "access_denied"
            else f"The authorisation server answered {error!r}; nothing changed."
        )
        return CallbackResult(connection=connection, denied=True, message=message)
    code = params.get("code", "")
    if not code:
        raise OAuthCallbackError("The authorisation server sent no code.")
    provider = oauth_provider(connection)
    provider.callback_apply(connection, params)
    tokens = provider.token_request(
        connection,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri()},
    )
    _tokens_apply(connection, tokens, minted=True)
    connection.status = Connection.Status.CONNECTED
    connection.last_error = ""
    try:
        with transaction.atomic():
            connection.save()
    except IntegrityError as exc:
        raise OAuthCallbackError(
            "That QuickBooks company is already connected by another connection."
        ) from exc
    return _after_connect(connection)


def _after_connect(connection: Connection) -> CallbackResult:
    hook = system_spec(connection.system).after_connect
    if hook is None:
        return CallbackResult(connection=connection, message=f"{connection.name} is connected.")
    return hook(connection)


def _tokens_apply(connection: Connection, tokens: TokenSet, *, minted: bool) -> None:
    now = timezone.now()
    connection.access_token = tokens.access_token
    connection.access_token_expires_at = now + timedelta(seconds=tokens.expires_in)
    if tokens.refresh_token:
        connection.refresh_token = tokens.refresh_token
    if tokens.refresh_expires_in is not None:
        connection.refresh_token_expires_at = now + timedelta(seconds=tokens.refresh_expires_in)
    if tokens.refresh_hard_expires_in is not None:
        connection.refresh_token_hard_expires_at = now + timedelta(
            seconds=tokens.refresh_hard_expires_in
        )
    if tokens.api_domain:
        connection.api_domain = tokens.api_domain.rstrip("/")
    if minted:
        recent = [
            t for t in connection.token_refreshed_at if t > (now - ZOHO_TOKEN_WINDOW).isoformat()
        ]
        connection.token_refreshed_at = [*recent, now.isoformat()]


def connection_access_token(
    connection: Connection, *, force_refresh: bool = False, stale_token: str = ""
) -> str:
    """A valid access token for `connection`, refreshed ahead of expiry.

    `force_refresh` (after a 401) refreshes unless another worker already replaced
    `stale_token`. Raises `AuthError` when someone must reconnect, `TokenThrottled` when Zoho
    will not mint another token for a while.
    """
    if connection.status in (Connection.Status.NEEDS_REAUTH, Connection.Status.DISABLED):
        raise AuthError(
            f"{connection} is {connection.get_status_display().lower()}: {connection.last_error}".rstrip(
                ": "
            ),
            system=connection.system,
        )
    if not force_refresh and connection.access_token_is_fresh(REFRESH_MARGIN):
        return connection.access_token
    return connection_refresh(connection, stale_token=stale_token if force_refresh else "")


_REFRESHED_FIELDS = (
    "access_token",
    "access_token_expires_at",
    "refresh_token",
    "refresh_token_expires_at",
    "refresh_token_hard_expires_at",
    "api_domain",
    "token_refreshed_at",
    "token_refresh_blocked_until",
    "status",
    "last_error",
)


def connection_refresh(connection: Connection, *, stale_token: str = "") -> str:
    """Refresh once across workers; the new tokens (QBO rotates the refresh token) are committed
    before anyone uses them.

    A short locked transaction re-reads the row and either finds the work done or claims the
    refresh with a lease; the token call runs outside any transaction, and a second short one
    saves what it answered. Holding the lock across the call would hold SQLite's whole-database
    write lock for as long as the token server takes (every webhook waits), and deadlock against
    the sandbox's token endpoint, which answers from the same database.
    """
    row = _refresh_claim(connection, stale_token)
    if row is None:
        return connection.access_token
    failure: ConnectorError | None = None
    try:
        tokens = _refresh_call(row)
    except AuthError as exc:
        row.status = Connection.Status.NEEDS_REAUTH
        row.last_error = f"Reconnect needed: the refresh token was rejected ({exc.message})."
        failure = exc
    except TokenThrottled as exc:
        if exc.code != LOCAL_BUDGET:  # Zoho said no: its lockout lasts minutes.
            row.token_refresh_blocked_until = timezone.now() + ZOHO_THROTTLE_BACKOFF
        row.last_error = str(exc)
        failure = exc
    except BaseException:
        Connection.objects.filter(pk=row.pk).update(token_refresh_claimed_until=None)
        raise
    else:
        _tokens_apply(row, tokens, minted=True)
        row.token_refresh_blocked_until = None
        row.last_error = ""
    row.token_refresh_claimed_until = None
    with transaction.atomic():
        row.save(update_fields=[*_REFRESHED_FIELDS, "token_refresh_claimed_until", "updated_at"])
    _copy_fields(row, connection)
    if failure is not None:
        logger.warning("Token refresh for connection %s failed: %s", connection.pk, failure)
        raise failure
    return row.access_token


def _refresh_claim(connection: Connection, stale_token: str) -> Connection | None:
    """The locked row, now claimed for a refresh by this worker; or None, with `connection`
    updated, when another worker has already replaced the token. While another worker holds
    the claim, wait for its result (a claim left by a dead worker lapses)."""
    while True:
        with transaction.atomic():
            row = Connection.objects.select_for_update().get(pk=connection.pk)
            replaced = not stale_token or row.access_token != stale_token
            if replaced and row.access_token_is_fresh(REFRESH_MARGIN):
                _copy_fields(row, connection)
                return None
            now = timezone.now()
            if not row.token_refresh_claimed_until or row.token_refresh_claimed_until <= now:
                row.token_refresh_claimed_until = now + REFRESH_LEASE
                row.save(update_fields=["token_refresh_claimed_until"])
                return row
        time.sleep(REFRESH_POLL_SECONDS)


def _refresh_call(row: Connection) -> TokenSet:
    if row.status in (Connection.Status.NEEDS_REAUTH, Connection.Status.DISABLED):
        raise AuthError(f"{row} is {row.get_status_display().lower()}", system=row.system)
    if not row.refresh_token:
        raise AuthError("There is no refresh token: connect first", system=row.system)
    provider = oauth_provider(row)
    now = timezone.now()
    if row.token_refresh_blocked_until and row.token_refresh_blocked_until > now:
        raise TokenThrottled(
            "Zoho is refusing new access tokens for now",
            system=row.system,
            retry_after=(row.token_refresh_blocked_until - now).total_seconds(),
        )
    if provider.tokens_per_window is not None:
        window_start = (now - ZOHO_TOKEN_WINDOW).isoformat()
        recent = sorted(t for t in row.token_refreshed_at if t > window_start)
        if len(recent) >= provider.tokens_per_window:
            raise TokenThrottled(
                f"{provider.tokens_per_window} access tokens were minted in the last 10 minutes; waiting",
                system=row.system,
                code=LOCAL_BUDGET,
                retry_after=ZOHO_TOKEN_WINDOW.total_seconds(),
            )
    return provider.token_request(
        row, {"grant_type": "refresh_token", "refresh_token": row.refresh_token}
    )


def _copy_fields(source: Connection, target: Connection) -> None:
    for name in _REFRESHED_FIELDS:
        setattr(target, name, getattr(source, name))
