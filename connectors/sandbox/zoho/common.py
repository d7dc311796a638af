"""Small helpers every Zoho fake shares: ids and timestamps in Zoho's formats, JSON answers, the
base URLs derived from the request, and the bearer token on a request."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse

from connectors.sandbox.zoho.models import BooksOrganization, CrmOrg

# The part of a path that follows the sandbox's Zoho root, per product.
_PRODUCT_MARKERS = ("/accounts/", "/crm/", "/books/")


def random_digits(length: int) -> str:
    """Digits that never start with 0, so ids keep their length as numbers."""
    return str(secrets.randbelow(9) + 1) + "".join(
        str(secrets.randbelow(10)) for _ in range(length - 1)
    )


def zoho_token() -> str:
    """A token shaped like Zoho's: `1000.<32 hex>.<32 hex>`."""
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


def crm_ids_allocate(org: CrmOrg, count: int) -> list[str]:
    """`count` new 19-digit record ids for `org`: its 7-digit prefix and a 12-digit sequence,
    like Zoho's `4150868000000376008`. The counter moves in the database, so concurrent writers
    never share an id."""
    CrmOrg.objects.filter(pk=org.pk).update(id_seq=F("id_seq") + count)
    last = CrmOrg.objects.values_list("id_seq", flat=True).get(pk=org.pk)
    return [f"{org.id_prefix}{seq:012d}" for seq in range(last - count + 1, last + 1)]


def books_ids_allocate(org: BooksOrganization, count: int = 1) -> list[int]:
    """New 15-digit Books ids (`460000000026049`): numbers, as in Zoho's recorded payloads."""
    BooksOrganization.objects.filter(pk=org.pk).update(id_seq=F("id_seq") + count)
    last = BooksOrganization.objects.values_list("id_seq", flat=True).get(pk=org.pk)
    return [int(f"{org.id_prefix}{seq:08d}") for seq in range(last - count + 1, last + 1)]


def now_seconds() -> datetime:
    """Now, to the second: Zoho keeps modification times to the second, which is what makes
    `If-Modified-Since` with the last seen time skip records changed in that same second."""
    return datetime.now(tz=UTC).replace(microsecond=0)


def crm_time(value: datetime | None) -> str | None:
    """CRM's format: `2020-10-14T10:31:43+00:00`."""
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else None


def books_time(value: datetime) -> str:
    """Books' format: `2013-10-07T18:24:51+0000` (no colon in the offset)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S%z")


def parse_time(text: str) -> datetime | None:
    """Parse the timestamps clients send (ISO 8601 with or without a colon in the offset, `Z`,
    or Books' `-UTC` suffix); None when unreadable. A naive time is taken as UTC."""
    text = text.strip()
    if "T" in text:  # a `+` in a query string arrives as a space
        text = text.replace(" ", "+")
    if text.endswith("-UTC"):
        text = text[: -len("-UTC")] + "+00:00"
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


WARNING_HEADER = "X-Sandbox-Warning"


def json_answer(body: Any, status: int = 200, *, warning: str = "") -> JsonResponse:
    """A JSON answer; `warning` (sandbox only, never sent by Zoho) tells a developer why the
    fake answered as it did, and lands in the request log."""
    response = JsonResponse(body, status=status, safe=False)
    if warning:
        response[WARNING_HEADER] = warning
    return response


def empty_answer(status: int) -> HttpResponse:
    """204 and 304 carry no body at all, as Zoho's do."""
    return HttpResponse(status=status, content_type=None)


def json_body(request: HttpRequest) -> Any:
    """The request's JSON body, or None when it is missing or malformed."""
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return None


def zoho_root(request: HttpRequest) -> str:
    """`<scheme>://<host>/sandbox/zoho`, from the request itself so the fakes answer correctly
    on any port and under any mount point."""
    path = request.path
    cut = min((path.find(m) for m in _PRODUCT_MARKERS if m in path), default=len(path))
    return request.build_absolute_uri(path[:cut]).rstrip("/")


def bearer_token(request: HttpRequest) -> str:
    """The token of `Authorization: Zoho-oauthtoken <t>` (or `Bearer <t>`), else ""."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() in ("zoho-oauthtoken", "bearer"):
        return token.strip()
    return ""
