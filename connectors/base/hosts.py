"""Where a connection's tokens and secrets may go: the vendor's documented hosts, and nothing
else in production.

A connection's API, OAuth and accounts-server URLs normally come from the vendor's hosts for its
environment and data centre. An override (`api_base_url`, `oauth_base_url`) and a Zoho
`api_domain` or accounts server are accepted only when they point at one of those hosts, at the
sandbox on this server (`PUBLIC_BASE_URL` + `/sandbox/`, only while `SANDBOX_ENABLED`), or at a
host the operator listed in `CONNECTION_URL_ALLOWED_HOSTS`. Every request that carries a
credential is checked here before it leaves (`ApiSession`, the token calls), so a URL stored
before this rule, or written behind the admin's back, still never receives a token.

Reference: https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0
Reference: https://www.zoho.com/crm/developer/docs/api/v8/multi-dc.html
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

from connectors.base.exceptions import PermanentError


class HostNotAllowed(PermanentError):
    """A URL that would carry a connection's credentials points outside the vendor's hosts."""


def sandbox_prefix() -> str:
    """The sandbox's address on this server; empty when the sandbox is off."""
    if not settings.SANDBOX_ENABLED:
        return ""
    return settings.PUBLIC_BASE_URL.rstrip("/") + "/sandbox/"


def url_allowed(url: str, vendor_hosts: frozenset[str]) -> bool:
    """Whether `url` may receive the credentials of a connection whose vendor serves from
    `vendor_hosts` (its registry entry's `hosts`)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if not host or parts.username or parts.password:
        return False
    if parts.scheme == "https" and host in vendor_hosts:
        return True
    prefix = sandbox_prefix()
    if prefix and f"{url.strip().rstrip('/')}/".startswith(prefix):
        return True
    listed = {h.strip().lower() for h in settings.CONNECTION_URL_ALLOWED_HOSTS if h.strip()}
    return parts.scheme in ("https", "http") and host in listed


def url_check(
    url: str, vendor_hosts: frozenset[str], *, system: str, what: str = "request"
) -> None:
    """Raise `HostNotAllowed` unless `url` may receive this system's credentials."""
    if not url_allowed(url, vendor_hosts):
        host = urlsplit(url).netloc or url[:80]
        raise HostNotAllowed(
            f"Refused to send this {what} to {host}: it is not one of the vendor's own hosts. "
            "URL overrides may point only at the sandbox (with SANDBOX_ENABLED) or at a host "
            "listed in CONNECTION_URL_ALLOWED_HOSTS.",
            system=system,
            code="host_not_allowed",
        )


def override_problem(url: str, vendor_hosts: frozenset[str]) -> str:
    """What is wrong with an override an admin typed, or "" when it is allowed."""
    if not url or url_allowed(url, vendor_hosts):
        return ""
    prefix = sandbox_prefix()
    where = f"the sandbox ({prefix})" if prefix else "the sandbox (it is off on this server)"
    return (
        f"{urlsplit(url).netloc or url} is not one of the vendor's hosts. An override may point "
        f"only at {where} or at a host listed in CONNECTION_URL_ALLOWED_HOSTS."
    )
