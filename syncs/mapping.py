"""Turning a source record into a target payload: field paths, the target's schema, applying a
flow's mappings with every check that can be made before a call, and the payload hash.

Paths are dotted: `BillAddr.City`, `PrimaryEmailAddr.Address`; a number indexes a list:
`Line.0.Amount`. A missing step anywhere reads as None.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from connectors.base.schema import PLAIN_REFERENCES, FieldSpec, ReferenceShape, TargetSchema
from syncs.models import ErrorCategory, FieldMapping
from syncs.transforms import (
    TransformError,
    is_blank,
    parse_boolean,
    transform_apply,
    transform_date,
    transform_datetime,
    transform_reverse,
)

Direction = FieldMapping.Direction
# Transforms that make their value without reading the source (so need no source path), and so
# have nothing to write back on a two-way flow.
SOURCELESS = frozenset({FieldMapping.Transform.CONSTANT, FieldMapping.Transform.SYNC_TIME})

TEXT_TYPES = frozenset({"text", "textarea", "email", "phone", "website", "picklist", "autonumber"})
INTEGER_TYPES = frozenset({"integer", "bigint"})
NUMBER_TYPES = frozenset({"double", "currency", "percent", "decimal"})
LOOKUP_TYPES = frozenset({"lookup", "ownerlookup", "userlookup"})


class MappingLike(Protocol):
    """A `FieldMapping` row, or a `MappingRule` (the defaults, before they are rows): read only."""

    @property
    def source_path(self) -> str: ...
    @property
    def target_field(self) -> str: ...
    @property
    def transform(self) -> str: ...
    @property
    def transform_options(self) -> dict[str, Any]: ...
    @property
    def required(self) -> bool: ...
    @property
    def direction(self) -> str: ...


@dataclass(frozen=True)
class MappingRule:
    source_path: str
    target_field: str
    transform: str = FieldMapping.Transform.NONE
    transform_options: dict[str, Any] = field(default_factory=dict)
    required: bool = False
    direction: str = Direction.TO_TARGET


@dataclass(frozen=True)
class FieldProblem:
    field: str
    category: str
    message: str


@dataclass
class MappedRecord:
    """A mapped payload and what was wrong with it. `volatile` names the payload's fields whose
    value changes on every run by design (a `sync_time` stamp): the payload hash leaves them
    out, so an unchanged record still hashes the same and is not written again."""

    payload: dict[str, Any]
    problems: list[FieldProblem]
    volatile: frozenset[str] = frozenset()

    @property
    def ok(self) -> bool:
        return not self.problems


def _steps(path: str) -> list[str]:
    return path.strip().split(".") if path.strip() else []


def mapping_get(data: Any, path: str) -> Any:
    """The value at `path` in `data`, or None where any step is missing."""
    current = data
    for step in _steps(path):
        if isinstance(current, Mapping):
            current = current.get(step)
        elif isinstance(current, list | tuple) and step.lstrip("-").isdigit():
            index = int(step)
            current = current[index] if -len(current) <= index < len(current) else None
        else:
            return None
        if current is None:
            return None
    return current


def mapping_set(data: dict[str, Any], path: str, value: Any) -> None:
    """Set `value` at `path`, creating the dicts and lists on the way (`Line.0.Amount`)."""
    steps = _steps(path)
    if not steps:
        raise ValueError("An empty path has nowhere to put a value.")
    current: Any = data
    for step, following in zip(steps, [*steps[1:], None], strict=True):
        container: Any = [] if following is not None and following.isdigit() else {}
        if isinstance(current, list):
            index = int(step)
            current.extend(None for _ in range(index + 1 - len(current)))
            if following is None:
                current[index] = value
            elif current[index] is None:
                current[index] = container
            current = current[index]
        else:
            if following is None:
                current[step] = value
            else:
                current = current.setdefault(step, container)


def _read_source(mapping: MappingLike, data: Any) -> Any:
    value = mapping_get(data, mapping.source_path)
    options = mapping.transform_options or {}
    for fallback in options.get("fallback_paths", []):
        if not is_blank(value):
            break
        value = mapping_get(data, fallback)
    if is_blank(value) and "default" in options and mapping.transform != "value_map":
        value = options["default"]  # a value map reads its own default
    return value


def _as_text(value: Any, spec: FieldSpec) -> str:
    if isinstance(value, Mapping | list | tuple | bool):
        raise TransformError(f"{spec.api_name} takes text, not {type(value).__name__}.")
    text = value if isinstance(value, str) else str(value)
    if spec.data_type == "email":
        try:
            validate_email(text)
        except ValidationError:
            raise TransformError(f"{text!r} is not a valid email address.") from None
    if spec.data_type == "picklist" and spec.picklist_values and text not in spec.picklist_values:
        allowed = ", ".join(spec.picklist_values)
        raise TransformError(f"{text!r} is not one of {spec.api_name}'s values: {allowed}.")
    return text


def _as_number(value: Any, spec: FieldSpec) -> int | float:
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, bool) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise TransformError(f"{spec.api_name} takes a number, not {value!r}.")
    if spec.data_type in INTEGER_TYPES:
        if number != number.to_integral_value():
            raise TransformError(f"{spec.api_name} takes a whole number, not {value!r}.")
        return int(number)
    return int(number) if number == number.to_integral_value() else float(number)


def _coerce(value: Any, spec: FieldSpec, references: ReferenceShape = PLAIN_REFERENCES) -> Any:
    """The value in the form the target field takes, or TransformError; a lookup takes a
    reference in the shape its system writes."""
    kind = spec.data_type
    if value is None:
        return None
    if kind in TEXT_TYPES:
        return _as_text(value, spec)
    if kind in INTEGER_TYPES | NUMBER_TYPES:
        return _as_number(value, spec)
    if kind == "boolean":
        return parse_boolean(value)
    if kind == "date":
        return transform_date(value)
    if kind == "datetime":
        return transform_datetime(value)
    if kind in LOOKUP_TYPES:
        return value if isinstance(value, Mapping) else references.write(str(value))
    if kind == "multiselectpicklist":
        values = value if isinstance(value, list) else [str(value)]
        for item in values:
            _as_text(item, FieldSpec(spec.api_name, "picklist", None, False, spec.picklist_values))
        return values
    return value


def _applies(mapping: MappingLike, direction: str) -> bool:
    return mapping.direction in (Direction.BOTH, direction)


def _one_field(
    mapping: MappingLike,
    data: Any,
    spec: FieldSpec | None,
    *,
    direction: str,
    references: ReferenceShape = PLAIN_REFERENCES,
) -> Any:
    options = mapping.transform_options or {}
    length = spec.length if spec else None
    if direction == Direction.TO_SOURCE:
        raw = mapping_get(data, mapping.target_field)
        value = transform_reverse(mapping.transform, raw, options, length=length)
    else:
        value = transform_apply(
            mapping.transform, _read_source(mapping, data), options, length=length
        )
    return _coerce(value, spec, references) if spec else value


def _problem_for(
    mapping: MappingLike, name: str, value: Any, spec: FieldSpec | None, schema_label: str
) -> FieldProblem | None:
    if is_blank(value):
        if mapping.required or (spec and spec.mandatory):
            origin = (
                mapping.target_field if name == mapping.source_path else mapping.source_path
            ) or "the mapping"
            return FieldProblem(
                name,
                ErrorCategory.MANDATORY_MISSING,
                f"{name} is mandatory in {schema_label}, but {origin} is empty.",
            )
        return None
    if spec and spec.length and isinstance(value, str) and len(value) > spec.length:
        return FieldProblem(
            name,
            ErrorCategory.VALUE_TOO_LONG,
            f"{name} is {len(value)} characters; {schema_label} allows {spec.length}. "
            "Shorten it at the source, or set the mapping to truncate.",
        )
    return None


def mapping_apply(
    mappings: Iterable[MappingLike],
    source_data: Mapping[str, Any],
    *,
    target_schema: TargetSchema | None,
    direction: str = Direction.TO_TARGET,
) -> MappedRecord:
    """Map one record. `direction` to_target reads `source_path` and writes `target_field`;
    to_source (two-way flows) reads a target record's `target_field` and writes `source_path`.
    A dotted name is written nested (`BillAddr.City` -> `{"BillAddr": {"City": ...}}`), and
    a blank value as None, so that clearing a field at the source clears it at the target.
    `target_schema` describes the side being written; without one (QBO publishes no field
    metadata) only the mappings' own `required` flags are checked."""
    payload: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    volatile: set[str] = set()
    label = target_schema.label if target_schema else "the target"
    shape = target_schema.references if target_schema else PLAIN_REFERENCES
    for mapping in mappings:
        if not _applies(mapping, direction):
            continue
        if direction == Direction.TO_SOURCE and mapping.transform in SOURCELESS:
            continue  # never the source's value (a constant, a sync time): nothing to write back
        name = mapping.target_field if direction == Direction.TO_TARGET else mapping.source_path
        spec = target_schema.get(name) if target_schema else None
        if target_schema is not None and spec is None:
            problems.append(
                FieldProblem(name, ErrorCategory.INVALID_VALUE, f"{label} has no field {name}.")
            )
            continue
        try:
            value = _one_field(mapping, source_data, spec, direction=direction, references=shape)
        except TransformError as exc:
            problems.append(FieldProblem(name, exc.category, f"{name}: {exc.message}"))
            continue
        problem = _problem_for(mapping, name, value, spec, label)
        if problem:
            problems.append(problem)
        else:
            mapping_set(payload, name, None if is_blank(value) else value)
            if mapping.transform == FieldMapping.Transform.SYNC_TIME:
                volatile.add(name)
    return MappedRecord(payload=payload, problems=problems, volatile=frozenset(volatile))


def payload_canonical(value: Any) -> Any:
    """One JSON form per meaning: QBO's 85.0 and our Decimal("85.00") hash alike."""
    if isinstance(value, Mapping):
        return {str(key): payload_canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [payload_canonical(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((payload_canonical(item) for item in value), key=repr)
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float | Decimal):
        if not math.isfinite(value):
            return str(value)
        return int(value) if value == int(value) else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _drop(canonical: Any, path: str) -> None:
    """Remove the value at dotted `path` from a canonical payload, where it is there."""
    *parents, last = _steps(path)
    current = canonical
    for step in parents:
        current = mapping_get(current, step)
    if isinstance(current, dict):
        current.pop(last, None)


def payload_hash(payload: Mapping[str, Any], *, exclude: Iterable[str] = ()) -> str:
    """A stable SHA-256 (hex) of the payload's canonical JSON: the same content always hashes
    the same, whatever the key order, so an unchanged record or our own echo is recognised.
    The fields named in `exclude` (dotted paths: a `MappedRecord`'s `volatile`) are left out."""
    canonical = payload_canonical(payload)
    for path in exclude:
        _drop(canonical, path)
    canonical = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# Which target data types each transform can produce a value for; None means any.
_TRANSFORM_TYPES: dict[str, frozenset[str] | None] = {
    "none": None,
    "value_map": None,
    "constant": None,
    "trim": TEXT_TYPES,
    "upper": TEXT_TYPES,
    "lower": TEXT_TYPES,
    "title": TEXT_TYPES,
    "truncate": TEXT_TYPES,
    "phone": frozenset({"phone", "text"}),
    "country": frozenset({"text", "textarea", "picklist"}),
    "date": frozenset({"date", "text"}),
    "datetime": frozenset({"datetime", "text"}),
    "boolean": frozenset({"boolean"}),
    "sync_time": frozenset({"datetime", "text"}),
}


def _check_type(mapping: MappingLike, spec: FieldSpec) -> str | None:
    transform = mapping.transform
    allowed = _TRANSFORM_TYPES.get(transform)
    options = mapping.transform_options or {}
    if transform == "boolean" and "true" in options:
        allowed = None  # yes/no written as the mapping's own values, e.g. "Yes"/"No"
    if allowed is not None and spec.data_type not in allowed:
        return (
            f"{spec.api_name} is of type {spec.data_type}; the {transform} transform cannot "
            "produce a value for it."
        )
    return None


def _check_options(mapping: MappingLike, spec: FieldSpec | None) -> list[str]:
    options = mapping.transform_options or {}
    name, transform = mapping.target_field, mapping.transform
    messages: list[str] = []
    if transform == "truncate":
        length = options.get("length") or (spec.length if spec else None)
        if not isinstance(length, int) or length <= 0:
            messages.append(f"{name}: truncate needs a positive whole length.")
    if transform == "value_map" and not isinstance(options.get("map"), Mapping):
        messages.append(f'{name}: a value map needs {{"map": {{...}}}} in its options.')
    if transform == "constant" and "value" not in options:
        messages.append(f'{name}: a constant needs {{"value": ...}} in its options.')
    if transform == "country" and options.get("output", "name") not in ("name", "alpha2", "alpha3"):
        messages.append(f"{name}: country output is name, alpha2 or alpha3.")
    if transform == "phone" and options.get("style", "e164") not in ("e164", "international"):
        messages.append(f"{name}: phone style is e164 or international.")
    return messages


def _check_values(mapping: MappingLike, spec: FieldSpec) -> list[str]:
    """Constants and value-map outputs must be values the target field accepts."""
    options = mapping.transform_options or {}
    candidates: list[Any] = []
    if mapping.transform == "constant" and "value" in options:
        candidates = [options["value"]]
    elif mapping.transform == "value_map" and isinstance(options.get("map"), Mapping):
        candidates = [
            *options["map"].values(),
            *([options["default"]] if "default" in options else []),
        ]
    messages = []
    for candidate in candidates:
        try:
            _coerce(candidate, spec)
        except TransformError as exc:
            messages.append(f"{mapping.target_field}: {exc.message}")
    return messages


def _check_mapping(mapping: MappingLike, schema: TargetSchema) -> list[str]:
    name = mapping.target_field
    if mapping.transform not in FieldMapping.Transform.values:
        return [f"{name}: unknown transform {mapping.transform!r}."]
    if not mapping.source_path.strip() and mapping.transform not in SOURCELESS:
        return [f"{name}: a source path is needed (only a constant or a sync time has none)."]
    if any(not step for step in _steps(mapping.source_path)):
        return [f"{name}: the source path {mapping.source_path!r} has an empty step."]
    if not _applies(mapping, Direction.TO_TARGET):
        return _check_options(mapping, None)
    spec = schema.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, list(schema.fields), n=1)
        hint = f" Did you mean {close[0]}?" if close else ""
        return [f"{schema.label} has no field {name}.{hint}"]
    messages = _check_options(mapping, spec)
    if spec.read_only:
        messages.append(f"{name} is read-only in {schema.label}.")
    if type_problem := _check_type(mapping, spec):
        messages.append(type_problem)
    return messages + _check_values(mapping, spec)


def mapping_validate(
    mappings: Iterable[MappingLike], *, target_schema: TargetSchema, provided: Iterable[str] = ()
) -> list[str]:
    """Everything wrong with a flow's mappings against the target's schema, as sentences an
    admin can act on; an empty list means the mappings can be used. `provided` names the
    fields something else fills (a flow's lookups and line items)."""
    messages: list[str] = []
    mapped: set[str] = set(provided)
    for mapping in mappings:
        messages.extend(_check_mapping(mapping, target_schema))
        if _applies(mapping, Direction.TO_TARGET):
            if mapping.target_field in mapped:
                messages.append(f"{mapping.target_field} is mapped more than once.")
            mapped.add(mapping.target_field)
    for spec in target_schema.mandatory_fields():
        if spec.api_name not in mapped:
            messages.append(
                f"{spec.api_name} is mandatory in {target_schema.label} but is not mapped."
            )
    return messages
