"""The Zoho Books fake over real HTTP: organizations, organization_id on every call, contacts,
invoices and payments with page_context paging, the per-minute limit, faults and signed
webhooks."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from connectors.sandbox.delivery import deliveries_run_due
from connectors.sandbox.models import FaultProfile, Vendor
from connectors.sandbox.zoho import services
from connectors.sandbox.zoho.models import BooksRecord
from tests.sandbox.zoho.conftest import (
    SANDBOX_APPS,
    fixture,
    fresh_window,
    session,
)
from tests.sandbox.zoho.shapes import assert_same_shape

pytestmark = pytest.mark.django_db(transaction=True, available_apps=SANDBOX_APPS)


def org_params(org) -> dict[str, str]:
    return {"organization_id": org.organization_id}


def test_organizations_lists_every_organization_of_the_user(zoho, books, books_orgs):
    response = books.get(f"{zoho.books}/organizations", timeout=10)

    body = response.json()
    assert (body["code"], body["message"]) == (0, "success")
    listed = {o["organization_id"]: o for o in body["organizations"]}
    assert set(listed) == {books_orgs[0].organization_id, books_orgs[1].organization_id}
    assert listed[books_orgs[0].organization_id]["is_default_org"] is True
    assert listed[books_orgs[1].organization_id]["currency_code"] == "EUR"


def test_organization_id_is_required(zoho, books):
    response = books.get(f"{zoho.books}/contacts", timeout=10)

    assert response.status_code == 400
    assert response.json()["code"] == 6024
    assert "organization" in response.json()["message"]


def test_another_users_organization_is_refused(zoho, books, books_orgs):
    response = books.get(f"{zoho.books}/contacts", params=org_params(books_orgs[2]), timeout=10)

    assert response.status_code == 400
    assert response.json()["code"] == 6041


def test_a_bad_token_is_not_authorized(zoho, books_orgs):
    response = session("1000.nope.nope").get(
        f"{zoho.books}/contacts", params=org_params(books_orgs[0]), timeout=10
    )

    assert response.status_code == 401
    assert response.json() == {
        "code": 57,
        "message": "You are not authorized to perform this operation",
    }


def test_contact_lifecycle(zoho, books, books_orgs):
    params = org_params(books_orgs[0])
    new = {
        "contact_name": "Bowman and Co",
        "company_name": "Bowman and Co",
        "payment_terms": 15,
        "billing_address": {"address": "1 Main St", "city": "Springfield", "country": "U.S.A"},
        "contact_persons": [
            {
                "first_name": "Will",
                "last_name": "Smith",
                "email": "will@bowman.test",
                "is_primary_contact": True,
            },
            {"first_name": "Ann", "last_name": "Lee", "email": "ann@bowman.test"},
        ],
    }

    created = books.post(f"{zoho.books}/contacts", params=params, json=new, timeout=10)
    contact = created.json()["contact"]
    updated = books.put(
        f"{zoho.books}/contacts/{contact['contact_id']}",
        params=params,
        json={"email": "william@bowman.test", "payment_terms": 30},
        timeout=10,
    ).json()["contact"]
    duplicate = books.post(
        f"{zoho.books}/contacts", params=params, json={"contact_name": "bowman AND co"}, timeout=10
    )
    deleted = books.delete(
        f"{zoho.books}/contacts/{contact['contact_id']}", params=params, timeout=10
    )
    gone = books.get(f"{zoho.books}/contacts/{contact['contact_id']}", params=params, timeout=10)

    assert created.status_code == 201
    assert created.json()["code"] == 0
    assert isinstance(contact["contact_id"], int)
    assert (contact["first_name"], contact["email"]) == ("Will", "will@bowman.test")
    assert contact["payment_terms_label"] == "Net 15"
    assert contact["billing_address"]["city"] == "Springfield"
    assert len(contact["contact_persons"]) == 2
    assert updated["email"] == "william@bowman.test"
    assert (
        updated["contact_persons"][0]["contact_person_id"]
        == (contact["contact_persons"][0]["contact_person_id"])
    )
    assert updated["payment_terms_label"] == "Net 30"
    assert duplicate.status_code == 400
    assert duplicate.json()["code"] == 3062
    assert deleted.json() == {"code": 0, "message": "The contact has been deleted."}
    assert gone.status_code == 404
    assert gone.json()["code"] == 1002


def test_contact_name_is_required(zoho, books, books_orgs):
    response = books.post(
        f"{zoho.books}/contacts",
        params=org_params(books_orgs[0]),
        json={"email": "x@y.test"},
        timeout=10,
    )

    assert response.status_code == 400
    assert response.json() == {"code": 2, "message": "Invalid value passed for contact_name"}


def test_the_body_may_be_a_jsonstring_form_field(zoho, books, books_orgs):
    response = books.post(
        f"{zoho.books}/contacts",
        params=org_params(books_orgs[0]),
        data={"JSONString": '{"contact_name": "Form Co"}'},
        timeout=10,
    )

    assert response.status_code == 201
    assert response.json()["contact"]["contact_name"] == "Form Co"


def test_contacts_page_with_has_more_page(zoho, books, books_orgs):
    org = books_orgs[0]
    for n in range(5):
        services.books_contact_create(org=org, data={"contact_name": f"Customer {n}"})

    first = books.get(
        f"{zoho.books}/contacts", params={**org_params(org), "per_page": 2}, timeout=10
    ).json()
    last = books.get(
        f"{zoho.books}/contacts", params={**org_params(org), "per_page": 2, "page": 3}, timeout=10
    ).json()

    assert [c["contact_name"] for c in first["contacts"]] == ["Customer 0", "Customer 1"]
    assert first["page_context"]["has_more_page"] is True
    assert [c["contact_name"] for c in last["contacts"]] == ["Customer 4"]
    assert last["page_context"]["has_more_page"] is False
    assert_same_shape(first, fixture("books_list_contacts_response.json"))


def test_contacts_sort_by_last_modified_time(zoho, books, books_orgs):
    org = books_orgs[0]
    older = services.books_contact_create(org=org, data={"contact_name": "Older"})
    services.books_contact_create(org=org, data={"contact_name": "Newer"})
    BooksRecord.objects.filter(pk=older.pk).update(
        modified_at=datetime.now(tz=UTC) - timedelta(days=1)
    )

    body = books.get(
        f"{zoho.books}/contacts",
        params={**org_params(org), "sort_column": "last_modified_time", "sort_order": "D"},
        timeout=10,
    ).json()

    assert [c["contact_name"] for c in body["contacts"]] == ["Newer", "Older"]
    assert body["contacts"][0]["last_modified_time"].endswith("+0000")


def test_invoices_and_payments(zoho, books, books_orgs):
    org = books_orgs[0]
    params = org_params(org)
    customer = services.books_contact_create(org=org, data={"contact_name": "Payer"})
    invoice = books.post(
        f"{zoho.books}/invoices",
        params=params,
        json={
            "customer_id": str(customer.record_id),
            "line_items": [{"name": "Consulting", "rate": 100, "quantity": 3}],
        },
        timeout=10,
    ).json()["invoice"]
    payment = books.post(
        f"{zoho.books}/customerpayments",
        params=params,
        json={
            "customer_id": customer.record_id,
            "amount": 250,
            "invoices": [{"invoice_id": invoice["invoice_id"], "amount_applied": 200}],
        },
        timeout=10,
    )
    after = books.get(f"{zoho.books}/invoices/{invoice['invoice_id']}", params=params, timeout=10)
    owed = books.get(f"{zoho.books}/contacts/{customer.record_id}", params=params, timeout=10)
    too_much = books.post(
        f"{zoho.books}/customerpayments",
        params=params,
        json={
            "customer_id": customer.record_id,
            "amount": 500,
            "invoices": [{"invoice_id": invoice["invoice_id"], "amount_applied": 500}],
        },
        timeout=10,
    )

    assert (invoice["invoice_number"], invoice["total"], invoice["balance"]) == (
        "INV-000001",
        300.0,
        300.0,
    )
    assert payment.status_code == 201
    assert payment.json()["payment"]["unused_amount"] == 50.0
    assert after.json()["invoice"]["balance"] == 100.0
    assert after.json()["invoice"]["status"] == "partially_paid"
    assert owed.json()["contact"]["outstanding_receivable_amount"] == 100.0
    assert owed.json()["contact"]["unused_credits_receivable_amount"] == 50.0
    assert too_much.status_code == 400


def test_invoice_list_filters_by_last_modified_time_and_customer(zoho, books, books_orgs):
    org = books_orgs[0]
    first = services.books_contact_create(org=org, data={"contact_name": "First"})
    second = services.books_contact_create(org=org, data={"contact_name": "Second"})
    lines = [{"name": "Thing", "rate": 10}]
    old = services.books_invoice_create(
        org=org, data={"customer_id": first.record_id, "line_items": lines}
    )
    services.books_invoice_create(
        org=org, data={"customer_id": second.record_id, "line_items": lines}
    )
    BooksRecord.objects.filter(pk=old.pk).update(
        modified_at=datetime.now(tz=UTC) - timedelta(days=2)
    )
    since = (datetime.now(tz=UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S%z")

    recent = books.get(
        f"{zoho.books}/invoices",
        params={**org_params(org), "last_modified_time": since},
        timeout=10,
    ).json()
    by_customer = books.get(
        f"{zoho.books}/invoices",
        params={**org_params(org), "customer_id": first.record_id},
        timeout=10,
    ).json()

    assert [i["customer_name"] for i in recent["invoices"]] == ["Second"]
    assert [i["invoice_id"] for i in by_customer["invoices"]] == [old.record_id]
    assert recent["page_context"]["has_more_page"] is False


def test_past_100_requests_a_minute_is_429(zoho, books, books_orgs):
    fresh_window(60, margin=8)
    params = org_params(books_orgs[0])
    http = books

    statuses = [
        http.get(f"{zoho.books}/contacts", params=params, timeout=10).status_code
        for _ in range(100)
    ]
    refused = http.get(f"{zoho.books}/contacts", params=params, timeout=10)
    other_org = http.get(f"{zoho.books}/contacts", params=org_params(books_orgs[1]), timeout=10)

    assert set(statuses) == {200}
    assert refused.status_code == 429
    assert refused.json()["code"] != 0
    assert other_org.status_code == 200  # the limit is per organization


def test_injected_faults_are_internal_error(zoho, books, books_orgs):
    FaultProfile.objects.update_or_create(vendor=Vendor.ZOHO_BOOKS, defaults={"error_rate": 1.0})

    response = books.get(f"{zoho.books}/contacts", params=org_params(books_orgs[0]), timeout=10)

    assert response.status_code == 500
    assert response.json() == {"code": 1000, "message": "Internal error"}


def test_webhooks_are_signed_with_the_secret(zoho, books, books_orgs, receiver):
    org = books_orgs[0]
    secret = "Sandbox0Secret0Key"
    registered = books.post(
        f"{zoho.books}/settings/webhooks",
        params=org_params(org),
        json={
            "entity": "contact",
            "events": ["created", "updated"],
            "url": f"{receiver.url}/books/hook?source=books",
            "secret": secret,
            "query_parameters": [{"param_name": "connection", "value": "9"}],
        },
        timeout=10,
    )

    contact = books.post(
        f"{zoho.books}/contacts",
        params=org_params(org),
        json={"contact_name": "Hooked"},
        timeout=10,
    ).json()["contact"]
    services.books_invoice_create(
        org=org,
        data={"customer_id": contact["contact_id"], "line_items": [{"name": "X", "rate": 1}]},
    )  # no invoice webhook: nothing sent
    assert deliveries_run_due() == 1

    assert registered.status_code == 201
    assert registered.json()["webhook"]["entity"] == "contact"
    delivered = receiver.requests[0]
    assert delivered.path == "/books/hook?source=books&connection=9"
    assert delivered.json()["contact"]["contact_id"] == contact["contact_id"]
    signed = "connection9sourcebooks" + delivered.body.decode()
    expected = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).hexdigest()
    assert delivered.headers["X-Zoho-Webhook-Signature"] == expected


def test_webhook_settings_are_validated_listed_and_deleted(zoho, books, books_orgs, receiver):
    params = org_params(books_orgs[0])
    short_secret = books.post(
        f"{zoho.books}/settings/webhooks",
        params=params,
        json={"entity": "invoice", "url": receiver.url, "secret": "short"},
        timeout=10,
    )
    created = books.post(
        f"{zoho.books}/settings/webhooks",
        params=params,
        json={"entity": "customerpayment", "url": receiver.url},
        timeout=10,
    ).json()["webhook"]

    listing = books.get(f"{zoho.books}/settings/webhooks", params=params, timeout=10).json()
    deleted = books.delete(
        f"{zoho.books}/settings/webhooks/{created['webhook_id']}", params=params, timeout=10
    )

    assert short_secret.status_code == 400
    assert short_secret.json()["code"] == 2
    assert [w["entity"] for w in listing["webhooks"]] == ["customerpayment"]
    assert "secret" not in listing["webhooks"][0]
    assert deleted.json()["code"] == 0


def test_invoice_update_and_payment_reads(zoho, books, books_orgs, receiver):
    org = books_orgs[0]
    params = org_params(org)
    customer = services.books_contact_create(org=org, data={"contact_name": "Reader"})
    invoice = services.books_invoice_create(
        org=org, data={"customer_id": customer.record_id, "line_items": [{"name": "A", "rate": 40}]}
    )
    services.books_webhook_create(
        org=org, data={"entity": "invoice", "events": ["updated"], "url": receiver.url}
    )
    line_id = invoice.data["line_items"][0]["line_item_id"]

    updated = books.put(
        f"{zoho.books}/invoices/{invoice.record_id}",
        params=params,
        json={
            "line_items": [{"line_item_id": line_id, "name": "A", "rate": 40, "quantity": 2}],
            "zcrm_potential_id": "4150868000000376008",
        },
        timeout=10,
    ).json()["invoice"]
    payment = services.books_payment_create(
        org=org,
        data={
            "customer_id": customer.record_id,
            "amount": 80,
            "invoices": [{"invoice_id": invoice.record_id, "amount_applied": 80}],
        },
    )
    listing = books.get(f"{zoho.books}/customerpayments", params=params, timeout=10).json()
    single = books.get(
        f"{zoho.books}/customerpayments/{payment.record_id}", params=params, timeout=10
    ).json()
    deliveries_run_due()

    assert updated["line_items"][0]["line_item_id"] == line_id
    assert (updated["total"], updated["zcrm_potential_id"]) == (80.0, "4150868000000376008")
    assert [p["payment_id"] for p in listing["customerpayments"]] == [payment.record_id]
    assert single["payment"]["invoices"][0]["amount_applied"] == 80.0
    statuses = sorted(r.json()["invoice"]["status"] for r in receiver.requests)
    assert statuses == ["draft", "paid"]  # the edit, then the payment that settled it
    assert "X-Zoho-Webhook-Signature" not in receiver.requests[0].headers  # no secret, unsigned
