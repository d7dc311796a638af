"""What a system tells us of its own accord (a webhook, a notification, a Web Connector answer),
before the engine's inbox holds it.

Each system's `webhooks.py` gives a `Receiver`: it verifies a request and turns it into
`Inbound` changes, or raises `Refused` with the status to answer. A change carries ids only (the
engine fetches the record) or, for a system that pushes its records, the whole `Record`: the
engine then does not fetch it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connectors.base.records import Record

if TYPE_CHECKING:
    from django.http import HttpRequest

    from connectors.models import Connection


@dataclass(frozen=True)
class Inbound:
    connection: Connection
    entity: str
    external_id: str
    version: str = ""
    operation: str = "unknown"  # create, update, delete, merge, void or unknown
    payload: dict[str, Any] | None = None
    record: Record | None = None


class Refused(Exception):
    """The request is not a delivery we accept; nothing of it is stored."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


Receiver = Callable[["HttpRequest"], list[Inbound]]
