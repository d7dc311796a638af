"""The .qwc file a finance admin gives the Web Connector: where our service is, which user it
logs in as, and the GUIDs that tie it to one company file. The password is never in it (the
admin types it into the Web Connector, which keeps it encrypted)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.urls import reverse
from lxml import etree

from connectors.qbd.models import QbdCompany

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def public_url(path: str) -> str:
    """`path` under PUBLIC_BASE_URL, over https unless it is this machine (the Web Connector
    refuses plain http anywhere else)."""
    parts = urlsplit(f"{settings.PUBLIC_BASE_URL}{path}")
    scheme = parts.scheme if parts.hostname in LOCAL_HOSTS else "https"
    return urlunsplit((scheme, *parts[1:]))


def guid(value: object) -> str:
    return "{" + str(value).upper() + "}"


def qwc_document(company: QbdCompany) -> str:
    root = etree.Element("QBWCXML")
    fields = [
        ("AppName", f"ml-connector {company.connection.name}"[:100]),
        ("AppID", ""),
        ("AppURL", public_url(reverse("qbd:qbwc"))),
        ("AppDescription", f"Keeps {company.connection.name} in agreement with Zoho CRM."[:80]),
        ("AppSupport", public_url(reverse("qbd:support", args=[company.file_id]))),
        ("UserName", company.username),
        ("OwnerID", guid(company.owner_id)),
        ("FileID", guid(company.file_id)),
        ("QBType", "QBFS"),
    ]
    for name, value in fields:
        etree.SubElement(root, name).text = value
    scheduler = etree.SubElement(root, "Scheduler")
    etree.SubElement(scheduler, "RunEveryNMinutes").text = str(company.poll_minutes)
    etree.SubElement(root, "IsReadOnly").text = "false"
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True).decode()


def qwc_filename(company: QbdCompany) -> str:
    safe = "".join(c if c.isalnum() else "-" for c in company.connection.name).strip("-")
    return f"ml-connector-{safe or company.pk}.qwc"
