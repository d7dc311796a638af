"""QuickBooks Desktop's registry entry: the Web Connector calls us, so records are pushed and
there is no API to call, no OAuth and no host to send a token to."""

from __future__ import annotations

from connectors.base.spec import Delivery, SystemSpec
from connectors.qbd.adapter import QbdAdapter
from connectors.qbd.errors import RULES
from connectors.qbd.links import admin_links

SPEC = SystemSpec(
    system="qbd",
    delivery=Delivery.PUSHED,
    error_rules=RULES,
    adapter=QbdAdapter,
    id_paths=frozenset({"ListID", "TxnID"}),
    admin_links=admin_links,
)
