"""The console's forms, and the translation from a submitted form to the JSON a fake's service
takes.

A record form is a few typed fields for an entity's common properties, each bound to a path in
the vendor's JSON (`BillAddr.City`), plus a raw JSON object for everything else. The typed
fields are labelled with the vendor's own names: the console teaches what the API calls things.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django import forms

from connectors.sandbox.models import FaultProfile, OutboundDelivery, Vendor
from connectors.sandbox.qbo.views import DEFAULT_CONCURRENCY as QBO_CONCURRENCY
from connectors.sandbox.qbo.views import DEFAULT_RATE_LIMIT as QBO_PER_MINUTE
from connectors.sandbox.zoho.books_sales import PAYMENT_MODES
from connectors.sandbox.zoho.books_views import DEFAULT_PER_MINUTE as BOOKS_PER_MINUTE
from connectors.sandbox.zoho.crm_api import DEFAULT_CONCURRENCY as CRM_CONCURRENCY
from connectors.sandbox.zoho.crm_schema import READ_ONLY_SYSTEM, FieldDef, ModuleDef

Doc = dict[str, Any]
EMPTY = (None, "")


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class FieldSpec:
    """A typed form field bound to `path` in the vendor's JSON; `encode` turns the cleaned
    value into JSON, `decode` turns the stored JSON value into the field's initial value."""

    path: str
    field: forms.Field
    encode: Callable[[Any], Any] = _same
    decode: Callable[[Any], Any] = _same

    @property
    def name(self) -> str:
        return self.path.replace(".", "__")


def path_get(doc: Doc, path: str) -> Any:
    value: Any = doc
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def path_set(doc: Doc, path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for key in parents:
        child = doc.get(key)
        if not isinstance(child, dict):
            child = doc[key] = {}
        doc = child
    doc[leaf] = value


def path_drop(doc: Doc, path: str) -> None:
    """Remove `path`, and any parent object it leaves empty."""
    key, _, rest = path.partition(".")
    if not rest:
        doc.pop(key, None)
        return
    child = doc.get(key)
    if isinstance(child, dict):
        path_drop(child, rest)
        if not child:
            doc.pop(key)


def doc_rest(doc: Doc, specs: Iterable[FieldSpec], dropped: Iterable[str] = ()) -> Doc:
    """`doc` without what the typed fields show and without `dropped` keys: the raw JSON part
    of an edit form."""
    rest = copy.deepcopy(doc)
    for key in dropped:
        rest.pop(key, None)
    for spec in specs:
        path_drop(rest, spec.path)
    return rest


class RecordForm(forms.Form):
    """Typed fields (from `specs`) plus `extra_json`; `payload()` builds the service's input."""

    extra_json = forms.CharField(
        label="JSON object",
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false", "class": "json"}),
    )

    def __init__(
        self,
        specs: list[FieldSpec],
        *,
        data: Any = None,
        doc: Doc | None = None,
        extra: Doc | None = None,
        version: str | None = None,
        json_help: str = "",
    ) -> None:
        initial: Doc = {"extra_json": json.dumps(extra or {}, indent=2)}
        if doc is not None:
            initial.update({spec.name: spec.decode(path_get(doc, spec.path)) for spec in specs})
        if version is not None:
            initial["version"] = version
        super().__init__(data=data, initial=initial)
        self.specs = specs
        typed = {spec.name: copy.deepcopy(spec.field) for spec in specs}
        self.fields = {**typed, "extra_json": self.fields["extra_json"]}
        if json_help:
            self.fields["extra_json"].help_text = json_help
        if version is not None:
            self.fields["version"] = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_extra_json(self) -> Doc:
        text = self.cleaned_data.get("extra_json", "").strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise forms.ValidationError('Give a JSON object: {"Field": value, ...}')
        return value

    def payload(self, *, changed_only: bool = False) -> Doc:
        """The raw JSON with the typed fields written over it. Empty typed fields are left out,
        except in a `changed_only` payload (a partial update), where clearing is a change."""
        doc = copy.deepcopy(self.cleaned_data["extra_json"])
        for spec in self.specs:
            if changed_only and spec.name not in self.changed_data:
                continue
            value = spec.encode(self.cleaned_data.get(spec.name))
            if value in EMPTY and not changed_only:
                continue
            path_set(doc, spec.path, value)
        return doc

    @property
    def version(self) -> str | None:
        return self.cleaned_data.get("version") or None

    def blame(self, path: str, message: str) -> bool:
        """Put a vendor's error on the typed field it names, if there is one."""
        for spec in self.specs:
            if path and spec.path == path:
                self.add_error(spec.name, message)
                return True
        return False


# --- field builders ---------------------------------------------------------------------------


def text(path: str, *, help_text: str = "", textarea: bool = False) -> FieldSpec:
    widget = forms.Textarea(attrs={"rows": 3}) if textarea else forms.TextInput
    field = forms.CharField(label=path, required=False, help_text=help_text, widget=widget)
    return FieldSpec(path, field)


def choice(path: str, values: Iterable[str], *, help_text: str = "") -> FieldSpec:
    choices = [("", "—"), *((value, value) for value in values)]
    field = forms.ChoiceField(label=path, required=False, choices=choices, help_text=help_text)
    return FieldSpec(path, field)


def number(path: str, *, help_text: str = "") -> FieldSpec:
    field = forms.DecimalField(label=path, required=False, help_text=help_text)
    return FieldSpec(path, field, encode=lambda value: None if value is None else float(value))


def day(path: str, *, help_text: str = "") -> FieldSpec:
    field = forms.DateField(
        label=path,
        required=False,
        help_text=help_text,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    return FieldSpec(path, field, encode=iso_date, decode=date_or_none)


def active(path: str = "Active") -> FieldSpec:
    """A checkbox that defaults to on: a record without the flag is active."""
    field = forms.BooleanField(label=path, required=False, initial=True)
    return FieldSpec(path, field, decode=lambda value: value is not False)


def iso_date(value: date | None) -> str | None:
    return value.isoformat() if value else None


def date_or_none(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


# --- the fields each entity's form shows ------------------------------------------------------

QBO_PARTY = [
    text("DisplayName", help_text="Unique across customers, vendors and employees."),
    text("GivenName"),
    text("FamilyName"),
    text("CompanyName"),
    text("PrimaryEmailAddr.Address"),
    text("PrimaryPhone.FreeFormNumber"),
    text("BillAddr.Line1"),
    text("BillAddr.City"),
    text("BillAddr.CountrySubDivisionCode", help_text="State or province code, e.g. CA."),
    text("BillAddr.PostalCode"),
    text("BillAddr.Country"),
    active(),
]
QBO_FIELDS: dict[str, list[FieldSpec]] = {
    "Customer": QBO_PARTY,
    "Vendor": QBO_PARTY,
    "Item": [
        text("Name", help_text="Unique among items."),
        text("Sku"),
        number("UnitPrice"),
        text("Description", textarea=True),
        choice("Type", ("Service", "Inventory", "NonInventory", "Group", "Category")),
        active(),
    ],
}
BOOKS_FIELDS: dict[str, list[FieldSpec]] = {
    "contact": [
        text("contact_name", help_text="Unique in the organization."),
        text("company_name"),
        choice("contact_type", ("customer", "vendor")),
        text("first_name", help_text="The primary contact person's."),
        text("last_name"),
        text("email"),
        text("phone"),
        text("website"),
    ],
    "invoice": [
        text("customer_id", help_text="The contact_id of a customer."),
        day("date"),
        day("due_date", help_text="Blank: the date plus the customer's payment terms."),
        text("reference_number"),
        text("notes", textarea=True),
    ],
    "payment": [
        text("customer_id", help_text="The contact_id of a customer."),
        number("amount"),
        choice("payment_mode", PAYMENT_MODES),
        day("date"),
        text("reference_number"),
    ],
}


def crm_specs(module: ModuleDef) -> list[FieldSpec]:
    """A typed field per field of the module a person would type into: not read-only, not a
    subform (line items go in the JSON), not the owner. Lookups take the target record's id.
    Validation is left to the fake, so its own error codes show."""
    return [
        _CRM_BUILDERS.get(fdef.data_type, _crm_text)(fdef)
        for fdef in module.fields
        if not fdef.read_only
        and fdef.api_name not in READ_ONLY_SYSTEM
        and fdef.data_type not in ("subform", "ownerlookup")
    ]


def _crm_label(fdef: FieldDef) -> str:
    return f"{fdef.api_name} *" if fdef.mandatory else fdef.api_name


def _crm_help(fdef: FieldDef, what: str) -> str:
    return f"{'Mandatory. ' if fdef.mandatory else ''}{'Unique. ' if fdef.unique else ''}{what}"


def _or_none(value: Any) -> Any:
    return None if value in EMPTY else value


def _crm_text(fdef: FieldDef) -> FieldSpec:
    widget = forms.Textarea(attrs={"rows": 3}) if fdef.data_type == "textarea" else forms.TextInput
    what = f"{fdef.data_type}, up to {fdef.max_length} characters."
    if fdef.data_type == "datetime":
        what = "ISO 8601 date and time, e.g. 2025-01-31T09:30:00+00:00."
    field = forms.CharField(
        label=_crm_label(fdef), required=False, widget=widget, help_text=_crm_help(fdef, what)
    )
    return FieldSpec(fdef.api_name, field, encode=_or_none)


def _crm_picklist(fdef: FieldDef) -> FieldSpec:
    spec = choice(fdef.api_name, fdef.picklist, help_text=_crm_help(fdef, "Picklist."))
    spec.field.label = _crm_label(fdef)
    return FieldSpec(spec.path, spec.field, encode=_or_none)


def _crm_number(fdef: FieldDef) -> FieldSpec:
    integer = fdef.data_type == "integer"
    field_class = forms.IntegerField if integer else forms.FloatField
    field = field_class(
        label=_crm_label(fdef), required=False, help_text=_crm_help(fdef, f"{fdef.data_type}.")
    )
    return FieldSpec(fdef.api_name, field)


def _crm_boolean(fdef: FieldDef) -> FieldSpec:
    field = forms.NullBooleanField(
        label=_crm_label(fdef),
        required=False,
        widget=forms.NullBooleanSelect,
        help_text=_crm_help(fdef, "boolean."),
    )
    return FieldSpec(fdef.api_name, field)


def _crm_date(fdef: FieldDef) -> FieldSpec:
    spec = day(fdef.api_name, help_text=_crm_help(fdef, "date."))
    spec.field.label = _crm_label(fdef)
    return spec


def _crm_lookup(fdef: FieldDef) -> FieldSpec:
    field = forms.CharField(
        label=_crm_label(fdef),
        required=False,
        help_text=_crm_help(fdef, f"Lookup: the id of a {fdef.lookup} record."),
    )
    return FieldSpec(
        fdef.api_name,
        field,
        encode=lambda value: {"id": value.strip()} if value and value.strip() else None,
        decode=lambda value: value.get("id") if isinstance(value, dict) else value,
    )


_CRM_BUILDERS: dict[str, Callable[[FieldDef], FieldSpec]] = {
    "picklist": _crm_picklist,
    "currency": _crm_number,
    "double": _crm_number,
    "integer": _crm_number,
    "boolean": _crm_boolean,
    "date": _crm_date,
    "lookup": _crm_lookup,
}


# --- fault settings ---------------------------------------------------------------------------

COMMON_FAULTS = {
    "latency_ms": "Milliseconds added to every answer.",
    "error_rate": "Share of answers replaced by a 5xx, 0 to 1 (0.1: one in ten).",
}
# Which settings each fake honours, with help that names what a blank limit means.
FAULT_SETTINGS: dict[str, dict[str, str]] = {
    Vendor.QBO: {
        **COMMON_FAULTS,
        "rate_limit_per_minute": f"Requests a minute per company; blank: {QBO_PER_MINUTE}.",
        "concurrency_limit": f"Requests at once per company; blank: {QBO_CONCURRENCY}.",
        "token_lifetime_seconds": "Lifetime of the access tokens it issues (Intuit: 3600).",
        "webhooks_enabled": "Send webhooks to each company's webhook URL.",
    },
    Vendor.ZOHO_ACCOUNTS: {
        **COMMON_FAULTS,
        "token_lifetime_seconds": "Lifetime of the access tokens it issues (Zoho: 3600).",
    },
    Vendor.ZOHO_CRM: {
        **COMMON_FAULTS,
        "concurrency_limit": f"Requests at once per org and client; blank: {CRM_CONCURRENCY}.",
        "daily_credit_limit": "API credits a day per org; blank: unlimited.",
        "webhooks_enabled": "Send notification-channel callbacks.",
    },
    Vendor.ZOHO_BOOKS: {
        **COMMON_FAULTS,
        "rate_limit_per_minute": f"Requests a minute per organization; blank: {BOOKS_PER_MINUTE}.",
        "daily_credit_limit": "Requests a day per organization; blank: unlimited.",
        "webhooks_enabled": "Send the organizations' registered webhooks.",
    },
}


class FaultProfileForm(forms.ModelForm):
    """One fake's fault settings; only the settings that fake honours are shown (and saved)."""

    class Meta:
        model = FaultProfile
        fields = [
            "latency_ms",
            "error_rate",
            "rate_limit_per_minute",
            "concurrency_limit",
            "daily_credit_limit",
            "token_lifetime_seconds",
            "webhooks_enabled",
        ]
        widgets = {"error_rate": forms.NumberInput(attrs={"step": "0.01", "min": 0, "max": 1})}
        labels = {
            "latency_ms": "Latency (ms)",
            "error_rate": "Share of 5xx answers",
            "rate_limit_per_minute": "Requests per minute",
            "concurrency_limit": "Concurrent requests",
            "daily_credit_limit": "Daily limit",
            "token_lifetime_seconds": "Token lifetime (s)",
            "webhooks_enabled": "Send webhooks",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        shown = FAULT_SETTINGS[self.instance.vendor]
        self.fields = {name: self.fields[name] for name in shown}
        for name, help_text in shown.items():
            self.fields[name].help_text = help_text

    def clean_error_rate(self) -> float:
        rate = self.cleaned_data["error_rate"]
        if not 0 <= rate <= 1:
            raise forms.ValidationError("Give a share between 0 and 1.")
        return rate


# --- filters ----------------------------------------------------------------------------------

STATUS_GROUPS = [
    ("", "All"),
    ("ok", "Succeeded (< 400)"),
    ("errors", "Failed (≥ 400)"),
    ("4xx", "4xx"),
    ("5xx", "5xx"),
]


class RequestFilterForm(forms.Form):
    vendor = forms.ChoiceField(required=False, choices=[("", "All fakes"), *Vendor.choices])
    status = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, codes: Iterable[int] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        status = self.fields["status"]
        assert isinstance(status, forms.ChoiceField)
        status.choices = [
            *STATUS_GROUPS,
            *((str(code), str(code)) for code in sorted(set(codes))),
        ]


class DeliveryFilterForm(forms.Form):
    vendor = forms.ChoiceField(required=False, choices=[("", "All fakes"), *Vendor.choices])
    status = forms.ChoiceField(
        required=False, choices=[("", "All"), *OutboundDelivery.Status.choices]
    )


def filter_value(form: forms.Form, name: str) -> str:
    """A filter's value, or "" when the form is invalid (a stale link filters nothing)."""
    return str(form.cleaned_data.get(name) or "") if form.is_valid() else ""
