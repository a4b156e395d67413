"""Request parameters (path, query, header, cookie) turned into typed values.

Every declared parameter is compiled once at start-up into a :class:`ParamDecoder`. The
schema's shape (its types after following ``$ref`` and ``allOf``/``oneOf``/``anyOf``, the
item shape of arrays, the property shapes of objects) is worked out then, so decoding a
request costs a few dict lookups and string conversions. Text that does not fit the schema
is passed on unchanged, so the validator reports the type error the real service would.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote

import orjson

from apitwin.spec.document import SpecDocument, SpecError, join_pointer
from apitwin.spec.operations import ParameterSpec

__all__ = [
    "EMPTY",
    "MISSING",
    "Leaf",
    "ObjectList",
    "ParamDecoder",
    "RequestParts",
    "Shape",
    "build_shape",
    "coerce_tree",
    "compile_parameter",
    "insert_bracketed",
    "is_json_media",
    "parse_cookie_header",
    "parse_query_string",
    "split_brackets",
]


class _Sentinel:
    """A named marker value that can never be confused with decoded data."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __bool__(self) -> bool:
        return False


MISSING: Final[Any] = _Sentinel("MISSING")
"""The parameter is absent from the request."""

EMPTY: Final[Any] = _Sentinel("EMPTY")
"""Sent with an empty value that ``allowEmptyValue`` permits: present, nothing to validate."""


@dataclass
class RequestParts:
    """What the server hands over, already split; built once per request."""

    path: dict[str, str]  # path template values, percent-decoded
    query: dict[str, list[str]]  # every occurrence, in order, percent-decoded (keys as sent)
    headers: dict[str, str]  # lower-cased names, joined with ", " when repeated
    cookies: dict[str, str]


# --------------------------------------------------------------------------- scalars

_INT_TEXT = re.compile(r"[-+]?[0-9]+").fullmatch
_NUMBER_TEXT = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?").fullmatch
_BOOLEANS: Final = {"true": True, "false": False}


def _keep(text: str) -> Any:
    return text


def _to_int(text: str) -> Any:
    if _INT_TEXT(text):
        try:
            return int(text)
        except ValueError:  # longer than the interpreter's digit limit
            return text
    return text


def _to_number(text: str) -> Any:
    if not _NUMBER_TEXT(text):
        return text
    if "." not in text and "e" not in text and "E" not in text:
        return _to_int(text)
    value = float(text)
    return value if math.isfinite(value) else text


def _to_bool(text: str) -> Any:
    return _BOOLEANS.get(text, text)


def _chain(steps: list[Callable[[str], Any]]) -> Callable[[str], Any]:
    """Try each conversion in turn; the first that changes the text wins."""

    def convert(text: str) -> Any:
        for step in steps:
            value = step(text)
            if value is not text:
                return value
        return text

    return convert


def _scalar_converter(types: frozenset[str]) -> Callable[[str], Any]:
    steps: list[Callable[[str], Any]] = []
    if "integer" in types:
        steps.append(_to_int)
    if "number" in types:
        steps.append(_to_number)
    if "boolean" in types:
        steps.append(_to_bool)
    if not steps:
        return _keep
    return steps[0] if len(steps) == 1 else _chain(steps)


# --------------------------------------------------------------------------- shapes

_SCALAR_TYPES: Final = frozenset({"string", "integer", "number", "boolean"})
_JSON_TYPES: Final = frozenset(
    {"string", "integer", "number", "boolean", "null", "array", "object"}
)
_MAX_DEPTH: Final = 32


class Shape:
    """What coercion needs from a schema: types, item shape, property shapes.

    ``kind`` is ``array`` or ``object`` when the schema allows that structure (and not the
    other one), else ``scalar``. ``scalar_ok`` tells whether a plain value is allowed too,
    which decides how a single value for an array-or-string schema is read.
    """

    __slots__ = ("additional", "items", "kind", "properties", "scalar", "scalar_ok", "types")

    def __init__(self) -> None:
        self.types: frozenset[str] = frozenset()
        self.kind = "scalar"
        self.scalar_ok = True
        self.items: Shape | None = None
        self.properties: dict[str, Shape] = {}
        self.additional: Shape | None = None
        self.scalar: Callable[[str], Any] = _keep

    def finish(self) -> None:
        """Derive the kind and the scalar conversion once the types are known."""
        types = self.types
        has_array, has_object = "array" in types, "object" in types
        if has_array and not has_object:
            self.kind = "array"
        elif has_object and not has_array:
            self.kind = "object"
        else:
            self.kind = "scalar"
        self.scalar_ok = not types or bool(types & _SCALAR_TYPES)
        self.scalar = _scalar_converter(types)

    def item(self) -> Shape:
        return self.items or ANY

    def prop(self, key: str) -> Shape:
        found = self.properties.get(key)
        if found is not None:
            return found
        return self.additional or ANY

    @property
    def is_text(self) -> bool:
        """True when a string is what the schema wants (used for uploaded file parts)."""
        return "string" in self.types and "object" not in self.types

    def __repr__(self) -> str:
        return f"Shape({sorted(self.types)}, kind={self.kind})"


ANY: Final = Shape()


def _value_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _own_types(node: dict[str, Any]) -> frozenset[str]:
    declared = node.get("type")
    if isinstance(declared, str):
        return frozenset({declared}) & _JSON_TYPES
    if isinstance(declared, list):
        return frozenset(t for t in declared if isinstance(t, str)) & _JSON_TYPES
    if isinstance(node.get("items"), dict | bool) or "prefixItems" in node:
        return frozenset({"array"})
    if any(k in node for k in ("properties", "additionalProperties", "patternProperties")):
        return frozenset({"object"})
    if "const" in node:
        return frozenset({_value_type(node["const"])})
    enum = node.get("enum")
    if isinstance(enum, list) and enum:
        return frozenset(_value_type(v) for v in enum)
    return frozenset()


def _meet(current: frozenset[str], other: frozenset[str]) -> frozenset[str]:
    """Intersect type sets where integer counts as a number; never narrow to nothing."""
    if not current:
        return other
    if not other:
        return current
    met = set(current & other)
    if "number" in current and "integer" in other or "integer" in current and "number" in other:
        met.add("integer")
    return frozenset(met) or current


class _ShapeBuilder:
    """Walks one schema once; shared sub-schemas and cycles are handled by memoising."""

    def __init__(self, doc: SpecDocument) -> None:
        self.doc = doc
        self.memo: dict[int, Shape] = {}

    def build(self, schema: Any, at: str, depth: int = 0) -> Shape:
        try:
            node, at = self.doc.resolve_with_pointer(schema, at)
        except SpecError:
            # A broken reference is reported where the validator is compiled; here it
            # just means "no type information".
            return ANY
        if not isinstance(node, dict) or depth > _MAX_DEPTH:
            return ANY
        key = id(node)
        known = self.memo.get(key)
        if known is not None:
            return known
        shape = Shape()
        self.memo[key] = shape
        types = _own_types(node)
        items = node.get("items")
        if isinstance(items, dict):
            shape.items = self.build(items, join_pointer(at, "items"), depth + 1)
        properties = node.get("properties")
        if isinstance(properties, dict):
            for name, sub in properties.items():
                shape.properties[str(name)] = self.build(
                    sub, join_pointer(at, "properties", name), depth + 1
                )
        additional = node.get("additionalProperties")
        if isinstance(additional, dict):
            shape.additional = self.build(
                additional, join_pointer(at, "additionalProperties"), depth + 1
            )

        for index, sub in enumerate(_branches(node, "allOf")):
            part = self.build(sub, join_pointer(at, "allOf", index), depth + 1)
            types = _meet(types, part.types)
            self._merge(shape, part)
        alternatives: set[str] = set()
        for keyword in ("anyOf", "oneOf"):
            for index, sub in enumerate(_branches(node, keyword)):
                part = self.build(sub, join_pointer(at, keyword, index), depth + 1)
                alternatives |= part.types
                self._merge(shape, part)
        if alternatives:
            types = _meet(types, frozenset(alternatives))
        if node.get("nullable") is True and types:
            types |= {"null"}
        shape.types = types
        shape.finish()
        return shape

    @staticmethod
    def _merge(shape: Shape, part: Shape) -> None:
        if shape.items is None and part.items is not None:
            shape.items = part.items
        for name, sub in part.properties.items():
            shape.properties.setdefault(name, sub)
        if shape.additional is None and part.additional is not None:
            shape.additional = part.additional


def _branches(node: dict[str, Any], keyword: str) -> list[Any]:
    value = node.get(keyword)
    return value if isinstance(value, list) else []


def _with_booleans(shape: Shape, words: Mapping[str, bool]) -> Shape:
    """A copy of a boolean shape that also reads the service's own words for true/false."""
    table = {**_BOOLEANS, **{str(word).lower(): bool(value) for word, value in words.items()}}
    copy = Shape()
    copy.types, copy.kind, copy.scalar_ok = shape.types, shape.kind, shape.scalar_ok
    copy.scalar = lambda text: table.get(text.strip().lower(), text)
    return copy


def build_shape(doc: SpecDocument, schema: Any, pointer: str) -> Shape:
    """The coercion shape of a schema (refs followed, composition looked through)."""
    return _ShapeBuilder(doc).build(schema, pointer)


# --------------------------------------------------------------------------- bracket keys


_MAX_BRACKETS: Final = 32


class Leaf:
    """Raw values collected under one key; ``explicit`` when sent as ``key[]``."""

    __slots__ = ("explicit", "values")

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.explicit = False


class ObjectList(list[dict[str, Any]]):
    """Objects sent as ``key[][field]=...`` (Rails convention): a list of raw trees."""


def split_brackets(key: str) -> list[str]:
    """``a[b][]`` -> ``["a", "b", ""]``; a key that is not well-formed stays whole.

    Nesting deeper than :data:`_MAX_BRACKETS` also keeps the key whole, so a crafted key
    cannot drive the recursive coercion past the interpreter's stack.
    """
    start = key.find("[")
    if start <= 0 or not key.endswith("]"):
        return [key]
    tokens = [key[:start]]
    pos = start
    size = len(key)
    while pos < size:
        if key[pos] != "[" or len(tokens) > _MAX_BRACKETS:
            return [key]
        end = key.find("]", pos)
        if end < 0:
            return [key]
        tokens.append(key[pos + 1 : end])
        pos = end + 1
    return tokens


def _is_index(key: str) -> bool:
    return 0 < len(key) <= 9 and key.isascii() and key.isdigit()


def insert_bracketed(tree: dict[str, Any], tokens: list[str], value: Any) -> None:
    """Add one value under a bracket path into a raw tree of dicts, Leafs and ObjectLists."""
    node = tree
    last = len(tokens) - 1
    pos = 0
    while True:
        key = tokens[pos]
        if pos == last:
            leaf = node.get(key)
            if not isinstance(leaf, Leaf):
                leaf = node[key] = Leaf()
            leaf.values.append(value)
            return
        if tokens[pos + 1] == "":
            if pos + 1 == last:  # key[]=value
                leaf = node.get(key)
                if not isinstance(leaf, Leaf):
                    leaf = node[key] = Leaf()
                leaf.explicit = True
                leaf.values.append(value)
                return
            seq = node.get(key)
            if not isinstance(seq, ObjectList):
                seq = node[key] = ObjectList()
            # A field already set in the last object starts the next one.
            if not seq or tokens[pos + 2] in seq[-1]:
                seq.append({})
            node = seq[-1]
            pos += 2
            continue
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
        pos += 1


def coerce_tree(
    raw: Any, shape: Shape, leaf_value: Callable[[Any, Shape], Any] | None = None
) -> Any:
    """Turn a raw tree (see :func:`insert_bracketed`) into typed values following ``shape``.

    Repeated values become a list when the schema wants an array (or ``key[]`` was used);
    otherwise the last one wins, as in Rails, Django and Starlette. ``leaf_value`` converts
    one non-text value (form bodies use it for uploaded files).
    """
    if isinstance(raw, Leaf):
        values = raw.values
        if raw.explicit or (shape.kind == "array" and (len(values) > 1 or not shape.scalar_ok)):
            if len(values) == 1:
                if values[0] == "":
                    return []
                if isinstance(values[0], list):  # already an array (a JSON multipart part)
                    return values[0]
            item = shape.item()
            return [_leaf(v, item, leaf_value) for v in values]
        return _leaf(values[-1], shape, leaf_value)
    if isinstance(raw, ObjectList):
        item = shape.item()
        return [coerce_tree(entry, item, leaf_value) for entry in raw]
    if isinstance(raw, dict):
        if shape.kind == "array" and raw and all(_is_index(k) for k in raw):
            item = shape.item()
            ordered = sorted(raw.items(), key=lambda entry: int(entry[0]))
            return [coerce_tree(child, item, leaf_value) for _, child in ordered]
        return {k: coerce_tree(child, shape.prop(k), leaf_value) for k, child in raw.items()}
    return raw


def _leaf(value: Any, shape: Shape, leaf_value: Callable[[Any, Shape], Any] | None) -> Any:
    if isinstance(value, str):
        if shape.kind == "object" and value[:1] == "{":
            parsed = _json_or_text(value)
            return parsed if isinstance(parsed, dict) else value
        return shape.scalar(value)
    if leaf_value is not None:
        return leaf_value(value, shape)
    return value


# --------------------------------------------------------------------------- raw parsing


def parse_query_string(raw: bytes) -> dict[str, list[str]]:
    """Split a query string (without ``?``) into every value per key, blanks kept.

    ``+`` means a space and percent escapes are UTF-8; undecodable bytes become U+FFFD.
    """
    result: dict[str, list[str]] = {}
    if not raw:
        return result
    text = raw.decode("utf-8", "replace")
    for piece in text.split("&"):
        if not piece:
            continue
        key, _, value = piece.partition("=")
        if "+" in key:
            key = key.replace("+", " ")
        if "%" in key:
            key = unquote(key, errors="replace")
        if "+" in value:
            value = value.replace("+", " ")
        if "%" in value:
            value = unquote(value, errors="replace")
        values = result.get(key)
        if values is None:
            result[key] = [value]
        else:
            values.append(value)
    return result


def parse_cookie_header(value: str) -> dict[str, str]:
    """Split a ``Cookie`` header; the first cookie of a name wins (RFC 6265 sends the
    most specific first). Values are kept as sent, without surrounding double quotes."""
    cookies: dict[str, str] = {}
    for piece in value.split(";"):
        name, sep, content = piece.partition("=")
        name = name.strip()
        if not sep or not name or name in cookies:
            continue
        content = content.strip()
        if len(content) >= 2 and content[0] == '"' and content[-1] == '"':
            content = content[1:-1]
        cookies[name] = content
    return cookies


def _json_or_text(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def is_json_media(media_type: str) -> bool:
    """``application/json``, ``text/json`` and ``+json`` suffixes, parameters ignored."""
    base = media_type.split(";", 1)[0].strip().lower()
    return base.endswith("/json") or base.endswith("+json")


# --------------------------------------------------------------------------- decoders

Extractor = Callable[[RequestParts], Any]


class ParamDecoder:
    """One compiled parameter: ``extract(parts)`` gives its typed value or :data:`MISSING`.

    ``extract`` is a plain attribute holding a closure picked at compile time, so a call
    goes straight to the code for this location and style.
    """

    __slots__ = ("extract", "shape", "spec")

    def __init__(self, spec: ParameterSpec, shape: Shape, extract: Extractor) -> None:
        self.spec = spec
        self.shape = shape
        self.extract: Extractor = extract

    def __repr__(self) -> str:
        return f"ParamDecoder({self.spec.location}:{self.spec.name}, {self.spec.style})"


def compile_parameter(
    doc: SpecDocument, spec: ParameterSpec, booleans: Mapping[str, bool] | None = None
) -> ParamDecoder:
    """Compile a parameter once; the result is safe to share between requests.

    ``booleans`` names the words a service takes for true and false in a boolean query
    parameter beyond ``true``/``false`` (the Docker daemon reads ``all=1`` and ``all=0``).
    """
    shape = build_shape(doc, spec.schema, spec.pointer)
    if booleans and spec.location == "query" and shape.types == frozenset({"boolean"}):
        shape = _with_booleans(shape, booleans)
    if spec.content_type is not None:
        extract = _content_extractor(spec)
    elif spec.location == "query":
        extract = _query_extractor(spec, shape)
    else:
        extract = _text_extractor(spec, shape)
    return ParamDecoder(spec, shape, extract)


def _content_extractor(spec: ParameterSpec) -> Extractor:
    """Parameters declared with ``content``: the whole raw value is one document."""
    name = spec.name
    convert: Callable[[str], Any] = (
        _json_or_text if is_json_media(spec.content_type or "") else _keep
    )
    location = spec.location
    if location == "query":

        def from_query(parts: RequestParts) -> Any:
            values = parts.query.get(name)
            return MISSING if not values else convert(values[-1])

        return from_query
    source = _single_source(location, name)

    def from_text(parts: RequestParts) -> Any:
        raw = source(parts)
        return MISSING if raw is None else convert(raw)

    return from_text


def _single_source(location: str, name: str) -> Callable[[RequestParts], str | None]:
    if location == "path":
        return lambda parts: parts.path.get(name)
    if location == "header":
        lowered = name.lower()
        return lambda parts: parts.headers.get(lowered)
    return lambda parts: parts.cookies.get(name)


def _pairs(tokens: list[str], shape: Shape) -> dict[str, Any] | None:
    """``R,100,G,200`` style: alternating keys and values; None when the count is odd."""
    if len(tokens) % 2:
        return None
    return {
        tokens[i]: shape.prop(tokens[i]).scalar(tokens[i + 1]) for i in range(0, len(tokens), 2)
    }


def _entries(tokens: list[str], shape: Shape) -> dict[str, Any] | None:
    """``R=100`` entries; None when one has no ``=``."""
    result: dict[str, Any] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        if not sep:
            return None
        result[key] = shape.prop(key).scalar(value)
    return result


def _text_extractor(spec: ParameterSpec, shape: Shape) -> Extractor:
    """Path (simple, label, matrix), header (simple) and cookie (form) parameters."""
    name, location, style, explode = spec.name, spec.location, spec.style, spec.explode
    source = _single_source(location, name)
    strip = location == "header"

    if location == "path" and style == "label":
        prefix, array_prefix, array_sep = ".", ".", "." if explode else ","
        object_prefix, entry_sep = ".", "." if explode else ""
    elif location == "path" and style == "matrix":
        prefix = array_prefix = f";{name}="
        array_sep = f";{name}=" if explode else ","
        object_prefix, entry_sep = (";", ";") if explode else (f";{name}=", "")
    else:  # simple (path, header) and form (cookie)
        prefix = array_prefix = object_prefix = ""
        array_sep = ","
        entry_sep = "," if explode else ""

    if location == "cookie" and explode and shape.kind == "object":
        return _cookie_object_extractor(shape)

    def cut(raw: str, start: str) -> str | None:
        if not start:
            return raw
        if raw.startswith(start):
            return raw[len(start) :]
        if start[-1] == "=" and raw == start[:-1]:  # ";name" is the empty matrix value
            return ""
        return None

    if shape.kind == "array":
        item = shape.item().scalar
        scalar = shape.scalar
        scalar_ok = shape.scalar_ok

        def extract_array(parts: RequestParts) -> Any:
            raw = source(parts)
            if raw is None:
                return MISSING
            rest = cut(raw, array_prefix)
            if rest is None:
                return raw
            if rest == "":
                return []
            if scalar_ok and array_sep not in rest:
                return scalar(rest)
            tokens = rest.split(array_sep)
            if strip:
                return [item(t.strip()) for t in tokens]
            return [item(t) for t in tokens]

        return extract_array

    if shape.kind == "object":

        def extract_object(parts: RequestParts) -> Any:
            raw = source(parts)
            if raw is None:
                return MISSING
            rest = cut(raw, object_prefix)
            if rest is None:
                return raw
            if rest == "":
                return {}
            if entry_sep:
                tokens = rest.split(entry_sep)
                if strip:
                    tokens = [t.strip() for t in tokens]
                decoded = _entries(tokens, shape)
            else:
                tokens = rest.split(",")
                if strip:
                    tokens = [t.strip() for t in tokens]
                decoded = _pairs(tokens, shape)
            return raw if decoded is None else decoded

        return extract_object

    scalar = shape.scalar
    if not prefix:
        return _plain_scalar(location, name, scalar)

    def extract_scalar(parts: RequestParts) -> Any:
        raw = source(parts)
        if raw is None:
            return MISSING
        rest = cut(raw, prefix)
        return raw if rest is None else scalar(rest)

    return extract_scalar


def _plain_scalar(location: str, name: str, scalar: Callable[[str], Any]) -> Extractor:
    """The common case (a simple path segment, a header, a cookie) with no indirection."""
    if location == "path":

        def from_path(parts: RequestParts) -> Any:
            raw = parts.path.get(name)
            return MISSING if raw is None else scalar(raw)

        return from_path
    if location == "header":
        lowered = name.lower()

        def from_header(parts: RequestParts) -> Any:
            raw = parts.headers.get(lowered)
            return MISSING if raw is None else scalar(raw)

        return from_header

    def from_cookie(parts: RequestParts) -> Any:
        raw = parts.cookies.get(name)
        return MISSING if raw is None else scalar(raw)

    return from_cookie


def _cookie_object_extractor(shape: Shape) -> Extractor:
    """Cookie, form style, exploded object: each property is its own cookie."""
    props = list(shape.properties.items())

    def extract(parts: RequestParts) -> Any:
        cookies = parts.cookies
        found = {key: sub.scalar(cookies[key]) for key, sub in props if key in cookies}
        return found if found else MISSING

    return extract


def _query_extractor(spec: ParameterSpec, shape: Shape) -> Extractor:
    name, style, explode, allow_empty = spec.name, spec.style, spec.explode, spec.allow_empty
    if style == "deepObject" and shape.kind != "scalar":
        return _deep_object_extractor(name, shape)
    separator = {"spaceDelimited": " ", "pipeDelimited": "|"}.get(style, ",")
    repeated = explode or style == "deepObject"
    scalar = shape.scalar
    empty_allowed = allow_empty and "string" not in shape.types

    if shape.kind == "array":
        item = shape.item().scalar
        scalar_ok = shape.scalar_ok
        bracketed = name + "[]"

        def extract_array(parts: RequestParts) -> Any:
            values = parts.query.get(name)
            if values is None:
                values = parts.query.get(bracketed)
                if values is None:
                    return MISSING
            if len(values) == 1:
                only = values[0]
                if only == "":
                    return EMPTY if allow_empty else []
                if scalar_ok and (repeated or separator not in only):
                    return scalar(only)
                if repeated:
                    return [item(only)]
            if repeated:
                return [item(v) for v in values]
            return [item(t) for v in values for t in v.split(separator)]

        return extract_array

    if shape.kind == "object":
        if repeated:
            props = list(shape.properties.items())

            def extract_exploded(parts: RequestParts) -> Any:
                query = parts.query
                found: dict[str, Any] = {}
                for key, sub in props:
                    values = query.get(key)
                    if values is not None:
                        if sub.kind == "array":
                            found[key] = [sub.item().scalar(v) for v in values]
                        else:
                            found[key] = sub.scalar(values[-1])
                return found if found else MISSING

            return extract_exploded

        def extract_object(parts: RequestParts) -> Any:
            values = parts.query.get(name)
            if values is None:
                return MISSING
            raw = values[-1]
            if raw == "":
                return EMPTY if allow_empty else {}
            decoded = _pairs(raw.split(separator), shape)
            return raw if decoded is None else decoded

        return extract_object

    def extract_scalar(parts: RequestParts) -> Any:
        values = parts.query.get(name)
        if values is None:
            return MISSING
        raw = values[-1]
        if empty_allowed and raw == "":
            return EMPTY
        return scalar(raw)

    return extract_scalar


def _deep_object_extractor(name: str, shape: Shape) -> Extractor:
    """``filter[name]=x&filter[size][min]=1``: every key starting with ``name[``."""
    prefix = name + "["

    def extract(parts: RequestParts) -> Any:
        tree: dict[str, Any] = {}
        for key, values in parts.query.items():
            if key.startswith(prefix):
                tokens = split_brackets(key)
                if tokens[0] != name or len(tokens) < 2:
                    continue
                for value in values:
                    insert_bracketed(tree, tokens, value)
        if not tree:
            return MISSING
        return coerce_tree(tree[name], shape)

    return extract
