"""Errors in each API's own shape.

The profile gives a template: a JSON value whose strings may hold ``{message}``,
``{status}``, ``{code}``, ``{title}``, ``{error_code}`` and ``{request_id}``. A string
that is exactly one placeholder takes the value with its type (so DRACOON's ``code``
stays an integer); placeholders inside longer strings are formatted in. The template is
compiled once into a function that builds the body.
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

_PLACEHOLDER = re.compile(r"\{(message|status|code|title|error_code|request_id)\}")

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


def _compile(template: Any) -> Builder:
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template)
        if whole:
            key = whole.group(1)
            return lambda values: values[key]
        if _PLACEHOLDER.search(template):
            return lambda values: _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)
        return lambda values: template
    if isinstance(template, dict):
        parts = [(k, _compile(v)) for k, v in template.items()]
        return lambda values: {k: build(values) for k, build in parts}
    if isinstance(template, list):
        items = [_compile(v) for v in template]
        return lambda values: [build(values) for build in items]
    return lambda values: template


class ErrorFormatter:
    """Builds error responses for one twin from its profile's ``error`` entry."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.media_type = str(config.get("media_type", "application/json"))
        self._xml = config.get("xml")
        self._build = _compile(config.get("template", {"message": "{message}"}))
        self._error_codes: dict[str, Any] = dict(config.get("error_codes", {}))

    def values(self, status: int, message: str, code: str | None = None) -> Values:
        code = code or status_code_name(status)
        try:
            title = HTTPStatus(status).phrase
        except ValueError:
            title = "Error"
        return {
            "message": message,
            "status": status,
            "code": code,
            "title": title,
            "error_code": self._error_code(status, code),
            "request_id": str(uuid.uuid4()),
        }

    def _error_code(self, status: int, code: str) -> Any:
        """The profile's code for this error; 5xx fall back to ``internal``, others to
        ``bad_request``, and without either to the status itself."""
        fallback = "internal" if status >= 500 else "bad_request"
        for key in (code, fallback):
            if key in self._error_codes:
                return self._error_codes[key]
        return status

    def body(self, status: int, message: str, code: str | None = None) -> Any:
        """The error as a JSON-able value (for twins whose errors are JSON)."""
        return self._build(self.values(status, message, code))

    def render(self, status: int, message: str, code: str | None = None) -> tuple[bytes, str]:
        """The error as bytes and its media type."""
        if self._xml is not None:
            values = self.values(status, message, code)
            text = _PLACEHOLDER.sub(lambda m: xml_escape(str(values[m.group(1)])), self._xml)
            return text.encode(), self.media_type
        return orjson.dumps(self.body(status, message, code)), self.media_type
