"""HTTP answers shaped like Intuit's: JSON with an `intuit_tid` header, Faults, the XML 429."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse

from connectors.sandbox.qbo import errors

JSON_TYPE = "application/json;charset=UTF-8"


def new_tid() -> str:
    """Intuit's transaction id, which its support asks for: one per response."""
    return f"1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"


def json_reply(body: Any, *, status: int = 200) -> HttpResponse:
    return text_reply(json.dumps(body), status=status)


def text_reply(text: str, *, status: int = 200, content_type: str = JSON_TYPE) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type=content_type)
    response["intuit_tid"] = new_tid()
    return response


def fault_reply(fault: errors.QboFault) -> HttpResponse:
    return json_reply(fault.body(), status=fault.status)


def throttle_reply() -> HttpResponse:
    """HTTP 429 with the XML body Intuit sends even to a JSON client (python-quickbooks#43)."""
    return text_reply(errors.throttle_xml(), status=429, content_type="application/xml")


def api_fault(request: HttpRequest) -> HttpResponse:
    """An injected failure of the accounting API: a 500 or a 503 with a SystemFault body."""
    return fault_reply(errors.system_failure(random.choice((500, 503))))  # noqa: S311


def oauth_fault(request: HttpRequest) -> HttpResponse:
    """An injected failure of Intuit's OAuth server."""
    status = random.choice((500, 503))  # noqa: S311
    body = {"error": "server_error", "error_description": "The server is temporarily unavailable"}
    return json_reply(body, status=status)
