"""Zoho CRM's registry entry."""

from __future__ import annotations

from connectors.base.spec import Channels, Delivery, SystemSpec
from connectors.oauth_providers import ZohoOAuth
from connectors.vendor_hosts import ZOHO_HOSTS
from connectors.zoho_crm.adapter import REFERENCES, ZohoCrmAdapter
from connectors.zoho_crm.channels import channels_ensure, channels_renew
from connectors.zoho_crm.client import ZohoCrmClient
from connectors.zoho_crm.errors import RULES
from connectors.zoho_crm.webhooks import receive

SCOPES = "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.notifications.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ"

SPEC = SystemSpec(
    system="zoho_crm",
    delivery=Delivery.PULLED,
    hosts=ZOHO_HOSTS,
    error_rules=RULES,
    references=REFERENCES,
    oauth=ZohoOAuth(SCOPES),
    client=ZohoCrmClient,
    adapter=ZohoCrmAdapter,
    region=lambda connection: connection.get_data_centre_display(),
    channels=Channels(ensure=channels_ensure, renew=channels_renew),
    webhook_path="zoho-crm",
    webhooks=receive,
)
