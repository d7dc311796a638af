"""Zoho Accounts endpoints: the consent page, the token endpoint and token revocation."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.template.loader import render_to_string

from connectors.sandbox.faults import sandbox_endpoint
from connectors.sandbox.models import Vendor
from connectors.sandbox.zoho import accounts
from connectors.sandbox.zoho.common import json_answer, zoho_root
from connectors.sandbox.zoho.models import BooksOrganization, CrmOrg


def accounts_fault(request: HttpRequest) -> HttpResponse:
    return json_answer({"error": "internal_server_error"}, status=500)


@sandbox_endpoint(Vendor.ZOHO_ACCOUNTS, on_fault=accounts_fault)
def authorize(request: HttpRequest) -> HttpResponse:
    """The consent page (GET) and the user's answer to it (POST to the same URL).

    Reference: https://www.zoho.com/crm/developer/docs/api/v8/auth-request.html"""
    params = request.GET
    problem = _authorize_problem(params)
    if problem:
        return _consent_page(request, error=problem, status=400)
    if request.method == "GET":
        return _consent_page(request)
    if request.method != "POST":
        return HttpResponse(status=405)
    if request.POST.get("approve") != "1":
        return _redirect(params["redirect_uri"], error="access_denied", state=params.get("state"))
    return _approve(request, params)


@sandbox_endpoint(Vendor.ZOHO_ACCOUNTS, on_fault=accounts_fault)
def token(request: HttpRequest) -> HttpResponse:
    """Exchange a grant code, or a refresh token, for an access token. Parameters may come as a
    form body or in the query string, as Zoho accepts both.

    Reference: https://www.zoho.com/crm/developer/docs/api/v8/access-refresh.html"""
    if request.method != "POST":
        return HttpResponse(status=405)
    params = request.GET.copy()
    params.update(request.POST)
    api_domain = zoho_root(request)
    try:
        client = accounts.oauth_client_authenticate(
            params.get("client_id", ""), params.get("client_secret", "")
        )
        grant_type = params.get("grant_type", "")
        if grant_type == "authorization_code":
            body = accounts.token_for_code(
                client=client,
                code=params.get("code", ""),
                redirect_uri=params.get("redirect_uri", ""),
                api_domain=api_domain,
            )
        elif grant_type == "refresh_token":
            body = accounts.token_for_refresh(
                client=client,
                refresh_token=params.get("refresh_token", ""),
                api_domain=api_domain,
            )
        else:
            raise accounts.OAuthError({"error": "unsupported_grant_type"})
    except accounts.OAuthError as failure:
        return json_answer(failure.body, status=failure.status, warning=failure.warning)
    return json_answer(body)


@sandbox_endpoint(Vendor.ZOHO_ACCOUNTS, on_fault=accounts_fault)
def revoke(request: HttpRequest) -> HttpResponse:
    """Revoke a refresh token (and all its access tokens).

    Reference: https://www.zoho.com/crm/developer/docs/api/v8/revoke-tokens.html"""
    if request.method != "POST":
        return HttpResponse(status=405)
    token_value = request.GET.get("token") or request.POST.get("token", "")
    if not accounts.token_revoke(token=token_value):
        return json_answer({"error": "invalid_token", "status": "failure"}, status=400)
    return json_answer({"status": "success"})


def _authorize_problem(params: QueryDict) -> str:
    for name in ("client_id", "redirect_uri", "scope"):
        if not params.get(name):
            return f"Invalid request: the parameter {name} is missing."
    if params.get("response_type", "code") != "code":
        return "Invalid response_type: only `code` is supported."
    if not accounts.scope_products(params.get("scope", "")):
        return "Invalid OAuth scope: ask for ZohoCRM.* or ZohoBooks.* scopes."
    return ""


def _consent_page(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    scope = request.GET.get("scope", "")
    products = accounts.scope_products(scope)
    context = {
        "error": error,
        "client_id": request.GET.get("client_id", ""),
        "scopes": accounts.scope_items(scope),
        "wants_crm": "crm" in products,
        "wants_books": "books" in products,
        "crm_orgs": CrmOrg.objects.order_by("pk"),
        "books_orgs": BooksOrganization.objects.order_by("user_email", "pk"),
        "books_field": "books_org_id" if "crm" in products else "org_id",
    }
    # Rendered without the request: Zoho's page owes nothing to the product's context
    # processors (admin alerts, the signed-in user).
    return HttpResponse(render_to_string("sandbox_zoho/consent.html", context), status=status)


def _approve(request: HttpRequest, params: QueryDict) -> HttpResponse:
    # `_authorize_problem` has required client_id, redirect_uri and scope: none is missing.
    redirect_uri = params.get("redirect_uri", "")
    scope = params.get("scope", "")
    products = accounts.scope_products(scope)
    chosen = request.POST.getlist("org_id") + request.POST.getlist("books_org_id")
    crm_org = _chosen_crm_org(chosen) if "crm" in products else None
    books_org = _chosen_books_org(chosen) if "books" in products else None
    if ("crm" in products and crm_org is None) or ("books" in products and books_org is None):
        return _consent_page(request, error="Choose an existing sandbox organization.", status=400)
    grant = accounts.grant_code_issue(
        client=accounts.oauth_client_touch(params.get("client_id", "")),
        redirect_uri=redirect_uri,
        scope=scope,
        offline=params.get("access_type", "online") == "offline",
        prompt_consent=params.get("prompt", "") == "consent",
        crm_org=crm_org,
        books_user_email=books_org.user_email if books_org else "",
    )
    return _redirect(
        redirect_uri,
        code=grant.code,
        state=params.get("state"),
        location="us",
        **{"accounts-server": f"{zoho_root(request)}/accounts"},
    )


def _chosen_crm_org(chosen: list[str]) -> CrmOrg | None:
    """The CRM org picked among `chosen`, or the first one when none of `chosen` is meant for
    CRM; None for an id that names no organization at all."""
    mine = [v for v in chosen if not BooksOrganization.objects.filter(organization_id=v).exists()]
    orgs = CrmOrg.objects.order_by("pk")
    return orgs.filter(org_id__in=mine).first() if mine else orgs.first()


def _chosen_books_org(chosen: list[str]) -> BooksOrganization | None:
    mine = [v for v in chosen if not CrmOrg.objects.filter(org_id=v).exists()]
    orgs = BooksOrganization.objects.order_by("user_email", "pk")
    return orgs.filter(organization_id__in=mine).first() if mine else orgs.first()


def _redirect(redirect_uri: str, **values: str | None) -> HttpResponseRedirect:
    """`redirect_uri` with `values` added to whatever query it already has."""
    parts = urlsplit(redirect_uri)
    extra = urlencode({k: v for k, v in values.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    response = HttpResponseRedirect(urlunsplit(parts._replace(query=query)))
    # A sandbox redirect may point at any scheme the client registered.
    response.allowed_schemes = ["http", "https", parts.scheme]
    return response
