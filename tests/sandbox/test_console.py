"""The sandbox console at /sandbox/: staff with the console permission only, CSRF-protected,
credentials redacted wherever it shows a request or a delivery, and every write it makes goes
through the fakes' services, so the vendor's webhook or notification is enqueued and the
vendor's refusals are shown with their own codes."""

from __future__ import annotations

import json
import socket
from datetime import timedelta
from typing import Any

import pytest
from django import forms
from django.test import Client
from django.utils import timezone

from connectors.sandbox.models import FaultProfile, OutboundDelivery, RequestLog, Vendor
from connectors.sandbox.qbo import services as qbo
from connectors.sandbox.qbo.models import Company, Record
from connectors.sandbox.qbo.webhooks import webhook_signature
from connectors.sandbox.zoho import services as zoho
from connectors.sandbox.zoho.books_webhooks import SIGNATURE_HEADER
from connectors.sandbox.zoho.crm_watch import watch_enable
from connectors.sandbox.zoho.models import BooksOrganization, BooksRecord, CrmOrg, CrmRecord

pytestmark = pytest.mark.django_db

HOOK_URL = "https://hooks.example.test/qbo"
NOTIFY_URL = "https://hooks.example.test/zoho/notify"


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    """The admin user's password is hashed once per test: a cheap hasher keeps tests quick."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def company() -> Company:
    return qbo.company_create(name="Console Co", webhook_url=HOOK_URL)


@pytest.fixture
def crm_org() -> CrmOrg:
    return zoho.crm_org_create(name="Console CRM")


@pytest.fixture
def books_org() -> BooksOrganization:
    return zoho.books_org_create(name="Console Books")


@pytest.fixture
def channel(crm_org: CrmOrg) -> None:
    """A notification channel watching Accounts, registered as the product registers one."""
    entry = watch_enable(
        org=crm_org,
        items=[
            {
                "channel_id": "1000000068001",
                "events": ["Accounts.all"],
                "notify_url": NOTIFY_URL,
                "token": "console-test",
            }
        ],
        resource_base="http://testserver/sandbox/zoho/crm/v8",
    )[0]
    assert entry["status"] == "success", entry


def records_url(system: str, owner: str, entity: str, *rest: str) -> str:
    return "/".join(["/sandbox/records", system, owner, entity, *rest, ""])


def form_data(form: forms.Form, **changes: Any) -> dict[str, Any]:
    """What a browser would post for `form` as rendered, with `changes` typed in."""
    data: dict[str, Any] = {}
    for field in form:
        value = field.value()
        if type(field.field) is forms.BooleanField:
            if value:
                data[field.html_name] = "on"
        else:
            data[field.html_name] = "" if value is None else str(value)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def deliveries(vendor: str) -> list[OutboundDelivery]:
    return list(OutboundDelivery.objects.filter(vendor=vendor).order_by("pk"))


# --- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/sandbox/", "/sandbox/requests/", "/sandbox/faults/", "/sandbox/deliveries/"]
)
def test_anonymous_visitors_are_sent_to_the_admin_login(client: Client, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith(f"/admin/login/?next={path}")


def test_a_logged_in_non_staff_user_is_sent_to_the_login_too(
    client: Client, django_user_model: Any
) -> None:
    user = django_user_model.objects.create_user("nobody", password="pw-not-staff")
    client.force_login(user)

    assert client.get("/sandbox/").status_code == 302


CONSOLE_PAGES = [
    "/sandbox/",
    "/sandbox/requests/",
    "/sandbox/faults/",
    "/sandbox/deliveries/",
    "/sandbox/records/qbo/1/Customer/",
]


@pytest.mark.parametrize("path", CONSOLE_PAGES)
def test_staff_without_the_console_permission_get_403(
    client: Client, django_user_model: Any, path: str
) -> None:
    clerk = django_user_model.objects.create_user("clerk", password="pw-staff-1", is_staff=True)
    client.force_login(clerk)

    assert client.get(path).status_code == 403


def test_staff_without_the_permission_cannot_save_faults(
    client: Client, django_user_model: Any
) -> None:
    clerk = django_user_model.objects.create_user("clerk", password="pw-staff-1", is_staff=True)
    client.force_login(clerk)

    response = client.post("/sandbox/faults/qbo/", {"qbo-error_rate": "1.0"})

    assert response.status_code == 403
    assert not FaultProfile.objects.filter(vendor=Vendor.QBO, error_rate__gt=0).exists()


def test_the_console_permission_opens_it_to_staff(client: Client, django_user_model: Any) -> None:
    from django.contrib.auth.models import Permission

    tester = django_user_model.objects.create_user("tester", password="pw-staff-2", is_staff=True)
    tester.user_permissions.add(Permission.objects.get(codename="use_console"))
    client.force_login(tester)

    assert client.get("/sandbox/").status_code == 200


def test_a_post_without_the_csrf_token_is_refused(admin_user: Any, company: Company) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)

    response = browser.post(
        records_url("qbo", company.realm_id, "Customer", "new"), {"DisplayName": "Sneaky"}
    )

    assert response.status_code == 403
    assert not Record.objects.exists()


def test_vendor_paths_still_win_over_the_console(admin_client: Client, company: Company) -> None:
    response = admin_client.get(f"/sandbox/qbo/v3/company/{company.realm_id}/customer/1")

    assert response.status_code == 401  # the fake's own answer: no bearer token


# --- home -------------------------------------------------------------------------------------


def test_home_lists_each_fake_company_with_its_record_counts(
    admin_client: Client, company: Company, crm_org: CrmOrg, books_org: BooksOrganization
) -> None:
    for name in ("Ada", "Grace"):
        qbo.record_create(company=company, entity="Customer", data={"DisplayName": name})
    qbo.record_create(company=company, entity="Item", data={"Name": "Hours"})
    zoho.crm_record_create(org=crm_org, module="Accounts", data={"Account_Name": "Acme"})
    zoho.books_contact_create(org=books_org, data={"contact_name": "Books Buyer"})
    profiles_before = FaultProfile.objects.count()

    response = admin_client.get("/sandbox/")

    assert response.status_code == 200
    overviews = {source.slug: summaries for source, summaries in response.context["overviews"]}
    counts = {
        slug: {c.entity: c.count for summary in summaries for c in summary.counts}
        for slug, summaries in overviews.items()
    }
    assert counts["qbo"]["Customer"] == 2
    assert counts["qbo"]["Item"] == 1
    assert counts["qbo"]["Invoice"] == 0
    assert counts["crm"]["Accounts"] == 1
    assert counts["books"]["contact"] == 1
    page = response.content.decode()
    for text in (company.name, company.realm_id, crm_org.org_id, books_org.organization_id):
        assert text in page
    assert records_url("qbo", company.realm_id, "Customer") in page
    assert records_url("crm", crm_org.org_id, "Accounts") in page
    assert "Fault settings" in page
    # Reading the home page writes nothing, not even default fault profiles.
    assert FaultProfile.objects.count() == profiles_before


# --- QBO records ------------------------------------------------------------------------------


def test_creating_a_qbo_customer_stores_it_and_enqueues_the_signed_webhook(
    admin_client: Client, company: Company
) -> None:
    url = records_url("qbo", company.realm_id, "Customer", "new")
    form = admin_client.get(url).context["form"]
    data = form_data(
        form,
        DisplayName="Ada Lovelace",
        GivenName="Ada",
        PrimaryEmailAddr__Address="ada@example.test",
        BillAddr__City="London",
        extra_json='{"Notes": "Met at the engine"}',
    )

    response = admin_client.post(url, data)

    record = Record.objects.get(company=company, entity="Customer")
    assert response.status_code == 302
    assert response["Location"] == records_url(
        "qbo", company.realm_id, "Customer", str(record.qbo_id)
    )
    assert record.doc["DisplayName"] == "Ada Lovelace"
    assert record.doc["GivenName"] == "Ada"
    assert record.doc["PrimaryEmailAddr"] == {"Address": "ada@example.test"}
    assert record.doc["BillAddr"]["City"] == "London"
    assert record.doc["Notes"] == "Met at the engine"
    assert record.active is True
    [delivery] = deliveries(Vendor.QBO)
    assert delivery.url == HOOK_URL
    assert delivery.headers["intuit-signature"] == webhook_signature(
        company.verifier_token, delivery.body.encode("utf-8")
    )
    [event] = json.loads(delivery.body)["eventNotifications"]
    assert event["realmId"] == company.realm_id
    assert event["dataChangeEvent"]["entities"][0] == {
        **event["dataChangeEvent"]["entities"][0],
        "name": "Customer",
        "id": str(record.qbo_id),
        "operation": "Create",
    }


def test_editing_a_qbo_customer_bumps_its_sync_token_and_keeps_other_fields(
    admin_client: Client, company: Company
) -> None:
    created = qbo.record_create(
        company=company,
        entity="Customer",
        data={"DisplayName": "Grace", "Notes": "keep me", "BillAddr": {"Line2": "Floor 2"}},
    )
    url = records_url("qbo", company.realm_id, "Customer", created["Id"], "edit")
    form = admin_client.get(url).context["form"]
    assert form["DisplayName"].value() == "Grace"
    assert json.loads(form["extra_json"].value())["Notes"] == "keep me"

    response = admin_client.post(
        url, form_data(form, DisplayName="Grace Hopper", BillAddr__City="Arlington")
    )

    assert response.status_code == 302
    record = Record.objects.get(company=company, qbo_id=int(created["Id"]))
    assert record.sync_token == 1
    assert record.doc["DisplayName"] == "Grace Hopper"
    assert record.doc["Notes"] == "keep me"
    assert record.doc["BillAddr"]["Line2"] == "Floor 2"
    assert record.doc["BillAddr"]["City"] == "Arlington"
    operations = [
        json.loads(d.body)["eventNotifications"][0]["dataChangeEvent"]["entities"][0]["operation"]
        for d in deliveries(Vendor.QBO)
    ]
    assert operations == ["Create", "Update"]


def test_a_duplicate_display_name_shows_qbo_error_6240_and_saves_nothing(
    admin_client: Client, company: Company
) -> None:
    qbo.record_create(company=company, entity="Vendor", data={"DisplayName": "Taken Name"})
    url = records_url("qbo", company.realm_id, "Customer", "new")
    form = admin_client.get(url).context["form"]

    response = admin_client.post(url, form_data(form, DisplayName="taken name"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "6240" in page
    assert "Duplicate Name Exists Error" in page
    assert "Nothing was saved" in page
    assert response.context["fault"].code == "6240"
    assert "6240" in response.context["form"].errors["DisplayName"][0]
    assert not Record.objects.filter(entity="Customer").exists()
    assert len(deliveries(Vendor.QBO)) == 1  # only the vendor's own create


def test_an_edit_over_a_newer_change_shows_qbo_stale_object_5010(
    admin_client: Client, company: Company
) -> None:
    created = qbo.record_create(company=company, entity="Customer", data={"DisplayName": "Old"})
    url = records_url("qbo", company.realm_id, "Customer", created["Id"], "edit")
    form = admin_client.get(url).context["form"]
    qbo.record_update(
        company=company, entity="Customer", record_id=created["Id"], data={"Notes": "meanwhile"}
    )

    response = admin_client.post(url, form_data(form, DisplayName="Mine"))

    assert response.status_code == 200
    assert response.context["fault"].code == "5010"
    assert Record.objects.get(company=company).doc["DisplayName"] == "Old"


def test_deactivating_a_qbo_customer_makes_it_inactive_and_announces_a_delete(
    admin_client: Client, company: Company
) -> None:
    created = qbo.record_create(company=company, entity="Customer", data={"DisplayName": "Gone"})
    url = records_url("qbo", company.realm_id, "Customer", created["Id"], "deactivate")

    assert "Make inactive" in admin_client.get(url).content.decode()
    response = admin_client.post(url)

    assert response.status_code == 302
    record = Record.objects.get(company=company)
    assert record.active is False
    last = json.loads(deliveries(Vendor.QBO)[-1].body)
    assert last["eventNotifications"][0]["dataChangeEvent"]["entities"][0]["operation"] == (
        "Delete"
    )
    # Name lists cannot be deleted in QBO, so the console does not offer it.
    delete_url = records_url("qbo", company.realm_id, "Customer", created["Id"], "delete")
    assert admin_client.post(delete_url).status_code == 404


def test_an_item_form_has_the_item_fields(admin_client: Client, company: Company) -> None:
    url = records_url("qbo", company.realm_id, "Item", "new")
    form = admin_client.get(url).context["form"]

    response = admin_client.post(
        url, form_data(form, Name="Consulting", Sku="C-1", UnitPrice="120.50", Type="Service")
    )

    assert response.status_code == 302
    doc = Record.objects.get(company=company, entity="Item").doc
    assert (doc["Name"], doc["Sku"], doc["UnitPrice"], doc["Type"]) == (
        "Consulting",
        "C-1",
        120.5,
        "Service",
    )


def test_the_record_list_is_paged_newest_first_and_searchable(
    admin_client: Client, company: Company
) -> None:
    for number in range(30):
        qbo.record_create(
            company=company, entity="Customer", data={"DisplayName": f"Customer {number:02d}"}
        )
    base = records_url("qbo", company.realm_id, "Customer")

    first = admin_client.get(base)
    searched = admin_client.get(base, {"q": "customer 07"})
    second = admin_client.get(base, {"page": "2"})

    names = [row.name for row in first.context["rows"]]
    assert len(names) == 25
    assert names[0] == "Customer 29"
    assert [row.name for row in searched.context["rows"]] == ["Customer 07"]
    assert len(second.context["rows"]) == 5


def test_the_record_detail_shows_the_json_the_api_returns(
    admin_client: Client, company: Company
) -> None:
    created = qbo.record_create(company=company, entity="Customer", data={"DisplayName": "Json"})

    response = admin_client.get(records_url("qbo", company.realm_id, "Customer", created["Id"]))

    assert response.status_code == 200
    shown = json.loads(response.context["document"])
    assert shown["DisplayName"] == "Json"
    assert shown["SyncToken"] == "0"


# --- Zoho CRM records -------------------------------------------------------------------------


def test_the_crm_form_is_generated_from_the_module_fields(
    admin_client: Client, crm_org: CrmOrg
) -> None:
    contacts = admin_client.get(records_url("crm", crm_org.org_id, "Contacts", "new"))
    invoices = admin_client.get(records_url("crm", crm_org.org_id, "Invoices", "new"))

    fields = set(contacts.context["form"].fields)
    assert {"Last_Name", "Email", "Account_Name", "Email_Opt_Out", "Lead_Source"} <= fields
    assert not {"Full_Name", "Owner", "Created_Time", "Modified_By"} & fields
    assert "Invoiced_Items" not in invoices.context["form"].fields
    assert "Invoiced_Items" in invoices.context["form"].fields["extra_json"].help_text


def test_crm_records_are_created_edited_and_deleted_with_notifications(
    admin_client: Client, crm_org: CrmOrg, channel: None
) -> None:
    new_url = records_url("crm", crm_org.org_id, "Accounts", "new")
    form = admin_client.get(new_url).context["form"]
    created = admin_client.post(
        new_url, form_data(form, Account_Name="Acme", Phone="555-0100", Industry="Large Enterprise")
    )
    record = CrmRecord.objects.get(org=crm_org, module="Accounts")
    assert created.status_code == 302
    assert (record.data["Account_Name"], record.data["Industry"]) == ("Acme", "Large Enterprise")

    edit_url = records_url("crm", crm_org.org_id, "Accounts", record.record_id, "edit")
    form = admin_client.get(edit_url).context["form"]
    assert form["Account_Name"].value() == "Acme"
    edited = admin_client.post(edit_url, form_data(form, Phone="555-0199"))
    record.refresh_from_db()
    assert edited.status_code == 302
    assert record.data["Phone"] == "555-0199"
    assert record.data["Industry"] == "Large Enterprise"

    delete_url = records_url("crm", crm_org.org_id, "Accounts", record.record_id, "delete")
    assert admin_client.post(delete_url).status_code == 302
    record.refresh_from_db()
    assert record.deleted_at is not None

    bodies = [json.loads(d.body) for d in deliveries(Vendor.ZOHO_CRM)]
    assert [b["operation"] for b in bodies] == ["insert", "update", "delete"]
    assert all(b["ids"] == [record.record_id] for b in bodies)
    assert bodies[1]["affected_fields"] == [{record.record_id: ["Phone"]}]
    assert bodies[0]["token"] == "console-test"
    assert all(d.url == NOTIFY_URL for d in deliveries(Vendor.ZOHO_CRM))


def test_a_crm_lookup_is_given_by_id(admin_client: Client, crm_org: CrmOrg) -> None:
    account = zoho.crm_record_create(org=crm_org, module="Accounts", data={"Account_Name": "Co"})
    url = records_url("crm", crm_org.org_id, "Contacts", "new")
    form = admin_client.get(url).context["form"]

    admin_client.post(url, form_data(form, Last_Name="Byron", Account_Name=account.record_id))

    contact = CrmRecord.objects.get(org=crm_org, module="Contacts")
    assert contact.data["Account_Name"] == {"id": account.record_id, "name": "Co"}


def test_a_crm_refusal_is_shown_with_zoho_code_and_saves_nothing(
    admin_client: Client, crm_org: CrmOrg, channel: None
) -> None:
    zoho.crm_record_create(org=crm_org, module="Accounts", data={"Account_Name": "Acme"})
    url = records_url("crm", crm_org.org_id, "Accounts", "new")
    form = admin_client.get(url).context["form"]

    response = admin_client.post(url, form_data(form, Account_Name="ACME"))

    assert response.status_code == 200
    assert response.context["fault"].code == "DUPLICATE_DATA"
    assert "DUPLICATE_DATA" in response.context["form"].errors["Account_Name"][0]
    assert CrmRecord.objects.filter(org=crm_org).count() == 1
    assert len(deliveries(Vendor.ZOHO_CRM)) == 1


# --- Zoho Books records -----------------------------------------------------------------------


def test_a_books_contact_is_created_and_edited_with_signed_webhooks(
    admin_client: Client, books_org: BooksOrganization
) -> None:
    zoho.books_webhook_create(
        org=books_org,
        data={
            "entity": "contact",
            "url": "https://hooks.example.test/books",
            "secret": "s3cret0123456",
        },
    )
    new_url = records_url("books", books_org.organization_id, "contact", "new")
    form = admin_client.get(new_url).context["form"]
    admin_client.post(new_url, form_data(form, contact_name="Books Buyer", email="b@example.test"))
    record = BooksRecord.objects.get(org=books_org, entity="contact")

    edit_url = records_url(
        "books", books_org.organization_id, "contact", str(record.record_id), "edit"
    )
    form = admin_client.get(edit_url).context["form"]
    admin_client.post(edit_url, form_data(form, company_name="Buyer Ltd"))

    record.refresh_from_db()
    assert record.data["company_name"] == "Buyer Ltd"
    assert record.data["email"] == "b@example.test"
    sent = deliveries(Vendor.ZOHO_BOOKS)
    assert len(sent) == 2
    assert all(SIGNATURE_HEADER in d.headers for d in sent)
    assert json.loads(sent[1].body)["contact"]["company_name"] == "Buyer Ltd"


def test_a_books_refusal_is_shown_with_its_code(
    admin_client: Client, books_org: BooksOrganization
) -> None:
    zoho.books_contact_create(org=books_org, data={"contact_name": "Twin"})
    url = records_url("books", books_org.organization_id, "contact", "new")
    form = admin_client.get(url).context["form"]

    response = admin_client.post(url, form_data(form, contact_name="Twin"))

    assert response.context["fault"].code == "3062"
    assert BooksRecord.objects.filter(org=books_org).count() == 1


# --- request log ------------------------------------------------------------------------------


def log(vendor: str, method: str, endpoint: str, status: int, duration: int) -> RequestLog:
    path = endpoint.replace("{id}", "42")
    return RequestLog.objects.create(
        vendor=vendor,
        method=method,
        path=path,
        endpoint=f"{method} {endpoint}",
        status=status,
        duration_ms=duration,
        request_body='{"DisplayName": "x"}',
        response_body='{"access_token": "[redacted]"}',
        note="minorversion=70 is below 75" if status == 200 else "",
    )


def test_the_request_log_lists_requests_and_counts_per_endpoint(admin_client: Client) -> None:
    customer = "/sandbox/qbo/v3/company/{id}/customer"
    contacts = "/sandbox/zoho/crm/v8/Contacts"
    log(Vendor.QBO, "POST", customer, 200, 10)
    log(Vendor.QBO, "POST", customer, 400, 20)
    log(Vendor.QBO, "POST", customer, 200, 30)
    log(Vendor.QBO, "GET", customer + "/{id}", 200, 5)
    log(Vendor.ZOHO_CRM, "GET", contacts, 429, 7)

    response = admin_client.get("/sandbox/requests/")
    qbo_only = admin_client.get("/sandbox/requests/", {"vendor": "qbo"})
    failed = admin_client.get("/sandbox/requests/", {"status": "errors"})

    assert response.status_code == 200
    assert len(response.context["page"]) == 5
    page = response.content.decode()
    assert "/sandbox/qbo/v3/company/42/customer" in page
    assert "minorversion=70 is below 75" in page
    counts = {(c.method, c.endpoint): c for c in response.context["counts"]}
    posts = counts["POST", customer]
    assert (posts.count, posts.errors, posts.average_ms) == (3, 1, 20.0)
    assert (counts["GET", customer + "/{id}"].count, counts["GET", customer + "/{id}"].errors) == (
        1,
        0,
    )
    assert counts["GET", contacts].errors == 1
    assert {c.vendor for c in qbo_only.context["counts"]} == {"qbo"}
    assert sorted(entry.status for entry in failed.context["page"]) == [400, 429]


def test_a_request_detail_shows_the_logged_bodies(admin_client: Client) -> None:
    entry = log(Vendor.QBO, "POST", "/sandbox/qbo/oauth2/v1/tokens/bearer", 200, 3)

    response = admin_client.get(f"/sandbox/requests/{entry.pk}/")

    page = response.content.decode()
    assert "[redacted]" in page
    assert "&quot;DisplayName&quot;: &quot;x&quot;" in page


# --- faults -----------------------------------------------------------------------------------


def test_the_faults_form_saves_a_profile(admin_client: Client) -> None:
    assert admin_client.get("/sandbox/faults/").status_code == 200

    response = admin_client.post(
        "/sandbox/faults/qbo/",
        {
            "qbo-latency_ms": "250",
            "qbo-error_rate": "0.2",
            "qbo-rate_limit_per_minute": "60",
            "qbo-concurrency_limit": "",
            "qbo-token_lifetime_seconds": "120",
        },
    )

    assert response.status_code == 302
    profile = FaultProfile.objects.get(vendor=Vendor.QBO)
    assert (profile.latency_ms, profile.error_rate, profile.rate_limit_per_minute) == (250, 0.2, 60)
    assert profile.concurrency_limit is None
    assert profile.token_lifetime_seconds == 120
    assert profile.webhooks_enabled is False  # an unticked checkbox


def test_a_fault_form_refuses_a_share_above_one(admin_client: Client) -> None:
    response = admin_client.post(
        "/sandbox/faults/zoho_crm/",
        {
            "zoho_crm-latency_ms": "0",
            "zoho_crm-error_rate": "1.5",
            "zoho_crm-webhooks_enabled": "on",
        },
    )

    assert response.status_code == 400
    assert "between 0 and 1" in response.content.decode()
    assert FaultProfile.objects.get(vendor=Vendor.ZOHO_CRM).error_rate == 0


def test_each_fault_form_shows_only_what_that_fake_honours(admin_client: Client) -> None:
    forms_by_vendor = {
        form.instance.vendor: set(form.fields)
        for form in admin_client.get("/sandbox/faults/").context["forms"]
    }

    assert forms_by_vendor[Vendor.ZOHO_ACCOUNTS] == {
        "latency_ms",
        "error_rate",
        "token_lifetime_seconds",
    }
    assert "daily_credit_limit" in forms_by_vendor[Vendor.ZOHO_CRM]
    assert "daily_credit_limit" not in forms_by_vendor[Vendor.QBO]


# --- deliveries -------------------------------------------------------------------------------


def closed_port() -> int:
    """A loopback port nothing listens on (just freed by the OS)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_send_now_records_the_failure_and_schedules_a_retry(admin_client: Client) -> None:
    later = timezone.now() + timedelta(minutes=30)
    delivery = OutboundDelivery.objects.create(
        vendor=Vendor.QBO,
        url=f"http://127.0.0.1:{closed_port()}/webhooks/qbo/",
        body='{"eventNotifications": []}',
        headers={"Content-Type": "application/json"},
        next_attempt_at=later,  # waiting out a backoff: send now must not wait
    )
    listed = admin_client.get("/sandbox/deliveries/")
    assert delivery.url in listed.content.decode()
    assert "Send now" in listed.content.decode()

    response = admin_client.post(
        f"/sandbox/deliveries/{delivery.pk}/send/", {"next": "/sandbox/deliveries/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/sandbox/deliveries/"
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert delivery.status == OutboundDelivery.Status.PENDING
    assert delivery.last_status_code is None
    assert "ConnectionError" in delivery.last_error
    assert timezone.now() < delivery.next_attempt_at < later


def test_send_now_leaves_a_delivered_one_alone(admin_client: Client) -> None:
    delivery = OutboundDelivery.objects.create(
        vendor=Vendor.ZOHO_BOOKS,
        url="http://127.0.0.1:9/never",
        body="{}",
        status=OutboundDelivery.Status.DELIVERED,
        attempts=1,
        next_attempt_at=timezone.now(),
    )

    response = admin_client.post(f"/sandbox/deliveries/{delivery.pk}/send/", follow=True)

    assert "no longer pending" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.attempts == 1


def test_a_delivery_detail_shows_headers_and_body(admin_client: Client, company: Company) -> None:
    qbo.record_create(company=company, entity="Customer", data={"DisplayName": "Hooked"})
    delivery = OutboundDelivery.objects.get()

    response = admin_client.get(f"/sandbox/deliveries/{delivery.pk}/")

    page = response.content.decode()
    assert "intuit-signature" in page
    assert "eventNotifications" in page
    signature = delivery.headers["intuit-signature"]
    assert signature not in page, "an HMAC signature shown whole could be replayed"
    assert "[redacted]" in page


def test_a_crm_notification_never_shows_its_channel_token(
    admin_client: Client, crm_org: CrmOrg, channel: None
) -> None:
    zoho.crm_record_create(org=crm_org, module="Accounts", data={"Account_Name": "Watched"})
    (delivery,) = deliveries(Vendor.ZOHO_CRM)
    assert json.loads(delivery.body)["token"] == "console-test"  # kept, to be sent
    with socket.socket() as closed:  # a receiver that is not there: the attempt is logged
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    OutboundDelivery.objects.filter(pk=delivery.pk).update(url=f"http://127.0.0.1:{port}/n")
    admin_client.post(f"/sandbox/deliveries/{delivery.pk}/send/")

    pages = [
        admin_client.get(f"/sandbox/deliveries/{delivery.pk}/").content.decode(),
        admin_client.get("/sandbox/requests/").content.decode(),
        *(
            admin_client.get(f"/sandbox/requests/{entry.pk}/").content.decode()
            for entry in RequestLog.objects.all()
        ),
    ]
    assert RequestLog.objects.filter(endpoint__contains="webhook out").exists()
    assert all("console-test" not in page for page in pages)
    assert "[redacted]" in pages[0]


@pytest.mark.parametrize(
    ("logged", "secret"),
    [
        ('{"access_token": "1000.abc", "refresh_token": "1000.def"}', "1000.abc"),
        ('{"client_secret": "s3cr3t-value"}', "s3cr3t-value"),
        ("grant_type=refresh_token&refresh_token=1000.rt&client_secret=cs-9", "cs-9"),
        ('{"note": "Authorization: Bearer eyJhbGciOi.payload.sig"}', "eyJhbGciOi"),
        ('{"channel_id": "1", "token": "tok-77", "ids": ["5"]}', "tok-77"),
    ],
)
def test_the_request_log_never_shows_a_credential(
    admin_client: Client, logged: str, secret: str
) -> None:
    # Written straight to the table, as a row from before a redaction rule would be.
    entry = RequestLog.objects.create(
        vendor=Vendor.ZOHO_CRM,
        method="POST",
        path="/sandbox/zoho/accounts/oauth/v2/token",
        endpoint="POST /sandbox/zoho/accounts/oauth/v2/token",
        query=f"code=auth-code-1&state=x&{logged}" if "=" in logged and "{" not in logged else "",
        status=200,
        duration_ms=1,
        request_body=logged,
        response_body=logged,
    )

    detail = admin_client.get(f"/sandbox/requests/{entry.pk}/").content.decode()
    listing = admin_client.get("/sandbox/requests/").content.decode()

    assert secret not in detail and secret not in listing
    assert "auth-code-1" not in detail
    assert "[redacted]" in detail


def test_saving_an_unchanged_crm_record_sends_nothing(
    admin_client: Client, crm_org: CrmOrg, channel: None
) -> None:
    account = zoho.crm_record_create(org=crm_org, module="Accounts", data={"Account_Name": "Same"})
    url = records_url("crm", crm_org.org_id, "Accounts", account.record_id, "edit")
    form = admin_client.get(url).context["form"]

    response = admin_client.post(url, form_data(form))

    assert response.status_code == 302
    assert [json.loads(d.body)["operation"] for d in deliveries(Vendor.ZOHO_CRM)] == ["insert"]


def test_an_invoice_is_created_from_json_and_deleted(
    admin_client: Client, company: Company
) -> None:
    customer = qbo.record_create(company=company, entity="Customer", data={"DisplayName": "Buyer"})
    item = qbo.record_create(company=company, entity="Item", data={"Name": "Hours"})
    invoice = {
        "CustomerRef": {"value": customer["Id"]},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 150,
                "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}},
            }
        ],
    }

    created = admin_client.post(
        records_url("qbo", company.realm_id, "Invoice", "new"), {"extra_json": json.dumps(invoice)}
    )
    record = Record.objects.get(company=company, entity="Invoice")
    deleted = admin_client.post(
        records_url("qbo", company.realm_id, "Invoice", str(record.qbo_id), "delete")
    )

    assert created.status_code == deleted.status_code == 302
    record.refresh_from_db()
    assert record.doc["TotalAmt"] == 150
    assert record.deleted is True
    entities = [
        json.loads(d.body)["eventNotifications"][0]["dataChangeEvent"]["entities"][0]
        for d in deliveries(Vendor.QBO)
    ]
    assert [(e["name"], e["operation"]) for e in entities[-2:]] == [
        ("Invoice", "Create"),
        ("Invoice", "Delete"),
    ]
    # A deleted transaction can be looked at, not changed.
    detail = admin_client.get(records_url("qbo", company.realm_id, "Invoice", str(record.qbo_id)))
    assert detail.context["editable"] is False
    assert detail.context["actions"] == []


def test_malformed_json_is_a_form_error(admin_client: Client, company: Company) -> None:
    response = admin_client.post(
        records_url("qbo", company.realm_id, "Invoice", "new"), {"extra_json": "{nope"}
    )

    assert response.status_code == 200
    assert "Not valid JSON" in response.context["form"].errors["extra_json"][0]
    assert not Record.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_outbound_webhook_shows_in_the_request_log(live_server, admin_client):
    from connectors.sandbox.delivery import deliveries_run_due, delivery_enqueue
    from connectors.sandbox.models import RequestLog

    delivery_enqueue(
        vendor="qbo",
        url=f"{live_server.url}/webhooks/qbo/",
        body="{}",
        headers={"intuit-signature": "x"},
    )
    deliveries_run_due()

    row = RequestLog.objects.get(endpoint="POST /webhooks/qbo/ (webhook out)")
    assert (row.status, row.method) == (400, "POST")  # "{}" is no QBO delivery: refused
    assert "Webhook sent to" in row.note
    page = admin_client.get("/sandbox/requests/")
    assert b"(webhook out)" in page.content
