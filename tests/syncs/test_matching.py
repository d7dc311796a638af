"""Which target fields a flow matches on, and which one creates upsert on."""

from __future__ import annotations

import pytest

from connectors.base.schema import FieldSpec, TargetSchema
from syncs.matching import MatchFields
from syncs.services import flow_create_with_defaults

pytestmark = pytest.mark.django_db

ACCOUNTS = TargetSchema.of(
    "Zoho CRM Accounts",
    [
        FieldSpec("Account_Name", "text", 200, mandatory=True),
        FieldSpec("Phone", "phone", 30),
        FieldSpec("QBO_Id", "text", 50),
    ],
)


def test_match_keys_map_to_the_target_fields_of_the_mappings(qbo, crm):
    flow = flow_create_with_defaults(
        name="A", source=qbo, target=crm, source_entity="Customer", target_entity="Accounts"
    )
    fields = MatchFields.for_flow(flow, list(flow.mappings.all()), ACCOUNTS)
    assert fields.by_key == {"external_id": "QBO_Id", "name": "Account_Name", "phone": "Phone"}
    assert fields.external_field == "QBO_Id"


def test_creates_upsert_on_the_source_id_even_when_the_flow_does_not_match_on_it(qbo, crm):
    flow = flow_create_with_defaults(
        name="A", source=qbo, target=crm, source_entity="Customer", target_entity="Accounts"
    )
    flow.match_keys = ["link", "name"]
    fields = MatchFields.for_flow(flow, list(flow.mappings.all()), ACCOUNTS)
    assert fields.by_key == {"name": "Account_Name"}
    assert fields.external_field == "QBO_Id"
