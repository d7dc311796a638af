"""Every adapter keeps the same promises to the engine (`connectors.base.adapter.Adapter`),
checked against its sandbox fake over real HTTP."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.base.exceptions import PermanentError
from connectors.base.records import WriteItem
from connectors.base.schema import TargetSchema
from tests.contract.conftest import Case

pytestmark = pytest.mark.django_db(transaction=True)


def names(n: int) -> list[str]:
    tag = uuid.uuid4().hex[:6]
    return [f"Contract {tag} {i:02d}" for i in range(n)]


def all_ids(case: Case, **kwargs) -> list[str]:
    return [r.id for page in case.adapter.listing(case.entity, since=None, **kwargs) for r in page]


def test_listing_is_stable_and_resumes_where_it_stopped(case: Case):
    seeded = [case.seed(name) for name in names(5)]
    listed = all_ids(case)
    assert set(seeded) <= set(listed)
    assert all_ids(case) == listed, "the same order every time"
    assert all_ids(case, skip=2) == listed[2:]


def test_count_is_the_listing_or_unknown(case: Case):
    for name in names(3):
        case.seed(name)
    count = case.adapter.count(case.entity, since=None)
    assert count is None or count == len(all_ids(case))


def test_changed_since_a_moment(case: Case):
    before = timezone.now() - timedelta(seconds=2)
    seeded = {case.seed(name) for name in names(2)}
    changed = {r.id for page in case.adapter.changed(case.entity, since=before) for r in page}
    assert seeded <= changed
    later = timezone.now() + timedelta(minutes=5)
    assert not [r for page in case.adapter.changed(case.entity, since=later) for r in page]


def test_fetch_by_id_leaves_out_the_unknown(case: Case):
    first, second = (case.seed(name) for name in names(2))
    records = case.adapter.fetch(case.entity, [first, "999999999999", second])
    assert sorted(r.id for r in records) == sorted([first, second])
    for record in records:
        assert record.version and record.modified_at is not None and not record.deleted
        assert record.name.startswith("Contract ")


def test_find_by_a_field(case: Case):
    wanted, other = names(2)
    record_id = case.seed(wanted)
    case.seed(other)
    found = case.adapter.find(case.entity, field_name=case.name_field, value=wanted)
    assert [r.id for r in found] == [record_id]
    assert case.adapter.find(case.entity, field_name=case.name_field, value="no such one") == []


def test_write_answers_each_item_in_order_and_a_refusal_fails_only_its_item(case: Case):
    good, also_good = names(2)
    items = [
        WriteItem(key="a", payload=case.payload(good), match=case.match(good)),
        WriteItem(key="bad", payload=case.invalid),
        WriteItem(key="b", payload=case.payload(also_good), match=case.match(also_good)),
    ]
    outcomes = case.adapter.write(case.entity, items)

    assert [o.key for o in outcomes] == ["a", "bad", "b"]
    assert [o.ok for o in outcomes] == [True, False, True]
    assert outcomes[1].error is not None and outcomes[1].error.system == case.system
    assert outcomes[1].error.code, "the vendor's own code is kept"
    written = case.adapter.fetch(case.entity, [outcomes[0].target_id, outcomes[2].target_id])
    assert sorted(r.name for r in written) == sorted([good, also_good])
    assert all(o.version for o in outcomes if o.ok)


def test_an_update_bumps_the_version(case: Case):
    (name,) = names(1)
    record_id = case.seed(name)
    (before,) = case.adapter.fetch(case.entity, [record_id])
    renamed = f"{name} renamed"
    (outcome,) = case.adapter.write(
        case.entity,
        [
            WriteItem(
                key=record_id,
                payload=case.payload(renamed),
                target_id=record_id,
                target_version=before.version,
            )
        ],
    )
    assert outcome.ok and outcome.target_id == record_id
    (after,) = case.adapter.fetch(case.entity, [record_id])
    assert after.version == outcome.version
    if case.version_is_second:
        assert after.modified_at >= before.modified_at
    else:
        assert after.version != before.version
    assert after.name == renamed


def test_a_record_deleted_at_the_vendor_reads_as_gone(case: Case):
    (name,) = names(1)
    record_id = case.seed(name)
    case.vendor_delete(record_id)
    records = case.adapter.fetch(case.entity, [record_id])
    assert records == [] or records[0].deleted or not records[0].active


def test_deactivate_marks_inactive_or_says_how(case: Case):
    (name,) = names(1)
    record_id = case.seed(name)
    if not case.deactivates:
        with pytest.raises(PermanentError):
            case.adapter.deactivate(case.entity, record_id)
        return
    outcome = case.adapter.deactivate(case.entity, record_id)
    assert outcome.ok
    (record,) = case.adapter.fetch(case.entity, [record_id])
    assert not record.active


def test_schema_describes_the_entity(case: Case):
    schema = case.adapter.schema(case.entity)
    assert isinstance(schema, TargetSchema) and schema.label
    assert all(name == spec.api_name for name, spec in schema.fields.items())
    if schema.fields:
        assert case.name_field in schema.fields
