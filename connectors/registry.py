"""Which package serves which `Connection.system`: the only place that branches on the name.

Each system's package describes itself in `spec.py` (its `SPEC`); the registry loads that module
the first time the system is asked for, by its dotted path, so that importing the registry
imports no vendor code (and no vendor code can loop back through it).
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING

from connectors.base.adapter import Adapter
from connectors.base.spec import SystemSpec

if TYPE_CHECKING:
    from connectors.models import Connection

SPECS: dict[str, str] = {
    "qbo": "connectors.qbo.spec",
    "qbd": "connectors.qbd.spec",
    "zoho_crm": "connectors.zoho_crm.spec",
    "zoho_books": "connectors.zoho_books.spec",
}


@cache
def system_spec(system: str) -> SystemSpec:
    spec = import_module(SPECS[system]).SPEC
    if not isinstance(spec, SystemSpec) or spec.system != system:
        raise TypeError(f"{SPECS[system]}.SPEC does not describe {system!r}")
    return spec


def adapter_for(connection: Connection) -> Adapter:
    """The engine's view of `connection` (see `connectors.base.adapter.Adapter`)."""
    factory = system_spec(connection.system).adapter
    if factory is None:
        raise LookupError(f"{connection.get_system_display()} has no adapter yet.")
    return factory(connection)
