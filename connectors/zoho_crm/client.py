"""Zoho CRM REST API v8: HTTP only, answers parsed into small typed objects.

Reference: https://www.zoho.com/crm/developer/docs/api/v8/
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import requests

from connectors.base.exceptions import (
    AuthError,
    ConnectorError,
    NotFound,
    PermanentError,
    RateLimited,
)
from connectors.base.http import ApiSession, response_error_default
from connectors.vendor_hosts import ZOHO_API_DOMAINS, ZOHO_HOSTS

if TYPE_CHECKING:
    from connectors.models import Connection

AUTH_CODES = {"INVALID_TOKEN", "AUTHENTICATION_FAILURE", "OAUTH_SCOPE_MISMATCH", "NO_PERMISSION"}
PAGE_SIZE = 200  # the most a GET returns
WRITE_CHUNK = 100  # the most records one insert/update/upsert takes
IDS_PER_GET = 100
MAX_FIELDS = 50  # `fields` takes at most 50 API names
THROTTLE_PAUSE = 10.0  # a concurrency 429: the other requests finish within seconds
CREDITS_SPENT_PAUSE = 900.0  # the day's API credits are spent: look again in 15 minutes


@dataclass(frozen=True)
class FieldMeta:
    """One field of a CRM module, from `/settings/fields`."""

    api_name: str
    data_type: str
    length: int | None
    mandatory: bool
    label: str
    picklist: tuple[str, ...] = ()
    lookup_module: str = ""
    read_only: bool = False

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> FieldMeta:
        lookup = raw.get("lookup") or {}
        module = lookup.get("module") or {}
        return cls(
            api_name=str(raw.get("api_name", "")),
            data_type=str(raw.get("data_type", "")),
            length=int(raw["length"]) if raw.get("length") not in (None, "") else None,
            mandatory=bool(raw.get("system_mandatory")),
            label=str(
                raw.get("field_label") or raw.get("display_label") or raw.get("api_name", "")
            ),
            picklist=tuple(
                str(v.get("actual_value", v.get("display_value", "")))
                for v in raw.get("pick_list_values") or []
            ),
            lookup_module=str(module.get("api_name", "") if isinstance(module, dict) else module),
            read_only=bool(raw.get("read_only")),
        )


@dataclass(frozen=True)
class RecordResult:
    """The outcome of one record in a write: Zoho answers 2xx even when some records fail."""

    ok: bool
    code: str
    message: str
    id: str = ""
    action: str = ""
    api_name: str = ""
    details: dict[str, Any] | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> RecordResult:
        given = raw.get("details")
        details: dict[str, Any] = given if isinstance(given, dict) else {}
        return cls(
            ok=raw.get("status") == "success",
            code=str(raw.get("code", "")),
            message=str(raw.get("message", "")),
            id=str(details.get("id", "")) if raw.get("status") == "success" else "",
            action=str(raw.get("action") or ""),
            api_name=str(details.get("api_name", "")),
            details=details,
        )


@dataclass(frozen=True)
class CrmOrganization:
    id: str
    company_name: str
    currency: str


def zoho_api_base(connection: Connection) -> str:
    """The override, else the `api_domain` Zoho gave with the token, else the data centre's."""
    return (
        connection.api_base_url or connection.api_domain or ZOHO_API_DOMAINS[connection.data_centre]
    ).rstrip("/")


def crm_error(response: requests.Response) -> ConnectorError | None:
    """Read a CRM answer for a request-level failure (per-record results are read by callers)."""
    if response.status_code in (204, 304):
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    code = str(body.get("code", "")) if isinstance(body, dict) else ""
    failed = isinstance(body, dict) and body.get("status") == "error"
    if response.ok and not failed:
        return None
    message = str(body.get("message", "")) if isinstance(body, dict) else response.text[:200]
    kwargs = {"system": "zoho_crm", "code": code, "status": response.status_code, "details": body}
    if response.status_code == 429 or code == "TOO_MANY_REQUESTS":
        # Zoho sends no Retry-After. A spent day's credits come back slowly: pause long,
        # rather than spend the next ones on retries; a concurrency limit clears in seconds.
        daily = "24 hour" in message.lower()
        return RateLimited(
            message or "Zoho CRM is throttling requests",
            retry_after=CREDITS_SPENT_PAUSE if daily else None,
            **kwargs,
        )
    default = response_error_default(response, system="zoho_crm")
    if default is not None:
        return default
    if code in AUTH_CODES or response.status_code == 401:
        return AuthError(message or "Zoho CRM refused our credentials", **kwargs)
    if response.status_code == 404 or code in ("NOT_FOUND", "INVALID_URL_PATTERN"):
        return NotFound(message or "Not found in Zoho CRM", **kwargs)
    return PermanentError(message or f"Zoho CRM answered {response.status_code}", **kwargs)


class ZohoCrmClient:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.base_url = zoho_api_base(connection) + "/crm/v8"
        self.api = ApiSession(
            connection,
            hosts=ZOHO_HOSTS,
            parse_error=crm_error,
            auth_scheme="Zoho-oauthtoken",
            throttle_pause=THROTTLE_PAUSE,
        )

    def get(
        self, path: str, *, headers: dict[str, str] | None = None, **params: Any
    ) -> dict[str, Any]:
        """A GET; 204 (no records) and 304 (nothing modified) come back as `{}`."""
        response = self.api.request(
            "GET", f"{self.base_url}/{path}", params=params, headers=headers or {}
        )
        return (
            response.json() if response.content and response.status_code not in (204, 304) else {}
        )

    def fields(self, module: str) -> list[FieldMeta]:
        """Reference: https://www.zoho.com/crm/developer/docs/api/v8/field-meta.html"""
        return [
            FieldMeta.parse(raw)
            for raw in self.get("settings/fields", module=module).get("fields", [])
        ]

    def modules(self) -> list[str]:
        """API names of the modules this org's edition and this user can use through the API."""
        body = self.get("settings/modules")
        return [m["api_name"] for m in body.get("modules", []) if m.get("api_supported", True)]

    def record_pages(
        self, module: str, fields: list[str], *, modified_since: datetime | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Every record, 200 a page; pages past the first follow `page_token`, which Zoho requires
        beyond 2000 records. With `modified_since`, only records changed after it (304: none).

        Reference: https://www.zoho.com/crm/developer/docs/api/v8/get-records.html
        """
        params: dict[str, Any] = {"fields": ",".join(fields[:MAX_FIELDS]), "per_page": PAGE_SIZE}
        headers = (
            {"If-Modified-Since": modified_since.isoformat(timespec="seconds")}
            if modified_since
            else {}
        )
        page = 1
        while True:
            body = self.get(module, headers=headers, **params)
            if body.get("data"):
                yield body["data"]
            info = body.get("info") or {}
            if not info.get("more_records"):
                return
            if info.get("next_page_token"):
                params = {**params, "page_token": info["next_page_token"]}
                params.pop("page", None)
            else:
                page += 1
                params = {**params, "page": page}

    def records_by_ids(
        self, module: str, ids: list[str], fields: list[str]
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), IDS_PER_GET):
            chunk = ids[start : start + IDS_PER_GET]
            found.extend(
                self.get(module, ids=",".join(chunk), fields=",".join(fields[:MAX_FIELDS])).get(
                    "data", []
                )
            )
        return found

    def search(self, module: str, **criteria: str) -> list[dict[str, Any]]:
        """`email=`, `phone=`, `word=` or `criteria="((Field:equals:value))"`.

        Reference: https://www.zoho.com/crm/developer/docs/api/v8/search-records.html
        """
        params: dict[str, Any] = dict(criteria)
        return self.get(f"{module}/search", **params).get("data", [])

    def _write(
        self,
        method: str,
        path: str,
        records: list[dict[str, Any]],
        *,
        retry_safe: bool,
        **extra: Any,
    ) -> list[RecordResult]:
        results: list[RecordResult] = []
        for start in range(0, len(records), WRITE_CHUNK):
            body = {"data": records[start : start + WRITE_CHUNK], **extra}
            results.extend(
                RecordResult.parse(raw) for raw in self._write_chunk(method, path, body, retry_safe)
            )
        return results

    def _write_chunk(
        self, method: str, path: str, body: dict[str, Any], retry_safe: bool
    ) -> list[dict[str, Any]]:
        try:
            response = self.api.request(
                method, f"{self.base_url}/{path}", json=body, retry_safe=retry_safe
            )
        except PermanentError as exc:
            # When every record fails Zoho answers 400, still with a result per record.
            if isinstance(exc.details, dict) and isinstance(exc.details.get("data"), list):
                return exc.details["data"]
            raise
        return response.json().get("data", [])

    def upsert(
        self,
        module: str,
        records: list[dict[str, Any]],
        *,
        duplicate_check_fields: list[str],
        trigger: list[str] | None = None,
    ) -> list[RecordResult]:
        """Insert or update by the duplicate-check fields, 100 a call; a result per record.

        Safe to repeat: a retried upsert finds the records its first attempt wrote.
        Reference: https://www.zoho.com/crm/developer/docs/api/v8/upsert-records.html
        """
        # An empty list is refused (INVALID_DATA): without one Zoho checks the module's own
        # duplicate-check fields.
        checked = (
            {"duplicate_check_fields": duplicate_check_fields} if duplicate_check_fields else {}
        )
        return self._write(
            "POST", f"{module}/upsert", records, retry_safe=True, trigger=trigger or [], **checked
        )

    def insert(
        self, module: str, records: list[dict[str, Any]], *, trigger: list[str] | None = None
    ) -> list[RecordResult]:
        return self._write("POST", module, records, retry_safe=False, trigger=trigger or [])

    def update(
        self, module: str, records: list[dict[str, Any]], *, trigger: list[str] | None = None
    ) -> list[RecordResult]:
        """Each record carries its `id`; updating twice to the same values is harmless."""
        return self._write("PUT", module, records, retry_safe=True, trigger=trigger or [])

    def relate(self, module: str, record_id: str, related_list: str, related_id: str) -> None:
        """Relate one record to `record_id` through its related list (a Deal's Products);
        relating it again is harmless.

        Reference: https://www.zoho.com/crm/developer/docs/api/v8/update-related-records.html
        """
        path = f"{module}/{record_id}/{related_list}/{related_id}"
        self.api.request("PUT", f"{self.base_url}/{path}", json={"data": [{}]}, retry_safe=True)

    def watch(self, method: str, channel: dict[str, Any]) -> dict[str, Any]:
        """Enable (POST), renew (PATCH) or replace (PUT) a notification channel.

        Zoho answers an expired channel's renewal with NOT_SUBSCRIBED inside the `watch` list;
        that comes back as a PermanentError with that code, for the caller to POST again.
        Reference: https://www.zoho.com/crm/developer/docs/api/v8/notifications/enable.html
        """
        try:
            response = self.api.request(
                method, f"{self.base_url}/actions/watch", json={"watch": [channel]}
            )
            body = response.json()
        except PermanentError as exc:
            body = exc.details if isinstance(exc.details, dict) else {}
            if not body.get("watch"):
                raise
        answer = (body.get("watch") or [{}])[0]
        if answer.get("status") != "success":
            raise PermanentError(
                str(answer.get("message") or "Zoho refused the notification channel"),
                system="zoho_crm",
                code=str(answer.get("code", "")),
                details=answer,
            )
        return answer.get("details") or {}

    def watch_delete(self, channel_ids: list[str]) -> None:
        self.api.request(
            "DELETE",
            f"{self.base_url}/actions/watch",
            params={"channel_ids": ",".join(channel_ids)},
            retry_safe=True,
        )

    def organization(self) -> CrmOrganization:
        """Reference: https://www.zoho.com/crm/developer/docs/api/v8/get-org-data.html"""
        org = self.get("org")["org"][0]
        return CrmOrganization(
            id=str(org.get("id", "")),
            company_name=str(org.get("company_name", "")),
            currency=str(org.get("iso_code") or org.get("currency") or ""),
        )

    def ping(self) -> str:
        return self.organization().company_name
