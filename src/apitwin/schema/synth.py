"""Synthesize plausible values that validate against OpenAPI schemas.

A twin answers with a synthesized body when an operation documents no usable example.
The hard requirement is validity: every value must pass the schema it was made from (a
conformance checker validates each response body), so every generator here checks its
own output against the schema and falls back to safer values before giving up with a
warning on the document. Plausibility comes second: property names, formats and the
schema's own examples steer the choice among valid values.

Values are deterministic: the random source of a call is derived from the seed, the
schema pointer and the name hint with blake2b (Python's ``hash`` is salted per process),
so a twin gives the same body for the same operation on every start.
"""

from __future__ import annotations

import base64
import math
import random
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from hashlib import blake2b
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING, Any, Literal

import orjson

from apitwin.schema.formats import INTEGER_RANGES
from apitwin.spec.document import SpecDocument, SpecError, join_pointer

if TYPE_CHECKING:
    from faker import Faker

__all__ = ["Synthesizer"]

Direction = Literal["request", "response"]
Part = tuple[Any, str]  # a schema node and the JSON pointer where it lives

# Bodies stay small: optional properties per object, nesting before only required
# properties are filled, and generated nodes per call before everything turns minimal.
MAX_OPTIONAL = 12
MAX_DEPTH = 6
HARD_DEPTH = 48
NODE_BUDGET = 600

_TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")
_INT_FORMATS = INTEGER_RANGES
_NUMERIC_FORMATS = {*_INT_FORMATS, "float", "double", "decimal"}
_MISSING: Any = object()


def _seed_of(seed: int, pointer: str, name: str | None) -> int:
    """A process-independent seed for one call."""
    key = f"{seed}\0{pointer}\0{name or ''}".encode()
    return int.from_bytes(blake2b(key, digest_size=8).digest(), "big")


def _canon(value: Any) -> bytes:
    """A key under which equal JSON values compare equal (for enums and uniqueItems)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return repr(value).encode()


def _json_type(value: Any) -> str:
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
    if isinstance(value, dict):
        return "object"
    return "unknown"


def _is_type(value: Any, type_name: str) -> bool:
    kind = _json_type(value)
    if type_name == "number":
        return kind in ("integer", "number")
    if type_name == "integer":
        return kind == "integer" or (kind == "number" and float(value).is_integer())
    return kind == type_name


def _is_multiple(value: float, factor: float) -> bool:
    """Decimal arithmetic, so 0.3 counts as a multiple of 0.1 as validators treat it."""
    if factor <= 0:
        return True
    try:
        return Decimal(repr(value)) % Decimal(repr(factor)) == 0
    except (InvalidOperation, ValueError):
        return False


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _tokens(name: str | None) -> list[str]:
    """``createdAt`` / ``created_at`` / ``Created-At`` -> ``["created", "at"]``."""
    return list(_split_name(name)) if name else []


@lru_cache(maxsize=4096)
def _split_name(name: str) -> tuple[str, ...]:
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
    return tuple(t for t in re.split(r"[^a-z0-9]+", snake) if t)


def _is_id_name(tokens: list[str]) -> bool:
    return bool(tokens) and tokens[-1] in ("id", "uuid", "guid", "ids", "uuids")


# ---------------------------------------------------------------------------------------
# Formats


_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TIME_RE = re.compile(r"^(\d{2}):(\d{2}):(\d{2})(\.\d+)?([zZ]|[+-]\d{2}:\d{2})$")
_HOST_LABEL_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$")


def _valid_date(text: str) -> bool:
    match = _DATE_RE.match(text)
    if not match:
        return False
    year, month, day = (int(g) for g in match.groups())
    if not 1 <= month <= 12 or day < 1:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return day <= days


def _valid_time(text: str) -> bool:
    match = _TIME_RE.match(text)
    if not match:
        return False
    hour, minute, second = int(match[1]), int(match[2]), int(match[3])
    return hour < 24 and minute < 60 and second < 61


def _valid_hostname(text: str) -> bool:
    if not text or len(text) > 253:
        return False
    return all(_HOST_LABEL_RE.match(label) for label in text.rstrip(".").split("."))


def _valid_format(text: str, fmt: str) -> bool:
    """Checks for the formats validators assert; unknown formats pass."""
    if fmt == "uuid":
        return bool(_UUID_RE.match(text))
    if fmt == "date-time":
        date, sep, time = text.partition("T") if "T" in text else text.partition("t")
        return bool(sep) and _valid_date(date) and _valid_time(time)
    if fmt == "date":
        return _valid_date(text)
    if fmt == "time":
        return _valid_time(text)
    if fmt in ("email", "idn-email"):
        return bool(_EMAIL_RE.match(text))
    if fmt in ("hostname", "idn-hostname"):
        return _valid_hostname(text)
    if fmt == "ipv4":
        try:
            IPv4Address(text)
        except ValueError:
            return False
        return True
    if fmt == "ipv6":
        try:
            IPv6Address(text)
        except ValueError:
            return False
        return True
    if fmt in ("uri", "url", "iri"):
        return bool(_URI_RE.match(text))
    if fmt == "byte":
        try:
            base64.b64decode(text, validate=True)
        except ValueError:
            return False
        return True
    return True


# ---------------------------------------------------------------------------------------
# Regular expressions
#
# Strings for `pattern` come from a small generator over the ECMA-262 subset seen in real
# documents (classes, escapes, groups, alternation, quantifiers, anchors). The packaged
# generators (rstr's xeger, exrex) both walk the private `sre_parse` tree of Python's own
# engine, whose syntax differs from ECMA in places, and would be one more dependency for
# a few dozen lines; every result is still checked with `re.search` before it is used.


class _RegexUnsupported(Exception):
    """A construct the generator does not produce strings for (backreferences, lookaround)."""


_DIGITS = [(48, 57)]
_WORD = [(48, 57), (65, 90), (95, 95), (97, 122)]
_SPACE = [(32, 32), (9, 10), (13, 13)]
_PRINTABLE = (32, 126)


class _RegexParser:
    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0

    def parse(self) -> tuple[Any, ...]:
        node = self._alt()
        if self.pos < len(self.src):
            raise _RegexUnsupported(f"unbalanced ')' at {self.pos}")
        return node

    def _peek(self) -> str:
        return self.src[self.pos] if self.pos < len(self.src) else ""

    def _alt(self) -> tuple[Any, ...]:
        branches = [self._seq()]
        while self._peek() == "|":
            self.pos += 1
            branches.append(self._seq())
        return ("alt", branches) if len(branches) > 1 else branches[0]

    def _seq(self) -> tuple[Any, ...]:
        items: list[tuple[Any, ...]] = []
        while self.pos < len(self.src) and self._peek() not in "|)":
            items.append(self._quantified(self._atom()))
        return ("seq", items)

    def _quantified(self, atom: tuple[Any, ...]) -> tuple[Any, ...]:
        char = self._peek()
        bounds: tuple[int, int | None] | None = None
        if char == "*":
            bounds, self.pos = (0, None), self.pos + 1
        elif char == "+":
            bounds, self.pos = (1, None), self.pos + 1
        elif char == "?":
            bounds, self.pos = (0, 1), self.pos + 1
        elif char == "{":
            match = re.compile(r"\{(\d+)(,(\d*))?\}").match(self.src, self.pos)
            if match:
                low = int(match[1])
                high = low if match[2] is None else (int(match[3]) if match[3] else None)
                bounds, self.pos = (low, high), match.end()
        if bounds is None:
            return atom
        if self._peek() == "?":  # lazy: same strings
            self.pos += 1
        if atom[0] in ("bol", "eol", "zero"):
            return atom
        return ("rep", atom, bounds[0], bounds[1])

    def _atom(self) -> tuple[Any, ...]:
        char = self.src[self.pos]
        self.pos += 1
        if char == "(":
            if self.src.startswith("?:", self.pos):
                self.pos += 2
            elif self.src.startswith("?<", self.pos) and self.src[
                self.pos + 2 : self.pos + 3
            ] not in (
                "=",
                "!",
            ):
                end = self.src.find(">", self.pos)
                if end < 0:
                    raise _RegexUnsupported("bad group name")
                self.pos = end + 1
            elif self._peek() == "?":
                raise _RegexUnsupported("lookaround")
            node = self._alt()
            if self._peek() != ")":
                raise _RegexUnsupported("missing ')'")
            self.pos += 1
            return node
        if char == "[":
            return self._class()
        if char == ".":
            return ("set", [_PRINTABLE], False)
        if char == "^":
            return ("bol",)
        if char == "$":
            return ("eol",)
        if char == "\\":
            return self._escape(in_class=False)
        return ("set", [(ord(char), ord(char))], False)

    def _escape(self, in_class: bool) -> tuple[Any, ...]:
        if self.pos >= len(self.src):
            raise _RegexUnsupported("trailing backslash")
        char = self.src[self.pos]
        self.pos += 1
        sets = {"d": (_DIGITS, False), "D": (_DIGITS, True), "w": (_WORD, False)}
        sets.update({"W": (_WORD, True), "s": (_SPACE, False), "S": (_SPACE, True)})
        if char in sets:
            ranges, negated = sets[char]
            return ("set", ranges, negated)
        if char == "b" and not in_class or char == "B":
            return ("zero",)
        controls = {"n": 10, "t": 9, "r": 13, "f": 12, "v": 11, "0": 0, "b": 8}
        if char in controls:
            code = controls[char]
            return ("set", [(code, code)], False)
        if char in "xu":
            width = 2 if char == "x" else 4
            digits = self.src[self.pos : self.pos + width]
            if len(digits) == width and all(d in "0123456789abcdefABCDEF" for d in digits):
                self.pos += width
                code = int(digits, 16)
                return ("set", [(code, code)], False)
        if char.isdigit():
            raise _RegexUnsupported("backreference")
        return ("set", [(ord(char), ord(char))], False)

    def _class(self) -> tuple[Any, ...]:
        negated = self._peek() == "^"
        if negated:
            self.pos += 1
        ranges: list[tuple[int, int]] = []
        excluded: list[tuple[int, int]] = []
        first = True
        while True:
            if self.pos >= len(self.src):
                raise _RegexUnsupported("missing ']'")
            char = self.src[self.pos]
            if char == "]" and not first:
                self.pos += 1
                break
            first = False
            low = self._class_atom()
            if isinstance(low, tuple):  # \d, \w, ... inside the class
                (excluded if low[2] else ranges).extend(low[1])
                continue
            if self._peek() == "-" and self.src[self.pos + 1 : self.pos + 2] not in ("]", ""):
                self.pos += 1
                high = self._class_atom()
                if isinstance(high, tuple):
                    ranges.extend([(low, low), (45, 45)])
                    (excluded if high[2] else ranges).extend(high[1])
                    continue
                ranges.append((low, high))
            else:
                ranges.append((low, low))
        if excluded:
            # [\S...] and the like: approximate with printable characters outside them.
            ranges.extend(_complement(excluded))
        return ("set", ranges, negated)

    def _class_atom(self) -> int | tuple[Any, ...]:
        char = self.src[self.pos]
        self.pos += 1
        if char != "\\":
            return ord(char)
        node = self._escape(in_class=True)
        if (
            node[0] == "set"
            and not node[2]
            and len(node[1]) == 1
            and node[1][0][0] == node[1][0][1]
        ):
            return int(node[1][0][0])
        return node


def _complement(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Printable ASCII characters not in ``ranges``."""
    out = []
    for code in range(_PRINTABLE[0], _PRINTABLE[1] + 1):
        if not any(lo <= code <= hi for lo, hi in ranges):
            out.append((code, code))
    return out


@lru_cache(maxsize=256)
def _parse_regex(pattern: str) -> tuple[Any, ...] | None:
    try:
        return _RegexParser(pattern).parse()
    except (_RegexUnsupported, IndexError):
        return None


def _sample_set(ranges: list[tuple[int, int]], negated: bool, rng: random.Random) -> str:
    if negated:
        ranges = _complement(ranges)
    if not ranges:
        return ""
    # Prefer letters and digits where the class has them: plausible, and safe in URLs.
    plain = [r for r in ranges if r[0] >= 48 and r[1] <= 122 and not (r[0] > 57 and r[1] < 65)]
    pool = plain if plain and rng.random() < 0.9 else ranges
    sizes = [hi - lo + 1 for lo, hi in pool]
    low, high = rng.choices(pool, weights=sizes)[0]
    return chr(rng.randint(low, high))


def _emit(node: tuple[Any, ...], rng: random.Random, spread: int) -> str:
    kind = node[0]
    if kind == "seq":
        return "".join(_emit(item, rng, spread) for item in node[1])
    if kind == "alt":
        return _emit(rng.choice(node[1]), rng, spread)
    if kind == "set":
        return _sample_set(node[1], node[2], rng)
    if kind == "rep":
        low, high = node[2], node[3]
        top = low + spread if high is None else min(high, low + spread)
        count = rng.randint(low, max(low, top))
        return "".join(_emit(node[1], rng, spread) for _ in range(count))
    return ""  # anchors and zero-width assertions


def _regex_string(
    patterns: list[str], min_len: int, max_len: int | None, rng: random.Random, seed_text: str = ""
) -> str | None:
    """A string matching every pattern within the length bounds, or None."""
    compiled = [_compile(p) for p in patterns]
    checks = [c for c in compiled if c is not None]

    def fits(text: str) -> bool:
        if len(text) < min_len or (max_len is not None and len(text) > max_len):
            return False
        return all(c.search(text) for c in checks)

    if seed_text and fits(seed_text):
        return seed_text
    trees = [t for t in (_parse_regex(p) for p in patterns) if t is not None]
    for attempt in range(40):
        spread = (2, 4, 8, 16, 32, 64)[min(attempt // 5, 5)]
        if min_len > 8:
            spread = max(spread, min_len)
        for tree in trees:
            text = _emit(tree, rng, spread)
            if fits(text):
                return text
            filler = "a" * max(0, min_len - len(text))
            for candidate in (text + filler, filler + text):
                if filler and fits(candidate):
                    return candidate
    return None


# ---------------------------------------------------------------------------------------
# Merged view of a conjunction of schemas


@dataclass
class _Flat:
    """What a list of schemas (refs followed, allOf merged) requires of a value."""

    parts: list[Part]
    types: list[str] | None = None
    enum: list[Any] | None = None
    formats: list[str] = field(default_factory=list)
    minimum: tuple[float, bool] | None = None  # (bound, exclusive)
    maximum: tuple[float, bool] | None = None
    multiple_of: list[float] = field(default_factory=list)
    min_length: int = 0
    max_length: int | None = None
    patterns: list[str] = field(default_factory=list)
    min_items: int = 0
    max_items: int | None = None
    unique_items: bool = False
    items: list[Part] = field(default_factory=list)
    prefix_items: list[list[Part]] = field(default_factory=list)
    properties: dict[str, list[Part]] = field(default_factory=dict)
    required: list[str] = field(default_factory=list)
    # One entry per schema with additionalProperties: (its own property names, the
    # schema extra keys must match, or None for `false`).
    closed: list[tuple[frozenset[str], Part | None]] = field(default_factory=list)
    open_map: bool = False  # additionalProperties: true/{} spelled out
    min_properties: int = 0
    max_properties: int | None = None
    read_only: bool = False
    write_only: bool = False
    examples: list[Any] = field(default_factory=list)
    defaults: list[Any] = field(default_factory=list)
    one_of: list[list[Part]] = field(default_factory=list)
    any_of: list[list[Part]] = field(default_factory=list)
    not_: list[Part] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    null_ok: bool = False  # null is valid as a whole (nullable type, or a nullable 3.0 $ref)
    unsat: str = ""  # why no value can satisfy it

    def copy(self) -> _Flat:
        clone = _Flat(parts=list(self.parts))
        for name, value in vars(self).items():
            if name == "parts":
                continue
            if isinstance(value, list):
                value = [list(v) if isinstance(v, list) else v for v in value]
            elif isinstance(value, dict):
                value = {k: list(v) for k, v in value.items()}
            setattr(clone, name, value)
        return clone

    def fmt(self) -> str | None:
        return self.formats[0] if self.formats else None


def _intersect_types(old: list[str] | None, new: list[str]) -> list[str]:
    if old is None:
        return new
    out = [t for t in old if t in new]
    if "integer" in old and "number" in new and "integer" not in out:
        out.append("integer")
    if "number" in old and "integer" in new and "integer" not in out:
        out.append("integer")
    return out


def _tighter(
    old: tuple[float, bool] | None, new: tuple[float, bool], lower: bool
) -> tuple[float, bool]:
    if old is None:
        return new
    if new[0] == old[0]:
        return (new[0], new[1] or old[1])
    if lower:
        return new if new[0] > old[0] else old
    return new if new[0] < old[0] else old


def _settle(flat: _Flat) -> None:
    """Spot contradictions that only show once everything is merged."""
    if flat.unsat or flat.enum is None or flat.types is None:
        return
    if not any(_is_type(m, t) for m in flat.enum for t in flat.types):
        flat.unsat = "no enum member has one of the schema's types"


@dataclass
class _Ctx:
    rng: random.Random
    direction: Direction
    stack: dict[str, int] = field(default_factory=dict)
    nodes: int = 0
    faker_seeded: bool = False


class Synthesizer:
    """Makes values for the schemas of one document.

    ``generate`` is deterministic for a given (seed, pointer, name); different seeds give
    different values. Problems it cannot work around (contradictory schemas, unmatchable
    patterns) are reported once each through ``SpecDocument.warn``.
    """

    def __init__(self, doc: SpecDocument, seed: int = 0) -> None:
        self.doc = doc
        self.seed = seed
        self._faker: Faker | None = None
        self._warned: set[tuple[str, str]] = set()
        self._enum_cache: dict[int, tuple[list[Any], frozenset[bytes]]] = {}
        self._flat_cache: dict[tuple[tuple[int, str], ...], tuple[_Flat, list[Part]]] = {}

    # -- public ---------------------------------------------------------------------------

    def generate(
        self,
        schema: Any,
        pointer: str,
        *,
        direction: Direction = "response",
        name: str | None = None,
    ) -> Any:
        """A value valid against ``schema`` (found at ``pointer``); ``name`` hints at content."""
        ctx = _Ctx(rng=random.Random(_seed_of(self.seed, pointer, name)), direction=direction)
        return self._gen([(schema, pointer)], pointer, name, ctx, 0, False, False)

    # -- helpers --------------------------------------------------------------------------

    def _warn(self, pointer: str, message: str) -> None:
        if (pointer, message) not in self._warned:
            self._warned.add((pointer, message))
            self.doc.warn(pointer, message)

    def _fake(self, ctx: _Ctx) -> Faker:
        """Faker, seeded from the call's random source (imported late: it is slow to load)."""
        if self._faker is None:
            from faker import Faker

            self._faker = Faker("en_US")
        if not ctx.faker_seeded:
            self._faker.seed_instance(ctx.rng.getrandbits(64))
            ctx.faker_seeded = True
        return self._faker

    def _resolve(self, node: Any, pointer: str) -> tuple[Any, str] | None:
        try:
            return self.doc.resolve_with_pointer(node, pointer)
        except SpecError as exc:
            self._warn(pointer, f"unresolvable schema reference: {exc.message}")
            return None

    # -- flattening -----------------------------------------------------------------------

    def _flatten(self, parts: list[Part]) -> _Flat:
        key = tuple((id(s), p) for s, p in parts)
        cached = self._flat_cache.get(key)
        if cached is None:
            flat = _Flat(parts=list(parts))
            for schema, pointer in parts:
                self._absorb(flat, schema, pointer, set())
            _settle(flat)
            if len(parts) == 1 and not self.doc.is_31:
                only = parts[0][0]
                # The converter honours `nullable` beside a 3.0 $ref, as writers intend.
                if isinstance(only, dict) and "$ref" in only and only.get("nullable") is True:
                    flat.null_ok = True
            flat.null_ok = flat.null_ok or (flat.types is not None and "null" in flat.types)
            cached = (flat, parts)  # keeps the schemas alive so their ids stay unique
            self._flat_cache[key] = cached
        return cached[0]

    def _absorb(self, flat: _Flat, schema: Any, pointer: str, seen: set[str]) -> None:
        """Merge one schema's constraints into ``flat``."""
        if schema is True or schema is None:
            return
        if schema is False:
            flat.unsat = flat.unsat or "schema is false"
            return
        if not isinstance(schema, dict):
            return
        if isinstance(schema.get("$ref"), str):
            resolved = self._resolve({"$ref": schema["$ref"]}, pointer)
            if resolved is not None:
                target, target_pointer = resolved
                if target_pointer not in flat.refs:
                    flat.refs.append(target_pointer)
                if target_pointer not in seen:
                    self._absorb(flat, target, target_pointer, seen | {target_pointer})
            if not self.doc.is_31:
                return  # OpenAPI 3.0: siblings of $ref are ignored
            schema = {k: v for k, v in schema.items() if k != "$ref"}

        nullable = schema.get("nullable") is True and not self.doc.is_31
        kind = schema.get("type")
        if isinstance(kind, str | list):
            types = [kind] if isinstance(kind, str) else [t for t in kind if isinstance(t, str)]
            types = ["string" if t == "file" else t for t in types]
            if nullable and "null" not in types:
                types.append("null")
            flat.types = _intersect_types(flat.types, types)
            if not flat.types:
                flat.unsat = flat.unsat or "the types of the merged schemas do not overlap"

        if "example" in schema:
            flat.examples.append(schema["example"])
        if isinstance(schema.get("examples"), list) and self.doc.is_31:
            flat.examples.extend(schema["examples"])
        if "default" in schema:
            flat.defaults.append(schema["default"])
        if "const" in schema:
            self._merge_enum(flat, [schema["const"]], nullable=False)
        if isinstance(schema.get("enum"), list):
            self._merge_enum(flat, schema["enum"], nullable=nullable)
        if isinstance(schema.get("format"), str):
            flat.formats.append(schema["format"])
        flat.read_only = flat.read_only or schema.get("readOnly") is True
        flat.write_only = flat.write_only or schema.get("writeOnly") is True

        self._absorb_numbers(flat, schema)
        self._absorb_strings(flat, schema)
        self._absorb_arrays(flat, schema, pointer)
        self._absorb_objects(flat, schema, pointer)

        for keyword, groups in (("oneOf", flat.one_of), ("anyOf", flat.any_of)):
            branches = schema.get(keyword)
            if isinstance(branches, list) and branches:
                groups.append(
                    [(b, join_pointer(pointer, keyword, i)) for i, b in enumerate(branches)]
                )
        if "not" in schema:
            flat.not_.append((schema["not"], join_pointer(pointer, "not")))
        for i, sub in enumerate(schema.get("allOf") or []):
            self._absorb(flat, sub, join_pointer(pointer, "allOf", i), seen)

    @staticmethod
    def _merge_enum(flat: _Flat, values: list[Any], nullable: bool) -> None:
        members = list(values)
        if nullable and None not in members:
            members.append(None)
        if flat.enum is None:
            flat.enum = members
        else:
            keys = {_canon(v) for v in members}
            flat.enum = [v for v in flat.enum if _canon(v) in keys]
        if not flat.enum:
            flat.unsat = flat.unsat or "no enum member satisfies every merged schema"

    @staticmethod
    def _absorb_numbers(flat: _Flat, schema: dict[str, Any]) -> None:
        def number(key: str) -> float | None:
            value = schema.get(key)
            return value if isinstance(value, int | float) and not isinstance(value, bool) else None

        low, high = number("minimum"), number("maximum")
        ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if low is not None:
            flat.minimum = _tighter(flat.minimum, (low, ex_low is True), lower=True)
        if high is not None:
            flat.maximum = _tighter(flat.maximum, (high, ex_high is True), lower=False)
        strict_low, strict_high = number("exclusiveMinimum"), number("exclusiveMaximum")
        if strict_low is not None:
            flat.minimum = _tighter(flat.minimum, (strict_low, True), lower=True)
        if strict_high is not None:
            flat.maximum = _tighter(flat.maximum, (strict_high, True), lower=False)
        factor = number("multipleOf")
        if factor is not None and factor > 0:
            flat.multiple_of.append(factor)

    @staticmethod
    def _absorb_strings(flat: _Flat, schema: dict[str, Any]) -> None:
        if isinstance(schema.get("minLength"), int):
            flat.min_length = max(flat.min_length, schema["minLength"])
        if isinstance(schema.get("maxLength"), int):
            old = flat.max_length
            flat.max_length = schema["maxLength"] if old is None else min(old, schema["maxLength"])
        if isinstance(schema.get("pattern"), str) and schema["pattern"]:
            flat.patterns.append(schema["pattern"])

    def _absorb_arrays(self, flat: _Flat, schema: dict[str, Any], pointer: str) -> None:
        if isinstance(schema.get("minItems"), int):
            flat.min_items = max(flat.min_items, schema["minItems"])
        if isinstance(schema.get("maxItems"), int):
            old = flat.max_items
            flat.max_items = schema["maxItems"] if old is None else min(old, schema["maxItems"])
        if schema.get("uniqueItems") is True:
            flat.unique_items = True
        items = schema.get("items")
        prefix = schema.get("prefixItems")
        if isinstance(items, list):  # the old tuple form
            prefix, items = items, schema.get("additionalItems")
        if isinstance(prefix, list):
            key = "prefixItems" if "prefixItems" in schema else "items"
            for i, sub in enumerate(prefix):
                while len(flat.prefix_items) <= i:
                    flat.prefix_items.append([])
                flat.prefix_items[i].append((sub, join_pointer(pointer, key, i)))
        if isinstance(items, dict | bool) and items is not True:
            if items is False:
                limit = len(prefix) if isinstance(prefix, list) else 0
                old = flat.max_items
                flat.max_items = limit if old is None else min(old, limit)
            else:
                flat.items.append((items, join_pointer(pointer, "items")))

    def _absorb_objects(self, flat: _Flat, schema: dict[str, Any], pointer: str) -> None:
        props = schema.get("properties")
        names: list[str] = []
        if isinstance(props, dict):
            for prop, sub in props.items():
                names.append(prop)
                flat.properties.setdefault(prop, []).append(
                    (sub, join_pointer(pointer, "properties", prop))
                )
        for prop in schema.get("required") or []:
            if isinstance(prop, str) and prop not in flat.required:
                flat.required.append(prop)
        extra = schema.get("additionalProperties", _MISSING)
        if extra is False:
            flat.closed.append((frozenset(names), None))
        elif isinstance(extra, dict) and extra:
            flat.closed.append(
                (frozenset(names), (extra, join_pointer(pointer, "additionalProperties")))
            )
        elif extra is True or extra == {}:
            flat.open_map = True
        if isinstance(schema.get("minProperties"), int):
            flat.min_properties = max(flat.min_properties, schema["minProperties"])
        if isinstance(schema.get("maxProperties"), int):
            old = flat.max_properties
            limit = schema["maxProperties"]
            flat.max_properties = limit if old is None else min(old, limit)

    def _top_refs(self, parts: list[Part], depth: int = 0) -> list[str]:
        """Refs a value of these schemas re-enters at once (through allOf, items, branches)."""
        flat = self._flatten(parts)
        refs = list(flat.refs)
        if depth < 3:
            if flat.items:
                refs.extend(self._top_refs(flat.items, depth + 1))
            for prop in flat.required:
                if prop in flat.properties:
                    refs.extend(self._top_refs(flat.properties[prop], depth + 1))
            for group in flat.one_of + flat.any_of:
                for branch in group:
                    refs.extend(self._top_refs([branch], depth + 1))
        return refs

    def _cyclic(self, parts: list[Part], ctx: _Ctx) -> bool:
        return any(ref in ctx.stack for ref in self._top_refs(parts))

    # -- validation -----------------------------------------------------------------------

    def _enum_keys(self, members: list[Any]) -> frozenset[bytes]:
        """Canonical keys of an enum, computed once per enum list (large enums are common)."""
        hit = self._enum_cache.get(id(members))
        if hit is None:
            hit = self._enum_cache[id(members)] = (members, frozenset(_canon(m) for m in members))
        return hit[1]

    def _check_parts(self, value: Any, parts: list[Part], direction: Direction) -> bool:
        return all(self._check(value, schema, direction, 0) for schema, _ in parts)

    def _check(self, value: Any, schema: Any, direction: Direction, depth: int) -> bool:
        """Whether ``value`` is valid against an OpenAPI schema (refs followed)."""
        if schema is True or schema is None or not isinstance(schema, dict):
            return schema is not False
        if depth > 64:
            return True
        if isinstance(schema.get("$ref"), str):
            resolved = self._resolve({"$ref": schema["$ref"]}, "")
            if not self.doc.is_31:
                if value is None and schema.get("nullable") is True:
                    return True
                return resolved is None or self._check(value, resolved[0], direction, depth + 1)
            if resolved is not None and not self._check(value, resolved[0], direction, depth + 1):
                return False
        return (
            self._check_basic(value, schema)
            and self._check_structure(value, schema, direction, depth)
            and self._check_combinators(value, schema, direction, depth)
        )

    def _check_basic(self, value: Any, schema: dict[str, Any]) -> bool:
        kind = schema.get("type")
        if kind is not None:
            types = (
                [kind] if isinstance(kind, str) else list(kind) if isinstance(kind, list) else []
            )
            if schema.get("nullable") is True and not self.doc.is_31:
                types.append("null")
            types = ["string" if t == "file" else t for t in types]
            if types and not any(_is_type(value, t) for t in types):
                return False
        members = schema.get("enum")
        if isinstance(members, list) and _canon(value) not in self._enum_keys(members):
            return False
        if "const" in schema and _canon(schema["const"]) != _canon(value):
            return False
        if _json_type(value) in ("integer", "number"):
            return self._check_number(value, schema)
        if isinstance(value, str):
            if len(value) < schema.get("minLength", 0):
                return False
            if isinstance(schema.get("maxLength"), int) and len(value) > schema["maxLength"]:
                return False
            pattern = schema.get("pattern")
            if isinstance(pattern, str) and pattern:
                compiled = _compile(pattern)
                if compiled is not None and not compiled.search(value):
                    return False
            fmt = schema.get("format")
            if isinstance(fmt, str) and not _valid_format(value, fmt):
                return False
        return True

    @staticmethod
    def _check_number(value: float, schema: dict[str, Any]) -> bool:
        low, high = schema.get("minimum"), schema.get("maximum")
        ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if isinstance(low, int | float) and (value < low or (ex_low is True and value == low)):
            return False
        if isinstance(high, int | float) and (value > high or (ex_high is True and value == high)):
            return False
        if isinstance(ex_low, int | float) and not isinstance(ex_low, bool) and value <= ex_low:
            return False
        if isinstance(ex_high, int | float) and not isinstance(ex_high, bool) and value >= ex_high:
            return False
        factor = schema.get("multipleOf")
        return not (isinstance(factor, int | float) and not _is_multiple(value, factor))

    def _check_structure(
        self, value: Any, schema: dict[str, Any], direction: Direction, depth: int
    ) -> bool:
        if isinstance(value, list):
            if len(value) < schema.get("minItems", 0):
                return False
            if isinstance(schema.get("maxItems"), int) and len(value) > schema["maxItems"]:
                return False
            if schema.get("uniqueItems") is True and len({_canon(v) for v in value}) < len(value):
                return False
            items, prefix = schema.get("items"), schema.get("prefixItems")
            if isinstance(items, list):
                prefix, items = items, schema.get("additionalItems")
            start = 0
            if isinstance(prefix, list):
                for item, sub in zip(value, prefix, strict=False):
                    if not self._check(item, sub, direction, depth + 1):
                        return False
                start = len(prefix)
            if items is not None and not isinstance(items, list):
                return all(self._check(v, items, direction, depth + 1) for v in value[start:])
            return True
        if not isinstance(value, dict):
            return True
        if len(value) < schema.get("minProperties", 0):
            return False
        if isinstance(schema.get("maxProperties"), int) and len(value) > schema["maxProperties"]:
            return False
        props: dict[str, Any] = schema.get("properties") or {}
        if not isinstance(props, dict):
            props = {}
        for prop in schema.get("required") or []:
            if prop not in value and not self._exempt(props.get(prop), direction):
                return False
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                if not self._check(item, props[key], direction, depth + 1):
                    return False
            elif extra is False or (
                isinstance(extra, dict) and not self._check(item, extra, direction, depth + 1)
            ):
                return False
        return True

    def _exempt(self, schema: Any, direction: Direction) -> bool:
        """A required property that need not appear: readOnly in requests, writeOnly in responses."""
        if schema is None:
            return False
        flat = self._flatten([(schema, "")])
        return flat.read_only if direction == "request" else flat.write_only

    def _check_combinators(
        self, value: Any, schema: dict[str, Any], direction: Direction, depth: int
    ) -> bool:
        for sub in schema.get("allOf") or []:
            if not self._check(value, sub, direction, depth + 1):
                return False
        branches = schema.get("anyOf")
        if (
            isinstance(branches, list)
            and branches
            and not any(self._check(value, b, direction, depth + 1) for b in branches)
        ):
            return False
        branches = schema.get("oneOf")
        if (
            isinstance(branches, list)
            and branches
            and sum(1 for b in branches if self._check(value, b, direction, depth + 1)) != 1
        ):
            return False
        return not ("not" in schema and self._check(value, schema["not"], direction, depth + 1))

    # -- generation -----------------------------------------------------------------------

    def _gen(
        self,
        parts: list[Part],
        pointer: str,
        name: str | None,
        ctx: _Ctx,
        depth: int,
        minimal: bool,
        vary: bool,
    ) -> Any:
        flat = self._flatten(parts)
        if parts:  # warnings name where the schema is written, not the path that led there
            first = parts[0][0]
            bare_ref = isinstance(first, dict) and "$ref" in first and flat.refs
            pointer = flat.refs[0] if bare_ref else parts[0][1]
        return self._gen_flat(flat, pointer, name, ctx, depth, minimal, vary)

    def _gen_flat(
        self,
        flat: _Flat,
        pointer: str,
        name: str | None,
        ctx: _Ctx,
        depth: int,
        minimal: bool,
        vary: bool,
    ) -> Any:
        ctx.nodes += 1
        minimal = minimal or ctx.nodes > NODE_BUDGET or depth >= MAX_DEPTH
        # Where the schemas live, and the refs followed to get there: meeting one again
        # further down means recursion.
        pushed = []
        for ref in flat.refs + [p for _s, p in flat.parts]:
            if ref not in ctx.stack:
                ctx.stack[ref] = depth
                pushed.append(ref)
        try:
            if flat.one_of or flat.any_of:
                return self._gen_choice(flat, pointer, name, ctx, depth, minimal, vary)
            value = self._gen_plain(flat, pointer, name, ctx, depth, minimal, vary)
            for _ in range(6):
                if not any(self._check(value, s, ctx.direction, 0) for s, _p in flat.not_):
                    break
                value = self._gen_plain(flat, pointer, name, ctx, depth, minimal, True)
            else:
                self._warn(pointer, "could not synthesize a value outside the 'not' schema")
            return value
        finally:
            for ref in pushed:
                del ctx.stack[ref]

    def _gen_choice(
        self,
        flat: _Flat,
        pointer: str,
        name: str | None,
        ctx: _Ctx,
        depth: int,
        minimal: bool,
        vary: bool,
    ) -> Any:
        """Pick a oneOf/anyOf branch; for oneOf, make sure no sibling branch matches too."""
        base = flat.copy()
        exclusive = bool(base.one_of)
        group = base.one_of.pop(0) if exclusive else base.any_of.pop(0)
        order = list(range(len(group)))
        start = ctx.rng.randrange(len(order))
        order = order[start:] + order[:start]
        # Branches that re-enter a schema being generated come last, and once bodies must
        # stay small, so do objects and arrays: recursion ends sooner.
        order.sort(
            key=lambda i: (
                self._cyclic([group[i]], ctx),
                minimal and self._pick_type(self._flatten([group[i]])) in ("object", "array"),
            )
        )
        fallback: Any = _MISSING
        for index in order:
            candidate = base.copy()
            candidate.parts.append(group[index])
            self._absorb(candidate, group[index][0], group[index][1], set())
            _settle(candidate)
            if candidate.unsat:
                continue
            for attempt in range(2):
                value = self._gen_flat(
                    candidate, pointer, name, ctx, depth, minimal, vary or attempt > 0
                )
                if fallback is _MISSING:
                    fallback = value
                if not exclusive:
                    return value
                others = [b for i, b in enumerate(group) if i != index]
                value = self._exclude(value, candidate, others, ctx)
                if value is not _MISSING:
                    return value
        kind = "oneOf" if exclusive else "anyOf"
        self._warn(pointer, f"could not synthesize a value matching exactly one {kind} branch")
        return None if fallback is _MISSING else fallback

    def _exclude(self, value: Any, flat: _Flat, others: list[Part], ctx: _Ctx) -> Any:
        """``value`` changed so no branch in ``others`` matches it, or _MISSING."""
        direction = ctx.direction

        def matching() -> list[Part]:
            return [b for b in others if self._check(value, b[0], direction, 0)]

        hits = matching()
        if not hits:
            return value
        if not isinstance(value, dict):
            return _MISSING
        value = dict(value)
        for branch in hits:
            if not self._check(value, branch[0], direction, 0):
                continue
            other = self._flatten([branch])
            if self._break_object(value, flat, other, ctx):
                continue
            return _MISSING
        if matching() or not self._check_parts(value, flat.parts, direction):
            return _MISSING
        return value

    def _break_object(self, value: dict[str, Any], mine: _Flat, other: _Flat, ctx: _Ctx) -> bool:
        """Edit ``value`` (still valid for ``mine``) until it fails ``other``."""
        direction = ctx.direction
        # Drop a property the other branch requires and this one does not.
        for prop in other.required:
            if prop in value and prop not in mine.required and len(value) > mine.min_properties:
                del value[prop]
                return True
        # Add (preferably) or change a property so it breaks the other branch's schema for
        # it; null first, as it reads as "not applicable". Only this property and the
        # property count change, so checking those keeps the value valid for ``mine``; the
        # caller re-checks the whole value.
        if mine.max_properties is not None and len(value) >= mine.max_properties:
            return False
        probes: list[Any] = [None, "x", 0, 1.5, True, {}, []]
        names = sorted(other.properties, key=lambda prop: prop in value)
        for prop in names:
            mine_parts = self._prop_parts(mine, prop)
            if mine_parts is None:
                continue
            other_parts = other.properties[prop]
            for probe in probes:
                if self._check_parts(probe, other_parts, direction):
                    continue
                if self._check_parts(probe, mine_parts, direction):
                    value[prop] = probe
                    return True
        return False

    @staticmethod
    def _prop_parts(flat: _Flat, prop: str) -> list[Part] | None:
        """The schemas a property must match, or None when the object may not have it."""
        parts = list(flat.properties.get(prop, []))
        for names, extra in flat.closed:
            if prop in names:
                continue
            if extra is None:
                return None
            parts.append(extra)
        return parts

    def _pick_type(self, flat: _Flat, name: str | None = None) -> str:
        """The type to generate; a schema that says nothing picks by its examples, and an
        item of an id list (``badge_ids: {items: {}}``, as Discourse leaves them) is a
        record number."""
        if flat.types is not None:
            for kind in flat.types:
                if kind != "null":
                    return kind if kind in _TYPES else "string"
            return "null"
        fmt = flat.fmt()
        if flat.properties or flat.closed or flat.required or flat.min_properties or flat.open_map:
            return "object"
        if flat.items or flat.prefix_items or flat.min_items or flat.max_items is not None:
            return "array"
        if flat.patterns or flat.min_length or flat.max_length is not None:
            return "string"
        if fmt in _INT_FORMATS:
            return "integer"
        if fmt in _NUMERIC_FORMATS or flat.minimum or flat.maximum or flat.multiple_of:
            return "number"
        for sample in flat.examples + flat.defaults:
            kind = _json_type(sample)
            if kind in _TYPES:
                return kind
        tokens = _tokens(name)
        if tokens and tokens[-1] == "ids":
            return "integer"
        return "string"

    def _gen_plain(
        self,
        flat: _Flat,
        pointer: str,
        name: str | None,
        ctx: _Ctx,
        depth: int,
        minimal: bool,
        vary: bool,
    ) -> Any:
        if flat.unsat:
            self._warn(pointer, f"no value can satisfy this schema ({flat.unsat})")
        direction = ctx.direction
        kind = self._pick_type(flat, name)
        if kind not in ("object", "array") or flat.enum is not None:
            fixed = [
                v
                for v in flat.examples + flat.defaults
                if _json_type(v) not in ("object", "array", "null") or flat.enum is not None
            ]
            for sample in fixed[:3]:
                if (not vary or ctx.rng.random() < 0.5) and self._check_parts(
                    sample, flat.parts, direction
                ):
                    return sample
        if flat.enum is not None:
            members = [m for m in flat.enum if m is not None or kind == "null"]
            ctx.rng.shuffle(members)  # a seeded choice, checking only as many as needed
            for member in members:
                if self._check_parts(member, flat.parts, direction):
                    return member
            # A contradiction (e.g. an array schema with the enum of its items): the closest
            # thing to what the API sends is a value of the declared type.
            if not flat.unsat:
                self._warn(pointer, "no enum member is valid against the rest of the schema")
        if kind == "object":
            return self._gen_object(flat, pointer, name, ctx, depth, minimal, vary)
        if kind == "array":
            return self._gen_array(flat, pointer, name, ctx, depth, minimal, vary)
        if kind == "integer":
            return self._gen_integer(flat, pointer, name, ctx)
        if kind == "number":
            return self._gen_number(flat, pointer, name, ctx)
        if kind == "boolean":
            return ctx.rng.random() < 0.5
        if kind == "null":
            return None
        return self._gen_string(flat, pointer, name, ctx)

    # -- objects and arrays ---------------------------------------------------------------

    def _gen_object(
        self,
        flat: _Flat,
        pointer: str,
        name: str | None,
        ctx: _Ctx,
        depth: int,
        minimal: bool,
        vary: bool,
    ) -> dict[str, Any]:
        if depth > HARD_DEPTH:
            self._warn(pointer, "schema recursion too deep; gave an empty object")
            return {}
        direction = ctx.direction
        out: dict[str, Any] = {}
        limit = 0 if minimal else (MAX_OPTIONAL if depth < 3 else MAX_OPTIONAL // 2)
        optional_used = 0
        names = list(flat.properties) + [p for p in flat.required if p not in flat.properties]
        skipped: list[str] = []
        for prop in names:
            parts = self._prop_parts(flat, prop)
            required = prop in flat.required
            if parts is None:
                if required:
                    self._warn(pointer, f"required property {prop!r} is not allowed by the schema")
                continue
            prop_flat = self._flatten(parts) if parts else None
            if prop_flat is not None and (
                (direction == "request" and prop_flat.read_only)
                or (direction == "response" and prop_flat.write_only)
            ):
                continue
            if (
                required
                and prop_flat is not None
                and prop_flat.null_ok
                and self._cyclic(parts, ctx)
            ):
                out[prop] = None  # the smallest value that ends the recursion
                continue
            if not required:
                if prop_flat is not None and prop_flat.unsat:
                    continue  # no valid value exists: leaving it out keeps the body valid
                if optional_used >= limit or (parts and self._cyclic(parts, ctx)):
                    skipped.append(prop)
                    continue
                optional_used += 1
            child = join_pointer(pointer, "properties", prop)
            out[prop] = self._gen(parts, child, prop, ctx, depth + 1, minimal, vary)
        if flat.max_properties is not None and len(out) > flat.max_properties:
            for prop in reversed(list(out)):
                if len(out) <= flat.max_properties:
                    break
                if prop not in flat.required:
                    del out[prop]
        wanted = flat.min_properties
        if not flat.properties and not minimal and (flat.closed or flat.open_map):
            wanted = max(wanted, ctx.rng.randint(1, 2) if any(e for _, e in flat.closed) else 0)
        if flat.max_properties is not None:
            wanted = min(wanted, flat.max_properties)
        for prop in skipped:
            if len(out) >= wanted:
                break
            parts = self._prop_parts(flat, prop) or []
            child = join_pointer(pointer, "properties", prop)
            out[prop] = self._gen(parts, child, prop, ctx, depth + 1, True, vary)
        if len(out) < wanted:
            self._fill_map(out, flat, wanted, pointer, name, ctx, depth, minimal, vary)
        return out

    def _fill_map(
        self,
        out: dict[str, Any],
        flat: _Flat,
        wanted: int,
        pointer: str,
        name: str | None,
        ctx: _Ctx,
        depth: int,
        minimal: bool,
        vary: bool,
    ) -> None:
        """Add free-form keys (additionalProperties) until ``out`` has ``wanted`` entries."""
        extra: list[Part] = []
        for _names, schema in flat.closed:
            if schema is None:
                self._warn(pointer, "minProperties cannot be met without extra properties")
                return
            extra.append(schema)
        child = join_pointer(pointer, "additionalProperties")
        fake = self._fake(ctx)
        attempts = 0
        while len(out) < wanted and attempts < wanted * 5 + 5:
            attempts += 1
            key = fake.word() if attempts < wanted * 3 + 3 else f"key{attempts}"
            if key in out or key in flat.properties:
                continue
            out[key] = self._gen(extra, child, key, ctx, depth + 1, minimal, vary)

    def _gen_array(
        self,
        flat: _Flat,
        pointer: str,
        name: str | None,
        ctx: _Ctx,
        depth: int,
        minimal: bool,
        vary: bool,
    ) -> list[Any]:
        rng = ctx.rng
        low, high = flat.min_items, flat.max_items
        if high is not None and high < low:
            self._warn(pointer, "maxItems is below minItems")
            high = low
        count = low if minimal else max(low, rng.randint(1, 2) if depth < 3 else 1)
        if high is not None:
            count = min(count, high)
        if count > low and flat.items and self._cyclic(flat.items, ctx):
            count = low
        if depth > HARD_DEPTH:
            count = low
        out: list[Any] = []
        seen: set[bytes] = set()
        child = join_pointer(pointer, "items")
        for index in range(count):
            parts = flat.items
            item_pointer = child
            if index < len(flat.prefix_items):
                parts = flat.prefix_items[index]
                item_pointer = join_pointer(pointer, "prefixItems", index)
            for attempt in range(8):
                item = self._gen(
                    parts,
                    item_pointer,
                    name,
                    ctx,
                    depth + 1,
                    minimal,
                    vary or index > 0 or attempt > 0,
                )
                key = _canon(item)
                if not flat.unique_items or key not in seen:
                    break
            else:
                if len(out) >= low:
                    break
                self._warn(pointer, "could not make the array items unique")
            seen.add(key)
            out.append(item)
        return out

    # -- numbers --------------------------------------------------------------------------

    def _bounds(self, flat: _Flat) -> tuple[float | None, bool, float | None, bool]:
        low, low_ex = flat.minimum if flat.minimum else (None, False)
        high, high_ex = flat.maximum if flat.maximum else (None, False)
        return low, low_ex, high, high_ex

    def _gen_integer(self, flat: _Flat, pointer: str, name: str | None, ctx: _Ctx) -> int:
        rng = ctx.rng
        low_f, low_ex, high_f, high_ex = self._bounds(flat)
        low = None if low_f is None else (math.floor(low_f) + 1 if low_ex else math.ceil(low_f))
        high = (
            None if high_f is None else (math.ceil(high_f) - 1 if high_ex else math.floor(high_f))
        )
        for fmt in flat.formats:
            if fmt in _INT_FORMATS:
                fmt_low, fmt_high = _INT_FORMATS[fmt]
                low = fmt_low if low is None else max(low, fmt_low)
                high = fmt_high if high is None else min(high, fmt_high)
        if low is not None and high is not None and low > high:
            self._warn(pointer, "integer bounds leave no value")
            return low
        window = self._window(low, high, _tokens(name))
        factors = flat.multiple_of
        if not factors:
            return rng.randint(*window)
        if all(float(f).is_integer() for f in factors):
            step = 1
            for f in factors:
                step = step * int(f) // math.gcd(step, int(f))
            for lo, hi in (window, (low, high)):
                first = math.ceil((lo if lo is not None else -(10**6) * step) / step)
                last = math.floor((hi if hi is not None else 10**6 * step) / step)
                if first <= last:
                    return rng.randint(first, min(last, first + 50)) * step
        else:
            lo, hi = window
            for candidate in range(lo, min(hi, lo + 5000) + 1):
                if all(_is_multiple(candidate, f) for f in factors):
                    return candidate
        self._warn(pointer, "no integer satisfies the bounds and multipleOf")
        return window[0]

    @staticmethod
    def _window(low: int | None, high: int | None, tokens: list[str]) -> tuple[int, int]:
        """A plausible range inside the bounds, shaped by the property name."""
        hint = (0, 100)
        if _is_id_name(tokens):
            hint = (1, 99999)
        elif "port" in tokens:
            hint = (1024, 65535)
        elif "year" in tokens:
            hint = (1990, 2030)
        elif {"created", "updated", "timestamp", "epoch", "expires"} & set(tokens):
            hint = (1_600_000_000, 1_750_000_000)
        lo = hint[0] if low is None else max(low, hint[0])
        hi = hint[1] if high is None else min(high, hint[1])
        if lo <= hi:
            return lo, hi
        if low is not None and high is not None:
            return low, min(high, low + 100)
        if low is not None:
            return low, low + 100
        assert high is not None
        return high - 100, high

    def _gen_number(self, flat: _Flat, pointer: str, name: str | None, ctx: _Ctx) -> float | int:
        rng = ctx.rng
        low, low_ex, high, high_ex = self._bounds(flat)
        if (
            low is not None
            and high is not None
            and (low > high or (low == high and (low_ex or high_ex)))
        ):
            self._warn(pointer, "number bounds leave no value")
            return low
        lo = 0.0 if low is None else max(low, 0.0)
        hi = 100.0 if high is None else min(high, 100.0)
        if lo > hi:
            lo = low if low is not None else hi - 100
            hi = high if high is not None else lo + 100

        def ok(x: float) -> bool:
            if low is not None and (x < low or (low_ex and x == low)):
                return False
            if high is not None and (x > high or (high_ex and x == high)):
                return False
            return all(_is_multiple(x, f) for f in flat.multiple_of)

        if flat.multiple_of:
            step = max(flat.multiple_of)
            exponent = Decimal(repr(step)).as_tuple().exponent
            digits = -exponent if isinstance(exponent, int) and exponent < 0 else 0
            first, last = math.ceil(lo / step), math.floor(hi / step)
            tries = (
                [rng.randint(first, min(last, first + 200)) for _ in range(10)]
                if first <= last
                else []
            )
            for k in tries + list(range(first, first + 2000)):
                x = round(k * step, digits)
                if ok(x):
                    return int(x) if float(x).is_integer() else x
            self._warn(pointer, "no number satisfies the bounds and multipleOf")
            return lo
        tokens = _tokens(name)
        counting = {"count", "total", "level", "size", "number", "quantity", "page", "index"}
        whole = bool(counting & set(tokens)) or _is_id_name(tokens)
        if _is_id_name(tokens) and lo < 1 <= hi:
            lo = 1.0  # ids are positive
        candidates = [round(rng.uniform(lo, hi), 0 if whole else 2) for _ in range(6)]
        if low is not None and high is not None:
            candidates.append((low + high) / 2)
        for bound, sign in ((low, 1), (high, -1)):
            if bound is not None:
                candidates.extend(bound + sign * d for d in (1, 0.5, 0.01, 0))
        for x in candidates:
            x = int(x) if whole and float(x).is_integer() else x
            if ok(x):
                return x
        self._warn(pointer, "could not pick a number inside the bounds")
        return candidates[0]

    # -- strings --------------------------------------------------------------------------

    def _string_ok(self, text: str, flat: _Flat) -> bool:
        if len(text) < flat.min_length:
            return False
        if flat.max_length is not None and len(text) > flat.max_length:
            return False
        for pattern in flat.patterns:
            compiled = _compile(pattern)
            if compiled is not None and not compiled.search(text):
                return False
        return all(_valid_format(text, fmt) for fmt in flat.formats)

    def _gen_string(self, flat: _Flat, pointer: str, name: str | None, ctx: _Ctx) -> str:
        rng = ctx.rng
        candidates: list[str] = []
        fmt: str | None = None
        for name_of_format in flat.formats:
            formatted = _format_value(name_of_format, rng, self, ctx)
            if formatted is not None:
                fmt = name_of_format
                candidates.append(formatted)
                break
        samples = [s for s in flat.examples if isinstance(s, str)]
        shaped = _mimic(samples[0], rng) if samples else None
        hinted = self._hinted_string(_tokens(name), flat, ctx)
        if shaped is not None:
            candidates.append(shaped)
        if hinted is not None:
            candidates.append(hinted)
        if fmt is None:
            candidates.append(self._fake(ctx).word())
        for text in candidates:
            if self._string_ok(text, flat):
                return text
        if flat.patterns:
            matched = _regex_string(flat.patterns, flat.min_length, flat.max_length, rng)
            if matched is not None and self._string_ok(matched, flat):
                return matched
            if matched is not None:
                self._warn(pointer, "pattern-matching string does not satisfy the format")
                return matched
            self._warn(pointer, f"could not synthesize a string matching {flat.patterns[0]!r}")
        base = candidates[0] if candidates else "value"
        text = _fit_length(base, flat.min_length, flat.max_length, rng)
        if not flat.patterns and not self._string_ok(text, flat):
            self._warn(pointer, "could not synthesize a string satisfying the schema")
        return text

    def _hinted_string(self, tokens: list[str], flat: _Flat, ctx: _Ctx) -> str | None:
        """A plausible string for a property name, or None when the name says nothing."""
        if not tokens:
            return None
        fake = self._fake(ctx)
        rng = ctx.rng
        name = "_".join(tokens)
        last = tokens[-1]
        words = set(tokens)
        if words & {"email", "emails", "mail"}:
            return f"{fake.user_name()}@example.com"
        if _is_id_name(tokens):
            if last in ("uuid", "guid", "uuids"):
                return _uuid(rng)
            return "".join(rng.choice("0123456789abcdef") for _ in range(12))
        if name in ("first_name", "firstname", "given_name"):
            return str(fake.first_name())
        if name in ("last_name", "lastname", "surname", "family_name"):
            return str(fake.last_name())
        if words & {"username", "login", "handle", "nickname"} or name in (
            "user_name",
            "screen_name",
        ):
            return str(fake.user_name())
        pages = name in ("next", "previous", "prev", "next_page", "previous_page")
        if pages or words & {"url", "uri", "href", "link", "website", "homepage", "urls", "links"}:
            return f"https://{fake.domain_name()}/{fake.uri_path()}"
        if words & {"phone", "mobile", "fax", "telephone"}:
            return str(fake.phone_number())
        if name in ("country_code",) or (last == "country" and flat.max_length in (2, 3)):
            return str(fake.country_code())
        if last == "country":
            return str(fake.country())
        if last == "city":
            return str(fake.city())
        if words & {"zip", "zipcode", "postcode", "postal"}:
            return str(fake.postcode())
        if words & {"address", "street"} and not words & {"ip", "mac"}:
            return str(fake.street_address())
        if last in ("at", "timestamp", "datetime") or name in ("created", "updated", "modified"):
            return _date_time(rng)
        if words & {"date", "birthday", "dob", "birthdate"}:
            return _date_time(rng)[:10]
        if "currency" in words:
            return str(fake.currency_code())
        if words & {"price", "amount", "cost"}:
            return f"{rng.uniform(1, 500):.2f}"
        if words & {"ip", "ipv4"}:
            return str(IPv4Address(rng.randint(0x0B000000, 0xDF000000)))
        if words & {"hostname", "host", "domain", "fqdn"}:
            return str(fake.domain_name())
        if "slug" in words:
            return str(fake.slug())
        if last in ("color", "colour"):
            return str(fake.hex_color())
        if words & {"password", "secret", "token"}:
            return "".join(
                rng.choice("abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
                for _ in range(16)
            )
        if last in ("version",):
            return f"{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 30)}"
        if last in ("filename",) or name == "file_name":
            return str(fake.file_name())
        if last == "path":
            return str(fake.file_path())
        if words & {"description", "desc", "summary", "text", "body", "comment", "notes", "note"}:
            return str(fake.sentence())
        if words & {"message", "bio", "details", "reason", "content"}:
            return str(fake.sentence())
        if words & {"title", "subject", "headline", "caption"}:
            return str(fake.sentence(nb_words=4)).rstrip(".")
        if words & {"company", "organization", "organisation"}:
            return str(fake.company())
        if last == "name" and len(tokens) == 1 or name in ("full_name", "display_name", "author"):
            if flat.patterns or flat.max_length is not None and flat.max_length < 12:
                return str(fake.slug())
            return str(fake.name())
        if last == "name":
            if flat.patterns:
                return str(fake.slug())
            if words & {"user", "owner", "contact", "rep", "person", "patient", "doctor", "member"}:
                return str(fake.name())
            return str(fake.catch_phrase())
        return None


# ---------------------------------------------------------------------------------------
# Leaf helpers


def _uuid(rng: random.Random) -> str:
    raw = rng.getrandbits(128)
    raw = (raw & ~(0xF000 << 64)) | (0x4000 << 64)  # version 4
    raw = (raw & ~(0xC000 << 48)) | (0x8000 << 48)  # RFC 4122 variant
    text = f"{raw:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _date_time(rng: random.Random) -> str:
    year, month, day = rng.randint(2019, 2025), rng.randint(1, 12), rng.randint(1, 28)
    hour, minute, second = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z"


def _format_value(fmt: str, rng: random.Random, synth: Synthesizer, ctx: _Ctx) -> str | None:
    """A value of a string format, or None for formats with no particular shape."""
    if fmt == "uuid":
        return _uuid(rng)
    if fmt in ("date-time", "dateTime", "datetime"):
        return _date_time(rng)
    if fmt == "date":
        return _date_time(rng)[:10]
    if fmt == "time":
        return _date_time(rng)[11:]
    if fmt in ("email", "idn-email"):
        return f"{synth._fake(ctx).user_name()}@example.com"
    if fmt in ("uri", "url", "iri", "uri-reference", "iri-reference"):
        fake = synth._fake(ctx)
        return f"https://{fake.domain_name()}/{fake.uri_path()}"
    if fmt in ("hostname", "idn-hostname"):
        return str(synth._fake(ctx).hostname())
    if fmt in ("ipv4", "ip-address", "ip"):
        return str(IPv4Address(rng.randint(0x0B000000, 0xDF000000)))
    if fmt == "ipv6":
        return str(IPv6Address(rng.getrandbits(128) | (0x2001 << 112)))
    if fmt == "cidr":
        return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.0/24"
    if fmt == "byte":
        return base64.b64encode(rng.randbytes(12)).decode()
    if fmt in ("binary", "password"):
        alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        return "".join(rng.choice(alphabet) for _ in range(16))
    if fmt == "duration":
        return f"PT{rng.randint(1, 48)}H"
    if fmt == "json-pointer":
        return "/" + synth._fake(ctx).word()
    return None


def _mimic(sample: str, rng: random.Random) -> str | None:
    """A string shaped like an example: dates redrawn, digits (and hex runs) redrawn."""
    if not sample or len(sample) > 200 or "://" in sample:
        return None  # URLs: redrawn digits would only garble host names
    if re.match(r"\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}:\d{2})?", sample):
        fresh = _date_time(rng)
        size = 19 if len(sample) >= 19 and sample[10] in "Tt " else 10
        return (
            fresh[:size].replace("T", sample[10]) + sample[size:]
            if size == 19
            else fresh[:10] + sample[10:]
        )
    hexish = bool(re.fullmatch(r"[0-9a-f-]{8,}", sample))
    out = []
    changed = False
    for char in sample:
        if char.isdigit() or (hexish and char in "abcdef"):
            out.append(rng.choice("0123456789abcdef" if hexish else "0123456789"))
            changed = True
        else:
            out.append(char)
    return "".join(out) if changed else None


def _fit_length(text: str, low: int, high: int | None, rng: random.Random) -> str:
    if high is not None and len(text) > high:
        text = text[:high].rstrip() if high > 0 else ""
        if len(text) < low:
            text = text[:high]
    while len(text) < low:
        text += rng.choice("abcdefghijklmnopqrstuvwxyz")
    return text
