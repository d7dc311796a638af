"""Intuit OAuth, faked: consent, code exchange, rotation, revocation, and the bearer check."""

from __future__ import annotations

from datetime import timedelta

import requests
from django.utils import timezone

from connectors.sandbox.qbo.models import AuthorizationCode, Company, Token
from connectors.sandbox.qbo.oauth import grant_create
from connectors.sandbox.qbo.services import company_create
from tests.sandbox.qbo.conftest import (
    CLIENT_ID,
    LIVE_DB,
    REDIRECT_URI,
    Connected,
    authorize,
    callback_params,
    connect,
    exchange,
    token_call,
)

pytestmark = LIVE_DB


def test_consent_page_lists_the_companies_to_pick(sandbox: str, company: Company) -> None:
    response = requests.get(
        f"{sandbox}/connect/oauth2",
        params={
            "client_id": CLIENT_ID,
            "response_type": "code",
            "scope": "com.intuit.quickbooks.accounting",
            "redirect_uri": REDIRECT_URI,
            "state": "abc",
        },
        timeout=10,
    )

    assert response.status_code == 200
    assert "<form" in response.text
    assert company.name in response.text
    assert f'value="{company.realm_id}"' in response.text
    assert 'value="new"' in response.text


def test_consent_without_a_redirect_uri_is_an_error_page(sandbox: str) -> None:
    response = authorize(sandbox, redirect_uri="")

    assert response.status_code == 400
    assert "redirect_uri" in response.text


def test_approval_redirects_with_code_state_and_realm(sandbox: str, company: Company) -> None:
    params = callback_params(authorize(sandbox, realm_id=company.realm_id, state="s-42"))

    assert params["state"] == "s-42"
    assert params["realmId"] == company.realm_id
    assert params["code"]


def test_approval_without_a_company_creates_the_first_one(sandbox: str) -> None:
    params = callback_params(authorize(sandbox))

    assert Company.objects.get().realm_id == params["realmId"]


def test_approval_can_create_a_new_company(sandbox: str, company: Company) -> None:
    params = callback_params(authorize(sandbox, realm_id="new"))

    assert params["realmId"] != company.realm_id
    assert Company.objects.filter(realm_id=params["realmId"]).exists()


def test_deny_redirects_with_access_denied(sandbox: str, company: Company) -> None:
    params = callback_params(authorize(sandbox, approve="0", state="s-9"))

    assert params == {"error": "access_denied", "state": "s-9"}


def test_code_exchange_answers_like_intuit(sandbox: str, company: Company) -> None:
    code = callback_params(authorize(sandbox, realm_id=company.realm_id))["code"]

    response = token_call(
        sandbox,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        **{"x-include-refresh-token-hard-expires-in": "true"},
    )

    assert response.status_code == 200
    assert response.headers["intuit_tid"]
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["x_refresh_token_expires_in"] == 8726400
    assert 0 < body["x_refresh_token_hard_expires_in"] <= 5 * 365 * 86400
    assert len(body["access_token"]) > 255  # Intuit's are long JWTs
    assert body["refresh_token"]


def test_hard_expiry_only_when_asked(sandbox: str, company: Company) -> None:
    code = callback_params(authorize(sandbox, realm_id=company.realm_id))["code"]

    body = exchange(sandbox, code).json()

    assert "x_refresh_token_hard_expires_in" not in body


def test_reused_code_is_invalid_grant_and_revokes_the_first_tokens(
    sandbox: str, company: Company
) -> None:
    code = callback_params(authorize(sandbox, realm_id=company.realm_id))["code"]
    first = exchange(sandbox, code).json()

    second = exchange(sandbox, code)

    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert second.headers["intuit_tid"]
    first_connection = Connected(sandbox, company.realm_id, first["access_token"], "")
    assert first_connection.get(f"companyinfo/{company.realm_id}").status_code == 401
    refreshed = token_call(
        sandbox, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert refreshed.json()["error"] == "invalid_grant"


def test_expired_or_unknown_code_is_invalid_grant(sandbox: str, company: Company) -> None:
    code = callback_params(authorize(sandbox, realm_id=company.realm_id))["code"]
    AuthorizationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert exchange(sandbox, code).json()["error"] == "invalid_grant"
    assert exchange(sandbox, "AB11-not-a-code").json()["error"] == "invalid_grant"


def test_code_is_bound_to_its_redirect_uri(sandbox: str, company: Company) -> None:
    code = callback_params(authorize(sandbox, realm_id=company.realm_id))["code"]

    response = token_call(
        sandbox,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://localhost/x"},
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_client_is_held_to_its_first_secret(sandbox: str, company: Company) -> None:
    connect(sandbox, company)  # registers the client id with its secret
    code = callback_params(authorize(sandbox, realm_id=company.realm_id))["code"]

    response = token_call(
        sandbox,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        secret="wrong-secret",
    )

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}


def test_refresh_rotates_and_the_old_refresh_token_dies(sandbox: str, qbo: Connected) -> None:
    first = token_call(sandbox, {"grant_type": "refresh_token", "refresh_token": qbo.refresh_token})
    assert first.status_code == 200
    rotated = first.json()

    reuse = token_call(sandbox, {"grant_type": "refresh_token", "refresh_token": qbo.refresh_token})
    again = token_call(
        sandbox, {"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]}
    )

    assert rotated["refresh_token"] != qbo.refresh_token
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    assert reuse.json()["error_description"]
    assert again.status_code == 200
    new_api = Connected(sandbox, qbo.realm_id, rotated["access_token"], "")
    assert new_api.get(f"companyinfo/{qbo.realm_id}").status_code == 200


def test_revoke_disconnects_the_app(sandbox: str, qbo: Connected) -> None:
    response = requests.post(
        f"{sandbox}/oauth2/v1/tokens/revoke",
        json={"token": qbo.refresh_token},
        auth=(CLIENT_ID, "test-client-secret"),
        timeout=10,
    )

    assert response.status_code == 200
    assert qbo.get(f"companyinfo/{qbo.realm_id}").status_code == 401
    refresh = token_call(
        sandbox, {"grant_type": "refresh_token", "refresh_token": qbo.refresh_token}
    )
    assert refresh.json()["error"] == "invalid_grant"


def test_expired_access_token_gets_intuits_401(qbo: Connected) -> None:
    Token.objects.filter(kind=Token.Kind.ACCESS).update(expires_at=timezone.now())

    response = qbo.get(f"companyinfo/{qbo.realm_id}")

    assert response.status_code == 401
    assert response.headers["intuit_tid"]
    fault = response.json()["Fault"]
    assert fault["type"] == "AuthenticationFault"
    assert fault["Error"] == [
        {
            "Message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
            "Detail": "Token expired",
            "code": "3200",
        }
    ]
    assert response.json()["time"]


def test_token_lifetime_follows_the_fault_profile(sandbox: str, company: Company, profile) -> None:
    profile.token_lifetime_seconds = 5
    profile.save()

    api = connect(sandbox, company)

    token = Token.objects.get(kind=Token.Kind.ACCESS)
    assert token.expires_at <= timezone.now() + timedelta(seconds=5)
    assert api.get(f"companyinfo/{company.realm_id}").status_code == 200


def test_missing_or_unknown_bearer_is_401(qbo: Connected) -> None:
    anonymous = requests.get(qbo.url(f"companyinfo/{qbo.realm_id}"), timeout=10)
    forged = Connected(qbo.base, qbo.realm_id, "eyJ-forged", "").get(f"companyinfo/{qbo.realm_id}")

    assert anonymous.status_code == 401
    assert anonymous.json()["Fault"]["Error"][0]["code"] == "3200"
    assert forged.status_code == 401


def test_token_of_another_company_is_refused(sandbox: str, qbo: Connected) -> None:
    other = company_create(name="Another Company")

    response = Connected(sandbox, other.realm_id, qbo.access_token, "").get(
        f"companyinfo/{other.realm_id}"
    )

    assert response.status_code == 403
    fault = response.json()["Fault"]
    assert fault["type"] == "AuthorizationFault"
    assert fault["Error"][0]["code"] == "3100"


def test_company_info(qbo: Connected, company: Company) -> None:
    response = qbo.get(f"companyinfo/{company.realm_id}")

    info = response.json()["CompanyInfo"]
    assert info["CompanyName"] == company.name
    assert info["LegalName"] == company.name
    assert info["Country"] == "US"
    assert isinstance(info["Id"], str)
    assert isinstance(info["SyncToken"], str)


def test_grant_create_connects_without_a_browser(sandbox: str, company: Company) -> None:
    """The seed's path: tokens that work exactly like those of the consent flow."""
    tokens = grant_create(company=company, client_id=CLIENT_ID, client_secret="test-client-secret")
    api = Connected(sandbox, company.realm_id, tokens.access_token, tokens.refresh_token)

    assert api.get(f"companyinfo/{company.realm_id}").status_code == 200
    refreshed = token_call(
        sandbox, {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
    )
    assert refreshed.status_code == 200
