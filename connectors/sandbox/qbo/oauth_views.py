"""Intuit's OAuth pages and endpoints, faked: the consent page, the token endpoint, revoke."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.template.loader import render_to_string

from connectors.sandbox.faults import sandbox_endpoint
from connectors.sandbox.models import Vendor
from connectors.sandbox.qbo.models import Company
from connectors.sandbox.qbo.oauth import (
    OAuthError,
    authorization_code_issue,
    client_authenticate,
    code_exchange,
    consent_company,
    scope_grants_realm,
    token_refresh,
    token_revoke,
)
from connectors.sandbox.qbo.replies import json_reply, new_tid, oauth_fault

AUTHORIZE_PARAMS = ("client_id", "response_type", "scope", "redirect_uri", "state")
HARD_EXPIRY_HEADER = "x-include-refresh-token-hard-expires-in"


@sandbox_endpoint(Vendor.QBO, on_fault=oauth_fault)
def authorize_view(request: HttpRequest) -> HttpResponse:
    """GET shows the consent page; POST (same query string) approves or denies.

    Reference: https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0
    """
    try:
        params = _authorize_params(request.GET)
        if request.method == "GET":
            return _consent_page(request, params)
        if request.method != "POST":
            return HttpResponse(status=405, headers={"Allow": "GET, POST"})
        if request.POST.get("approve") != "1":
            return _redirect(params["redirect_uri"], error="access_denied", state=params["state"])
        company = consent_company(realm_id=request.POST.get("realm_id") or None)
    except OAuthError as error:
        return _error_page(request, error)
    code = authorization_code_issue(
        client_id=params["client_id"],
        redirect_uri=params["redirect_uri"],
        scope=params["scope"],
        company=company,
    )
    realm = {"realmId": company.realm_id} if scope_grants_realm(params["scope"]) else {}
    return _redirect(params["redirect_uri"], code=code, state=params["state"], **realm)


@sandbox_endpoint(Vendor.QBO, on_fault=oauth_fault)
def token_view(request: HttpRequest) -> HttpResponse:
    """The bearer endpoint: `authorization_code` and `refresh_token` grants, Basic client auth.

    Reference: https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0#step-5-exchange-the-authorization-code-for-access-tokens
    """
    if request.method != "POST":
        return _oauth_error(OAuthError("invalid_request", "Use POST", status=405))
    try:
        app = client_authenticate(authorization=request.headers.get("Authorization", ""))
        grant_type = request.POST.get("grant_type", "")
        if grant_type == "authorization_code":
            tokens = code_exchange(
                app=app,
                code=_required(request.POST, "code"),
                redirect_uri=_required(request.POST, "redirect_uri"),
            )
        elif grant_type == "refresh_token":
            tokens = token_refresh(app=app, refresh_token=_required(request.POST, "refresh_token"))
        else:
            raise OAuthError("unsupported_grant_type", f"Unsupported grant_type {grant_type!r}")
    except OAuthError as error:
        return _oauth_error(error)
    include_hard = request.headers.get(HARD_EXPIRY_HEADER, "").lower() == "true"
    response = json_reply(tokens.body(include_hard_expiry=include_hard))
    response["Cache-Control"] = "no-store"
    return response


@sandbox_endpoint(Vendor.QBO, on_fault=oauth_fault)
def revoke_view(request: HttpRequest) -> HttpResponse:
    """Revoke a refresh or access token, which disconnects the app from the company.

    Reference: https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0#revoke-token-disconnect
    """
    if request.method != "POST":
        return _oauth_error(OAuthError("invalid_request", "Use POST", status=405))
    try:
        app = client_authenticate(authorization=request.headers.get("Authorization", ""))
        token_revoke(app=app, token=_revoke_token(request))
    except OAuthError as error:
        return _oauth_error(error)
    response = HttpResponse(b"", status=200)
    response["intuit_tid"] = new_tid()
    return response


# --- helpers ----------------------------------------------------------------------------------


def _authorize_params(query: QueryDict) -> dict[str, str]:
    params = {name: query.get(name, "").strip() for name in AUTHORIZE_PARAMS}
    missing = [name for name, value in params.items() if not value]
    if missing:
        raise OAuthError("invalid_request", f"Missing required parameter: {', '.join(missing)}")
    if params["response_type"] != "code":
        raise OAuthError("unsupported_response_type", "response_type must be code")
    if urlsplit(params["redirect_uri"]).scheme not in ("http", "https"):
        raise OAuthError("invalid_request", "redirect_uri must be an http(s) URL")
    return params


def _consent_page(request: HttpRequest, params: dict[str, str]) -> HttpResponse:
    context: dict[str, object] = {
        "params": params,
        "scopes": params["scope"].split(),
        "companies": Company.objects.all(),
        "action": request.get_full_path(),
    }
    return _page("sandbox_qbo/consent.html", context)


def _error_page(request: HttpRequest, error: OAuthError) -> HttpResponse:
    return _page("sandbox_qbo/consent_error.html", {"error": error}, status=400)


def _page(template: str, context: dict[str, object], *, status: int = 200) -> HttpResponse:
    """Rendered without the request: Intuit's page is another site, so none of the product's
    context processors (user, connection alerts) belong on it."""
    return HttpResponse(render_to_string(template, context), status=status)


def _redirect(redirect_uri: str, **params: str) -> HttpResponseRedirect:
    """Add our parameters to the client's redirect URI, keeping any it already carries."""
    parts = urlsplit(redirect_uri)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return HttpResponseRedirect(urlunsplit(parts._replace(query=query)))


def _required(form: QueryDict, name: str) -> str:
    value = form.get(name, "")
    if not value:
        raise OAuthError("invalid_request", f"Missing required parameter: {name}")
    return value


def _revoke_token(request: HttpRequest) -> str:
    """Intuit documents a JSON body `{"token": ...}`; a form field is accepted as well."""
    token = request.POST.get("token", "")
    if not token and request.body:
        try:
            body = json.loads(request.body)
        except ValueError:
            body = {}
        token = str(body.get("token", "")) if isinstance(body, dict) else ""
    if not token:
        raise OAuthError("invalid_request", "Missing required parameter: token")
    return token


def _oauth_error(error: OAuthError) -> HttpResponse:
    return json_reply(error.body(), status=error.status)
