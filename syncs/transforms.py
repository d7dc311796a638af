"""The field transforms a `FieldMapping` can apply: small pure functions of one value.

A transform that cannot make sense of its input raises `TransformError` with the category the
admin will see (`invalid_value`, ...); `mapping_apply` turns that into a `FieldProblem`.
Blank input (None, "", whitespace) passes through every transform as None, except `constant`
and `sync_time`, which ignore their input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from syncs.countries import country_lookup
from syncs.models import ErrorCategory, FieldMapping

T = FieldMapping.Transform
Options = Mapping[str, Any]


class TransformError(ValueError):
    def __init__(self, message: str, *, category: str = ErrorCategory.INVALID_VALUE) -> None:
        super().__init__(message)
        self.message = message
        self.category = category


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def transform_trim(value: Any) -> str:
    return _text(value).strip()


def transform_truncate(value: Any, length: int) -> str:
    # Cut on characters, then drop the whitespace the cut may leave at the end.
    return _text(value).strip()[:length].rstrip()


# Unambiguous formats only: "03/04/2024" needs the mapping to say which way round it is.
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y")


def transform_date(value: Any, *, input_format: str = "") -> str:
    """To ISO `YYYY-MM-DD`. A datetime keeps the calendar date it was written with: QBO's
    `2014-09-11T23:30:00-07:00` is the 11th, not the 12th in UTC."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = _text(value).strip()
    formats = (input_format,) if input_format else _DATE_FORMATS
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        hint = f" (expected {input_format})" if input_format else "; set the mapping's format"
        raise TransformError(f"{text!r} is not a date{hint}.") from None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TransformError(f"Unknown time zone {name!r} in the mapping.") from None


def transform_datetime(value: Any, *, timezone: str = "UTC", input_format: str = "") -> str:
    """To ISO 8601 with its offset, to the second (`2024-03-04T14:28:52-08:00`), the form Zoho
    accepts. A time without an offset is read in `timezone`; epoch numbers are seconds, or
    milliseconds when too large to be seconds."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        seconds = float(value) / 1000 if abs(float(value)) > 1e11 else float(value)
        moment = datetime.fromtimestamp(seconds, tz=UTC)
    elif isinstance(value, datetime):
        moment = value
    else:
        text = _text(value).strip()
        try:
            moment = (
                datetime.strptime(text, input_format)
                if input_format
                else datetime.fromisoformat(text)
            )
        except ValueError:
            raise TransformError(f"{text!r} is not a date and time.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(timezone))
    return moment.isoformat(timespec="seconds")


def transform_sync_time() -> str:
    """Now, in the form `transform_datetime` writes (`2024-03-04T22:28:52+00:00`): stamps the
    target record with when it was last synced. Its value changes on every run by design, so
    `mapping_apply` reports such fields as volatile and the payload hash leaves them out."""
    return datetime.now(tz=UTC).isoformat(timespec="seconds")


_EXTENSION = re.compile(r"\s*(?:ext\.?|extension|x|#)\s*(\d{1,6})\s*$", re.IGNORECASE)


def transform_phone(value: Any, *, default_country_code: str = "", style: str = "e164") -> str:
    """Keep `+` and digits; `00` becomes `+`. With a known country code the number is E.164
    (`+14154446538`), or with style `international` grouped for North American numbers
    (`+1 415-444-6538`). Without one, national digits are kept as they are. An extension
    survives as ` ext. 12`."""
    text = _text(value).strip()
    extension = ""
    if match := _EXTENSION.search(text):
        extension, text = match.group(1), text[: match.start()]
    digits = re.sub(r"\D", "", text)
    international = text.startswith("+") or digits.startswith("00")
    digits = digits[2:] if not text.startswith("+") and digits.startswith("00") else digits
    if not international and default_country_code:
        country = default_country_code.lstrip("+")
        national = digits[1:] if digits.startswith("0") and country != "1" else digits
        already = country == "1" and len(digits) == 11 and digits.startswith("1")
        digits, international = (digits if already else country + national), True
    if not 7 <= len(digits) <= 15:
        raise TransformError(f"{_text(value)!r} is not a phone number.")
    number = f"+{digits}" if international else digits
    if international and style == "international" and len(digits) == 11 and digits[0] == "1":
        number = f"+1 {digits[1:4]}-{digits[4:7]}-{digits[7:]}"
    return f"{number} ext. {extension}" if extension else number


def transform_country(value: Any, *, output: str = "name", strict: bool = False) -> str:
    """One spelling per country: `output` is `name` (United States), `alpha2` (US) or `alpha3`
    (USA). An unrecognised value passes through trimmed, or fails when `strict`."""
    text = _text(value).strip()
    country = country_lookup(text)
    if country is None:
        if strict:
            raise TransformError(f"{text!r} is not a country we recognise.")
        return text
    return {"alpha2": country.alpha2, "alpha3": country.alpha3}.get(output, country.name)


_TRUE = frozenset({"true", "t", "yes", "y", "1", "on", "active", "enabled"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "off", "inactive", "disabled"})


def parse_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return value != 0
    text = _text(value).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise TransformError(f"{_text(value)!r} is not yes or no.")


def transform_boolean(value: Any, *, true: Any = True, false: Any = False) -> Any:
    return true if parse_boolean(value) else false


_NO_DEFAULT = object()


def transform_value_map(
    value: Any, *, mapping: Mapping[str, Any], default: Any = _NO_DEFAULT
) -> Any:
    """Look the value up in `mapping` (exactly, then ignoring case); otherwise the `default`
    when the mapping gives one, else the value unchanged."""
    key = _text(value).strip()
    if key in mapping:
        return mapping[key]
    folded = {str(k).casefold(): v for k, v in mapping.items()}
    if key.casefold() in folded:
        return folded[key.casefold()]
    return value if default is _NO_DEFAULT else default


def _value_map(value: Any, options: Options) -> Any:
    default = options.get("default", _NO_DEFAULT)
    return transform_value_map(value, mapping=options.get("map") or {}, default=default)


def _truncate(value: Any, options: Options, length: int | None) -> str:
    limit = options.get("length") or length
    if not limit:
        raise TransformError("Truncate needs a length: set one or map to a field that has one.")
    return transform_truncate(value, int(limit))


_SIMPLE: dict[str, Callable[[Any, Options], Any]] = {
    T.NONE: lambda v, o: v,
    T.TRIM: lambda v, o: transform_trim(v),
    T.UPPER: lambda v, o: transform_trim(v).upper(),
    T.LOWER: lambda v, o: transform_trim(v).lower(),
    T.TITLE: lambda v, o: transform_trim(v).title(),
    T.DATE: lambda v, o: transform_date(v, input_format=o.get("format", "")),
    T.DATETIME: lambda v, o: transform_datetime(
        v, timezone=o.get("timezone", "UTC"), input_format=o.get("format", "")
    ),
    T.PHONE: lambda v, o: transform_phone(
        v, default_country_code=str(o.get("default_country_code", "")), style=o.get("style", "e164")
    ),
    T.COUNTRY: lambda v, o: transform_country(
        v, output=o.get("output", "name"), strict=bool(o.get("strict"))
    ),
    T.VALUE_MAP: _value_map,
    T.BOOLEAN: lambda v, o: transform_boolean(
        v, true=o.get("true", True), false=o.get("false", False)
    ),
}


def transform_apply(
    transform: str, value: Any, options: Options, *, length: int | None = None
) -> Any:
    """Apply one transform. `length` is the target field's, for `truncate` without its own."""
    if transform == T.CONSTANT:
        return options.get("value")
    if transform == T.SYNC_TIME:
        return transform_sync_time()
    if is_blank(value):
        return None
    if transform == T.TRUNCATE:
        return _truncate(value, options, length)
    try:
        function = _SIMPLE[transform]
    except KeyError:
        raise TransformError(f"Unknown transform {transform!r}.") from None
    return function(value, options)


def transform_reverse(
    transform: str, value: Any, options: Options, *, length: int | None = None
) -> Any:
    """The transform for the way back (target to source): a value map inverted; a constant or
    a sync time has no way back (returns None); truncate cuts to the source field's `length` when known; the
    normalising transforms apply as they are."""
    if transform in (T.CONSTANT, T.SYNC_TIME) or is_blank(value):
        return None
    if transform == T.VALUE_MAP:
        inverted = {str(v): k for k, v in (options.get("map") or {}).items()}
        return transform_value_map(value, mapping=inverted)
    if transform == T.TRUNCATE:
        return transform_truncate(value, length) if length else value
    if transform == T.BOOLEAN:
        return parse_boolean(value)
    return transform_apply(transform, value, options)
