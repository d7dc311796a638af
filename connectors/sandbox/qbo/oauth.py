"""Intuit's OAuth 2.0 server, faked: consent codes, the token endpoint, revocation, and the
bearer check every API call makes (reference/qbo.md §1).

The behaviours that bite real integrations are kept: codes are single-use and a second
exchange revokes the tokens of the first; refresh tokens rotate and the old value answers
`invalid_grant`; a client id is held to the secret it first used.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from connectors.sandbox.models import FaultProfile, Vendor
from connectors.sandbox.qbo import errors
from connectors.sandbox.qbo.models import (
    AuthorizationCode,
    Company,
    Grant,
    OAuthApp,
    Token,
    token_digest,
)
from connectors.sandbox.qbo.services import company_create

CODE_LIFETIME = timedelta(minutes=5)
REFRESH_LIFETIME_SECONDS = 8726400  # ~101 days, the value Intuit's samples answer with
HARD_LIFETIME = timedelta(days=5 * 365)  # the 2025 five-year cap on a refresh token
ACCOUNTING_SCOPES = ("com.intuit.quickbooks.accounting", "com.intuit.quickbooks.payment")


@dataclass
class OAuthError(Exception):
    """An OAuth error answer: `{"error": ..., "error_description": ...}`."""

    error: str
    description: str = ""
    status: int = 400

    def body(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    hard_expires_in: int

    def body(self, *, include_hard_expiry: bool) -> dict[str, str | int]:
        body: dict[str, str | int] = {
            "token_type": "bearer",
            "access_token": self.access_token,
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "x_refresh_token_expires_in": REFRESH_LIFETIME_SECONDS,
        }
        if include_hard_expiry:
            body["x_refresh_token_hard_expires_in"] = self.hard_expires_in
        return body


# --- consent ----------------------------------------------------------------------------------


def consent_company(*, realm_id: str | None) -> Company:
    """The company a user picked on the consent page: the one named, a new one for `new`,
    else the first (created when the sandbox has none)."""
    if realm_id == "new":
        return company_create(name=f"Sandbox Company {Company.objects.count() + 1}")
    if realm_id:
        company = Company.objects.filter(realm_id=realm_id).first()
        if company is None:
            raise OAuthError("invalid_request", f"Unknown company {realm_id}")
        return company
    return Company.objects.first() or company_create(name="Sandbox Company 1")


def authorization_code_issue(
    *, client_id: str, redirect_uri: str, scope: str, company: Company
) -> str:
    code = "AB11" + secrets.token_urlsafe(32)
    AuthorizationCode.objects.create(
        code_digest=token_digest(code),
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=scope,
        company=company,
        expires_at=timezone.now() + CODE_LIFETIME,
    )
    return code


def scope_grants_realm(scope: str) -> bool:
    """The callback carries `realmId` only for accounting or payment scopes."""
    return any(part in ACCOUNTING_SCOPES for part in scope.split())


# --- token endpoint ---------------------------------------------------------------------------


def client_authenticate(*, authorization: str) -> OAuthApp:
    """Check `Authorization: Basic base64(id:secret)`."""
    client_id, secret = _basic_credentials(authorization)
    return app_for(client_id=client_id, client_secret=secret)


def app_for(*, client_id: str, client_secret: str) -> OAuthApp:
    """The app behind a client id. An unknown id is registered with its secret (the sandbox
    has no developer portal); a known one must present the same secret (`invalid_client`)."""
    app = OAuthApp.objects.filter(client_id=client_id).first()
    if app is None:
        try:
            with transaction.atomic():
                return OAuthApp.objects.create(
                    client_id=client_id, secret_digest=token_digest(client_secret)
                )
        except IntegrityError:
            app = OAuthApp.objects.get(client_id=client_id)
    if not app.secret_matches(client_secret):
        raise OAuthError("invalid_client", status=401)
    return app


def grant_create(
    *,
    company: Company,
    client_id: str,
    client_secret: str,
    scope: str = ACCOUNTING_SCOPES[0],
) -> IssuedTokens:
    """Connect an app to a company without a browser: what consent followed by a code
    exchange produces. For the seed and the console, which have no user to click Connect."""
    app = app_for(client_id=client_id, client_secret=client_secret)
    with transaction.atomic():
        grant = Grant.objects.create(
            app=app, company=company, scope=scope, hard_expires_at=timezone.now() + HARD_LIFETIME
        )
        return _issue(grant)


def code_exchange(*, app: OAuthApp, code: str, redirect_uri: str) -> IssuedTokens:
    """Trade an authorization code for tokens, once. A second exchange of the same code
    revokes what the first one issued (Intuit treats it as an attack: oauth-jsclient#173)."""
    with transaction.atomic():
        row = (
            AuthorizationCode.objects.select_for_update()
            .select_related("company")
            .filter(code_digest=token_digest(code))
            .first()
        )
        if row is None or row.client_id != app.client_id:
            raise OAuthError("invalid_grant", "Invalid authorization code")
        if row.used_at is None:
            return _first_exchange(app, row, redirect_uri)
        if row.grant_id is not None:  # None once the grant is deleted: nothing to revoke
            Grant.objects.filter(pk=row.grant_id, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
    # Raised outside the block so that the revocation above is committed, not rolled back.
    raise OAuthError("invalid_grant", "Authorization code has already been used")


def _first_exchange(app: OAuthApp, row: AuthorizationCode, redirect_uri: str) -> IssuedTokens:
    if row.expires_at <= timezone.now():
        raise OAuthError("invalid_grant", "Authorization code has expired")
    if row.redirect_uri != redirect_uri:
        raise OAuthError("invalid_grant", "Redirect URI does not match the authorization")
    grant = Grant.objects.create(
        app=app,
        company=row.company,
        scope=row.scope,
        hard_expires_at=timezone.now() + HARD_LIFETIME,
    )
    row.used_at = timezone.now()
    row.grant = grant
    row.save(update_fields=["used_at", "grant"])
    return _issue(grant)


def token_refresh(*, app: OAuthApp, refresh_token: str) -> IssuedTokens:
    """New access and refresh tokens; the refresh token used stops working at once."""
    now = timezone.now()
    with transaction.atomic():
        token = (
            Token.objects.select_for_update()
            .select_related("grant")
            .filter(token_digest=token_digest(refresh_token), kind=Token.Kind.REFRESH)
            .first()
        )
        if token is None or not _refresh_usable(token, app, now):
            raise OAuthError("invalid_grant", "Incorrect or invalid refresh token")
        # Conditional, so two racing refreshes of one token cannot both win.
        if not Token.objects.filter(pk=token.pk, replaced_at__isnull=True).update(replaced_at=now):
            raise OAuthError("invalid_grant", "Incorrect or invalid refresh token")
        return _issue(token.grant)


def token_revoke(*, app: OAuthApp, token: str) -> None:
    """Disconnect: revoking an access or a refresh token revokes its whole grant. An unknown
    token is not an error (RFC 7009), a token of another client is."""
    row = Token.objects.select_related("grant").filter(token_digest=token_digest(token)).first()
    if row is None:
        return
    if row.grant.app_id != app.pk:
        raise OAuthError("invalid_request", "Token was not issued to this client")
    Grant.objects.filter(pk=row.grant_id, revoked_at__isnull=True).update(revoked_at=timezone.now())


# --- bearer check -----------------------------------------------------------------------------


def access_authenticate(*, authorization: str, realm_id: str) -> Company:
    """The company an API call may touch: 401 (3200) for a missing, unknown, expired or
    revoked token, 403 (3100) for a token of another company."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise errors.authentication_failed("Authorization header missing or not a Bearer token")
    token = (
        Token.objects.select_related("grant__company")
        .filter(token_digest=token_digest(value.strip()), kind=Token.Kind.ACCESS)
        .first()
    )
    now = timezone.now()
    if token is None:
        raise errors.authentication_failed("Token invalid")
    if token.grant.revoked_at is not None:
        raise errors.authentication_failed("Token revoked")
    if token.expires_at <= now:
        raise errors.authentication_failed("Token expired")
    if token.grant.company.realm_id != realm_id:
        raise errors.authorization_failed(realm_id)
    return token.grant.company


# --- internals --------------------------------------------------------------------------------


def _basic_credentials(authorization: str) -> tuple[str, str]:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise OAuthError("invalid_client", status=401)
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", status=401) from None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id or not secret:
        raise OAuthError("invalid_client", status=401)
    return client_id, secret


def _refresh_usable(token: Token, app: OAuthApp, now: datetime) -> bool:
    grant = token.grant
    return (
        token.replaced_at is None
        and token.expires_at > now
        and grant.revoked_at is None
        and grant.hard_expires_at > now
        and grant.app_id == app.pk
    )


def _issue(grant: Grant) -> IssuedTokens:
    """A fresh pair. Access tokens are ~900 characters, like Intuit's JWTs: a column sized
    for 255 breaks here, not in production."""
    now = timezone.now()
    lifetime = FaultProfile.for_vendor(Vendor.QBO).token_lifetime_seconds
    access = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0.." + secrets.token_urlsafe(640)
    refresh = "AB11" + secrets.token_urlsafe(36)
    Token.objects.create(
        grant=grant,
        kind=Token.Kind.ACCESS,
        token_digest=token_digest(access),
        expires_at=now + timedelta(seconds=lifetime),
    )
    Token.objects.create(
        grant=grant,
        kind=Token.Kind.REFRESH,
        token_digest=token_digest(refresh),
        expires_at=now + timedelta(seconds=REFRESH_LIFETIME_SECONDS),
    )
    return IssuedTokens(
        access_token=access,
        refresh_token=refresh,
        expires_in=lifetime,
        hard_expires_in=int((grant.hard_expires_at - now).total_seconds()),
    )
