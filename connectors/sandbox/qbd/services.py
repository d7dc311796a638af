"""Writes to the QuickBooks Desktop fake, as a QuickBooks user (or the request processor) makes
them: every change bumps EditSequence and TimeModified, a delete keeps the row for the deleted
queries, and names stay unique within their name space. Refusals are `QbStatusError`s carrying
QuickBooks' status code and text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F

from connectors.sandbox.qbd import errors
from connectors.sandbox.qbd import seed as bulk
from connectors.sandbox.qbd.models import SandboxQbCompany, SandboxQbFault, SandboxQbRecord
from connectors.sandbox.qbd.qbxml import latin1
from connectors.sandbox.qbd.records import (
    Line,
    company_date,
    guid_key,
    ids_reserve,
    invoice_data,
    list_id,
    next_edit_sequence,
    now_seconds,
    txn_id,
)
from connectors.sandbox.qbd.shapes import (
    ADDRESS_LIMITS,
    CUSTOMER_LIMITS,
    Kind,
    kind_get,
    name_space_kinds,
)

Data = dict[str, Any]
# Kept in columns, not in `data`: what a write sends for them is ignored (IsActive aside).
_COLUMN_FIELDS = frozenset({"FullName", "IsActive", "ListID", "TxnID", "EditSequence"})


# --- companies --------------------------------------------------------------------------------


def company_create(
    *,
    name: str,
    file_path: str | None = None,
    country: str = "US",
    qbxml_version: str = "13.0",
    time_zone: str = "America/New_York",
) -> SandboxQbCompany:
    """A company file; its path is `C:\\Books\\<Name>.QBW` unless given."""
    if file_path is None:
        file_path = "C:\\Books\\" + (re.sub(r"[^\w]+", "", latin1(name)) or "Company") + ".QBW"
    return SandboxQbCompany.objects.create(
        name=name,
        file_path=file_path,
        country=country.upper(),
        qbxml_version=qbxml_version,
        time_zone=time_zone,
    )


def _latin1_deep(value: Any) -> Any:
    """QuickBooks can hold only Latin-1, whoever types the text."""
    if isinstance(value, str):
        return latin1(value)
    if isinstance(value, Mapping):
        return {key: _latin1_deep(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_latin1_deep(item) for item in value]
    return value


def file_id_write(*, company: SandboxQbCompany, owner_id: str, file_id: str) -> bool:
    """What QBWC does on an app's first connection: store its FileID DataExt under its
    OwnerID. False when the file already has one for that owner (it is never overwritten)."""
    with transaction.atomic():
        locked = SandboxQbCompany.objects.select_for_update().get(pk=company.pk)
        if any(guid_key(owner) == guid_key(owner_id) for owner in locked.file_ids):
            return False
        locked.file_ids = {**locked.file_ids, owner_id: file_id}
        locked.save(update_fields=["file_ids"])
    company.file_ids = locked.file_ids
    return True


def file_id_for(company: SandboxQbCompany, owner_id: str) -> str | None:
    for owner, file_id in company.file_ids.items():
        if guid_key(owner) == guid_key(owner_id):
            return str(file_id)
    return None


# --- list records -----------------------------------------------------------------------------


def record_create(
    *, company: SandboxQbCompany, kind: str, data: Mapping[str, Any], is_active: bool = True
) -> SandboxQbRecord:
    """A new list element (Customer, ItemService...), given its fields under qbXML names.
    A ParentRef makes a sub-customer ("Parent:Child"); 3100 when the name is taken."""
    spec = kind_get(kind)
    if not spec.is_list:
        raise ValueError("transactions are made by their own service: invoice_create")
    fields = {key: _latin1_deep(value) for key, value in data.items() if key not in _COLUMN_FIELDS}
    if "IsActive" in data:
        is_active = _truthy(data["IsActive"])
    with transaction.atomic():
        full_name = _full_name(company, spec, fields)
        _name_check(company, spec, full_name, exclude_pk=None)
        if spec.name == "Customer":
            fields.setdefault("Balance", "0.00")
            fields.setdefault("TotalBalance", "0.00")
            fields.setdefault("JobStatus", "None")
        now = now_seconds()
        return SandboxQbRecord.objects.create(
            company=company,
            kind=spec.name,
            record_id=list_id(ids_reserve(company, "list_counter", 1), now),
            edit_sequence=str(int(now.timestamp())),
            name=full_name,
            time_created=now,
            time_modified=now,
            data=fields,
            is_active=is_active,
        )


def record_modify(
    *, record: SandboxQbRecord, changes: Mapping[str, Any], edit_sequence: str | None = None
) -> SandboxQbRecord:
    """Change the fields given (an empty string clears one; an address merges into the one
    there). With `edit_sequence`, as a *ModRq carries it: 3200 unless it is the current one.
    Without, it is an edit in QuickBooks' own window."""
    spec = kind_get(record.kind)
    with transaction.atomic():
        locked = (
            SandboxQbRecord.objects.select_for_update()
            .filter(pk=record.pk, deleted_at__isnull=True)
            .first()
        )
        if locked is None:
            raise errors.not_found(record.record_id)
        if edit_sequence is not None and edit_sequence != locked.edit_sequence:
            raise errors.stale_edit_sequence(edit_sequence)
        data = dict(locked.data)
        for key, value in _latin1_deep(dict(changes)).items():
            if key == "IsActive":
                locked.is_active = _truthy(value)
            elif key in _COLUMN_FIELDS:
                continue
            elif value == "" or value is None:
                data.pop(key, None)
            elif isinstance(value, Mapping) and isinstance(data.get(key), Mapping):
                merged = {**data[key], **value}
                data[key] = {k: v for k, v in merged.items() if v != ""}
            else:
                data[key] = value
        if spec.is_list:
            locked.name = _full_name(locked.company, spec, data)
            _name_check(locked.company, spec, locked.name, exclude_pk=locked.pk)
        now = now_seconds()
        locked.data = data
        locked.edit_sequence = next_edit_sequence(locked.edit_sequence, now)
        locked.time_modified = max(now, locked.time_modified)
        locked.save()
    return locked


def record_delete(*, record: SandboxQbRecord) -> SandboxQbRecord:
    """Delete as QuickBooks' Edit > Delete does: gone from queries, listed by the deleted
    queries from now on."""
    deleted = SandboxQbRecord.objects.filter(pk=record.pk, deleted_at__isnull=True).update(
        deleted_at=now_seconds()
    )
    if not deleted:
        raise errors.not_found(record.record_id)
    record.refresh_from_db()
    return record


def record_find(
    *, company: SandboxQbCompany, record_id: str, kinds: Sequence[str] | None = None
) -> SandboxQbRecord | None:
    """A record that is not deleted, by ListID or TxnID."""
    records = SandboxQbRecord.objects.filter(
        company=company, record_id=record_id, deleted_at__isnull=True
    )
    if kinds is not None:
        records = records.filter(kind__in=kinds)
    return records.first()


def _full_name(company: SandboxQbCompany, spec: Kind, fields: Data) -> str:
    name = str(fields.get("Name") or "").strip()
    if not name:
        raise errors.QbStatusError(3090, 'There is a missing element: "Name".')
    _limits_check(spec, fields)
    parent_ref = fields.get("ParentRef")
    if not isinstance(parent_ref, Mapping):
        fields["Sublevel"] = 0
        return name
    parent = _parent_find(company, spec, parent_ref)
    fields["ParentRef"] = {"ListID": parent.record_id, "FullName": parent.name}
    fields["Sublevel"] = int(parent.data.get("Sublevel", 0)) + 1
    return f"{parent.name}:{name}"


def _parent_find(company: SandboxQbCompany, spec: Kind, ref: Mapping[str, Any]) -> SandboxQbRecord:
    parents = SandboxQbRecord.objects.filter(
        company=company, kind=spec.name, deleted_at__isnull=True
    )
    if ref.get("ListID"):
        parent = parents.filter(record_id=ref["ListID"]).first()
    else:
        parent = parents.filter(name__iexact=str(ref.get("FullName", ""))).first()
    if parent is None:
        raise errors.invalid_parent(str(ref.get("FullName") or ref.get("ListID") or ""))
    return parent


def _name_check(
    company: SandboxQbCompany, spec: Kind, full_name: str, *, exclude_pk: int | None
) -> None:
    taken = SandboxQbRecord.objects.filter(
        company=company,
        kind__in=name_space_kinds(spec),
        name__iexact=full_name,
        deleted_at__isnull=True,
    )
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise errors.name_in_use(full_name.rsplit(":", 1)[-1])


def _limits_check(spec: Kind, fields: Data) -> None:
    limits = CUSTOMER_LIMITS if spec.name == "Customer" else {"Name": 31}
    for field, limit in limits.items():
        value = fields.get(field)
        if isinstance(value, str) and len(value) > limit:
            raise errors.too_long(field, value)
    for address in ("BillAddress", "ShipAddress"):
        if isinstance(fields.get(address), Mapping):
            for field, limit in ADDRESS_LIMITS.items():
                value = fields[address].get(field)
                if isinstance(value, str) and len(value) > limit:
                    raise errors.too_long(field, value)


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1")


# --- invoices ---------------------------------------------------------------------------------


def invoice_create(
    *,
    company: SandboxQbCompany,
    customer: SandboxQbRecord,
    lines: Sequence[Line],
    txn_date: date | None = None,
    ref_number: str | None = None,
    terms_days: int = 30,
    paid: bool = False,
) -> SandboxQbRecord:
    """An invoice with its lines and totals; an unpaid one adds to the customer's balance
    (which does not change the customer's EditSequence, as in QuickBooks)."""
    if not lines:
        raise ValueError("an invoice needs at least one line")
    now = now_seconds()
    first = ids_reserve(company, "txn_counter", 1 + len(lines))
    with transaction.atomic():
        if ref_number is None:
            count = SandboxQbRecord.objects.filter(company=company, kind="Invoice").count()
            ref_number = str(1001 + count)
        data = invoice_data(
            customer=customer,
            lines=[(line, txn_id(first + 1 + index, now)) for index, line in enumerate(lines)],
            number=first,
            txn_date=txn_date or company_date(company, now),
            ref_number=ref_number,
            terms_days=terms_days,
            paid=paid,
        )
        invoice = SandboxQbRecord.objects.create(
            company=company,
            kind="Invoice",
            record_id=txn_id(first, now),
            edit_sequence=str(int(now.timestamp())),
            name=ref_number,
            time_created=now,
            time_modified=now,
            data=data,
        )
        _balance_add(customer, Decimal(data["BalanceRemaining"]))
    return invoice


def _balance_add(customer: SandboxQbRecord, amount: Decimal) -> None:
    if not amount:
        return
    locked = SandboxQbRecord.objects.select_for_update().get(pk=customer.pk)
    balance = Decimal(locked.data.get("Balance", "0")) + amount
    locked.data = {**locked.data, "Balance": f"{balance:.2f}", "TotalBalance": f"{balance:.2f}"}
    locked.save(update_fields=["data"])
    customer.data = locked.data


# --- faults -----------------------------------------------------------------------------------


def fault_add(
    *,
    company: SandboxQbCompany,
    request_type: str = "*",
    status_code: int | None = None,
    hresult: str = "",
    message: str = "",
    uses: int = 1,
) -> SandboxQbFault:
    """Script a failure for the next `uses` matching requests: a status code, or an hresult
    that fails the whole message."""
    if (status_code is None) == (not hresult):
        raise ValueError("a fault is either a status_code or an hresult")
    return SandboxQbFault.objects.create(
        company=company,
        request_type=request_type,
        status_code=status_code,
        hresult=hresult,
        message=message or (errors.default_message(status_code) if status_code else ""),
        remaining_uses=uses,
    )


def fault_take(
    *, company: SandboxQbCompany, request_types: Sequence[str], hresult: bool
) -> SandboxQbFault | None:
    """Use up one of the oldest fault matching one of the request types (or "*"); None when
    none is left. The conditional update means two processes cannot both take the last use."""
    faults = SandboxQbFault.objects.filter(
        company=company,
        request_type__in=[*request_types, "*"],
        remaining_uses__gt=0,
    )
    faults = faults.exclude(hresult="") if hresult else faults.filter(hresult="")
    for fault in faults.order_by("pk"):
        taken = SandboxQbFault.objects.filter(pk=fault.pk, remaining_uses__gt=0).update(
            remaining_uses=F("remaining_uses") - 1
        )
        if taken:
            return fault
    return None


# --- seed -------------------------------------------------------------------------------------


def company_seed(
    company: SandboxQbCompany,
    *,
    customers: int = 50,
    items: int = 10,
    invoices: int = 20,
    seed: int = 0,
) -> dict[str, int]:
    """Fill a company with plausible customers, items and invoices (see `seed`); what was
    made, counted."""
    return bulk.company_seed(
        company, customers=customers, items=items, invoices=invoices, seed=seed
    )
