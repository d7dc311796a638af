"""What the database itself refuses, and how rows read in the admin."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from syncs.models import ChangeEvent, FieldMapping, SyncError, SyncFlow

pytestmark = pytest.mark.django_db


def test_a_flow_needs_two_different_connections(qbo):
    with pytest.raises(IntegrityError), transaction.atomic():
        SyncFlow.objects.create(
            name="Loop", source=qbo, target=qbo, source_entity="Customer", target_entity="Customer"
        )


def test_one_flow_per_pair_of_entities(flow):
    with pytest.raises(IntegrityError), transaction.atomic():
        SyncFlow.objects.create(
            name="Again",
            source=flow.source,
            target=flow.target,
            source_entity="Customer",
            target_entity="Accounts",
        )


def test_a_paused_flow_says_since_when(flow):
    with pytest.raises(IntegrityError), transaction.atomic():
        SyncFlow.objects.filter(pk=flow.pk).update(state="paused")
    SyncFlow.objects.filter(pk=flow.pk).update(state="paused", paused_at=timezone.now())


def test_flow_validation_for_the_admin_form(flow):
    flow.match_keys = ["email", "fax"]
    with pytest.raises(ValidationError, match="match_keys"):
        flow.clean()
    flow.match_keys = ["link", "external_id", "email", "phone", "name"]
    flow.clean()
    assert str(flow) == "Customers to Accounts"
    assert SyncFlow().match_keys == ["link", "email", "phone", "name"]


def test_one_mapping_per_target_field_and_per_source_path_on_the_way_back(flow):
    FieldMapping.objects.create(flow=flow, source_path="DisplayName", target_field="Account_Name")
    with pytest.raises(IntegrityError), transaction.atomic():
        FieldMapping.objects.create(
            flow=flow, source_path="CompanyName", target_field="Account_Name"
        )
    FieldMapping.objects.create(
        flow=flow, source_path="BillAddr.City", target_field="Billing_City", direction="both"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        FieldMapping.objects.create(
            flow=flow, source_path="BillAddr.City", target_field="City", direction="to_source"
        )
    # Two fields may read the same source path on the way out.
    mapping = FieldMapping.objects.create(
        flow=flow, source_path="DisplayName", target_field="Description"
    )
    assert str(mapping) == "DisplayName -> Description"
    both = FieldMapping(source_path="A", target_field="B", direction="both")
    back = FieldMapping(source_path="A", target_field="B", direction="to_source")
    assert (str(both), str(back)) == ("A <-> B", "A <- B")


def test_a_processing_event_has_a_lease(qbo):
    event = ChangeEvent.objects.create(
        connection=qbo, system="qbo", entity="Customer", external_id="2", origin="cdc"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ChangeEvent.objects.filter(pk=event.pk).update(status="processing")
    assert str(event) == "qbo Customer 2 unknown"


def test_an_error_names_its_record(flow):
    with pytest.raises(IntegrityError), transaction.atomic():
        SyncError.objects.create(flow=flow, category="unknown", message="?")
    error = SyncError.objects.create(
        flow=flow, category="name_conflict", message="Duplicate Name Exists Error", source_id="2"
    )
    assert str(error) == "Name conflict: 2"
    assert error.is_open
