"""Path suffixes that choose a format, as Discourse and DigitalNZ use them.

Two conventions, each declared in a twin's profile and compiled once at start-up:

- ``"json_suffix"`` (Discourse): the document names every path with ``.json``
  (``/latest.json``, ``/t/{id}.json``), the service answers the path without it as well
  when the client accepts JSON (``pydiscourse`` calls ``/posts``, ``/t/{id}``,
  ``/categories``), and every JSON answer says ``application/json; charset=utf-8``
  exactly (the client compares the header as a string)::

      "json_suffix": {"suffix": ".json", "content_type": "application/json; charset=utf-8"}

  A path without the suffix that asks only for something else (``Accept: text/html``,
  which the real forum answers with its web page) is refused with 406.

- ``"format_suffix"`` (DigitalNZ): ``/records.{format}`` takes ``json`` or ``xml`` as a
  path parameter and answers in that format. The twin builds the JSON answer as for any
  operation and, for ``xml``, serializes it the way the Rails service does
  (``Hash#to_xml``: a ``<hash>`` root, dashed element names, ``type`` attributes for
  numbers, booleans and arrays, ``nil="true"`` for null, array items named by the
  singular of their array)::

      "format_suffix": {"param": "format", "xml": ["xml"]}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

import orjson

from apitwin.engine.media import acceptable, base_type, is_json

if TYPE_CHECKING:
    from apitwin.engine.operation import CompiledOperation
    from apitwin.spec.router import Router

__all__ = ["FormatSuffix", "JsonSuffix", "to_rails_xml"]

Header = tuple[bytes, bytes]


class JsonSuffix:
    """Discourse's optional ``.json``: aliases without it, and the exact content type."""

    def __init__(self, suffix: str, content_type: str | None) -> None:
        self.suffix = suffix
        self.content_type = content_type.encode("latin-1") if content_type else None
        self.aliases: set[tuple[str, str]] = set()  # (METHOD, template) routed without suffix

    @classmethod
    def from_profile(cls, config: Any) -> JsonSuffix | None:
        if not config:
            return None
        config = config if isinstance(config, Mapping) else {}
        return cls(str(config.get("suffix", ".json")), config.get("content_type"))

    def add_aliases(
        self, router: Router[CompiledOperation], operations: Iterable[CompiledOperation]
    ) -> None:
        """Route every ``X.json`` operation at ``X`` too, unless the document already has
        an operation there for that method."""
        for operation in operations:
            template = operation.operation.path
            if not template.endswith(self.suffix) or len(template) <= len(self.suffix) + 1:
                continue
            plain = template[: -len(self.suffix)]
            method = operation.operation.method.upper()
            existing = router.match(method, plain)
            if existing is not None and existing.target is not None and existing.template == plain:
                continue
            router.add(method, plain, operation)
            self.aliases.add((method, plain))

    def refuses(self, method: str, template: str, accept: str | None) -> bool:
        """A suffix-less path whose client accepts no JSON (it wanted the web page)."""
        if (method, template) not in self.aliases or not accept:
            return False
        return not acceptable(accept, ("application/json",))

    def content_type_of(self, headers: list[Header]) -> list[Header]:
        """JSON answers with the profile's exact Content-Type."""
        wanted = self.content_type
        if wanted is None:
            return headers
        return [
            (name, wanted) if name == b"content-type" and _is_json_header(value) else (name, value)
            for name, value in headers
        ]


def _is_json_header(value: bytes) -> bool:
    return is_json(base_type(value.decode("latin-1")))


class FormatSuffix:
    """DigitalNZ's ``.{format}``: the answer in the format the path names."""

    def __init__(self, param: str, xml: frozenset[str]) -> None:
        self.param = param
        self.xml = xml

    @classmethod
    def from_profile(cls, config: Any) -> FormatSuffix | None:
        if not isinstance(config, Mapping):
            return None
        return cls(str(config.get("param", "format")), frozenset(config.get("xml", ["xml"])))

    def wants_xml(self, path_params: Mapping[str, str]) -> bool:
        return path_params.get(self.param) in self.xml

    @staticmethod
    def as_xml(headers: list[Header], body: bytes) -> tuple[list[Header], bytes]:
        """A JSON answer re-serialized as XML; anything else is left as it is."""
        content_type = next((value for name, value in headers if name == b"content-type"), None)
        if content_type is None or not body or not _is_json_header(content_type):
            return headers, body
        xml = to_rails_xml(orjson.loads(body))
        out = [(n, v) for n, v in headers if n != b"content-type"]
        out.append((b"content-type", b"application/xml; charset=utf-8"))
        return out, xml


def _singular(name: str) -> str:
    if name.endswith("ies") and len(name) > 3:
        return name[:-3] + "y"
    if name.endswith("s") and not name.endswith("ss") and len(name) > 1:
        return name[:-1]
    return name


def _tag(name: str) -> str:
    """An XML element name for a JSON key (dashed, as Rails writes them)."""
    text = str(name).replace("_", "-")
    cleaned = "".join(c if c.isalnum() or c in "-." else "-" for c in text)
    if not cleaned or not (cleaned[0].isalpha()):
        cleaned = "key-" + cleaned
    return cleaned


def _element(name: str, value: Any, out: list[str], indent: str) -> None:
    tag = _tag(name)
    if value is None:
        out.append(f'{indent}<{tag} nil="true"/>\n')
    elif isinstance(value, bool):
        out.append(f'{indent}<{tag} type="boolean">{"true" if value else "false"}</{tag}>\n')
    elif isinstance(value, int):
        out.append(f'{indent}<{tag} type="integer">{value}</{tag}>\n')
    elif isinstance(value, float):
        out.append(f'{indent}<{tag} type="float">{value}</{tag}>\n')
    elif isinstance(value, dict):
        if not value:
            out.append(f"{indent}<{tag}/>\n")
            return
        out.append(f"{indent}<{tag}>\n")
        for key, item in value.items():
            _element(str(key), item, out, indent + "  ")
        out.append(f"{indent}</{tag}>\n")
    elif isinstance(value, list):
        if not value:
            out.append(f'{indent}<{tag} type="array"/>\n')
            return
        out.append(f'{indent}<{tag} type="array">\n')
        child = _singular(str(name))
        for item in value:
            _element(child, item, out, indent + "  ")
        out.append(f"{indent}</{tag}>\n")
    else:
        out.append(f"{indent}<{tag}>{escape(str(value))}</{tag}>\n")


def to_rails_xml(value: Any, root: str = "hash") -> bytes:
    """``value`` as Rails' ``to_xml`` writes it: a hash under ``<hash>``, an array under
    ``<objects type="array">``."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    if isinstance(value, list):
        out.append(f"<objects type={quoteattr('array')}>\n")
        for item in value:
            _element("object", item, out, "  ")
        out.append("</objects>\n")
    else:
        _element(root, value, out, "")
    return "".join(out).encode()
