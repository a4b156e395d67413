"""Compiled JSON Schema validation: the only module that talks to jsonschema_rs.

Validators are built once per schema at start-up and called per request, so building may
be slow-ish but checking must be cheap. Failures come back as :class:`Issue` values with a
JSONPath-like location, ready for an error body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import islice
from typing import Any

import jsonschema_rs

__all__ = ["CHECKED_FORMATS", "CompiledValidator", "Issue", "build_validator", "json_path"]

# Formats worth rejecting a value for: common, unambiguous, and what clients expect checked.
CHECKED_FORMATS = frozenset(
    {"date-time", "date", "time", "email", "uuid", "uri", "ipv4", "ipv6", "hostname"}
)
# Formats jsonschema_rs would check on its own; those outside CHECKED_FORMATS are switched
# off because real APIs are loose about them (relative "uri-reference"s, ECMA "regex"es ...).
_BUILTIN_FORMATS = frozenset(
    {
        "date",
        "date-time",
        "duration",
        "email",
        "hostname",
        "idn-email",
        "idn-hostname",
        "ipv4",
        "ipv6",
        "iri",
        "iri-reference",
        "json-pointer",
        "regex",
        "relative-json-pointer",
        "time",
        "uri",
        "uri-reference",
        "uri-template",
        "uuid",
    }
)


def _accept(value: Any) -> bool:
    return True


_UNCHECKED = {name: _accept for name in _BUILTIN_FORMATS - CHECKED_FORMATS}
_NAME = re.compile(r"[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*")


@dataclass(frozen=True)
class Issue:
    """One reason an instance does not match its schema."""

    path: str  # JSONPath of the offending value: "$", "$.droplet.size", "$[2].name"
    rule: str  # the failing keyword: "required", "type", "enum", "maximum", ...
    message: str  # human-readable explanation


def json_path(parts: list[str | int]) -> str:
    """JSONPath for an instance location; names that are not identifiers get brackets."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _NAME.fullmatch(part):
            out.append(f".{part}")
        else:
            escaped = part.replace("\\", "\\\\").replace("'", "\\'")
            out.append(f"['{escaped}']")
    return "".join(out)


class CompiledValidator:
    """A built validator; cheap to call many times."""

    __slots__ = ("_validator",)

    def __init__(self, validator: jsonschema_rs.Validator) -> None:
        self._validator = validator

    def is_valid(self, instance: Any) -> bool:
        """Whether ``instance`` (parsed JSON) matches; values JSON cannot hold never do."""
        try:
            return self._validator.is_valid(instance)
        except ValueError:
            return False

    def issues(self, instance: Any, limit: int = 10) -> list[Issue]:
        """Up to ``limit`` reasons why ``instance`` does not match; empty when it does."""
        try:
            return [
                Issue(json_path(error.instance_path), error.kind.name, error.message)
                for error in islice(self._validator.iter_errors(instance), limit)
            ]
        except ValueError as exc:
            return [Issue("$", "type", f"not a JSON value: {exc}")]


def build_validator(schema: dict[str, Any], *, formats: bool = True) -> CompiledValidator:
    """Build a draft 2020-12 validator; a schema jsonschema_rs refuses raises ValueError.

    With ``formats`` the formats in :data:`CHECKED_FORMATS` are enforced; every other format
    (int32, byte, password, invented ones ...) is an annotation only.
    """
    try:
        if formats:
            validator = jsonschema_rs.Draft202012Validator(
                schema, validate_formats=True, formats=_UNCHECKED
            )
        else:
            validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=False)
    except (ValueError, jsonschema_rs.ReferencingError) as exc:
        first_line = str(exc).strip().split("\n", 1)[0]
        raise ValueError(f"schema rejected by the validator: {first_line}") from exc
    return CompiledValidator(validator)
