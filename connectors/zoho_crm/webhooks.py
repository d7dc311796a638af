"""Zoho CRM notification callbacks, the receiver behind `/webhooks/zoho-crm/`.

They are unsigned, so the channel id and its random token must both match a channel of ours.
They carry ids only; workers fetch the records.
Reference: https://www.zoho.com/crm/developer/docs/api/v8/notifications/enable.html
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from django.utils import timezone

from connectors.base.bodies import BodyRejected, json_loads_bounded
from connectors.base.inbound import Inbound, Refused
from connectors.models import WebhookChannel

if TYPE_CHECKING:
    from django.http import HttpRequest

OPERATIONS = {"insert": "create", "update": "update", "delete": "delete"}


def receive(request: HttpRequest) -> list[Inbound]:
    try:
        body = json_loads_bounded(request.body)
        channel_id, token = str(body["channel_id"]), str(body.get("token", ""))
        module, ids = str(body["module"]), body["ids"]
        if not isinstance(ids, list) or not all(
            isinstance(i, str | int) and not isinstance(i, bool) for i in ids
        ):
            raise TypeError("ids is not a list of ids")
        operation = OPERATIONS.get(str(body.get("operation", "")), "unknown")
        version = str(body.get("server_time", ""))
    except BodyRejected as exc:
        raise Refused(f"malformed notification: {exc}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise Refused(f"malformed notification: {type(exc).__name__}") from exc
    channel = (
        WebhookChannel.objects.filter(
            channel_id=channel_id, kind=WebhookChannel.Kind.ZOHO_CRM_NOTIFICATIONS
        )
        .select_related("connection")
        .first()
    )
    if channel is None or not channel.token or not hmac.compare_digest(channel.token, token):
        raise Refused("unknown channel or wrong token", status=401)
    WebhookChannel.objects.filter(pk=channel.pk).update(last_delivery_at=timezone.now())
    return [
        Inbound(
            connection=channel.connection,
            entity=module,
            external_id=str(i),
            version=version,
            operation=operation,
        )
        for i in ids
    ]
