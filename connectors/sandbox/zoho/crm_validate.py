"""Checks a record as Zoho CRM does before writing it, and normalises what it stores.

A failure is Zoho's per-record error entry (`{"code","details","message","status":"error"}`), with
`details.api_name` and `details.json_path` pointing at the offending field, so one bad record
never fails the others of the same call."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from connectors.sandbox.zoho.common import crm_ids_allocate, crm_time, parse_time
from connectors.sandbox.zoho.crm_schema import (
    LINE_ITEM_FIELDS,
    MODULES,
    READ_ONLY_SYSTEM,
    FieldDef,
    ModuleDef,
)
from connectors.sandbox.zoho.models import CrmOrg, CrmRecord

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EMPTY: tuple[object, ...] = (None, "", [])


@dataclass
class RecordError(Exception):
    """One record refused; `entry` is the item Zoho puts in `data[]` for it."""

    entry: dict[str, Any]


@dataclass
class Checker:
    """Validation for one write call: the org, the module, and a cache of the lookups already
    resolved (a batch of 100 lines often names the same product)."""

    org: CrmOrg
    module: ModuleDef
    index: int = 0
    lookups: dict[tuple[str, str], dict[str, str] | None] = field(default_factory=dict)
    prefix: tuple[str | int, ...] = ()
    line_ids: frozenset[str] = frozenset()

    def path(self, *parts: str | int) -> str:
        tail = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in (*self.prefix, *parts))
        return f"$.data[{self.index}]{tail}"


def error_entry(code: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"code": code, "details": details, "message": message, "status": "error"}


def record_check(
    checker: Checker, data: dict[str, Any], *, existing: CrmRecord | None
) -> dict[str, Any]:
    """The fields to store for `data` (merged onto `existing` for an update); raises
    RecordError with Zoho's entry for the first problem found."""
    if not isinstance(data, dict):
        raise RecordError(
            error_entry("INVALID_DATA", "invalid data", {"json_path": checker.path()})
        )
    _mandatory_check(checker, data, inserting=existing is None)
    stored = dict(existing.data) if existing else {}
    old_lines = stored.get(checker.module.line_items) or [] if checker.module.line_items else []
    checker.line_ids = frozenset(str(line.get("id")) for line in old_lines)
    for fdef in checker.module.fields:
        if fdef.api_name in data and not fdef.read_only and fdef.api_name not in READ_ONLY_SYSTEM:
            stored[fdef.api_name] = _value_check(checker, fdef, data[fdef.api_name])
    _defaults_fill(checker, stored)
    _derived_compute(checker.module, stored)
    return stored


def _mandatory_check(checker: Checker, data: dict[str, Any], *, inserting: bool) -> None:
    for fdef in checker.module.fields:
        if not fdef.mandatory:
            continue
        missing = data.get(fdef.api_name) in EMPTY
        if (inserting and missing) or (fdef.api_name in data and missing):
            raise RecordError(
                error_entry(
                    "MANDATORY_NOT_FOUND",
                    "required field not found",
                    {"api_name": fdef.api_name, "json_path": checker.path(fdef.api_name)},
                )
            )


def _invalid(checker: Checker, fdef: FieldDef, message: str = "invalid data", **extra: Any) -> Any:
    details = {"api_name": fdef.api_name, "json_path": checker.path(fdef.api_name), **extra}
    raise RecordError(error_entry("INVALID_DATA", message, details))


def _value_check(checker: Checker, fdef: FieldDef, value: Any) -> Any:
    """The normalised value of one field, or RecordError."""
    if value in EMPTY and fdef.data_type != "subform":
        return None
    kind = fdef.data_type
    if kind in ("text", "textarea", "phone", "website", "email", "picklist"):
        return _text_check(checker, fdef, value)
    if kind in ("currency", "double", "integer"):
        return _number_check(checker, fdef, value)
    if kind == "boolean":
        return (
            value if isinstance(value, bool) else _invalid(checker, fdef, expected_data_type=kind)
        )
    if kind == "date":
        return _date_check(checker, fdef, value)
    if kind == "datetime":
        parsed = parse_time(value) if isinstance(value, str) else None
        return crm_time(parsed) if parsed else _invalid(checker, fdef, expected_data_type=kind)
    if kind == "lookup":
        return _lookup_check(checker, fdef, value)
    if kind == "ownerlookup":
        return _owner_check(checker, fdef, value)
    if kind == "subform":
        return _lines_check(checker, fdef, value)
    return value


def _text_check(checker: Checker, fdef: FieldDef, value: Any) -> str:
    if not isinstance(value, str):
        _invalid(checker, fdef, expected_data_type=fdef.data_type)
    if len(value) > fdef.max_length:
        _invalid(checker, fdef, maximum_length=fdef.max_length)
    if fdef.data_type == "email" and not EMAIL.match(value):
        _invalid(checker, fdef, expected_data_type="email")
    if fdef.picklist and value not in fdef.picklist:
        _invalid(checker, fdef, supported_values=list(fdef.picklist))
    return value


def _number_check(checker: Checker, fdef: FieldDef, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        _invalid(checker, fdef, expected_data_type=fdef.data_type)
    if fdef.data_type == "integer":
        if not float(value).is_integer():
            _invalid(checker, fdef, expected_data_type="integer")
        value = int(value)
    if len(str(abs(int(value)))) > fdef.max_length:
        _invalid(checker, fdef, maximum_length=fdef.max_length)
    return money(value) if fdef.data_type == "currency" else value


def _date_check(checker: Checker, fdef: FieldDef, value: Any) -> str:
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    return _invalid(checker, fdef, expected_data_type="date")


def _lookup_check(checker: Checker, fdef: FieldDef, value: Any) -> dict[str, str]:
    """A lookup is sent as `{"id": ...}` (a bare id is accepted too) and stored as `{"id",
    "name"}`; an id that is no live record of the target module is refused."""
    record_id = str(value.get("id", "")) if isinstance(value, dict) else str(value)
    key = (fdef.lookup, record_id)
    if key not in checker.lookups:
        target = CrmRecord.objects.filter(
            org=checker.org, module=fdef.lookup, record_id=record_id, deleted_at=None
        ).first()
        checker.lookups[key] = (
            {"id": record_id, "name": display_name(fdef.lookup, target.data)} if target else None
        )
    resolved = checker.lookups[key]
    if resolved is None:
        _invalid(checker, fdef, "the id given seems to be invalid", id=record_id)
    return dict(resolved or {})


def _owner_check(checker: Checker, fdef: FieldDef, value: Any) -> dict[str, str]:
    owner_id = str(value.get("id", "")) if isinstance(value, dict) else str(value)
    if owner_id != checker.org.user_id:
        _invalid(checker, fdef, "the id given seems to be invalid", id=owner_id)
    return owner_of(checker.org)


def _lines_check(checker: Checker, fdef: FieldDef, value: Any) -> list[dict[str, Any]]:
    """Line items: each needs a product and a quantity; totals are computed, not taken."""
    if not isinstance(value, list) or not value:
        raise RecordError(
            error_entry(
                "MANDATORY_NOT_FOUND",
                "required field not found",
                {"api_name": fdef.api_name, "json_path": checker.path(fdef.api_name)},
            )
        )
    lines = []
    for position, line in enumerate(value):
        line_checker = Checker(
            checker.org,
            checker.module,
            checker.index,
            checker.lookups,
            prefix=(fdef.api_name, position),
            line_ids=checker.line_ids,
        )
        lines.append(_line_check(line_checker, line))
    return lines


def _line_check(checker: Checker, line: Any) -> dict[str, Any]:
    if not isinstance(line, dict):
        raise RecordError(
            error_entry("INVALID_DATA", "invalid data", {"json_path": checker.path()})
        )
    stored: dict[str, Any] = {"id": _line_id(checker, line)} if line.get("id") else {}
    for fdef in LINE_ITEM_FIELDS:
        value = line.get(fdef.api_name)
        if fdef.mandatory and value in EMPTY:
            raise RecordError(
                error_entry(
                    "MANDATORY_NOT_FOUND",
                    "required field not found",
                    {"api_name": fdef.api_name, "json_path": checker.path(fdef.api_name)},
                )
            )
        if not fdef.read_only:
            stored[fdef.api_name] = _value_check(checker, fdef, value)
    _line_totals(checker, stored)
    return stored


def _line_id(checker: Checker, line: dict[str, Any]) -> str:
    """A line id keeps that line; any other id is not a line of this record."""
    line_id = str(line["id"])
    if line_id not in checker.line_ids:
        details = {"api_name": "id", "json_path": checker.path("id"), "id": line_id}
        raise RecordError(error_entry("INVALID_DATA", "the id given seems to be invalid", details))
    return line_id


def _line_totals(checker: Checker, stored: dict[str, Any]) -> None:
    """The list price defaults to the product's unit price; totals are always computed."""
    if stored.get("List_Price") is None:
        product = CrmRecord.objects.filter(
            org=checker.org, module="Products", record_id=stored["Product_Name"]["id"]
        ).first()
        stored["List_Price"] = money((product.data.get("Unit_Price") if product else 0) or 0)
    total = money(stored["Quantity"] * stored["List_Price"])
    stored["Total"] = total
    stored["Net_Total"] = money(total - (stored["Discount"] or 0) + (stored["Tax"] or 0))


def _defaults_fill(checker: Checker, stored: dict[str, Any]) -> None:
    """Owner and Currency default to the current user and the home currency; a currency other
    than the home one needs multi-currency (and then an exchange rate)."""
    currency_field = checker.module.field("Currency")
    stored["Owner"] = stored.get("Owner") or owner_of(checker.org)
    stored["Currency"] = stored.get("Currency") or checker.org.currency
    if currency_field and stored["Currency"] not in currency_field.picklist:
        _invalid(checker, currency_field, supported_values=list(currency_field.picklist))
    if stored.get("Exchange_Rate") is None:
        stored["Exchange_Rate"] = 1.0
    lines = checker.module.line_items
    if lines and stored.get(lines):
        _line_ids_assign(checker, stored[lines])


def _line_ids_assign(checker: Checker, lines: list[dict[str, Any]]) -> None:
    fresh = [line for line in lines if not line.get("id")]
    if not fresh:
        return
    for line, new_id in zip(fresh, crm_ids_allocate(checker.org, len(fresh)), strict=True):
        line["id"] = new_id


def _derived_compute(module: ModuleDef, stored: dict[str, Any]) -> None:
    if module.api_name == "Contacts":
        names = (stored.get("First_Name"), stored.get("Last_Name"))
        stored["Full_Name"] = " ".join(n for n in names if n)
    lines = stored.get(module.line_items) if module.line_items else None
    if lines:
        sub_total = money(sum(line["Net_Total"] for line in lines))
        stored["Sub_Total"] = sub_total
        stored["Grand_Total"] = money(
            sub_total
            - (stored.get("Discount") or 0)
            + (stored.get("Tax") or 0)
            + (stored.get("Adjustment") or 0)
        )


def money(value: float) -> float:
    return float(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def owner_of(org: CrmOrg) -> dict[str, str]:
    return {"name": org.user_name, "id": org.user_id, "email": org.user_email}


def display_name(module: str, data: dict[str, Any]) -> str:
    """What a lookup to a record of `module` shows as its `name`."""
    definition = MODULES.get(module)
    return str(data.get(definition.name_field) or "") if definition else ""
