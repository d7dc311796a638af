"""Finding the target record an unlinked source record already corresponds to.

The flow's match keys are tried in order: `link` (a RecordLink, handled by the caller), then
`external_id` (the target field that holds the source id), `email`, `phone`, `name`. For a
handful of records each key is one search call; for a large batch (an initial sync) the target
is read once, 200 records a call, into an index, which costs far fewer calls than a search per
record.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache

from connectors.base.schema import TargetSchema
from connectors.registry import system_spec
from syncs.models import FieldMapping, RecordLink, SyncFlow

INDEX_THRESHOLD = 25  # searches above which reading a target of unknown size pays off
TARGET_PAGE = 200  # records per page when reading the target
SIZE_MEMORY_SECONDS = 24 * 3600
_DIGITS = re.compile(r"\D")


def normalise(key: str, value: Any) -> str:
    """The form two values are compared in: case and spacing ignored, phones by their digits."""
    text = str(value or "").strip()
    if key == "phone":
        digits = _DIGITS.sub("", text)
        return digits[-10:] if len(digits) >= 10 else digits
    return " ".join(text.casefold().split())


@dataclass
class MatchFields:
    """Which target field each match key compares, for one flow."""

    by_key: dict[str, str] = field(default_factory=dict)
    # The target field holding the source id: what creates upsert on, so that a write repeated
    # after a crash finds its first attempt, whether or not the flow also matches on it.
    external_field: str = ""

    @classmethod
    def for_flow(
        cls, flow: SyncFlow, mappings: list[FieldMapping], schema: TargetSchema
    ) -> MatchFields:
        fields: dict[str, str] = {}
        id_paths = system_spec(flow.source.system).id_paths
        for mapping in mappings:
            spec = schema.get(mapping.target_field)
            if mapping.source_path in id_paths:
                fields.setdefault("external_id", mapping.target_field)
            elif spec is not None and spec.data_type in ("email", "phone"):
                fields.setdefault(spec.data_type, mapping.target_field)
            elif spec is not None and spec.mandatory and spec.data_type == "text":
                fields.setdefault("name", mapping.target_field)
        keys = [k for k in flow.match_keys if k != "link"]
        return cls(
            by_key={k: fields[k] for k in keys if k in fields},
            external_field=fields.get("external_id", ""),
        )


class TargetMatcher:
    """Finds target ids for unlinked records of one flow during one run."""

    def __init__(self, flow: SyncFlow, adapter: Any, fields: MatchFields) -> None:
        self.flow = flow
        self.adapter = adapter
        self.fields = fields
        self.index: dict[str, dict[str, list[str]]] | None = None
        self.claimed: dict[str, str] = {}  # target id -> the source id this run gave it to

    def _size_key(self) -> str:
        return f"syncs:target-size:{self.flow.target_id}:{self.flow.target_entity}"

    def prepare(self, unlinked: int) -> None:
        """Read the whole target once when that costs fewer calls than searching per record:
        one search per record and key, against one call per page of the target (its size is
        remembered from the last read; until then, assume a large one)."""
        if self.index is not None or not unlinked or not self.fields.by_key:
            return
        searches = unlinked * len(self.fields.by_key)
        size = cache.get(self._size_key())
        pages = math.ceil((size + 1) / TARGET_PAGE) if size is not None else INDEX_THRESHOLD
        if searches <= pages:
            return
        index: dict[str, dict[str, list[str]]] = {key: {} for key in self.fields.by_key}
        count = 0
        for page in self.adapter.changed(self.flow.target_entity, since=None):
            count += len(page)
            for record in page:
                for key, target_field in self.fields.by_key.items():
                    value = normalise(key, record.data.get(target_field))
                    if value:
                        index[key].setdefault(value, []).append(record.id)
        self.index = index
        cache.set(self._size_key(), count, SIZE_MEMORY_SECONDS)

    def remember(self, source_id: str, payload: Mapping[str, Any], target_id: str) -> None:
        """A record this run created: later records in the run can match it too."""
        self.claimed[target_id] = source_id
        if self.index is None:
            return
        for key, target_field in self.fields.by_key.items():
            value = normalise(key, payload.get(target_field))
            if value:
                self.index[key].setdefault(value, []).append(target_id)

    def match(self, source_id: str, payload: Mapping[str, Any]) -> str:
        """The target id this record matches, or "" to create it.

        A target record already linked to another source record, or matched to one earlier in
        this run, is never taken. A key that leaves more than one candidate (five contacts
        sharing a switchboard number) identifies nothing, so the next key is tried."""
        for key, target_field in self.fields.by_key.items():
            wanted = source_id if key == "external_id" else payload.get(target_field)
            value = normalise(key, wanted)
            if not value:
                continue
            candidates = [
                candidate
                for candidate in dict.fromkeys(self._candidates(key, target_field, value, wanted))
                if self._free(candidate, source_id)
            ]
            if len(candidates) == 1:
                self.claimed[candidates[0]] = source_id
                return candidates[0]
        return ""

    def _free(self, target_id: str, source_id: str) -> bool:
        if self.claimed.get(target_id, source_id) != source_id:
            return False
        return (
            not RecordLink.objects.filter(flow=self.flow, target_id=target_id)
            .exclude(source_id=source_id)
            .exists()
        )

    def _candidates(self, key: str, target_field: str, value: str, raw: Any) -> list[str]:
        if self.index is not None:
            return self.index[key].get(value, [])
        found = self.adapter.find(self.flow.target_entity, field_name=target_field, value=str(raw))
        return [r.id for r in found if normalise(key, r.data.get(target_field)) == value]
