"""QuickBooks Online's registry entry."""

from __future__ import annotations

from connectors.base.spec import Delivery, SystemSpec
from connectors.oauth_providers import IntuitOAuth
from connectors.qbo.adapter import REFERENCES, QboAdapter
from connectors.qbo.client import QboClient
from connectors.qbo.errors import RULES
from connectors.qbo.webhooks import receive
from connectors.vendor_hosts import INTUIT_HOSTS

SPEC = SystemSpec(
    system="qbo",
    delivery=Delivery.PULLED,
    hosts=INTUIT_HOSTS,
    error_rules=RULES,
    references=REFERENCES,
    oauth=IntuitOAuth(),
    client=QboClient,
    adapter=QboAdapter,
    region=lambda connection: connection.get_environment_display(),
    webhook_path="qbo",
    webhooks=receive,
)
