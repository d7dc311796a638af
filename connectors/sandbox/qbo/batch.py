"""`POST /batch`: up to 30 independent operations and queries in one call.

Each item succeeds or fails on its own (HTTP 200 either way, a Fault in the failed item), and
the changes of the whole batch go out as one webhook delivery.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from connectors.sandbox.qbo import errors
from connectors.sandbox.qbo.entities import SPECS
from connectors.sandbox.qbo.models import Company
from connectors.sandbox.qbo.selectors import query_run
from connectors.sandbox.qbo.services import record_write
from connectors.sandbox.qbo.webhooks import webhook_batch

MAX_ITEMS = 30
OPERATIONS = ("create", "update", "delete")

Doc = dict[str, Any]


def batch_items(body: Any) -> list[Doc]:
    """The `BatchItemRequest` list of a request body, checked: at most 30 objects."""
    items = body.get("BatchItemRequest") if isinstance(body, dict) else None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise errors.required_missing("BatchItemRequest", element="BatchItemRequest")
    if len(items) > MAX_ITEMS:
        raise errors.QboFault(
            "2010",
            "Request has invalid or unsupported property",
            f"Property Name:BatchItemRequest holds {len(items)} items; a batch request may "
            f"hold at most {MAX_ITEMS}",
            element="BatchItemRequest",
        )
    return items


def batch_run(*, company: Company, items: list[Doc]) -> list[Doc]:
    """The `BatchItemResponse` list, one answer per item, in order."""
    with webhook_batch():
        return [_item(company, item) for item in items]


def _item(company: Company, item: Doc) -> Doc:
    bid = item.get("bId")
    try:
        # A savepoint per item: a failed item leaves nothing behind, the others stand.
        with transaction.atomic():
            return {"bId": bid, **_answer(company, item)}
    except errors.QboFault as fault:
        return {"bId": bid, "Fault": fault.fault()}


def _answer(company: Company, item: Doc) -> Doc:
    if "Query" in item:
        return {"QueryResponse": query_run(company=company, text=str(item["Query"]))}
    entities = [key for key in item if key[:1].isupper() and key not in ("Query",)]
    known = [key for key in entities if key in SPECS]
    if len(entities) != 1 or not known:
        raise errors.invalid_property(
            f"Property Name:{','.join(entities) or 'entity'} specified is unsupported or invalid"
        )
    entity = known[0]
    operation = str(item.get("operation", "")).lower()
    if operation not in OPERATIONS:
        raise errors.unsupported_operation(f"Operation {operation or '(none)'} is not supported.")
    if operation == "update" and str(item.get("optionsData", "")).lower() == "void":
        operation = "void"
    doc = record_write(company=company, entity=entity, data=item[entity], operation=operation)
    return {entity: doc}
