"""What every CRM call goes through before its view: the OAuth token, the scope, the per-org
concurrency limit and the daily credits. Zoho answers the last two with the same 429
`TOO_MANY_REQUESTS` (its message tells which) and no Retry-After header.

Reference: https://www.zoho.com/crm/developer/docs/api/v8/api-limits.html"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from connectors.sandbox.faults import concurrency_slot, rate_window_hit
from connectors.sandbox.models import FaultProfile, Vendor
from connectors.sandbox.zoho.accounts import (
    access_token_problem,
    access_token_resolve,
    scope_allows,
)
from connectors.sandbox.zoho.common import bearer_token, json_answer, json_body
from connectors.sandbox.zoho.crm_validate import error_entry
from connectors.sandbox.zoho.models import CrmOrg

DEFAULT_CONCURRENCY = 15  # Professional edition
DAY_SECONDS = 86400
OPERATIONS = {"GET": "read", "POST": "create", "PUT": "update", "PATCH": "update"}
CONCURRENCY_MESSAGE = (
    "The concurrency limit of the user for the given app is exceeded. Please try again later."
)
CREDITS_MESSAGE = "Number of API requests for the 24 hour period is exceeded."


def crm_error(
    code: str, message: str, status: int, *, warning: str = "", **details: Any
) -> HttpResponse:
    return json_answer(error_entry(code, message, details), status=status, warning=warning)


def crm_fault(request: HttpRequest) -> HttpResponse:
    """An injected server failure, as Zoho CRM reports one."""
    return crm_error("INTERNAL_ERROR", "Internal Server Error", 500)


def invalid_module() -> HttpResponse:
    return crm_error(
        "INVALID_MODULE",
        "the module name given seems to be invalid",
        400,
        resource_path_index=0,
    )


def write_credits(request: HttpRequest) -> int:
    """Writes cost a credit per 10 records (at most 10); everything else costs one."""
    if request.method not in ("POST", "PUT"):
        return 1
    body = json_body(request)
    rows = body.get("data") if isinstance(body, dict) else None
    count = len(rows) if isinstance(rows, list) else 1
    return min(max(math.ceil(count / 10), 1), 10)


def crm_api(
    area: str, *, sub: str = "", credits: Callable[[HttpRequest], int] = lambda request: 1
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Authenticate a CRM call for scope `ZohoCRM.<area>[.<sub>]` (`sub` defaults to the
    module in the URL) and apply the org's limits; the view gets the org after the request."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            token = bearer_token(request)
            access = access_token_resolve(token)
            if access is None:
                problem = access_token_problem(token)
                return crm_error("INVALID_TOKEN", "invalid oauth token", 401, warning=problem)
            org = access.refresh.crm_org
            operation = OPERATIONS.get(request.method or "", "delete")
            target = sub or str(kwargs.get("module") or "")
            if org is None or not scope_allows(
                access.refresh.scope, product="ZohoCRM", area=area, op=operation, sub=target
            ):
                return crm_error(
                    "OAUTH_SCOPE_MISMATCH",
                    "invalid oauth scope to access this URL",
                    401,
                    warning=f"needs ZohoCRM.{area}{'.' + target if target else ''}.* "
                    f"({operation}); the token has {access.refresh.scope}",
                )
            profile = FaultProfile.for_vendor(Vendor.ZOHO_CRM)
            limit = profile.concurrency_limit or DEFAULT_CONCURRENCY
            slot_key = f"zoho_crm:concurrency:{org.org_id}:{access.refresh.client.client_id}"
            with concurrency_slot(slot_key, limit) as admitted:
                if not admitted:
                    return crm_error("TOO_MANY_REQUESTS", CONCURRENCY_MESSAGE, 429)
                if not credits_charge(org, credits(request), profile.daily_credit_limit):
                    return crm_error("TOO_MANY_REQUESTS", CREDITS_MESSAGE, 429)
                return view(request, org, *args, **kwargs)

        return wrapped

    return decorate


def credits_charge(org: CrmOrg, cost: int, daily_limit: int | None) -> bool:
    """Spend `cost` of the org's daily credits; False once the day's credits are gone."""
    if daily_limit is None:
        return True
    key = f"zoho_crm:credits:{org.org_id}"
    admitted = True
    for _ in range(cost):
        admitted = rate_window_hit(key, daily_limit, window_seconds=DAY_SECONDS) and admitted
    return admitted
