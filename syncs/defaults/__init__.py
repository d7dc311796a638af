"""The flows and mappings a new flow starts with, as data: one module per pair of systems,
named `<source>__<target>.py`, each giving its `FLOWS` by (source entity, target entity)."""

from __future__ import annotations

from syncs.defaults import qbd__zoho_crm, qbo__zoho_crm
from syncs.defaults.base import DefaultFlow

# (source system, source entity, target system, target entity) -> defaults.
DEFAULT_FLOWS: dict[tuple[str, str, str, str], DefaultFlow] = {
    (source, source_entity, target, target_entity): flow
    for (source, target), module in {
        ("qbo", "zoho_crm"): qbo__zoho_crm,
        ("qbd", "zoho_crm"): qbd__zoho_crm,
    }.items()
    for (source_entity, target_entity), flow in module.FLOWS.items()
}


def default_flow_for(
    source_system: str, source_entity: str, target_system: str, target_entity: str
) -> DefaultFlow | None:
    return DEFAULT_FLOWS.get((source_system, source_entity, target_system, target_entity))
