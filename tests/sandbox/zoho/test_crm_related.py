"""A Deal's Products related list: related one at a time with PUT (as Zoho documents it),
listed with GET, delinked with DELETE; unknown lists and records are refused as Zoho does."""

from __future__ import annotations

import pytest

from connectors.sandbox.zoho import services
from tests.sandbox.zoho.conftest import SANDBOX_APPS

pytestmark = pytest.mark.django_db(transaction=True, available_apps=SANDBOX_APPS)


def test_products_are_related_to_a_deal_listed_and_delinked(zoho, crm, crm_org):
    deal = services.crm_record_create(
        org=crm_org, module="Deals", data={"Deal_Name": "1001", "Stage": "Qualification"}
    )
    products = [
        services.crm_record_create(org=crm_org, module="Products", data={"Product_Name": name})
        for name in ("Design", "Fountain")
    ]
    base = f"{zoho.crm}/Deals/{deal.record_id}/Products"

    assert crm.get(base, timeout=10).status_code == 204
    for product in products:
        response = crm.put(f"{base}/{product.record_id}", json={"data": [{}]}, timeout=10)
        assert response.status_code == 200
        (entry,) = response.json()["data"]
        assert (entry["code"], entry["details"]["id"]) == ("SUCCESS", product.record_id)
    again = crm.put(f"{base}/{products[0].record_id}", json={"data": [{}]}, timeout=10)
    assert again.status_code == 200, "relating twice is harmless"

    listed = crm.get(base, timeout=10).json()["data"]
    assert sorted(p["Product_Name"] for p in listed) == ["Design", "Fountain"]

    assert crm.delete(f"{base}/{products[1].record_id}", timeout=10).status_code == 200
    assert [p["Product_Name"] for p in crm.get(base, timeout=10).json()["data"]] == ["Design"]


def test_an_unknown_related_list_or_record_is_refused(zoho, crm, crm_org):
    deal = services.crm_record_create(
        org=crm_org, module="Deals", data={"Deal_Name": "1002", "Stage": "Qualification"}
    )

    unknown_list = crm.put(f"{zoho.crm}/Deals/{deal.record_id}/Widgets/1", json={}, timeout=10)
    missing = crm.put(
        f"{zoho.crm}/Deals/{deal.record_id}/Products/9739295000000000001", json={}, timeout=10
    )

    assert unknown_list.status_code == 404
    assert unknown_list.json()["code"] == "INVALID_URL_PATTERN"
    assert missing.status_code == 400 and missing.json()["details"]["id"] == "9739295000000000001"
