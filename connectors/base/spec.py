"""A system's registry entry: everything the product needs to know of one external system,
provided by that system's package (`connectors/<system>/spec.py`), so that nothing else has to
branch on the system's name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from connectors.base.adapter import Adapter, PingClient
from connectors.base.errors import NO_RULES, VendorRules
from connectors.base.inbound import Receiver
from connectors.base.oauth import CallbackResult, OAuthProvider
from connectors.base.schema import PLAIN_REFERENCES, ReferenceShape

if TYPE_CHECKING:
    from connectors.models import Connection


class Delivery(StrEnum):
    """How records reach us: pulled (the engine calls a REST API when it likes), pushed (the
    system calls us, as the QuickBooks Web Connector does, and records arrive in its calls),
    or both (webhooks that carry the record, and an API to read it again)."""

    PULLED = "pulled"
    PUSHED = "pushed"
    BOTH = "both"


@dataclass(frozen=True)
class ChannelsEnsured:
    """What a system's `Channels.ensure` did: channels in place (subscribed, changed or already
    right), channels that failed (the error is on the channel row), and channels stopped."""

    ensured: int = 0
    failed: int = 0
    stopped: int = 0

    def __add__(self, other: ChannelsEnsured) -> ChannelsEnsured:
        return ChannelsEnsured(
            self.ensured + other.ensured, self.failed + other.failed, self.stopped + other.stopped
        )


@dataclass(frozen=True)
class Channels:
    """A system whose change notifications are subscribed per connection and expire (Zoho CRM's
    watch channels): `ensure` gets {connection id: the entities flows need watched} and makes
    the subscriptions match; `renew` extends those about to expire and says how many."""

    ensure: Callable[[Mapping[int, list[str]]], ChannelsEnsured]
    renew: Callable[[], int]


@dataclass(frozen=True)
class SystemSpec:
    system: str
    delivery: Delivery
    # The hosts that may receive this system's tokens and secrets (`connectors.base.hosts`).
    hosts: frozenset[str] = frozenset()
    error_rules: VendorRules = NO_RULES
    # How its lookup fields name other records (its adapter's schemas carry the same shape).
    references: ReferenceShape = PLAIN_REFERENCES
    # Where its records hold their own id (a mapping from one of these writes the source id).
    id_paths: frozenset[str] = frozenset({"Id"})
    oauth: OAuthProvider | None = None
    client: Callable[[Connection], PingClient] | None = None
    adapter: Callable[[Connection], Adapter] | None = None
    after_connect: Callable[[Connection], CallbackResult] | None = None
    channels: Channels | None = None
    # What the connection's admin page shows for it: where it is (a data centre, an
    # environment), and whether it still waits for a choice after connecting (a Books
    # organization).
    region: Callable[[Connection], str] | None = None
    awaits_choice: Callable[[Connection], bool] | None = None
    # Buttons on the connection's admin page: (label, URL) for what the system sets up
    # elsewhere (QuickBooks Desktop's Web Connector login and .qwc).
    admin_links: Callable[[Connection], list[tuple[str, str]]] | None = None
    # Deliveries to `/webhooks/<webhook_path>/`, verified and read by the system's own receiver.
    webhook_path: str = ""
    webhooks: Receiver | None = None
