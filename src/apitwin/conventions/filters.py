"""Filter and sort mini-languages of stored lists, one implementation per style.

Several APIs pack a query into one parameter with a grammar of their own: eBay's
``filter=price:[10..50],conditions:{NEW}`` and ``sort=-price``, DRACOON's
``filter=name:cn:foo|type:eq:room:folder`` and ``sort=name:asc|size:desc``, DigitalNZ's
bracketed ``and[category][]=Images&without[usage][]=Unknown``, Nookipedia's repeated
``game=NH&game=PC`` (every value must hold). A profile declares which style a list
operation speaks and how its names reach the stored item (data, not code):

```json
"filters": [{"language": "dracoon", "aliases": {"encrypted": "isEncrypted"}}]
```

Each rule is compiled once at start-up per list operation (``compile_list_filter``);
a request then parses its own expression (``ListFilter.select``), which either refuses
it with the API's documented error (:class:`FilterError`) or yields a
:class:`Selection` the generic list handler applies before paging, so totals and links
describe the filtered list. A filtered request reads the family's items under the parent
and filters them in Python: its cost grows with the collection, unfiltered lists keep the
store's indexed paging.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from apitwin.conventions.pagination import PagingError
from apitwin.state.store import Page, Transaction

__all__ = ["FilterError", "ListFilter", "Selection", "compile_list_filter"]

Item = dict[str, Any]
Predicate = Callable[[Item], bool]
Query = Mapping[str, list[str]]
_MISSING = object()


class FilterError(PagingError):
    """A filter or sort expression the API refuses: status, message and the profile's
    error-code name (``error.error_codes``), rendered in the API's own error shape."""


# -- values -------------------------------------------------------------------------------


def _getter(path: str) -> Callable[[Item], list[Any]]:
    """Every value at a dotted path; lists along the way are walked (``categories.id``)."""
    parts = tuple(p for p in path.split(".") if p)

    def values(item: Item) -> list[Any]:
        found: list[Any] = [item]
        for part in parts:
            step: list[Any] = []
            for value in found:
                if isinstance(value, dict) and part in value:
                    inner = value[part]
                    step.extend(inner if isinstance(inner, list) else [inner])
                elif isinstance(value, list):
                    step.extend(v[part] for v in value if isinstance(v, dict) and part in v)
            found = step
        flat: list[Any] = []
        for value in found:
            flat.extend(value if isinstance(value, list) else [value])
        return [v for v in flat if v is not None]

    return values


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).casefold()


def _equal(stored: Any, wanted: str) -> bool:
    """A stored JSON value against a value from the query, as the APIs compare them:
    case-insensitively, numbers by value, booleans by their JSON spelling."""
    if isinstance(stored, int | float) and not isinstance(stored, bool):
        number = _number(wanted)
        return number is not None and float(stored) == number
    return _text(stored) == wanted.casefold()


def _compare(stored: Any, bound: str, numeric: bool) -> int | None:
    """-1, 0 or 1 for stored against bound; None when they cannot be compared."""
    if numeric:
        left, right = _number(stored), _number(bound)
        if left is None or right is None:
            return None
        return (left > right) - (left < right)
    a, b = _text(stored), bound.casefold()
    return (a > b) - (a < b)


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (0, float(value))
    if isinstance(value, int | float):
        return (0, float(value))
    if isinstance(value, str):
        return (1, value.casefold())
    return (2, repr(value))


# -- what a request selects ---------------------------------------------------------------


@dataclass(frozen=True)
class SortKey:
    values: Callable[[Item], list[Any]]
    descending: bool
    numeric: bool = False


@dataclass(frozen=True)
class Selection:
    """The items one request keeps, and their order."""

    keep: tuple[Predicate, ...] = ()
    order: tuple[SortKey, ...] = ()

    def apply(self, items: Iterable[Item]) -> list[Item]:
        kept = [item for item in items if all(test(item) for test in self.keep)]
        for key in reversed(self.order):  # stable sorts, last key first
            present: list[tuple[Any, Item]] = []
            missing: list[Item] = []
            for item in kept:
                values = key.values(item)
                if not values:
                    missing.append(item)
                    continue
                value = values[0]
                if key.numeric:
                    number = _number(value)
                    if number is None:
                        missing.append(item)
                        continue
                    present.append(((0, number), item))
                else:
                    present.append((_sort_key(value), item))
            present.sort(key=lambda pair: pair[0], reverse=key.descending)
            kept = [item for _, item in present] + missing  # no value: last either way
        return kept

    def over(self, tx: Transaction) -> Callable[..., Page]:
        """A stand-in for ``tx.list`` that reads the whole list, selects, then pages, so
        that totals and links describe the selected list."""

        def listing(
            family: str,
            *,
            parent: str | None = "",
            filters: Mapping[str, Any] | None = None,
            offset: int = 0,
            limit: int | None = None,
        ) -> Page:
            chosen = self.apply(tx.list(family, parent=parent, filters=filters).items)
            end = None if limit is None else offset + limit
            return Page(chosen[offset:end], len(chosen))

        return listing


class ListFilter:
    """One list operation's filter language, compiled from its profile rule."""

    params: frozenset[str] = frozenset()  # the query parameters the language reads

    def select(self, query: Query) -> Selection | None:
        """What the request asks for, None when it uses no filter; raises FilterError."""
        raise NotImplementedError


def _last(query: Query, name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _message(rule: Mapping[str, Any], name: str, default: str) -> str:
    messages = rule.get("messages") or {}
    return str(messages.get(name, default))


def _fields(rule: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Field specs of a rule: ``{"name": "path"}`` or ``{"name": {"path": ..., ...}}``."""
    fields: dict[str, dict[str, Any]] = {}
    for name, spec in (rule.get("fields") or {}).items():
        if isinstance(spec, str):
            fields[str(name)] = {"path": spec}
        elif isinstance(spec, Mapping):
            fields[str(name)] = {"path": str(spec.get("path", name)), **spec}
        else:
            raise ValueError(f"field {name!r} must be a path or a mapping")
    return fields


# -- eBay: filter=price:[10..50],buyingOptions:{FIXED_PRICE|AUCTION}  sort=-price ----------

_EBAY_RANGE = re.compile(r"\[(?P<low>[^\[\]]*?)\.\.(?P<high>[^\[\]]*?)\]")
_EBAY_SET = re.compile(r"\{(?P<values>[^{}]*)\}")


def _split_outside(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside brackets and braces (``{A|B}`` and ``[1..2]``)."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        if char == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


class EbayFilter(ListFilter):
    """eBay's ``filter`` (comma-separated ``field:value``, ``field:{a|b}``,
    ``field:[low..high]``) and ``sort`` (``price``, ``-price``, named orders)."""

    def __init__(self, rule: Mapping[str, Any], params: set[str]) -> None:
        self.filter_param = str(rule.get("filter_param", "filter"))
        self.sort_param = str(rule.get("sort_param", "sort"))
        self.params = frozenset(p for p in (self.filter_param, self.sort_param) if p in params)
        self.fields = _fields(rule)
        self.getters = {name: _getter(spec["path"]) for name, spec in self.fields.items()}
        self.sorts: dict[str, SortKey] = {}
        for name, spec in (rule.get("sort") or {}).items():
            spec = {"path": spec} if isinstance(spec, str) else dict(spec)
            self.sorts[str(name)] = SortKey(
                _getter(str(spec.get("path", name))),
                bool(spec.get("descending", False)),
                spec.get("type") == "number",
            )
        self.rule = rule

    def _invalid(self, name: str) -> FilterError:
        text = _message(
            self.rule,
            "filter",
            "The {name} value is invalid. For the valid values, refer to the API call "
            "documentation.",
        )
        return FilterError(400, text.replace("{name}", f"'{name}'"), "filter_invalid")

    def select(self, query: Query) -> Selection | None:
        expression = _last(query, self.filter_param) if self.filter_param in self.params else None
        sort = _last(query, self.sort_param) if self.sort_param in self.params else None
        if not expression and not sort:
            return None
        keep: list[Predicate] = []
        named: set[str] = set()
        for part in _split_outside(expression or "", ","):
            part = part.strip()
            if not part:
                continue
            name, colon, value = part.partition(":")
            name = name.strip()
            if not colon or name not in self.fields:
                raise self._invalid(name or part)
            named.add(name)
            keep.append(self._predicate(name, value.strip()))
        for name in named:
            required = self.fields[name].get("requires")
            if required and required not in named:
                text = _message(
                    self.rule,
                    "requires",
                    f"A valid '{name}' filter and a valid '{required}' filter is necessary "
                    f"to filter based on {name}.",
                )
                raise FilterError(400, text, "filter_requires")
        order: list[SortKey] = []
        if sort:
            for term in (t.strip() for t in sort.split(",")):
                descending = term.startswith("-")
                key = self.sorts.get(term.lstrip("-"))
                if key is None:
                    text = _message(
                        self.rule,
                        "sort",
                        "The 'sort' value is invalid. For the valid values, refer to the API "
                        "call documentation.",
                    )
                    raise FilterError(400, text, "sort_invalid")
                order.append(SortKey(key.values, key.descending != descending, key.numeric))
        return Selection(tuple(keep), tuple(order))

    def _predicate(self, name: str, value: str) -> Predicate:
        spec = self.fields[name]
        values = self.getters[name]
        numeric = spec.get("type") == "number"
        ranged = _EBAY_RANGE.fullmatch(value)
        if ranged:
            low, high = ranged.group("low").strip(), ranged.group("high").strip()
            if not low and not high:
                raise self._invalid(name)
            if numeric and any(b and _number(b) is None for b in (low, high)):
                raise self._invalid(name)

            def within(item: Item) -> bool:
                for stored in values(item):
                    above = _compare(stored, low, numeric) if low else 1
                    below = _compare(stored, high, numeric) if high else -1
                    if above is not None and below is not None and above >= 0 and below <= 0:
                        return True
                return False

            return within
        braced = _EBAY_SET.fullmatch(value)
        choices = braced.group("values").split("|") if braced else [value]
        choices = [c.strip() for c in choices if c.strip()]
        if not choices or any(c[:1] in "[{" or c[-1:] in "]}" for c in choices):
            raise self._invalid(name)
        mapping = spec.get("values")
        if isinstance(mapping, Mapping):
            expanded: list[str] = []
            for choice in choices:
                known = mapping.get(choice.upper(), mapping.get(choice))
                if known is None:
                    raise self._invalid(name)
                expanded.extend(str(v) for v in (known if isinstance(known, list) else [known]))
            choices = expanded

        def matches(item: Item) -> bool:
            return any(_equal(stored, c) for stored in values(item) for c in choices)

        if spec.get("exclude"):  # excludeSellers: the named values are left out
            return lambda item: not matches(item)
        return matches


# -- DRACOON: filter=name:cn:foo|type:eq:room:folder  sort=name:asc|size:desc ---------------

_DRACOON_MULTI = frozenset({"eq", "neq"})  # these take several values (OR); others one


class DracoonFilter(ListFilter):
    """DRACOON's ``FIELD:OPERATOR:VALUE[:VALUE...]`` joined by ``|`` (AND), several values
    of ``eq``/``neq`` meaning OR; ``sort=FIELD:asc|desc`` joined by ``|``."""

    OPERATORS = frozenset({"eq", "neq", "cn", "ge", "le", "sw"})

    def __init__(self, rule: Mapping[str, Any], params: set[str], fields: set[str]) -> None:
        self.filter_param = str(rule.get("filter_param", "filter"))
        self.sort_param = str(rule.get("sort_param", "sort"))
        self.params = frozenset(p for p in (self.filter_param, self.sort_param) if p in params)
        aliases = {str(k): str(v) for k, v in (rule.get("aliases") or {}).items()}
        self.paths = {name: name for name in fields} | aliases
        self.getters = {name: _getter(path) for name, path in self.paths.items()}
        self.rule = rule

    def _refuse(self, detail: str) -> FilterError:
        return FilterError(400, detail, str(self.rule.get("error_code", "bad_request")))

    def select(self, query: Query) -> Selection | None:
        expression = _last(query, self.filter_param) if self.filter_param in self.params else None
        sort = _last(query, self.sort_param) if self.sort_param in self.params else None
        if not expression and not sort:
            return None
        keep = [self._predicate(part) for part in (expression or "").split("|") if part]
        order: list[SortKey] = []
        for term in (sort or "").split("|"):
            if not term:
                continue
            name, _, direction = term.partition(":")
            direction = direction.lower() or "asc"
            if name not in self.getters or direction not in ("asc", "desc"):
                raise self._refuse(f"Invalid sort string: '{term}'")
            order.append(SortKey(self.getters[name], direction == "desc"))
        return Selection(tuple(keep), tuple(order))

    def _predicate(self, part: str) -> Predicate:
        pieces = part.split(":")
        if len(pieces) < 3 or not all(pieces[:2]) or pieces[2] == "":
            raise self._refuse(f"Invalid filter string: '{part}' (FIELD_NAME:OPERATOR:VALUE)")
        name, operator = pieces[0], pieces[1].lower()
        if name not in self.getters:
            raise self._refuse(f"Invalid filter field: '{name}'")
        if operator not in self.OPERATORS:
            raise self._refuse(f"Invalid filter operator: '{pieces[1]}' for '{name}'")
        values = self.getters[name]
        wanted = pieces[2:] if operator in _DRACOON_MULTI else [":".join(pieces[2:])]
        if operator == "eq":
            return lambda item: any(_equal(v, w) for v in values(item) for w in wanted)
        if operator == "neq":
            return lambda item: not any(_equal(v, w) for v in values(item) for w in wanted)
        needle = wanted[0].casefold()
        if operator == "cn":
            return lambda item: any(needle in _text(v) for v in values(item))
        if operator == "sw":
            return lambda item: any(_text(v).startswith(needle) for v in values(item))
        numeric = _number(wanted[0]) is not None
        sign = 1 if operator == "ge" else -1

        def bounded(item: Item) -> bool:
            for stored in values(item):
                compared = _compare(stored, wanted[0], numeric and _number(stored) is not None)
                if compared is not None and compared * sign >= 0:
                    return True
            return False

        return bounded


# -- DigitalNZ: and[category][]=Images  or[...]  without[...]  and[or][...][] --------------

_BRACKETS = re.compile(r"(?P<mode>and|or|without)(?P<or>\[or\])?\[(?P<field>[^\[\]]+)\](\[\])?")


class BracketFilter(ListFilter):
    """Rails-style bracketed parameters: every ``and[f][]`` value must match, one of the
    ``or[f][]`` (or ``and[or][f][]``) values must, no ``without[f][]`` value may. A trailing
    ``*`` matches a prefix. Sorting by ``sort`` and ``direction``. The rule's ``text``
    (``{"param": "text", "fields": [...]}``) names a free-text parameter searching the
    words of those fields (:func:`_text_search`)."""

    def __init__(self, rule: Mapping[str, Any], params: set[str], fields: set[str]) -> None:
        self.sort_param = str(rule.get("sort_param", "sort"))
        self.direction_param = str(rule.get("direction_param", "direction"))
        configured = _fields(rule)
        self.getters = {name: _getter(name) for name in fields}
        self.getters |= {name: _getter(spec["path"]) for name, spec in configured.items()}
        # Declared in the document but not kept on stored items: accepted, not applied.
        self.ignored = frozenset(str(n) for n in rule.get("ignore") or ())
        self.sorts = {str(k): _getter(str(v)) for k, v in (rule.get("sort") or {}).items()}
        text = rule.get("text")
        if text is not None and not isinstance(text, Mapping):
            raise ValueError("text must be a mapping of param and fields")
        self.text_param = str(text.get("param", "text")) if text else None
        self.text_fields = [_getter(str(f)) for f in (text or {}).get("fields") or ()]
        own = {self.sort_param, self.direction_param, self.text_param}
        self.params = frozenset(p for p in params if _BRACKETS.fullmatch(p) or p in own)
        self.rule = rule

    def select(self, query: Query) -> Selection | None:
        keep: list[Predicate] = []
        any_of: dict[str, list[str]] = {}
        for name, values in query.items():
            found = _BRACKETS.fullmatch(name)
            if found is None:
                continue
            field = found.group("field")
            if field in self.ignored:
                continue
            if field not in self.getters:
                text = _message(
                    self.rule, "field", "No field configured for Record with name {field}"
                )
                raise FilterError(400, text.replace("{field}", field), "filter_invalid")
            wanted = [v for v in values if v != ""]
            mode = "or" if found.group("or") else found.group("mode")
            getter = self.getters[field]
            if mode == "and":
                keep.extend(self._matcher(getter, [w]) for w in wanted)
            elif mode == "without":
                test = self._matcher(getter, wanted)
                keep.append(lambda item, test=test: not test(item))  # type: ignore[misc]
            else:
                any_of.setdefault(field, []).extend(wanted)
        for field, wanted in any_of.items():
            keep.append(self._matcher(self.getters[field], wanted))
        words = _last(query, self.text_param) if self.text_param else None
        if words and words.strip():
            keep.append(_text_search(words, self.text_fields))
        order: list[SortKey] = []
        sort = _last(query, self.sort_param)
        if sort and sort in self.sorts:
            direction = (_last(query, self.direction_param) or "asc").lower()
            order.append(SortKey(self.sorts[sort], direction == "desc"))
        if not keep and not order:
            return None
        return Selection(tuple(keep), tuple(order))

    @staticmethod
    def _matcher(getter: Callable[[Item], list[Any]], wanted: list[str]) -> Predicate:
        exact = [w for w in wanted if not w.endswith("*")]
        prefixes = [w[:-1].casefold() for w in wanted if w.endswith("*")]

        def test(item: Item) -> bool:
            for stored in getter(item):
                if any(_equal(stored, w) for w in exact):
                    return True
                if any(_text(stored).startswith(p) for p in prefixes):
                    return True
            return False

        return test


_WORD = re.compile(r"[^\W_]+\*?")


def _text_search(text: str, fields: list[Callable[[Item], list[Any]]]) -> Predicate:
    """DigitalNZ's ``text``: terms are ANDed, ``A OR B`` takes either, ``-term`` excludes,
    ``ted*`` is a prefix; a term matches a whole word of the named fields, in any case."""
    groups: list[list[str]] = []  # each group: one of its terms must match
    excluded: list[str] = []
    joined = False
    for token in text.split():
        if token == "OR":
            joined = bool(groups)
            continue
        if token == "AND":
            continue
        negative = token.startswith("-") and len(token) > 1
        terms = [t.casefold() for t in _WORD.findall(token)]
        if not terms:
            continue
        if negative:
            excluded.extend(terms)
        elif joined:
            groups[-1].extend(terms)
        else:
            groups.extend([term] for term in terms)
        joined = False

    def matches(term: str, words: set[str]) -> bool:
        if term.endswith("*"):
            return any(word.startswith(term[:-1]) for word in words)
        return term in words

    def test(item: Item) -> bool:
        words = {
            word.rstrip("*")
            for getter in fields
            for value in getter(item)
            for word in _WORD.findall(_text(value))
        }
        if any(matches(term, words) for term in excluded):
            return False
        return all(any(matches(term, words) for term in group) for group in groups)

    return test


# -- plain parameters naming fields: game=NH&game=PC (all), category_ids=1,2 (any) ---------

_MONTHS = {name.casefold(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.casefold(): i for i, name in enumerate(calendar.month_abbr) if name}


def _month(value: str) -> str | None:
    """``jan``, ``january``, ``1`` and ``01`` are all January."""
    text = value.strip().casefold()
    number = int(text) if text.isdigit() else _MONTHS.get(text)
    if number is None or not 1 <= number <= 12:
        return None
    return calendar.month_name[number]


_NORMALIZERS: dict[str, Callable[[str], str | None]] = {"month": _month}


class ParamFilter(ListFilter):
    """Query parameters that each name a field: repeated values must all match (``"match":
    "all"``, Nookipedia's ``game``) or one of them must (``"any"``); ``"split": ","``
    reads ``category_ids=1,2`` as two values."""

    def __init__(self, rule: Mapping[str, Any], params: set[str]) -> None:
        self.specs = {n: s for n, s in _fields({"fields": rule.get("params") or {}}).items()}
        unknown = set(self.specs) - params
        if unknown:
            raise ValueError(f"the operation declares no parameter {sorted(unknown)}")
        self.params = frozenset(self.specs)
        self.getters = {name: _getter(spec["path"]) for name, spec in self.specs.items()}
        for spec in self.specs.values():
            if spec.get("normalize") and spec["normalize"] not in _NORMALIZERS:
                raise ValueError(f"unknown normalizer {spec['normalize']!r}")
        self.rule = rule

    def select(self, query: Query) -> Selection | None:
        keep: list[Predicate] = []
        for name, spec in self.specs.items():
            raw = query.get(name)
            if not raw:
                continue
            separator = spec.get("split")
            values = [
                piece.strip()
                for value in raw
                for piece in (value.split(separator) if separator else [value])
                if piece.strip()
            ]
            normalizer = _NORMALIZERS.get(str(spec.get("normalize", "")))
            if normalizer is not None:
                normalized = [normalizer(v) for v in values]
                if any(n is None for n in normalized):
                    bad = values[normalized.index(None)]
                    text = _message(self.rule, name, f"'{bad}' is not a valid value for {name}")
                    raise FilterError(400, text, "filter_invalid")
                values = [n for n in normalized if n is not None]
            getter = self.getters[name]
            if spec.get("match") == "all":
                for value in values:
                    keep.append(
                        lambda item, v=value, g=getter: any(_equal(s, v) for s in g(item))  # type: ignore[misc]
                    )
            else:
                keep.append(
                    lambda item, vs=values, g=getter: any(  # type: ignore[misc]
                        _equal(s, v) for s in g(item) for v in vs
                    )
                )
        return Selection(tuple(keep)) if keep else None


# -- compile --------------------------------------------------------------------------------


def compile_list_filter(
    config: Any, operation_id: str, params: set[str], fields: set[str]
) -> ListFilter | None:
    """The filter language of one list operation, from the profile's ``filters`` rules.

    A rule applies to the operations it names (``"operations"``), or without that to
    every list operation that declares the language's parameters. Raises ValueError for
    a rule the engine cannot follow (a start-up error, never a request's).
    """
    if not config:
        return None
    rules = config if isinstance(config, list) else [config]
    for rule in rules:
        if not isinstance(rule, Mapping):
            raise ValueError("profile filters: each rule must be a mapping")
        named = rule.get("operations")
        if named is not None and operation_id not in named:
            continue
        language = rule.get("language")
        try:
            compiled: ListFilter
            if language == "ebay":
                compiled = EbayFilter(rule, params)
            elif language == "dracoon":
                compiled = DracoonFilter(rule, params, fields)
            elif language == "brackets":
                compiled = BracketFilter(rule, params, fields)
            elif language == "params":
                compiled = ParamFilter(rule, params)
            else:
                raise ValueError(f"unknown language {language!r}")
        except ValueError as exc:
            raise ValueError(f"profile filters ({operation_id}): {exc}") from None
        if compiled.params:
            return compiled
    return None
