"""Reading CRM records: pages of 200, page tokens past 2,000 records, If-Modified-Since,
204/304 without a body, single records and the recycle bin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.sandbox.zoho import services
from connectors.sandbox.zoho.models import CrmPageToken, CrmRecord
from tests.sandbox.zoho.conftest import (
    SANDBOX_APPS,
    fixture,
)
from tests.sandbox.zoho.shapes import assert_same_shape

pytestmark = pytest.mark.django_db(transaction=True, available_apps=SANDBOX_APPS)


def seed_contacts(org, count: int) -> list[CrmRecord]:
    rows = [
        {"Last_Name": f"Contact {n:04d}", "Email": f"c{n}@example.test", "Phone": f"555-{n:04d}"}
        for n in range(count)
    ]
    return services.crm_records_bulk_create(org=org, module="Contacts", rows=rows, notify=False)


def test_fields_parameter_is_mandatory(zoho, crm):
    response = crm.get(f"{zoho.crm}/Contacts", timeout=10)

    assert response.status_code == 400
    assert response.json()["code"] == "REQUIRED_PARAM_MISSING"


def test_empty_module_is_204_without_body(zoho, crm):
    response = crm.get(f"{zoho.crm}/Contacts", params={"fields": "Last_Name"}, timeout=10)

    assert response.status_code == 204
    assert response.content == b""


def test_pages_hold_200_records_and_only_the_fields_asked(zoho, crm, crm_org):
    seed_contacts(crm_org, 450)

    first = crm.get(f"{zoho.crm}/Contacts", params={"fields": "Last_Name,Email"}, timeout=10)
    third = crm.get(
        f"{zoho.crm}/Contacts", params={"fields": "Last_Name", "page": 3}, timeout=10
    ).json()

    body = first.json()
    assert len(body["data"]) == 200
    assert set(body["data"][0]) == {"id", "Last_Name", "Email"}
    assert body["info"]["more_records"] is True
    assert body["info"]["page"] == 1
    assert len(third["data"]) == 50
    assert third["info"]["more_records"] is False
    assert third["info"]["next_page_token"] is None
    # The recording is of Leads with other fields; records are compared on `id`, the rest whole.
    recorded = fixture("crm_get_records_page_token_response.json")
    assert_same_shape(body, {**recorded, "data": [{"id": recorded["data"][0]["id"]}]})


def test_default_order_is_newest_id_first_and_sort_by_works(zoho, crm, crm_org):
    records = seed_contacts(crm_org, 5)
    ids = [r.record_id for r in records]

    default = crm.get(f"{zoho.crm}/Contacts", params={"fields": "Last_Name"}, timeout=10).json()
    ascending = crm.get(
        f"{zoho.crm}/Contacts",
        params={"fields": "Last_Name", "sort_by": "id", "sort_order": "asc"},
        timeout=10,
    ).json()

    assert [r["id"] for r in default["data"]] == sorted(ids, reverse=True)
    assert [r["id"] for r in ascending["data"]] == sorted(ids)
    assert all(len(i) == 19 for i in ids)


def test_per_page_above_200_is_refused(zoho, crm):
    response = crm.get(
        f"{zoho.crm}/Contacts", params={"fields": "Last_Name", "per_page": 201}, timeout=10
    )

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_DATA"


def test_page_tokens_reach_past_2000_records(zoho, crm, crm_org):
    seed_contacts(crm_org, 2105)
    params = {"fields": "Last_Name", "sort_by": "id", "sort_order": "asc"}

    seen, page, token = [], None, None
    for page_number in range(1, 11):
        page = crm.get(f"{zoho.crm}/Contacts", params={**params, "page": page_number}, timeout=10)
        seen += [r["id"] for r in page.json()["data"]]
    discrete = crm.get(f"{zoho.crm}/Contacts", params={**params, "page": 11}, timeout=10)
    token = page.json()["info"]["next_page_token"]
    smaller = {**params, "per_page": 100}  # a token page may ask for a different size
    following = crm.get(f"{zoho.crm}/Contacts", params={**smaller, "page_token": token}, timeout=10)
    seen += [r["id"] for r in following.json()["data"]]
    token = following.json()["info"]["next_page_token"]
    last = crm.get(f"{zoho.crm}/Contacts", params={**smaller, "page_token": token}, timeout=10)
    seen += [r["id"] for r in last.json()["data"]]

    assert discrete.status_code == 400
    assert discrete.json() == {
        "code": "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
        "details": {"limit": 2000},
        "message": "You can only get the first 2000 records without using page_token param",
        "status": "error",
    }
    assert following.json()["info"]["page"] == 11
    assert following.json()["info"]["count"] == 100
    assert last.json()["info"]["page"] == 12
    assert following.json()["info"]["previous_page_token"] is None
    assert last.json()["info"]["previous_page_token"] == page.json()["info"]["next_page_token"]
    assert last.json()["info"]["more_records"] is False
    assert len(seen) == 2105
    assert seen == sorted(set(seen))  # no record twice, none skipped, in order


def test_a_page_token_does_not_repeat_or_skip_records_created_meanwhile(zoho, crm, crm_org):
    seed_contacts(crm_org, 250)
    params = {"fields": "Last_Name", "sort_by": "id", "sort_order": "asc"}
    first = crm.get(f"{zoho.crm}/Contacts", params=params, timeout=10).json()
    services.crm_record_create(org=crm_org, module="Contacts", data={"Last_Name": "Latecomer"})

    second = crm.get(
        f"{zoho.crm}/Contacts",
        params={**params, "page_token": first["info"]["next_page_token"]},
        timeout=10,
    ).json()

    assert len(second["data"]) == 51
    assert second["data"][-1]["Last_Name"] == "Latecomer"
    assert not {r["id"] for r in first["data"]} & {r["id"] for r in second["data"]}


def test_page_and_page_token_together_are_ambiguous(zoho, crm, crm_org):
    seed_contacts(crm_org, 201)
    token = crm.get(f"{zoho.crm}/Contacts", params={"fields": "Last_Name"}, timeout=10).json()[
        "info"
    ]["next_page_token"]

    response = crm.get(
        f"{zoho.crm}/Contacts",
        params={"fields": "Last_Name", "page": 2, "page_token": token},
        timeout=10,
    )

    assert response.status_code == 400
    assert response.json()["code"] == "AMBIGUITY_DURING_PROCESSING"


def test_an_expired_page_token_is_refused(zoho, crm, crm_org):
    seed_contacts(crm_org, 201)
    token = crm.get(f"{zoho.crm}/Contacts", params={"fields": "Last_Name"}, timeout=10).json()[
        "info"
    ]["next_page_token"]
    CrmPageToken.objects.update(expires_at=datetime.now(tz=UTC) - timedelta(seconds=1))

    response = crm.get(
        f"{zoho.crm}/Contacts", params={"fields": "Last_Name", "page_token": token}, timeout=10
    )

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_DATA"


def test_if_modified_since_returns_only_later_changes_and_304_when_none(zoho, crm, crm_org):
    records = seed_contacts(crm_org, 3)
    an_hour_ago = datetime.now(tz=UTC) - timedelta(hours=1)
    CrmRecord.objects.update(modified_at=an_hour_ago)
    since = (an_hour_ago + timedelta(minutes=30)).isoformat(timespec="seconds")

    unchanged = crm.get(
        f"{zoho.crm}/Contacts",
        params={"fields": "Last_Name"},
        headers={"If-Modified-Since": since},
        timeout=10,
    )
    services.crm_record_update(
        org=crm_org, module="Contacts", record_id=records[1].record_id, data={"Title": "CFO"}
    )
    changed = crm.get(
        f"{zoho.crm}/Contacts",
        params={"fields": "Last_Name,Title"},
        headers={"If-Modified-Since": since},
        timeout=10,
    )

    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert changed.status_code == 200
    assert [r["id"] for r in changed.json()["data"]] == [records[1].record_id]
    assert changed.json()["data"][0]["Title"] == "CFO"


def test_modified_time_is_kept_to_the_second(zoho, crm, crm_org):
    record = services.crm_record_create(org=crm_org, module="Contacts", data={"Last_Name": "X"})
    body = crm.get(f"{zoho.crm}/Contacts/{record.record_id}", timeout=10).json()
    modified = body["data"][0]["Modified_Time"]

    same_second = crm.get(
        f"{zoho.crm}/Contacts",
        params={"fields": "Last_Name"},
        headers={"If-Modified-Since": modified},
        timeout=10,
    )

    assert datetime.fromisoformat(modified).microsecond == 0
    assert same_second.status_code == 304


def test_ids_parameter_selects_records(zoho, crm, crm_org):
    records = seed_contacts(crm_org, 4)
    wanted = [records[0].record_id, records[2].record_id]

    body = crm.get(
        f"{zoho.crm}/Contacts",
        params={"fields": "Last_Name", "ids": ",".join(wanted)},
        timeout=10,
    ).json()

    assert sorted(r["id"] for r in body["data"]) == sorted(wanted)


def test_single_record_has_every_field_and_system_fields(zoho, crm, crm_org):
    record = services.crm_record_create(
        org=crm_org,
        module="Contacts",
        data={"First_Name": "Ada", "Last_Name": "Lovelace", "Email": "ada@example.test"},
    )

    response = crm.get(f"{zoho.crm}/Contacts/{record.record_id}", timeout=10)
    missing = crm.get(f"{zoho.crm}/Contacts/{crm_org.id_prefix}999999999999", timeout=10)

    data = response.json()["data"][0]
    assert data["id"] == record.record_id
    assert data["Full_Name"] == "Ada Lovelace"
    assert data["Mobile"] is None
    assert data["Owner"]["id"] == crm_org.user_id
    assert data["Currency"] == "USD"
    assert datetime.fromisoformat(data["Created_Time"]).utcoffset() is not None
    assert missing.status_code == 204


def test_deleted_records_are_listed_from_the_recycle_bin(zoho, crm, crm_org):
    records = seed_contacts(crm_org, 2)

    deleted = crm.delete(f"{zoho.crm}/Contacts", params={"ids": records[0].record_id}, timeout=10)
    listing = crm.get(f"{zoho.crm}/Contacts/deleted", params={"type": "all"}, timeout=10)
    remaining = crm.get(f"{zoho.crm}/Contacts", params={"fields": "Last_Name"}, timeout=10)

    assert deleted.json()["data"][0]["code"] == "SUCCESS"
    entry = listing.json()["data"][0]
    assert entry["id"] == records[0].record_id
    assert entry["display_name"] == "Contact 0000"
    assert entry["type"] == "recycle"
    assert [r["id"] for r in remaining.json()["data"]] == [records[1].record_id]
