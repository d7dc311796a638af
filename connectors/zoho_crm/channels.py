"""Zoho CRM notification channels: created once, renewed early, re-created when Zoho has
dropped them. Callbacks are unsigned, so each channel carries a random token we check.

Reference: https://www.zoho.com/crm/developer/docs/api/v8/notifications/overview.html
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from connectors.base.exceptions import ConnectorError, PermanentError
from connectors.base.spec import ChannelsEnsured
from connectors.models import Connection, WebhookChannel
from connectors.zoho_crm.client import ZohoCrmClient

logger = logging.getLogger(__name__)

CHANNEL_LIFETIME = timedelta(days=7)  # the longest Zoho CRM v8 allows
RENEW_WITHIN = timedelta(days=2)
KIND = WebhookChannel.Kind.ZOHO_CRM_NOTIFICATIONS


def notify_url() -> str:
    return settings.PUBLIC_BASE_URL + reverse("webhook", kwargs={"system": "zoho-crm"})


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
        if created:
            channel_subscribe(channel, method="POST")
        else:
            _channel_replace(channel)
    return channel


def _channel_replace(channel: WebhookChannel) -> None:
    """PUT the channel's new details; a channel Zoho no longer knows (it expired, or its first
    POST failed) answers NOT_SUBSCRIBED and is created again with POST."""
    try:
        channel_subscribe(channel, method="PUT")
        return
    except PermanentError as exc:
        if exc.code != "NOT_SUBSCRIBED":
            raise
    channel_subscribe(channel, method="POST")


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


def channel_stop(channel: WebhookChannel) -> None:
    """Stop the channel at Zoho and forget it. Stopped rather than left to expire: until it
    expired (up to a week) Zoho would keep notifying changes no flow reads, and the hourly
    renewal would keep extending it. A channel Zoho has already dropped counts as stopped;
    any other failure is recorded on the row, which is tried again at the next run."""
    try:
        ZohoCrmClient(channel.connection).watch_delete([channel.channel_id])
    except PermanentError as exc:
        if not _not_subscribed(exc):
            _channel_failed(channel, exc)
            raise
    except ConnectorError as exc:
        _channel_failed(channel, exc)
        raise
    channel.delete()


def _not_subscribed(exc: PermanentError) -> bool:
    answers = exc.details.get("watch") if isinstance(exc.details, dict) else None
    codes = {str(a.get("code", "")) for a in answers or [] if isinstance(a, dict)}
    return exc.code == "NOT_SUBSCRIBED" or codes == {"NOT_SUBSCRIBED"}


def _channel_failed(channel: WebhookChannel, exc: ConnectorError) -> None:
    WebhookChannel.objects.filter(pk=channel.pk).update(
        status=WebhookChannel.Status.FAILED, last_error=str(exc)[:2000]
    )


def channels_ensure(wanted: Mapping[int, list[str]]) -> ChannelsEnsured:
    """One notification channel per connected Zoho CRM connection that flows need watched,
    watching exactly the modules `wanted` names for it; the channel of a connection no flow
    needs any more is stopped. A channel a person disabled is left alone. A vendor failure is
    recorded on the channel row and the next connection is tried: the hourly run (and
    `channels_renew`) tries it again."""
    connections = Connection.objects.filter(
        system=Connection.System.ZOHO_CRM, status=Connection.Status.CONNECTED
    )
    disabled = set(
        WebhookChannel.objects.filter(kind=KIND, status=WebhookChannel.Status.DISABLED).values_list(
            "connection_id", flat=True
        )
    )
    ensured = failed = stopped = 0
    for connection in connections.filter(pk__in=wanted).exclude(pk__in=disabled):
        try:
            channel_ensure(connection, modules=wanted[connection.pk])
            ensured += 1
        except ConnectorError as exc:
            logger.warning("The notification channel of %s failed: %s", connection, exc)
            failed += 1
    unneeded = (
        WebhookChannel.objects.filter(kind=KIND, connection__in=connections)
        .exclude(connection_id__in=wanted)
        .exclude(status=WebhookChannel.Status.DISABLED)
        .select_related("connection")
    )
    for channel in unneeded:
        try:
            channel_stop(channel)
            stopped += 1
        except ConnectorError as exc:
            logger.warning("Stopping the notification channel of %s failed: %s", channel, exc)
            failed += 1
    return ChannelsEnsured(ensured=ensured, failed=failed, stopped=stopped)
