"""qbXML on QuickBooks' side: request messages parsed without trusting them, answers built in
the schema's element order, text held to Latin-1, times in the company file's local time.

Reference: Intuit qbXML 13.0 schema (qbxmlops130.xsd); reference/qbwc.md §4.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from connectors.sandbox.qbd import errors
from connectors.sandbox.qbd.shapes import NESTED, REF

ON_ERROR = frozenset({"stopOnError", "continueOnError", "rollbackOnError"})
_HOSTILE = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_DATETIME = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:T(\d{1,2})(?::(\d{1,2})(?::(\d{1,2}))?)?)?"
    r"(?:([+-])(\d{1,2}):(\d{2}))?$"
)
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


def message_parse(xml: str) -> etree._Element:
    """The QBXMLMsgsRq of a request message, or the hresult QuickBooks gives anything it cannot
    read: malformed XML, a DOCTYPE or entity declaration, a missing or unknown onError."""
    if _HOSTILE.search(xml):
        raise errors.parse_error()
    try:
        root = etree.fromstring(_DECLARATION.sub("", xml, count=1).strip(), _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        raise errors.parse_error() from None
    message_set = root.find("QBXMLMsgsRq") if root.tag == "QBXML" else None
    if message_set is None or message_set.get("onError") not in ON_ERROR:
        raise errors.parse_error()
    return message_set


def latin1(text: str) -> str:
    """QuickBooks stores ISO-8859-1 only: anything else becomes '?'."""
    return "".join(char if ord(char) < 256 else "?" for char in text)


def element_data(element: etree._Element) -> dict[str, Any]:
    """A request aggregate (CustomerAdd, BillAddress) as a dict: leaves as Latin-1 text, nested
    aggregates as dicts, a tag given more than once as a list."""
    data: dict[str, Any] = {}
    for child in element.iterchildren(etree.Element):
        value: Any = element_data(child) if len(child) else latin1((child.text or "").strip())
        if child.tag in data:
            previous = data[child.tag]
            data[child.tag] = (
                [*previous, value] if isinstance(previous, list) else [previous, value]
            )
        else:
            data[child.tag] = value
    return data


def child_text(element: etree._Element, path: str) -> str | None:
    found = element.find(path)
    if found is None:
        return None
    return (found.text or "").strip()


def children_text(element: etree._Element, tag: str) -> list[str]:
    return [(child.text or "").strip() for child in element.findall(tag)]


def aggregate_build(tag: str, data: Mapping[str, Any], order: Sequence[str]) -> etree._Element:
    """An aggregate with `data`'s fields in `order`; fields outside it are not written, so
    nothing can land where the schema does not allow it."""
    element = etree.Element(tag)
    for key in order:
        if key in data and data[key] is not None:
            _append(element, key, data[key])
    return element


def _append(parent: etree._Element, tag: str, value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _append(parent, tag, item)
    elif isinstance(value, Mapping):
        order = NESTED.get(tag) or (REF if tag.endswith("Ref") else tuple(value))
        parent.append(aggregate_build(tag, value, order))
    else:
        etree.SubElement(parent, tag).text = value_text(value)


def value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return latin1(str(value))


def response_message(answers: Sequence[etree._Element]) -> str:
    """The message QuickBooks hands back to the Web Connector, declaration included."""
    root = etree.Element("QBXML")
    message_set = etree.SubElement(root, "QBXMLMsgsRs")
    message_set.extend(answers)
    etree.indent(root, space="")
    return '<?xml version="1.0" ?>\n' + etree.tostring(root, encoding="unicode") + "\n"


def answer_element(
    request: etree._Element, code: int, message: str, **counts: int | str
) -> etree._Element:
    """The *Rs for a *Rq: requestID echoed ("" when the request had none, as QuickBooks
    does), then the status, then iterator attributes when given."""
    tag = request.tag[:-2] + "Rs"
    answer = etree.Element(tag, requestID=request.get("requestID", ""))
    answer.set("statusCode", str(code))
    answer.set("statusSeverity", errors.severity(code))
    answer.set("statusMessage", latin1(message))
    for name, value in counts.items():
        answer.set(name, str(value))
    return answer


# --- time -------------------------------------------------------------------------------------


def qb_time(moment: datetime, zone: str) -> str:
    """`2014-12-15T11:29:22-05:00`: QuickBooks writes its machine's local time, with offset."""
    return moment.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")


def qb_date(value: date) -> str:
    return value.isoformat()


def qb_time_parse(text: str, zone: str, *, end_of_day: bool = False) -> datetime:
    """A DATETIMETYPE value; without an offset it is the QuickBooks machine's local time, and a
    bare date means its first second (or, for a To date, its last)."""
    match = _DATETIME.match(text.strip())
    if not match:
        raise errors.QbStatusError(3020, f'There was an error when converting the date "{text}".')
    year, month, day, hour, minute, second, sign, off_h, off_m = match.groups()
    try:
        day_start = date(int(year), int(month), int(day))
        clock = (
            time(23, 59, 59)
            if hour is None and end_of_day
            else time(int(hour or 0), int(minute or 0), int(second or 0))
        )
    except ValueError:
        raise errors.QbStatusError(
            3020, f'There was an error when converting the date "{text}".'
        ) from None
    local = datetime.combine(day_start, clock)
    if sign is None:
        return local.replace(tzinfo=ZoneInfo(zone))
    offset = int(off_h) * 60 + int(off_m)
    delta = timedelta(minutes=offset if sign == "+" else -offset)
    return local.replace(tzinfo=timezone(delta))
