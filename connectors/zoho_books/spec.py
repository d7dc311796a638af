"""Zoho Books' registry entry."""

from __future__ import annotations

from connectors.base.spec import Delivery, SystemSpec
from connectors.oauth_providers import ZohoOAuth
from connectors.vendor_hosts import ZOHO_HOSTS
from connectors.zoho_books.adapter import ZohoBooksAdapter
from connectors.zoho_books.client import ZohoBooksClient
from connectors.zoho_books.errors import RULES
from connectors.zoho_books.organizations import books_organization_after_connect
from connectors.zoho_books.webhooks import receive

SCOPES = "ZohoBooks.fullaccess.all"

SPEC = SystemSpec(
    system="zoho_books",
    delivery=Delivery.BOTH,  # webhooks carry the record; the API reads it again
    hosts=ZOHO_HOSTS,
    error_rules=RULES,
    oauth=ZohoOAuth(SCOPES),
    client=ZohoBooksClient,
    adapter=ZohoBooksAdapter,
    id_paths=frozenset({"contact_id", "item_id", "invoice_id", "payment_id"}),
    after_connect=books_organization_after_connect,
    region=lambda connection: connection.get_data_centre_display(),
    awaits_choice=lambda connection: bool(
        connection.refresh_token and not connection.organization_id
    ),
    webhook_path="zoho-books",
    webhooks=receive,
)
