"""Zoho Books v3 endpoints. Every call but `GET /organizations` names its organization with
`organization_id`; each organization may make 100 calls a minute (the fault profile can change
that and add a daily cap). Answers use Books' envelope: `{"code": 0, "message": "success", ...}`,
errors `{"code": <non-zero>, "message": ...}` with a 4xx."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from connectors.sandbox.faults import rate_window_hit, sandbox_endpoint
from connectors.sandbox.models import FaultProfile, Vendor
from connectors.sandbox.zoho import services
from connectors.sandbox.zoho.accounts import (
    access_token_problem,
    access_token_resolve,
    scope_allows,
)
from connectors.sandbox.zoho.books_contacts import contact_render, contacts_render
from connectors.sandbox.zoho.books_core import BooksError, Entity, record_get, stamped
from connectors.sandbox.zoho.books_list import records_list
from connectors.sandbox.zoho.books_sales import summary
from connectors.sandbox.zoho.books_webhooks import webhook_render
from connectors.sandbox.zoho.common import bearer_token, books_time, json_answer
from connectors.sandbox.zoho.models import BooksOrganization, BooksWebhook

DEFAULT_PER_MINUTE = 100
OPERATIONS = {"GET": "read", "POST": "create", "PUT": "update", "DELETE": "delete"}
# Seen from Zoho (quoted by peers' code and docs; reference/zoho.md section 5):
NOT_AUTHORIZED = (57, "You are not authorized to perform this operation")
ORG_REQUIRED = (
    6024,
    "This user belongs to multiple organizations, hence the parameter CompanyID/CompanyName is"
    " required for associating this user to a specific organization.",
)
# Books' code for throttling is not documented; 45 is what a Zoho partner's error guide lists.
RATE_LIMITED = (45, "You have made too many requests. Please try again after some time.")


def books_answer(status: int = 200, message: str = "success", **payload: Any) -> HttpResponse:
    return json_answer({"code": 0, "message": message, **payload}, status=status)


def books_refusal(code: int, message: str, status: int, *, warning: str = "") -> HttpResponse:
    return json_answer({"code": code, "message": message}, status=status, warning=warning)


def books_fault(request: HttpRequest) -> HttpResponse:
    """An injected server failure, in Zoho's documented words."""
    return books_refusal(1000, "Internal error", 500)


def books_endpoint(area: str, *, needs_org: bool = True) -> Callable[..., Any]:
    """Faults and logging outermost; then the token, the scope `ZohoBooks.<area>.<op>`, the
    organization and its per-minute limit. The view gets the organization (or, for
    `needs_org=False`, the user's email) after the request."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            token = bearer_token(request)
            access = access_token_resolve(token)
            operation = OPERATIONS.get(request.method or "", "read")
            if access is None:
                return books_refusal(*NOT_AUTHORIZED, 401, warning=access_token_problem(token))
            email = access.refresh.books_user_email
            if not email or not scope_allows(
                access.refresh.scope, product="ZohoBooks", area=area, op=operation
            ):
                warning = (
                    f"needs ZohoBooks.{area}.{operation}; the token has {access.refresh.scope}"
                )
                return books_refusal(*NOT_AUTHORIZED, 401, warning=warning)
            if not needs_org:
                return view(request, email, *args, **kwargs)
            org_or_refusal = _organization(request, email)
            if isinstance(org_or_refusal, HttpResponse):
                return org_or_refusal
            try:
                return view(request, org_or_refusal, *args, **kwargs)
            except BooksError as failure:
                return json_answer(failure.body, status=failure.status)

        return sandbox_endpoint(Vendor.ZOHO_BOOKS, on_fault=books_fault)(guarded)

    return decorate


def _organization(request: HttpRequest, email: str) -> BooksOrganization | HttpResponse:
    organization_id = request.GET.get("organization_id", "")
    if not organization_id:
        hint = "every Books call but GET /organizations needs ?organization_id="
        return books_refusal(*ORG_REQUIRED, 400, warning=hint)
    org = BooksOrganization.objects.filter(
        organization_id=organization_id, user_email=email
    ).first()
    if org is None:
        message = f"This user is not associated with the CompanyID/CompanyName:{organization_id}."
        return books_refusal(6041, message, 400)
    profile = FaultProfile.for_vendor(Vendor.ZOHO_BOOKS)
    per_minute = profile.rate_limit_per_minute or DEFAULT_PER_MINUTE
    if not rate_window_hit(f"zoho_books:minute:{organization_id}", per_minute):
        hint = f"more than {per_minute} calls this minute for organization {organization_id}"
        return books_refusal(*RATE_LIMITED, 429, warning=hint)
    daily = profile.daily_credit_limit
    if daily and not rate_window_hit(
        f"zoho_books:day:{organization_id}", daily, window_seconds=86400
    ):
        return books_refusal(*RATE_LIMITED, 429)
    return org


def _body(request: HttpRequest) -> Any:
    """Books takes the JSON as the body or as the form field `JSONString`."""
    raw = request.POST.get("JSONString") if request.content_type != "application/json" else None
    try:
        return json.loads(raw if raw is not None else (request.body or b"null"))
    except (ValueError, UnicodeDecodeError):
        return None


@books_endpoint("settings", needs_org=False)
def organizations_view(request: HttpRequest, email: str) -> HttpResponse:
    """The organizations of the token's user (there may be several: the admin picks one).

    Reference: https://www.zoho.com/books/api/v3/organizations/#list-organizations"""
    if request.method != "GET":
        return HttpResponse(status=405)
    orgs = BooksOrganization.objects.filter(user_email=email).order_by("pk")
    return books_answer(organizations=[_organization_render(org) for org in orgs])


@books_endpoint("contacts")
def contacts_view(request: HttpRequest, org: BooksOrganization) -> HttpResponse:
    """List contacts (GET) or create one (POST).

    Reference: https://www.zoho.com/books/api/v3/contacts/#list-contacts"""
    if request.method == "POST":
        record = services.books_contact_create(org=org, data=_body(request))
        return books_answer(201, "The contact has been added.", contact=contact_render(org, record))
    if request.method != "GET":
        return HttpResponse(status=405)
    listing = records_list(org=org, entity=Entity.CONTACT, params=request.GET)
    return books_answer(
        contacts=contacts_render(org, listing.records), page_context=listing.page_context
    )


@books_endpoint("contacts")
def contact_view(request: HttpRequest, org: BooksOrganization, contact_id: int) -> HttpResponse:
    """Get, update or delete one contact.

    Reference: https://www.zoho.com/books/api/v3/contacts/#get-contact"""
    if request.method == "DELETE":
        services.books_contact_delete(org=org, contact_id=contact_id)
        return books_answer(message="The contact has been deleted.")
    if request.method == "PUT":
        record = services.books_contact_update(org=org, contact_id=contact_id, data=_body(request))
        message = "Contact information has been saved."
        return books_answer(message=message, contact=contact_render(org, record))
    if request.method != "GET":
        return HttpResponse(status=405)
    record = record_get(org, Entity.CONTACT, contact_id)
    return books_answer(contact=contact_render(org, record))


@books_endpoint("contacts")
def contact_status_view(
    request: HttpRequest, org: BooksOrganization, contact_id: int, state: str
) -> HttpResponse:
    """Mark a contact active or inactive (POST).

    Reference: https://www.zoho.com/books/api/v3/contacts/#mark-as-inactive"""
    mark = functools.partial(services.books_contact_mark, org=org, contact_id=contact_id)
    return _status_mark(request, state, mark, "contact")


@books_endpoint("items")
def items_view(request: HttpRequest, org: BooksOrganization) -> HttpResponse:
    """List items (GET) or create one (POST).

    Reference: https://www.zoho.com/books/api/v3/items/#list-items"""
    if request.method == "POST":
        record = services.books_item_create(org=org, data=_body(request))
        return books_answer(201, "The item has been added.", item=stamped(record))
    if request.method != "GET":
        return HttpResponse(status=405)
    listing = records_list(org=org, entity=Entity.ITEM, params=request.GET)
    items = [stamped(record) for record in listing.records]
    return books_answer(items=items, page_context=listing.page_context)


@books_endpoint("items")
def item_view(request: HttpRequest, org: BooksOrganization, item_id: int) -> HttpResponse:
    """Get or update one item.

    Reference: https://www.zoho.com/books/api/v3/items/#retrieve-an-item"""
    if request.method == "PUT":
        record = services.books_item_update(org=org, item_id=item_id, data=_body(request))
        return books_answer(message="The item details have been saved.", item=stamped(record))
    if request.method != "GET":
        return HttpResponse(status=405)
    return books_answer(item=stamped(record_get(org, Entity.ITEM, item_id)))


@books_endpoint("items")
def item_status_view(
    request: HttpRequest, org: BooksOrganization, item_id: int, state: str
) -> HttpResponse:
    """Mark an item active or inactive (POST).

    Reference: https://www.zoho.com/books/api/v3/items/#mark-as-inactive"""
    mark = functools.partial(services.books_item_mark, org=org, item_id=item_id)
    return _status_mark(request, state, mark, "item")


def _status_mark(
    request: HttpRequest, state: str, mark: Callable[..., Any], noun: str
) -> HttpResponse:
    """POST `/<entity>/{id}/active` or `/inactive`: `mark(active=...)` does it."""
    if request.method != "POST":
        return HttpResponse(status=405)
    if state not in ("active", "inactive"):
        return books_refusal(5, "Invalid URL Passed", 404)
    mark(active=state == "active")
    return books_answer(message=f"The {noun} has been marked as {state}.")


@books_endpoint("invoices")
def invoices_view(request: HttpRequest, org: BooksOrganization) -> HttpResponse:
    """List invoices (filters include `last_modified_time` and `customer_id`) or create one.

    Reference: https://www.zoho.com/books/api/v3/invoices/#list-invoices"""
    if request.method == "POST":
        record = services.books_invoice_create(org=org, data=_body(request))
        return books_answer(201, "The invoice has been created.", invoice=stamped(record))
    if request.method != "GET":
        return HttpResponse(status=405)
    listing = records_list(org=org, entity=Entity.INVOICE, params=request.GET)
    invoices = [summary(record) for record in listing.records]
    return books_answer(invoices=invoices, page_context=listing.page_context)


@books_endpoint("invoices")
def invoice_view(request: HttpRequest, org: BooksOrganization, invoice_id: int) -> HttpResponse:
    """Get or update one invoice.

    Reference: https://www.zoho.com/books/api/v3/invoices/#get-an-invoice"""
    if request.method == "PUT":
        record = services.books_invoice_update(org=org, invoice_id=invoice_id, data=_body(request))
        return books_answer(
            message="Invoice information has been updated.", invoice=stamped(record)
        )
    if request.method != "GET":
        return HttpResponse(status=405)
    return books_answer(invoice=stamped(record_get(org, Entity.INVOICE, invoice_id)))


@books_endpoint("customerpayments")
def payments_view(request: HttpRequest, org: BooksOrganization) -> HttpResponse:
    """List customer payments or record one (with the invoices it pays).

    Reference: https://www.zoho.com/books/api/v3/customer-payments/#list-customer-payments"""
    if request.method == "POST":
        record = services.books_payment_create(org=org, data=_body(request))
        return books_answer(201, "The payment has been created.", payment=stamped(record))
    if request.method != "GET":
        return HttpResponse(status=405)
    listing = records_list(org=org, entity=Entity.PAYMENT, params=request.GET)
    payments = [summary(record) for record in listing.records]
    return books_answer(customerpayments=payments, page_context=listing.page_context)


@books_endpoint("customerpayments")
def payment_view(request: HttpRequest, org: BooksOrganization, payment_id: int) -> HttpResponse:
    """Get one customer payment.

    Reference: https://www.zoho.com/books/api/v3/customer-payments/#retrieve-a-payment"""
    if request.method != "GET":
        return HttpResponse(status=405)
    return books_answer(payment=stamped(record_get(org, Entity.PAYMENT, payment_id)))


@books_endpoint("settings")
def webhooks_view(request: HttpRequest, org: BooksOrganization) -> HttpResponse:
    """List the organization's webhooks or register one.

    Reference: https://www.zoho.com/books/api/v3/webhooks/"""
    if request.method == "POST":
        webhook = services.books_webhook_create(org=org, data=_body(request))
        return books_answer(201, "Webhook has been added.", webhook=webhook_render(webhook))
    if request.method != "GET":
        return HttpResponse(status=405)
    webhooks = BooksWebhook.objects.filter(org=org).order_by("pk")
    return books_answer(webhooks=[webhook_render(w) for w in webhooks])


@books_endpoint("settings")
def webhook_view(request: HttpRequest, org: BooksOrganization, webhook_id: int) -> HttpResponse:
    """Get or delete one webhook.

    Reference: https://www.zoho.com/books/api/v3/webhooks/"""
    webhook = BooksWebhook.objects.filter(org=org, webhook_id=webhook_id).first()
    if webhook is None:
        return books_refusal(1002, "Webhook does not exist.", 404)
    if request.method == "DELETE":
        services.books_webhook_delete(org=org, webhook_id=webhook_id)
        return books_answer(message="The webhook has been deleted.")
    if request.method != "GET":
        return HttpResponse(status=405)
    return books_answer(webhook=webhook_render(webhook))


def _organization_render(org: BooksOrganization) -> dict[str, Any]:
    return {
        "organization_id": org.organization_id,
        "name": org.name,
        "contact_name": org.user_email.split("@")[0],
        "email": org.user_email,
        "is_default_org": org.is_default_org,
        "is_org_active": True,
        "plan_type": 1,
        "plan_name": "STANDARD",
        "language_code": "en",
        "fiscal_year_start_month": 0,
        "account_created_date": org.created_at.date().isoformat(),
        "time_zone": "UTC",
        "currency_id": str(services.books_currency_id(code=org.currency_code)),
        "currency_code": org.currency_code,
        "price_precision": 2,
        "created_time": books_time(org.created_at),
    }
