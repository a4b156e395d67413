"""Media types: matching a request's Content-Type or Accept to the documented ones, and
minimal valid bodies for the non-JSON types a document declares."""

from __future__ import annotations

import csv
import io
from typing import Any
from xml.etree import ElementTree

import orjson
import yaml

__all__ = ["base_type", "is_json", "negotiate", "match_content_type", "render_value", "acceptable"]


def base_type(value: str) -> str:
    """``application/json; charset=utf-8`` -> ``application/json``."""
    return value.split(";", 1)[0].strip().lower()


def is_json(media_type: str) -> bool:
    media = base_type(media_type)
    return (
        media in ("application/json", "*/*", "text/json", "application/*")
        or media.endswith("+json")
        or media.endswith("/json")
    )


def _covers(pattern: str, media: str) -> bool:
    if pattern in ("*/*", "*"):
        return True
    if pattern.endswith("/*"):
        return media.startswith(pattern[:-1])
    return pattern == media


def match_content_type(header: str | None, documented: list[str]) -> str | None:
    """The documented media type a request body's Content-Type selects, or None."""
    media = base_type(header or "")
    if not media:
        return (
            documented[0]
            if len(documented) == 1 or "application/json" not in documented
            else "application/json"
        )
    for candidate in documented:
        if candidate == media:
            return candidate
    for candidate in documented:
        if _covers(candidate, media) or (candidate == "application/json" and is_json(media)):
            return candidate
    if "application/octet-stream" in documented:
        return "application/octet-stream"  # arbitrary bytes, whatever the client calls them
    return None


def _ranges(accept: str) -> list[str]:
    """The media ranges of an Accept header, most preferred first (q=0 ones dropped)."""
    ranges: list[tuple[float, str]] = []
    for part in accept.split(","):
        pieces = part.split(";")
        media = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            ranges.append((quality, media))
    ranges.sort(key=lambda item: -item[0])
    return [media for _, media in ranges]


def acceptable(accept: str, offered: tuple[str, ...] | list[str]) -> bool:
    """Whether an Accept header admits at least one of the offered media types."""
    return any(
        _covers(media, candidate.lower()) or _covers(candidate.lower(), media)
        for media in _ranges(accept)
        for candidate in offered
    )


def negotiate(accept: str | None, documented: list[str]) -> str:
    """Pick a documented media type for an Accept header; the first documented one otherwise."""
    if not documented:
        return "application/json"
    if not accept:
        return documented[0]
    for media in _ranges(accept):
        for candidate in documented:
            if _covers(media, candidate) or _covers(candidate, media):
                return candidate
    return documented[0]


# The smallest valid documents of binary types.
_MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
_EMPTY_TAR = b"\0" * 1024
_PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _csv(value: Any) -> bytes:
    rows = value if isinstance(value, list) else [value]
    rows = [r for r in rows if isinstance(r, dict)]
    buffer = io.StringIO()
    if rows:
        fields = list(rows[0])
        writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _scalar(v) for k, v in row.items()})
    elif isinstance(value, str):
        buffer.write(value)
    else:
        buffer.write("id,name\n1,example\n")
    return buffer.getvalue().encode()


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return "" if value is None else str(value)


def _xml(value: Any, tag: str = "root") -> str:
    if isinstance(value, dict):
        inner = "".join(_xml(v, str(k)) for k, v in value.items())
        return f"<{tag}>{inner}</{tag}>"
    if isinstance(value, list):
        return "".join(_xml(v, tag) for v in value) or f"<{tag}/>"
    from xml.sax.saxutils import escape

    return f"<{tag}>{escape(_scalar(value))}</{tag}>"


def _is_yaml_text(text: str) -> bool:
    try:
        yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return True


def _is_xml_text(text: str) -> bool:
    if not text.lstrip().startswith("<"):
        return False
    try:
        ElementTree.fromstring(text.strip())
    except ElementTree.ParseError:
        return False
    return True


def render_value(media_type: str, value: Any) -> bytes:
    """Serialize a synthesized value as a minimal valid body of the given media type."""
    media = base_type(media_type)
    if is_json(media):
        return orjson.dumps(value)
    if media in ("text/csv", "application/csv"):
        return _csv(value)
    if media in ("application/x-yaml", "application/yaml", "text/yaml", "text/x-yaml"):
        if isinstance(value, str) and _is_yaml_text(value):
            return value.encode()  # the document's example is the YAML text itself
        return yaml.safe_dump(value, sort_keys=False).encode()
    if media == "application/pdf":
        return _MINIMAL_PDF
    if media in ("application/x-tar", "application/tar"):
        return _EMPTY_TAR
    if media.startswith("image/"):
        return _PNG_1PX
    if media.endswith("xml"):
        if isinstance(value, str) and _is_xml_text(value):
            return value.encode()  # the document's example is the XML text itself
        return ('<?xml version="1.0" encoding="UTF-8"?>\n' + _xml(value)).encode()
    if media.startswith("text/"):
        if isinstance(value, str):
            return value.encode()
        return _scalar(value).encode() if value is not None else b""
    if isinstance(value, str):
        return value.encode("latin-1", errors="replace")
    return b""
