"""What the console needs from each fake to list, show and change its records.

Each fake answers through a `RecordSource`; the views never branch on which fake they are
showing. Writes go through the fakes' own services, so they validate, bump versions and fire the
vendor's webhooks or notifications exactly as an API call would. A refusal comes back as a
`VendorFault` carrying the vendor's own code and message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.db.models import Model, QuerySet
from django.http import Http404

from connectors.sandbox.console.forms import RecordForm

Doc = dict[str, Any]


@dataclass(frozen=True)
class VendorFault(Exception):
    """A write the fake refused: the vendor's code and message, and the field it blamed."""

    code: str
    message: str
    detail: str = ""
    field: str = ""

    def __str__(self) -> str:
        text = f"{self.code} {self.message}"
        return f"{text}: {self.detail}" if self.detail else text


@dataclass(frozen=True)
class Row:
    """One line of a record list."""

    record_id: str
    name: str
    status: str  # active | inactive | deleted | locked | the vendor's own status word
    modified: datetime
    version: str = ""
    detail: str = ""  # the line's second thing to look at: an email, a price, a date


@dataclass(frozen=True)
class Action:
    """Something done to a record with one confirmed POST (deactivate, delete, void...)."""

    name: str
    label: str
    explanation: str
    dangerous: bool = True


@dataclass(frozen=True)
class EntityCount:
    entity: str
    label: str
    count: int


@dataclass(frozen=True)
class OwnerSummary:
    """A company or organization on the home page: who it is and how many records it has."""

    owner_id: str
    name: str
    details: list[tuple[str, str]] = field(default_factory=list)
    counts: list[EntityCount] = field(default_factory=list)


class RecordSource(Protocol):
    """One fake, as the console sees it. `owner` is a company or an organization."""

    slug: str
    label: str
    owner_label: str
    version_label: str

    def overview(self) -> list[OwnerSummary]: ...

    def owner_get(self, owner_id: str) -> Model: ...

    def owner_name(self, owner: Any) -> str: ...

    def entities(self, owner: Any) -> list[str]: ...

    def rows(self, owner: Any, entity: str, search: str) -> QuerySet[Any]: ...

    def row(self, owner: Any, record: Any) -> Row: ...

    def record_get(self, owner: Any, entity: str, record_id: str) -> Any: ...

    def document(self, owner: Any, entity: str, record: Any) -> Doc: ...

    def form(
        self, owner: Any, entity: str, record: Any | None, data: Any | None = None
    ) -> RecordForm: ...

    def editable(self, entity: str, record: Any | None) -> bool: ...

    def save(self, owner: Any, entity: str, record: Any | None, form: RecordForm) -> str: ...

    def actions(self, entity: str, record: Any) -> list[Action]: ...

    def act(self, owner: Any, entity: str, record: Any, action: str) -> None: ...

    def help(self, entity: str, editing: bool) -> str: ...


def entity_check(source: RecordSource, owner: Any, entity: str) -> None:
    if entity not in source.entities(owner):
        raise Http404(f"{source.label} has no {entity!r} here")


def action_get(source: RecordSource, entity: str, record: Any, name: str) -> Action:
    """The action `name` if it applies to this record now; 404 otherwise."""
    for action in source.actions(entity, record):
        if action.name == name:
            return action
    raise Http404(f"{name!r} does not apply to this record")
