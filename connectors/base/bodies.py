"""Request bodies from outside, read with bounds: what a forged or broken delivery cannot do to
a receiver (exhaust the stack with nesting, hide non-JSON behind a JSON content type).

Django already refuses bodies over `DATA_UPLOAD_MAX_MEMORY_SIZE` before they are read.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32  # no vendor's delivery nests more than a handful of levels


class BodyRejected(ValueError):
    """The body is not something any vendor sends; nothing of it is stored."""


def json_loads_bounded(body: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """The body as JSON, or `BodyRejected` for text that is not JSON, not in a Unicode
    encoding, or nested deeper than `max_depth` (checked without recursion)."""
    try:
        decoded = json.loads(body)
    except RecursionError as exc:
        raise BodyRejected("the body is nested too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyRejected("the body is not JSON") from exc
    stack: list[tuple[Any, int]] = [(decoded, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > max_depth:
                raise BodyRejected(f"the body is nested more than {max_depth} levels deep")
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return decoded
