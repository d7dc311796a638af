"""Zoho Books webhook deliveries: verification, and the receiver behind `/webhooks/zoho-books/`.

Zoho signs with HMAC-SHA256 keyed by the webhook's secret, in `X-Zoho-Webhook-Signature`. What
is signed follows Zoho's Finance-suite scheme: the request's query parameters sorted by name,
each as name + value, then the raw body. Zoho does not say whether the digest is hex or base64,
so both are accepted.
Reference: https://www.zoho.com/books/api/v3/webhooks/
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from connectors.base.bodies import BodyRejected, json_loads_bounded
from connectors.base.inbound import Inbound, Refused
from connectors.base.records import Record
from connectors.models import Connection

if TYPE_CHECKING:
    from django.http import HttpRequest

SIGNATURE_HEADER = "X-Zoho-Webhook-Signature"
# The body's one key -> (the entity as the Books adapter names it, the record's id field).
PAYLOADS = {
    "contact": ("Contact", "contact_id"),
    "item": ("Item", "item_id"),
    "invoice": ("Invoice", "invoice_id"),
    "payment": ("CustomerPayment", "payment_id"),
    "customerpayment": ("CustomerPayment", "payment_id"),
}
EVENTS = {"created": "create", "updated": "update", "deleted": "delete"}


def signed_message(body: bytes, query: Mapping[str, str] | None = None) -> bytes:
    prefix = "".join(f"{key}{value}" for key, value in sorted((query or {}).items()))
    return prefix.encode() + body


def signature_valid(
    body: bytes, signature: str, secret: str, query: Mapping[str, str] | None = None
) -> bool:
    if not (signature and secret):
        return False
    digest = hmac.new(secret.encode(), signed_message(body, query), hashlib.sha256).digest()
    given = signature.strip()
    return hmac.compare_digest(digest.hex(), given.lower()) or hmac.compare_digest(
        base64.b64encode(digest).decode(), given
    )


def _modified(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _record(key: str, data: Any) -> tuple[str, Record]:
    entity, id_field = PAYLOADS[key]
    if not isinstance(data, dict) or not str(data.get(id_field) or "").strip():
        raise Refused(f"malformed delivery: {key}.{id_field} is missing")
    version = str(data.get("last_modified_time") or "")
    record = Record(
        id=str(data[id_field]),
        version=version,
        modified_at=_modified(version),
        deleted=False,
        data=data,
        name=str(data.get("contact_name") or data.get(f"{key}_number") or data.get("name") or ""),
        active=str(data.get("status", "active")) != "inactive",
    )
    return entity, record


def receive(request: HttpRequest) -> list[Inbound]:
    """A delivery carries the whole record (`{"contact": {...}}`), so the engine does not read
    it again. The webhook's URL names the connection, as `/webhooks/zoho-books/<connection>/`
    or with `?organization_id=` (and `&event=` when it listens to one event); its secret must
    verify the signature, which covers the query parameters too."""
    organization_id = request.GET.get("organization_id", "").strip()
    named = request.resolver_match.kwargs.get("connection") if request.resolver_match else None
    candidates = Connection.objects.filter(system="zoho_books")
    if named is not None:
        candidates = candidates.filter(pk=named)
        if organization_id:
            candidates = candidates.filter(organization_id=organization_id)
    elif organization_id:
        candidates = candidates.filter(organization_id=organization_id)
    else:
        candidates = Connection.objects.none()
    signature = request.headers.get(SIGNATURE_HEADER, "")
    query = {key: request.GET[key] for key in request.GET}
    connection = next(
        (
            c
            for c in candidates
            if signature_valid(request.body, signature, c.webhook_secret, query)
        ),
        None,
    )
    if connection is None:
        raise Refused("unknown organization or bad signature", status=401)
    try:
        body = json_loads_bounded(request.body)
    except BodyRejected as exc:
        raise Refused(f"malformed delivery: {exc}") from exc
    keys = [key for key in body if key in PAYLOADS] if isinstance(body, dict) else []
    if len(keys) != 1:
        raise Refused("malformed delivery: expected one contact, item, invoice or payment")
    entity, record = _record(keys[0], body[keys[0]])
    operation = EVENTS.get(request.GET.get("event", ""), "unknown")
    if operation == "delete":
        record = replace(record, deleted=True)
    return [
        Inbound(
            connection=connection,
            entity=entity,
            external_id=record.id,
            version=record.version,
            operation=operation,
            record=record,
        )
    ]
