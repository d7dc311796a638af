"""The .qwc file, from the admin's download and from `qbd_connect` for scripted installs."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from lxml import etree

from connectors.models import Connection
from connectors.qbd.models import QbdCompany
from syncs.models import SyncFlow
from tests.qbd.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def qwc_fields(text: str) -> dict[str, str]:
    root = etree.fromstring(text.encode())
    assert root.tag == "QBWCXML"
    return {child.tag: (child.text or "") for child in root if len(child) == 0}


def test_qbd_connect_creates_the_connection_its_flows_and_prints_the_qwc(
    crm_connection, settings, capsys
):
    settings.PUBLIC_BASE_URL = "http://connector.example.com"
    out = StringIO()

    call_command(
        "qbd_connect",
        name="Acme Desktop",
        username="acme",
        password=PASSWORD,
        company_file=r"C:\Books\Acme.QBW",
        stdout=out,
    )

    company = QbdCompany.objects.get(username="acme")
    assert company.connection.status == Connection.Status.CONNECTED
    assert company.check_password(PASSWORD) and PASSWORD not in company.password
    assert company.password.startswith(("pbkdf2_", "argon2", "bcrypt", "scrypt", "md5$"))
    fields = qwc_fields(out.getvalue())
    assert fields["AppURL"] == "https://connector.example.com/qbwc/", "https except localhost"
    assert fields["AppSupport"] == f"https://connector.example.com/qbwc/support/{company.file_id}/"
    assert fields["UserName"] == "acme" and fields["QBType"] == "QBFS"
    assert fields["OwnerID"] == "{" + str(company.owner_id).upper() + "}"
    assert fields["FileID"] == "{" + str(company.file_id).upper() + "}"
    assert fields["IsReadOnly"] == "false" and fields["AppName"].startswith("ml-connector")
    assert fields["AppDescription"] and "AppID" in fields
    root = etree.fromstring(out.getvalue().encode())
    assert root.findtext("Scheduler/RunEveryNMinutes") == "5"
    assert PASSWORD not in out.getvalue()
    flows = SyncFlow.objects.filter(source=company.connection)
    assert {(f.target, f.source_entity, f.target_entity) for f in flows} == {
        (crm_connection, "Customer", "Accounts"),
        (crm_connection, "Item", "Products"),
        (crm_connection, "Invoice", "Deals"),
    }
    assert flows.get(source_entity="Customer").direction == SyncFlow.Direction.TWO_WAY
    assert "created" in capsys.readouterr().err


def test_localhost_keeps_plain_http(db, settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    out = StringIO()
    call_command(
        "qbd_connect",
        name="Local",
        username="local",
        password=PASSWORD,
        company_file="C:\\x.QBW",
        stdout=out,
    )
    assert qwc_fields(out.getvalue())["AppURL"] == "http://127.0.0.1:8000/qbwc/"


def test_qbd_connect_refuses_a_taken_user_and_an_unknown_crm(crm_connection):
    args = dict(name="One", username="same", password=PASSWORD, company_file="C:\\1.QBW")
    call_command("qbd_connect", **args, stdout=StringIO())

    with pytest.raises(CommandError, match="taken"):
        call_command("qbd_connect", **{**args, "name": "Two"}, stdout=StringIO())
    with pytest.raises(CommandError, match="No Zoho CRM connection"):
        call_command(
            "qbd_connect",
            **{**args, "name": "Three", "username": "other"},
            crm="Nope",
            stdout=StringIO(),
        )


def test_the_admin_downloads_the_qwc(admin_client, company):
    response = admin_client.get(f"/qbwc/company/{company.pk}/qwc/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-qwc"
    assert "attachment" in response["Content-Disposition"]
    assert qwc_fields(response.content.decode())["UserName"] == company.username


def test_the_qwc_download_is_for_staff_only(client, company):
    response = client.get(f"/qbwc/company/{company.pk}/qwc/")

    assert response.status_code == 302 and "login" in response["Location"]


def test_the_admin_page_sets_the_password_and_offers_the_qwc(admin_client, company):
    url = f"/admin/qbd/qbdcompany/{company.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200 and b"Download .qwc" in page.content
    assert company.password.encode() not in page.content

    response = admin_client.post(
        url,
        {
            "connection": company.connection.pk,
            "username": company.username,
            "company_file": company.company_file,
            "poll_minutes": 10,
            "new_password": "a new secret",
            "sessions-TOTAL_FORMS": "0",
            "sessions-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content[:2000]
    company.refresh_from_db()
    assert company.check_password("a new secret") and company.poll_minutes == 10


def test_a_desktop_connection_page_shows_no_oauth_and_leads_to_its_web_connector_login(
    admin_client, db
):
    connection = Connection.objects.create(system=Connection.System.QBD, name="Fresh Desktop")
    page = admin_client.get(f"/admin/connectors/connection/{connection.pk}/change/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "Client secret" not in text and "Connect</a>" not in text
    assert "Set up the Web Connector login" in text
    add_url = f"/admin/qbd/qbdcompany/add/?connection={connection.pk}"
    assert add_url.replace("&", "&amp;") in text or add_url in text

    response = admin_client.post(
        "/admin/qbd/qbdcompany/add/",
        {
            "connection": connection.pk,
            "username": "fresh",
            "company_file": r"C:\Books\Fresh.QBW",
            "poll_minutes": 5,
            "new_password": PASSWORD,
            "sessions-TOTAL_FORMS": "0",
            "sessions-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.status == Connection.Status.CONNECTED
    page = admin_client.get(f"/admin/connectors/connection/{connection.pk}/change/").content
    assert b"Download .qwc" in page and b"Web Connector login and sessions" in page
