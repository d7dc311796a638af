"""Which package serves which `Connection.system`: the only place that branches on the name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from connectors.models import Connection
from connectors.oauth import CallbackResult
from connectors.oauth_providers import IntuitOAuth, OAuthProvider, ZohoOAuth
from connectors.qbo.client import QboClient
from connectors.zoho_books.client import ZohoBooksClient
from connectors.zoho_crm.client import ZohoCrmClient


class PingClient(Protocol):
    def ping(self) -> str:
        """The remote company's or organization's name; raises ConnectorError on failure."""
        ...


@dataclass(frozen=True)
class SystemSpec:
    system: str
    oauth: OAuthProvider | None
    client: Callable[[Connection], PingClient] | None
    after_connect: Callable[[Connection], CallbackResult] | None = None
    adapter: Callable[[Connection], Any] | None = None


def _books_after_connect(connection: Connection) -> CallbackResult:
    from connectors.services import books_organization_after_connect

    return books_organization_after_connect(connection)


def _qbo_adapter(connection: Connection) -> Any:
    from connectors.qbo.adapter import QboAdapter  # adapters speak the engine's types

    return QboAdapter(connection)


def _crm_adapter(connection: Connection) -> Any:
    from connectors.zoho_crm.adapter import ZohoCrmAdapter

    return ZohoCrmAdapter(connection)


CRM_SCOPES = "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.notifications.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ"
BOOKS_SCOPES = "ZohoBooks.fullaccess.all"

_REGISTRY: dict[str, SystemSpec] = {
    Connection.System.QBO: SystemSpec(
        "qbo", oauth=IntuitOAuth(), client=QboClient, adapter=_qbo_adapter
    ),
    Connection.System.QBD: SystemSpec("qbd", oauth=None, client=None),
    Connection.System.ZOHO_CRM: SystemSpec(
        "zoho_crm", oauth=ZohoOAuth(CRM_SCOPES), client=ZohoCrmClient, adapter=_crm_adapter
    ),
    Connection.System.ZOHO_BOOKS: SystemSpec(
        "zoho_books",
        oauth=ZohoOAuth(BOOKS_SCOPES),
        client=ZohoBooksClient,
        after_connect=_books_after_connect,
    ),
}


def system_spec(system: str) -> SystemSpec:
    return _REGISTRY[system]


def adapter_for(connection: Connection) -> Any:
    """The engine's view of `connection` (see `connectors.adapter.Adapter`)."""
    factory = system_spec(connection.system).adapter
    if factory is None:
        raise LookupError(f"{connection.get_system_display()} has no adapter yet.")
    return factory(connection)
