"""Which Zoho Books organization a connection syncs: kept when it is still there, taken when
there is one, asked for when there are several."""

from __future__ import annotations

from connectors.base.exceptions import PermanentError
from connectors.base.oauth import CallbackResult
from connectors.models import Connection
from connectors.zoho_books.client import BooksOrganization, ZohoBooksClient


def books_organizations(connection: Connection) -> list[BooksOrganization]:
    return ZohoBooksClient(connection).organizations()


def books_organization_after_connect(connection: Connection) -> CallbackResult:
    """After Zoho Books access is granted: keep the one organization, or ask which one."""
    organizations = books_organizations(connection)
    if connection.organization_id in {o.organization_id for o in organizations}:
        return CallbackResult(connection=connection, message=f"{connection.name} is reconnected.")
    if len(organizations) == 1:
        connection_set_organization(connection, organizations[0].organization_id)
        return CallbackResult(
            connection=connection,
            message=f"{connection.name} is connected to {organizations[0].name}.",
        )
    if not organizations:
        raise PermanentError(
            "This Zoho account has no Zoho Books organization.", system=connection.system
        )
    return CallbackResult(
        connection=connection,
        message="This Zoho account has several Zoho Books organizations: choose one.",
        needs_organization_choice=True,
    )


def connection_set_organization(connection: Connection, organization_id: str) -> None:
    Connection.objects.filter(pk=connection.pk).update(organization_id=organization_id)
    connection.organization_id = organization_id
