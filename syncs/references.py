"""What a flow's records point at, read from the flow's options: lookups to records another flow
keeps (an invoice's customer is an Account), the lines of a transaction with each line's
product, and the record's currency. See `syncs/defaults/` for the options' shape.

Pure functions over records and options; the engine (`syncs/engine.py`) syncs what a reference
needs first and records the outcomes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from syncs.mapping import (
    LOOKUP_TYPES,
    FieldProblem,
    MappingLike,
    MappingRule,
    TargetSchema,
    mapping_apply,
    mapping_get,
    mapping_set,
    mapping_validate,
)
from syncs.models import ErrorCategory, SyncFlow
from syncs.transforms import is_blank


@dataclass(frozen=True)
class Reference:
    """A lookup to a record another flow of the same connections keeps: the source record's
    `path` holds the id of an `entity` record, linked by the flow `entity` -> `target_entity`,
    whose target id goes into `lookup_field`."""

    path: str
    entity: str
    target_entity: str
    lookup_field: str
    name_path: str = ""
    optional: bool = False

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Reference:
        return cls(
            path=str(raw["path"]),
            entity=str(raw["entity"]),
            target_entity=str(raw["target_entity"]),
            lookup_field=str(raw["lookup_field"]),
            name_path=str(raw.get("name_path", "")),
            optional=bool(raw.get("optional", False)),
        )

    @property
    def key(self) -> tuple[str, str]:
        return (self.entity, self.target_entity)

    def value(self, data: Any) -> str:
        found = mapping_get(data, self.path)
        return "" if is_blank(found) else str(found)

    def name(self, data: Any) -> str:
        found = mapping_get(data, self.name_path) if self.name_path else None
        return str(found) if not is_blank(found) else self.value(data)


@dataclass(frozen=True)
class LineItems:
    """The source record's lines (`path`) of the given detail types, each mapped with `fields`
    into the target's line-item subform; `reference` finds each line's product."""

    path: str
    detail_types: tuple[str, ...]
    reference: Reference
    fields: tuple[MappingRule, ...]
    # Instead of a subform: the target's related list the lines' products are related through
    # (a Deal's Products), after the record is written.
    related_list: str = ""
    # Lines inside groups of lines (QuickBooks Desktop's item groups): (the groups' path, the
    # path of each group's own lines).
    groups: tuple[str, str] | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> LineItems:
        fields = []
        for spec in raw.get("fields", []):
            options = {k: v for k, v in spec.items() if k not in _RULE_KEYS}
            fields.append(
                MappingRule(
                    source_path=str(spec["source_path"]),
                    target_field=str(spec["target_field"]),
                    transform=str(spec.get("transform", "none")),
                    transform_options={**spec.get("transform_options", {}), **options},
                    required=bool(spec.get("required", False)),
                )
            )
        return cls(
            path=str(raw.get("path", "Line")),
            detail_types=tuple(raw.get("detail_types", ())),
            reference=Reference.parse(raw["reference"]),
            fields=tuple(fields),
            related_list=str(raw.get("related_list", "")),
            groups=(str(raw["groups"]["path"]), str(raw["groups"]["lines"]))
            if raw.get("groups")
            else None,
        )

    def lines(self, data: Any) -> list[dict[str, Any]]:
        found = mapping_get(data, self.path)
        lines = list(found) if isinstance(found, list) else []
        if self.groups is not None:
            groups = mapping_get(data, self.groups[0])
            for group in groups if isinstance(groups, list) else []:
                inner = mapping_get(group, self.groups[1]) if isinstance(group, dict) else None
                lines.extend(inner if isinstance(inner, list) else [])
        return [
            line
            for line in lines
            if isinstance(line, dict)
            and (not self.detail_types or line.get("DetailType") in self.detail_types)
        ]


_RULE_KEYS = {"source_path", "target_field", "transform", "transform_options", "required"}


def options_validate(
    mappings: Iterable[MappingLike], *, options: Mapping[str, Any], target_schema: TargetSchema
) -> list[str]:
    """Everything wrong with a flow's mappings and its reference, line-item and currency options
    against the target's schema; the lookups and the subform the options fill count as mapped."""
    try:
        references = [Reference.parse(raw) for raw in options.get("references", [])]
        line_items = LineItems.parse(options["line_items"]) if options.get("line_items") else None
        Currency(**options["currency"]) if options.get("currency") else None
    except (KeyError, TypeError, AttributeError) as exc:
        return [f"The flow's options are malformed: {exc!r} is missing or of the wrong type."]
    parent = options.get("parent")
    lookups = [r.lookup_field for r in references] + ([parent["lookup_field"]] if parent else [])
    messages = []
    for name in lookups:
        spec = target_schema.get(name)
        if spec is None or spec.data_type not in LOOKUP_TYPES:
            messages.append(f"{target_schema.label} has no lookup field {name} for a reference.")
    provided = set(lookups)
    if line_items is not None and not line_items.related_list:
        if not target_schema.line_items or target_schema.line_schema is None:
            messages.append(f"{target_schema.label} has no line-item subform for the lines.")
        else:
            provided.add(target_schema.line_items)
            messages.extend(
                f"Line items: {message}"
                for message in mapping_validate(
                    line_items.fields,
                    target_schema=target_schema.line_schema,
                    provided=[line_items.reference.lookup_field],
                )
            )
    deleted = options.get("on_source_deleted") or {}
    if not isinstance(deleted, Mapping):
        messages.append("on_source_deleted names fields and the values to write to them.")
        deleted = {}
    messages.extend(
        f"{target_schema.label} has no field {name} for on_source_deleted."
        for name in deleted
        if target_schema.get(name) is None
    )
    return messages + mapping_validate(mappings, target_schema=target_schema, provided=provided)


def flow_references(flow: SyncFlow) -> list[Reference]:
    """The flow's record-level references, in the order they are synced. A child flow's
    `parent` (Contacts under Accounts) is a reference of the record to itself, by its own id."""
    references = []
    parent = flow.options.get("parent")
    if parent:
        references.append(
            Reference(
                path="Id",
                entity=flow.source_entity,
                target_entity=parent["target_entity"],
                lookup_field=parent["lookup_field"],
            )
        )
    references.extend(Reference.parse(raw) for raw in flow.options.get("references", []))
    return references


def flow_line_items(flow: SyncFlow) -> LineItems | None:
    raw = flow.options.get("line_items")
    return LineItems.parse(raw) if raw else None


def references_wanted(
    references: list[Reference], line_items: LineItems | None, records: Any
) -> Iterator[tuple[Reference, str]]:
    """Every (reference, source id) the records point at, record references first."""
    for record in records:
        if record.deleted:
            continue
        for reference in references:
            if value := reference.value(record.data):
                yield reference, value
        if line_items is not None:
            for line in line_items.lines(record.data):
                if value := line_items.reference.value(line):
                    yield line_items.reference, value


def _words(entity: str) -> str:
    """`PurchaseOrder` -> `purchase order`, `Products` -> `product`."""
    singular = entity[:-1] if entity.endswith("s") else entity
    return re.sub(r"(?<=[a-z])(?=[A-Z])|_", " ", singular).lower()


def missing_message(
    reference: Reference, name: str, *, entity: str, record_name: str, target: str
) -> str:
    """e.g. "The product 'Widget' in invoice 1037 is not present in Zoho CRM"."""
    return (
        f"The {_words(reference.target_entity)} '{name}' in {_words(entity)} {record_name} "
        f"is not present in {target}."
    )


@dataclass
class MappedLines:
    lines: list[dict[str, Any]]
    problems: list[FieldProblem]
    missing: list[str]  # names of products not linked


def related_ids(
    line_items: LineItems, data: Any, *, targets: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """(the target ids of the lines' products, in order and once each; the products of lines
    not linked yet, by name)."""
    ids: list[str] = []
    missing: list[str] = []
    for position, line in enumerate(line_items.lines(data), start=1):
        reference = line_items.reference
        target_id = targets.get(reference.value(line))
        if target_id is None:
            missing.append(reference.name(line) or f"line {position}")
        elif target_id not in ids:
            ids.append(target_id)
    return ids, missing


def lines_map(
    line_items: LineItems,
    data: Any,
    *,
    schema: TargetSchema,
    targets: Mapping[str, str],
) -> MappedLines:
    """The record's lines as the target's subform takes them. `targets` maps a linked product's
    source id to its target id; a line whose product is not there is named in `missing`."""
    result = MappedLines([], [], [])
    line_schema = schema.line_schema
    for position, line in enumerate(line_items.lines(data), start=1):
        mapped = mapping_apply(line_items.fields, line, target_schema=line_schema)
        for problem in mapped.problems:
            message = f"Line {position}: {problem.message}"
            result.problems.append(FieldProblem(problem.field, problem.category, message))
        reference = line_items.reference
        source_id = reference.value(line)
        target_id = targets.get(source_id)
        if target_id is None:
            result.missing.append(reference.name(line) or f"line {position}")
            continue
        lookup = (line_schema or schema).references.write(target_id)
        result.lines.append({**mapped.payload, reference.lookup_field: lookup})
    return result


@dataclass(frozen=True)
class Currency:
    """Where a record says its currency and its exchange rate (units of the accounting home
    currency per unit of the record's currency, as QuickBooks keeps it), and the currencies the
    target takes, its home currency first."""

    path: str
    rate_path: str = ""
    accepted: tuple[str, ...] = ()

    @classmethod
    def for_flow(cls, flow: SyncFlow, target: Any) -> Currency | None:
        """None when the flow has no currency option or the target cannot say its currencies."""
        raw = flow.options.get("currency")
        if not raw or not hasattr(target, "currencies"):
            return None
        accepted = tuple(target.currencies(flow.target_entity))
        return cls(str(raw["path"]), str(raw.get("rate_path", "")), accepted)

    @property
    def home(self) -> str:
        return self.accepted[0] if self.accepted else ""


def currency_check(
    currency: Currency, data: Any, *, convert: bool, system: str
) -> tuple[FieldProblem | None, Decimal | None]:
    """(why the record cannot be written in its currency, or None; the rate to convert its
    amounts with, or None when it needs no conversion). A record in a currency the target does
    not take is a mismatch, unless the flow converts with the record's exchange rate."""
    code = mapping_get(data, currency.path)
    if is_blank(code) or not currency.accepted or code in currency.accepted:
        return None, None
    rate = _rate(currency, data) if convert else None
    if rate is not None:
        return None, rate
    accepted = currency.accepted
    takes = f" (it takes {', '.join(accepted)})" if len(accepted) > 1 else ""
    reason = (
        "the record has no exchange rate to convert with"
        if convert
        else "turn on convert_currency in the flow's options to convert with the record's rate"
    )
    problem = FieldProblem(
        "Currency",
        ErrorCategory.CURRENCY_MISMATCH,
        f"The record is in {code}; {system}'s home currency is {currency.home}{takes}: {reason}.",
    )
    return problem, None


def currency_as_home(currency: Currency, data: dict[str, Any]) -> dict[str, Any]:
    """The record as if it were in the home currency, for mapping before its amounts are
    converted (`currency_convert`)."""
    converted = copy.deepcopy(data)
    mapping_set(converted, currency.path, currency.home)
    return converted


def _rate(currency: Currency, data: Any) -> Decimal | None:
    try:
        rate = Decimal(str(mapping_get(data, currency.rate_path)))
    except (InvalidOperation, ValueError):
        return None
    return rate if rate.is_finite() and rate > 0 else None


def currency_convert(payload: dict[str, Any], schema: TargetSchema, rate: Decimal) -> None:
    """Scale the payload's amounts (the target's currency fields, the lines' too) by `rate`."""
    _amounts_scale(payload, schema, rate)
    for line in payload.get(schema.line_items) or [] if schema.line_items else []:
        if schema.line_schema is not None:
            _amounts_scale(line, schema.line_schema, rate)


def _amounts_scale(payload: dict[str, Any], schema: TargetSchema, rate: Decimal) -> None:
    for name, value in payload.items():
        spec = schema.get(name)
        if spec is not None and spec.data_type == "currency" and isinstance(value, int | float):
            payload[name] = float((Decimal(str(value)) * rate).quantize(Decimal("0.01")))
