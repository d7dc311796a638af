"""What a QuickBooks Desktop connection's admin page links to: its company file's Web Connector
login and .qwc (set up on a page of their own), or the page to set them up."""

from __future__ import annotations

from django.urls import reverse

from connectors.models import Connection
from connectors.qbd.models import QbdCompany


def admin_links(connection: Connection) -> list[tuple[str, str]]:
    company = QbdCompany.objects.filter(connection=connection).first()
    if company is None:
        url = reverse("admin:qbd_qbdcompany_add") + f"?connection={connection.pk}"
        return [("Set up the Web Connector login", url)]
    return [
        (
            "Web Connector login and sessions",
            reverse("admin:qbd_qbdcompany_change", args=[company.pk]),
        ),
        ("Download .qwc", reverse("qbd:qwc", args=[company.pk])),
    ]
