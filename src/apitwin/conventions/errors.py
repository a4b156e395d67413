"""Errors in each API's own shape.

The profile gives a template: a JSON value whose strings may hold ``{message}``,
``{status}``, ``{code}``, ``{title}``, ``{error_code}``, ``{request_id}`` and
``{retry_after}`` (seconds, on a 429), plus any name the profile's ``values`` defines. A
string that is exactly one placeholder takes the value with its type (so DRACOON's
``code`` stays an integer); placeholders inside longer strings are formatted in. The
template is compiled once into a function that builds the body.

``code`` is the engine's name for the error (``not_found``, ``bad_request``, ...).
``error_codes`` maps it to the API's own: an integer (DRACOON's ``errorCode``, eBay's
``errorId``), or an object of values that replace the defaults for that error (eBay's
``{"error_code": 1001, "domain": "OAuth"}``, Discourse's ``{"code":
"invalid_parameters"}``). ``status_templates`` gives a status a template of its own
(Discourse's 429 carries ``extras.wait_seconds``, which its clients read).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import orjson

__all__ = ["ErrorFormatter", "status_code_name"]

_NAMES = ("message", "status", "code", "title", "error_code", "request_id", "retry_after")

_CODE_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable_entity",
    429: "too_many_requests",
    500: "server_error",
}


def status_code_name(status: int) -> str:
    """The snake_case error id real APIs use (DigitalOcean's ``id``, Discourse's ``error_type``)."""
    return _CODE_NAMES.get(status, "error")


Values = dict[str, Any]
Builder = Callable[[Values], Any]


def _placeholders(names: Any) -> re.Pattern[str]:
    return re.compile(r"\{(" + "|".join(re.escape(n) for n in sorted(names)) + r")\}")


def _compile(template: Any, placeholder: re.Pattern[str]) -> Builder:
    if isinstance(template, str):
        whole = placeholder.fullmatch(template)
        if whole:
            key = whole.group(1)
            return lambda values: values[key]
        if placeholder.search(template):
            return lambda values: placeholder.sub(lambda m: str(values[m.group(1)]), template)
        return lambda values: template
    if isinstance(template, dict):
        parts = [(k, _compile(v, placeholder)) for k, v in template.items()]
        return lambda values: {k: build(values) for k, build in parts}
    if isinstance(template, list):
        items = [_compile(v, placeholder) for v in template]
        return lambda values: [build(values) for build in items]
    return lambda values: template


class ErrorFormatter:
    """Builds error responses for one twin from its profile's ``error`` entry."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.media_type = str(config.get("media_type", "application/json"))
        self._xml = config.get("xml")
        self._defaults: dict[str, Any] = dict(config.get("values") or {})
        self._error_codes: dict[str, Any] = dict(config.get("error_codes", {}))
        names = set(_NAMES) | set(self._defaults)
        for entry in self._error_codes.values():
            if isinstance(entry, dict):
                names |= set(entry)
        self._placeholder = _placeholders(names)
        self._build = _compile(config.get("template", {"message": "{message}"}), self._placeholder)
        self._by_status: dict[int, Builder] = {
            int(status): _compile(template, self._placeholder)
            for status, template in (config.get("status_templates") or {}).items()
        }

    def values(
        self, status: int, message: str, code: str | None = None, retry_after: int = 0
    ) -> Values:
        code = code or status_code_name(status)
        try:
            title = HTTPStatus(status).phrase
        except ValueError:
            title = "Error"
        own = self._error_codes.get(code)
        replaced = own if isinstance(own, dict) else {}
        values = {
            **self._defaults,
            "message": message,
            "status": status,
            "code": code,
            "title": title,
            "error_code": self._error_code(status, code),
            "request_id": str(uuid.uuid4()),
            "retry_after": retry_after,
        }
        values.update(replaced)
        return values

    def _error_code(self, status: int, code: str) -> Any:
        """The profile's code for this error; 5xx fall back to ``internal``, others to
        ``bad_request``, and without either to the status itself."""
        fallback = "internal" if status >= 500 else "bad_request"
        for key in (code, fallback):
            entry = self._error_codes.get(key)
            if isinstance(entry, dict):
                entry = entry.get("error_code")
            if entry is not None:
                return entry
        return status

    def body(self, status: int, message: str, code: str | None = None, retry_after: int = 0) -> Any:
        """The error as a JSON-able value (for twins whose errors are JSON)."""
        build = self._by_status.get(status, self._build)
        return build(self.values(status, message, code, retry_after))

    def render(
        self, status: int, message: str, code: str | None = None, retry_after: int = 0
    ) -> tuple[bytes, str]:
        """The error as bytes and its media type."""
        if self._xml is not None:
            values = self.values(status, message, code, retry_after)
            text = self._placeholder.sub(lambda m: xml_escape(str(values[m.group(1)])), self._xml)
            return text.encode(), self.media_type
        return orjson.dumps(self.body(status, message, code, retry_after)), self.media_type
