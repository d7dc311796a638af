"""`GET /{module}/search`: by `email`, `phone`, `word` or `criteria`, as Zoho CRM searches.

Criteria look like `((Email:equals:a@b.com)and(Last_Name:starts_with:Sm))`: conditions in
parentheses, joined by `and` / `or`, evaluated left to right; `\\(`, `\\)` and `\\,` escape those
characters in values. Text comparisons ignore case, as Zoho's do. Search reaches at most 2,000
records (Kaizen #60).

Reference: https://www.zoho.com/crm/developer/docs/api/v8/search-records.html"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.http import QueryDict

from connectors.sandbox.zoho.crm_query import (
    DISCRETE_LIMIT,
    Page,
    QueryError,
    fields_parse,
    live_records,
    paging_parse,
    record_render,
)
from connectors.sandbox.zoho.crm_schema import ModuleDef
from connectors.sandbox.zoho.models import CrmOrg

Condition = Callable[[dict[str, Any]], bool]
OPERATORS = (
    "equals", "not_equal", "starts_with", "in", "not_in",
    "greater_than", "greater_equal", "less_than", "less_equal", "between",
)  # fmt: skip
TEXT_TYPES = ("text", "textarea", "email", "phone", "website", "picklist", "lookup")


def search_page(
    *, org: CrmOrg, module: ModuleDef, params: QueryDict
) -> tuple[Page, list[str] | None]:
    """One page of matches (204 when none) and the fields to render (None: all)."""
    condition = _condition_for(module, params)
    page, per_page = paging_parse(params)
    names = params.get("fields")
    fields = fields_parse(module, names) if names else None
    matches = []
    for record in live_records(org, module).order_by("-record_id"):
        if condition(record_render(org, module, record)):
            matches.append(record)
            if len(matches) == DISCRETE_LIMIT:
                break
    rows = matches[(page - 1) * per_page : page * per_page]
    if not rows:
        return Page(status=204), fields
    info = {
        "per_page": per_page,
        "count": len(rows),
        "page": page,
        "more_records": len(matches) > page * per_page,
    }
    return Page(records=rows, info=info), fields


def _condition_for(module: ModuleDef, params: QueryDict) -> Condition:
    if criteria := params.get("criteria"):
        return CriteriaParser(module, criteria).parse()
    if email := params.get("email"):
        return _any_field(module, ("email",), email.strip().lower(), _same_text)
    if phone := params.get("phone"):
        return _any_field(module, ("phone",), _digits(phone), _same_phone)
    if word := params.get("word"):
        return _any_field(module, TEXT_TYPES, word.strip().lower(), _contains)
    raise QueryError(
        "REQUIRED_PARAM_MISSING",
        "One of the expected parameter is missing",
        {"param": ["criteria", "email", "phone", "word"]},
    )


def _any_field(
    module: ModuleDef,
    kinds: tuple[str, ...],
    wanted: str,
    match: Callable[[Any, str], bool],
) -> Condition:
    names = [f.api_name for f in module.fields if f.data_type in kinds]
    return lambda record: any(match(record.get(name), wanted) for name in names)


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("name") or "")
    return "" if value is None else str(value)


def _same_text(value: Any, wanted: str) -> bool:
    return _text(value).strip().lower() == wanted


def _same_phone(value: Any, wanted: str) -> bool:
    return bool(wanted) and _digits(_text(value)) == wanted


def _contains(value: Any, wanted: str) -> bool:
    return bool(wanted) and wanted in _text(value).lower()


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


class CriteriaParser:
    """A small recursive-descent parser for Zoho's criteria syntax."""

    def __init__(self, module: ModuleDef, text: str) -> None:
        self.module = module
        self.text = text.strip()
        self.pos = 0

    def parse(self) -> Condition:
        condition = self._expression()
        if self.pos != len(self.text):
            self._fail("unexpected text after the criteria")
        return condition

    def _expression(self) -> Condition:
        condition = self._group()
        while self.text.startswith(("and", "or"), self.pos):
            joiner = "and" if self.text.startswith("and", self.pos) else "or"
            self.pos += len(joiner)
            right = self._group()
            condition = _join(condition, right, joiner)
        return condition

    def _group(self) -> Condition:
        if self.pos >= len(self.text) or self.text[self.pos] != "(":
            self._fail("a condition must be in parentheses")
        self.pos += 1
        if self.text.startswith("(", self.pos):
            condition = self._expression()
        else:
            condition = self._comparison(self._until_close())
        if self.pos >= len(self.text) or self.text[self.pos] != ")":
            self._fail("unbalanced parentheses")
        self.pos += 1
        return condition

    def _until_close(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] != ")":
            self.pos += 2 if self.text[self.pos] == "\\" else 1
        return self.text[start : self.pos]

    def _comparison(self, text: str) -> Condition:
        name, _, rest = text.partition(":")
        operator, _, raw = rest.partition(":")
        name, operator = name.strip(), operator.strip()
        if self.module.field(name) is None and name != "id":
            self._fail("invalid field", api_name=name)
        if operator not in OPERATORS:
            self._fail("invalid operator found", api_name=name, operator=operator)
        values = [_unescape(v) for v in re.split(r"(?<!\\),", raw)]
        return _comparison(name, operator, values)

    def _fail(self, reason: str, **details: Any) -> None:
        raise QueryError("INVALID_QUERY", "invalid query formed", {"reason": reason, **details})


def _join(left: Condition, right: Condition, joiner: str) -> Condition:
    if joiner == "and":
        return lambda record: left(record) and right(record)
    return lambda record: left(record) or right(record)


def _unescape(value: str) -> str:
    return re.sub(r"\\([(),\\])", r"\1", value).strip()


def _comparison(name: str, operator: str, values: list[str]) -> Condition:
    lowered = [v.lower() for v in values]

    def compare(record: dict[str, Any]) -> bool:
        raw = record.get(name)
        actual = _text(raw).lower()
        ids = {str(raw.get("id"))} if isinstance(raw, dict) else set()
        if operator == "equals":
            return actual in lowered or bool(ids & set(values))
        if operator == "not_equal":
            return actual not in lowered and not ids & set(values)
        if operator == "starts_with":
            return any(actual.startswith(v) for v in lowered if v)
        if operator in ("in", "not_in"):
            hit = actual in lowered or bool(ids & set(values))
            return hit if operator == "in" else not hit
        return _ordered(raw, operator, values)

    return compare


def _ordered(raw: Any, operator: str, values: list[str]) -> bool:
    """greater/less/between: numerically for numbers, else as ISO text (dates sort as text)."""
    if raw is None:
        return False

    def key(value: Any) -> tuple[int, float | str]:
        try:
            return (0, float(value))
        except (TypeError, ValueError):
            return (1, str(value))

    actual, bounds = key(raw), [key(v) for v in values]
    checks = {
        "greater_than": lambda: actual > bounds[0],
        "greater_equal": lambda: actual >= bounds[0],
        "less_than": lambda: actual < bounds[0],
        "less_equal": lambda: actual <= bounds[0],
        "between": lambda: len(bounds) == 2 and bounds[0] <= actual <= bounds[1],
    }
    return checks[operator]()
