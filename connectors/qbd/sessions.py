"""The Web Connector's calls, as our answers to them (`connectors.qbd.soap` puts them on the
wire). Every call finds its session by ticket in the database, under a row lock, so a call
landing on another web process, or on one restarted since, goes on where the last one left.

A session: `authenticate` checks the company file's login and decides whether there is work
(`none` if not; never `busy`: a session left open by a Web Connector that went away is ended
by the next `authenticate`, or lapses after `SESSION_IDLE`). The first `sendRequestXML`
checks that the company file QuickBooks opened is this connection's (its FileID); then each
`sendRequestXML` hands over the next request and each `receiveResponseXML` takes the answer
and returns the real share of the work done.
"""

from __future__ import annotations

import logging
import secrets
import uuid

from django.db import transaction
from django.utils import timezone

from connectors.models import Connection
from connectors.qbd import qbxml
from connectors.qbd.models import QbdCompany, QbwcSession
from connectors.qbd.work import SessionFailed, answer_take, plan, progress, request_next

logger = logging.getLogger(__name__)

Status = QbwcSession.Status
QBXML_NEEDED = (13, 0)
UNKNOWN_TICKET = "This Web Connector session is over or unknown: run the update again."


def authenticate(username: str, password: str) -> list[str]:
    """[ticket, what to open]: the company file's path when there is work, `none` when there
    is none, `nvu` for a wrong user name or password (a row says so; the password is never
    kept)."""
    now = timezone.now()
    company = (
        QbdCompany.objects.select_related("connection").filter(username=username or "").first()
    )
    if company is None or not company.check_password(password or ""):
        QbwcSession.objects.create(
            company=company,
            username=(username or "")[:150],
            status=Status.REFUSED,
            finished_at=now,
            note=(
                f"Refused: wrong password for the Web Connector user {username!r}."
                if company is not None
                else f"Refused: no QuickBooks Desktop connection has the user {username!r}."
            ),
        )
        return [uuid.uuid4().hex, "nvu"]
    with transaction.atomic():
        # A session still open here was lost (the Web Connector stopped, or started again).
        QbwcSession.objects.filter(company=company, status=Status.OPEN).update(
            status=Status.EXPIRED,
            finished_at=now,
            note="Ended: the Web Connector started a new session before finishing this one.",
        )
        work = plan(company) if company.connection.status != Connection.Status.DISABLED else {}
        ticket = secrets.token_urlsafe(32)
        if not work.get("steps"):
            QbwcSession.objects.create(
                company=company,
                username=username,
                ticket=ticket,
                status=Status.NO_WORK,
                finished_at=now,
                progress=100,
                note="Nothing to do: no flow reads this company file and no write waits for it.",
            )
            return [ticket, "none"]
        QbwcSession.objects.create(company=company, username=username, ticket=ticket, work=work)
    return [ticket, company.company_file]


def _open(ticket: str) -> QbwcSession | None:
    """The open session of `ticket`, locked for this call (inside the caller's transaction),
    its expiry slid forward; None if there is none or it has lapsed."""
    session = (
        QbwcSession.objects.select_for_update(of=("self",))
        .select_related("company__connection")
        .filter(ticket=ticket or None, status=Status.OPEN)
        .first()
    )
    if session is None:
        return None
    now = timezone.now()
    if session.expired(now):
        _finish(session, Status.EXPIRED, "Stopped answering: the ticket lapsed.")
        return None
    session.touched_at = now
    return session


def _finish(session: QbwcSession, status: str, note: str, error: str = "") -> None:
    session.status, session.note, session.finished_at = status, note, timezone.now()
    if error:
        session.last_error = error
    session.save()


def send_request(
    ticket: str, hcp_response: str, company_file: str, major: int | None, minor: int | None
) -> str:
    """The next qbXML request, or "" with the reason kept for `getLastError` (the wrong company
    file, a QuickBooks too old for qbXML 13.0, a session that is over)."""
    with transaction.atomic():
        session = _open(ticket)
        if session is None:
            return ""
        company = session.company
        assert company is not None
        if hcp_response and not session.work.get("file_checked"):
            refusal = _file_refusal(company, hcp_response, company_file, major, minor)
            if refusal:
                _finish(session, Status.REFUSED, refusal, error=refusal)
                logger.warning("QBWC session for %s refused: %s", company, refusal)
                return ""
            session.work["file_checked"] = True
            session.company_file = (company_file or "")[:500]
            session.qbxml_version = f"{major or 0}.{minor or 0}"
        xml = request_next(session, company)
        session.round_trips += 1
        session.save()
        return xml


def _file_refusal(
    company: QbdCompany, hcp_response: str, opened: str, major: int | None, minor: int | None
) -> str:
    """Why the company file QuickBooks opened is not to be read ("" if it is this
    connection's). Its FileID (written by the Web Connector the first time it connected with
    this .qwc) must be ours; a file without one must at least be the file configured."""
    found = qbxml.company_file_id(hcp_response, str(company.owner_id))
    expected = str(company.file_id)
    if found is not None and found.strip("{}").lower() != expected.lower():
        return (
            f"The wrong company file is open: {opened or 'the open file'} has FileID {found}, "
            f"this connection expects {company.company_file} (FileID {{{expected.upper()}}}). "
            "Nothing was read from it. Open the right company file and update again."
        )
    if found is None and opened and opened.lower() != company.company_file.lower():
        return (
            f"The wrong company file is open: {opened}; this connection reads "
            f"{company.company_file}. Nothing was read from it."
        )
    versions = qbxml.host_versions(hcp_response)
    supported = max((_version(v) for v in versions), default=None)
    if major is not None and supported is None:
        supported = (major, minor or 0)
    if supported is not None and supported < QBXML_NEEDED:
        return (
            f"This QuickBooks speaks qbXML up to {supported[0]}.{supported[1]}; ml-connector "
            "needs 13.0 (QuickBooks 2014 or later)."
        )
    return ""


def _version(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    try:
        return int(major), int(minor or 0)
    except ValueError:
        return (0, 0)


def receive_response(ticket: str, response: str, hresult: str, message: str) -> int:
    """Take QuickBooks' answer; the share of the work done (100 at the end), or -1 when the
    session ends on an error (kept for `getLastError`; the work is taken up next session)."""
    with transaction.atomic():
        session = _open(ticket)
        if session is None:
            return -1
        company = session.company
        assert company is not None
        if hresult:
            error = f"QuickBooks could not process the request ({hresult}): {message}".strip()
            _finish(session, Status.FAILED, f"{error} Retried next session.", error=error)
            return -1
        try:
            answered = answer_take(session, company, response or "")
        except (qbxml.QbxmlRefused, SessionFailed) as exc:
            error = str(exc)
            _finish(session, Status.FAILED, f"{error} Retried next session.", error=error)
            return -1
        company.save(update_fields=["watermarks", "page_sizes"])
        session.records_received += answered.records
        session.progress = progress(session.work)
        if session.progress == 100:
            _finish(session, Status.DONE, _summary(session))
        else:
            session.save()
        return session.progress


def _summary(session: QbwcSession) -> str:
    notes = " ".join(session.work.get("notes", []))
    return (
        f"Finished: {session.records_received} records read, {session.writes_sent} writes "
        f"handed over, in {session.round_trips} round trips." + (f" {notes}" if notes else "")
    )


def connection_error(ticket: str, hresult: str, message: str) -> str:
    """QuickBooks could not be opened: the session ends ("done": QBWC must not retry with
    another file) and says why."""
    with transaction.atomic():
        session = _open(ticket)
        if session is not None:
            error = f"QuickBooks could not open the company file ({hresult}): {message}".strip()
            _finish(session, Status.FAILED, error, error=error)
    return "done"


def session_fail(ticket: str, error: str) -> None:
    """End a session on a failure of our own (logged by the caller), saying so to the Web
    Connector's `getLastError` and on the session's row."""
    with transaction.atomic():
        session = _open(ticket)
        if session is not None:
            _finish(session, Status.FAILED, f"{error} Retried next session.", error=error)


def last_error(ticket: str) -> str:
    session = QbwcSession.objects.filter(ticket=ticket or None).first()
    if session is None:
        return UNKNOWN_TICKET
    return session.last_error or session.note or "No error."


def close_connection(ticket: str) -> str:
    with transaction.atomic():
        session = _open(ticket)
        if session is None:
            closed = QbwcSession.objects.filter(ticket=ticket or None).first()
            return closed.note if closed is not None else "OK"
        if session.progress == 100:
            _finish(session, Status.DONE, _summary(session))
        else:
            _finish(
                session,
                Status.FAILED,
                f"Closed at {session.progress}% done; the rest is taken up next session.",
            )
        return session.note
