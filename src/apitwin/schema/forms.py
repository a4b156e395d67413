"""Form bodies (``application/x-www-form-urlencoded`` and ``multipart/form-data``) as typed
dicts, ready for the body validator.

A :class:`FormDecoder` is compiled once per media type of an operation. Field values are
coerced toward their property schema like query parameters: ``"12"`` becomes ``12`` for
an integer, ``"true"`` becomes ``True`` for a boolean; text that does not fit stays a
string so the validator reports it. Repeated keys and ``key[]`` give arrays, and bracket
keys (``user[name]=x``, ``posts[][title]=y``) give nested objects, the way Rails and
Discourse clients send them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import orjson
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from apitwin.schema.params import (
    Shape,
    build_shape,
    coerce_tree,
    insert_bracketed,
    is_json_media,
    split_brackets,
)
from apitwin.spec.document import SpecDocument

__all__ = [
    "FormDecoder",
    "FormError",
    "Part",
    "UploadedFile",
    "compile_form",
    "decode_multipart",
    "decode_urlencoded",
    "form_pairs",
    "parse_multipart",
]


class FormError(ValueError):
    """The body is not a well-formed form (no boundary, broken multipart framing, ...).

    The caller answers 400: no schema check can be meaningful on such a body.
    """


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """One multipart part sent with a ``filename``."""

    filename: str
    content_type: str
    data: bytes

    def describe(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": len(self.data),
        }


def _file_value(value: Any, shape: Shape) -> Any:
    """An uploaded file as the property schema can check it.

    Where the schema wants a string (OpenAPI declares uploads as ``type: string`` with
    ``format: binary`` or ``byte``), the raw content is given as a latin-1 ``str``: one
    character per byte, so lengths match and any content passes a string schema. Elsewhere
    (no schema, an object schema) it is described as ``{"filename", "content_type", "size"}``.
    """
    if isinstance(value, UploadedFile):
        if shape.is_text:
            return value.data.decode("latin-1")
        return value.describe()
    return value


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """Every ``key=value`` of a urlencoded body, in order (Rails-style arrays of objects
    depend on the order between different keys)."""
    pairs: list[tuple[str, str]] = []
    if not body:
        return pairs
    for piece in body.decode("utf-8", "replace").split("&"):
        if not piece:
            continue
        key, _, value = piece.partition("=")
        pairs.append((_unescape(key), _unescape(value)))
    return pairs


def _unescape(text: str) -> str:
    if "+" in text:
        text = text.replace("+", " ")
    if "%" in text:
        text = unquote(text, errors="replace")
    return text


class FormDecoder:
    """The compiled form of one body schema; decoding does no spec walking."""

    __slots__ = ("shape",)

    def __init__(self, shape: Shape) -> None:
        self.shape = shape

    def _tokens(self, key: str) -> list[str]:
        # A property literally named "user[name]" is taken as written.
        if key in self.shape.properties:
            return [key]
        return split_brackets(key)

    def _finish(self, tree: dict[str, Any]) -> dict[str, Any]:
        shape = self.shape
        return {key: coerce_tree(raw, shape.prop(key), _file_value) for key, raw in tree.items()}

    def urlencoded(self, body: bytes) -> dict[str, Any]:
        """Decode an ``application/x-www-form-urlencoded`` body (UTF-8)."""
        tree: dict[str, Any] = {}
        for key, value in form_pairs(body):
            insert_bracketed(tree, self._tokens(key), value)
        return self._finish(tree)

    def multipart(self, body: bytes, content_type_header: str) -> dict[str, Any]:
        """Decode a ``multipart/form-data`` body; raise :class:`FormError` when malformed.

        Text parts are UTF-8 (latin-1 when that fails); a part whose content type is JSON is
        parsed as JSON, as OpenAPI serialises complex values in multipart bodies.
        """
        tree: dict[str, Any] = {}
        for part in parse_multipart(body, content_type_header):
            value: Any
            if part.filename is not None:
                value = UploadedFile(
                    part.filename, part.content_type or "application/octet-stream", part.data
                )
            else:
                value = _text(part.data)
                if part.content_type and is_json_media(part.content_type):
                    value = _json_or_text(value)
            insert_bracketed(tree, self._tokens(part.name), value)
        return self._finish(tree)


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _json_or_text(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def compile_form(doc: SpecDocument, schema: Any, pointer: str) -> FormDecoder:
    """Compile a form body schema once (refs followed, composition looked through)."""
    return FormDecoder(build_shape(doc, schema, pointer))


def decode_urlencoded(body: bytes, doc: SpecDocument, schema: Any, pointer: str) -> dict[str, Any]:
    """One-off decode; prefer :func:`compile_form` on the request path."""
    return compile_form(doc, schema, pointer).urlencoded(body)


def decode_multipart(
    body: bytes, content_type_header: str, doc: SpecDocument, schema: Any, pointer: str
) -> dict[str, Any]:
    """One-off decode; prefer :func:`compile_form` on the request path."""
    return compile_form(doc, schema, pointer).multipart(body, content_type_header)


# --------------------------------------------------------------------------- multipart


# The parser logs a warning for every malformed body before raising; the error already
# reaches the client as a 400, so the parser gets a logger that stays quiet.
_PARSER_LOG = logging.getLogger("apitwin.schema.forms.multipart")
_PARSER_LOG.disabled = True


@dataclass(slots=True)
class Part:
    """One part of a multipart body."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes


def _boundary(content_type_header: str) -> bytes:
    media_type, options = parse_options_header(content_type_header)
    if media_type != b"multipart/form-data":
        raise FormError(f"expected multipart/form-data, got {media_type.decode('latin-1')!r}")
    boundary = options.get(b"boundary")
    if not boundary:
        raise FormError("the Content-Type has no boundary")
    if len(boundary) > 70:  # RFC 2046, section 5.1.1
        raise FormError("the multipart boundary is longer than 70 characters")
    return boundary


def parse_multipart(body: bytes, content_type_header: str) -> list[Part]:
    """Split a multipart/form-data body into parts; :class:`FormError` when malformed.

    An empty body gives no parts, so the validator can name the missing fields.
    """
    boundary = _boundary(content_type_header)
    if not body or body.isspace():
        return []
    delimiter = b"--" + boundary
    if not body.startswith(delimiter):
        # RFC 2046 allows a preamble before the first delimiter; the parser does not.
        first = body.find(b"\r\n" + delimiter)
        if first >= 0:
            body = body[first + 2 :]
    parts: list[Part] = []
    headers: dict[str, str] = {}
    field = bytearray()
    value = bytearray()
    chunks: list[bytes] = []
    ended = False

    def on_part_begin() -> None:
        headers.clear()
        chunks.clear()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        value.extend(data[start:end])

    def on_header_end() -> None:
        # latin-1 keeps the bytes; names and filenames are decoded as UTF-8 later.
        headers[field.decode("latin-1").strip().lower()] = value.decode("latin-1").strip()
        field.clear()
        value.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        chunks.append(data[start:end])

    def on_part_end() -> None:
        parts.append(_make_part(headers, b"".join(chunks)))

    def on_end() -> None:
        nonlocal ended
        ended = True

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_end": on_end,
        },
    )
    parser.logger = _PARSER_LOG
    try:
        parser.write(body)
        parser.finalize()
    except FormParserError as exc:
        raise FormError(f"malformed multipart body: {exc}") from exc
    if not ended:
        raise FormError("the multipart body ends before its closing boundary")
    return parts


def _make_part(headers: dict[str, str], data: bytes) -> Part:
    disposition = headers.get("content-disposition")
    if disposition is None:
        raise FormError("a multipart part has no Content-Disposition header")
    kind, options = parse_options_header(disposition)
    name = options.get(b"name")
    if kind != b"form-data" or name is None:
        raise FormError("a multipart part is not named form-data")
    filename = options.get(b"filename")
    return Part(
        name=_text(name),
        filename=None if filename is None else _text(filename),
        content_type=headers.get("content-type") or None,
        data=data,
    )
