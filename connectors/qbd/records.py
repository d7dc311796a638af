"""QuickBooks Desktop's answers as the engine's records: a `CustomerRet`, an item of any kind,
an `InvoiceRet` with its lines, and the deletions `ListDeletedRet` / `TxnDeletedRet` report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.base.inbound import Inbound
from connectors.base.records import Record
from connectors.models import Connection
from connectors.qbd.models import QbdCompany, QbdRecord

# The listings a session reads, in dependency order (items before the invoices that use them),
# with the Ret elements each answers with.
LISTED = ("Customer", "Item", "Invoice")
ITEM_TYPES = (
    "ItemService",
    "ItemNonInventory",
    "ItemInventory",
    "ItemInventoryAssembly",
    "ItemOtherCharge",
    "ItemDiscount",
    "ItemFixedAsset",
    "ItemGroup",
    "ItemPayment",
    "ItemSalesTax",
    "ItemSalesTaxGroup",
    "ItemSubtotal",
)
# ListDelType / TxnDelType values -> the entity whose records they delete.
DELETED_LISTS = {"Customer": "Customer", **{kind: "Item" for kind in ITEM_TYPES}}
DELETED_TXNS = {"Invoice": "Invoice"}


def when(value: str | None) -> datetime | None:
    """A QuickBooks time (`2014-12-15T11:29:22-05:00`, the machine's local time with its
    offset)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def record_of(entity: str, ret: dict[str, Any]) -> Record:
    """A listed record: lists are named by ListID, transactions by TxnID; EditSequence is the
    version every change moves (and a `*ModRq` must quote)."""
    if entity == "Invoice":
        record_id, name = ret.get("TxnID", ""), ret.get("RefNumber") or ret.get("TxnID", "")
        active = True
        ret = {**ret, "_state": invoice_state(ret)}
    else:
        record_id, name = ret.get("ListID", ""), ret.get("FullName") or ret.get("Name", "")
        active = ret.get("IsActive", "true") != "false"
    return Record(
        id=record_id,
        version=ret.get("EditSequence", ""),
        modified_at=when(ret.get("TimeModified")),
        deleted=False,
        data=ret,
        name=name,
        active=active,
    )


def invoice_state(ret: dict[str, Any]) -> str:
    """ "voided", "paid" or "open". qbXML 13.0 has no void flag: QuickBooks keeps a voided
    invoice with every amount set to zero and "VOID:" put before its memo."""
    memo = str(ret.get("Memo") or "")
    lines = ret.get("InvoiceLineRet") or []
    zero = (
        all(_amount(line.get("Amount")) == 0 for line in lines)
        and _amount(ret.get("Subtotal")) == 0
    )
    if memo.upper().startswith("VOID:") or (lines and zero):
        return "voided"
    return "paid" if ret.get("IsPaid") == "true" else "open"


def _amount(value: Any) -> Decimal:
    try:
        return Decimal(str(value or "0"))
    except InvalidOperation:
        return Decimal(0)


def changes_of(connection: Connection, entity: str, rets: list[dict[str, Any]]) -> list[Inbound]:
    changes = []
    for ret in rets:
        record = record_of(entity, ret)
        if record.id:
            changes.append(
                Inbound(
                    connection=connection,
                    entity=entity,
                    external_id=record.id,
                    version=record.version,
                    operation="update",
                    record=record,
                )
            )
    return changes


def deletions_of(connection: Connection, rets: list[dict[str, Any]]) -> list[Inbound]:
    """`ListDeletedRet` / `TxnDeletedRet` as deletions: QuickBooks Desktop has no true delete
    of a list element with history, but a deleted one is gone from every query after."""
    changes = []
    for ret in rets:
        if ret.get("_type") == "TxnDeletedRet":
            entity, record_id = DELETED_TXNS.get(ret.get("TxnDelType", "")), ret.get("TxnID")
            name = ret.get("RefNumber", "")
        else:
            entity, record_id = DELETED_LISTS.get(ret.get("ListDelType", "")), ret.get("ListID")
            name = ret.get("FullName", "")
        if not entity or not record_id:
            continue
        deleted_at = ret.get("TimeDeleted", "")
        record = Record(
            id=record_id,
            version=f"deleted:{deleted_at}",
            modified_at=when(deleted_at),
            deleted=True,
            data={"_type": ret.get("_type", ""), "TimeDeleted": deleted_at},
            name=name,
            active=False,
        )
        changes.append(
            Inbound(
                connection=connection,
                entity=entity,
                external_id=record_id,
                version=record.version,
                operation="delete",
                record=record,
            )
        )
    return changes


def records_keep(company: QbdCompany, entity: str, records: list[Record]) -> None:
    """Keep the records as handed over (one statement a page), for the engine to read."""
    rows = [
        QbdRecord(
            company=company,
            entity=entity,
            record_id=record.id,
            version=record.version,
            name=record.name[:255],
            modified_at=record.modified_at,
            data=record.data,
            active=record.active,
            deleted_at=record.modified_at if record.deleted else None,
        )
        for record in records
        if record.id
    ]
    QbdRecord.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["company", "entity", "record_id"],
        update_fields=["version", "name", "modified_at", "data", "active", "received_at"],
    )


def deletions_keep(company: QbdCompany, changes: list[Inbound]) -> None:
    for change in changes:
        QbdRecord.objects.filter(
            company=company, entity=change.entity, record_id=change.external_id
        ).update(deleted_at=change.record.modified_at if change.record else None, active=False)


def records_held(company: QbdCompany, entity: str, ids: Sequence[str]) -> list[Record]:
    """The records of `ids` as QuickBooks last handed them over (none for one never seen)."""
    return [
        Record(
            id=row.record_id,
            version=row.version,
            modified_at=row.modified_at,
            deleted=row.deleted_at is not None,
            data=row.data,
            name=row.name,
            active=row.active,
        )
        for row in QbdRecord.objects.filter(company=company, entity=entity, record_id__in=ids)
    ]
