"""Zoho Books webhooks: registered per organization through `/settings/webhooks`, delivered as
the entity's JSON (`{"contact": {...}}`, `{"invoice": {...}}`, `{"payment": {...}}`) by the shared
delivery queue, and signed.

Signature (what the product's verifier must reproduce)
------------------------------------------------------
Header `X-Zoho-Webhook-Signature` = lowercase hex of HMAC-SHA256, keyed by the webhook's secret
(UTF-8), over this UTF-8 string:

    <k1><v1><k2><v2>...<raw body>

where `k=v` are the query parameters of the URL the delivery is POSTed to (the registered URL's
own query string plus the webhook's `query_parameters`), sorted by key (then value), each written
as key immediately followed by value with no separator; and `<raw body>` is the exact request
body bytes decoded as UTF-8. With no query parameters the string is the raw body alone. This is
the scheme Zoho documents for Zoho Billing/Subscriptions, the same Finance-suite family; whether
Books uses hex or base64 is not documented (reference/zoho.md section 5), and the fake sends hex.
A webhook without a secret is delivered unsigned (no header).

Reference: https://www.zoho.com/books/api/v3/webhooks/"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from connectors.sandbox.delivery import delivery_enqueue
from connectors.sandbox.models import FaultProfile, Vendor
from connectors.sandbox.zoho.common import books_ids_allocate, books_time
from connectors.sandbox.zoho.models import BooksOrganization, BooksRecord, BooksWebhook

Entity = BooksRecord.Entity
ENTITIES = {
    "contact": Entity.CONTACT,
    "item": Entity.ITEM,
    "invoice": Entity.INVOICE,
    "customerpayment": Entity.PAYMENT,
    "customer_payment": Entity.PAYMENT,
    "payment": Entity.PAYMENT,
}
ENTITY_NAMES: dict[str, str] = {
    Entity.CONTACT: "contact",
    Entity.ITEM: "item",
    Entity.INVOICE: "invoice",
    Entity.PAYMENT: "customerpayment",
}
PAYLOAD_KEYS: dict[str, str] = {
    Entity.CONTACT: "contact",
    Entity.ITEM: "item",
    Entity.INVOICE: "invoice",
    Entity.PAYMENT: "payment",
}
EVENTS = ("created", "updated", "deleted")
SECRET = re.compile(r"^[A-Za-z0-9]{12,50}$")
SIGNATURE_HEADER = "X-Zoho-Webhook-Signature"


class WebhookError(ValueError):
    """A webhook definition Books refuses; the message names the field."""


def webhook_signature(*, secret: str, body: str, params: list[tuple[str, str]]) -> str:
    """Hex HMAC-SHA256 of the sorted `keyvalue` pairs followed by the raw body (module doc)."""
    message = "".join(f"{key}{value}" for key, value in sorted(params)) + body
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def webhook_create(*, org: BooksOrganization, data: Any) -> BooksWebhook:
    """Register a webhook: `entity`, `url` (http/https) and optionally `events` (created,
    updated, deleted; all by default), `secret` (12 to 50 letters and digits),
    `webhook_name` and `query_parameters` (`[{"param_name", "value"}]`)."""
    if not isinstance(data, dict):
        raise WebhookError("JSONString")
    entity = ENTITIES.get(str(data.get("entity", "")).lower())
    if entity is None:
        raise WebhookError("entity")
    url = str(data.get("url") or "")
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise WebhookError("url")
    events = data.get("events") or list(EVENTS)
    if not isinstance(events, list) or any(event not in EVENTS for event in events):
        raise WebhookError("events")
    secret = str(data.get("secret") or "")
    if secret and not SECRET.match(secret):
        raise WebhookError("secret")
    return BooksWebhook.objects.create(
        org=org,
        webhook_id=books_ids_allocate(org)[0],
        name=str(data.get("webhook_name") or f"{ENTITY_NAMES[entity]} webhook")[:200],
        entity=entity,
        events=sorted(set(events), key=EVENTS.index),
        url=url,
        secret=secret,
        query_parameters=_query_parameters(data.get("query_parameters")),
    )


def webhook_render(webhook: BooksWebhook) -> dict[str, Any]:
    """A webhook as the API shows it (the secret itself is never shown back)."""
    return {
        "webhook_id": webhook.webhook_id,
        "webhook_name": webhook.name,
        "entity": ENTITY_NAMES[webhook.entity],
        "events": webhook.events,
        "url": webhook.url,
        "method": "POST",
        "body_type": "application/json",
        "query_parameters": webhook.query_parameters,
        "is_secret_configured": bool(webhook.secret),
        "created_time": books_time(webhook.created_at),
    }


def webhooks_fire(
    *, org: BooksOrganization, entity: str, event: str, payload: dict[str, Any]
) -> int:
    """Queue one delivery per webhook of `org` listening to `event` on `entity`."""
    if not FaultProfile.for_vendor(Vendor.ZOHO_BOOKS).webhooks_enabled:
        return 0
    sent = 0
    for webhook in BooksWebhook.objects.filter(org=org, entity=entity):
        if event not in webhook.events:
            continue
        body = json.dumps({PAYLOAD_KEYS[entity]: payload})
        url, params = _delivery_url(webhook)
        headers = {"Content-Type": "application/json"}
        if webhook.secret:
            headers[SIGNATURE_HEADER] = webhook_signature(
                secret=webhook.secret, body=body, params=params
            )
        delivery_enqueue(vendor=Vendor.ZOHO_BOOKS, url=url, body=body, headers=headers)
        sent += 1
    return sent


def _delivery_url(webhook: BooksWebhook) -> tuple[str, list[tuple[str, str]]]:
    """The URL with the webhook's query parameters added, and every parameter it carries."""
    parts = urlsplit(webhook.url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    params += [(p["param_name"], p["value"]) for p in webhook.query_parameters]
    return urlunsplit(parts._replace(query=urlencode(params))), params


def _query_parameters(value: Any) -> list[dict[str, str]]:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise WebhookError("query_parameters")
    params = []
    for item in value:
        if not isinstance(item, dict) or not item.get("param_name"):
            raise WebhookError("query_parameters")
        params.append({"param_name": str(item["param_name"]), "value": str(item.get("value", ""))})
    return params
