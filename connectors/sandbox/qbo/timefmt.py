"""Time as QBO writes and reads it.

Sandbox companies live in Pacific time: MetaData times carry a -08:00 or -07:00 offset, and a
timestamp sent without an offset is read as Pacific, not UTC (QuickBooks-V3-PHP-SDK#69).
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.utils import timezone

PACIFIC = ZoneInfo("America/Los_Angeles")


def now_seconds() -> datetime:
    """Now, to the second: QBO's MetaData has no fractions, so stored times have none either
    (otherwise `LastUpdatedTime > <a value we returned>` would match the record itself)."""
    return timezone.now().replace(microsecond=0)


def metadata_time(moment: datetime) -> str:
    """`2014-09-18T12:56:01-07:00`."""
    return moment.astimezone(PACIFIC).isoformat(timespec="seconds")


def intuit_time(moment: datetime | None = None) -> str:
    """The `time` of a response: `2015-07-23T11:04:15.496-07:00`."""
    moment = moment or timezone.now()
    return moment.astimezone(PACIFIC).isoformat(timespec="milliseconds")


def utc_millis(moment: datetime) -> str:
    """Webhook times: `2025-09-08T20:52:31.657Z`."""
    return (
        moment.astimezone(ZoneInfo("UTC")).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def today_pacific() -> date:
    return timezone.now().astimezone(PACIFIC).date()


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 date or date-time; no offset means Pacific. Raises ValueError."""
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    if len(text) == 10:
        moment = datetime.combine(date.fromisoformat(text), time.min)
    else:
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=PACIFIC)
    return moment
