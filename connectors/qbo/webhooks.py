"""QuickBooks Online webhook deliveries: verification, parsing, and the receiver behind
`/webhooks/qbo/`.

Intuit sends either the legacy `eventNotifications` body or, since 2025, an array of
CloudEvents; one delivery can name several companies. Both carry ids only.
Reference: https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connectors.base.bodies import BodyRejected, json_loads_bounded
from connectors.base.inbound import Inbound, Refused
from connectors.models import Connection

if TYPE_CHECKING:
    from django.http import HttpRequest

OPERATIONS = {
    "create": "create",
    "created": "create",
    "update": "update",
    "updated": "update",
    "delete": "delete",
    "deleted": "delete",
    "merge": "merge",
    "merged": "merge",
    "void": "void",
    "voided": "void",
    "emailed": "update",
}


class MalformedDelivery(ValueError):
    """The body is not a QBO webhook delivery we understand."""


@dataclass(frozen=True)
class QboWebhookEvent:
    realm_id: str
    entity: str
    entity_id: str
    operation: str
    occurred_at: str
    event_id: str = ""
    merged_away_id: str = ""


def signature_valid(body: bytes, signature: str, verifier_token: str) -> bool:
    """`intuit-signature` is base64(HMAC-SHA256(verifier token, raw body)); compared in constant time."""
    if not (signature and verifier_token):
        return False
    digest = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), signature.strip())


def _text(value: Any) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise MalformedDelivery(f"expected text, got {type(value).__name__}")
    return str(value)


def _legacy(body: dict[str, Any]) -> list[QboWebhookEvent]:
    events: list[QboWebhookEvent] = []
    notifications = body.get("eventNotifications")
    if not isinstance(notifications, list):
        raise MalformedDelivery("eventNotifications is not a list")
    for notification in notifications:
        entities = ((notification or {}).get("dataChangeEvent") or {}).get("entities")
        if not isinstance(entities, list):
            raise MalformedDelivery("dataChangeEvent.entities is not a list")
        realm_id = _text(notification.get("realmId"))
        for entity in entities:
            operation = _text(entity.get("operation", "")).lower()
            events.append(
                QboWebhookEvent(
                    realm_id=realm_id,
                    entity=_text(entity.get("name")),
                    entity_id=_text(entity.get("id")),
                    operation=OPERATIONS.get(operation, "unknown"),
                    occurred_at=str(entity.get("lastUpdated", "")),
                    merged_away_id=str(entity.get("deletedId", "") or ""),
                )
            )
    return events


def _cloudevents(body: list[Any]) -> list[QboWebhookEvent]:
    events: list[QboWebhookEvent] = []
    for event in body:
        if not isinstance(event, dict):
            raise MalformedDelivery("a CloudEvent is not an object")
        kind = _text(event.get("type", "")).split(".")  # qbo.customer.created.v1
        if len(kind) < 3 or kind[0] != "qbo":
            raise MalformedDelivery(f"unexpected CloudEvent type {event.get('type')!r}")
        events.append(
            QboWebhookEvent(
                realm_id=_text(event.get("intuitaccountid")),
                entity=_entity_name(kind[1]),
                entity_id=_text(event.get("intuitentityid")),
                operation=OPERATIONS.get(kind[2], "unknown"),
                occurred_at=str(event.get("time", "")),
                event_id=str(event.get("id", "")),
            )
        )
    return events


_ENTITY_NAMES = {
    "customer": "Customer",
    "vendor": "Vendor",
    "item": "Item",
    "invoice": "Invoice",
    "bill": "Bill",
    "estimate": "Estimate",
    "purchaseorder": "PurchaseOrder",
    "payment": "Payment",
    "creditmemo": "CreditMemo",
    "salesreceipt": "SalesReceipt",
    "account": "Account",
    "employee": "Employee",
}


def _entity_name(lowered: str) -> str:
    return _ENTITY_NAMES.get(lowered, lowered[:1].upper() + lowered[1:])


def events_parse(body: bytes) -> list[QboWebhookEvent]:
    """The events in a delivery, in either format; `MalformedDelivery` for anything else."""
    try:
        decoded = json_loads_bounded(body)
    except BodyRejected as exc:
        raise MalformedDelivery(str(exc)) from exc
    try:
        if isinstance(decoded, list):
            return _cloudevents(decoded)
        if isinstance(decoded, dict):
            return _legacy(decoded)
    except (AttributeError, TypeError) as exc:
        raise MalformedDelivery(f"unexpected structure: {exc}") from exc
    raise MalformedDelivery("the body is neither an object nor an array")


def receive(request: HttpRequest) -> list[Inbound]:
    """Every company a delivery names must be connected here, and the signature must verify with
    each one's verifier token; otherwise nothing of it is kept. Ids only: workers fetch.

    Reference: https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/managing-webhooks-notifications
    """
    signature = request.headers.get("intuit-signature", "")
    if not signature:
        raise Refused("missing intuit-signature header", status=401)
    body = request.body
    try:
        events = events_parse(body)
    except MalformedDelivery as exc:
        raise Refused(f"malformed delivery: {exc}") from exc
    realms = {event.realm_id for event in events}
    connections = {
        c.realm_id: c for c in Connection.objects.filter(system="qbo", realm_id__in=realms)
    }
    if not events or set(connections) != realms:
        raise Refused("the delivery names a company that is not connected here", status=401)
    if not all(signature_valid(body, signature, c.webhook_secret) for c in connections.values()):
        raise Refused("bad intuit-signature", status=401)
    return [
        Inbound(
            connection=connections[event.realm_id],
            entity=event.entity,
            external_id=event.entity_id,
            # A CloudEvent's id is unique to the event, so redeliveries share it. The legacy
            # body's lastUpdated has one-second resolution: two changes in one second would look
            # like one, so those events carry no version and dedupe only while still pending
            # (processing fetches the current record, so nothing is lost either way).
            version=event.event_id,
            operation=event.operation,
            payload={
                "occurred_at": event.occurred_at,
                "event_id": event.event_id,
                "merged_away_id": event.merged_away_id,
            },
        )
        for event in events
    ]
