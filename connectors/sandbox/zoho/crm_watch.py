"""CRM notification channels (`/actions/watch`) and the callbacks they receive.

Channels expire (default one hour, at most a week ahead; a longer or missing expiry falls back to
one hour, as Zoho documents) and vanish once expired, so a late PATCH answers `NOT_SUBSCRIBED`.
Callbacks carry ids only (plus the changed values when the channel asked for them), are unsigned,
and echo the channel's `token` and the notify URL's query parameters.

Reference: https://www.zoho.com/crm/developer/docs/api/v8/notifications/overview.html"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.db.models import QuerySet
from django.utils import timezone

from connectors.sandbox.delivery import delivery_enqueue
from connectors.sandbox.models import FaultProfile, Vendor
from connectors.sandbox.zoho.common import crm_time, parse_time
from connectors.sandbox.zoho.crm_schema import metadata_id, module_for
from connectors.sandbox.zoho.crm_validate import error_entry
from connectors.sandbox.zoho.models import CrmChannel, CrmOrg

EVENT_OPERATIONS = {"create": "insert", "edit": "update", "delete": "delete"}
DEFAULT_EXPIRY = timedelta(hours=1)
MAX_EXPIRY = timedelta(weeks=1)
TOKEN_MAX = 50
SUBSCRIBED = "Successfully subscribed for actions-watch of the given module"
UNSUBSCRIBED = "Successfully unsubscribed from actions-watch of the given module"


class WatchError(Exception):
    def __init__(self, entry: dict[str, Any]) -> None:
        super().__init__(entry["code"])
        self.entry = entry


def channels_live(org: CrmOrg) -> QuerySet[CrmChannel]:
    """The org's channels, after deleting the expired ones as Zoho does."""
    CrmChannel.objects.filter(org=org, expires_at__lte=timezone.now()).delete()
    return CrmChannel.objects.filter(org=org)


def watch_enable(*, org: CrmOrg, items: list[Any], resource_base: str) -> list[dict[str, Any]]:
    """POST: create each channel (a channel id already in use is replaced)."""
    results = []
    for index, item in enumerate(items):
        try:
            spec = _spec_check(org, item, index, partial=False)
            channel, _ = CrmChannel.objects.update_or_create(
                org=org,
                channel_id=spec.pop("channel_id"),
                defaults={**spec, "resource_base": resource_base},
            )
            results.append(_success(org, channel, channel.events, SUBSCRIBED))
        except WatchError as failure:
            results.append(failure.entry)
    return results


def watch_update(*, org: CrmOrg, items: list[Any], partial: bool) -> list[dict[str, Any]]:
    """PATCH (`partial`: only the keys given; `_delete_events` removes the events listed) or PUT
    (every detail replaced). Either needs a live channel, else `NOT_SUBSCRIBED`."""
    results = []
    for index, item in enumerate(items):
        try:
            spec = _spec_check(org, item, index, partial=partial)
            channel = channels_live(org).filter(channel_id=spec.pop("channel_id")).first()
            if channel is None:
                raise WatchError(
                    error_entry("NOT_SUBSCRIBED", "Not subscribed for actions-watch", {})
                )
            _channel_apply(channel, spec, item, partial=partial)
            results.append(_success(org, channel, channel.events, SUBSCRIBED))
        except WatchError as failure:
            results.append(failure.entry)
    return results


def watch_details(*, org: CrmOrg, channel_id: str = "", module: str = "") -> list[dict[str, Any]]:
    """GET: one entry per channel and module, as Zoho lists them."""
    channels = channels_live(org).order_by("pk")
    if channel_id:
        channels = channels.filter(channel_id=channel_id)
    entries = []
    for channel in channels:
        for name in sorted({event.split(".")[0] for event in channel.events}):
            if module and name != module:
                continue
            entries.append(_details_entry(org, channel, name))
    return entries


def watch_disable(*, org: CrmOrg, channel_ids: list[str]) -> list[dict[str, Any]]:
    """DELETE: stop the channels named."""
    results = []
    for channel_id in channel_ids:
        channel = channels_live(org).filter(channel_id=channel_id).first()
        if channel is None:
            results.append(error_entry("NOT_SUBSCRIBED", "Not subscribed for actions-watch", {}))
            continue
        results.append(_success(org, channel, channel.events, UNSUBSCRIBED))
        channel.delete()
    return results


def crm_notify(
    *,
    org: CrmOrg,
    module: str,
    operation: str,
    ids: list[str],
    changes: dict[str, dict[str, Any]] | None = None,
) -> int:
    """Queue one callback per live channel watching `module` for `operation` (insert, update,
    delete); `changes` maps each updated record id to its changed fields and new values."""
    if not ids or not FaultProfile.for_vendor(Vendor.ZOHO_CRM).webhooks_enabled:
        return 0
    event = next(e for e, op in EVENT_OPERATIONS.items() if op == operation)
    wanted = {f"{module}.all", f"{module}.{event}"}
    sent = 0
    for channel in channels_live(org):
        if wanted.intersection(channel.events):
            body = _callback_body(channel, module, operation, ids, changes or {})
            delivery_enqueue(
                vendor=Vendor.ZOHO_CRM,
                url=channel.notify_url,
                body=json.dumps(body),
                headers={"Content-Type": "application/json"},
            )
            sent += 1
    return sent


def _callback_body(
    channel: CrmChannel,
    module: str,
    operation: str,
    ids: list[str],
    changes: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """The shape of fixture crm_notification_callback.json."""
    body: dict[str, Any] = {
        "server_time": int(time.time() * 1000),
        "query_params": dict(parse_qsl(urlsplit(channel.notify_url).query)),
        "module": module,
        "resource_uri": f"{channel.resource_base}/{module}",
        "ids": ids,
        "affected_fields": [{record_id: sorted(changes.get(record_id, {}))} for record_id in ids]
        if operation == "update"
        else [],
        "operation": operation,
        "channel_id": channel.channel_id,
        "token": channel.token or None,
    }
    if channel.return_affected_field_values and operation == "update":
        body["affected_values"] = [
            {"record_id": record_id, "values": changes.get(record_id, {})} for record_id in ids
        ]
    return body


def _spec_check(org: CrmOrg, item: Any, index: int, *, partial: bool) -> dict[str, Any]:
    """The channel fields of one `watch[]` item, checked as Zoho checks them."""
    if not isinstance(item, dict):
        raise WatchError(
            error_entry("INVALID_DATA", "invalid data", {"json_path": f"$.watch[{index}]"})
        )
    required = ("channel_id",) if partial else ("channel_id", "events", "notify_url")
    for name in required:
        if item.get(name) in (None, "", []):
            raise WatchError(_missing(name, index))
    spec: dict[str, Any] = {"channel_id": _channel_id(item["channel_id"], index)}
    if "events" in item:
        spec["events"] = _events_check(org, item["events"], index)
    if "notify_url" in item:
        spec["notify_url"] = _url_check(item["notify_url"], index)
    if "token" in item:
        spec["token"] = _token_check(item["token"], index)
    if "channel_expiry" in item or not partial:
        spec["expires_at"] = _expiry(item.get("channel_expiry"), index)
    for flag in ("return_affected_field_values", "notify_on_related_action"):
        if flag in item:
            spec[flag] = bool(item[flag])
    return spec


def _channel_apply(channel: CrmChannel, spec: dict[str, Any], item: Any, *, partial: bool) -> None:
    events = spec.pop("events", None)
    if partial and events is not None:
        if item.get("_delete_events"):
            events = [e for e in channel.events if e not in events]
        else:
            events = sorted(set(channel.events) | set(events))
    if not partial:
        # PUT replaces every detail: what is not given goes back to its default.
        defaults = {"token": "", "return_affected_field_values": False}
        spec = {**defaults, "notify_on_related_action": True, **spec}
    for name, value in spec.items():
        setattr(channel, name, value)
    if events is not None:
        channel.events = events
    channel.save()


def _channel_id(value: Any, index: int) -> str:
    text = str(value)
    if isinstance(value, bool) or not text.isdigit():
        raise WatchError(_invalid("channel_id", index, expected_data_type="long"))
    return text


def _events_check(org: CrmOrg, events: Any, index: int) -> list[str]:
    if not isinstance(events, list) or not events:
        raise WatchError(_invalid("events", index, expected_data_type="jsonarray"))
    for position, event in enumerate(events):
        module, _, operation = str(event).partition(".")
        if module_for(org, module) is None or operation not in (*EVENT_OPERATIONS, "all"):
            raise WatchError(
                _invalid("events", index, json_path=f"$.watch[{index}].events[{position}]")
            )
    return sorted({str(event) for event in events})


def _url_check(url: Any, index: int) -> str:
    parts = urlsplit(str(url))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise WatchError(_invalid("notify_url", index))
    return str(url)


def _token_check(token: Any, index: int) -> str:
    text = "" if token is None else str(token)
    if len(text) > TOKEN_MAX:
        raise WatchError(_invalid("token", index, maximum_length=TOKEN_MAX))
    return text


def _expiry(value: Any, index: int) -> datetime:
    """When the channel dies: as asked, unless missing or beyond a week (then one hour)."""
    now = timezone.now()
    if value in (None, ""):
        return now + DEFAULT_EXPIRY
    parsed = parse_time(str(value))
    if parsed is None or parsed <= now:
        raise WatchError(_invalid("channel_expiry", index))
    return parsed if parsed <= now + MAX_EXPIRY else now + DEFAULT_EXPIRY


def _missing(name: str, index: int) -> dict[str, Any]:
    details = {"api_name": name, "json_path": f"$.watch[{index}].{name}"}
    return error_entry("MANDATORY_NOT_FOUND", "required field not found", details)


def _invalid(name: str, index: int, **extra: Any) -> dict[str, Any]:
    details = {"api_name": name, "json_path": f"$.watch[{index}].{name}", **extra}
    return error_entry("INVALID_DATA", "invalid data", details)


def _success(org: CrmOrg, channel: CrmChannel, events: list[str], message: str) -> dict[str, Any]:
    modules = sorted({event.split(".")[0] for event in events})
    return {
        "code": "SUCCESS",
        "details": {
            "events": [
                {
                    "channel_expiry": crm_time(channel.expires_at),
                    "resource_uri": f"{channel.resource_base}/{module}",
                    "resource_id": metadata_id(org, module),
                    "resource_name": module,
                    "channel_id": channel.channel_id,
                }
                for module in modules
            ]
        },
        "message": message,
        "status": "success",
    }


def _details_entry(org: CrmOrg, channel: CrmChannel, module: str) -> dict[str, Any]:
    return {
        "channel_id": channel.channel_id,
        "events": [e for e in channel.events if e.startswith(f"{module}.")],
        "resource_name": module,
        "resource_id": metadata_id(org, module),
        "resource_uri": f"{channel.resource_base}/{module}",
        "channel_expiry": crm_time(channel.expires_at),
        "notify_url": channel.notify_url,
        "token": channel.token or None,
        "return_affected_field_values": channel.return_affected_field_values,
        "notify_on_related_action": channel.notify_on_related_action,
    }
