"""Resource inference: which operations of a document form CRUD families over which resources.

Read once at start-up from the document's paths and response schemas, so that the request
path can answer "POST /v2/droplets created droplet 7, GET /v2/droplets/7 finds it" without
any spec walking. The rules are deliberately conservative: an operation is put into a family
only when the paths *and* the schemas agree on what it does; anything ambiguous is left
unmapped (and served as before, from the spec alone) rather than given wrong state.

What is found:

* collections: ``/x`` (list, create) paired with ``/x/{id}`` (get, replace, update,
  delete); also collection-only (list and create, no item path) and item-only (an item
  path whose collection is missing or lives elsewhere);
* singletons: one object per parent at a path without a trailing parameter
  (``/v2/account``, ``/v2/databases/{uuid}/config``);
* actions: ``POST`` (or a lone ``PUT``) on ``/x/{id}/<verb>``, routed to the item;
* the conventions of the bundled APIs: Docker's RPC paths (``POST /x/create``,
  ``GET /x/json``, ``GET /x/{id}/json``), Discourse's ``.json`` suffixes and dnd5e's single
  templated list path (``GET /api/{endpoint}`` with an enum of collection names).

A profile's ``resources`` key (``overrides``) names families explicitly and wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from apitwin.spec.document import SpecDocument, SpecError, join_pointer
from apitwin.spec.operations import Operation

__all__ = [
    "CRUD_ROLES",
    "ID_KINDS",
    "Envelope",
    "Family",
    "OverrideError",
    "Required",
    "infer_families",
    "roles_by_operation",
]

CRUD_ROLES = ("list", "create", "get", "replace", "update", "delete")
_ITEM_ROLES = ("get", "replace", "update", "delete")
_WRITE_ROLES = ("create", "replace", "update")
_FALLBACK_ID_FIELDS = ("id", "uuid", "Id", "ID", "slug", "index", "name", "key")
_FALLBACK_NORMS = frozenset(f.lower() for f in _FALLBACK_ID_FIELDS)
_ID_ALIASES = {"identifier": "id", "ident": "id"}
_OVERRIDE_FIELDS = {
    "id_field",
    "id_param",
    "list_key",
    "item_key",
    "request_key",
    "collection_path",
    "item_path",
    "parent_family",
    "singleton",
}
# Override keys that describe a family's items without changing how it was inferred.
_ANNOTATIONS = {"id", "required"}
# How new ids of a family look (``resources.families.<name>.id.kind``): whole numbers from
# the family's sequence, UUIDs, or the generic choice among forms its id checks accept.
ID_KINDS = ("integer", "uuid", "string")
# Leading segments that version or namespace an API rather than name a resource.
_PREFIX_SEGMENT = re.compile(r"(?i)api|v\d+(\.\d+)*")
_PARAM_SEGMENT = re.compile(r"\{([^{}/]+)\}(\.json)?")
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Envelope:
    """Where the resource(s) sit in a response body."""

    key: str | None  # "droplet" / "droplets" / "results" / "data" / "items"; None = bare
    schema_pointer: str  # the whole response schema (to synthesize links, meta, count ...)
    item_pointer: str  # one item, through $ref/allOf wrappers (to compile validators from)


@dataclass
class Family:
    """One resource family of a twin: its paths, key, envelopes and operations by role.

    ``operations`` maps a role (list, create, get, replace, update, delete,
    ``action:<verb>``) to an operationId. Several families may share one operation when it
    is told apart by a path parameter (dnd5e's ``GET /api/{endpoint}``): ``selectors``
    then gives, per role, the parameter values that select this family.
    """

    name: str
    collection_path: str | None
    item_path: str | None
    id_param: str | None
    id_field: str  # "" for singletons, which have no key
    id_schema_pointer: str | None  # None when the item schema does not declare the field
    parent_params: tuple[str, ...]
    parent_family: str | None
    singleton: bool
    operations: dict[str, str]
    list_envelope: Envelope | None
    item_envelope: Envelope | None
    request_envelope_key: str | None
    id_type: str | None = None  # "integer", "string(uuid)", ... for display and new ids
    envelopes: dict[str, Envelope] = field(default_factory=dict)  # per role, when it has one
    request_keys: dict[str, str] = field(default_factory=dict)  # per role, wrapped bodies
    routes: dict[str, tuple[str, str]] = field(default_factory=dict)  # role -> (method, path)
    selectors: dict[str, dict[str, str]] = field(default_factory=dict)
    # role -> the path parameter holding the key in that role's path, where its name is
    # not id_param (DigitalOcean: ``/v2/apps/{id}`` but ``/v2/apps/{app_id}/rollback``)
    id_params: dict[str, str] = field(default_factory=dict)
    # Profile annotations: how new ids look (one of ID_KINDS; None = from the id field's
    # schema) and the fields creates and replaces must send.
    id_kind: str | None = None
    required: tuple[Required, ...] = ()


@dataclass(frozen=True)
class Required:
    """A field a create or full replace must send (profile ``required``); ``unless`` names
    a field that, sent as true, lifts the need (drchrono: a break has no patient)."""

    field: str
    unless: str | None = None


class OverrideError(ValueError):
    """A profile's ``resources`` key names an unknown operation, role or field."""


def roles_by_operation(families: Iterable[Family]) -> dict[str, list[tuple[Family, str]]]:
    """operationId -> the (family, role) pairs it serves, for dispatching a matched request."""
    index: dict[str, list[tuple[Family, str]]] = {}
    for family in families:
        for role, op_id in family.operations.items():
            index.setdefault(op_id, []).append((family, role))
    return index


# -- words -----------------------------------------------------------------------------


@cache
def _norm(word: str) -> str:
    return _NOT_ALNUM.sub("", word.lower())


@cache
def _singular(word: str) -> str:
    """English singular, good enough for resource nouns (``policies`` -> ``policy``)."""
    lower = word.lower()
    if lower.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if lower.endswith("uses") or lower.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    if lower.endswith("s") and not lower.endswith("ss") and len(word) > 1:
        return word[:-1]
    return word


@cache
def _words(name: str) -> tuple[str, ...]:
    """``ssh_key_identifier`` / ``eventId`` / ``by-external`` -> lower-case words."""
    spaced = _CAMEL_BOUNDARY.sub("_", name)
    return tuple(w.lower() for w in _WORD_SPLIT.split(spaced) if w)


def _matches_noun(prop: str, nouns: Iterable[str], suffix: bool = False) -> bool:
    """Whether a property is named after one of the nouns, singular or plural."""
    targets = {_norm(prop), _norm(_singular(prop))}
    for noun in nouns:
        for form in {_norm(noun), _norm(_singular(noun))}:
            if not form:
                continue
            if form in targets:
                return True
            if suffix and len(form) >= 2 and any(t.endswith(form) for t in targets):
                return True
    return False


# -- paths -----------------------------------------------------------------------------

Shape = tuple[str | None, ...]  # literal segments; None where a parameter stands


@dataclass(frozen=True)
class _Path:
    template: str
    shape: Shape
    params: tuple[str, ...]  # parameter names in order (one per None in shape)
    opaque: bool  # a segment mixes text and a parameter (``records.{format}``)


def _parse_path(template: str) -> _Path:
    """Split a template into its shape; ``{id}.json`` and ``x.json`` lose the suffix."""
    text = template.rstrip("/") if template != "/" else ""
    segments = [s for s in text.split("/") if s != ""] if text else []
    shape: list[str | None] = []
    params: list[str] = []
    opaque = False
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        match = _PARAM_SEGMENT.fullmatch(segment)
        if match and (last or match.group(2) is None):
            shape.append(None)
            params.append(match.group(1))
        elif "{" in segment:
            opaque = True
            shape.append(segment)
        elif last and segment.endswith(".json") and len(segment) > 5:
            shape.append(segment[:-5])
        else:
            shape.append(segment)
    return _Path(template, tuple(shape), tuple(params), opaque)


def _render(shape: Shape, names: Iterable[str]) -> str:
    """A shape as a path template again, with the given parameter names."""
    it = iter(names)
    parts = [f"{{{next(it, 'param')}}}" if token is None else token for token in shape]
    return "/" + "/".join(parts)


def _literal_runs(shape: Shape) -> list[list[str]]:
    """Literal segments grouped between parameters, leading version prefixes dropped."""
    tokens = list(shape)
    while tokens and tokens[0] is not None and _PREFIX_SEGMENT.fullmatch(tokens[0]):
        if len(tokens) == 1:
            break
        tokens.pop(0)
    runs: list[list[str]] = [[]]
    for token in tokens:
        if token is None:
            runs.append([])
        else:
            runs[-1].append(token)
    return [run for run in runs if run]


def _run_name(run: list[str]) -> str:
    return _NAME_UNSAFE.sub("_", "_".join(run)).strip("_") or "root"


# -- schemas ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    """An item found in a response or request body."""

    key: str | None
    schema_pointer: str
    node: Any
    pointer: str
    props: dict[str, tuple[Any, str]]

    def envelope(self) -> Envelope:
        return Envelope(self.key, self.schema_pointer, self.pointer)


_JSON_MEDIA = re.compile(r"application/(json|[\w.+-]*\+json)|\*/\*|text/json|application/\*")


class _Schemas:
    """Schema questions answered with $ref/allOf followed and results cached by pointer."""

    def __init__(self, doc: SpecDocument) -> None:
        self.doc = doc
        self._props: dict[str, dict[str, tuple[Any, str]]] = {}
        self._kinds: dict[str, str] = {}
        # Keyed by id() of property maps that live in self._props as long as this does.
        self._scalars: dict[int, dict[str, tuple[Any, str]]] = {}

    def resolve(self, node: Any, at: str) -> tuple[Any, str]:
        if not (isinstance(node, dict) and "$ref" in node):
            return node, at
        try:
            return self.doc.resolve_with_pointer(node, at)
        except SpecError:
            return None, at

    def scalars(self, props: dict[str, tuple[Any, str]]) -> dict[str, tuple[Any, str]]:
        """The properties that can hold a key: not objects or arrays."""
        cached = self._scalars.get(id(props))
        if cached is None:
            cached = {
                name: value
                for name, value in props.items()
                if self.kind(*value) not in ("object", "array")
            }
            self._scalars[id(props)] = cached
        return cached

    def unwrap(self, node: Any, at: str) -> tuple[Any, str]:
        """Follow refs and single-part ``allOf`` wrappers to the schema that says most."""
        node, at = self.resolve(node, at)
        for _ in range(8):
            if not isinstance(node, dict):
                break
            parts = node.get("allOf")
            if not (isinstance(parts, list) and len(parts) == 1) or "properties" in node:
                break
            node, at = self.resolve(parts[0], join_pointer(at, "allOf", 0))
        return node, at

    def kind(self, node: Any, at: str, depth: int = 0) -> str:
        """object / array / scalar / unknown."""
        cached = self._kinds.get(at)
        if cached is not None:
            return cached
        given_at = at
        node, at = self.resolve(node, at)
        if not isinstance(node, dict) or depth > 8:
            return "unknown"
        cached = self._kinds.get(at)
        if cached is not None:
            self._kinds[given_at] = cached
            return cached
        result = "unknown"
        kind_type = node.get("type")
        if isinstance(kind_type, list):
            kind_type = next((t for t in kind_type if t != "null"), None)
        if kind_type == "object" or (kind_type is None and "properties" in node):
            result = "object"
        elif kind_type == "array" or (kind_type is None and "items" in node):
            result = "array"
        elif isinstance(kind_type, str):
            result = "scalar"
        elif kind_type is None and "additionalProperties" in node:
            result = "object"
        else:
            for keyword in ("allOf", "oneOf", "anyOf"):
                parts = node.get(keyword)
                if not isinstance(parts, list) or not parts:
                    continue
                kinds = {
                    self.kind(part, join_pointer(at, keyword, i), depth + 1)
                    for i, part in enumerate(parts)
                }
                kinds.discard("unknown")
                if len(kinds) == 1:
                    result = kinds.pop()
                    break
        self._kinds[at] = self._kinds[given_at] = result
        return result

    def properties(self, node: Any, at: str) -> dict[str, tuple[Any, str]]:
        """Properties of an object schema, merged across its parts (refs followed)."""
        node, at = self.resolve(node, at)
        cached = self._props.get(at)
        if cached is not None:
            return cached
        merged: dict[str, tuple[Any, str]] = {}
        self._props[at] = merged  # a cycle through allOf sees the partial result
        self._collect(node, at, merged, 0)
        return merged

    def _collect(self, node: Any, at: str, out: dict[str, tuple[Any, str]], depth: int) -> None:
        if not isinstance(node, dict) or depth > 8:
            return
        props = node.get("properties")
        if isinstance(props, dict):
            for name, prop in props.items():
                out.setdefault(name, (prop, join_pointer(at, "properties", name)))
        # allOf parts all apply; of oneOf/anyOf alternatives, any may: take them all.
        for keyword in ("allOf", "oneOf", "anyOf"):
            parts = node.get(keyword)
            if not isinstance(parts, list):
                continue
            for index, part in enumerate(parts):
                part_node, part_at = self.resolve(part, join_pointer(at, keyword, index))
                self._collect(part_node, part_at, out, depth + 1)

    def branches(self, node: Any, at: str) -> list[tuple[Any, str]]:
        """The alternatives of a top-level ``oneOf``/``anyOf``, or the schema itself."""
        node, at = self.resolve(node, at)
        if isinstance(node, dict) and "properties" not in node:
            for keyword in ("oneOf", "anyOf"):
                parts = node.get(keyword)
                if isinstance(parts, list) and parts:
                    return [
                        self.resolve(part, join_pointer(at, keyword, i))
                        for i, part in enumerate(parts)
                    ]
        return [(node, at)]

    def type_label(self, node: Any, at: str) -> str | None:
        node, at = self.unwrap(node, at)
        if not isinstance(node, dict):
            return None
        kind_type = node.get("type")
        if isinstance(kind_type, list):
            kind_type = "|".join(str(t) for t in kind_type if t != "null") or None
        if kind_type is None:
            kind = self.kind(node, at)
            kind_type = kind if kind in ("object", "array") else None
        if kind_type is None:
            return None
        fmt = node.get("format")
        return f"{kind_type}({fmt})" if isinstance(fmt, str) and fmt else str(kind_type)


def _json_media(content: Mapping[str, Any]) -> Any:
    """The first JSON-like media entry of a content map, or None."""
    for media_type, media in content.items():
        if _JSON_MEDIA.match(media_type.lower()) and media.schema is not None:
            return media
    return None


# -- the inference ---------------------------------------------------------------------


@dataclass
class _Draft:
    """A family under construction (shapes, not yet names)."""

    kind: str  # collection | item | singleton
    base: Shape  # collection shape; the item shape minus its last token for item-only
    item_shape: Shape | None
    roles: dict[str, Operation]
    selectors: dict[str, dict[str, str]] = field(default_factory=dict)
    id_field: str = ""
    id_pointer: str | None = None
    id_type: str | None = None
    envelopes: dict[str, Envelope] = field(default_factory=dict)
    request_keys: dict[str, str] = field(default_factory=dict)
    name: str = ""
    parent: _Draft | None = None
    collection_path: str | None = None
    item_path: str | None = None
    id_param: str | None = None
    parent_params: tuple[str, ...] = ()
    overridden: bool = False
    id_kind: str | None = None
    required: tuple[Required, ...] = ()


class _Inference:
    def __init__(
        self, doc: SpecDocument, operations: list[Operation], overrides: Mapping[str, Any]
    ) -> None:
        self.schemas = _Schemas(doc)
        self.operations = operations
        self.by_id = {op.operation_id: op for op in operations}
        self.paths = {op.operation_id: _parse_path(op.path) for op in operations}
        self.overrides = overrides
        self.claimed: set[str] = set()  # in a family already (or reserved)
        self.reserved: set[str] = set()  # named by the overrides, or kept unmapped
        self.at: dict[Shape, dict[str, Operation]] = {}
        for op in operations:
            parsed = self.paths[op.operation_id]
            if not parsed.opaque:
                self.at.setdefault(parsed.shape, {}).setdefault(op.method, op)
        self.item_shapes = {shape for shape in self.at if shape and shape[-1] is None}

    # -- small questions about operations ----------------------------------------------

    def free(self, shape: Shape, method: str) -> Operation | None:
        op = self.at.get(shape, {}).get(method)
        if op is None or op.operation_id in self.claimed:
            return None
        return op

    def response(self, op: Operation) -> tuple[Any, str] | None:
        """Schema and pointer of the JSON success response, if there is one."""
        status = op.success_status()
        response = op.responses.get(status) if status else None
        if response is None:
            return None
        media = _json_media(response.content)
        if media is None:
            return None
        return media.schema, media.pointer

    def has_content(self, op: Operation) -> bool:
        status = op.success_status()
        response = op.responses.get(status) if status else None
        return bool(response and response.content)

    def body(self, op: Operation) -> tuple[Any, str] | None | bool:
        """The JSON request body schema; None without a body; False for a non-JSON one."""
        if op.request_body is None or not op.request_body.content:
            return None
        media = _json_media(op.request_body.content)
        if media is None:
            return False
        return media.schema, media.pointer

    def id_candidates(self, param: str | None) -> list[str]:
        """Normalized field names a path parameter may be stored under, best first."""
        if not param:
            return []
        words = _words(param)
        candidates = [_norm(param)]
        if len(words) > 1:
            candidates.append(_ID_ALIASES.get(words[-1], words[-1]))
        elif words and words[0] != "name" and words[0].endswith("name"):
            candidates.append("name")  # username -> name
        return candidates

    def find_id(
        self,
        props: dict[str, tuple[Any, str]],
        param: str | None,
        nouns: list[str],
        strict: bool,
    ) -> str | None:
        """The item property holding the key named by ``param``.

        ``strict`` (item paths without a collection) accepts only the parameter's own
        name, or its last word when the rest names the resource (``snapshot_id`` under
        ``snapshots``), never the generic fallback: ``/u/by-external/{external_id}`` must
        not be keyed by the user's ``id``.
        """
        props = self.schemas.scalars(props)
        by_norm: dict[str, str] = {}
        for name in props:
            by_norm.setdefault(_norm(name), name)
        candidates = self.id_candidates(param)
        if strict and param and len(candidates) > 1 and len(_words(param)) > 1:
            qualifier = "_".join(_words(param)[:-1])
            if not _matches_noun(qualifier, nouns):
                candidates = candidates[:1]
        for candidate in candidates:
            if candidate in by_norm:
                return by_norm[candidate]
        if strict:
            return None
        fallback: tuple[str, ...] = _FALLBACK_ID_FIELDS
        if param and nouns and len(_words(param)) == 1 and _matches_noun(param, nouns[:1]):
            # ``/tags/{tag}``: the path names the resource itself, by its name.
            fallback = ("name", "slug", *fallback)
        for name in fallback:
            if name in props:
                return name
        return None

    def id_like(self, props: dict[str, tuple[Any, str]], param: str | None) -> bool:
        wanted = {*self.id_candidates(param), *_FALLBACK_NORMS}
        return any(_norm(name) in wanted for name in self.schemas.scalars(props))

    # -- envelopes ---------------------------------------------------------------------

    def list_item(self, op: Operation, nouns: list[str]) -> _Item | None:
        """The items of a list response: a bare array or the one array of objects."""
        found = self.response(op)
        if found is None:
            return None
        for node, at in self.schemas.branches(*found):
            item = self._list_in(node, at, nouns)
            if item is not None:
                return item
        return None

    def _list_in(self, node: Any, at: str, nouns: list[str]) -> _Item | None:
        schemas = self.schemas
        kind = schemas.kind(node, at)
        if kind == "array":
            return self._array_item(None, at, node, at)
        if kind != "object":
            return None
        arrays: list[tuple[str, Any, str]] = []
        for name, (prop, prop_at) in schemas.properties(node, at).items():
            prop_node, prop_at = schemas.resolve(prop, prop_at)
            if schemas.kind(prop_node, prop_at) != "array" or not isinstance(prop_node, dict):
                continue
            items_at = join_pointer(prop_at, "items")
            if schemas.kind(prop_node.get("items"), items_at) == "object":
                arrays.append((name, prop_node, prop_at))
        if len(arrays) > 1:
            arrays = [a for a in arrays if _matches_noun(a[0], nouns)] or [
                a for a in arrays if _matches_noun(a[0], nouns, suffix=True)
            ]
        if len(arrays) != 1:
            return None
        name, prop_node, prop_at = arrays[0]
        return self._array_item(name, at, prop_node, prop_at)

    def _array_item(self, key: str | None, schema_at: str, array: Any, array_at: str) -> _Item:
        array, array_at = self.schemas.resolve(array, array_at)
        items = array.get("items") if isinstance(array, dict) else None
        node, at = self.schemas.unwrap(items, join_pointer(array_at, "items"))
        return _Item(key, schema_at, node, at, self.schemas.properties(node, at))

    def item_in(
        self, found: tuple[Any, str] | None, nouns: list[str], param: str | None
    ) -> _Item | None:
        """The single resource in a response or request body, with or without a wrapper."""
        if found is None:
            return None
        best: _Item | None = None
        for node, at in self.schemas.branches(*found):
            item = self._item_in(node, at, nouns, param)
            if item is not None and (best is None or self.id_like(item.props, param)):
                best = item
                if self.id_like(item.props, param):
                    break
        return best

    def _item_in(self, node: Any, at: str, nouns: list[str], param: str | None) -> _Item | None:
        schemas = self.schemas
        if schemas.kind(node, at) != "object":
            return None
        props = schemas.properties(node, at)
        if not props:
            return None
        if self.id_like(props, param):
            unwrapped, unwrapped_at = schemas.unwrap(node, at)
            return _Item(None, at, unwrapped, unwrapped_at, props)
        objects = [
            (name, prop, prop_at)
            for name, (prop, prop_at) in props.items()
            if schemas.kind(prop, prop_at) == "object"
        ]
        chosen = [o for o in objects if _matches_noun(o[0], nouns)]
        if not chosen:
            chosen = [o for o in objects if _matches_noun(o[0], nouns, suffix=True)]
        if not chosen and len(objects) == 1:
            chosen = objects
        if len(chosen) == 1:
            name, prop, prop_at = chosen[0]
            inner, inner_at = schemas.unwrap(prop, prop_at)
            inner_props = schemas.properties(inner, inner_at)
            if inner_props:
                return _Item(name, at, inner, inner_at, inner_props)
        unwrapped, unwrapped_at = schemas.unwrap(node, at)
        return _Item(None, at, unwrapped, unwrapped_at, props)

    def request_key(self, op: Operation, nouns: list[str]) -> str | None:
        """The wrapper key of a body like ``{"post": {...}}``, when it has exactly that."""
        found = self.body(op)
        if not isinstance(found, tuple):
            return None
        node, at = self.schemas.resolve(*found)
        props = self.schemas.properties(node, at)
        if len(props) != 1:
            return None
        name, (prop, prop_at) = next(iter(props.items()))
        if self.schemas.kind(prop, prop_at) == "object" and _matches_noun(name, nouns):
            return name
        return None

    def bulk_body(self, op: Operation) -> bool:
        """A body whose only content is an array (``{"items": [...]}``): not one resource."""
        found = self.body(op)
        if found is False:
            return True
        if not isinstance(found, tuple):
            return False
        node, at = self.schemas.resolve(*found)
        if self.schemas.kind(node, at) == "array":
            return True
        props = self.schemas.properties(node, at)
        if len(props) != 1:
            return False
        prop, prop_at = next(iter(props.values()))
        return self.schemas.kind(prop, prop_at) == "array"

    # -- collections and items ---------------------------------------------------------

    def enum_dispatch(self) -> dict[Shape, tuple[Operation, str, str]]:
        """``GET /api/{endpoint}`` whose enum names collections: shape -> (op, param, value)."""
        result: dict[Shape, tuple[Operation, str, str]] = {}
        for shape, methods in self.at.items():
            op = methods.get("GET")
            if op is None or not shape or shape[-1] is not None:
                continue
            param_name = self.paths[op.operation_id].params[-1]
            spec = next(
                (p for p in op.parameters if p.location == "path" and p.name == param_name), None
            )
            if spec is None:
                continue
            schema, _ = self.schemas.resolve(spec.schema, spec.pointer)
            values = schema.get("enum") if isinstance(schema, dict) else None
            if not isinstance(values, list):
                continue
            for value in values:
                if not isinstance(value, str) or not value or "/" in value:
                    continue
                concrete = (*shape[:-1], value)
                if (*concrete, None) in self.item_shapes and "GET" not in self.at.get(concrete, {}):
                    result[concrete] = (op, param_name, value)
        return result

    def nouns_for(self, base: Shape) -> list[str]:
        """Names the resource may go by, to recognize its envelope keys: the path's noun."""
        literals = [t for t in base if t is not None]
        return [literals[-1]] if literals else []

    def collection(
        self, base: Shape, dispatch: Mapping[Shape, tuple[Operation, str, str]]
    ) -> _Draft | None:
        item_shape: Shape = (*base, None)
        has_item = item_shape in self.item_shapes or (*item_shape, "json") in self.at
        roles: dict[str, Operation] = {}
        selectors: dict[str, dict[str, str]] = {}
        list_op = self.free(base, "GET") or self.free((*base, "json"), "GET")
        if list_op is None and base in dispatch:
            shared, param, value = dispatch[base]
            if shared.operation_id not in self.reserved:  # one operation lists them all
                list_op = shared
                selectors["list"] = {param: value}
        create_op = self.free(base, "POST") or self.free((*base, "create"), "POST")
        if list_op is None and create_op is None:
            return self.item_only(item_shape) if has_item else None
        if has_item:
            get_op = self.free(item_shape, "GET") or self.free((*item_shape, "json"), "GET")
            for role, op in (
                ("get", get_op),
                ("replace", self.free(item_shape, "PUT")),
                ("update", self.free(item_shape, "PATCH")),
                ("delete", self.free(item_shape, "DELETE")),
            ):
                if op is not None:
                    roles[role] = op
        if list_op is not None:
            roles["list"] = list_op
        if create_op is not None:
            roles["create"] = create_op
        draft = _Draft("collection", base, item_shape if has_item else None, roles, selectors)
        return draft if self.settle(draft) else None

    def item_only(self, item_shape: Shape) -> _Draft | None:
        roles: dict[str, Operation] = {}
        for role, method in (("get", "GET"), ("replace", "PUT"), ("update", "PATCH")):
            op = self.free(item_shape, method)
            if op is not None:
                roles[role] = op
        delete = self.free(item_shape, "DELETE")
        if delete is not None:
            roles["delete"] = delete
        if "get" not in roles:
            return None
        draft = _Draft("item", item_shape[:-1], item_shape, roles)
        return draft if self.settle(draft) else None

    def item_param(self, draft: _Draft) -> str | None:
        for role in _ITEM_ROLES:
            op = draft.roles.get(role)
            if op is not None:
                params = self.paths[op.operation_id].params
                if draft.item_shape is not None:
                    return params[len([t for t in draft.item_shape if t is None]) - 1]
        return None

    def settle(self, draft: _Draft, forced: Mapping[str, Any] | None = None) -> bool:
        """Check a draft's roles against its schemas; find its key and envelopes.

        Drops the roles the schemas do not support and answers whether what is left is a
        family: it needs a key field in the item and a way to read what it stores (a get,
        or a list next to a create).
        """
        forced = forced or {}
        roles = draft.roles
        param = forced.get("id_param") or self.item_param(draft)
        nouns = self.nouns_for(draft.base)
        strict = draft.kind == "item" and not draft.overridden
        envelopes: dict[str, Envelope] = {}
        items: dict[str, _Item] = {}

        list_op = roles.get("list")
        if list_op is not None:
            list_item = self.forced_item(list_op, forced.get("list_key"), as_list=True)
            if list_item is None and not forced.get("list_key"):
                list_item = self.list_item(list_op, nouns)
            if list_item is None or not list_item.props:
                if not draft.overridden:
                    del roles["list"]
                    draft.selectors.pop("list", None)
            else:
                items["list"] = list_item
                envelopes["list"] = list_item.envelope()
                if list_item.key:
                    nouns.append(list_item.key)

        for role in ("get", *_WRITE_ROLES):
            op = roles.get(role)
            if op is None:
                continue
            found = self.forced_item(op, forced.get("item_key"), False, required=role == "get")
            if found is None and not forced.get("item_key"):
                found = self.item_in(self.response(op), nouns, param)
            if found is not None:
                items[role] = found
            if role == "get" and found is None and not draft.overridden:
                del roles["get"]

        canonical = next((items[r] for r in ("get", "list", "create") if r in items), None)
        if canonical is None:
            canonical = next((items[r] for r in _WRITE_ROLES if r in items), None)
        id_field = forced.get("id_field")
        if canonical is not None and not id_field:
            id_field = self.find_id(canonical.props, param, nouns, strict)
        if not id_field:
            return False
        draft.id_field = id_field
        if canonical is not None and id_field in canonical.props:
            prop, prop_at = canonical.props[id_field]
            _, draft.id_pointer = self.schemas.unwrap(prop, prop_at)
            draft.id_type = self.schemas.type_label(prop, prop_at)

        for role, item in items.items():
            if role == "list" or id_field in item.props:
                envelopes[role] = item.envelope()
                if item.key:
                    nouns.append(item.key)
        if not draft.overridden:
            self.check_writes(draft, envelopes, id_field)
        if not draft.overridden and not ("get" in roles or ("list" in roles and "create" in roles)):
            return False
        for role in _WRITE_ROLES:
            op = roles.get(role)
            if op is None:
                continue
            key = forced.get("request_key") or self.request_key(op, nouns)
            if key:
                draft.request_keys[role] = key
        draft.envelopes = {r: e for r, e in envelopes.items() if r in roles}
        return True

    def check_writes(self, draft: _Draft, envelopes: Mapping[str, Envelope], id_field: str) -> None:
        """Keep only writes that carry one resource the family can find again."""
        roles = draft.roles
        create = roles.get("create")
        if create is not None:
            ok = not self.bulk_body(create)
            if ok and "create" not in envelopes:
                # No item in the answer: only a body naming its own key is a create.
                body = self.body(create)
                ok = (
                    not self.has_content(create)
                    and isinstance(body, tuple)
                    and id_field in self.schemas.properties(*self.schemas.resolve(*body))
                )
            if not ok:
                del roles["create"]
        for role in ("replace", "update"):
            op = roles.get(role)
            if op is None:
                continue
            body = self.body(op)
            unreadable = body is None and role not in envelopes and "get" not in roles
            if body is False or self.bulk_body(op) or unreadable:
                del roles[role]

    def forced_item(
        self, op: Operation, key: Any, as_list: bool, required: bool = True
    ) -> _Item | None:
        """The item at an explicitly named envelope key (profile override).

        Writes may answer without it (``{"success": "OK"}``); a list or get must have it.
        """
        if not isinstance(key, str) or not key:
            return None
        found = self.response(op)
        if found is None:
            return None
        node, at = self.schemas.resolve(*found)
        props = self.schemas.properties(node, at)
        if key not in props:
            if not required:
                return None
            raise OverrideError(
                f"{op.operation_id}: the response has no property {key!r} to use as envelope"
            )
        prop, prop_at = self.schemas.resolve(*props[key])
        if as_list:
            return self._array_item(key, at, prop, prop_at)
        inner, inner_at = self.schemas.unwrap(prop, prop_at)
        return _Item(key, at, inner, inner_at, self.schemas.properties(inner, inner_at))

    # -- singletons --------------------------------------------------------------------

    def singleton(self, shape: Shape, family_items: set[Shape]) -> _Draft | None:
        """One object at a path: readable, and written back in the shape it is read."""
        if not shape or shape[-1] is None or (*shape, None) in self.item_shapes:
            return None
        if (*shape[:-1], None) in family_items:
            return None  # a literal next to an item (``/projects/default``): an alias
        get = self.free(shape, "GET")
        if get is None or get.success_status() != "200":
            return None
        nouns = [shape[-1]]
        found = self.response(get)
        if found is None:
            return None
        item = self._singleton_item(found, nouns)
        if item is None or self._list_in(*self.schemas.resolve(*found), nouns) is not None:
            return None  # a list held in one place is not written back as a whole
        roles: dict[str, Operation] = {"get": get}
        envelopes = {"get": item.envelope()}
        request_keys: dict[str, str] = {}
        for role, method in (("replace", "PUT"), ("update", "PATCH"), ("create", "POST")):
            op = self.free(shape, method)
            if op is None or self.body(op) is False:
                continue
            written = self._singleton_write(op, item, nouns)
            if written is None:
                continue
            roles[role] = op
            if written.key is not None or written.pointer == item.pointer:
                envelopes[role] = written.envelope()
            key = self.request_key(op, nouns)
            if key and key == item.key:  # the body wraps it as the response does
                request_keys[role] = key
        delete = self.free(shape, "DELETE")
        if delete is not None and "create" in roles:
            roles["delete"] = delete
        if len(roles) == 1:
            # Read-only: only a top-level object named after its path (``/v2/account``
            # answering ``{"account": ...}``); deeper ones (options, state) are views.
            runs = _literal_runs(shape)
            top_level = None not in shape and len(runs) == 1 and len(runs[0]) == 1
            if not (top_level and item.key and _matches_noun(item.key, nouns)):
                return None
        return _Draft(
            "singleton", shape, None, roles, envelopes=envelopes, request_keys=request_keys
        )

    def _singleton_item(self, found: tuple[Any, str], nouns: list[str]) -> _Item | None:
        node, at = self.schemas.resolve(*found)
        if self.schemas.kind(node, at) != "object":
            return None
        props = self.schemas.properties(node, at)
        if not props:
            return None
        if len(props) == 1:
            name, (prop, prop_at) = next(iter(props.items()))
            if _matches_noun(name, nouns) and self.schemas.kind(prop, prop_at) == "object":
                inner, inner_at = self.schemas.unwrap(prop, prop_at)
                inner_props = self.schemas.properties(inner, inner_at)
                if inner_props:
                    return _Item(name, at, inner, inner_at, inner_props)
        unwrapped, unwrapped_at = self.schemas.unwrap(node, at)
        return _Item(None, at, unwrapped, unwrapped_at, props)

    def _singleton_write(self, op: Operation, item: _Item, nouns: list[str]) -> _Item | None:
        """The written object when it is the read one (same schema, or a subset body).

        A body must also be mostly made of the object's fields: ``PUT /customer`` with
        ``{"enableCustomerEncryption": ...}`` answers the customer but does not write it.
        """
        body = self.body(op)
        if isinstance(body, tuple):
            sent = self._singleton_item(body, nouns)
            fields = set(sent.props) if sent is not None else set()
            if fields and len(fields & set(item.props)) * 2 < len(fields):
                return None
        found = self.response(op)
        if found is not None:
            written = self._singleton_item(found, nouns)
            if written is not None and (
                written.pointer == item.pointer or set(written.props) == set(item.props)
            ):
                return written
            return None
        if self.has_content(op) or not isinstance(body, tuple):
            return None
        sent = self._singleton_item(body, nouns)
        if sent is not None and set(sent.props) <= set(item.props):
            return _Item(sent.key, item.schema_pointer, item.node, item.pointer, item.props)
        return None

    # -- actions -----------------------------------------------------------------------

    def actions(self, draft: _Draft) -> None:
        """``POST /x/{id}/<verb>`` (and PUT-only verbs) become ``action:<verb>``."""
        item_shape = draft.item_shape
        if item_shape is None:
            return
        size = len(item_shape)
        for shape, methods in self.at.items():
            if len(shape) <= size or shape[:size] != item_shape:
                continue
            tail = shape[size:]
            if any(token is None for token in tail):
                continue
            verb = "/".join(t for t in tail if t is not None)
            op = methods.get("POST")
            if op is None and set(methods) == {"PUT"}:
                op = methods["PUT"]
            if op is None or op.operation_id in self.claimed:
                continue
            role = f"action:{verb}"
            if role not in draft.roles:
                draft.roles[role] = op
                self.claimed.add(op.operation_id)

    # -- the whole document ------------------------------------------------------------

    def run(self) -> tuple[list[Family], list[str]]:
        """Collections first, then items without one, then singletons; overrides; actions."""
        overrides = self.overrides
        listed = overrides.get("unmapped") or ()
        if isinstance(listed, str) or not isinstance(listed, Iterable):
            raise OverrideError("resources: 'unmapped' must be a list of operationIds")
        forced_unmapped = {self.require(op_id) for op_id in listed}
        override_families: Mapping[str, Any] = overrides.get("families") or {}
        for spec in override_families.values():
            if not isinstance(spec, Mapping):
                continue
            for role, op_id in spec.items():
                if _is_role(role) and op_id is not None:
                    self.reserved.add(self.require(op_id))
        self.reserved |= forced_unmapped
        self.claimed |= self.reserved

        dispatch = self.enum_dispatch()
        bases: dict[Shape, None] = {}  # in document order
        for op in self.operations:
            parsed = self.paths[op.operation_id]
            if parsed.opaque:
                continue
            shape = parsed.shape
            candidates = []
            if shape and (shape[-1] is None or shape[-1] in ("json", "create")):
                candidates.append(shape[:-1])  # the parent of an item, or of an RPC path
            if op.method in ("GET", "POST"):
                candidates.append(shape)
            for candidate in candidates:
                if candidate and candidate[-1] is not None:
                    bases.setdefault(candidate)
        for shape in dispatch:
            bases.setdefault(shape)

        drafts: list[_Draft] = []
        for base in bases:
            draft = self.collection(base, dispatch)
            if draft is not None:
                drafts.append(draft)
                self.claim(draft)
        for op in self.operations:
            shape = self.paths[op.operation_id].shape
            if self.paths[op.operation_id].opaque or shape not in self.item_shapes:
                continue
            if any(d.item_shape == shape for d in drafts):
                continue
            draft = self.item_only(shape)
            if draft is not None:
                drafts.append(draft)
                self.claim(draft)
        family_items = {d.item_shape for d in drafts if d.item_shape is not None}
        for op in self.operations:
            parsed = self.paths[op.operation_id]
            if parsed.opaque or op.method != "GET":
                continue
            draft = self.singleton(parsed.shape, family_items)
            if draft is not None:
                drafts.append(draft)
                self.claim(draft)

        self.describe(drafts)
        drafts = self.apply_overrides(drafts, override_families)
        for draft in drafts:
            self.actions(draft)
        families = [self.finish(d) for d in drafts]
        mapped = {op_id for family in families for op_id in family.operations.values()}
        unmapped = [op.operation_id for op in self.operations if op.operation_id not in mapped]
        return families, unmapped

    def require(self, op_id: Any) -> str:
        if not isinstance(op_id, str) or op_id not in self.by_id:
            raise OverrideError(f"resources: unknown operationId {op_id!r}")
        return op_id

    def claim(self, draft: _Draft) -> None:
        for op in draft.roles.values():
            self.claimed.add(op.operation_id)

    def describe(self, drafts: list[_Draft]) -> None:
        """Paths, parameters, parents and stable names, in document order."""
        by_item = {d.item_shape: d for d in drafts if d.item_shape is not None}
        taken: set[str] = set()
        # Parents have fewer parameters than their children: name them first.
        for draft in sorted(drafts, key=lambda d: d.base.count(None)):
            self.locate(draft)
            base = draft.base
            parent = self.parent_of(draft, by_item)
            draft.parent = parent
            if parent is not None:
                own = _literal_runs(base[len(parent.item_shape or ()) :])
                name = f"{parent.name}.{_run_name(own[-1]) if own else 'item'}"
            else:
                name = self.base_name(base)
            draft.name = _unique(name, taken)
            taken.add(draft.name)

    @staticmethod
    def parent_of(draft: _Draft, by_item: Mapping[Shape, _Draft]) -> _Draft | None:
        """The family whose item path the draft's collection (or singleton) extends."""
        if None not in draft.base:
            return None
        last_param = max(i for i, t in enumerate(draft.base) if t is None)
        parent = by_item.get(draft.base[: last_param + 1])
        return parent if parent is not draft else None

    def base_name(self, base: Shape) -> str:
        runs = _literal_runs(base)
        return ".".join(_run_name(run) for run in runs) if runs else "root"

    def locate(self, draft: _Draft) -> None:
        """Collection/item templates and parameter names as the document writes them."""
        params_of_base = draft.base.count(None)
        base_names: tuple[str, ...] = ()
        item_names: tuple[str, ...] = ()
        for role in ("list", "create"):
            op = draft.roles.get(role)
            if op is not None and role not in draft.selectors:
                base_names = self.paths[op.operation_id].params
                break
        item_op = next((draft.roles[r] for r in _ITEM_ROLES if r in draft.roles), None)
        if item_op is not None:
            item_names = self.paths[item_op.operation_id].params
            if not base_names and (draft.item_shape is not None or draft.kind == "singleton"):
                base_names = item_names  # the item path starts with the collection's
        draft.parent_params = tuple(base_names[:params_of_base])
        if draft.kind == "singleton":
            draft.collection_path = self.template(draft, draft.base, _ITEM_ROLES) or _render(
                draft.base, item_names
            )
            return
        if draft.item_shape is not None:
            position = draft.item_shape.count(None) - 1
            draft.id_param = item_names[position] if len(item_names) > position else None
            draft.item_path = self.template(draft, draft.item_shape, _ITEM_ROLES) or _render(
                draft.item_shape, item_names
            )
        draft.collection_path = None
        for role in ("list", "create"):
            op = draft.roles.get(role)
            if op is None:
                continue
            shape = self.paths[op.operation_id].shape
            if shape == draft.base:
                draft.collection_path = op.path
                break
            if role in draft.selectors or shape[:-1] == draft.base:  # /x/json, /x/create
                draft.collection_path = _render(draft.base, base_names)
            elif draft.collection_path is None:
                draft.collection_path = op.path  # named by an override, elsewhere

    def template(self, draft: _Draft, shape: Shape, roles: Iterable[str]) -> str | None:
        """The path as written by the first of ``roles`` whose operation sits at ``shape``."""
        for role in roles:
            op = draft.roles.get(role)
            if (
                op is not None
                and role not in draft.selectors
                and self.paths[op.operation_id].shape == shape
            ):
                return op.path
        return None

    def apply_overrides(self, drafts: list[_Draft], specs: Mapping[str, Any]) -> list[_Draft]:
        by_name = {d.name: d for d in drafts}
        for name, spec in specs.items():
            if spec is None:
                dropped = by_name.pop(str(name), None)
                if dropped is not None:
                    drafts.remove(dropped)
                continue
            if not isinstance(spec, Mapping):
                raise OverrideError(f"resources: family {name!r} must be a mapping or null")
            unknown = [
                k
                for k in spec
                if not _is_role(k) and k not in _OVERRIDE_FIELDS and k not in _ANNOTATIONS
            ]
            if unknown:
                raise OverrideError(f"resources: family {name!r}: unknown keys {unknown}")
            id_kind = _id_kind(str(name), spec.get("id"))
            required = _required(str(name), spec.get("required"))
            draft = by_name.get(str(name))
            if draft is not None and all(k in _ANNOTATIONS for k in spec):
                # only annotations: the inferred family stays as inferred
                draft.id_kind, draft.required = id_kind, required
                continue
            if draft is None:
                draft = self.override_draft(str(name), spec)
                drafts.append(draft)
                by_name[draft.name] = draft
                items = {d.item_shape: d for d in drafts if d.item_shape is not None}
                draft.parent = self.parent_of(draft, items)
            elif draft.item_shape is None and draft.kind != "singleton":
                draft.item_shape = self.override_item_shape(spec)
            for role, op_id in spec.items():
                if not _is_role(role):
                    continue
                if op_id is None:
                    draft.roles.pop(role, None)
                else:
                    draft.roles[role] = self.by_id[op_id]
                    draft.selectors.pop(role, None)
            draft.overridden = True
            if draft.kind == "singleton":
                self.settle_singleton(str(name), draft, spec)
            elif not self.settle(draft, spec) and not draft.id_field:
                raise OverrideError(
                    f"resources: family {name!r}: no key field found in its item schema; "
                    "name it with id_field"
                )
            self.locate(draft)
            for key in ("collection_path", "item_path", "id_param"):
                if isinstance(spec.get(key), str):
                    setattr(draft, key, spec[key])
            if isinstance(spec.get("parent_family"), str):
                draft.parent = by_name.get(spec["parent_family"])
            draft.id_kind, draft.required = id_kind, required
            self.claim(draft)
        return drafts

    def settle_singleton(self, name: str, draft: _Draft, spec: Mapping[str, Any]) -> None:
        """Envelopes of a singleton named or changed by an override."""
        get = draft.roles.get("get")
        nouns = self.nouns_for(draft.base)
        forced_key = spec.get("item_key")
        found = self.response(get) if get is not None else None
        if found is None:
            raise OverrideError(f"resources: singleton {name!r} needs a get with a JSON answer")
        draft.envelopes = {}
        draft.request_keys = {}
        for role, op in draft.roles.items():
            item = self.forced_item(op, forced_key, as_list=False, required=role == "get")
            if item is None and not forced_key:
                answer = self.response(op)
                item = self._singleton_item(answer, nouns) if answer is not None else None
            if item is not None:
                draft.envelopes[role] = item.envelope()
            if role in _WRITE_ROLES:
                key = spec.get("request_key") or self.request_key(op, nouns)
                if key and key == (item.key if item is not None else None):
                    draft.request_keys[role] = key

    def override_item_shape(self, spec: Mapping[str, Any]) -> Shape | None:
        """The item shape an override's item operations address.

        A path ending in the parameter wins (``/categories/{id}.json`` over
        ``/c/{id}/show.json``); otherwise the first path up to its last parameter.
        """
        shapes = [
            self.paths[op_id].shape
            for op_id in (spec.get(role) for role in _ITEM_ROLES)
            if isinstance(op_id, str) and op_id in self.by_id
        ]
        for shape in shapes:
            if shape and shape[-1] is None:
                return shape
        for shape in shapes:
            if None in shape:
                last = max(i for i, t in enumerate(shape) if t is None)
                return shape[: last + 1]
        return None

    def override_draft(self, name: str, spec: Mapping[str, Any]) -> _Draft:
        """A family named only by its operations: shapes derived from their paths."""
        if spec.get("singleton"):
            get = spec.get("get")
            if not isinstance(get, str):
                raise OverrideError(f"resources: singleton {name!r} needs a get operation")
            draft = _Draft("singleton", self.paths[get].shape, None, {})
            draft.name = name
            return draft
        item_shape = self.override_item_shape(spec)
        base: Shape | None = None
        if item_shape is not None:
            base = item_shape[:-1]
        else:
            for role in ("list", "create"):
                op_id = spec.get(role)
                if isinstance(op_id, str) and op_id in self.by_id:
                    shape = self.paths[op_id].shape
                    base = shape[:-1] if shape and shape[-1] in ("json", "create") else shape
                    break
        if base is None:
            raise OverrideError(f"resources: family {name!r} names no operation")
        draft = _Draft("collection", base, item_shape, {})
        draft.name = name
        return draft

    def finish(self, draft: _Draft) -> Family:
        roles = draft.roles
        order = [r for r in CRUD_ROLES if r in roles] + sorted(
            r for r in roles if r not in CRUD_ROLES
        )
        envelopes = draft.envelopes
        item_envelope = next(
            (envelopes[r] for r in ("get", "create", "replace", "update") if r in envelopes),
            None,
        )
        request_keys = dict(draft.request_keys)
        distinct = set(request_keys.values())
        id_params: dict[str, str] = {}
        if draft.item_shape is not None and draft.id_param:
            position = draft.item_shape.count(None) - 1
            for role, op in roles.items():
                params = self.paths[op.operation_id].params
                if role in ("list", "create") or len(params) <= position:
                    continue
                if params[position] != draft.id_param:
                    id_params[role] = params[position]
        return Family(
            name=draft.name,
            collection_path=draft.collection_path,
            item_path=draft.item_path,
            id_param=draft.id_param,
            id_field=draft.id_field,
            id_schema_pointer=draft.id_pointer,
            parent_params=draft.parent_params,
            parent_family=draft.parent.name if draft.parent is not None else None,
            singleton=draft.kind == "singleton",
            operations={r: roles[r].operation_id for r in order},
            list_envelope=envelopes.get("list"),
            item_envelope=item_envelope,
            request_envelope_key=distinct.pop() if len(distinct) == 1 else None,
            id_type=draft.id_type,
            envelopes=dict(envelopes),
            request_keys=request_keys,
            routes={r: (roles[r].method, roles[r].path) for r in order},
            selectors={r: dict(v) for r, v in draft.selectors.items() if r in roles},
            id_params=id_params,
            id_kind=draft.id_kind,
            required=draft.required,
        )


def _id_kind(name: str, spec: Any) -> str | None:
    """``{"kind": "integer"}`` -> "integer"; None when the family declares no id."""
    if spec is None:
        return None
    where = f"resources.families.{name}.id"
    if not isinstance(spec, Mapping):
        raise OverrideError(f'{where} must be a mapping such as {{"kind": "integer"}}')
    unknown = sorted(str(k) for k in spec if k != "kind")
    if unknown:
        raise OverrideError(f"{where}: unknown keys {unknown}")
    kind = spec.get("kind")
    if kind not in ID_KINDS:
        raise OverrideError(f"{where}.kind: {kind!r} is not one of {', '.join(ID_KINDS)}")
    return str(kind)


def _required(name: str, spec: Any) -> tuple[Required, ...]:
    """``["doctor", {"field": "patient", "unless": "appt_is_break"}]`` as Required."""
    if spec is None:
        return ()
    where = f"resources.families.{name}.required"
    if isinstance(spec, str) or not isinstance(spec, list):
        raise OverrideError(f"{where} must be a list of field names")
    found: list[Required] = []
    for entry in spec:
        if isinstance(entry, str) and entry:
            found.append(Required(entry))
        elif (
            isinstance(entry, Mapping)
            and set(entry) <= {"field", "unless"}
            and isinstance(entry.get("field"), str)
            and entry["field"]
            and isinstance(entry.get("unless", ""), str)
        ):
            found.append(Required(entry["field"], entry.get("unless") or None))
        else:
            raise OverrideError(
                f'{where}: {entry!r} is neither a field name nor {{"field": NAME, "unless": NAME}}'
            )
    return tuple(found)


def _is_role(key: str) -> bool:
    return key in CRUD_ROLES or (key.startswith("action:") and len(key) > 7)


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    n = 2
    while f"{name}_{n}" in taken:
        n += 1
    return f"{name}_{n}"


def infer_families(
    doc: SpecDocument,
    operations: list[Operation],
    overrides: Mapping[str, Any] | None = None,
) -> tuple[list[Family], list[str]]:
    """The resource families of a document, and the operationIds left out of all of them.

    ``overrides`` is a profile's ``resources`` mapping: ``{"families": {name: {role:
    operationId, "id_field": ..., "id": {"kind": ...}, "required": [...], ...} | null},
    "unmapped": [operationId, ...]}``. A named family is merged into the inferred one of
    that name (or built from its operations; ``id`` and ``required`` alone only annotate it);
    ``null`` drops an inferred family; ``unmapped`` keeps operations out of every family.
    Raises :class:`OverrideError` when an override names something the document lacks.
    """
    return _Inference(doc, operations, overrides or {}).run()
