"""Webhooks out: every change to a sandbox company's records becomes a signed POST to its
webhook URL, in the company's format (legacy `eventNotifications` or a CloudEvents array).

Reference: https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.sandbox.delivery import delivery_enqueue
from connectors.sandbox.models import FaultProfile, Vendor
from connectors.sandbox.qbo.models import Company
from connectors.sandbox.qbo.timefmt import utc_millis

# Legacy operation -> the past tense CloudEvents `type` uses (qbo.invoice.voided.v1).
PAST_TENSE = {
    "Create": "created",
    "Update": "updated",
    "Delete": "deleted",
    "Void": "voided",
    "Merge": "merged",
}


@dataclass(frozen=True)
class Change:
    company: Company
    entity: str
    record_id: str
    operation: str  # Create | Update | Delete | Void
    when: datetime


_collecting: ContextVar[list[Change] | None] = ContextVar("sandbox_qbo_changes", default=None)


@contextmanager
def webhook_batch() -> Iterator[None]:
    """Gather the changes made inside the block (a batch request) into one delivery per
    company, sent only if the block succeeds. Nested blocks join the outer one."""
    if _collecting.get() is not None:
        yield
        return
    changes: list[Change] = []
    token = _collecting.set(changes)
    try:
        yield
    finally:
        _collecting.reset(token)
    webhook_send(changes)


def webhook_record_change(
    *, company: Company, entity: str, record_id: str, operation: str, when: datetime
) -> None:
    """Announce one change: now (inside the caller's transaction), or with its batch."""
    change = Change(company, entity, record_id, operation, when)
    pending = _collecting.get()
    if pending is None:
        webhook_send([change])
    else:
        pending.append(change)


def webhook_send(changes: list[Change]) -> None:
    """Enqueue one signed delivery per company for these changes."""
    if not changes or not FaultProfile.for_vendor(Vendor.QBO).webhooks_enabled:
        return
    by_company: dict[int, list[Change]] = {}
    for change in changes:
        by_company.setdefault(change.company.pk, []).append(change)
    for company_changes in by_company.values():
        company = company_changes[0].company
        if company.webhook_url:
            _enqueue(company, company_changes)


def webhook_signature(verifier_token: str, body: bytes) -> str:
    """`intuit-signature`: base64 of HMAC-SHA256 over the raw body, keyed by the verifier."""
    digest = hmac.new(verifier_token.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _enqueue(company: Company, changes: list[Change]) -> None:
    if company.webhook_format == Company.WebhookFormat.CLOUDEVENTS:
        payload: Any = [_cloudevent(change) for change in changes]
        content_type = "application/cloudevents+json"
    else:
        payload = _legacy(company, changes)
        content_type = "application/json"
    body = json.dumps(payload)
    delivery_enqueue(
        vendor=Vendor.QBO,
        url=company.webhook_url,
        body=body,
        headers={
            "Content-Type": content_type,
            "intuit-signature": webhook_signature(company.verifier_token, body.encode("utf-8")),
        },
    )


def _legacy(company: Company, changes: list[Change]) -> dict[str, Any]:
    entities = [
        {
            "name": change.entity,
            "id": change.record_id,
            "operation": change.operation,
            "lastUpdated": utc_millis(change.when),
        }
        for change in changes
    ]
    return {
        "eventNotifications": [
            {"realmId": company.realm_id, "dataChangeEvent": {"entities": entities}}
        ]
    }


def _cloudevent(change: Change) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": _source(change.company),
        "type": f"qbo.{change.entity.lower()}.{PAST_TENSE[change.operation]}.v1",
        "datacontenttype": "application/json",
        "time": utc_millis(change.when),
        "intuitentityid": change.record_id,
        "intuitaccountid": change.company.realm_id,
        "data": {},
    }


def _source(company: Company) -> str:
    """Intuit's `source` is `intuit.` and an opaque base64 value; a stable one per company."""
    digest = hashlib.sha256(f"sandbox-qbo:{company.realm_id}".encode()).digest()
    return "intuit." + base64.b64encode(digest).decode("ascii")
