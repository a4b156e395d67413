"""The daemon's ``filters`` query parameter: a JSON map of names to lists of values.

``{"status": ["running"], "label": ["a=b"]}``, or the older form that maps each value to
``true`` (``{"status": {"running": true}}``); values of one name are alternatives (OR),
names are combined with AND. A name the endpoint does not know is the daemon's 400.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from apitwin.behaviours.base import reject

__all__ = ["Filters", "labels_match", "parse_filters"]

Filters = dict[str, list[str]]


def parse_filters(raw: Any, allowed: Iterable[str]) -> Filters:
    """Decode and check the parameter; an absent or empty one is no filter."""
    if raw is None or raw == "":
        return {}
    try:
        decoded = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
    except orjson.JSONDecodeError as exc:
        raise reject(400, f"invalid filter: {exc}") from None
    if not isinstance(decoded, Mapping):
        raise reject(400, "invalid filter: expected a JSON object of name to values")
    known = set(allowed)
    result: Filters = {}
    for name, values in decoded.items():
        if name not in known:
            raise reject(400, f"Invalid filter '{name}'")
        if isinstance(values, Mapping):
            result[name] = [str(v) for v, on in values.items() if on]
        elif isinstance(values, list):
            result[name] = [str(v) for v in values]
        elif isinstance(values, str):
            result[name] = [values]
        else:
            raise reject(400, f"invalid filter: values of '{name}' must be a list of strings")
    return result


def labels_match(labels: Mapping[str, str] | None, wanted: list[str]) -> bool:
    """Every ``key`` or ``key=value`` in ``wanted`` holds for ``labels`` (labels AND)."""
    labels = labels or {}
    for item in wanted:
        key, sep, value = item.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True
