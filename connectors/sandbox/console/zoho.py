"""The Zoho fakes in the console: CRM orgs with their modules, Books organizations with their
contacts, invoices and payments. Writes go through `connectors.sandbox.zoho.services`, so CRM
notification channels and Books webhooks fire as they would for an API call."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from connectors.sandbox.console import forms as f
from connectors.sandbox.console.records import (
    Action,
    Doc,
    EntityCount,
    OwnerSummary,
    Row,
    VendorFault,
)
from connectors.sandbox.zoho import services
from connectors.sandbox.zoho.books_contacts import contact_render
from connectors.sandbox.zoho.books_core import BooksError, stamped
from connectors.sandbox.zoho.crm_query import record_render
from connectors.sandbox.zoho.crm_schema import MODULES, ModuleDef, module_for, module_names
from connectors.sandbox.zoho.models import (
    BooksOrganization,
    BooksRecord,
    BooksWebhook,
    CrmChannel,
    CrmOrg,
    CrmRecord,
)
from connectors.sandbox.zoho.services import CrmRejected

BOOKS_INVALID = "Invalid value passed for "


def _counts(rows: QuerySet[Any], kind: str) -> dict[tuple[int, str], int]:
    """Rows per (org pk, `kind`)."""
    grouped = rows.values("org_id", kind).annotate(n=Count("pk"))
    return {(row["org_id"], row[kind]): row["n"] for row in grouped}


def _per_org(rows: QuerySet[Any]) -> dict[int, int]:
    return {row["org_id"]: row["n"] for row in rows.values("org_id").annotate(n=Count("pk"))}


# --- Zoho CRM ---------------------------------------------------------------------------------


class CrmSource:
    slug = "crm"
    label = "Zoho CRM"
    owner_label = "Org"
    version_label = ""

    def overview(self) -> list[OwnerSummary]:
        counts = _counts(CrmRecord.objects.filter(deleted_at=None), "module")
        channels = _per_org(CrmChannel.objects.filter(expires_at__gt=timezone.now()))
        return [
            OwnerSummary(
                owner_id=org.org_id,
                name=org.name,
                details=[
                    ("Org id", org.org_id),
                    ("Currency", _currencies(org)),
                    ("Line items", org.get_line_items_display()),
                    ("Live notification channels", str(channels.get(org.pk, 0))),
                ],
                counts=[
                    EntityCount(name, name.replace("_", " "), counts.get((org.pk, name), 0))
                    for name in module_names(org)
                ],
            )
            for org in CrmOrg.objects.order_by("pk")
        ]

    def owner_get(self, owner_id: str) -> CrmOrg:
        return get_object_or_404(CrmOrg, org_id=owner_id)

    def owner_name(self, owner: CrmOrg) -> str:
        return f"{owner.name} (org {owner.org_id})"

    def entities(self, owner: CrmOrg) -> list[str]:
        return module_names(owner)

    def rows(self, owner: CrmOrg, entity: str, search: str) -> QuerySet[CrmRecord]:
        records = CrmRecord.objects.filter(org=owner, module=entity)
        search = search.strip()
        if search:
            name_field = MODULES[entity].name_field
            match = Q(record_id=search) | Q(**{f"data__{name_field}__icontains": search})
            if MODULES[entity].field("Email"):
                match |= Q(data__Email__icontains=search)
            records = records.filter(match)
        return records.order_by("-modified_at", "-pk")

    def row(self, owner: CrmOrg, record: CrmRecord) -> Row:
        status = "deleted" if record.deleted_at else "locked" if record.locked else "active"
        data = record.data
        name = data.get(MODULES[record.module].name_field) or "(no name)"
        detail = data.get("Email") or data.get("Phone") or data.get("Product_Code") or ""
        return Row(record.record_id, str(name), status, record.modified_at, detail=str(detail))

    def record_get(self, owner: CrmOrg, entity: str, record_id: str) -> CrmRecord:
        return get_object_or_404(CrmRecord, org=owner, module=entity, record_id=record_id)

    def document(self, owner: CrmOrg, entity: str, record: CrmRecord) -> Doc:
        return record_render(owner, self._module(owner, entity), record)

    def form(
        self, owner: CrmOrg, entity: str, record: CrmRecord | None, data: Any = None
    ) -> f.RecordForm:
        specs = f.crm_specs(self._module(owner, entity))
        doc = None if record is None else record.data
        return f.RecordForm(
            specs, data=data, doc=doc, json_help=self.help(entity, editing=record is not None)
        )

    def editable(self, entity: str, record: CrmRecord | None) -> bool:
        return record is None or record.deleted_at is None

    def save(self, owner: CrmOrg, entity: str, record: CrmRecord | None, form: f.RecordForm) -> str:
        with _crm_faults(form), transaction.atomic():
            if record is None:
                saved = services.crm_record_create(org=owner, module=entity, data=form.payload())
            else:
                # Zoho changes only the fields sent: send what the person changed, and nothing
                # at all (so no notification) when they changed nothing.
                changes = form.payload(changed_only=True)
                if not changes:
                    return record.record_id
                saved = services.crm_record_update(
                    org=owner, module=entity, record_id=record.record_id, data=changes
                )
        return saved.record_id

    def actions(self, entity: str, record: CrmRecord) -> list[Action]:
        if record.deleted_at:
            return []
        lock = (
            Action("unlock", "Unlock", "Takes the record out of approval.", dangerous=False)
            if record.locked
            else Action(
                "lock",
                "Lock (in approval)",
                "Puts the record in approval: updates and deletes then answer RECORD_LOCKED.",
                dangerous=False,
            )
        )
        delete = Action(
            "delete",
            "Delete",
            "Moves the record to the recycle bin; notification channels get a delete.",
        )
        return [delete, lock]

    def act(self, owner: CrmOrg, entity: str, record: CrmRecord, action: str) -> None:
        with _crm_faults(None), transaction.atomic():
            if action == "delete":
                services.crm_record_delete(org=owner, module=entity, record_id=record.record_id)
            else:
                services.crm_record_lock(
                    org=owner, module=entity, record_id=record.record_id, locked=action == "lock"
                )

    def help(self, entity: str, editing: bool) -> str:
        lines = MODULES[entity].line_items
        extra = (
            f" Line items ({lines}, or Product_Details on legacy orgs) go here." if lines else ""
        )
        if editing:
            return (
                "Fields to set besides the ones above, as the API takes them: Zoho changes only "
                f"the fields sent.{extra}"
            )
        return f"Any other fields, as the API takes them.{extra}"

    def _module(self, owner: CrmOrg, entity: str) -> ModuleDef:
        module = module_for(owner, entity)
        if module is None:
            raise Http404(f"This org has no {entity} module")
        return module


@contextmanager
def _crm_faults(form: f.RecordForm | None) -> Iterator[None]:
    try:
        yield
    except CrmRejected as rejected:
        entry = rejected.entry
        details = entry.get("details") or {}
        api_name = str(details.get("api_name", ""))
        if form is not None:
            form.blame(api_name, f"{entry.get('code')} {entry.get('message')}")
        raise VendorFault(
            str(entry.get("code", "")),
            str(entry.get("message", "")),
            json.dumps(details) if details else "",
            api_name,
        ) from None


def _currencies(org: CrmOrg) -> str:
    if not org.multi_currency:
        return org.currency
    return f"{org.currency} (multi-currency: {', '.join(org.currencies) or 'none added'})"


# --- Zoho Books -------------------------------------------------------------------------------

BOOKS_ENTITIES = {"contact": "Contacts", "invoice": "Invoices", "payment": "Customer payments"}


class BooksSource:
    slug = "books"
    label = "Zoho Books"
    owner_label = "Organization"
    version_label = ""

    def overview(self) -> list[OwnerSummary]:
        counts = _counts(BooksRecord.objects.all(), "entity")
        hooks = _per_org(BooksWebhook.objects.all())
        return [
            OwnerSummary(
                owner_id=org.organization_id,
                name=org.name,
                details=[
                    ("Organization id", org.organization_id),
                    ("Currency", org.currency_code),
                    ("Zoho user", org.user_email),
                    ("Webhooks registered", str(hooks.get(org.pk, 0))),
                ],
                counts=[
                    EntityCount(entity, label, counts.get((org.pk, entity), 0))
                    for entity, label in BOOKS_ENTITIES.items()
                ],
            )
            for org in BooksOrganization.objects.order_by("pk")
        ]

    def owner_get(self, owner_id: str) -> BooksOrganization:
        return get_object_or_404(BooksOrganization, organization_id=owner_id)

    def owner_name(self, owner: BooksOrganization) -> str:
        return f"{owner.name} (organization {owner.organization_id})"

    def entities(self, owner: BooksOrganization) -> list[str]:
        return list(BOOKS_ENTITIES)

    def rows(self, owner: BooksOrganization, entity: str, search: str) -> QuerySet[BooksRecord]:
        records = BooksRecord.objects.filter(org=owner, entity=entity)
        search = search.strip()
        if search:
            match = (
                Q(name__icontains=search)
                | Q(data__email__icontains=search)
                | Q(data__customer_name__icontains=search)
            )
            if search.isdigit():
                match |= Q(record_id=int(search))
            records = records.filter(match)
        return records.order_by("-modified_at", "-pk")

    def row(self, owner: BooksOrganization, record: BooksRecord) -> Row:
        data = record.data
        if record.entity == BooksRecord.Entity.CONTACT:
            name = f"{record.name} ({data.get('contact_type', '')})"
        else:
            total = data.get("total", data.get("amount"))
            name = f"#{record.name} {data.get('customer_name', '')} {total}"
        status = data.get("status") or "recorded"
        detail = data.get("email") or data.get("date") or ""
        return Row(str(record.record_id), name, str(status), record.modified_at, detail=detail)

    def record_get(self, owner: BooksOrganization, entity: str, record_id: str) -> BooksRecord:
        if not record_id.isdigit():
            raise Http404("Books ids are numbers")
        return get_object_or_404(BooksRecord, org=owner, entity=entity, record_id=int(record_id))

    def document(self, owner: BooksOrganization, entity: str, record: BooksRecord) -> Doc:
        if entity == BooksRecord.Entity.CONTACT:
            return contact_render(owner, record)
        return stamped(record)

    def form(
        self, owner: BooksOrganization, entity: str, record: BooksRecord | None, data: Any = None
    ) -> f.RecordForm:
        doc = None if record is None else record.data
        return f.RecordForm(
            f.BOOKS_FIELDS[entity],
            data=data,
            doc=doc,
            json_help=self.help(entity, editing=record is not None),
        )

    def editable(self, entity: str, record: BooksRecord | None) -> bool:
        # Books has no update for a customer payment.
        return record is None or entity in BOOKS_UPDATES

    def save(
        self, owner: BooksOrganization, entity: str, record: BooksRecord | None, form: f.RecordForm
    ) -> str:
        with _books_faults(form), transaction.atomic():
            if record is None:
                saved = BOOKS_CREATES[entity](org=owner, data=form.payload())
            else:
                # Books keeps what a PUT leaves out: send what the person changed, if anything.
                changes = form.payload(changed_only=True)
                if not changes:
                    return str(record.record_id)
                saved = BOOKS_UPDATES[entity](owner, record.record_id, changes)
        return str(saved.record_id)

    def actions(self, entity: str, record: BooksRecord) -> list[Action]:
        if entity != BooksRecord.Entity.CONTACT:
            return []
        return [
            Action(
                "delete",
                "Delete",
                "Deletes the contact (refused while it has transactions); webhooks fire.",
            )
        ]

    def act(self, owner: BooksOrganization, entity: str, record: BooksRecord, action: str) -> None:
        with _books_faults(None), transaction.atomic():
            services.books_contact_delete(org=owner, contact_id=record.record_id)

    def help(self, entity: str, editing: bool) -> str:
        lines = {
            "contact": " e.g. contact_persons, billing_address, payment_terms.",
            "invoice": ' e.g. "line_items": [{"name": "Consulting", "rate": 120, "quantity": 2}].',
            "payment": ' e.g. "invoices": [{"invoice_id": 4600..., "amount_applied": 100}].',
        }[entity]
        changed = " Books changes only the fields sent." if editing else ""
        return f"Any other fields, as the API takes them.{changed}{lines}"


BOOKS_CREATES: dict[str, Callable[..., BooksRecord]] = {
    "contact": services.books_contact_create,
    "invoice": services.books_invoice_create,
    "payment": services.books_payment_create,
}
BOOKS_UPDATES: dict[str, Callable[[BooksOrganization, int, Doc], BooksRecord]] = {
    "contact": lambda org, record_id, data: services.books_contact_update(
        org=org, contact_id=record_id, data=data
    ),
    "invoice": lambda org, record_id, data: services.books_invoice_update(
        org=org, invoice_id=record_id, data=data
    ),
}


@contextmanager
def _books_faults(form: f.RecordForm | None) -> Iterator[None]:
    try:
        yield
    except BooksError as error:
        blamed = (
            error.message[len(BOOKS_INVALID) :] if error.message.startswith(BOOKS_INVALID) else ""
        )
        if form is not None:
            form.blame(blamed, f"{error.code} {error.message}")
        raise VendorFault(str(error.code), error.message, field=blamed) from None
