"""Zoho CRM notification channels: created once, renewed early, re-created when Zoho has
dropped them. Callbacks are unsigned, so each channel carries a random token we check.

Reference: https://www.zoho.com/crm/developer/docs/api/v8/notifications/overview.html
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from connectors.exceptions import ConnectorError, PermanentError
from connectors.models import Connection, WebhookChannel
from connectors.zoho_crm.client import ZohoCrmClient

CHANNEL_LIFETIME = timedelta(days=7)  # the longest Zoho CRM v8 allows
RENEW_WITHIN = timedelta(days=2)
KIND = WebhookChannel.Kind.ZOHO_CRM_NOTIFICATIONS


def notify_url() -> str:
    return settings.PUBLIC_BASE_URL + reverse("connectors:zoho_crm_notification")


def _body(channel: WebhookChannel) -> dict:
    return {
        "channel_id": channel.channel_id,
        "events": channel.events,
        "notify_url": channel.notify_url,
        "token": channel.token,
        "channel_expiry": (timezone.now() + CHANNEL_LIFETIME).isoformat(timespec="seconds"),
        "notify_on_related_action": False,
        "return_affected_field_values": False,
    }


def channel_ensure(connection: Connection, *, modules: list[str]) -> WebhookChannel:
    """The connection's notification channel for `modules`, subscribed at Zoho."""
    channel, created = WebhookChannel.objects.get_or_create(
        connection=connection,
        kind=KIND,
        defaults={
            "channel_id": str(secrets.randbelow(9 * 10**12) + 10**12),
            "token": secrets.token_urlsafe(30)[:40],
            "events": [f"{module}.all" for module in modules],
            "notify_url": notify_url(),
        },
    )
    wanted = sorted(f"{module}.all" for module in modules)
    if (
        created
        or sorted(channel.events) != wanted
        or channel.status != WebhookChannel.Status.ACTIVE
    ):
        channel.events = wanted
        channel.save(update_fields=["events"])
        channel_subscribe(channel, method="POST" if created else "PUT")
    return channel


def channel_subscribe(channel: WebhookChannel, *, method: str) -> None:
    expiry = timezone.now() + CHANNEL_LIFETIME
    try:
        ZohoCrmClient(channel.connection).watch(method, _body(channel))
    except ConnectorError as exc:
        WebhookChannel.objects.filter(pk=channel.pk).update(
            status=WebhookChannel.Status.FAILED, last_error=str(exc)[:2000]
        )
        raise
    WebhookChannel.objects.filter(pk=channel.pk).update(
        status=WebhookChannel.Status.ACTIVE,
        expires_at=expiry,
        last_renewed_at=timezone.now(),
        last_error="",
    )
    channel.refresh_from_db()


def channel_renew(channel: WebhookChannel) -> str:
    """Extend the channel with PATCH; Zoho forgets expired channels and answers NOT_SUBSCRIBED,
    and then the channel is created again with POST. Returns what was done."""
    try:
        channel_subscribe(channel, method="PATCH")
        return "renewed"
    except PermanentError as exc:
        if exc.code != "NOT_SUBSCRIBED":
            raise
    channel_subscribe(channel, method="POST")
    return "re-created"


def channels_renew() -> int:
    """Renew every channel that expires within two days (or whose last attempt failed)."""
    due = (
        WebhookChannel.objects.filter(kind=KIND, connection__status=Connection.Status.CONNECTED)
        .filter(
            Q(expires_at__isnull=True)
            | Q(expires_at__lte=timezone.now() + RENEW_WITHIN)
            | Q(status=WebhookChannel.Status.FAILED)
        )
        .exclude(status=WebhookChannel.Status.DISABLED)
    )
    renewed = 0
    for channel in due.select_related("connection"):
        try:
            channel_renew(channel)
            renewed += 1
        except ConnectorError:
            continue  # recorded on the channel; tried again at the next run
    return renewed
