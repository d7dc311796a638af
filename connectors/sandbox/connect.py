"""Connect the product to the sandbox the way a person would: the product's own authorize URL,
the fake's consent form approved, the redirect handed to the product's own callback code. No
token is ever written into the database by hand. Used by `seed_demo` and the end-to-end tests.
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qsl, urlsplit

from connectors.base.http import build_session
from connectors.base.oauth import CallbackResult
from connectors.models import Connection
from connectors.oauth import oauth_authorize_url, oauth_callback
from connectors.zoho_books.organizations import books_organizations, connection_set_organization


class SandboxConsentError(RuntimeError):
    """The fake's consent page did not redirect back with a code."""


def sandbox_urls(system: str, base_url: str) -> dict[str, str]:
    """The base-URL overrides that point a connection of `system` at the sandbox on `base_url`."""
    base = base_url.rstrip("/")
    if system == Connection.System.QBO:
        return {"oauth_base_url": f"{base}/sandbox/qbo", "api_base_url": f"{base}/sandbox/qbo"}
    # Zoho: the token answer's api_domain points the API calls at the sandbox by itself.
    return {"oauth_base_url": f"{base}/sandbox/zoho/accounts", "api_base_url": ""}


def sandbox_consent(connection: Connection, **form: str) -> CallbackResult:
    """Approve the fake's consent page for `connection` and complete the callback.

    `form` adds the consent form's choices (QBO `realm_id`; Zoho `org_id`, `books_org_id`).
    """
    url = oauth_authorize_url(connection)
    response = build_session().post(url, data={"approve": "1", **form}, allow_redirects=False)
    location = response.headers.get("Location", "")
    if response.status_code not in (301, 302, 303) or "code=" not in location:
        raise SandboxConsentError(
            f"The sandbox consent page answered {response.status_code}: {response.text[:200]}"
        )
    return oauth_callback(dict(parse_qsl(urlsplit(location).query)))


def sandbox_connection_create(
    *, system: str, name: str, base_url: str, organization_id: str = "", **form: str
) -> Connection:
    """A new connection of `system`, connected to the sandbox on `base_url` through OAuth."""
    connection = Connection.objects.create(
        system=system,
        name=name,
        environment=Connection.Environment.SANDBOX,
        client_id=f"sandbox-{system}-{secrets.token_hex(6)}",
        client_secret=secrets.token_urlsafe(24),
        **sandbox_urls(system, base_url),
    )
    result = sandbox_consent(connection, **form)
    connection.refresh_from_db()  # the callback saved its own copy of the row
    if result.needs_organization_choice:
        choices = [o.organization_id for o in books_organizations(connection)]
        connection_set_organization(
            connection, organization_id if organization_id in choices else choices[0]
        )
    connection.refresh_from_db()
    return connection
