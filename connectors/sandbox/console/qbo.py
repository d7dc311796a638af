"""The QBO fake in the console: companies, their records by entity, and writes through
`connectors.sandbox.qbo.services` (so each one bumps the SyncToken and fires the webhook)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from connectors.sandbox.console import forms as f
from connectors.sandbox.console.records import (
    Action,
    Doc,
    EntityCount,
    OwnerSummary,
    Row,
    VendorFault,
)
from connectors.sandbox.qbo import services
from connectors.sandbox.qbo.entities import SPECS, SYSTEM_FIELDS
from connectors.sandbox.qbo.errors import QboFault
from connectors.sandbox.qbo.models import Company, Record
from connectors.sandbox.qbo.selectors import record_render

TRANSACTION_EXAMPLE = (
    'e.g. {"CustomerRef": {"value": "1"}, "Line": [{"DetailType": "SalesItemLineDetail", '
    '"Amount": 100, "SalesItemLineDetail": {"ItemRef": {"value": "1"}}}]}'
)


class QboSource:
    slug = "qbo"
    label = "QuickBooks Online"
    owner_label = "Company"
    version_label = "SyncToken"

    def overview(self) -> list[OwnerSummary]:
        counts: dict[tuple[int, str], int] = {
            (row["company_id"], row["entity"]): row["n"]
            for row in Record.objects.filter(deleted=False)
            .values("company_id", "entity")
            .annotate(n=Count("pk"))
        }
        return [
            OwnerSummary(
                owner_id=company.realm_id,
                name=company.name,
                details=[
                    ("Realm id", company.realm_id),
                    ("Currency", company.currency),
                    ("Webhook URL", company.webhook_url or "none: webhooks are not sent"),
                    ("Webhook format", company.get_webhook_format_display()),
                    ("Verifier token", company.verifier_token),
                ],
                counts=[
                    EntityCount(entity, entity, counts.get((company.pk, entity), 0))
                    for entity in SPECS
                ],
            )
            for company in Company.objects.order_by("pk")
        ]

    def owner_get(self, owner_id: str) -> Company:
        return get_object_or_404(Company, realm_id=owner_id)

    def owner_name(self, owner: Company) -> str:
        return f"{owner.name} (realm {owner.realm_id})"

    def entities(self, owner: Company) -> list[str]:
        return list(SPECS)

    def rows(self, owner: Company, entity: str, search: str) -> QuerySet[Record]:
        records = Record.objects.filter(company=owner, entity=entity)
        if search:
            match = (
                Q(name_key__contains=search.strip().casefold())
                | Q(doc__DocNumber__icontains=search)
                | Q(doc__PrimaryEmailAddr__Address__icontains=search)
            )
            if search.strip().isdigit():
                match |= Q(qbo_id=int(search.strip()))
            records = records.filter(match)
        return records.order_by("-updated_at", "-pk")

    def row(self, owner: Company, record: Record) -> Row:
        doc = record.doc
        name = doc.get("DisplayName") or doc.get("Name") or _transaction_name(doc)
        return Row(
            record_id=str(record.qbo_id),
            name=str(name),
            status=_status(record),
            modified=record.updated_at,
            version=str(record.sync_token),
            detail=_detail(doc),
        )

    def record_get(self, owner: Company, entity: str, record_id: str) -> Record:
        if not record_id.isdigit():
            raise Http404("QBO ids are numbers")
        return get_object_or_404(Record, company=owner, entity=entity, qbo_id=int(record_id))

    def document(self, owner: Company, entity: str, record: Record) -> Doc:
        return record_render(record)

    def form(
        self, owner: Company, entity: str, record: Record | None, data: Any = None
    ) -> f.RecordForm:
        specs = f.QBO_FIELDS.get(entity, [])
        if record is None:
            return f.RecordForm(specs, data=data, json_help=self.help(entity, editing=False))
        doc = record_render(record)
        spec = SPECS[entity]
        hidden = SYSTEM_FIELDS | spec.read_only | spec.create_only
        return f.RecordForm(
            specs,
            data=data,
            doc=doc,
            extra=f.doc_rest(doc, specs, dropped=hidden),
            version=str(record.sync_token),
            json_help=self.help(entity, editing=True),
        )

    def editable(self, entity: str, record: Record | None) -> bool:
        return record is None or not record.deleted

    def save(self, owner: Company, entity: str, record: Record | None, form: f.RecordForm) -> str:
        with _faults(form, entity), transaction.atomic():
            if record is None:
                saved = services.record_create(company=owner, entity=entity, data=form.payload())
            else:
                # A full update, as QBO's own form saves: what the form no longer holds is
                # cleared. The SyncToken the form was rendered with guards against overwriting a
                # change made meanwhile (5010), as it does for any API client.
                data = {**form.payload(), "SyncToken": form.version}
                saved = services.record_update(
                    company=owner,
                    entity=entity,
                    record_id=str(record.qbo_id),
                    data=data,
                    sparse=False,
                )
        return str(saved["Id"])

    def actions(self, entity: str, record: Record) -> list[Action]:
        spec = SPECS[entity]
        if record.deleted:
            return []
        if spec.is_name_list:
            if not record.active:
                return []
            return [
                Action(
                    "deactivate",
                    "Make inactive",
                    f"QBO never deletes a {entity}: it becomes inactive (Active=false), and the "
                    "webhook announces a Delete.",
                )
            ]
        found = [Action("delete", "Delete", f"Deletes the {entity}; the webhook says Delete.")]
        if spec.voidable:
            found.append(
                Action("void", "Void", "Keeps the transaction with zero amounts, noted Voided.")
            )
        return found

    def act(self, owner: Company, entity: str, record: Record, action: str) -> None:
        operation = {
            "deactivate": services.record_deactivate,
            "delete": services.record_delete,
            "void": services.record_void,
        }[action]
        with _faults(None, entity), transaction.atomic():
            operation(company=owner, entity=entity, record_id=str(record.qbo_id))

    def help(self, entity: str, editing: bool) -> str:
        if not editing:
            example = "" if SPECS[entity].is_name_list else f" {TRANSACTION_EXAMPLE}"
            return f"Any other {entity} properties, as the API takes them.{example}"
        return (
            "Every other property of the record. Saving sends a full update: a property "
            "removed here is cleared, as in QBO. The typed fields above win over the same keys."
        )


@contextmanager
def _faults(form: f.RecordForm | None, entity: str) -> Iterator[None]:
    """QBO's refusal as a VendorFault; on a form, also on the field it names. A duplicate name
    (6240) names no element, but it can only be about the entity's name field."""
    try:
        yield
    except QboFault as fault:
        element = fault.element or (SPECS[entity].name_field if fault.code == "6240" else "")
        if form is not None and element:
            form.blame(element, f"{fault.code} {fault.message}")
        raise VendorFault(fault.code, fault.message, fault.detail, element) from None


def _status(record: Record) -> str:
    if record.deleted:
        return "deleted"
    if not record.active:
        return "inactive"
    voided = record.doc.get("PrivateNote") == "Voided" and not record.doc.get("TotalAmt")
    return "voided" if voided else "active"


def _detail(doc: Doc) -> str:
    email = (doc.get("PrimaryEmailAddr") or {}).get("Address")
    phone = (doc.get("PrimaryPhone") or {}).get("FreeFormNumber")
    if "Name" in doc:  # an item
        return " · ".join(str(v) for v in (doc.get("Sku"), doc.get("UnitPrice")) if v)
    return str(email or phone or doc.get("TxnDate") or "")


def _transaction_name(doc: Doc) -> str:
    party = doc.get("CustomerRef") or doc.get("VendorRef") or {}
    number = doc.get("DocNumber") or "(no number)"
    total = doc.get("TotalAmt")
    return f"#{number} {party.get('name', '')} {'' if total is None else total}".strip()
