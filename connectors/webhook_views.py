"""Webhook receivers: verify, record each change in the inbox, acknowledge. Nothing is
processed inside the request; the acknowledgement comes only after the rows are committed."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from connectors.bodies import BodyRejected, json_loads_bounded
from connectors.models import Connection, WebhookChannel
from connectors.qbo.webhooks import MalformedDelivery, events_parse, signature_valid
from syncs.inbox import NewEvent, events_record
from syncs.tasks import inbox_wake

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
    return _record(
        NewEvent(
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
    )


def _record(events: Iterable[NewEvent]) -> JsonResponse:
    """Store the events, all or none, then acknowledge; wake a worker once they are committed."""
    events = list(events)
    try:
        new = events_record(events)
    except ValueError as exc:  # the inbox refuses values no vendor sends (an id of 10 kB)
        return _refuse(f"malformed delivery: {exc}", 400)
    if new:
        transaction.on_commit(inbox_wake)
    return JsonResponse({"received": len(events), "new": new})


CRM_OPERATIONS = {"insert": "create", "update": "update", "delete": "delete"}


@csrf_exempt
@require_POST
def zoho_crm_notification(request: HttpRequest) -> JsonResponse:
    """Zoho CRM notification callbacks: unsigned, so the channel id and its random token must
    both match a channel of ours. They carry ids only; workers fetch the records.

    Reference: https://www.zoho.com/crm/developer/docs/api/v8/notifications/enable.html
    """
    try:
        body = json_loads_bounded(request.body)
        channel_id, token = str(body["channel_id"]), str(body.get("token", ""))
        module, ids = str(body["module"]), body["ids"]
        if not isinstance(ids, list) or not all(
            isinstance(i, str | int) and not isinstance(i, bool) for i in ids
        ):
            raise TypeError("ids is not a list of ids")
        operation = CRM_OPERATIONS.get(str(body.get("operation", "")), "unknown")
        version = str(body.get("server_time", ""))
    except BodyRejected as exc:
        return _refuse(f"malformed notification: {exc}", 400)
    except (ValueError, KeyError, TypeError) as exc:
        return _refuse(f"malformed notification: {type(exc).__name__}", 400)
    channel = (
        WebhookChannel.objects.filter(
            channel_id=channel_id, kind=WebhookChannel.Kind.ZOHO_CRM_NOTIFICATIONS
        )
        .select_related("connection")
        .first()
    )
    if channel is None or not channel.token or not hmac.compare_digest(channel.token, token):
        return _refuse("unknown channel or wrong token", 401)
    WebhookChannel.objects.filter(pk=channel.pk).update(last_delivery_at=timezone.now())
    return _record(
        NewEvent(
            connection=channel.connection,
            entity=module,
            external_id=str(i),
            version=version,
            operation=operation,
        )
        for i in ids
    )
