"""What a pair of systems' defaults are made of: a `DefaultFlow` per pair of entities, and the
rule helper their mapping tables are written with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from syncs.mapping import MappingRule
from syncs.models import FieldMapping, SyncFlow

T = FieldMapping.Transform
BOTH = FieldMapping.Direction.BOTH


def rule(
    source_path: str,
    target_field: str,
    transform: str = T.TRIM,
    *,
    both: bool = False,
    required: bool = False,
    **options: Any,
) -> MappingRule:
    """A mapping of a default flow: trimmed by default, to the target only unless `both`."""
    return MappingRule(
        source_path=source_path,
        target_field=target_field,
        transform=transform,
        transform_options=options,
        required=required,
        direction=BOTH if both else FieldMapping.Direction.TO_TARGET,
    )


@dataclass(frozen=True)
class DefaultFlow:
    mappings: tuple[MappingRule, ...]
    match_keys: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)
    # Two-way where the accounting side is edited from the CRM too (QuickBooks Desktop).
    direction: str = SyncFlow.Direction.ONE_WAY
