"""Reading CRM records: `GET /{module}` with its paging rules, single records, the recycle bin,
and how records are rendered.

Paging as Zoho v8 does it: `page`/`per_page` (at most 200) reach the first 2,000 records only;
past that the client must follow `info.next_page_token`, an opaque token stored here that
remembers where the previous page stopped (the sort key of its last record, so records created
meanwhile neither repeat nor vanish) and expires after a day.

Reference: https://www.zoho.com/crm/developer/docs/api/v8/get-records.html"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from connectors.sandbox.zoho.common import crm_time, parse_time
from connectors.sandbox.zoho.crm_schema import LEGACY_LINE_ITEMS, MODULES, ModuleDef
from connectors.sandbox.zoho.crm_validate import error_entry, owner_of
from connectors.sandbox.zoho.models import CrmOrg, CrmPageToken, CrmRecord

SORTABLE = {"id": "record_id", "Created_Time": "created_at", "Modified_Time": "modified_at"}
PER_PAGE_MAX = 200
DISCRETE_LIMIT = 2000
FIELDS_MAX = 50
PAGE_TOKEN_LIFETIME = timedelta(hours=24)


class QueryError(Exception):
    """A request Zoho refuses as a whole: `body` is its error, `status` the HTTP status."""

    def __init__(self, code: str, message: str, details: dict[str, Any], status: int = 400):
        super().__init__(code)
        self.status = status
        self.body = error_entry(code, message, details)


@dataclass
class ListQuery:
    fields: list[str]
    sort_by: str = "id"
    sort_order: str = "desc"
    per_page: int = PER_PAGE_MAX
    page: int = 1
    ids: list[str] = field(default_factory=list)
    modified_since: str = ""


@dataclass
class Page:
    """A page to answer; `status` 204 (nothing) or 304 (nothing modified) means no body."""

    records: list[CrmRecord] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    status: int = 200


def records_page(
    *, org: CrmOrg, module: ModuleDef, params: QueryDict, modified_since: str
) -> tuple[Page, list[str]]:
    """One page of `GET /{module}` and the fields to render."""
    token_value = params.get("page_token", "")
    if token_value and "page" in params:
        raise QueryError(
            "AMBIGUITY_DURING_PROCESSING",
            "ambiguity while processing the request",
            {"ambiguity_due_to": ["page", "page_token"]},
        )
    token = _token_load(org, module, token_value) if token_value else None
    query = _query_parse(module, params, modified_since, token)
    if token is None and query.page * query.per_page > DISCRETE_LIMIT:
        raise QueryError(
            "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
            "You can only get the first 2000 records without using page_token param",
            {"limit": DISCRETE_LIMIT},
        )
    base = live_records(org, module)
    if query.ids:
        base = base.filter(record_id__in=query.ids)
    if query.modified_since:
        base = base.filter(modified_at__gt=parse_time(query.modified_since))
        if not base.exists():
            return Page(status=304), query.fields
    return _page_fetch(org, module, base, query, token), query.fields


def live_records(org: CrmOrg, module: ModuleDef) -> QuerySet[CrmRecord]:
    return CrmRecord.objects.filter(org=org, module=module.api_name, deleted_at=None)


def record_render(
    org: CrmOrg, module: ModuleDef, record: CrmRecord, fields: list[str] | None = None
) -> dict[str, Any]:
    """A record as Zoho returns it: every field (null when empty) or only `fields`, plus `id`."""
    data = record.data
    user = owner_of(org)
    full: dict[str, Any] = {"id": record.record_id}
    for fdef in module.fields:
        full[fdef.api_name] = data.get(fdef.api_name)
    if module.line_items:
        full[module.line_items] = _lines_of(module, data)
    full.update(
        {
            "Owner": data.get("Owner") or user,
            "Created_Time": crm_time(record.created_at),
            "Modified_Time": crm_time(record.modified_at),
            "Created_By": {"name": user["name"], "id": user["id"], "email": user["email"]},
            "Modified_By": {"name": user["name"], "id": user["id"], "email": user["email"]},
        }
    )
    if fields is None:
        return full
    return {"id": record.record_id, **{name: full.get(name) for name in fields if name != "id"}}


def deleted_page(*, org: CrmOrg, module: ModuleDef, params: QueryDict, modified_since: str) -> Page:
    """`GET /{module}/deleted`: the recycle bin (this fake never purges it)."""
    page, per_page = paging_parse(params)
    kind = params.get("type", "all")
    if kind not in ("all", "recycle", "permanent"):
        raise QueryError("INVALID_DATA", "invalid data", {"param_name": "type"})
    bin_ = CrmRecord.objects.filter(org=org, module=module.api_name, deleted_at__isnull=False)
    since = parse_time(modified_since) if modified_since else None
    if since:
        bin_ = bin_.filter(deleted_at__gt=since)
    if kind == "permanent":
        bin_ = bin_.none()
    rows = list(bin_.order_by("-deleted_at", "-record_id")[(page - 1) * per_page :][: per_page + 1])
    info = {"per_page": per_page, "count": min(len(rows), per_page), "page": page}
    return Page(records=rows[:per_page], info={**info, "more_records": len(rows) > per_page})


def deleted_render(org: CrmOrg, module: ModuleDef, record: CrmRecord) -> dict[str, Any]:
    user = {"name": org.user_name, "id": org.user_id}
    return {
        "deleted_by": user,
        "id": record.record_id,
        "display_name": str(record.data.get(MODULES[module.api_name].name_field) or ""),
        "type": "recycle",
        "created_by": dict(user),
        "deleted_time": crm_time(record.deleted_at),
    }


def fields_parse(module: ModuleDef, text: str) -> list[str]:
    """The `fields` parameter: known API names only, at most 50."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if len(names) > FIELDS_MAX:
        raise QueryError("LIMIT_EXCEEDED", "the limit has been exceeded", {"limit": FIELDS_MAX})
    known = {"id", *(f.api_name for f in module.fields)}
    for name in names:
        if name not in known:
            raise QueryError("INVALID_DATA", "invalid data", {"api_name": name})
    return names


def _query_parse(
    module: ModuleDef, params: QueryDict, modified_since: str, token: CrmPageToken | None
) -> ListQuery:
    stored = token.query if token else {}
    fields_text = params.get("fields") or ",".join(stored.get("fields", []))
    if not fields_text:
        raise QueryError(
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            {"param": "fields"},
        )
    page, per_page = paging_parse(params)
    query = ListQuery(
        fields=fields_parse(module, fields_text),
        sort_by=params.get("sort_by") or stored.get("sort_by", "id"),
        sort_order=params.get("sort_order") or stored.get("sort_order", "desc"),
        per_page=per_page if "per_page" in params else stored.get("per_page", per_page),
        page=token.page + 1 if token else page,
        ids=[i for i in (params.get("ids") or "").split(",") if i] or stored.get("ids", []),
        modified_since=stored.get("modified_since") or modified_since,
    )
    _query_validate(query)
    return query


def _query_validate(query: ListQuery) -> None:
    if query.sort_by not in SORTABLE:
        raise QueryError(
            "INVALID_DATA",
            "invalid data",
            {"param_name": "sort_by", "supported_values": [*SORTABLE]},
        )
    if query.sort_order not in ("asc", "desc"):
        raise QueryError(
            "INVALID_DATA",
            "invalid data",
            {"param_name": "sort_order", "supported_values": ["asc", "desc"]},
        )
    if query.modified_since and parse_time(query.modified_since) is None:
        raise QueryError("INVALID_DATA", "invalid data", {"header_name": "If-Modified-Since"})


def paging_parse(params: QueryDict) -> tuple[int, int]:
    try:
        page, per_page = int(params.get("page", 1)), int(params.get("per_page", PER_PAGE_MAX))
    except ValueError:
        raise QueryError("INVALID_DATA", "invalid data", {"param_name": "page"}) from None
    if page < 1:
        raise QueryError("INVALID_DATA", "invalid data", {"param_name": "page"})
    if not 1 <= per_page <= PER_PAGE_MAX:
        raise QueryError(
            "INVALID_DATA", "invalid data", {"param_name": "per_page", "maximum": PER_PAGE_MAX}
        )
    return page, per_page


def _page_fetch(
    org: CrmOrg,
    module: ModuleDef,
    base: QuerySet[CrmRecord],
    query: ListQuery,
    token: CrmPageToken | None,
) -> Page:
    column = SORTABLE[query.sort_by]
    descending = query.sort_order == "desc"
    ordering = [f"-{column}", "-record_id"] if descending else [column, "record_id"]
    rows_qs = base.order_by(*ordering)
    if token is not None:
        rows_qs = rows_qs.filter(_after(column, token, descending))
        rows = list(rows_qs[: query.per_page + 1])
    else:
        start = (query.page - 1) * query.per_page
        rows = list(rows_qs[start : start + query.per_page + 1])
    if not rows:
        return Page(status=204)
    more = len(rows) > query.per_page
    rows = rows[: query.per_page]
    next_token = _token_issue(org, module, query, rows[-1], column, token) if more else None
    info = {
        "per_page": query.per_page,
        "next_page_token": next_token.token if next_token else None,
        "count": len(rows),
        "sort_by": query.sort_by,
        "page": query.page,
        "previous_page_token": (token.previous_token or None) if token else None,
        "page_token_expiry": crm_time(next_token.expires_at) if next_token else None,
        "sort_order": query.sort_order,
        "email": False,
        "call": False,
        "more_records": more,
    }
    return Page(records=rows, info=info)


def _after(column: str, token: CrmPageToken, descending: bool) -> Q:
    """Records that sort after the last one the token's page served."""
    beyond = "lt" if descending else "gt"
    last_id = token.last_record_id
    if column == "record_id":
        return Q(**{f"record_id__{beyond}": last_id})
    value: Any = datetime.fromisoformat(token.last_sort_value)
    return Q(**{f"{column}__{beyond}": value}) | Q(
        **{column: value, f"record_id__{beyond}": last_id}
    )


def _token_issue(
    org: CrmOrg,
    module: ModuleDef,
    query: ListQuery,
    last: CrmRecord,
    column: str,
    current: CrmPageToken | None,
) -> CrmPageToken:
    sort_value = getattr(last, column)
    return CrmPageToken.objects.create(
        token=secrets.token_hex(24),
        org=org,
        module=module.api_name,
        query={
            "fields": query.fields,
            "sort_by": query.sort_by,
            "sort_order": query.sort_order,
            "per_page": query.per_page,
            "ids": query.ids,
            "modified_since": query.modified_since,
        },
        last_sort_value=sort_value.isoformat() if isinstance(sort_value, datetime) else sort_value,
        last_record_id=last.record_id,
        page=query.page,
        previous_token=current.token if current else "",
        expires_at=timezone.now() + PAGE_TOKEN_LIFETIME,
    )


def _token_load(org: CrmOrg, module: ModuleDef, value: str) -> CrmPageToken:
    token = CrmPageToken.objects.filter(
        token=value, org=org, module=module.api_name, expires_at__gt=timezone.now()
    ).first()
    if token is None:
        raise QueryError(
            "INVALID_DATA",
            "the given page token is invalid or expired",
            {"param_name": "page_token"},
        )
    return token


def _lines_of(module: ModuleDef, data: dict[str, Any]) -> Any:
    """Line items under whichever name they were written with (an org can switch naming)."""
    for name in (module.line_items, MODULES[module.api_name].line_items, LEGACY_LINE_ITEMS):
        if name in data:
            return data[name]
    return None
