"""The QBO adapter against the sandbox over real HTTP: an update sent with a SyncToken that moved
(someone edited the customer in QuickBooks after we read it) is re-read and re-sent, and the
customer ends up carrying both edits."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from connectors.base.records import WriteItem
from connectors.models import Connection
from connectors.qbo.adapter import QboAdapter
from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.qbo.models import Company
from connectors.sandbox.qbo.selectors import record_get
from tests.integration.conftest import LIVE, requests_to

pytestmark = LIVE


def test_an_update_with_a_stale_sync_token_is_re_read_and_lands_on_the_edited_customer(
    qbo: Connection, qbo_company: Company
) -> None:
    edited = qbo_sandbox.record_create(
        company=qbo_company, entity="Customer", data={"DisplayName": "Amy's Bird Sanctuary"}
    )
    untouched = qbo_sandbox.record_create(
        company=qbo_company, entity="Customer", data={"DisplayName": "Bill's Windsurf Shop"}
    )
    qbo_sandbox.record_update(  # an edit in QuickBooks after we read it: SyncToken 0 -> 1
        company=qbo_company, entity="Customer", record_id=edited["Id"], data={"Notes": "In QBO"}
    )

    outcomes = QboAdapter(qbo).write(
        "Customer",
        [
            WriteItem(
                key="crm-amy",
                payload={"CompanyName": "Amy's (from CRM)"},
                target_id=edited["Id"],
                target_version="0",
            ),
            WriteItem(
                key="crm-bill",
                payload={"CompanyName": "Bill's (from CRM)"},
                target_id=untouched["Id"],
                target_version="0",
            ),
        ],
    )

    assert [(o.key, o.ok, o.target_id, o.version) for o in outcomes] == [
        ("crm-amy", True, edited["Id"], "2"),
        ("crm-bill", True, untouched["Id"], "1"),
    ]
    amy = record_get(company=qbo_company, entity="Customer", record_id=edited["Id"])
    assert (amy["Notes"], amy["CompanyName"], amy["SyncToken"]) == (
        "In QBO",
        "Amy's (from CRM)",
        "2",
    )
    api = f"/sandbox/qbo/v3/company/{qbo.realm_id}"
    first, second = requests_to(f"{api}/batch")
    assert len(json.loads(first.request_body)["BatchItemRequest"]) == 2
    [resent] = json.loads(second.request_body)["BatchItemRequest"]
    assert resent["Customer"] == {
        "CompanyName": "Amy's (from CRM)",
        "Id": edited["Id"],
        "SyncToken": "1",
        "sparse": True,
    }
    request_ids = [parse_qs(r.query)["requestid"][0] for r in (first, second)]
    assert request_ids[0] != request_ids[1]
    [read] = requests_to(f"{api}/query")
    assert f"Id IN ('{edited['Id']}')" in parse_qs(read.query)["query"][0]
