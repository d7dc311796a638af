"""The sandbox's Web Connector plays QBWC over HTTP: the envelopes, headers and call order of
QBWC 2.3, the FileID written on first connection and sent in strHCPResponse, nvu/none, NoOp,
errors through getLastError, a dropped session without closeConnection, hresults from the
request processor, and the schedule.

The app on the other end is `FakeApp`, a scripted SOAP responder behind `responses`, so what is
asserted is exactly what went over the wire.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import responses
from django.utils import timezone
from lxml import etree

from connectors.sandbox.qbd import services, webconnector
from connectors.sandbox.qbd.models import (
    SandboxQbCompany,
    SandboxQbIterator,
    SandboxWcApp,
    SandboxWcSession,
)
from connectors.sandbox.qbd.webconnector import apps_due_run, session_run
from tests.sandbox.qbd.conftest import FILE_ID, OWNER_ID, answer, answers, assert_valid, message

pytestmark = pytest.mark.django_db

APP_URL = "https://connector.example.test/qbwc/"
NS = "http://developer.intuit.com/"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
Status = SandboxWcSession.Status


@dataclass
class Call:
    operation: str
    params: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str) -> str:
        return dict(self.params)[name]


@dataclass
class FakeApp:
    """A QBWC-facing SOAP service with scripted answers: `requests` are what sendRequestXML
    hands out in turn, `progress` what receiveResponseXML answers in turn."""

    auth: list[str] = field(default_factory=lambda: ["ticket-123", ""])
    requests: list[str] = field(default_factory=list)
    progress: list[int] = field(default_factory=lambda: [100])
    last_error: str = "NoOp"
    client_version: str = ""
    calls: list[Call] = field(default_factory=list)

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        envelope = etree.fromstring(request.body)
        (operation,) = envelope.find(f"{{{SOAP}}}Body")
        name = etree.QName(operation).localname
        params = [(etree.QName(child).localname, child.text or "") for child in operation]
        self.calls.append(Call(name, params, dict(request.headers), request.body))
        result = getattr(self, name)()
        if isinstance(result, list):
            inner = "".join(f"<string>{escape(item)}</string>" for item in result)
        else:
            inner = escape(str(result))
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<soap:Envelope xmlns:soap="{SOAP}"><soap:Body>'
            f'<{name}Response xmlns="{NS}"><{name}Result>{inner}</{name}Result></{name}Response>'
            "</soap:Body></soap:Envelope>"
        )
        return 200, {"Content-Type": "text/xml; charset=utf-8"}, body

    def serverVersion(self) -> str:
        return "fake 1.0"

    def clientVersion(self) -> str:
        return self.client_version

    def authenticate(self) -> list[str]:
        return self.auth

    def sendRequestXML(self) -> str:
        return self.requests.pop(0) if self.requests else ""

    def receiveResponseXML(self) -> int:
        return self.progress.pop(0) if len(self.progress) > 1 else self.progress[0]

    def getLastError(self) -> str:
        return self.last_error

    def closeConnection(self) -> str:
        return "OK"

    def operations(self) -> list[str]:
        return [call.operation for call in self.calls]

    def of(self, operation: str) -> list[Call]:
        return [call for call in self.calls if call.operation == operation]


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@pytest.fixture
def app(company: SandboxQbCompany) -> SandboxWcApp:
    return SandboxWcApp.objects.create(
        name="ml-connector (Acme)",
        app_url=APP_URL,
        username="acme-qbwc",
        password="s3cret-typed-into-qbwc",
        owner_id=OWNER_ID,
        file_id=FILE_ID,
        company=company,
    )


@pytest.fixture
def serve(mock_http: responses.RequestsMock) -> Iterator[Callable[[FakeApp], FakeApp]]:
    def mount(fake: FakeApp) -> FakeApp:
        mock_http.add_callback(responses.POST, APP_URL, callback=fake)
        return fake

    yield mount


CUSTOMERS = message(
    '<CustomerQueryRq requestID="1"><ActiveStatus>All</ActiveStatus></CustomerQueryRq>'
)


def test_a_session_speaks_qbwc_and_sends_the_file_id(
    app: SandboxWcApp, serve: Callable[[FakeApp], FakeApp], qbxml_schema: etree.XMLSchema
) -> None:
    services.record_create(company=app.company, kind="Customer", data={"Name": "Café Zürich"})
    fake = serve(FakeApp(requests=[CUSTOMERS], progress=[100]))

    session = session_run(app)

    assert fake.operations() == [
        "serverVersion",
        "clientVersion",
        "authenticate",
        "sendRequestXML",
        "receiveResponseXML",
        "closeConnection",
    ]
    for call in fake.calls:
        assert call.headers["SOAPAction"] == f'"http://developer.intuit.com/{call.operation}"'
        assert call.headers["Content-Type"] == "text/xml; charset=utf-8"
        assert f'<{call.operation} xmlns="http://developer.intuit.com/"'.encode() in call.body
    server_version, client_version, authenticate, send, receive, close = fake.calls
    assert server_version.params == []
    assert client_version.params == [("strVersion", "2.3.0.215")]
    assert authenticate.params == [
        ("strUserName", "acme-qbwc"),
        ("strPassword", "s3cret-typed-into-qbwc"),
    ]
    assert [name for name, _ in send.params] == [
        "ticket",
        "strHCPResponse",
        "strCompanyFileName",
        "qbXMLCountry",
        "qbXMLMajorVers",
        "qbXMLMinorVers",
    ]
    assert send.param("ticket") == "ticket-123"
    assert send.param("strCompanyFileName") == "C:\\Books\\Acme.QBW"
    assert (
        send.param("qbXMLCountry"),
        send.param("qbXMLMajorVers"),
        send.param("qbXMLMinorVers"),
    ) == (
        "US",
        "13",
        "0",
    )
    hcp = send.param("strHCPResponse")
    assert_valid(qbxml_schema, hcp)
    host, company_rs, _ = answers(hcp)
    assert host.findtext("HostRet/ProductName") == "QuickBooks Pro 2014"
    extension = company_rs.find("CompanyRet/DataExtRet")
    assert (extension.findtext("OwnerID"), extension.findtext("DataExtValue")) == (
        OWNER_ID,
        FILE_ID,
    )
    assert [name for name, _ in receive.params] == ["ticket", "response", "hresult", "message"]
    response = receive.param("response")
    assert answer(response).findtext("CustomerRet/Name") == "Café Zürich"
    assert (receive.param("hresult"), receive.param("message")) == ("", "")
    assert close.params == [("ticket", "ticket-123")]

    session.refresh_from_db()
    assert session.status == Status.DONE
    assert (session.ticket, session.round_trips, session.progress) == ("ticket-123", 1, 100)
    assert session.finished_at is not None
    assert "authenticate -> (the open company file)" in session.log
    assert any(line.startswith("sendRequestXML #1 (CustomerQueryRq x1) ") for line in session.log)
    assert "receiveResponseXML -> 100%" in session.log
    assert session.log[-2] == "closeConnection -> 'OK'"
    assert session.log[-1] == f"slowest call: {session.slowest_call} {session.slowest_ms} ms"
    assert session.slowest_call and session.slowest_ms >= 0
    assert not any("s3cret" in line for line in session.log)
    app.company.refresh_from_db()
    assert app.company.file_ids == {OWNER_ID: FILE_ID}
    app.refresh_from_db()
    assert app.last_run_at == session.started_at


def test_only_the_first_send_carries_the_hcp_response(
    app: SandboxWcApp, serve: Callable[[FakeApp], FakeApp]
) -> None:
    fake = serve(FakeApp(requests=[CUSTOMERS, CUSTOMERS, CUSTOMERS], progress=[33, 66, 100]))

    session = session_run(app)

    sends = fake.of("sendRequestXML")
    assert len(sends) == 3
    assert sends[0].param("strHCPResponse").startswith("<?xml")
    assert [send.param("strHCPResponse") for send in sends[1:]] == ["", ""]
    assert b"<strHCPResponse></strHCPResponse>" in sends[1].body
    assert session.round_trips == 3
    assert [line for line in session.log if line.startswith("receiveResponseXML")] == [
        "receiveResponseXML -> 33%",
        "receiveResponseXML -> 66%",
        "receiveResponseXML -> 100%",
    ]


def test_an_existing_file_id_is_kept_and_a_foreign_company_file_is_logged(
    app: SandboxWcApp, serve: Callable[[FakeApp], FakeApp]
) -> None:
    other = "{11111111-2222-4333-8444-555555555555}"
    app.company.file_ids = {OWNER_ID: other}
    app.company.save()
    fake = serve(FakeApp(auth=["t", "C:\\Other\\Wrong.QBW"], requests=[CUSTOMERS]))

    session = session_run(app)

    hcp = fake.of("sendRequestXML")[0].param("strHCPResponse")
    assert other in hcp and FILE_ID not in hcp
    assert fake.of("sendRequestXML")[0].param("strCompanyFileName") == "C:\\Books\\Acme.QBW"
    assert "the sandbox opens C:\\Books\\Acme.QBW (asked for C:\\Other\\Wrong.QBW)" in session.log


@pytest.mark.parametrize("verdict", ["nvu", "none", "NONE", "busy"])
def test_nvu_and_none_end_the_session_after_authenticate(
    app: SandboxWcApp, serve: Callable[[FakeApp], FakeApp], verdict: str
) -> None:
    fake = serve(FakeApp(auth=["", verdict]))

    session = session_run(app)

    assert fake.operations() == ["serverVersion", "clientVersion", "authenticate"]
    assert session.status == verdict.lower()
    assert f"authenticate -> {verdict}" in session.log
    app.company.refresh_from_db()
    assert app.company.file_ids == {}  # QuickBooks was never opened


def test_a_client_version_error_stops_before_authenticate(
    app: SandboxWcApp, serve: Callable[[FakeApp], FakeApp]
) -> None:
    fake = serve(FakeApp(client_version="E:Please upgrade your Web Connector."))

    session = session_run(app)

    assert fake.operations() == ["serverVersion", "clientVersion"]
    assert session.status == Status.ERROR
    assert session.error == "Please upgrade your Web Connector."


def test_an_empty_send_asks_get_last_error_and_closes(
    app: SandboxWcApp, serve: Callable[[FakeApp], FakeApp]
) -> None:
    fake = serve(FakeApp(requests=[], last_error="The product could not build a request."))

    session = session_run(app)

    assert fake.operations()[3:] == ["sendRequestXML", "getLastError", "closeConnection"]
    assert fake.of("getLastError")[0].params == [("ticket", "ticket-123")]
    assert session.status == Status.ERROR
    assert session.error == "The product could not build a request."
    assert session.round_trips == 0


def test_noop_waits_and_asks_again_at_most_three_times(
    app: SandboxWcApp, serve: Callable[[FakeApp], FakeApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    paused: list[float] = []
    monkeypatch.setattr(webconnector, "sleep", paused.append)
    fake = serve(FakeApp(requests=[], last_error="NoOp"))

    session = session_run(app)

    assert fake.operations()[3:] == [
        *["sendRequestXML", "getLastError"] * 4,
        "closeConnection",
    ]
    assert paused == [5.0, 5.0, 5.0]
    assert session.status == Status.ERROR
    assert "NoOp" in session.error


def test_noop_then_work_goes_on(
    app: SandboxWcApp, serve: Callable[[FakeApp], FakeApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webconnector, "sleep", lambda seconds: None)
    fake = serve(FakeApp(requests=["", CUSTOMERS], last_error="NoOp"))

    session = session_run(app)

    assert fake.operations()[3:] == [
        "sendRequestXML",
        "getLastError",
        "sendRequestXML",
        "receiveResponseXML",
        "closeConnection",
    ]
    assert session.status == Status.DONE
    # the HCP response went with the first sendRequestXML only, even though it came back ""
    assert fake.of("sendRequestXML")[1].param("strHCPResponse") == ""


def test_a_negative_progress_asks_get_last_error_then_closes(
    app: SandboxWcApp, serve: Callable[[FakeApp], FakeApp]
) -> None:
    fake = serve(FakeApp(requests=[CUSTOMERS], progress=[-1], last_error="QBWC ERROR: 3200"))

    session = session_run(app)

    assert fake.operations()[3:] == [
        "sendRequestXML",
        "receiveResponseXML",
        "getLastError",
        "closeConnection",
    ]
    assert session.status == Status.ERROR
    assert session.error == "QBWC ERROR: 3200"
    assert session.progress == -1


def test_stop_after_drops_the_session_without_close_connection(
    app: SandboxWcApp, serve: Callable[[FakeApp], FakeApp]
) -> None:
    fake = serve(FakeApp(requests=[CUSTOMERS] * 5, progress=[20]))

    session = session_run(app, stop_after=2)

    assert "closeConnection" not in fake.operations()
    assert len(fake.of("receiveResponseXML")) == 2
    assert session.status == Status.DROPPED
    assert session.round_trips == 2
    assert session.finished_at is not None


def iterate(max_returned: int, iterator: str = 'iterator="Start"') -> str:
    return message(
        f'<CustomerQueryRq requestID="7" {iterator}><MaxReturned>{max_returned}</MaxReturned>'
        "</CustomerQueryRq>"
    )


def iterator_of(call: Call) -> str:
    found = re.search(r'iteratorID="([^"]+)"', call.param("response"))
    assert found, call.param("response")
    return found.group(1)


@pytest.mark.parametrize("drop", [False, True])
def test_iterators_outlive_a_session_unless_quickbooks_drops_them(
    app: SandboxWcApp, serve: Callable[[FakeApp], FakeApp], drop: bool
) -> None:
    services.company_seed(app.company, customers=3, items=0, invoices=0)
    first = serve(FakeApp(requests=[iterate(1)], progress=[30]))
    dropped = session_run(app, stop_after=1, drop_iterators=drop)
    iterator_id = iterator_of(first.of("receiveResponseXML")[0])

    assert SandboxQbIterator.objects.filter(session=dropped).exists() is not drop
    second = FakeApp(requests=[iterate(1, f'iterator="Continue" iteratorID="{iterator_id}"')])
    serve(second)
    session_run(app)

    rs = answer(second.of("receiveResponseXML")[0].param("response"))
    assert rs.get("statusCode") == ("3391" if drop else "0")


def test_an_hresult_fault_goes_to_receive_response_with_no_response(
    app: SandboxWcApp, serve: Callable[[FakeApp], FakeApp]
) -> None:
    services.fault_add(company=app.company, hresult="0x80040400", message="")
    fake = serve(FakeApp(requests=[CUSTOMERS], progress=[100]))

    session = session_run(app)

    receive = fake.of("receiveResponseXML")[0]
    assert receive.param("response") == ""
    assert receive.param("hresult") == "0x80040400"
    assert receive.param("message") == (
        "QuickBooks found an error when parsing the provided XML text stream."
    )
    assert session.status == Status.DONE


def test_an_app_that_answers_a_soap_fault_ends_the_session(
    app: SandboxWcApp, mock_http: responses.RequestsMock
) -> None:
    fault = (
        f'<soap:Envelope xmlns:soap="{SOAP}"><soap:Body><soap:Fault><faultcode>soap:Server'
        "</faultcode><faultstring>boom</faultstring></soap:Fault></soap:Body></soap:Envelope>"
    )
    mock_http.add(responses.POST, APP_URL, body=fault, status=500, content_type="text/xml")

    session = session_run(app)

    assert session.status == Status.ERROR
    assert session.error == "QBWC1036: serverVersion fault: boom"
    assert len(mock_http.calls) == 1


def test_an_unreachable_app_is_an_error_not_an_exception(app: SandboxWcApp) -> None:
    session = session_run(app)  # nothing registered: the connection is refused

    assert session.status == Status.ERROR
    assert session.error.startswith("QBWC1036: serverVersion failed:")


def test_apps_due_run_runs_what_is_due(
    company: SandboxQbCompany, serve: Callable[[FakeApp], FakeApp]
) -> None:
    fake = serve(FakeApp(auth=["", "none"]))
    now = timezone.now()

    def app(name: str, **fields: Any) -> SandboxWcApp:
        return SandboxWcApp.objects.create(
            name=name,
            app_url=APP_URL,
            username=name,
            password="pw",
            owner_id=OWNER_ID,
            file_id=FILE_ID,
            company=company,
            **fields,
        )

    never = app("never-run")
    due = app("due", last_run_at=now - timedelta(minutes=6), run_every_minutes=5)
    app("recent", last_run_at=now - timedelta(minutes=2), run_every_minutes=5)
    app("disabled", enabled=False)

    ran = apps_due_run(now)

    assert ran == 2
    users = [call.param("strUserName") for call in fake.of("authenticate")]
    assert sorted(users) == ["due", "never-run"]
    assert set(SandboxWcSession.objects.values_list("app__name", flat=True)) == {"never-run", "due"}
    assert apps_due_run(now) == 0
    never.refresh_from_db()
    assert never.last_run_at is not None
    assert due.sessions.get().status == Status.NOTHING_TO_DO
