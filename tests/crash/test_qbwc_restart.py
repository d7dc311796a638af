"""A Web Connector session survives the web server: the product served by real `gunicorn`
processes, the first killed with SIGKILL mid-listing and a second started on another port; the
Web Connector's next calls land there with the same ticket and the session goes on where it
was, to the end, without a duplicate. Nothing of a session lives in a process's memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from lxml import etree

from connectors.qbd.models import QbwcSession
from syncs.models import ChangeEvent
from tests.crash.conftest import CRASH, database_url
from tests.qbd.conftest import PASSWORD, company_make, customers_flow
from tests.qbd.wc import NS, answer, customer_ret, envelope, hcp, requests_in

pytestmark = CRASH


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class WebServer:
    """`gunicorn mlconnector.wsgi` on a port of its own, against the test database."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DB_CONN_MAX_AGE": "0",
            "SANDBOX_ENABLED": "true",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
        }
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--workers",
                    "1",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "mlconnector.wsgi",
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.url}?wsdl", timeout=2)
                return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise AssertionError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/qbwc/"

    def call(self, operation: str, **params):
        response = requests.post(
            self.url,
            data=envelope(operation, params),
            headers={
                "Content-Type": "text/xml; charset=utf-8",
                "SOAPAction": f'"{NS}{operation}"',
            },
            timeout=30,
        )
        assert response.status_code == 200, response.text
        result = etree.fromstring(response.content).find(f".//{{{NS}}}{operation}Result")
        if operation == "authenticate":
            return [child.text or "" for child in result]
        if operation == "receiveResponseXML":
            return int(result.text)
        return result.text or ""

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.kill()


@pytest.fixture
def servers(tmp_path):
    started: list[WebServer] = []

    def start() -> WebServer:
        started.append(WebServer(tmp_path / f"gunicorn-{len(started)}.log"))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def page(first: int, last: int) -> str:
    return "".join(customer_ret(n) for n in range(first, last + 1))


def test_a_session_goes_on_in_another_process_after_the_first_is_killed(db, servers):
    from connectors.models import Connection

    crm = Connection.objects.create(
        system=Connection.System.ZOHO_CRM, name="CRM", status=Connection.Status.CONNECTED
    )
    company = company_make()
    customers_flow(company, crm)
    first = servers()

    ticket, path = first.call("authenticate", strUserName=company.username, strPassword=PASSWORD)
    assert path == company.company_file
    (query,) = requests_in(
        first.call(
            "sendRequestXML",
            ticket=ticket,
            strHCPResponse=hcp(company.owner_id, company.file_id),
            strCompanyFileName=company.company_file,
            qbXMLCountry="US",
            qbXMLMajorVers=13,
            qbXMLMinorVers=0,
        )
    )
    iterator = "{a1b2c3d4-0000-4000-8000-00000000beef}"
    progress = first.call(
        "receiveResponseXML",
        ticket=ticket,
        response=answer(
            "CustomerQueryRs",
            query.get("requestID"),
            page(1, 3),
            iteratorRemainingCount=3,
            iteratorID=iterator,
        ),
        hresult="",
        message="",
    )
    assert 0 < progress < 100

    first.kill()
    second = servers()

    (more,) = requests_in(
        second.call(
            "sendRequestXML",
            ticket=ticket,
            strHCPResponse="",
            strCompanyFileName=company.company_file,
            qbXMLCountry="US",
            qbXMLMajorVers=13,
            qbXMLMinorVers=0,
        )
    )
    assert (more.get("iterator"), more.get("iteratorID")) == ("Continue", iterator)
    second.call(
        "receiveResponseXML",
        ticket=ticket,
        response=answer("CustomerQueryRs", more.get("requestID"), page(4, 6)),
        hresult="",
        message="",
    )
    (deleted,) = requests_in(
        second.call(
            "sendRequestXML",
            ticket=ticket,
            strHCPResponse="",
            strCompanyFileName=company.company_file,
            qbXMLCountry="US",
            qbXMLMajorVers=13,
            qbXMLMinorVers=0,
        )
    )
    done = second.call(
        "receiveResponseXML",
        ticket=ticket,
        response=answer("ListDeletedQueryRs", deleted.get("requestID"), status=1),
        hresult="",
        message="",
    )

    assert done == 100
    assert second.call("closeConnection", ticket=ticket).startswith("Finished: 6 records")
    ids = list(ChangeEvent.objects.values_list("external_id", flat=True))
    assert sorted(ids) == [f"80000{n:03d}-1700000000" for n in range(1, 7)], "none twice"
    session = QbwcSession.objects.get(ticket=ticket)
    assert (session.status, session.round_trips) == ("done", 3)
