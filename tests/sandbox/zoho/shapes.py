"""Compare a fake's JSON with a recorded vendor payload: same keys, same JSON types."""

from __future__ import annotations

from typing import Any


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"  # JSON has one number type: 250 and 1369.66 are alike
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def shape_differences(actual: Any, recorded: Any, path: str = "$") -> list[str]:
    """Where `actual` departs from `recorded`: a key of the recording that is missing, or a value
    of another JSON type. A null in the recording says nothing about the type, so it matches
    anything; list item i is compared with the recording's item i (its first item when the
    recording is shorter)."""
    if recorded is None:
        return []
    if json_type(actual) != json_type(recorded):
        return [f"{path}: {json_type(actual)} where the recording has {json_type(recorded)}"]
    if isinstance(recorded, dict):
        problems = []
        for key, value in recorded.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                problems += shape_differences(actual[key], value, f"{path}.{key}")
        return problems
    if isinstance(recorded, list) and recorded:
        return [
            problem
            for index, item in enumerate(actual)
            for problem in shape_differences(
                item, recorded[min(index, len(recorded) - 1)], f"{path}[{index}]"
            )
        ]
    return []


def assert_same_shape(actual: Any, recorded: Any) -> None:
    problems = shape_differences(actual, recorded)
    assert not problems, "\n".join(problems)
