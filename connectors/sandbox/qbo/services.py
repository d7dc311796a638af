"""Writes to the QBO fake: companies and records. The API views, the console and the seed all
come through here, so each change gets the same validation, SyncToken bump and webhook.

Errors are `QboFault`s carrying Intuit's code and texts; the views render them.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from connectors.sandbox.qbo import errors
from connectors.sandbox.qbo.documents import document_build, document_void, name_key
from connectors.sandbox.qbo.entities import EntitySpec, spec_for
from connectors.sandbox.qbo.models import Company, Counter, Record, Replay
from connectors.sandbox.qbo.selectors import deleted_render, record_find, record_render
from connectors.sandbox.qbo.timefmt import now_seconds
from connectors.sandbox.qbo.webhooks import webhook_record_change

Doc = dict[str, Any]
MAX_REQUEST_ID = 50  # Intuit's documented limit (blog 2015-04-06 "Request ID update")
ITEM_NAME_DETAIL = (
    "The name supplied already exists. : Another product or service is already using this "
    "name. Please use a different name."
)


# --- companies --------------------------------------------------------------------------------


def company_create(
    *,
    name: str,
    realm_id: str | None = None,
    currency: str = "USD",
    webhook_format: str = Company.WebhookFormat.LEGACY,
    country: str = "US",
    webhook_url: str | None = None,
) -> Company:
    """A new sandbox company; its realm id looks like Intuit's (16 digits) unless given."""
    if webhook_format not in Company.WebhookFormat.values:
        raise ValueError(f"webhook_format must be one of {Company.WebhookFormat.values}")
    company = Company(
        realm_id=realm_id or _new_realm_id(),
        name=name,
        currency=currency.upper(),
        country=country.upper(),
        webhook_format=webhook_format,
    )
    if webhook_url is not None:
        company.webhook_url = webhook_url
    company.full_clean()
    company.save()
    return company


def _new_realm_id() -> str:
    while True:
        realm_id = "9341" + "".join(secrets.choice("0123456789") for _ in range(12))
        if not Company.objects.filter(realm_id=realm_id).exists():
            return realm_id


def counter_next(*, company: Company, name: str) -> int:
    """The next value of a per-company sequence; the row lock makes it safe across processes."""
    with transaction.atomic():
        if not Counter.objects.filter(company=company, name=name).update(value=F("value") + 1):
            try:
                with transaction.atomic():
                    Counter.objects.create(company=company, name=name, value=1)
            except IntegrityError:
                Counter.objects.filter(company=company, name=name).update(value=F("value") + 1)
        return Counter.objects.get(company=company, name=name).value


class _Context:
    """What document building needs from the database (documents.WriteContext)."""

    def __init__(self, company: Company) -> None:
        self.company = company
        self.currency = company.currency

    def next_value(self, name: str) -> int:
        return counter_next(company=self.company, name=name)

    def referenced(self, entity: str, ref_id: str) -> Doc:
        record = record_find(company=self.company, entity=entity, record_id=ref_id)
        if record is None:
            raise errors.invalid_reference(entity, ref_id)
        if record.deleted or not record.active:
            raise errors.not_found()
        return record_render(record)


# --- records: the public functions ------------------------------------------------------------


def record_create(*, company: Company, entity: str, data: Doc) -> Doc:
    """Create a record as `POST /<entity>` does; returns it as the API would."""
    spec = spec_for(entity)
    with transaction.atomic():
        now = now_seconds()
        doc = document_build(spec, _Context(company), data, None, sparse=False)
        record = Record(
            company=company,
            entity=spec.name,
            qbo_id=counter_next(company=company, name=spec.name),
            created_at=now,
        )
        _store(record, spec, doc, now=now)
        _party_balance_refresh(record)
        _announce(record, "Create")
    return record_render(record)


def record_update(
    *, company: Company, entity: str, record_id: str, data: Doc, sparse: bool = True
) -> Doc:
    """Change a record (sparse unless told otherwise). `SyncToken` in `data` is checked when
    present; without it the change is one made in QBO itself, like an edit in its UI."""
    spec = spec_for(entity)
    sync_token = data.get("SyncToken")
    return _update(
        company,
        spec,
        str(record_id),
        data,
        sparse=sparse,
        sync_token=None if sync_token is None else str(sync_token),
    )


def record_deactivate(*, company: Company, entity: str, record_id: str) -> Doc:
    """Make a name-list record inactive: QBO's only way to delete a Customer, Vendor or Item."""
    spec = spec_for(entity)
    if not spec.is_name_list:
        raise errors.unsupported_operation(f"Operation Deactivate is not supported for {entity}.")
    return _update(company, spec, str(record_id), {"Active": False}, sparse=True, sync_token=None)


def record_delete(
    *, company: Company, entity: str, record_id: str, sync_token: str | None = None
) -> Doc:
    """Delete a transaction (name lists cannot be deleted); answers Intuit's delete stub."""
    spec = spec_for(entity)
    if spec.is_name_list:
        raise errors.unsupported_operation("Operation Delete is not supported.")
    with transaction.atomic():
        record = _locked(company, spec, str(record_id), sync_token)
        record.deleted = True
        record.sync_token += 1
        record.updated_at = now_seconds()
        record.save()
        _party_balance_refresh(record)
        _announce(record, "Delete")
    return deleted_render(record)


def record_void(
    *, company: Company, entity: str, record_id: str, sync_token: str | None = None
) -> Doc:
    """Void a transaction: it stays, with zero amounts and the note `Voided`."""
    spec = spec_for(entity)
    if not spec.voidable:
        raise errors.unsupported_operation("Operation Void is not supported.")
    with transaction.atomic():
        record = _locked(company, spec, str(record_id), sync_token)
        _store(record, spec, document_void(record.doc), now=now_seconds(), bump=True)
        _party_balance_refresh(record)
        _announce(record, "Void")
    return record_render(record)


def record_write(*, company: Company, entity: str, data: Doc, operation: str | None) -> Doc:
    """What the API's `POST /<entity>[?operation=...]` and a batch item do with a body."""
    if not isinstance(data, dict):
        raise errors.invalid_property("The request body must be an object")
    if operation in (None, "create", "update"):
        if operation == "create" or (operation is None and not data.get("Id")):
            return record_create(company=company, entity=entity, data=data)
        _require(data, "Id", "SyncToken")
        sparse = str(data.get("sparse", "false")).lower() == "true"
        return record_update(
            company=company, entity=entity, record_id=str(data["Id"]), data=data, sparse=sparse
        )
    if operation in ("delete", "void"):
        _require(data, "Id", "SyncToken")
        act = record_delete if operation == "delete" else record_void
        return act(
            company=company,
            entity=entity,
            record_id=str(data["Id"]),
            sync_token=str(data["SyncToken"]),
        )
    raise errors.unsupported_operation(f"Operation {operation} is not supported.")


def replay_or_run(
    *, company: Company, request_id: str | None, run: Callable[[], Doc]
) -> tuple[int, str]:
    """Run a write once per `requestid`: a repeat gets the first answer (status and body, even
    a fault) unchanged. The answer is stored in the write's own transaction, so a crash or a
    concurrent twin can never leave a write without its answer or run it twice."""
    if not request_id:
        return _outcome(run)
    if len(request_id) > MAX_REQUEST_ID:
        # Refused rather than ignored: a client whose ids are too long for Intuit would lose
        # its idempotency in production without ever noticing here.
        raise errors.too_long("requestid", limit=MAX_REQUEST_ID, supplied=len(request_id))
    stored = Replay.objects.filter(company=company, request_id=request_id).first()
    if stored is not None:
        return stored.status, stored.body
    try:
        with transaction.atomic():
            status, body = _outcome(run)
            Replay.objects.create(company=company, request_id=request_id, status=status, body=body)
    except IntegrityError:
        stored = Replay.objects.filter(company=company, request_id=request_id).first()
        if stored is None:
            raise
        return stored.status, stored.body
    return status, body


# --- internals --------------------------------------------------------------------------------


def _outcome(run: Callable[[], Doc]) -> tuple[int, str]:
    try:
        return 200, json.dumps(run())
    except errors.QboFault as fault:
        return fault.status, json.dumps(fault.body())


def _require(data: Doc, *keys: str) -> None:
    for key in keys:
        if data.get(key) in (None, ""):
            raise errors.required_missing(key, element=key)


def _update(
    company: Company,
    spec: EntitySpec,
    record_id: str,
    data: Doc,
    *,
    sparse: bool,
    sync_token: str | None,
) -> Doc:
    with transaction.atomic():
        record = _locked(company, spec, record_id, sync_token)
        was_active = record.active
        doc = document_build(spec, _Context(company), data, dict(record.doc), sparse=sparse)
        _store(record, spec, doc, now=now_seconds(), bump=True)
        _party_balance_refresh(record)
        # Intuit's webhooks list Delete for Customer, Vendor and Item, which can only ever be
        # made inactive: that is what a name list's Delete event announces.
        deactivated = spec.is_name_list and was_active and not record.active
        _announce(record, "Delete" if deactivated else "Update")
    return record_render(record)


def _locked(company: Company, spec: EntitySpec, record_id: str, sync_token: str | None) -> Record:
    """The record, locked for this transaction; 610 if gone, 5010 if the token is stale."""
    record = None
    if record_id.isdigit():
        record = (
            Record.objects.select_for_update()
            .filter(company=company, entity=spec.name, qbo_id=int(record_id))
            .first()
        )
    if record is None or record.deleted:
        raise errors.not_found()
    if sync_token is not None and sync_token != str(record.sync_token):
        raise errors.stale_object()
    return record


# Whose balance a transaction adds to: what a customer owes, what is owed to a vendor.
_BALANCE_OF = {"Invoice": ("Customer", "CustomerRef"), "Bill": ("Vendor", "VendorRef")}


def _party_balance_refresh(record: Record) -> None:
    """QBO keeps a customer's and a vendor's Balance as the sum of their open invoices or bills;
    it changes without a new SyncToken or a webhook for the customer or vendor."""
    if record.entity not in _BALANCE_OF:
        return
    party_entity, ref = _BALANCE_OF[record.entity]
    party_id = str((record.doc.get(ref) or {}).get("value", ""))
    party = Record.objects.filter(
        company_id=record.company_id, entity=party_entity, qbo_id=party_id or 0
    ).first()
    if party is None:
        return
    open_balances = (
        Decimal(str(t.doc.get("Balance") or 0))
        for t in Record.objects.filter(
            company_id=record.company_id, entity=record.entity, deleted=False
        )
        if str((t.doc.get(ref) or {}).get("value", "")) == party_id
    )
    balance = float(sum(open_balances, Decimal(0)))
    party.doc = {**party.doc, "Balance": balance}
    if party_entity == "Customer":
        party.doc["BalanceWithJobs"] = balance
    party.save(update_fields=["doc"])


def _store(
    record: Record, spec: EntitySpec, doc: Doc, *, now: datetime, bump: bool = False
) -> None:
    """Save the document; the name must be free among Customers and Vendors (or Items)."""
    record.doc = doc
    record.active = bool(doc.get("Active", True)) if spec.is_name_list else True
    record.name_space = spec.name_space
    record.name_key = name_key(spec, doc)
    record.updated_at = now
    if bump:
        record.sync_token += 1
    _check_name_free(record, spec)
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:
        # A concurrent create took the name between the check and the save.
        _check_name_free(record, spec)
        raise


def _check_name_free(record: Record, spec: EntitySpec) -> None:
    if not record.name_key:
        return
    clash = (
        Record.objects.filter(
            company_id=record.company_id, name_space=record.name_space, name_key=record.name_key
        )
        # Restating the partial unique index's condition lets SQLite use that index.
        .exclude(name_key="")
        .exclude(pk=record.pk)
        .first()
    )
    if clash is not None:
        detail = ITEM_NAME_DETAIL if spec.name_space == "item" else errors.DUPLICATE_NAME_DETAIL
        raise errors.duplicate_name(clash.qbo_id, detail=detail)


def _announce(record: Record, operation: str) -> None:
    webhook_record_change(
        company=record.company,
        entity=record.entity,
        record_id=str(record.qbo_id),
        operation=operation,
        when=record.updated_at,
    )
