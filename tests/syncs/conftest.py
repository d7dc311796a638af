"""Rows most sync tests start from: a QBO company, a Zoho CRM org, and a flow between them."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.models import Connection
from syncs.models import SyncFlow
from tests.factories import connection_create
from tests.paths import FIXTURES as SHARED_FIXTURES_ROOT

SHARED_FIXTURES = SHARED_FIXTURES_ROOT
LOCAL_FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def qbo() -> Connection:
    return connection_create(Connection.System.QBO, name="QBO sandbox")


@pytest.fixture
def crm() -> Connection:
    return connection_create(Connection.System.ZOHO_CRM, name="Zoho CRM")


@pytest.fixture
def flow(qbo: Connection, crm: Connection) -> SyncFlow:
    return SyncFlow.objects.create(
        name="Customers to Accounts",
        source=qbo,
        target=crm,
        source_entity="Customer",
        target_entity="Accounts",
    )
