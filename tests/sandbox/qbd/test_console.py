"""The QuickBooks Desktop console at /sandbox/qbd/: staff with the console permission only; it
lists company files with their counts, the Web Connector apps, and the sessions with their
logs, and "Run now" (a POST with its CSRF token) runs an app's session."""

from __future__ import annotations

from typing import Any

import pytest
import responses
from django.contrib.auth.models import Permission
from django.test import Client

from connectors.sandbox.qbd import services
from connectors.sandbox.qbd.models import SandboxQbCompany, SandboxWcApp, SandboxWcSession
from tests.sandbox.qbd.conftest import FILE_ID, OWNER_ID
from tests.sandbox.qbd.test_webconnector import APP_URL, FakeApp

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.sandbox.qbd.urls")]

CONSOLE = "/sandbox/qbd/"


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def app(company: SandboxQbCompany) -> SandboxWcApp:
    return SandboxWcApp.objects.create(
        name="ml-connector (Acme)",
        app_url=APP_URL,
        username="acme-qbwc",
        password="never-shown",
        owner_id=OWNER_ID,
        file_id=FILE_ID,
        company=company,
    )


@pytest.fixture
def staff(client: Client, django_user_model: Any) -> Client:
    tester = django_user_model.objects.create_user("tester", password="pw", is_staff=True)
    tester.user_permissions.add(Permission.objects.get(codename="use_console"))
    client.force_login(tester)
    return client


def test_anonymous_visitors_are_sent_to_the_login(client: Client) -> None:
    response = client.get(CONSOLE)

    assert response.status_code == 302
    assert response["Location"].startswith(f"/admin/login/?next={CONSOLE}")


def test_staff_without_the_console_permission_get_403(
    client: Client, django_user_model: Any, app: SandboxWcApp
) -> None:
    clerk = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    client.force_login(clerk)

    assert client.get(CONSOLE).status_code == 403
    assert client.post(f"{CONSOLE}apps/{app.pk}/run/").status_code == 403
    assert not SandboxWcSession.objects.exists()


def test_the_console_lists_companies_apps_and_sessions(
    staff: Client, app: SandboxWcApp, company: SandboxQbCompany
) -> None:
    services.company_seed(company, customers=12, items=3, invoices=4)
    SandboxWcSession.objects.create(
        app=app,
        started_at=company.created_at,
        status=SandboxWcSession.Status.DONE,
        log=["authenticate -> none"],
    )

    response = staff.get(CONSOLE)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Acme Landscaping" in page and "C:\\Books\\Acme.QBW" in page
    assert "Customer 12" in page and "Invoice 4" in page
    assert "ml-connector (Acme)" in page and APP_URL in page
    assert f'action="{CONSOLE}apps/{app.pk}/run/"' in page
    assert "authenticate -&gt; none" in page
    assert "never-shown" not in page


def test_run_now_runs_the_session_and_reports_it(
    staff: Client, app: SandboxWcApp, mock_http: responses.RequestsMock
) -> None:
    fake = FakeApp(auth=["", "none"])
    mock_http.add_callback(responses.POST, APP_URL, callback=fake)

    response = staff.post(f"{CONSOLE}apps/{app.pk}/run/", follow=True)

    assert response.redirect_chain == [(CONSOLE, 302)]
    session = SandboxWcSession.objects.get()
    assert session.status == SandboxWcSession.Status.NOTHING_TO_DO
    assert fake.operations() == ["serverVersion", "clientVersion", "authenticate"]
    assert "No data exchange required" in response.content.decode()


def test_run_now_is_a_post_with_a_csrf_token(app: SandboxWcApp, django_user_model: Any) -> None:
    guarded = Client(enforce_csrf_checks=True)
    tester = django_user_model.objects.create_superuser("root", password="pw")
    guarded.force_login(tester)

    assert guarded.get(f"{CONSOLE}apps/{app.pk}/run/").status_code == 405
    assert guarded.post(f"{CONSOLE}apps/{app.pk}/run/").status_code == 403
    assert not SandboxWcSession.objects.exists()
