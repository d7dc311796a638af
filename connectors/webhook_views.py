"""Webhook receivers: verify, record each change in the inbox, acknowledge. Nothing is
processed inside the request; the acknowledgement comes only after the rows are committed."""

from __future__ import annotations

import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from connectors.models import Connection
from connectors.qbo.webhooks import MalformedDelivery, events_parse, signature_valid
from syncs.inbox import NewEvent, events_record

logger = logging.getLogger(__name__)


def _refuse(message: str, status: int) -> JsonResponse:
    logger.warning("Webhook refused (%s): %s", status, message)
    return JsonResponse({"error": message}, status=status)


@csrf_exempt
@require_POST
def qbo_webhook(request: HttpRequest) -> JsonResponse:
    """QuickBooks Online: legacy or CloudEvents bodies, possibly naming several companies.

    Every company named must be connected here, and the signature must verify with each one's
    verifier token; otherwise nothing is stored.
    Reference: https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/managing-webhooks-notifications
    """
    signature = request.headers.get("intuit-signature", "")
    if not signature:
        return _refuse("missing intuit-signature header", 401)
    body = request.body
    try:
        events = events_parse(body)
    except MalformedDelivery as exc:
        return _refuse(f"malformed delivery: {exc}", 400)
    realms = {event.realm_id for event in events}
    connections = {
        c.realm_id: c
        for c in Connection.objects.filter(system=Connection.System.QBO, realm_id__in=realms)
    }
    if not events or set(connections) != realms:
        return _refuse("the delivery names a company that is not connected here", 401)
    if not all(signature_valid(body, signature, c.webhook_secret) for c in connections.values()):
        return _refuse("bad intuit-signature", 401)
    new = events_record(
        NewEvent(
            connection=connections[event.realm_id],
            entity=event.entity,
            external_id=event.entity_id,
            version=event.occurred_at,  # a redelivery carries the same timestamp: one event
            operation=event.operation,
            payload={
                "occurred_at": event.occurred_at,
                "event_id": event.event_id,
                "merged_away_id": event.merged_away_id,
            },
        )
        for event in events
    )
    return JsonResponse({"received": len(events), "new": new})
