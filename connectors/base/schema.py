"""The fields a record of an entity may carry, as the system's own metadata describes them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any


def _plain_read(value: Any) -> str | None:
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        return str(value)
    return None


def _never_gone(error: Exception) -> tuple[str, str] | None:
    return None


@dataclass(frozen=True)
class ReferenceShape:
    """How a system writes a reference to another record into a lookup field (`write`: Zoho
    `{"id": ...}`, QuickBooks `{"value": ...}`), which id a lookup value names (`read`, None
    for a value that names none), and whether a refused write says that a record a lookup named
    is deleted there (`gone`: the lookup field and the id, else None)."""

    write: Callable[[str], Any] = str
    read: Callable[[Any], str | None] = _plain_read
    gone: Callable[[Exception], tuple[str, str] | None] = _never_gone

    def same(self, a: Any, b: Any) -> bool | None:
        """Whether two lookup values name the same record; None when either names none."""
        first, second = self.read(a), self.read(b)
        if first is None or second is None:
            return None
        return first == second


PLAIN_REFERENCES = ReferenceShape()


@dataclass(frozen=True)
class FieldSpec:
    """One field of the target entity, as the target's metadata describes it.

    From Zoho CRM's `GET /crm/v8/settings/fields?module=Accounts`, each entry of `fields` gives:
    `FieldSpec(api_name=f["api_name"], data_type=f["data_type"], length=f.get("length"),
    mandatory=f.get("system_mandatory", False) (or the layout's `required`),
    picklist_values=tuple(v["actual_value"] for v in f.get("pick_list_values", [])),
    read_only=f.get("read_only", False))`.
    `data_type` uses Zoho's vocabulary: text, textarea, email, phone, website, picklist,
    multiselectpicklist, integer, bigint, double, currency, percent, decimal, boolean, date,
    datetime, lookup, ownerlookup, userlookup, autonumber. Other systems map onto it.
    """

    api_name: str
    data_type: str = "text"
    length: int | None = None
    mandatory: bool = False
    picklist_values: tuple[str, ...] = ()
    read_only: bool = False


@dataclass(frozen=True)
class TargetSchema:
    """The fields of one target entity, keyed by API name; `label` names it in messages
    (e.g. "Zoho CRM Accounts"). An inventory module also names its line-item subform and
    describes one line (`line_items`, `line_schema`)."""

    label: str
    fields: Mapping[str, FieldSpec]
    line_items: str = ""
    line_schema: TargetSchema | None = None
    references: ReferenceShape = PLAIN_REFERENCES

    @classmethod
    def of(
        cls,
        label: str,
        specs: Iterable[FieldSpec],
        references: ReferenceShape = PLAIN_REFERENCES,
    ) -> TargetSchema:
        return cls(
            label=label, fields={spec.api_name: spec for spec in specs}, references=references
        )

    def get(self, api_name: str) -> FieldSpec | None:
        return self.fields.get(api_name)

    def mandatory_fields(self) -> list[FieldSpec]:
        return [spec for spec in self.fields.values() if spec.mandatory and not spec.read_only]
