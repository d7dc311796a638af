"""Zoho Accounts (OAuth 2.0), as the fake implements it: clients, consent grants, the token
endpoint's rules and the access tokens the CRM and Books fakes accept.

Zoho's documented rules reproduced here (reference/zoho.md section 1):
- a grant code is single use, lives about 3 minutes and is bound to its client and redirect URI;
- refresh tokens never expire and never rotate; at most 20 per user and client (the 21st removes
  the oldest, with its access tokens);
- at most 10 access tokens minted per refresh token per 10 minutes, else "Access Denied";
- at most 15 active access tokens per refresh token: minting a 16th invalidates the oldest;
- revoking a refresh token kills every access token minted from it;
- errors come back as `{"error": ...}`, mostly with HTTP 200.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from connectors.sandbox.faults import rate_window_hit
from connectors.sandbox.models import FaultProfile, Vendor
from connectors.sandbox.zoho.common import zoho_token
from connectors.sandbox.zoho.models import (
    AccessToken,
    CrmOrg,
    GrantCode,
    OAuthClient,
    RefreshToken,
)

GRANT_CODE_LIFETIME = timedelta(minutes=3)
MINT_LIMIT = 10
MINT_WINDOW_SECONDS = 600
ACTIVE_ACCESS_TOKENS = 15
REFRESH_TOKENS_PER_USER = 20

# Zoho's exact answer to the eleventh token in ten minutes (fixture token_rate_limited_error.json).
THROTTLED = {
    "error_description": (
        "You have made too many requests continuously. Please try again after some time."
    ),
    "error": "Access Denied",
    "status": "failure",
}


@dataclass
class OAuthError(Exception):
    """An answer of the token endpoint that is not a token. Zoho sends most with HTTP 200;
    `warning` says why, for the sandbox's request log."""

    body: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    warning: str = ""


def scope_products(scope: str) -> set[str]:
    """Which products a scope string asks for: "crm" for `ZohoCRM.*`, "books" for `ZohoBooks.*`."""
    products = set()
    for item in scope_items(scope):
        if item.startswith("zohocrm."):
            products.add("crm")
        elif item.startswith("zohobooks."):
            products.add("books")
    return products


def scope_items(scope: str) -> list[str]:
    """Zoho scopes are comma separated (spaces tolerated) and case-insensitive."""
    return [item.lower() for item in re.split(r"[,\s]+", scope) if item]


def scope_allows(scope: str, *, product: str, area: str, op: str, sub: str = "") -> bool:
    """Whether `scope` grants `op` (read/create/update/delete) on `<product>.<area>[.<sub>]`.

    `ZohoCRM.modules.ALL` grants every module; `ZohoCRM.modules.accounts.READ` only reads
    Accounts; `WRITE` grants create, update and delete; `ZohoBooks.fullaccess.all` grants all of
    Books."""
    for item in scope_items(scope):
        parts = item.split(".")
        if len(parts) < 3 or parts[0] != product.lower():
            continue
        middle, granted = parts[1:-1], parts[-1]
        if middle == ["fullaccess"] and granted == "all":
            return True
        if middle[0] != area or (len(middle) > 1 and middle[1] != sub.lower()):
            continue
        if granted in ("all", op) or (granted == "write" and op != "read"):
            return True
    return False


def oauth_client_touch(client_id: str) -> OAuthClient:
    """The client behind an authorize request; registered (without a secret yet) if new."""
    client, _ = OAuthClient.objects.get_or_create(client_id=client_id)
    return client


def oauth_client_authenticate(client_id: str, client_secret: str) -> OAuthClient:
    """The client of a token call. Its first token call registers its secret; from then on a
    different secret is `invalid_client`."""
    if not client_id or not client_secret:
        raise OAuthError({"error": "invalid_client"})
    client, _ = OAuthClient.objects.get_or_create(client_id=client_id)
    if not client.client_secret:
        OAuthClient.objects.filter(pk=client.pk, client_secret="").update(
            client_secret=client_secret
        )
        client.refresh_from_db()
    if client.client_secret != client_secret:
        raise OAuthError({"error": "invalid_client"})
    return client


def grant_code_issue(
    *,
    client: OAuthClient,
    redirect_uri: str,
    scope: str,
    offline: bool,
    prompt_consent: bool,
    crm_org: CrmOrg | None,
    books_user_email: str,
) -> GrantCode:
    """The code the consent page hands to the redirect URI."""
    return GrantCode.objects.create(
        code=zoho_token(),
        client=client,
        redirect_uri=redirect_uri,
        scope=scope,
        offline=offline,
        prompt_consent=prompt_consent,
        crm_org=crm_org,
        books_user_email=books_user_email,
        expires_at=timezone.now() + GRANT_CODE_LIFETIME,
    )


def token_for_code(
    *, client: OAuthClient, code: str, redirect_uri: str, api_domain: str
) -> dict[str, Any]:
    """`grant_type=authorization_code`: spend the code once, answer a token response."""
    with transaction.atomic():
        grant = GrantCode.objects.filter(code=code, client=client).first()
        if not grant:
            raise OAuthError({"error": "invalid_code"})
        spent = GrantCode.objects.filter(
            pk=grant.pk, used_at=None, expires_at__gt=timezone.now()
        ).update(used_at=timezone.now())
        if not spent:
            raise OAuthError({"error": "invalid_code"})
        if grant.redirect_uri != redirect_uri:
            raise OAuthError({"error": "invalid_redirect_uri"})
        # Without prompt=consent Zoho issues no new refresh token to a user who already granted
        # this client one (schmorrison/Zoho#43): the first connection keeps working, the new one
        # gets only an access token.
        hand_out = grant.offline and (
            grant.prompt_consent or not _live_refresh_tokens(grant).exists()
        )
        refresh = _refresh_token_create(
            client=client,
            scope=grant.scope,
            offline=hand_out,
            crm_org=grant.crm_org,
            books_user_email=grant.books_user_email,
        )
    access = access_token_mint(refresh)
    body: dict[str, Any] = {"access_token": access.token}
    if hand_out:
        body["refresh_token"] = refresh.token
    return {**body, **_token_body(access, scope=grant.scope, api_domain=api_domain)}


def token_for_refresh(
    *, client: OAuthClient, refresh_token: str, api_domain: str
) -> dict[str, Any]:
    """`grant_type=refresh_token`: a new access token; the refresh token stays the same."""
    refresh = RefreshToken.objects.filter(
        token=refresh_token, offline=True, revoked_at=None
    ).first()
    if refresh is None:
        raise OAuthError({"error": "invalid_code"})
    if refresh.client_id != client.pk:
        raise OAuthError({"error": "invalid_client"})
    access = access_token_mint(refresh)
    return {"access_token": access.token, **_token_body(access, refresh.scope, api_domain)}


def access_token_mint(refresh: RefreshToken) -> AccessToken:
    """Mint one access token, subject to the 10-per-10-minutes throttle, and retire the oldest
    active ones beyond 15."""
    if not rate_window_hit(
        f"zoho_accounts:mint:{refresh.pk}", MINT_LIMIT, window_seconds=MINT_WINDOW_SECONDS
    ):
        raise OAuthError(
            dict(THROTTLED),
            status=400,
            warning="more than 10 access tokens from one refresh token in 10 minutes: "
            "reuse the access token until it expires",
        )
    lifetime = FaultProfile.for_vendor(Vendor.ZOHO_ACCOUNTS).token_lifetime_seconds
    now = timezone.now()
    access = AccessToken.objects.create(
        token=zoho_token(), refresh=refresh, expires_at=now + timedelta(seconds=lifetime)
    )
    active = AccessToken.objects.filter(refresh=refresh, revoked_at=None, expires_at__gt=now)
    surplus = active.order_by("-created_at", "-pk").values_list("pk", flat=True)[
        ACTIVE_ACCESS_TOKENS:
    ]
    AccessToken.objects.filter(pk__in=list(surplus)).update(revoked_at=now)
    return access


def token_revoke(*, token: str) -> bool:
    """Revoke a refresh token and every access token minted from it (or one access token)."""
    now = timezone.now()
    refresh = RefreshToken.objects.filter(token=token, revoked_at=None).first()
    if refresh is not None:
        RefreshToken.objects.filter(pk=refresh.pk).update(revoked_at=now)
        AccessToken.objects.filter(refresh=refresh, revoked_at=None).update(revoked_at=now)
        return True
    return bool(AccessToken.objects.filter(token=token, revoked_at=None).update(revoked_at=now))


def access_token_resolve(token: str) -> AccessToken | None:
    """The live access token behind an API call, or None (unknown, expired or revoked)."""
    if not token:
        return None
    return (
        AccessToken.objects.select_related("refresh", "refresh__crm_org", "refresh__client")
        .filter(
            token=token,
            revoked_at=None,
            expires_at__gt=timezone.now(),
            refresh__revoked_at=None,
        )
        .first()
    )


def access_token_problem(token: str) -> str:
    """Why `token` is not accepted, in words for the sandbox's request log."""
    found = AccessToken.objects.select_related("refresh").filter(token=token).first()
    if found is None:
        return "no such access token (missing or malformed Authorization header?)"
    if found.refresh.revoked_at:
        return "its refresh token was revoked"
    if found.revoked_at:
        return "retired: 15 newer access tokens of the same refresh token are active"
    return f"expired at {found.expires_at.isoformat(timespec='seconds')}"


def refresh_token_issue(
    *,
    client_id: str,
    client_secret: str,
    scope: str,
    crm_org: CrmOrg | None = None,
    books_user_email: str = "",
) -> RefreshToken:
    """A refresh token without the consent page, like Zoho's Self Client: for the seed and the
    console, which set up a sandbox connection in one step."""
    client, _ = OAuthClient.objects.get_or_create(client_id=client_id)
    if client.client_secret and client.client_secret != client_secret:
        raise OAuthError({"error": "invalid_client"})
    OAuthClient.objects.filter(pk=client.pk).update(client_secret=client_secret)
    return _refresh_token_create(
        client=client,
        scope=scope,
        offline=True,
        crm_org=crm_org,
        books_user_email=books_user_email,
    )


def _refresh_token_create(
    *,
    client: OAuthClient,
    scope: str,
    offline: bool,
    crm_org: CrmOrg | None,
    books_user_email: str,
) -> RefreshToken:
    refresh = RefreshToken.objects.create(
        token=zoho_token(),
        client=client,
        scope=scope,
        offline=offline,
        crm_org=crm_org,
        books_user_email=books_user_email,
    )
    if offline:
        _refresh_tokens_trim(refresh)
    return refresh


def _live_refresh_tokens(grant: GrantCode) -> QuerySet[RefreshToken]:
    return RefreshToken.objects.filter(
        client=grant.client,
        offline=True,
        revoked_at=None,
        crm_org=grant.crm_org,
        books_user_email=grant.books_user_email,
    )


def _refresh_tokens_trim(newest: RefreshToken) -> None:
    """Keep the 20 newest refresh tokens of one user and client; older ones die with their
    access tokens (Kaizen #43)."""
    live = RefreshToken.objects.filter(
        client=newest.client,
        offline=True,
        revoked_at=None,
        crm_org=newest.crm_org,
        books_user_email=newest.books_user_email,
    ).order_by("-created_at", "-pk")
    for old in live[REFRESH_TOKENS_PER_USER:]:
        token_revoke(token=old.token)


def _token_body(access: AccessToken, scope: str, api_domain: str) -> dict[str, Any]:
    lifetime = int((access.expires_at - access.created_at).total_seconds() + 0.5)
    return {
        "scope": scope,
        "api_domain": api_domain,
        "token_type": "Bearer",
        "expires_in": lifetime,
    }
