"""A test's Web Connector: SOAP calls to `/qbwc/` as QBWC makes them (document/literal, the
SOAPAction header, parameters unprefixed in the Intuit namespace), and QuickBooks' answers
written by hand in qbXML."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID
from xml.sax.saxutils import escape, quoteattr

from django.test import Client
from lxml import etree

NS = "http://developer.intuit.com/"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "fixtures/qbwc/qbxml130/qbxmlops130.xsd"
_schema: etree.XMLSchema | None = None


def envelope(operation: str, params: dict[str, Any]) -> bytes:
    root = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soap": SOAP})
    body = etree.SubElement(root, f"{{{SOAP}}}Body")
    call = etree.SubElement(body, f"{{{NS}}}{operation}", nsmap={None: NS})
    for name, value in params.items():
        etree.SubElement(call, f"{{{NS}}}{name}").text = "" if value is None else str(value)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def post(client: Client, body: bytes, operation: str = "x") -> Any:
    return client.post(
        "/qbwc/",
        body,
        content_type="text/xml; charset=utf-8",
        headers={"SOAPAction": f'"{NS}{operation}"'},
    )


def call(client: Client, operation: str, **params: Any) -> Any:
    """The operation's result: a string, an int for receiveResponseXML, a list for
    authenticate."""
    response = post(client, envelope(operation, params), operation)
    assert response.status_code == 200, response.content
    root = etree.fromstring(response.content)
    result = root.find(f".//{{{NS}}}{operation}Result")
    assert result is not None, response.content
    if operation == "authenticate":
        return [child.text or "" for child in result]
    if operation == "receiveResponseXML":
        return int(result.text)
    return result.text or ""


def schema() -> etree.XMLSchema:
    global _schema
    if _schema is None:
        _schema = etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))
    return _schema


def requests_in(message: str) -> list[etree._Element]:
    """The requests of a qbXML message we sent, after checking it against the qbXML 13.0
    schema."""
    assert message.startswith('<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="13.0"?>')
    root = etree.fromstring(message.encode("utf-8"))
    schema().assertValid(root)
    return list(root.find("QBXMLMsgsRq"))


def hcp(owner_id: UUID | str, file_id: UUID | str | None) -> str:
    """The first sendRequestXML's strHCPResponse: the host, the company (with the FileID the
    Web Connector wrote under our OwnerID) and its preferences."""
    owner, file = str(owner_id).upper(), str(file_id).upper()
    data_ext = (
        f"<DataExtRet><OwnerID>{{{owner}}}</OwnerID><DataExtName>FileID</DataExtName>"
        f"<DataExtType>STR255TYPE</DataExtType><DataExtValue>{{{file}}}</DataExtValue>"
        "</DataExtRet>"
        if file_id
        else ""
    )
    versions = "".join(
        f"<SupportedQBXMLVersion>{v}.0</SupportedQBXMLVersion>" for v in range(1, 14)
    )
    return (
        '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>'
        '<HostQueryRs requestID="0" statusCode="0" statusSeverity="Info" statusMessage="Status OK">'
        "<HostRet><ProductName>QuickBooks Pro 2014</ProductName><MajorVersion>24</MajorVersion>"
        f"<MinorVersion>0</MinorVersion><Country>US</Country>{versions}</HostRet></HostQueryRs>"
        '<CompanyQueryRs requestID="1" statusCode="0" statusSeverity="Info" statusMessage="OK">'
        f"<CompanyRet><CompanyName>Acme Books</CompanyName>{data_ext}</CompanyRet>"
        "</CompanyQueryRs>"
        '<PreferencesQueryRs requestID="2" statusCode="0" statusSeverity="Info" '
        'statusMessage="OK"><PreferencesRet/></PreferencesQueryRs>'
        "</QBXMLMsgsRs></QBXML>"
    )


def customer_ret(
    n: int,
    *,
    modified: str = "2026-12-01T09:00:00-05:00",
    edit: str = "1",
    name: str = "",
    phone: str = "",
) -> str:
    name, phone = escape(name or f"Customer {n}"), phone or f"650-555-{n:04d}"
    return (
        f"<CustomerRet><ListID>80000{n:03d}-1700000000</ListID>"
        f"<TimeCreated>2026-11-01T09:00:00-05:00</TimeCreated><TimeModified>{modified}"
        f"</TimeModified><EditSequence>{edit}</EditSequence><Name>{name}</Name>"
        f"<FullName>{name}</FullName><IsActive>true</IsActive>"
        f"<Phone>{phone}</Phone></CustomerRet>"
    )


def answer(rs: str, request_id: str, body: str = "", *, status: int = 0, **attrs: Any) -> str:
    """A qbXML response holding one `rs` answer."""
    severity = "Info" if status in (0, 1) else "Warn" if status < 1000 else "Error"
    extra = "".join(f' {k}="{v}"' for k, v in attrs.items())
    return (
        f'<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><{rs} requestID="{request_id}" '
        f'statusCode="{status}" statusSeverity="{severity}" statusMessage="Status {status}"'
        f"{extra}>{body}</{rs}></QBXMLMsgsRs></QBXML>"
    )


def session_run(client: Client, company: Any, respond: Any) -> list[etree._Element]:
    """A whole session: authenticate, then each request answered by `respond(request)` (a
    qbXML `*Rs` element as text), until the service says 100 (or -1). Returns every request
    it was sent, each checked against the qbXML 13.0 schema."""
    from tests.qbd.conftest import PASSWORD

    ticket, verdict = call(
        client, "authenticate", strUserName=company.username, strPassword=PASSWORD
    )
    if verdict in ("none", "nvu"):
        return []
    sent: list[etree._Element] = []
    first = True
    for _ in range(100):
        message = call(
            client,
            "sendRequestXML",
            ticket=ticket,
            strHCPResponse=hcp(company.owner_id, company.file_id) if first else "",
            strCompanyFileName=company.company_file,
            qbXMLCountry="US",
            qbXMLMajorVers=13,
            qbXMLMinorVers=0,
        )
        first = False
        assert message, call(client, "getLastError", ticket=ticket)
        requests = requests_in(message)
        sent.extend(requests)
        body = "".join(respond(request) for request in requests)
        response = f'<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>{body}</QBXMLMsgsRs></QBXML>'
        progress = call(
            client, "receiveResponseXML", ticket=ticket, response=response, hresult="", message=""
        )
        if progress in (100, -1):
            call(client, "closeConnection", ticket=ticket)
            return sent
    raise AssertionError("the session never finished")


def rs(request: etree._Element, body: str = "", *, status: int = 0, message: str = "") -> str:
    """The answer to `request`: its *Rs tag, its requestID, a status."""
    tag = request.tag[: -len("Rq")] + "Rs"
    severity = "Info" if status in (0, 1) else "Warn" if status < 1000 else "Error"
    text = message or ("Status OK" if status == 0 else f"Status {status}")
    return (
        f'<{tag} requestID="{request.get("requestID")}" statusCode="{status}" '
        f'statusSeverity="{severity}" statusMessage={quoteattr(text)}>{body}</{tag}>'
    )
