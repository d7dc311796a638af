"""The fakes' answers and the vendors' recorded ones, read by the same client code, give the same
typed objects: what the engine sees cannot tell the sandbox from production.

The recorded side is served by `responses` at a vendor-looking host; the fake's over real HTTP.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import responses

from connectors.models import Connection
from connectors.oauth_providers import ZohoOAuth
from connectors.qbo.client import QboClient
from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.qbo.models import Company
from connectors.sandbox.zoho import services as zoho_sandbox
from connectors.sandbox.zoho.models import CrmOrg
from connectors.zoho_crm.client import ZohoCrmClient
from connectors.zoho_crm.spec import SCOPES as CRM_SCOPES
from tests.integration.conftest import LIVE, recorded

pytestmark = LIVE

RECORDED_QBO = "https://quickbooks.api.intuit.com"  # served by `responses`
RECORDED_ZOHO = "https://www.zohoapis.com"  # served by `responses`


def kinds(value: Any) -> Any:
    """The type of every field of a parsed object (datetimes: aware or not)."""
    if dataclasses.is_dataclass(value):
        return {f.name: kinds(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return ("datetime", value.tzinfo is not None)
    if isinstance(value, dict):
        return dict
    return type(value)


def qbo_recorded_client(qbo: Connection) -> QboClient:
    client = QboClient(qbo)
    client.base_url = RECORDED_QBO
    return client


def test_a_qbo_customer_read_from_the_fake_parses_like_the_recorded_one(
    qbo: Connection, qbo_company: Company, mock_http: responses.RequestsMock
) -> None:
    fixture = recorded("qbo/customer_read_response.json")
    mock_http.get(f"{RECORDED_QBO}/v3/company/{qbo.realm_id}/customer/2", json=fixture)
    fields = ("DisplayName", "GivenName", "FamilyName", "CompanyName", "PrimaryEmailAddr")
    created = qbo_sandbox.record_create(
        company=qbo_company,
        entity="Customer",
        data={name: fixture["Customer"][name] for name in fields},
    )

    expected = qbo_recorded_client(qbo).read("Customer", "2")
    actual = QboClient(qbo).read("Customer", created["Id"])

    assert kinds(actual) == kinds(expected)
    assert actual.id.isdigit() and actual.sync_token.isdigit()
    assert (actual.active, actual.deleted) == (expected.active, expected.deleted)
    assert {name: actual.data[name] for name in fields} == {
        name: expected.data[name] for name in fields
    }


def test_qbo_batch_faults_from_the_fake_parse_like_the_recorded_ones(
    qbo: Connection, qbo_company: Company, mock_http: responses.RequestsMock
) -> None:
    mock_http.post(
        f"{RECORDED_QBO}/v3/company/{qbo.realm_id}/batch",
        json=recorded("qbo/batch_response_with_faults.json"),
    )
    taken = qbo_sandbox.record_create(
        company=qbo_company, entity="Customer", data={"DisplayName": "Bill's Windsurf Shop"}
    )
    qbo_sandbox.record_update(
        company=qbo_company, entity="Customer", record_id=taken["Id"], data={"Notes": "x"}
    )
    operations = [
        ("create", "Vendor", {"DisplayName": "Bill's Windsurf Shop"}),
        ("update", "Customer", {"Id": "999", "SyncToken": "0", "sparse": True}),
        ("update", "Customer", {"Id": taken["Id"], "SyncToken": "0", "sparse": True}),
    ]

    expected = qbo_recorded_client(qbo).batch(operations)[:3]
    actual = QboClient(qbo).batch(operations)

    def reading(results: list) -> list[tuple[type, str, str]]:
        return [(type(r.error), r.error.code, r.error.message.split(":")[0]) for r in results]

    assert reading(actual) == reading(expected)
    assert [kinds(r.error.details) for r in actual] == [kinds(r.error.details) for r in expected]


def test_crm_upsert_results_from_the_fake_parse_like_the_recorded_ones(
    crm: Connection, crm_org: CrmOrg, mock_http: responses.RequestsMock
) -> None:
    mock_http.post(
        f"{RECORDED_ZOHO}/crm/v8/Contacts/upsert", json=recorded("zoho/crm_upsert_response.json")
    )
    zoho_sandbox.crm_record_create(
        org=crm_org, module="Contacts", data={"Last_Name": "Boyle", "Email": "p.boyle@zylker.test"}
    )
    rows = [
        {"Last_Name": "Boyle", "Email": "p.boyle@zylker.test"},
        {"Last_Name": "Smith", "Email": "w.smith@zylker.test"},
    ]
    recorded_client = ZohoCrmClient(crm)
    recorded_client.base_url = f"{RECORDED_ZOHO}/crm/v8"

    expected = recorded_client.upsert("Contacts", rows, duplicate_check_fields=["Email"])
    actual = ZohoCrmClient(crm).upsert("Contacts", rows, duplicate_check_fields=["Email"])

    assert [kinds(r) for r in actual] == [kinds(r) for r in expected]
    for mine, theirs in zip(actual, expected, strict=True):
        assert (mine.ok, mine.code, mine.message, mine.action) == (
            theirs.ok,
            theirs.code,
            theirs.message,
            theirs.action,
        )
        assert len(mine.id) == len(theirs.id) == 19 and mine.id.isdigit()
        assert set(mine.details) == set(theirs.details)


def test_a_zoho_refresh_from_the_fake_parses_like_the_recorded_one(
    crm: Connection, mock_http: responses.RequestsMock
) -> None:
    mock_http.post(
        "https://accounts.zoho.com/oauth/v2/token",
        json=recorded("zoho/token_refresh_response.json"),
    )
    provider = ZohoOAuth(CRM_SCOPES)
    grant = {"grant_type": "refresh_token", "refresh_token": crm.refresh_token}
    elsewhere = Connection(
        system=crm.system,
        client_id=crm.client_id,
        client_secret=crm.client_secret,
        oauth_base_url="https://accounts.zoho.com",
    )

    expected = provider.token_request(elsewhere, grant)
    actual = provider.token_request(crm, grant)

    assert kinds(actual) == kinds(expected)
    assert (actual.expires_in, actual.refresh_token) == (expected.expires_in, "")
    assert actual.access_token.startswith("1000.") and expected.access_token.startswith("1000.")
