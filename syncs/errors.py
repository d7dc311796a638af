"""Classification of remote errors into the categories an admin triages, through the rules each
system's registry entry gives (`connectors.base.errors`), and the backoff the engine waits
before retrying a transient one."""

from __future__ import annotations

import random
from datetime import timedelta

from connectors.base.errors import Classification, classify
from connectors.base.exceptions import ConnectorError
from connectors.registry import SPECS, system_spec

__all__ = ["Classification", "backoff_for", "error_classify"]


def error_classify(
    exc: ConnectorError | Exception, *, system: str, references: bool = False
) -> Classification:
    """Classify an error from a call to `system` (a `Connection.System` value).

    `references`: the failing call referred to other records (an invoice's CustomerRef and
    ItemRefs), so "not found" codes mean a missing dependency rather than a missing record.
    """
    name = system or getattr(exc, "system", "")
    if name in SPECS:
        return classify(exc, system_spec(name).error_rules, references=references)
    return classify(exc, references=references)


BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)


def backoff_for(
    attempts: int, *, base: timedelta = BACKOFF_BASE, cap: timedelta = BACKOFF_CAP
) -> timedelta:
    """How long to wait before attempt `attempts + 1`: base * 2^(attempts-1), capped, with
    "equal jitter" (a random point in the upper half) so that records failing together do not
    retry together, yet the wait still grows with every attempt."""
    exponent = min(max(attempts, 1) - 1, 32)  # 2**32 * 30 s is far past any cap
    ceiling = min(cap, base * (2**exponent))
    seconds = ceiling.total_seconds()
    # Not security-sensitive: jitter only spreads retries out.
    return timedelta(seconds=random.uniform(seconds / 2, seconds))  # noqa: S311
