"""`/qbwc/`: the SOAP service the QuickBooks Web Connector calls (SOAP 1.1, document/literal,
namespace http://developer.intuit.com/, the WSDL's own operation and parameter names), with its
WSDL at `/qbwc/?wsdl`.

A request body with a DOCTYPE or an entity declaration, or over `BODY_LIMIT`, is refused with a
SOAP fault before any XML parser sees it. No exception escapes a method: it is logged, kept for
`getLastError`, and the method answers what tells the Web Connector to stop cleanly.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from spyne import Application, Integer, Iterable, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11
from spyne.server.django import DjangoView

from connectors.qbd import sessions

logger = logging.getLogger(__name__)

NAMESPACE = "http://developer.intuit.com/"
SERVER_VERSION = "ml-connector 0.1"
BODY_LIMIT = 30 * 1024 * 1024  # a page of invoices with lines is a few MB at most
_HOSTILE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)

T = TypeVar("T")


def _safely(default: T, call: Callable[..., T], *args: Any) -> T:
    """`call(*args)`, or `default` if it raised: logged, and the session (when the first
    argument is its ticket) ends saying so."""
    try:
        return call(*args)
    except Exception as exc:
        logger.exception("The QBWC call %s failed", getattr(call, "__name__", call))
        if call in _TICKETED and args and args[0]:
            error = f"ml-connector failed on its side ({type(exc).__name__})."
            try:
                sessions.session_fail(args[0], error)
            except Exception:
                logger.exception("Could not end the QBWC session")
        return default


_TICKETED = (sessions.send_request, sessions.receive_response)


class WebConnectorService(ServiceBase):
    @rpc(_returns=Unicode)
    def serverVersion(ctx):
        return SERVER_VERSION

    @rpc(Unicode, _returns=Unicode)
    def clientVersion(ctx, strVersion):
        return ""  # any Web Connector 2.x will do

    @rpc(Unicode, Unicode, _returns=Iterable(Unicode, member_name="string"))
    def authenticate(ctx, strUserName, strPassword):
        return _safely(["", "nvu"], sessions.authenticate, strUserName, strPassword)

    @rpc(Unicode, Unicode, Unicode, Unicode, Integer, Integer, _returns=Unicode)
    def sendRequestXML(
        ctx,
        ticket,
        strHCPResponse,
        strCompanyFileName,
        qbXMLCountry,
        qbXMLMajorVers,
        qbXMLMinorVers,
    ):
        return _safely(
            "",
            sessions.send_request,
            ticket,
            strHCPResponse or "",
            strCompanyFileName or "",
            qbXMLMajorVers,
            qbXMLMinorVers,
        )

    @rpc(Unicode, Unicode, Unicode, Unicode, _returns=Integer)
    def receiveResponseXML(ctx, ticket, response, hresult, message):
        return _safely(-1, sessions.receive_response, ticket, response, hresult, message)

    @rpc(Unicode, Unicode, Unicode, _returns=Unicode)
    def connectionError(ctx, ticket, hresult, message):
        return _safely("done", sessions.connection_error, ticket, hresult or "", message or "")

    @rpc(Unicode, _returns=Unicode)
    def getLastError(ctx, ticket):
        return _safely("An unexpected error occurred.", sessions.last_error, ticket)

    @rpc(Unicode, _returns=Unicode)
    def closeConnection(ctx, ticket):
        return _safely("OK", sessions.close_connection, ticket)

    # Interactive mode (an Internet Explorer page inside the Web Connector) is not used.
    @rpc(Unicode, _returns=Unicode)
    def getServerVersion(ctx, ticket):
        return SERVER_VERSION

    @rpc(Unicode, Unicode, _returns=Unicode)
    def getInteractiveURL(ctx, wcTicket, sessionID):
        return ""

    @rpc(Unicode, _returns=Unicode)
    def interactiveDone(ctx, wcTicket):
        return "Done"

    @rpc(Unicode, Unicode, _returns=Unicode)
    def interactiveRejected(ctx, wcTicket, reason):
        return "ml-connector does not use interactive mode."


application = Application(
    [WebConnectorService],
    tns=NAMESPACE,
    name="QBWebConnectorSvc",
    in_protocol=Soap11(validator="soft"),
    out_protocol=Soap11(),
)
_spyne_view = DjangoView.as_view(application=application)


def _fault(message: str) -> HttpResponse:
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        f"<soap:Fault><faultcode>soap:Client</faultcode><faultstring>{message}</faultstring>"
        "</soap:Fault></soap:Body></soap:Envelope>"
    )
    return HttpResponse(body, status=400, content_type="text/xml; charset=utf-8")


@csrf_exempt
def qbwc(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        length = int(request.headers.get("Content-Length") or 0)
        if length > BODY_LIMIT:
            return _fault("Request refused: the body is larger than this service accepts.")
        body = request.read(BODY_LIMIT + 1)
        if len(body) > BODY_LIMIT:
            return _fault("Request refused: the body is larger than this service accepts.")
        if _HOSTILE.search(body):
            return _fault("Request refused: document type and entity declarations are not read.")
        request._body = body  # spyne reads the body we have checked
        return _spyne_view(request)
    response = _spyne_view(request)
    if request.method == "GET" and response.status_code == 200:
        response.content = _intuit_actions(response.content)
    return response


def _intuit_actions(wsdl: bytes) -> bytes:
    """The WSDL with Intuit's SOAPAction values (`http://developer.intuit.com/<operation>`,
    what the Web Connector sends) where spyne writes the bare operation name."""
    return re.sub(rb'soapAction="(\w+)"', rb'soapAction="http://developer.intuit.com/\1"', wsdl)
