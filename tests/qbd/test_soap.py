"""The SOAP service at /qbwc/ as the Web Connector calls it: the WSDL, authentication, one
whole conversation, hostile bodies, and the company-file check."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from connectors.qbd import soap
from connectors.qbd.models import QbwcSession
from syncs.models import ChangeEvent
from tests.qbd.conftest import PASSWORD, company_make
from tests.qbd.wc import NS, answer, call, customer_ret, envelope, hcp, post, requests_in

pytestmark = pytest.mark.django_db


def test_the_wsdl_names_every_operation_and_parameter_as_intuits_does(client):
    response = client.get("/qbwc/?wsdl")

    assert response.status_code == 200
    wsdl = etree.fromstring(response.content)
    assert wsdl.get("targetNamespace") == NS
    elements = {e.get("name") for e in wsdl.iter("{http://www.w3.org/2001/XMLSchema}element")}
    for name in (
        "serverVersion",
        "clientVersion",
        "strVersion",
        "authenticate",
        "strUserName",
        "strPassword",
        "authenticateResult",
        "sendRequestXML",
        "ticket",
        "strHCPResponse",
        "strCompanyFileName",
        "qbXMLCountry",
        "qbXMLMajorVers",
        "qbXMLMinorVers",
        "receiveResponseXML",
        "response",
        "hresult",
        "message",
        "receiveResponseXMLResult",
        "connectionError",
        "getLastError",
        "closeConnection",
    ):
        assert name in elements, name
    actions = {
        e.get("soapAction") for e in wsdl.iter("{http://schemas.xmlsoap.org/wsdl/soap/}operation")
    }
    assert f"{NS}sendRequestXML" in actions and f"{NS}authenticate" in actions


def test_versions_are_answered(client):
    assert call(client, "serverVersion").startswith("ml-connector")
    assert call(client, "clientVersion", strVersion="2.3.0.215") == ""


def test_a_wrong_password_is_nvu_and_a_row_says_so_without_the_password(client, company):
    ticket, verdict = call(
        client, "authenticate", strUserName=company.username, strPassword="hunter2"
    )

    assert verdict == "nvu" and ticket
    refused = QbwcSession.objects.get(status=QbwcSession.Status.REFUSED)
    assert refused.company == company and "wrong password" in refused.note
    assert "hunter2" not in refused.note + refused.last_error
    ticket, verdict = call(client, "authenticate", strUserName="nobody", strPassword=PASSWORD)
    assert verdict == "nvu"
    assert QbwcSession.objects.filter(status="refused", username="nobody").exists()


def test_no_work_is_none_decided_in_authenticate(client, db):
    idle = company_make("Idle Books", "idle-qbwc")  # no flow reads it, no write waits

    _, verdict = call(client, "authenticate", strUserName="idle-qbwc", strPassword=PASSWORD)

    assert verdict == "none"
    assert QbwcSession.objects.get(company=idle).status == QbwcSession.Status.NO_WORK


def test_tickets_are_random_and_work_opens_the_company_file(client, company):
    first = call(client, "authenticate", strUserName=company.username, strPassword=PASSWORD)
    second = call(client, "authenticate", strUserName=company.username, strPassword=PASSWORD)

    assert first[1] == second[1] == company.company_file
    assert first[0] != second[0] and len(first[0]) >= 40
    # The second authenticate ended the first session: never "busy".
    assert QbwcSession.objects.get(ticket=first[0]).status == QbwcSession.Status.EXPIRED
    assert QbwcSession.objects.get(ticket=second[0]).status == QbwcSession.Status.OPEN


def _send(client, ticket, company, *, first=False, file_id=None):
    return call(
        client,
        "sendRequestXML",
        ticket=ticket,
        strHCPResponse=hcp(company.owner_id, file_id or company.file_id) if first else "",
        strCompanyFileName=company.company_file,
        qbXMLCountry="US",
        qbXMLMajorVers=13,
        qbXMLMinorVers=0,
    )


def _receive(client, ticket, response, hresult="", message=""):
    return call(
        client,
        "receiveResponseXML",
        ticket=ticket,
        response=response,
        hresult=hresult,
        message=message,
    )


def test_a_whole_conversation_pages_customers_into_the_inbox(client, company):
    ticket, _ = call(client, "authenticate", strUserName=company.username, strPassword=PASSWORD)

    (query,) = requests_in(_send(client, ticket, company, first=True))
    assert query.tag == "CustomerQueryRq" and query.get("iterator") == "Start"
    assert query.findtext("ActiveStatus") == "All" and query.find("FromModifiedDate") is None
    page = "".join(customer_ret(n) for n in range(1, 4))
    progress = _receive(
        client,
        ticket,
        answer(
            "CustomerQueryRs",
            query.get("requestID"),
            page,
            iteratorRemainingCount=2,
            iteratorID="{a1b2c3d4-0000-4000-8000-000000000001}",
        ),
    )
    assert 0 < progress < 100

    (more,) = requests_in(_send(client, ticket, company))
    assert more.get("iterator") == "Continue"
    assert more.get("iteratorID") == "{a1b2c3d4-0000-4000-8000-000000000001}"
    last = customer_ret(4, modified="2026-12-02T10:30:00-05:00") + customer_ret(5)
    progress_2 = _receive(
        client,
        ticket,
        answer("CustomerQueryRs", more.get("requestID"), last, iteratorRemainingCount=0),
    )
    assert progress < progress_2 < 100
    company.refresh_from_db()
    assert company.watermarks["Customer"] == "2026-12-02T10:30:00-05:00"

    (deleted,) = requests_in(_send(client, ticket, company))
    assert deleted.tag == "ListDeletedQueryRq" and deleted.find("MaxReturned") is None
    assert (
        _receive(client, ticket, answer("ListDeletedQueryRs", deleted.get("requestID"), status=1))
        == 100
    )
    assert call(client, "closeConnection", ticket=ticket).startswith("Finished: 5 records")

    events = ChangeEvent.objects.filter(connection=company.connection, entity="Customer")
    assert events.count() == 5
    assert set(events.values_list("origin", flat=True)) == {"qbwc"}
    event = events.get(external_id="80000004-1700000000")
    assert event.payload["record"]["data"]["Name"] == "Customer 4"
    session = QbwcSession.objects.get(ticket=ticket)
    assert (session.status, session.round_trips, session.records_received) == ("done", 3, 5)


def test_the_next_session_reads_from_the_watermark(client, company):
    company.watermarks = {"Customer": "2026-12-02T10:30:00-05:00"}
    company.save()
    ticket, _ = call(client, "authenticate", strUserName=company.username, strPassword=PASSWORD)

    (query,) = requests_in(_send(client, ticket, company, first=True))

    assert query.findtext("FromModifiedDate") == "2026-12-02T10:30:00-05:00"


def test_the_wrong_company_file_is_refused_and_nothing_is_read(client, company):
    ticket, _ = call(client, "authenticate", strUserName=company.username, strPassword=PASSWORD)

    sent = _send(
        client, ticket, company, first=True, file_id="0f0f0f0f-0000-4000-8000-00000000dead"
    )

    assert sent == ""
    said = call(client, "getLastError", ticket=ticket)
    assert said.startswith("The wrong company file is open") and company.company_file in said
    session = QbwcSession.objects.get(ticket=ticket)
    assert session.status == QbwcSession.Status.REFUSED and "Nothing was read" in session.note
    assert _receive(client, ticket, answer("CustomerQueryRs", "Customer", customer_ret(1))) == -1
    assert not ChangeEvent.objects.exists()


def test_a_session_dropped_mid_listing_is_finished_by_the_next_without_duplicates(client, company):
    ticket, _ = call(client, "authenticate", strUserName=company.username, strPassword=PASSWORD)
    (query,) = requests_in(_send(client, ticket, company, first=True))
    _receive(
        client,
        ticket,
        answer(
            "CustomerQueryRs",
            query.get("requestID"),
            customer_ret(1) + customer_ret(2),
            iteratorRemainingCount=1,
            iteratorID="{a1b2c3d4-0000-4000-8000-000000000002}",
        ),
    )
    # The Web Connector goes away here (no closeConnection); QuickBooks forgets the iterator.
    company.refresh_from_db()
    assert "Customer" not in company.watermarks, "the listing is not whole yet"

    ticket_2, _ = call(client, "authenticate", strUserName=company.username, strPassword=PASSWORD)
    (again,) = requests_in(_send(client, ticket_2, company, first=True))
    assert again.get("iterator") == "Start" and again.find("FromModifiedDate") is None
    everything = "".join(customer_ret(n) for n in (1, 2, 3))
    _receive(client, ticket_2, answer("CustomerQueryRs", again.get("requestID"), everything))

    assert ChangeEvent.objects.filter(connection=company.connection).count() == 3
    assert QbwcSession.objects.get(ticket=ticket).status == QbwcSession.Status.EXPIRED


def test_a_lost_iterator_restarts_the_listing_from_its_watermark(client, company):
    ticket, _ = call(client, "authenticate", strUserName=company.username, strPassword=PASSWORD)
    (query,) = requests_in(_send(client, ticket, company, first=True))
    _receive(
        client,
        ticket,
        answer(
            "CustomerQueryRs",
            query.get("requestID"),
            customer_ret(1),
            iteratorRemainingCount=5,
            iteratorID="{a1b2c3d4-0000-4000-8000-000000000003}",
        ),
    )
    (more,) = requests_in(_send(client, ticket, company))

    progress = _receive(
        client, ticket, answer("CustomerQueryRs", more.get("requestID"), status=3391)
    )

    assert 0 <= progress < 100
    (restart,) = requests_in(_send(client, ticket, company))
    assert restart.tag == "CustomerQueryRq" and restart.get("iterator") == "Start"


def test_an_hresult_ends_the_session_cleanly_and_moves_nothing(client, company):
    ticket, _ = call(client, "authenticate", strUserName=company.username, strPassword=PASSWORD)
    _send(client, ticket, company, first=True)

    progress = _receive(
        client,
        ticket,
        "",
        hresult="0x80040400",
        message="QuickBooks found an error when parsing the provided XML text stream.",
    )

    assert progress == -1
    said = call(client, "getLastError", ticket=ticket)
    assert "0x80040400" in said and "parsing" in said
    assert call(client, "closeConnection", ticket=ticket)
    company.refresh_from_db()
    assert company.watermarks == {}
    assert QbwcSession.objects.get(ticket=ticket).status == QbwcSession.Status.FAILED


def test_connection_error_ends_the_session_with_done(client, company):
    ticket, _ = call(client, "authenticate", strUserName=company.username, strPassword=PASSWORD)

    said = call(
        client,
        "connectionError",
        ticket=ticket,
        hresult="0x80040408",
        message="Could not start QuickBooks.",
    )

    assert said == "done"
    session = QbwcSession.objects.get(ticket=ticket)
    assert session.status == "failed" and "Could not start QuickBooks" in session.note


def test_an_unknown_ticket_is_told_plainly(client, company):
    assert _send(client, "no-such-ticket", company) == ""
    assert "over or unknown" in call(client, "getLastError", ticket="no-such-ticket")
    assert _receive(client, "no-such-ticket", "<QBXML/>") == -1


def test_interactive_mode_is_answered_harmlessly(client):
    assert call(client, "getInteractiveURL", wcTicket="t", sessionID="s") == ""
    assert call(client, "interactiveDone", wcTicket="t") == "Done"
    assert "interactive" in call(client, "interactiveRejected", wcTicket="t", reason="no")


XXE = (
    b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    b'<authenticate xmlns="http://developer.intuit.com/"><strUserName>&x;</strUserName>'
    b"</authenticate></soap:Body></soap:Envelope>"
)
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (n, b"&lol%d;" % (n - 1) * 10 if n > 1 else b"&lol;" * 10)
        for n in range(1, 10)
    )
    + b']><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    b'<serverVersion xmlns="http://developer.intuit.com/">&lol9;</serverVersion>'
    b"</soap:Body></soap:Envelope>"
)


@pytest.mark.parametrize("body", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_a_body_with_a_doctype_is_refused_before_parsing(client, body):
    response = post(client, body, "authenticate")

    assert response.status_code == 400
    fault = etree.fromstring(response.content)
    assert fault.findtext(".//faultcode") == "soap:Client"
    assert "declarations are not read" in fault.findtext(".//faultstring")
    assert b"root:" not in response.content
    assert not QbwcSession.objects.exists()


def test_a_body_over_the_limit_is_refused(client, monkeypatch):
    monkeypatch.setattr(soap, "BODY_LIMIT", 1000)

    response = post(client, envelope("clientVersion", {"strVersion": "x" * 2000}), "x")

    assert response.status_code == 400 and b"larger than" in response.content


@pytest.mark.parametrize(
    "hostile",
    [
        '<?xml version="1.0"?><!DOCTYPE q [<!ENTITY x SYSTEM "file:///etc/passwd">]><QBXML>&x;</QBXML>',
        "this is not XML",
        '<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;'
        '&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><QBXML>&c;</QBXML>',
    ],
    ids=["xxe-in-qbxml", "not-xml", "billion-laughs-in-qbxml"],
)
def test_a_hostile_qbxml_answer_ends_the_session_and_reads_nothing(client, company, hostile):
    ticket, _ = call(client, "authenticate", strUserName=company.username, strPassword=PASSWORD)
    _send(client, ticket, company, first=True)

    assert _receive(client, ticket, hostile) == -1

    session = QbwcSession.objects.get(ticket=ticket)
    assert session.status == "failed" and "root:" not in session.last_error
    assert not ChangeEvent.objects.exists()


def test_two_company_files_at_once_never_see_each_others_work(client, crm_connection, company):
    from tests.qbd.conftest import customers_flow

    other = company_make("Bolt Books", "bolt-qbwc")
    customers_flow(other, crm_connection)
    ticket_a, _ = call(client, "authenticate", strUserName=company.username, strPassword=PASSWORD)
    ticket_b, _ = call(client, "authenticate", strUserName=other.username, strPassword=PASSWORD)
    (query_a,) = requests_in(_send(client, ticket_a, company, first=True))
    (query_b,) = requests_in(_send(client, ticket_b, other, first=True))

    _receive(client, ticket_b, answer("CustomerQueryRs", query_b.get("requestID"), customer_ret(7)))
    _receive(client, ticket_a, answer("CustomerQueryRs", query_a.get("requestID"), customer_ret(1)))

    assert list(
        ChangeEvent.objects.filter(connection=company.connection).values_list(
            "external_id", flat=True
        )
    ) == ["80000001-1700000000"]
    assert list(
        ChangeEvent.objects.filter(connection=other.connection).values_list(
            "external_id", flat=True
        )
    ) == ["80000007-1700000000"]
    # A ticket is scoped to its own company file: B's ticket with A's file gets B's work only.
    assert QbwcSession.objects.get(ticket=ticket_a).company == company


def test_the_support_page_answers_200_and_says_what_is_happening(client, company):
    ticket, _ = call(client, "authenticate", strUserName=company.username, strPassword=PASSWORD)

    response = client.get(f"/qbwc/support/{company.file_id}/")

    assert response.status_code == 200
    text = response.content.decode()
    assert company.connection.name in text and "Running" in text
    assert ticket not in text and company.password not in text


def test_fixture_envelopes_are_understood(client, company):
    captured = Path(__file__).resolve().parent.parent / "fixtures/qbwc/authenticate.request.xml"
    if not captured.exists():
        pytest.fail(f"{captured} is missing: copy it from ../shared/fixtures/qbwc/")
    response = post(client, captured.read_bytes(), "authenticate")

    assert response.status_code == 200
    result = etree.fromstring(response.content).find(f".//{{{NS}}}authenticateResult")
    assert [c.text for c in result][1] == "nvu"  # the captured login is not one of ours


def test_a_listing_quickbooks_cannot_give_is_passed_over_and_the_session_says_so(
    client, crm_connection
):
    from tests.qbd.conftest import desktop_flows
    from tests.qbd.wc import rs, session_run

    made = company_make("Lite Books", "lite-qbwc")
    desktop_flows(made, crm_connection, ("Item", "Products"), ("Customer", "Accounts"))

    def quickbooks(request):
        if request.tag == "ItemQueryRq":
            return rs(request, status=3250, message="This feature is not enabled or not available")
        if request.tag == "CustomerQueryRq":
            return rs(request, customer_ret(1))
        return rs(request, status=1)

    sent = session_run(client, made, quickbooks)

    assert [r.tag for r in sent] == ["CustomerQueryRq", "ItemQueryRq", "ListDeletedQueryRq"]
    session = QbwcSession.objects.get(company=made, status="done")
    assert "Item not read: QuickBooks said This feature is not enabled" in session.note
    assert ChangeEvent.objects.filter(connection=made.connection).count() == 1


def test_an_iterator_lost_again_and_again_ends_the_session(client, company):
    from tests.qbd.wc import rs, session_run

    def quickbooks(request):
        return rs(request, status=3391, message="The iteratorID is not valid.")

    session_run(client, company, quickbooks)

    session = QbwcSession.objects.get(company=company)
    assert session.status == "failed" and "kept losing" in session.last_error


def test_page_sizes_follow_how_fast_quickbooks_answers(company):
    from connectors.qbd import work

    work._page_adapt(company, "Customer", seconds=1.0, full=True)
    assert company.page_sizes["Customer"] == 2 * work.PAGE_FIRST
    work._page_adapt(company, "Customer", seconds=1.0, full=False)
    assert company.page_sizes["Customer"] == 2 * work.PAGE_FIRST, "a short page says nothing"
    work._page_adapt(company, "Customer", seconds=30.0, full=True)
    assert company.page_sizes["Customer"] == work.PAGE_FIRST
    for _ in range(10):
        work._page_adapt(company, "Customer", seconds=60.0, full=True)
    assert company.page_sizes["Customer"] == work.PAGE_MIN
    for _ in range(10):
        work._page_adapt(company, "Customer", seconds=0.1, full=True)
    assert company.page_sizes["Customer"] == work.PAGE_MAX


def test_a_ticket_slides_forward_with_each_call_and_lapses_when_idle(client, company):
    from datetime import timedelta

    from django.utils import timezone

    from connectors.qbd.models import SESSION_IDLE

    ticket, _ = call(client, "authenticate", strUserName=company.username, strPassword=PASSWORD)
    almost = timezone.now() - SESSION_IDLE + timedelta(minutes=1)
    QbwcSession.objects.filter(ticket=ticket).update(touched_at=almost)

    assert _send(client, ticket, company, first=True), "still alive: the call slides it forward"
    assert QbwcSession.objects.get(ticket=ticket).touched_at > almost

    idle = timezone.now() - SESSION_IDLE - timedelta(minutes=1)
    QbwcSession.objects.filter(ticket=ticket).update(touched_at=idle)
    assert _receive(client, ticket, answer("CustomerQueryRs", "Customer", status=1)) == -1
    session = QbwcSession.objects.get(ticket=ticket)
    assert session.status == QbwcSession.Status.EXPIRED and "lapsed" in session.note


def test_warnings_are_not_failures(client, company):
    ticket, _ = call(client, "authenticate", strUserName=company.username, strPassword=PASSWORD)
    (query,) = requests_in(_send(client, ticket, company, first=True))

    progress = _receive(
        client,
        ticket,
        answer("CustomerQueryRs", query.get("requestID"), customer_ret(1), status=530),
    )

    assert 0 < progress < 100
    assert ChangeEvent.objects.filter(connection=company.connection).count() == 1
