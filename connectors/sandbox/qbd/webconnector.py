"""The QuickBooks Web Connector, played over real HTTP against an app's AppURL.

QBWC 2.3 is a .NET SOAP 1.1 client: document/literal bodies in the namespace
http://developer.intuit.com/, `SOAPAction: "http://developer.intuit.com/<op>"`, the WSDL's own
parameter names. A session goes serverVersion, clientVersion, authenticate, then
sendRequestXML / receiveResponseXML until the app answers 100 (or fails), then closeConnection.
The qbXML in between is answered by the fake's request processor for the app's company file.

Reference: QBWC Programmer's Guide 2.0 ch.2 and ch.10; reference/qbwc.md §1.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

import requests
from django.utils import timezone
from lxml import etree

from connectors.sandbox.qbd import errors
from connectors.sandbox.qbd.models import SandboxQbIterator, SandboxWcApp, SandboxWcSession
from connectors.sandbox.qbd.processor import hcp_response, process
from connectors.sandbox.qbd.qbxml import message_parse
from connectors.sandbox.qbd.services import file_id_write

logger = logging.getLogger(__name__)

NAMESPACE = "http://developer.intuit.com/"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"
CLIENT_VERSION = "2.3.0.215"
USER_AGENT = "Mozilla/4.0 (compatible; MSIE 6.0; MS Web Services Client Protocol 4.0.30319.42000)"
TIMEOUT_SECONDS = 120
MAX_ROUND_TRIPS = 10_000
NOOP_RETRIES = 3
NOOP_PAUSE_SECONDS = 5.0
SAVE_EVERY = 25
MAX_LOG_LINES = 3_000
# The QBWC error each operation's failure is reported as (ProGuide Appendix A).
QBWC_ERRORS = {
    "serverVersion": "QBWC1036",
    "clientVersion": "QBWC1036",
    "authenticate": "QBWC1012",
    "sendRequestXML": "QBWC1041",
    "receiveResponseXML": "QBWC1042",
    "getLastError": "QBWC1043",
    "closeConnection": "QBWC1044",
}
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
sleep = time.sleep  # tests replace it: QBWC's NoOp pause is real time

Status = SandboxWcSession.Status


class SoapFailure(Exception):
    """The app's answer was not a usable SOAP response: QBWC reports it and stops."""


def session_run(
    app: SandboxWcApp, *, stop_after: int | None = None, drop_iterators: bool = False
) -> SandboxWcSession:
    """Run one Web Connector update of `app` and return its session row.

    `stop_after=n` ends it after n sendRequestXML/receiveResponseXML round trips without
    closeConnection, as when QBWC is killed mid-session. `drop_iterators` forgets the
    iterators QuickBooks opened during it, as QuickBooks does when its connection closes.
    """
    session = SandboxWcSession.objects.create(app=app, started_at=timezone.now())
    SandboxWcApp.objects.filter(pk=app.pk).update(last_run_at=session.started_at)
    app.last_run_at = session.started_at
    player = _Player(app, session)
    try:
        session.status = player.play(stop_after)
    except SoapFailure as failure:
        session.status, session.error = Status.ERROR, str(failure)
        player.note(f"error: {failure}", force=True)
    except Exception as exc:
        session.status, session.error = Status.ERROR, f"The sandbox itself failed: {exc!r}"
        player.note(session.error, force=True)
        raise
    finally:
        if drop_iterators:
            dropped, _ = SandboxQbIterator.objects.filter(session=session).delete()
            if dropped:
                player.note(f"QuickBooks dropped {dropped} open iterator(s)", force=True)
        if session.slowest_call:
            player.note(f"slowest call: {session.slowest_call} {session.slowest_ms} ms", force=True)
        session.finished_at = timezone.now()
        session.save()
    return session


def apps_due_run(now: datetime | None = None) -> int:
    """Run every enabled app whose interval has passed since its last run; how many ran. An
    app is claimed by a conditional update first, so two schedulers never run it twice."""
    now = now or timezone.now()
    ran = 0
    for app in SandboxWcApp.objects.filter(enabled=True).select_related("company"):
        if app.last_run_at and app.last_run_at + timedelta(minutes=app.run_every_minutes) > now:
            continue
        claimed = SandboxWcApp.objects.filter(pk=app.pk, last_run_at=app.last_run_at).update(
            last_run_at=now
        )
        if not claimed:
            continue
        try:
            session_run(app)
        except Exception:
            logger.exception("The sandbox Web Connector failed running app %s", app.pk)
        ran += 1
    return ran


class _Player:
    """One session: the SOAP calls, each timed, and the log QBWC would write."""

    def __init__(self, app: SandboxWcApp, session: SandboxWcSession) -> None:
        self.app = app
        self.company = app.company
        self.company.refresh_from_db()  # its FileIDs as the file holds them now
        self.session = session
        self.left_out = 0

    def play(self, stop_after: int | None) -> str:
        self.note(f"serverVersion -> {self.text('serverVersion', [])!r}")
        answer = self.text("clientVersion", [("strVersion", CLIENT_VERSION)])
        self.note(f"clientVersion({CLIENT_VERSION}) -> {answer!r}")
        if answer.upper().startswith("E:"):
            self.session.error = answer[2:].strip()
            return Status.ERROR
        strings = self.strings(
            "authenticate",
            [("strUserName", self.app.username), ("strPassword", self.app.password)],
        )
        ticket, company_file = [*strings, "", ""][:2]
        self.session.ticket = ticket
        self.note(f"authenticate -> {company_file or '(the open company file)'}")
        for index, meaning in ((2, "postpone update by"), (3, "minimum run interval")):
            if len(strings) > index and strings[index]:
                self.note(f"authenticate: {meaning} {strings[index]} s")
        verdict = company_file.strip().lower()
        if verdict in (Status.INVALID_USER, Status.NOTHING_TO_DO, Status.BUSY):
            return verdict
        if company_file and company_file != self.company.file_path:
            self.note(f"the sandbox opens {self.company.file_path} (asked for {company_file})")
        if file_id_write(
            company=self.company, owner_id=self.app.owner_id, file_id=self.app.file_id
        ):
            self.note(f"FileID {self.app.file_id} written for OwnerID {self.app.owner_id}")
        return self.exchange(ticket, stop_after)

    def exchange(self, ticket: str, stop_after: int | None) -> str:
        hcp = hcp_response(self.company, self.app.owner_id)
        major, _, minor = self.company.qbxml_version.partition(".")
        noops = 0
        while self.session.round_trips < MAX_ROUND_TRIPS:
            number = self.session.round_trips + 1
            started = time.perf_counter()
            request = self.text(
                "sendRequestXML",
                [
                    ("ticket", ticket),
                    ("strHCPResponse", hcp),
                    ("strCompanyFileName", self.company.file_path),
                    ("qbXMLCountry", self.company.country),
                    ("qbXMLMajorVers", int(major)),
                    ("qbXMLMinorVers", int(minor or 0)),
                ],
                label=f"sendRequestXML #{number}",
            )
            hcp = ""
            if not request:
                last = self.text("getLastError", [("ticket", ticket)])
                self.note(f"sendRequestXML #{number} -> '' ; getLastError -> {last!r}")
                if last == "NoOp" and noops < NOOP_RETRIES:
                    noops += 1
                    sleep(NOOP_PAUSE_SECONDS)
                    continue
                self.session.error = last or "sendRequestXML returned nothing to do"
                if last == "NoOp":
                    self.session.error = f"still NoOp after {NOOP_RETRIES} retries"
                return self.close(ticket, Status.ERROR)
            noops = 0
            self.note(f"sendRequestXML #{number} ({_summary(request)}) {_ms(started)} ms")
            progress = self.answer(ticket, request)
            self.session.round_trips, self.session.progress = number, progress
            self.note(f"receiveResponseXML -> {progress}%")
            if number % SAVE_EVERY == 0:
                self.session.save(
                    update_fields=[
                        "round_trips",
                        "progress",
                        "log",
                        "ticket",
                        "slowest_ms",
                        "slowest_call",
                    ]
                )
            if stop_after is not None and number >= stop_after:
                self.note(f"stopped after {number} round trips without closeConnection")
                return Status.DROPPED
            if progress < 0:
                last = self.text("getLastError", [("ticket", ticket)])
                self.note(f"getLastError -> {last!r}")
                self.session.error = last
                return self.close(ticket, Status.ERROR)
            if progress >= 100:
                return self.close(ticket, Status.DONE)
        self.note(f"loop guard: {MAX_ROUND_TRIPS} round trips")
        self.session.error = f"more than {MAX_ROUND_TRIPS} round trips"
        return self.close(ticket, Status.ERROR)

    def answer(self, ticket: str, request: str) -> int:
        """QuickBooks processes the request; its answer (or hresult) goes back to the app."""
        started = time.perf_counter()
        response, hresult, message = "", "", ""
        try:
            response = process(self.company, request, session=self.session)
        except errors.QbRequestError as refused:
            hresult, message = refused.hresult, refused.message
            self.note(f"QuickBooks -> {hresult} {message} {_ms(started)} ms")
        else:
            self.note(f"QuickBooks -> {_summary(response, answers=True)} {_ms(started)} ms")
        return self.integer(
            "receiveResponseXML",
            [
                ("ticket", ticket),
                ("response", response),
                ("hresult", hresult),
                ("message", message),
            ],
        )

    def close(self, ticket: str, status: str) -> str:
        self.note(f"closeConnection -> {self.text('closeConnection', [('ticket', ticket)])!r}")
        return status

    # --- SOAP -----------------------------------------------------------------------------

    def call(
        self, operation: str, params: Sequence[tuple[str, str | int]], label: str = ""
    ) -> etree._Element:
        """POST one operation; its `<opResult>` element (absent: an empty one)."""
        started = time.perf_counter()
        try:
            reply = requests.post(
                self.app.app_url,
                data=envelope(operation, params),
                headers={
                    "Content-Type": "text/xml; charset=utf-8",
                    "SOAPAction": f'"{NAMESPACE}{operation}"',
                    "User-Agent": USER_AGENT,
                },
                timeout=TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            raise SoapFailure(f"{QBWC_ERRORS[operation]}: {operation} failed: {exc}") from None
        finally:
            self.timed(label or operation, _ms(started))
        return _result(operation, reply)

    def text(self, operation: str, params: Sequence[tuple[str, str | int]], label: str = "") -> str:
        return self.call(operation, params, label).text or ""

    def strings(self, operation: str, params: Sequence[tuple[str, str | int]]) -> list[str]:
        result = self.call(operation, params)
        return [child.text or "" for child in result.iterchildren(f"{{{NAMESPACE}}}string")]

    def integer(self, operation: str, params: Sequence[tuple[str, str | int]]) -> int:
        text = (self.call(operation, params).text or "").strip()
        try:
            return int(text)
        except ValueError:
            raise SoapFailure(
                f"{QBWC_ERRORS[operation]}: {operation} answered {text!r}, not an integer"
            ) from None

    def timed(self, label: str, ms: int) -> None:
        if ms >= self.session.slowest_ms:
            self.session.slowest_ms, self.session.slowest_call = ms, label

    def note(self, line: str, *, force: bool = False) -> None:
        if len(self.session.log) < MAX_LOG_LINES or force:
            self.session.log.append(line)
        else:
            self.left_out += 1
            if self.left_out == 1:
                self.session.log.append("(log full: later lines left out)")


def envelope(operation: str, params: Sequence[tuple[str, str | int]]) -> bytes:
    """The request body QBWC sends, built with lxml so every string is escaped."""
    root = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soap": SOAP, "xsi": XSI, "xsd": XSD})
    body = etree.SubElement(root, f"{{{SOAP}}}Body")
    call = etree.SubElement(body, f"{{{NAMESPACE}}}{operation}", nsmap={None: NAMESPACE})
    for name, value in params:
        etree.SubElement(call, f"{{{NAMESPACE}}}{name}").text = str(value)
    return b'<?xml version="1.0" encoding="utf-8"?>' + etree.tostring(root, encoding="utf-8")


def _result(operation: str, reply: requests.Response) -> etree._Element:
    code = QBWC_ERRORS[operation]
    if b"<!DOCTYPE" in reply.content.upper() or b"<!ENTITY" in reply.content.upper():
        raise SoapFailure(f"{code}: {operation} answered with a DOCTYPE")
    try:
        root = etree.fromstring(reply.content, _PARSER)
    except etree.XMLSyntaxError:
        raise SoapFailure(
            f"{code}: {operation} answered HTTP {reply.status_code}, not well-formed XML"
        ) from None
    fault = root.find(f".//{{{SOAP}}}Fault")
    if fault is not None:
        raise SoapFailure(f"{code}: {operation} fault: {fault.findtext('faultstring') or ''}")
    if reply.status_code != 200:
        raise SoapFailure(f"{code}: {operation} answered HTTP {reply.status_code}")
    result = root.find(f".//{{{NAMESPACE}}}{operation}Result")
    if result is None:
        if root.find(f".//{{{NAMESPACE}}}{operation}Response") is None:
            raise SoapFailure(f"{code}: {operation} answered without {operation}Response")
        return etree.Element(f"{{{NAMESPACE}}}{operation}Result")
    return result


def _summary(xml: str, *, answers: bool = False) -> str:
    """`CustomerQueryRq x2, InvoiceQueryRq x1`, or for answers `CustomerQueryRs 0 (100)`."""
    try:
        if answers:
            message_set = etree.fromstring(_DECLARATION.sub("", xml, count=1).strip(), _PARSER)
            found = [
                f"{rs.tag} {rs.get('statusCode')} ({len(rs)} Ret)"
                for rs in message_set.iterfind("QBXMLMsgsRs/*")
            ]
            return ", ".join(found) or "no answers"
        tags = Counter(element.tag for element in message_parse(xml).iterchildren(etree.Element))
    except (errors.QbRequestError, etree.XMLSyntaxError):
        return "unreadable qbXML"
    return ", ".join(f"{tag} x{count}" for tag, count in tags.items()) or "no requests"


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
