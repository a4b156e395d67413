"""OpenAPI schema objects to self-contained JSON Schema (draft 2020-12) documents.

OpenAPI 3.0 schemas are a JSON Schema dialect with keywords of their own (``nullable``,
boolean ``exclusiveMinimum``, ignored ``$ref`` siblings ...); validators only speak standard
JSON Schema. A compiled schema carries every ``$ref`` target it can reach, converted too, at
the target's original JSON pointer (``root["components"]["schemas"]["Droplet"]``), so
reference strings keep pointing where they did and circular schemas stay finite. Targets
are converted once per document and direction and shared between compiled schemas, which
keeps compiling hundreds of operations of one document cheap.
"""

from __future__ import annotations

import functools
from typing import Any, Literal
from urllib.parse import quote

import jsonschema_rs

from apitwin.schema.formats import INTEGER_RANGES
from apitwin.spec.document import SpecDocument, SpecError, join_pointer

__all__ = ["DRAFT_2020_12", "Direction", "SchemaCompiler", "compile_schema", "pattern_error"]

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"

Direction = Literal["request", "response"]

_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})
# Keywords whose value is one subschema, a map of subschemas, or a list of subschemas.
_ONE = frozenset(
    {
        "additionalProperties",
        "items",
        "not",
        "contains",
        "propertyNames",
        "if",
        "then",
        "else",
        "unevaluatedItems",
        "unevaluatedProperties",
        "contentSchema",
    }
)
_MAP = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_LIST = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_NUMBER = frozenset({"multipleOf", "maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum"})
_COUNT = frozenset(
    {
        "maxLength",
        "minLength",
        "maxItems",
        "minItems",
        "maxContains",
        "minContains",
        "maxProperties",
        "minProperties",
    }
)
_STRING = frozenset(
    {"format", "title", "description", "$comment", "contentEncoding", "contentMediaType"}
)
_BOOL = frozenset({"uniqueItems", "deprecated", "readOnly", "writeOnly"})
_ANY = frozenset({"default", "const"})
# OpenAPI annotations with no validation meaning; dropped without a word.
_DROPPED = frozenset(
    {"discriminator", "xml", "externalDocs", "example", "nullable", "$schema", "$vocabulary"}
)
# Identifier keywords would move the base URI of "#/..." references; the document's own
# pointers are the only addressing this converter supports.
_IGNORED_IDS = frozenset(
    {"$id", "$anchor", "$dynamicAnchor", "$dynamicRef", "$recursiveRef", "$recursiveAnchor"}
)
# Characters a URI fragment may hold unencoded (RFC 3986); "{" in a path template may not.
_FRAGMENT_SAFE = "/?:@!$&'()*+,;=~"
_EMPTY: frozenset[str] = frozenset()
_NULL = {"type": "null"}

Converted = tuple[Any, frozenset[str]]


@functools.lru_cache(maxsize=4096)
def pattern_error(pattern: str) -> str | None:
    """Why jsonschema_rs refuses a ``pattern``, or None when it compiles.

    One unsupported regex would make the whole validator unbuildable, so patterns are tried
    one by one on a tiny schema and only the bad ones are dropped.
    """
    try:
        jsonschema_rs.validator_for({"$schema": DRAFT_2020_12, "pattern": pattern})
    except ValueError as exc:
        return str(exc).split("\n", 1)[0]
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_count(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return value.is_integer() and value >= 0
    return isinstance(value, int) and value >= 0


def _tokens(pointer: str) -> list[str]:
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _allow_null(node: Any) -> Any:
    """A schema accepting what ``node`` accepts plus null; ``node`` itself is left untouched.

    Structure is kept (types and enums extended, a null branch appended to anyOf/oneOf, each
    allOf part relaxed) so pointers into the schema still land on the same subschemas.
    """
    if node is True or node == {}:
        return node
    if node is False:
        return dict(_NULL)
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return {"anyOf": [node, dict(_NULL)]}
    out = dict(node)
    kind = out.get("type")
    if isinstance(kind, str) and kind != "null":
        out["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        out["type"] = [*kind, "null"]
    if isinstance(out.get("enum"), list) and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    if "const" in out and out["const"] is not None and "enum" not in out:
        out["enum"] = [out.pop("const"), None]
    for key in ("anyOf", "oneOf"):
        if key in out and _NULL not in out[key]:
            out[key] = [*out[key], dict(_NULL)]
    if "allOf" in out:
        out["allOf"] = [_allow_null(part) for part in out["allOf"]]
    return out


class SchemaCompiler:
    """Converts the schemas of one document, sharing converted ``$ref`` targets.

    Compiled schemas share nested dicts with this cache: treat them as read-only.
    """

    def __init__(self, doc: SpecDocument) -> None:
        self.doc = doc
        self._is_31 = doc.is_31
        self._nodes: dict[tuple[str, str], Converted] = {}
        self._refs: dict[str, tuple[str, str | None]] = {}
        self._warned: set[tuple[str, str]] = set()

    def compile(self, schema: Any, pointer: str, direction: Direction) -> dict[str, Any]:
        """A self-contained draft 2020-12 schema for ``schema`` found at ``pointer``.

        Only a SpecError for an external reference escapes; every other defect becomes a
        document warning and a more permissive schema.
        """
        root_node, refs = self._node(schema, pointer, direction, self._located(schema, pointer))
        targets: dict[str, Any] = {}
        pending = list(refs)
        while pending:
            target = pending.pop()
            if target in targets:
                continue
            node, more = self._target(target, direction)
            targets[target] = node
            pending.extend(more)
        if isinstance(root_node, dict):
            root: dict[str, Any] = {"$schema": DRAFT_2020_12, **root_node}
        else:
            root = (
                {"$schema": DRAFT_2020_12} if root_node else {"$schema": DRAFT_2020_12, "not": {}}
            )
        owned = {id(root)}
        # Ancestors first: a target nested in another one is then found already in place.
        for target in sorted(targets, key=lambda p: p.count("/")):
            if not _place(root, _tokens(target), targets[target], owned):
                self._warn(target, "reference target cannot be placed in the compiled schema")
        return root

    # -- conversion -------------------------------------------------------------------------

    def _warn(self, pointer: str, message: str) -> None:
        if (pointer, message) not in self._warned:
            self._warned.add((pointer, message))
            self.doc.warn(pointer, message)

    def _located(self, schema: Any, pointer: str) -> bool:
        """Whether ``schema`` is the document's node at ``pointer`` (so it may be cached)."""
        try:
            return self.doc.lookup(pointer) is schema
        except SpecError:
            return False

    def _target(self, target: str, direction: Direction) -> Converted:
        """A reference target; :meth:`_ref` checked that it exists."""
        return self._node(self.doc.lookup(target), target, direction, True)

    def _node(self, schema: Any, pointer: str, direction: Direction, cache: bool) -> Converted:
        """Converted ``schema`` and the reference targets it holds, cached per location."""
        if not cache:
            return self._convert(schema, pointer, direction, False)
        key = (pointer, direction)
        hit = self._nodes.get(key)
        if hit is None:
            hit = self._nodes[key] = self._convert(schema, pointer, direction, True)
        return hit

    def _ref(self, ref: str, pointer: str) -> tuple[str, str | None]:
        """The reference string to emit and its target pointer (None when unusable)."""
        known = self._refs.get(ref)
        if known is None:
            target = self.doc.ref_pointer(ref, pointer)
            if target in ("", "/"):
                known = ("names the whole document, not a schema", None)
            else:
                try:
                    self.doc.lookup(target)
                except SpecError:
                    known = ("has no target", None)
                else:
                    known = ("#" + quote(target, safe=_FRAGMENT_SAFE), target)
            self._refs[ref] = known
        if known[1] is None:
            self._warn(pointer, f"reference {ref!r} {known[0]}; accepting any value")
        return known

    def _convert(self, schema: Any, pointer: str, direction: Direction, cache: bool) -> Converted:
        """Convert one schema object; subschemas go through :meth:`_node` for sharing."""
        if isinstance(schema, bool):
            return schema, _EMPTY
        if not isinstance(schema, dict):
            self._warn(pointer, "schema is not an object; accepting any value")
            return {}, _EMPTY
        out: dict[str, Any] = {}
        refs: set[str] = set()
        ref = schema.get("$ref")
        if ref is not None:
            if not isinstance(ref, str):
                self._warn(pointer, "$ref is not a string; ignored")
            else:
                emitted, target = self._ref(ref, pointer)
                if target is not None:
                    out["$ref"] = emitted
                    refs.add(target)
                if not self._is_31:
                    # OpenAPI 3.0 ignores a reference's siblings; nullable is honoured anyway
                    # because writers rely on it.
                    if schema.get("nullable") is True and out:
                        out = {"anyOf": [out, dict(_NULL)]}
                    return out, frozenset(refs) if refs else _EMPTY
        exclusive: dict[str, bool] = {}
        for key, value in schema.items():
            if key == "$ref" or key.startswith("x-") or key in _DROPPED:
                continue
            if key in _ONE:
                self._one(out, refs, key, value, pointer, direction, cache)
            elif key in _MAP:
                self._map(out, refs, key, value, pointer, direction, cache)
            elif key in _LIST:
                self._list(out, refs, key, value, pointer, direction, cache)
            elif key == "type":
                self._type(out, value, pointer)
            elif key in _NUMBER:
                if isinstance(value, bool) and key.startswith("exclusive"):
                    if self._is_31:
                        self._warn(join_pointer(pointer, key), "boolean form read as OpenAPI 3.0")
                    exclusive[key] = value
                elif _is_number(value) and (key != "multipleOf" or value > 0):
                    out[key] = value
                else:
                    self._warn(join_pointer(pointer, key), f"invalid {key} {value!r}; dropped")
            elif key in _COUNT:
                if _is_count(value):
                    out[key] = int(value)
                else:
                    self._warn(join_pointer(pointer, key), f"invalid {key} {value!r}; dropped")
            elif key == "pattern":
                self._pattern(out, value, pointer)
            elif key == "required":
                if isinstance(value, list):
                    names = list(dict.fromkeys(v for v in value if isinstance(v, str)))
                    if names:
                        out[key] = names
                else:
                    self._warn(join_pointer(pointer, key), "required is not a list; dropped")
            elif key == "enum":
                if isinstance(value, list) and value:
                    out[key] = value
                else:
                    self._warn(join_pointer(pointer, key), "enum is not a non-empty list; dropped")
            elif key == "examples":
                if self._is_31 and isinstance(value, list):
                    out[key] = value
            elif key == "dependentRequired":
                if isinstance(value, dict) and all(
                    isinstance(v, list) and all(isinstance(n, str) for n in v)
                    for v in value.values()
                ):
                    out[key] = {k: list(dict.fromkeys(v)) for k, v in value.items()}
                else:
                    self._warn(join_pointer(pointer, key), "invalid dependentRequired; dropped")
            elif key in _STRING:
                if isinstance(value, str):
                    out[key] = value
            elif key in _BOOL:
                if isinstance(value, bool):
                    out[key] = value
            elif key in _ANY:
                out[key] = value
            elif key in _IGNORED_IDS:
                self._warn(join_pointer(pointer, key), f"{key} is not supported; ignored")
        for key, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            if exclusive.get(key) and bound in out:
                out[key] = out.pop(bound)
        _integer_format_bounds(out)
        if isinstance(schema.get("discriminator"), dict) and "oneOf" in out and "anyOf" not in out:
            # The discriminator picks the branch; branches that overlap (DigitalOcean's
            # droplet actions by tag) must not make every value "valid under more than one".
            out["anyOf"] = out.pop("oneOf")
        if "required" in out:
            self._drop_one_way(out, schema, direction)
        if not self._is_31 and schema.get("nullable") is True:
            out = _allow_null(out)
        return out, frozenset(refs) if refs else _EMPTY

    def _one(
        self,
        out: dict[str, Any],
        refs: set[str],
        key: str,
        value: Any,
        pointer: str,
        direction: Direction,
        cache: bool,
    ) -> None:
        at = join_pointer(pointer, key)
        if key == "items" and isinstance(value, list):
            # Tuple-style items (pre-2020-12) is what prefixItems says now.
            self._warn(at, "items is a list; read as prefixItems")
            self._list(out, refs, "prefixItems", value, pointer, direction, cache, source=key)
            return
        node, sub_refs = self._node(value, at, direction, cache)
        out[key] = node
        refs.update(sub_refs)

    def _map(
        self,
        out: dict[str, Any],
        refs: set[str],
        key: str,
        value: Any,
        pointer: str,
        direction: Direction,
        cache: bool,
    ) -> None:
        at = join_pointer(pointer, key)
        if not isinstance(value, dict):
            self._warn(at, f"{key} is not an object; dropped")
            return
        converted: dict[str, Any] = {}
        for name, sub in value.items():
            if key == "patternProperties":
                error = pattern_error(name)
                if error is not None:
                    self._warn(join_pointer(at, name), f"unsupported regex dropped: {error}")
                    continue
            node, sub_refs = self._node(sub, join_pointer(at, name), direction, cache)
            converted[name] = node
            refs.update(sub_refs)
        out[key] = converted

    def _list(
        self,
        out: dict[str, Any],
        refs: set[str],
        key: str,
        value: Any,
        pointer: str,
        direction: Direction,
        cache: bool,
        source: str | None = None,
    ) -> None:
        at = join_pointer(pointer, source or key)
        if not isinstance(value, list) or not value:
            self._warn(at, f"{key} is not a non-empty list; dropped")
            return
        converted = []
        for index, sub in enumerate(value):
            node, sub_refs = self._node(sub, join_pointer(at, index), direction, cache)
            converted.append(node)
            refs.update(sub_refs)
        out[key] = converted

    def _type(self, out: dict[str, Any], value: Any, pointer: str) -> None:
        at = join_pointer(pointer, "type")
        names = [value] if isinstance(value, str) else value if isinstance(value, list) else None
        if names is None:
            self._warn(at, f"type {value!r} is not a name or a list; dropped")
            return
        kept: list[str] = []
        for name in names:
            if isinstance(name, str) and name in _TYPES:
                if name not in kept:
                    kept.append(name)
            else:
                self._warn(at, f"unknown type {name!r} dropped")
        if kept:
            out["type"] = kept[0] if isinstance(value, str) else kept

    def _pattern(self, out: dict[str, Any], value: Any, pointer: str) -> None:
        at = join_pointer(pointer, "pattern")
        if not isinstance(value, str):
            self._warn(at, "pattern is not a string; dropped")
            return
        error = pattern_error(value)
        if error is None:
            out["pattern"] = value
        else:
            self._warn(at, f"unsupported regex dropped: {error}")

    # -- readOnly / writeOnly ---------------------------------------------------------------

    def _drop_one_way(
        self, out: dict[str, Any], schema: dict[str, Any], direction: Direction
    ) -> None:
        """Un-require properties that only travel the other way (readOnly in requests ...)."""
        flag = "readOnly" if direction == "request" else "writeOnly"
        kept = [
            name
            for name in out["required"]
            if not self._flagged(self._property(schema, name, 0), flag, 0)
        ]
        if kept:
            out["required"] = kept
        else:
            del out["required"]

    def _resolve(self, node: Any) -> Any:
        try:
            return self.doc.resolve(node)
        except SpecError:
            return None

    def _property(self, schema: Any, name: str, depth: int) -> Any:
        """The raw schema of property ``name``, looking through allOf parts as well."""
        if not isinstance(schema, dict) or depth > 8:
            return None
        props = schema.get("properties")
        if isinstance(props, dict) and name in props:
            return props[name]
        parts = schema.get("allOf")
        if isinstance(parts, list):
            for part in parts:
                found = self._property(self._resolve(part), name, depth + 1)
                if found is not None:
                    return found
        return None

    def _flagged(self, schema: Any, flag: str, depth: int) -> bool:
        if not isinstance(schema, dict) or depth > 8:
            return False
        if schema.get(flag) is True:
            return True
        if isinstance(schema.get("$ref"), str) and self._flagged(
            self._resolve(schema), flag, depth + 1
        ):
            return True
        parts = schema.get("allOf")
        return isinstance(parts, list) and any(self._flagged(p, flag, depth + 1) for p in parts)


def _integer_format_bounds(out: dict[str, Any]) -> None:
    """``format: int32`` on an integer means its range: a value outside it is invalid, as
    the real service's parser would refuse it."""
    limits = INTEGER_RANGES.get(out.get("format", ""))
    declared = out.get("type")
    types = declared if isinstance(declared, list) else [declared]
    if limits is None or "integer" not in types:
        return
    low, high = limits
    if not (_is_number(out.get("minimum")) and out["minimum"] >= low) and not (
        _is_number(out.get("exclusiveMinimum")) and out["exclusiveMinimum"] >= low
    ):
        out["minimum"] = max(low, out["minimum"]) if _is_number(out.get("minimum")) else low
    if not (_is_number(out.get("maximum")) and out["maximum"] <= high) and not (
        _is_number(out.get("exclusiveMaximum")) and out["exclusiveMaximum"] <= high
    ):
        out["maximum"] = min(high, out["maximum"]) if _is_number(out.get("maximum")) else high


def _place(root: dict[str, Any], tokens: list[str], node: Any, owned: set[int]) -> bool:
    """Put ``node`` at ``tokens`` inside ``root``; False when the path is blocked.

    Containers created here are recorded in ``owned``; shared converted nodes on the way are
    copied before they are changed, so the compiler's cache is never modified.
    """
    path: list[Any] = [root]
    keys: list[str | int] = []
    current: Any = root
    for index, token in enumerate(tokens):
        if isinstance(current, dict):
            if token in current:
                keys.append(token)
                current = current[token]
                path.append(current)
                continue
        elif isinstance(current, list):
            if token.isdigit() and int(token) < len(current):
                keys.append(int(token))
                current = current[int(token)]
                path.append(current)
                continue
            return False
        else:
            return False
        if id(current) not in owned:
            current = _own(path, keys, owned)
        for step in tokens[index:-1]:
            container: dict[str, Any] = {}
            owned.add(id(container))
            current[step] = container
            current = container
        current[tokens[-1]] = node
        return True
    return True  # already there: a converted ancestor holds it


def _own(path: list[Any], keys: list[str | int], owned: set[int]) -> Any:
    """Copy the shared nodes at the end of ``path`` so the last one may be changed."""
    first = max(i for i, item in enumerate(path) if id(item) in owned)
    parent = path[first]
    for i in range(first + 1, len(path)):
        copy = dict(path[i]) if isinstance(path[i], dict) else list(path[i])
        owned.add(id(copy))
        parent[keys[i - 1]] = copy
        path[i] = copy
        parent = copy
    return parent


def compile_schema(
    doc: SpecDocument, schema: Any, pointer: str, direction: Direction
) -> dict[str, Any]:
    """One-off :meth:`SchemaCompiler.compile`; keep a compiler to share work across calls."""
    return SchemaCompiler(doc).compile(schema, pointer, direction)
