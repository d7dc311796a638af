"""End-to-end fixtures. The live-sandbox connections (`qbo`, `crm`, ...) come from
tests/live_sandbox.py."""

from __future__ import annotations

import pytest

from connectors.models import Connection
from syncs.models import SyncFlow
from syncs.services import flow_create_with_defaults

# Every end-to-end test shares the live server with the product's own HTTP calls.
E2E = pytest.mark.django_db(transaction=True)


@pytest.fixture
def flows(qbo: Connection, crm: Connection) -> dict[str, SyncFlow]:
    """The default QBO customer flows: Customer -> Accounts and Customer -> Contacts."""
    return {
        target: flow_create_with_defaults(
            name=f"QBO customers to CRM {target}",
            source=qbo,
            target=crm,
            source_entity="Customer",
            target_entity=target,
        )
        for target in ("Accounts", "Contacts")
    }
