"""The Zoho Accounts fake over real HTTP: consent, code exchange, refresh and its throttle,
active-token eviction, revocation, and how the CRM fake treats the tokens it minted."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from connectors.sandbox.models import FaultProfile, RateWindow, Vendor
from connectors.sandbox.zoho.models import AccessToken
from tests.sandbox.zoho.conftest import (
    BOOKS_SCOPE,
    CLIENT_ID,
    CRM_SCOPE,
    REDIRECT_URI,
    SANDBOX_APPS,
    fixture,
    fresh_window,
    session,
)
from tests.sandbox.zoho.shapes import assert_same_shape

pytestmark = pytest.mark.django_db(transaction=True, available_apps=SANDBOX_APPS)

INVALID_TOKEN = {
    "code": "INVALID_TOKEN",
    "details": {},
    "message": "invalid oauth token",
    "status": "error",
}


def test_consent_page_lists_the_orgs_the_scope_asks_for(zoho, crm_org, books_orgs):
    crm_only = requests.get(
        f"{zoho.accounts}/oauth/v2/auth", params=zoho.auth_params(CRM_SCOPE), timeout=10
    )
    both = requests.get(
        f"{zoho.accounts}/oauth/v2/auth",
        params=zoho.auth_params(f"{CRM_SCOPE},{BOOKS_SCOPE}"),
        timeout=10,
    )

    assert crm_only.status_code == 200
    assert crm_org.name in crm_only.text
    assert books_orgs[0].name not in crm_only.text
    assert crm_org.name in both.text
    assert all(org.name in both.text for org in books_orgs)


def test_approval_redirects_with_code_state_and_the_sandbox_accounts_server(zoho, crm_org):
    params = zoho.consent(CRM_SCOPE, org_id=crm_org.org_id)

    assert params["code"].startswith("1000.")
    assert params["state"] == "opaque-state"
    assert params["location"] == "us"
    assert params["accounts-server"] == zoho.accounts


def test_code_exchange_returns_tokens_and_the_sandbox_api_domain(zoho, crm_org):
    code = zoho.consent(CRM_SCOPE)["code"]

    response = zoho.exchange(code)

    body = response.json()
    assert response.status_code == 200
    assert body["api_domain"] == zoho.root
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["refresh_token"].startswith("1000.")
    assert_same_shape(body, fixture("token_refresh_response.json"))


def test_a_code_is_single_use(zoho, crm_org):
    code = zoho.consent(CRM_SCOPE)["code"]
    assert "access_token" in zoho.exchange(code).json()

    again = zoho.exchange(code)

    assert again.status_code == 200  # Zoho reports OAuth errors with HTTP 200
    assert again.json() == {"error": "invalid_code"}


def test_an_expired_code_is_refused(zoho, crm_org):
    from connectors.sandbox.zoho.models import GrantCode

    code = zoho.consent(CRM_SCOPE)["code"]
    GrantCode.objects.filter(code=code).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert zoho.exchange(code).json() == {"error": "invalid_code"}


def test_a_code_is_bound_to_its_redirect_uri(zoho, crm_org):
    code = zoho.consent(CRM_SCOPE)["code"]

    response = requests.post(
        f"{zoho.accounts}/oauth/v2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "client_secret": "s",
            "redirect_uri": "http://127.0.0.1:9/elsewhere/",
            "code": code,
        },
        timeout=10,
    )

    assert response.json() == {"error": "invalid_redirect_uri"}


def test_denying_consent_redirects_with_access_denied(zoho, crm_org):
    params = zoho.consent(CRM_SCOPE, approve=False)

    assert params == {"error": "access_denied", "state": "opaque-state"}


def test_the_first_secret_is_held_to(zoho, crm_org):
    tokens = zoho.tokens(CRM_SCOPE)

    wrong = zoho.refresh(tokens["refresh_token"], secret="another-secret")

    assert wrong.status_code == 200
    assert wrong.json() == {"error": "invalid_client"}


def test_token_parameters_may_come_in_the_query_string(zoho, crm_org):
    code = zoho.consent(CRM_SCOPE)["code"]

    response = requests.post(
        f"{zoho.accounts}/oauth/v2/token",
        params={
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "client_secret": "query-secret",
            "redirect_uri": REDIRECT_URI,
            "code": code,
        },
        timeout=10,
    )

    assert "access_token" in response.json()


def test_without_prompt_consent_a_second_grant_gets_no_refresh_token(zoho, crm_org):
    zoho.tokens(CRM_SCOPE)
    code = zoho.consent(CRM_SCOPE, prompt="none")["code"]

    body = zoho.exchange(code).json()

    assert "access_token" in body
    assert "refresh_token" not in body


def test_refresh_mints_a_new_access_token_and_keeps_the_refresh_token(zoho, crm_org):
    tokens = zoho.tokens(CRM_SCOPE)

    body = zoho.refresh(tokens["refresh_token"]).json()

    assert body["access_token"] != tokens["access_token"]
    assert "refresh_token" not in body  # Zoho refresh tokens do not rotate
    assert body["api_domain"] == zoho.root
    assert session(body["access_token"]).get(f"{zoho.crm}/org", timeout=10).status_code == 200


def test_eleventh_token_in_ten_minutes_is_access_denied(zoho, crm_org):
    fresh_window(600, margin=10)
    tokens = zoho.tokens(CRM_SCOPE)  # the exchange mints the first of ten
    for _ in range(9):
        assert "access_token" in zoho.refresh(tokens["refresh_token"]).json()

    throttled = zoho.refresh(tokens["refresh_token"])

    assert throttled.status_code == 400
    assert throttled.json() == fixture("token_rate_limited_error.json")
    assert "reuse the access token" in throttled.headers["X-Sandbox-Warning"]


def test_a_sixteenth_active_token_retires_the_oldest(zoho, crm_org):
    fresh_window(600, margin=10)
    tokens = zoho.tokens(CRM_SCOPE)
    minted = [tokens["access_token"]]
    for _ in range(9):
        minted.append(zoho.refresh(tokens["refresh_token"]).json()["access_token"])
    RateWindow.objects.all().delete()  # ten minutes pass: the throttle forgets
    for _ in range(6):
        minted.append(zoho.refresh(tokens["refresh_token"]).json()["access_token"])

    oldest = session(minted[0]).get(f"{zoho.crm}/org", timeout=10)
    second = session(minted[1]).get(f"{zoho.crm}/org", timeout=10)

    assert oldest.status_code == 401
    assert oldest.json() == INVALID_TOKEN
    assert oldest.headers["X-Sandbox-Warning"].startswith("retired")
    assert second.status_code == 200
    assert AccessToken.objects.filter(revoked_at=None).count() == 15


def test_revoking_a_refresh_token_kills_its_access_tokens(zoho, crm_org):
    tokens = zoho.tokens(CRM_SCOPE)

    revoked = requests.post(
        f"{zoho.accounts}/oauth/v2/token/revoke",
        params={"token": tokens["refresh_token"]},
        timeout=10,
    )

    assert revoked.json() == {"status": "success"}
    assert session(tokens["access_token"]).get(f"{zoho.crm}/org", timeout=10).status_code == 401
    assert zoho.refresh(tokens["refresh_token"]).json() == {"error": "invalid_code"}


def test_an_expired_access_token_is_invalid_token(zoho, crm_org, crm_tokens, crm):
    AccessToken.objects.filter(token=crm_tokens["access_token"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = crm.get(f"{zoho.crm}/org", timeout=10)

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN
    assert response.headers["X-Sandbox-Warning"].startswith("expired at")


def test_token_lifetime_follows_the_fault_profile(zoho, crm_org):
    FaultProfile.objects.update_or_create(
        vendor=Vendor.ZOHO_ACCOUNTS, defaults={"token_lifetime_seconds": 120}
    )

    assert zoho.tokens(CRM_SCOPE)["expires_in"] == 120


def test_bearer_scheme_is_accepted_too(zoho, crm_org, crm_tokens):
    response = requests.get(
        f"{zoho.crm}/org",
        headers={"Authorization": f"Bearer {crm_tokens['access_token']}"},
        timeout=10,
    )

    assert response.status_code == 200


def test_a_token_without_the_scope_is_oauth_scope_mismatch(zoho, crm_org):
    tokens = zoho.tokens("ZohoCRM.modules.contacts.READ")
    http = session(tokens["access_token"])

    allowed = http.get(f"{zoho.crm}/Contacts", params={"fields": "Last_Name"}, timeout=10)
    refused = http.get(f"{zoho.crm}/Accounts", params={"fields": "Account_Name"}, timeout=10)

    assert allowed.status_code == 204
    assert refused.status_code == 401
    assert refused.json()["code"] == "OAUTH_SCOPE_MISMATCH"


def test_an_unknown_scope_shows_an_error_page(zoho, crm_org):
    response = requests.get(
        f"{zoho.accounts}/oauth/v2/auth", params=zoho.auth_params("Unknown.scope.ALL"), timeout=10
    )

    assert response.status_code == 400
    assert "Invalid OAuth scope" in response.text


def test_the_seed_can_issue_a_refresh_token_without_the_consent_page(zoho, crm_org):
    from connectors.sandbox.zoho import services

    refresh = services.oauth_refresh_token_issue(
        client_id=CLIENT_ID, client_secret="seed-secret", scope=CRM_SCOPE, crm_org=crm_org
    )

    body = zoho.refresh(refresh.token, secret="seed-secret").json()
    org = session(body["access_token"]).get(f"{zoho.crm}/org", timeout=10)

    assert org.json()["org"][0]["id"] == crm_org.org_id
    assert services.oauth_token_revoke(token=refresh.token) is True
    assert zoho.refresh(refresh.token, secret="seed-secret").json() == {"error": "invalid_code"}
