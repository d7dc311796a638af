"""What every OAuth server is to the product: where to send the browser, how to exchange codes
and refresh tokens, and what a callback gave. The vendors' own differences are in
`connectors.oauth_providers`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.models import Connection


class OAuthCallbackError(Exception):
    """The callback cannot be accepted (bad state, bad parameters); nothing was saved."""


@dataclass(frozen=True)
class CallbackResult:
    connection: Connection
    denied: bool = False
    message: str = ""
    needs_organization_choice: bool = False


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    expires_in: int
    refresh_token: str = ""
    refresh_expires_in: int | None = None
    refresh_hard_expires_in: int | None = None
    api_domain: str = ""


class OAuthProvider:
    """What differs between vendors' OAuth servers."""

    def scopes(self, connection: Connection) -> str:
        raise NotImplementedError

    def authorize_url(self, connection: Connection) -> str:
        raise NotImplementedError

    def extra_authorize_params(self) -> dict[str, str]:
        return {}

    def token_url(self, connection: Connection) -> str:
        raise NotImplementedError

    def callback_apply(self, connection: Connection, params: Mapping[str, str]) -> None:
        """Check and keep what the vendor adds to the redirect (realm, accounts server)."""

    def token_request(self, connection: Connection, grant: dict[str, str]) -> TokenSet:
        raise NotImplementedError

    tokens_per_window: int | None = None
    hosts: frozenset[str] = frozenset()  # where its tokens and secrets may go
