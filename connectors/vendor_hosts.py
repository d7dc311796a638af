"""The vendors' documented hosts: the only places a connection's tokens and secrets may go
(`connectors.base.hosts`), by data centre where the vendor has several.

Reference: https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0
Reference: https://www.zoho.com/crm/developer/docs/api/v8/multi-dc.html
"""

from __future__ import annotations

from urllib.parse import urlsplit

INTUIT_HOSTS = frozenset(
    {
        "quickbooks.api.intuit.com",
        "sandbox-quickbooks.api.intuit.com",
        "oauth.platform.intuit.com",
        "appcenter.intuit.com",
    }
)

ZOHO_ACCOUNTS_SERVERS = {
    "us": "https://accounts.zoho.com",
    "eu": "https://accounts.zoho.eu",
    "in": "https://accounts.zoho.in",
    "au": "https://accounts.zoho.com.au",
    "jp": "https://accounts.zoho.jp",
    "ca": "https://accounts.zohocloud.ca",
    "cn": "https://accounts.zoho.com.cn",
    "sa": "https://accounts.zoho.sa",
}
ZOHO_API_DOMAINS = {
    "us": "https://www.zohoapis.com",
    "eu": "https://www.zohoapis.eu",
    "in": "https://www.zohoapis.in",
    "au": "https://www.zohoapis.com.au",
    "jp": "https://www.zohoapis.jp",
    "ca": "https://www.zohoapis.ca",
    "cn": "https://www.zohoapis.com.cn",
    "sa": "https://www.zohoapis.sa",
}

ZOHO_HOSTS = frozenset(
    urlsplit(url).hostname or ""
    for url in (*ZOHO_ACCOUNTS_SERVERS.values(), *ZOHO_API_DOMAINS.values())
)
