"""QuickBooks Online Accounting API v3: HTTP only, answers parsed into small typed objects.

Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/companyinfo
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import requests
from lxml import etree

from connectors.base.exceptions import (
    AuthError,
    ConnectorError,
    NotFound,
    PermanentError,
    RateLimited,
    RemoteUnavailable,
)
from connectors.base.http import ApiSession, response_error_default, retry_after_seconds
from connectors.vendor_hosts import INTUIT_HOSTS

if TYPE_CHECKING:
    from connectors.models import Connection

MINOR_VERSION = "75"
PRODUCTION_URL = "https://quickbooks.api.intuit.com"
SANDBOX_URL = "https://sandbox-quickbooks.api.intuit.com"
# Intuit allows 500 requests a minute per company; keep headroom for the customer's other apps.
CALLS_PER_MINUTE = 450
# Intuit documents no Retry-After on its 429s, only "wait 60 seconds before retrying".
THROTTLE_PAUSE = 60.0

AUTH_CODES = {"3200", "3201", "120", "3100"}
QUERY_PAGE_SIZE = 1000  # the most QBO returns per query page
IDS_PER_QUERY = 200  # keeps `Id IN (...)` queries well inside URL and parser limits
BATCH_SIZE = 30  # Intuit's recommended maximum items per batch call
NAME_LISTS = {"Customer", "Vendor", "Item", "Employee", "Account", "Class", "Term"}
_XML_CODE = re.compile(rb'code="(\d+)"')


@dataclass(frozen=True)
class QboRecord:
    """One QuickBooks entity as the engine sees it."""

    entity: str
    id: str
    sync_token: str
    last_updated: datetime | None
    active: bool
    deleted: bool
    data: dict[str, Any]

    @classmethod
    def parse(cls, entity: str, data: dict[str, Any]) -> QboRecord:
        meta = data.get("MetaData") or {}
        stamp = meta.get("LastUpdatedTime")
        return cls(
            entity=entity,
            id=str(data.get("Id", "")),
            sync_token=str(data.get("SyncToken", "")),
            last_updated=datetime.fromisoformat(stamp) if stamp else None,
            active=bool(data.get("Active", True)),
            deleted=data.get("status") == "Deleted",
            data=data,
        )


@dataclass(frozen=True)
class BatchResult:
    """One item of a batch answer: the record written, or the Fault that stopped it."""

    bid: str
    record: QboRecord | None
    error: ConnectorError | None


@dataclass(frozen=True)
class CompanyInfo:
    realm_id: str
    name: str
    legal_name: str
    country: str


def _fault_from_json(body: Any) -> tuple[str, str, str] | None:
    """(code, message, detail) of a Fault, in either of the casings Intuit uses."""
    if not isinstance(body, dict):
        return None
    fault = body.get("Fault") or body.get("fault")
    if not isinstance(fault, dict):
        return None
    errors = fault.get("Error") or fault.get("error") or [{}]
    first = errors[0] if isinstance(errors, list) and errors else {}
    code = str(first.get("code", ""))
    message = str(first.get("Message") or first.get("message") or "QuickBooks reported an error")
    detail = str(first.get("Detail") or first.get("detail") or "")
    return code, message, detail


def qbo_quote(value: str) -> str:
    """A string literal for QBO's query language: backslash and quote escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def qbo_timestamp(moment: datetime) -> str:
    """QBO reads a timestamp without an offset as Pacific time, so always send one."""
    return moment.isoformat(timespec="seconds")


def _fault_from_xml(content: bytes) -> tuple[str, str, str] | None:
    """Throttling answers often come as XML even when JSON was asked for."""
    if b"<" not in content[:200]:
        return None
    try:
        root = etree.fromstring(
            content, parser=etree.XMLParser(resolve_entities=False, no_network=True)
        )
    except etree.XMLSyntaxError:
        match = _XML_CODE.search(content)
        return (match.group(1).decode(), "QuickBooks reported an error", "") if match else None
    error = root.find(".//{*}Error")
    if error is None:
        return None
    return (
        error.get("code", ""),
        (error.findtext("{*}Message") or "").strip(),
        (error.findtext("{*}Detail") or "").strip(),
    )


def qbo_error(response: requests.Response) -> ConnectorError | None:
    """Read a QBO answer for failure, including a Fault inside an HTTP 200."""
    request_id = response.headers.get("intuit_tid", "")
    try:
        body = response.json()
    except ValueError:
        body = None
    fault = _fault_from_json(body) if body is not None else _fault_from_xml(response.content)
    if fault is None:
        if response.ok:
            return None
        return response_error_default(
            response, system="qbo", request_id=request_id
        ) or PermanentError(
            f"QuickBooks answered {response.status_code}: {response.text[:200]}",
            system="qbo",
            status=response.status_code,
            request_id=request_id,
        )
    code, message, detail = fault
    text = f"{message}: {detail}" if detail else message
    kwargs = {
        "system": "qbo",
        "code": code,
        "status": response.status_code,
        "request_id": request_id,
        "details": body,
    }
    if response.status_code == 429 or code == "3001":
        return RateLimited(text, retry_after=retry_after_seconds(response), **kwargs)
    if response.status_code >= 500 or (code.isdigit() and int(code) >= 10000):
        return RemoteUnavailable(text, retry_after=retry_after_seconds(response), **kwargs)
    if code in AUTH_CODES or response.status_code in (401, 403):
        return AuthError(text, **kwargs)
    if code == "610":
        return NotFound(text, **kwargs)
    return PermanentError(text, **kwargs)


def _batch_result(answer: dict[str, Any], entities: dict[str, str]) -> BatchResult:
    bid = str(answer.get("bId", ""))
    entity = entities.get(bid, "")
    fault = _fault_from_json(answer)
    if fault is not None:
        code, message, detail = fault
        error_class = NotFound if code == "610" else PermanentError
        text = f"{message}: {detail}" if detail else message
        return BatchResult(
            bid=bid, record=None, error=error_class(text, system="qbo", code=code, details=answer)
        )
    data = answer.get(entity)
    return BatchResult(bid=bid, record=QboRecord.parse(entity, data) if data else None, error=None)


class QboClient:
    """One QuickBooks company (realm) through one connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        default = SANDBOX_URL if connection.environment == "sandbox" else PRODUCTION_URL
        self.base_url = (connection.api_base_url or default).rstrip("/")
        self.api = ApiSession(
            connection,
            hosts=INTUIT_HOSTS,
            parse_error=qbo_error,
            calls_per_minute=CALLS_PER_MINUTE,
            throttle_pause=THROTTLE_PAUSE,
        )

    def _url(self, path: str) -> str:
        return f"{self.base_url}/v3/company/{self.connection.realm_id}/{path}"

    def get(self, path: str, **params: str) -> dict[str, Any]:
        response = self.api.request(
            "GET", self._url(path), params={**params, "minorversion": MINOR_VERSION}
        )
        return response.json()

    def post(self, path: str, body: Any, *, request_id: str = "", **params: str) -> dict[str, Any]:
        """Writes carry a `requestid`, so a retried write returns the first answer: safe to repeat."""
        params = {
            **params,
            "minorversion": MINOR_VERSION,
            "requestid": request_id or uuid.uuid4().hex,
        }
        response = self.api.request(
            "POST", self._url(path), params=params, json=body, retry_safe=True
        )
        return response.json()

    def query(self, statement: str) -> dict[str, Any]:
        """Reference: https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries"""
        return self.get("query", query=statement).get("QueryResponse", {})

    def query_pages(
        self,
        entity: str,
        *,
        where: Iterable[str] = (),
        include_inactive: bool = True,
        page_size: int = QUERY_PAGE_SIZE,
        start: int = 1,
    ) -> Iterator[list[QboRecord]]:
        """Every matching record, a page (up to 1000) at a time, in a stable order (by Id),
        beginning at the `start`-th (1-based, as QBO's STARTPOSITION)."""
        clause = _where_clause(entity, where, include_inactive)
        while True:
            # QBO's own query language, not SQL; every value in `where` went through qbo_quote.
            statement = f"SELECT * FROM {entity}{clause} ORDERBY Id STARTPOSITION {start} MAXRESULTS {page_size}"  # noqa: S608
            rows = self.query(statement).get(entity, [])
            if rows:
                yield [QboRecord.parse(entity, row) for row in rows]
            if len(rows) < page_size:
                return
            start += page_size

    def count(
        self, entity: str, *, where: Iterable[str] = (), include_inactive: bool = True
    ) -> int:
        """How many records `query_pages` would list: one `COUNT(*)` query."""
        clause = _where_clause(entity, where, include_inactive)
        return int(self.query(f"SELECT COUNT(*) FROM {entity}{clause}").get("totalCount", 0))  # noqa: S608

    def read_many(self, entity: str, ids: Iterable[str]) -> list[QboRecord]:
        """Records by id, in `Id IN (...)` queries: never a GET per record."""
        wanted = sorted({str(i) for i in ids}, key=lambda i: (len(i), i))
        records: list[QboRecord] = []
        for chunk_start in range(0, len(wanted), IDS_PER_QUERY):
            chunk = wanted[chunk_start : chunk_start + IDS_PER_QUERY]
            where = [f"Id IN ({', '.join(qbo_quote(i) for i in chunk)})"]
            for page in self.query_pages(entity, where=where):
                records.extend(page)
        return records

    def read(self, entity: str, record_id: str) -> QboRecord:
        return QboRecord.parse(entity, self.get(f"{entity.lower()}/{record_id}")[entity])

    def cdc(self, entities: Iterable[str], changed_since: datetime) -> list[QboRecord]:
        """Changes (deletions included) since a moment at most 30 days back.

        Reference: https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture
        """
        body = self.get(
            "cdc", entities=",".join(entities), changedSince=qbo_timestamp(changed_since)
        )
        records: list[QboRecord] = []
        for block in body.get("CDCResponse", []):
            for response in block.get("QueryResponse", []):
                for entity, rows in response.items():
                    if isinstance(rows, list):
                        records.extend(QboRecord.parse(entity, row) for row in rows)
        return records

    def create(self, entity: str, data: dict[str, Any], *, request_id: str = "") -> QboRecord:
        return QboRecord.parse(
            entity, self.post(entity.lower(), data, request_id=request_id)[entity]
        )

    def update(self, entity: str, data: dict[str, Any], *, request_id: str = "") -> QboRecord:
        """A sparse update: only the fields given change. `data` carries Id and SyncToken."""
        body = {**data, "sparse": True}
        return QboRecord.parse(
            entity, self.post(entity.lower(), body, request_id=request_id)[entity]
        )

    def batch(
        self, operations: list[tuple[str, str, dict[str, Any]]], *, request_id: str = ""
    ) -> list[BatchResult]:
        """(operation, entity, data) triples, 30 a call; a result per item, Faults included.

        Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/batch
        """
        results: list[BatchResult] = []
        for start in range(0, len(operations), BATCH_SIZE):
            items: list[dict[str, Any]] = [
                {"bId": f"b{start + n}", "operation": op, entity: data}
                for n, (op, entity, data) in enumerate(operations[start : start + BATCH_SIZE])
            ]
            entities = {
                item["bId"]: entity
                for item, (_, entity, _) in zip(items, operations[start:], strict=False)
            }
            chunk_id = f"{request_id}-{start}" if request_id else ""
            body = self.post("batch", {"BatchItemRequest": items}, request_id=chunk_id)
            results.extend(
                _batch_result(answer, entities) for answer in body.get("BatchItemResponse", [])
            )
        return results

    def company_info(self) -> CompanyInfo:
        """Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/companyinfo"""
        info = self.get(f"companyinfo/{self.connection.realm_id}")["CompanyInfo"]
        return CompanyInfo(
            realm_id=str(info.get("Id", self.connection.realm_id)),
            name=str(info.get("CompanyName", "")),
            legal_name=str(info.get("LegalName", "")),
            country=str(info.get("Country", "")),
        )

    def ping(self) -> str:
        return self.company_info().name


def _where_clause(entity: str, where: Iterable[str], include_inactive: bool) -> str:
    """A query's WHERE; name lists hide inactive records unless asked for both."""
    conditions = list(where)
    if include_inactive and entity in NAME_LISTS:
        conditions.append("Active IN (true, false)")
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""
