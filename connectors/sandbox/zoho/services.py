"""The Zoho sandbox's public operations, for the API views, the console and the seed alike:
every write goes through the same validation and fires the same notifications and webhooks,
whoever makes it.

CRM record writes raise `CrmRejected` (carrying Zoho's per-record error entry) when one record is
refused; Books writes raise `BooksError` (Zoho's `{"code", "message"}`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from connectors.sandbox.zoho import (
    accounts,
    books_contacts,
    books_items,
    books_sales,
    books_webhooks,
)
from connectors.sandbox.zoho.books_core import (
    BooksError,
    Entity,
    currency_id,
    invalid,
    not_found,
    record_get,
)
from connectors.sandbox.zoho.common import random_digits
from connectors.sandbox.zoho.crm_records import WriteBatch, record_lock, records_bulk_create
from connectors.sandbox.zoho.crm_records import records_delete as _records_delete
from connectors.sandbox.zoho.crm_records import records_write as _records_write
from connectors.sandbox.zoho.crm_schema import ModuleDef, module_for
from connectors.sandbox.zoho.crm_validate import RecordError, error_entry
from connectors.sandbox.zoho.models import (
    BooksOrganization,
    BooksRecord,
    BooksWebhook,
    CrmOrg,
    CrmRecord,
    RefreshToken,
)

__all__ = ["BooksError", "CrmRejected"]


class CrmRejected(Exception):
    """Zoho CRM refused a record (or the whole request); `entry` is Zoho's error entry."""

    def __init__(self, entry: dict[str, Any]) -> None:
        super().__init__(entry.get("code"))
        self.entry = entry


# CRM orgs ---------------------------------------------------------------------------------


def crm_org_create(
    *,
    name: str,
    currency: str = "USD",
    multi_currency: bool = False,
    currencies: Iterable[str] = (),
    legacy_line_items: bool = False,
    vendors_enabled: bool = True,
    user_name: str = "Sandbox Admin",
    user_email: str = "admin@sandbox.example",
) -> CrmOrg:
    """A new CRM org with its home currency and edition settings (see `crm_org_update`)."""
    prefix = _unused_prefix(CrmOrg)
    return CrmOrg.objects.create(
        org_id=f"{prefix}000000000001",
        id_prefix=prefix,
        name=name,
        currency=currency.upper(),
        multi_currency=multi_currency,
        currencies=[c.upper() for c in currencies],
        line_items=CrmOrg.LineItems.LEGACY if legacy_line_items else CrmOrg.LineItems.V8,
        vendors_enabled=vendors_enabled,
        user_id=f"{prefix}000000000002",
        user_name=user_name,
        user_email=user_email,
    )


def crm_org_update(
    *,
    org: CrmOrg,
    multi_currency: bool | None = None,
    currencies: Iterable[str] | None = None,
    legacy_line_items: bool | None = None,
    vendors_enabled: bool | None = None,
) -> CrmOrg:
    """Change what the org's API accepts: multi-currency (and its extra currencies), the
    line-item subform name (`Product_Details` when legacy) and whether Vendors exists."""
    if multi_currency is not None:
        org.multi_currency = multi_currency
    if currencies is not None:
        org.currencies = [c.upper() for c in currencies]
    if legacy_line_items is not None:
        org.line_items = CrmOrg.LineItems.LEGACY if legacy_line_items else CrmOrg.LineItems.V8
    if vendors_enabled is not None:
        org.vendors_enabled = vendors_enabled
    org.save()
    return org


def crm_module(*, org: CrmOrg, module: str) -> ModuleDef:
    """The module as `org` has it, or CrmRejected(INVALID_MODULE)."""
    definition = module_for(org, module)
    if definition is None:
        raise CrmRejected(
            error_entry(
                "INVALID_MODULE",
                "the module name given seems to be invalid",
                {"resource_path_index": 0},
            )
        )
    return definition


# CRM records ------------------------------------------------------------------------------


def crm_records_write(
    *,
    org: CrmOrg,
    module: str,
    rows: list[Any],
    mode: str,
    duplicate_check_fields: list[str] | None = None,
) -> WriteBatch:
    """Insert, update or upsert up to 100 records, each answered on its own (the API path)."""
    definition = crm_module(org=org, module=module)
    if duplicate_check_fields is not None:
        _duplicate_fields_check(definition, duplicate_check_fields)
    return _records_write(
        org=org,
        module=definition,
        rows=rows,
        mode=mode,
        duplicate_check_fields=duplicate_check_fields,
    )


def crm_records_delete(*, org: CrmOrg, module: str, record_ids: list[str]) -> list[dict[str, Any]]:
    """Delete records (to the recycle bin); one entry per id."""
    return _records_delete(org=org, module=crm_module(org=org, module=module), ids=record_ids)


def crm_record_create(*, org: CrmOrg, module: str, data: dict[str, Any]) -> CrmRecord:
    """Insert one record; CrmRejected with Zoho's entry when refused."""
    return _one(org, module, data, mode="insert")


def crm_record_update(
    *, org: CrmOrg, module: str, record_id: str, data: dict[str, Any]
) -> CrmRecord:
    """Update one record (only the fields given); CrmRejected when refused."""
    return _one(org, module, {**data, "id": record_id}, mode="update")


def crm_record_delete(*, org: CrmOrg, module: str, record_id: str) -> None:
    entry = crm_records_delete(org=org, module=module, record_ids=[record_id])[0]
    if entry["status"] != "success":
        raise CrmRejected(entry)


def crm_records_bulk_create(
    *, org: CrmOrg, module: str, rows: list[dict[str, Any]], notify: bool = True
) -> list[CrmRecord]:
    """Insert many records in one go (seeding thousands), all or nothing."""
    definition = crm_module(org=org, module=module)
    try:
        return records_bulk_create(org=org, module=definition, rows=rows, notify=notify)
    except RecordError as failure:
        raise CrmRejected(failure.entry) from None


def crm_record_lock(*, org: CrmOrg, module: str, record_id: str, locked: bool = True) -> bool:
    """Put a record in approval (locked) or take it out; updates of a locked record answer
    `RECORD_LOCKED`. False when there is no such record."""
    return record_lock(org=org, module=module, record_id=record_id, locked=locked)


def _one(org: CrmOrg, module: str, data: dict[str, Any], *, mode: str) -> CrmRecord:
    batch = crm_records_write(org=org, module=module, rows=[data], mode=mode)
    entry = batch.entries[0]
    if entry["status"] != "success":
        raise CrmRejected(entry)
    return CrmRecord.objects.get(org=org, record_id=entry["details"]["id"])


def _duplicate_fields_check(module: ModuleDef, names: Any) -> None:
    if not isinstance(names, list) or not names:
        raise CrmRejected(
            error_entry("INVALID_DATA", "invalid data", {"api_name": "duplicate_check_fields"})
        )
    for name in names:
        fdef = module.field(str(name))
        if fdef is None or fdef.data_type not in ("text", "email", "phone", "website"):
            raise CrmRejected(
                error_entry(
                    "INVALID_DATA",
                    "invalid data",
                    {"api_name": "duplicate_check_fields", "value": name},
                )
            )


# OAuth ------------------------------------------------------------------------------------


def oauth_refresh_token_issue(
    *,
    client_id: str,
    client_secret: str,
    scope: str,
    crm_org: CrmOrg | None = None,
    books_user_email: str = "",
) -> RefreshToken:
    """A refresh token without the consent page (Zoho's Self Client), for the seed."""
    return accounts.refresh_token_issue(
        client_id=client_id,
        client_secret=client_secret,
        scope=scope,
        crm_org=crm_org,
        books_user_email=books_user_email,
    )


def oauth_token_revoke(*, token: str) -> bool:
    return accounts.token_revoke(token=token)


# Books ------------------------------------------------------------------------------------


def books_org_create(
    *,
    name: str,
    currency_code: str = "USD",
    user_email: str = "admin@sandbox.example",
    is_default_org: bool | None = None,
) -> BooksOrganization:
    """A Books organization of the user `user_email` (one user may own several; the first is
    their default unless told otherwise)."""
    prefix = _unused_prefix(BooksOrganization)
    if is_default_org is None:
        is_default_org = not BooksOrganization.objects.filter(user_email=user_email).exists()
    return BooksOrganization.objects.create(
        organization_id=f"{prefix}01",
        id_prefix=prefix,
        name=name,
        currency_code=currency_code.upper(),
        user_email=user_email,
        is_default_org=is_default_org,
    )


def books_contact_create(*, org: BooksOrganization, data: dict[str, Any]) -> BooksRecord:
    return books_contacts.contact_save(org=org, data=data)


def books_contact_update(
    *, org: BooksOrganization, contact_id: int, data: dict[str, Any]
) -> BooksRecord:
    record = record_get(org, Entity.CONTACT, contact_id)
    return books_contacts.contact_save(org=org, data=data, record=record)


def books_contact_mark(*, org: BooksOrganization, contact_id: int, active: bool) -> BooksRecord:
    return books_contacts.contact_mark(org=org, contact_id=contact_id, active=active)


def books_item_create(*, org: BooksOrganization, data: dict[str, Any]) -> BooksRecord:
    return books_items.item_save(org=org, data=data)


def books_item_update(*, org: BooksOrganization, item_id: int, data: dict[str, Any]) -> BooksRecord:
    record = record_get(org, Entity.ITEM, item_id)
    return books_items.item_save(org=org, data=data, record=record)


def books_item_mark(*, org: BooksOrganization, item_id: int, active: bool) -> BooksRecord:
    return books_items.item_mark(org=org, item_id=item_id, active=active)


def books_contact_delete(*, org: BooksOrganization, contact_id: int) -> None:
    books_contacts.contact_delete(org=org, contact_id=contact_id)


def books_invoice_create(*, org: BooksOrganization, data: dict[str, Any]) -> BooksRecord:
    return books_sales.invoice_save(org=org, data=data)


def books_invoice_update(
    *, org: BooksOrganization, invoice_id: int, data: dict[str, Any]
) -> BooksRecord:
    record = record_get(org, Entity.INVOICE, invoice_id)
    return books_sales.invoice_save(org=org, data=data, record=record)


def books_payment_create(*, org: BooksOrganization, data: dict[str, Any]) -> BooksRecord:
    return books_sales.payment_save(org=org, data=data)


def books_webhook_create(*, org: BooksOrganization, data: dict[str, Any]) -> BooksWebhook:
    try:
        return books_webhooks.webhook_create(org=org, data=data)
    except books_webhooks.WebhookError as failure:
        raise invalid(str(failure)) from None


def books_webhook_delete(*, org: BooksOrganization, webhook_id: int) -> None:
    if not BooksWebhook.objects.filter(org=org, webhook_id=webhook_id).delete()[0]:
        raise not_found("Webhook")


def books_currency_id(*, code: str) -> int:
    return currency_id(code)


def _unused_prefix(model: type[CrmOrg] | type[BooksOrganization]) -> str:
    """A fresh 7-digit id prefix (Zoho ids start with one per org)."""
    while True:
        prefix = random_digits(7)
        if not model.objects.filter(id_prefix=prefix).exists():
            return prefix
