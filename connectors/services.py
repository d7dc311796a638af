"""Connection services: what the admin buttons and views call."""

from __future__ import annotations

import logging

from django.utils import timezone

from connectors.base.exceptions import ConnectorError, PermanentError
from connectors.models import Connection
from connectors.registry import system_spec

logger = logging.getLogger(__name__)


def mask_secret(value: str) -> str:
    """Enough of a secret to recognise it, never enough to use it."""
    if not value:
        return "—"
    return "••••" + value[-4:] if len(value) >= 12 else "••••"


def connection_test(connection: Connection) -> str:
    """Call the remote system's cheapest read and say what it answered; record the outcome."""
    spec = system_spec(connection.system)
    if spec.client is None:
        raise PermanentError(
            f"{connection.get_system_display()} connects through the Web Connector, not an API call.",
            system=connection.system,
        )
    try:
        name = spec.client(connection).ping()
    except ConnectorError as exc:
        Connection.objects.filter(pk=connection.pk).update(last_error=str(exc)[:2000])
        connection.refresh_from_db(fields=["last_error", "status"])
        raise
    now = timezone.now()
    Connection.objects.filter(pk=connection.pk).update(last_ok_at=now, last_error="")
    connection.last_ok_at, connection.last_error = now, ""
    return name
