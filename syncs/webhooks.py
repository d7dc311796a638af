"""`/webhooks/<system>/`: one view for every system's deliveries. The system's own receiver
(its registry entry's `webhooks`) verifies the request and reads it; this view records each
change in the inbox and acknowledges only after the rows are committed. Nothing is processed
inside the request."""

from __future__ import annotations

import logging
from functools import cache

from django.db import transaction
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from connectors.base.inbound import Refused
from connectors.base.spec import SystemSpec
from connectors.registry import SPECS, system_spec
from syncs.inbox import NewEvent, events_record
from syncs.tasks import inbox_wake

logger = logging.getLogger(__name__)


@cache
def _receivers() -> dict[str, SystemSpec]:
    """The systems that receive webhooks, by their path (read once per process)."""
    specs = (system_spec(system) for system in SPECS)
    return {spec.webhook_path: spec for spec in specs if spec.webhooks is not None}


def _spec_at(path: str) -> SystemSpec:
    spec = _receivers().get(path)
    if spec is None:
        raise Http404("No system receives webhooks here.")
    return spec


def _refuse(message: str, status: int) -> JsonResponse:
    logger.warning("Webhook refused (%s): %s", status, message)
    return JsonResponse({"error": message}, status=status)


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, system: str, connection: int | None = None) -> JsonResponse:
    """`connection`, when the path names one, is the receiver's to read (from the request's
    resolver match): a system that does not take it ignores it."""
    receive = _spec_at(system).webhooks
    assert receive is not None
    try:
        changes = receive(request)
    except Refused as refused:
        return _refuse(refused.message, refused.status)
    events = [
        NewEvent(
            connection=change.connection,
            entity=change.entity,
            external_id=change.external_id,
            version=change.version,
            operation=change.operation,
            payload=change.payload,
            record=change.record,
        )
        for change in changes
    ]
    try:
        new = events_record(events)
    except ValueError as exc:  # the inbox refuses values no vendor sends (an id of 10 kB)
        return _refuse(f"malformed delivery: {exc}", 400)
    if new:
        transaction.on_commit(inbox_wake)
    return JsonResponse({"received": len(events), "new": new})
