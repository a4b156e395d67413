"""The documented success response of an operation: status, media type, body, headers.

The body is the document's example when that example validates against the response
schema, otherwise a value synthesized from the schema (deterministic for the seed).
Bodies are rendered once per media type and kept: the same request gets the same bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from apitwin.engine.media import is_json, negotiate, render_value
from apitwin.schema.synth import Synthesizer
from apitwin.spec.document import SpecDocument
from apitwin.spec.operations import NO_EXAMPLE, MediaSpec, Operation, ResponseSpec

if TYPE_CHECKING:
    from apitwin.engine.operation import ValidatorCache

__all__ = ["Rendered", "Responder"]

Rendered = tuple[int, list[tuple[bytes, bytes]], bytes]

_NO_BODY_STATUSES = frozenset({204, 205, 304})


def _status_number(status: str) -> int:
    if status.isdigit():
        return int(status)
    if status.upper().endswith("XX") and status[0].isdigit():
        return int(status[0]) * 100
    return 200


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_header_text(v) for v in value)
    if isinstance(value, dict):
        return ",".join(f"{k},{_header_text(v)}" for k, v in value.items())
    return "" if value is None else str(value)


class Responder:
    """Produces one operation's success response, cached per negotiated media type."""

    def __init__(
        self,
        doc: SpecDocument,
        operation: Operation,
        validators: ValidatorCache,
        synthesizer: Synthesizer,
    ) -> None:
        self._doc = doc
        self._validators = validators
        self._synthesizer = synthesizer
        status = operation.success_status()
        self.spec: ResponseSpec | None = operation.responses.get(status) if status else None
        self.status = _status_number(status) if status else 200
        self.media_types = list(self.spec.content) if self.spec else []
        self.is_head = operation.method == "HEAD"
        self._cache: dict[str, Rendered] = {}
        self._json_headers: list[tuple[bytes, bytes]] | None = None
        self.accept_choices: tuple[str, ...] = ()  # from a declared Accept parameter

    def value_for(self, media: MediaSpec) -> Any:
        """The example if it is valid, else a synthesized value.

        Invalid examples are listed, with their pointer, by engine/audit.py.
        """
        validator = (
            self._validators.get(media.schema, media.pointer, "response")
            if media.schema is not None
            else None
        )
        if media.example is not NO_EXAMPLE and (
            validator is None or validator.is_valid(media.example)
        ):
            return media.example
        if media.schema is None:
            return {} if is_json(media.media_type) else ""
        return self._synthesizer.generate(media.schema, media.pointer, direction="response")

    def _headers(self) -> list[tuple[bytes, bytes]]:
        headers: list[tuple[bytes, bytes]] = []
        if self.spec is None:
            return headers
        for name, header in self.spec.headers.items():
            if name.lower() in ("content-type", "content-length", "transfer-encoding"):
                continue
            validator = self._validators.get(header.schema, header.pointer, "response")
            if header.example is not NO_EXAMPLE and (
                validator is None or validator.is_valid(header.example)
            ):
                value = header.example
            else:
                value = self._synthesizer.generate(
                    header.schema, header.pointer, direction="response", name=name
                )
            headers.append(
                (name.lower().encode("latin-1"), _header_text(value).encode("latin-1", "replace"))
            )
        return headers

    def render(self, accept: str | None) -> Rendered:
        """Status, headers and body of the success response for this Accept header."""
        media_type = negotiate(accept, self.media_types) if self.media_types else ""
        cached = self._cache.get(media_type)
        if cached is not None:
            return cached
        headers = self._headers()
        if 300 <= self.status < 400 and not any(name == b"location" for name, _ in headers):
            headers.append((b"location", b"/"))
        body = b""
        if self.spec is not None and media_type and self.status not in _NO_BODY_STATUSES:
            media = self.spec.content[media_type]
            value = self.value_for(media)
            body = render_value(media.media_type, value)
            content_type = (
                "application/json"
                if media.media_type in ("*/*", "application/*")
                else media.media_type
            )
            if content_type.startswith("text/") and "charset" not in content_type:
                content_type += "; charset=utf-8"
            headers.append((b"content-type", content_type.encode("latin-1")))
        rendered: Rendered = (self.status, headers, body)
        self._cache[media_type] = rendered
        return rendered

    def json_media(self) -> MediaSpec | None:
        """The documented JSON media of the success response, if there is one."""
        if self.spec is None:
            return None
        for media in self.spec.content.values():
            if is_json(media.media_type):
                return media
        return None

    def base_value(self) -> Any:
        """The canned JSON body (example or synthesized), as a base for stateful answers."""
        media = self.json_media()
        return None if media is None else self.value_for(media)

    def reply_json(self, value: Any, status: int | None = None) -> Rendered:
        """A stateful answer: ``value`` as JSON with the documented headers and status."""
        if self._json_headers is None:
            headers = self._headers()
            media = self.json_media()
            content_type = "application/json"
            if media is not None and media.media_type not in ("*/*", "application/*"):
                content_type = media.media_type
            headers.append((b"content-type", content_type.encode("latin-1")))
            self._json_headers = headers
        code = self.status if status is None else status
        if code in _NO_BODY_STATUSES or value is None:
            return code, [h for h in self._json_headers if h[0] != b"content-type"], b""
        return code, list(self._json_headers), orjson.dumps(value)
