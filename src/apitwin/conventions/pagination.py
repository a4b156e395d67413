"""Pagination styles: how a stored list reads its page from the query, and how the page is
described in the body.

Real APIs page in a handful of ways and clients depend on the exact one: pydo follows
``links.pages.next``, a Django REST client follows ``next`` until it is null, an eBay
client adds ``limit`` to ``offset``. A twin's profile names its style::

    "pagination": {"style": "page_links", "default": 20, "max": 200}

and the engine applies it to every stored list whose operation declares the style's query
parameters; lists that do not (and twins without a style) keep the generic behaviour.
Defaults and maxima come from the profile, else from the parameter's schema, else from
the style. Links are absolute URLs on the twin itself, with the request's other query
parameters kept.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

__all__ = [
    "STYLES",
    "GenericPaging",
    "Links",
    "PagingError",
    "Paginator",
    "Window",
    "compile_paginator",
    "set_counts",
]

_LIMIT_PARAMS = ("per_page", "page_size", "limit", "pageSize", "perPage", "max_results")
_OFFSET_PARAMS = ("offset", "skip", "startIndex", "start")
_PAGE_PARAMS = ("page",)
_INT64 = 2**63 - 1
_COUNT_FIELDS = ("count", "total", "total_count", "totalCount", "result_count", "total_results")

Schemas = Mapping[str, Mapping[str, Any]]  # declared query parameter -> its resolved schema


@dataclass(frozen=True)
class Window:
    """The slice of the collection one request asks for."""

    offset: int
    limit: int | None  # the page size; None: every item
    page: int = 1
    cap: int | None = None  # fewer items than a page: the end of a result window

    @property
    def take(self) -> int | None:
        """How many items to read from the store."""
        if self.cap is None:
            return self.limit
        return self.cap if self.limit is None else min(self.limit, self.cap)


class PagingError(Exception):
    """A page request the API refuses; ``code`` names the profile's error code for it."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Links:
    """Absolute URLs back to the same list with some query parameters changed."""

    origin: str  # scheme://host[:port]
    path: str  # as the client sent it, base path included
    query: Mapping[str, list[str]]

    def url(self, **changes: int | str | None) -> str:
        """The request's URL with ``changes`` applied; ``None`` removes a parameter."""
        pairs: list[tuple[str, str]] = []
        for key, values in self.query.items():
            if key in changes:
                continue
            pairs.extend((key, value) for value in values)
        pairs.extend((key, str(value)) for key, value in changes.items() if value is not None)
        query = urlencode(pairs)
        return f"{self.origin}{self.path}?{query}" if query else f"{self.origin}{self.path}"


def _int(value: Any) -> int | None:
    """An integral value as int: numbers from number-typed parameters, digits from strings."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    return None


def _schema_int(schema: Mapping[str, Any] | None, key: str) -> int | None:
    value = schema.get(key) if schema is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _wrap(base: Any, key: str | None, items: list[Any]) -> Any:
    if key is None:
        return items
    return {**base, key: items} if isinstance(base, dict) else {key: items}


def set_counts(body: Any, total: int, offset: int, limit: int | None) -> None:
    """Keep an envelope's own counters true to the page it carries."""
    if not isinstance(body, dict):
        return
    for name in _COUNT_FIELDS:
        if isinstance(body.get(name), int) and not isinstance(body.get(name), bool):
            body[name] = total
    meta = body.get("meta")
    if isinstance(meta, dict) and "total" in meta:
        body["meta"] = {**meta, "total": total}
    range_ = body.get("range")
    if isinstance(range_, dict):
        updated = dict(range_)
        for name, value in (("total", total), ("offset", offset), ("limit", limit)):
            if name in updated and value is not None:
                updated[name] = value
        body["range"] = updated


class Paginator:
    """One list operation's paging, compiled: parameter names, default and maximum."""

    style = "generic"

    def window(self, params: Mapping[str, Any]) -> Window:
        """The slice the validated query parameters ask for; raises PagingError."""
        raise NotImplementedError

    def body(
        self, base: Any, key: str | None, items: list[Any], total: int, window: Window, links: Links
    ) -> Any:
        """The list response around ``items``; ``base`` holds the envelope's other fields."""
        raise NotImplementedError


class GenericPaging(Paginator):
    """The usual ``per_page``/``page_size``/``limit`` with ``page``/``offset`` parameters,
    found by name; the envelope's own counters are kept true. Out-of-range sizes the
    document allows get the nearest sensible page."""

    def __init__(self, schemas: Schemas) -> None:
        self.limit_param: str | None = None
        self.default_limit: int | None = None
        self.max_limit: int | None = None
        self.offset_param: str | None = None
        self.page_param: str | None = None
        self.first_page = 1
        for name, schema in schemas.items():
            if name in _LIMIT_PARAMS and self.limit_param is None:
                self.limit_param = name
                self.default_limit = _schema_int(schema, "default")
                self.max_limit = _schema_int(schema, "maximum")
            elif name in _OFFSET_PARAMS and self.offset_param is None:
                self.offset_param = name
            elif name in _PAGE_PARAMS and self.page_param is None:
                self.page_param = name
                zero_based = schema.get("minimum") == 0 and schema.get("default") == 0
                self.first_page = 0 if zero_based else 1

    def window(self, params: Mapping[str, Any]) -> Window:
        limit = params.get(self.limit_param) if self.limit_param else None
        if not isinstance(limit, int) or isinstance(limit, bool):
            limit = self.default_limit
        if limit is not None:
            limit = max(1, limit if self.max_limit is None else min(limit, self.max_limit))
        offset = 0
        if self.offset_param and isinstance(params.get(self.offset_param), int):
            offset = max(0, params[self.offset_param])
        elif self.page_param and isinstance(params.get(self.page_param), int) and limit:
            offset = max(0, params[self.page_param] - self.first_page) * limit
        return Window(offset, limit)

    def body(
        self, base: Any, key: str | None, items: list[Any], total: int, window: Window, links: Links
    ) -> Any:
        result = _wrap(base, key, items)
        if key is not None:
            set_counts(result, total, window.offset, window.limit)
            self._set_page(result, window)
        return result

    def _set_page(self, body: Any, window: Window) -> None:
        """The envelope's own ``page`` and ``per_page`` (DigitalNZ's search) say which
        page this is, where the envelope has fields named like the parameters."""
        if not isinstance(body, dict) or not window.limit:
            return
        counters = (
            # a page past any integer type is an empty page; its number is capped
            (self.page_param, min(window.offset // window.limit + self.first_page, _INT64)),
            (self.limit_param, window.limit),
        )
        for name, value in counters:
            current = body.get(name) if name else None
            if name and isinstance(current, int) and not isinstance(current, bool):
                body[name] = value


class NoPaging(Paginator):
    """Every item in one answer (Docker Engine lists are bare arrays without pages)."""

    style = "none"

    def window(self, params: Mapping[str, Any]) -> Window:
        return Window(0, None)

    def body(
        self, base: Any, key: str | None, items: list[Any], total: int, window: Window, links: Links
    ) -> Any:
        result = _wrap(base, key, items)
        if key is not None:
            set_counts(result, total, 0, None)
        return result


class _Sized(Paginator):
    """Shared by the styles with a page size: its parameter, default and maximum."""

    size_default = 20
    size_name = "per_page"

    def __init__(self, config: Mapping[str, Any], schemas: Schemas) -> None:
        self.size_param = str(config.get("size_param", self.size_name))
        schema = schemas.get(self.size_param)
        default = _int(config.get("default"))
        self.default = default or _schema_int(schema, "default") or self.size_default
        self.max = _int(config.get("max")) or _schema_int(schema, "maximum")

    def _size(self, params: Mapping[str, Any]) -> int:
        size = _int(params.get(self.size_param))
        if size is None or size < 1:
            size = self.default
        return size if self.max is None else min(size, self.max)


class PageLinks(_Sized):
    """DigitalOcean: ``page`` (from 1) and ``per_page``; ``links.pages`` holds only the
    links that make sense (no first/prev on page 1, no next/last on the last page), and
    ``links`` is empty when everything fits on one page; ``meta.total`` counts all."""

    style = "page_links"

    def __init__(self, config: Mapping[str, Any], schemas: Schemas) -> None:
        super().__init__(config, schemas)
        self.page_param = str(config.get("page_param", "page"))

    def window(self, params: Mapping[str, Any]) -> Window:
        page = _int(params.get(self.page_param))
        page = page if page is not None and page >= 1 else 1
        size = self._size(params)
        return Window((page - 1) * size, size, page)

    def body(
        self, base: Any, key: str | None, items: list[Any], total: int, window: Window, links: Links
    ) -> Any:
        result = _wrap(base, key, items)
        if key is None or window.limit is None:
            return result
        last = max(1, math.ceil(total / window.limit))
        page = window.page
        pages: dict[str, str] = {}
        if page > 1:
            pages["first"] = links.url(**{self.page_param: 1})
            pages["prev"] = links.url(**{self.page_param: min(page - 1, last)})
        if page < last:
            pages["next"] = links.url(**{self.page_param: page + 1})
            pages["last"] = links.url(**{self.page_param: last})
        result["links"] = {"pages": pages} if pages else {}
        meta = result.get("meta")
        result["meta"] = {**meta, "total": total} if isinstance(meta, dict) else {"total": total}
        return result


class PageCount(_Sized):
    """Docker Hub (Django REST framework): ``page`` (from 1) and ``page_size`` ->
    ``{count, next, previous, results}``, links null at the ends; a page past the last one
    is ``404 Invalid page.``, a size above the maximum is cut to it."""

    style = "page_count"
    size_default = 10
    size_name = "page_size"

    def __init__(self, config: Mapping[str, Any], schemas: Schemas) -> None:
        super().__init__(config, schemas)
        self.page_param = str(config.get("page_param", "page"))

    def window(self, params: Mapping[str, Any]) -> Window:
        raw = params.get(self.page_param)
        page = 1 if raw is None else _int(raw)
        if page is None or page < 1:
            raise PagingError(404, "Invalid page.", "invalid_page")
        size = self._size(params)
        return Window((page - 1) * size, size, page)

    def body(
        self, base: Any, key: str | None, items: list[Any], total: int, window: Window, links: Links
    ) -> Any:
        if window.page > 1 and window.offset >= total:
            raise PagingError(404, "Invalid page.", "invalid_page")
        result = _wrap(base, key, items)
        if key is None or window.limit is None:
            return result
        page = window.page
        result["count"] = total
        result["next"] = (
            links.url(**{self.page_param: page + 1})
            if window.offset + window.limit < total
            else None
        )
        previous: str | None = None
        if page > 1:  # page 1 is the URL without a page parameter, as DRF writes it
            previous = links.url(**{self.page_param: page - 1 if page > 2 else None})
        result["previous"] = previous
        return result


class OffsetLinks(_Sized):
    """eBay: ``offset`` and ``limit`` -> ``{href, total, limit, offset, next, prev}``, next
    and prev only where there is such a page; a bad limit or offset is the API's documented
    400, and no page reaches past the result window (10,000 items on search).

    The refusals are named ``limit_type``, ``limit_range``, ``offset_type``,
    ``offset_range`` and ``offset_window``: the profile's ``messages`` gives their text and
    its ``error.error_codes`` their eBay error ids.
    """

    style = "offset_links"
    size_default = 50
    size_name = "limit"

    def __init__(self, config: Mapping[str, Any], schemas: Schemas) -> None:
        super().__init__(config, schemas)
        self.offset_param = str(config.get("offset_param", "offset"))
        self.result_window = _int(config.get("window"))
        limit, offset = self.size_param, self.offset_param
        self.messages = {
            "limit_type": f"The '{limit}' value must be an integer value.",
            "limit_range": f"The '{limit}' value should be between 1 and "
            f"{self.max or 'the maximum'} (inclusive).",
            "offset_type": f"The '{offset}' value must be an integer.",
            "offset_range": f"The '{offset}' value cannot be negative.",
            "offset_window": f"The '{offset}' value should be between 0 and "
            f"{self.result_window} (inclusive).",
        }
        messages = config.get("messages")
        if isinstance(messages, dict):
            self.messages.update({str(k): str(v) for k, v in messages.items()})

    def _refuse(self, kind: str) -> PagingError:
        return PagingError(400, self.messages[kind], kind)

    def window(self, params: Mapping[str, Any]) -> Window:
        raw_limit = params.get(self.size_param)
        limit = self.default if raw_limit is None else _int(raw_limit)
        if limit is None:
            raise self._refuse("limit_type")
        if limit < 1 or (self.max is not None and limit > self.max):
            raise self._refuse("limit_range")
        raw_offset = params.get(self.offset_param)
        offset = 0 if raw_offset is None else _int(raw_offset)
        if offset is None:
            raise self._refuse("offset_type")
        if offset < 0:
            raise self._refuse("offset_range")
        if self.result_window is not None:
            if offset > self.result_window:
                raise self._refuse("offset_window")
            return Window(offset, limit, cap=self.result_window - offset)
        return Window(offset, limit)

    def body(
        self, base: Any, key: str | None, items: list[Any], total: int, window: Window, links: Links
    ) -> Any:
        result = _wrap(base, key, items)
        if key is None or window.limit is None:
            return result
        offset, limit = window.offset, window.limit
        reachable = total if self.result_window is None else min(total, self.result_window)
        result["href"] = links.url(**{self.size_param: limit, self.offset_param: offset})
        result["total"] = total
        result["limit"] = limit
        result["offset"] = offset
        result.pop("next", None)
        result.pop("prev", None)
        if offset + limit < reachable:
            result["next"] = links.url(
                **{self.size_param: limit, self.offset_param: offset + limit}
            )
        if offset > 0:
            previous = max(0, min(offset, reachable) - limit)
            result["prev"] = links.url(**{self.size_param: limit, self.offset_param: previous})
        return result


class RangePaging(_Sized):
    """DRACOON: ``offset`` and ``limit`` -> ``{range: {offset, limit, total}, items}``;
    at most 500 entries per request, a larger limit is cut to it."""

    style = "range"
    size_default = 500
    size_name = "limit"

    def __init__(self, config: Mapping[str, Any], schemas: Schemas) -> None:
        super().__init__(config, schemas)
        self.offset_param = str(config.get("offset_param", "offset"))

    def window(self, params: Mapping[str, Any]) -> Window:
        offset = _int(params.get(self.offset_param))
        return Window(max(0, offset or 0), self._size(params))

    def body(
        self, base: Any, key: str | None, items: list[Any], total: int, window: Window, links: Links
    ) -> Any:
        result = _wrap(base, key, items)
        if key is not None:
            result["range"] = {"offset": window.offset, "limit": window.limit, "total": total}
        return result


def encode_cursor(offset: int) -> str:
    """An opaque cursor for a position (clients must not build them, only pass them on)."""
    return base64.urlsafe_b64encode(f"o={offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    name, _, value = text.partition("=")
    return int(value) if name == "o" and value.isdigit() else None


class CursorPaging(_Sized):
    """drchrono (Django REST framework cursors): ``cursor`` and ``page_size`` ->
    ``{data, next, previous}``, links null at the ends; a cursor the twin did not issue is
    ``404 Invalid cursor``."""

    style = "cursor"
    size_default = 25
    size_name = "page_size"

    def __init__(self, config: Mapping[str, Any], schemas: Schemas) -> None:
        super().__init__(config, schemas)
        self.cursor_param = str(config.get("cursor_param", "cursor"))

    def window(self, params: Mapping[str, Any]) -> Window:
        cursor = params.get(self.cursor_param)
        offset = 0
        if cursor not in (None, ""):
            decoded = decode_cursor(str(cursor))
            if decoded is None:
                raise PagingError(404, "Invalid cursor", "invalid_cursor")
            offset = decoded
        return Window(offset, self._size(params))

    def body(
        self, base: Any, key: str | None, items: list[Any], total: int, window: Window, links: Links
    ) -> Any:
        result = _wrap(base, key, items)
        if key is None or window.limit is None:
            return result
        offset, size = window.offset, window.limit
        result["next"] = (
            links.url(**{self.cursor_param: encode_cursor(offset + size)})
            if offset + size < total
            else None
        )
        previous: str | None = None
        if offset > 0:
            back = max(0, min(offset, total) - size)
            previous = links.url(**{self.cursor_param: encode_cursor(back) if back else None})
        result["previous"] = previous
        return result


_SIZED: dict[str, type[_Sized]] = {
    "page_links": PageLinks,
    "page_count": PageCount,
    "offset_links": OffsetLinks,
    "range": RangePaging,
    "cursor": CursorPaging,
}
STYLES = ("generic", "none", *_SIZED)

# The query parameters that show an operation pages in a style (any one of them).
_MARKERS = {
    "page_links": ("page_param", "page", "size_param", "per_page"),
    "page_count": ("page_param", "page", "size_param", "page_size"),
    "offset_links": ("offset_param", "offset", "size_param", "limit"),
    "range": ("offset_param", "offset", "size_param", "limit"),
    "cursor": ("cursor_param", "cursor", "size_param", "page_size"),
}


def compile_paginator(config: Mapping[str, Any] | None, schemas: Schemas) -> Paginator:
    """The paginator of one list operation, from the profile's ``pagination`` entry and the
    operation's declared query parameters; raises ValueError for an unknown style."""
    style = str(config.get("style", "generic")) if config else "generic"
    if style not in STYLES:
        raise ValueError(f"unknown pagination style {style!r}; one of {', '.join(STYLES)}")
    if style == "none":
        return NoPaging()
    if style == "generic" or config is None:
        return GenericPaging(schemas)
    markers = _MARKERS[style]
    names = {str(config.get(markers[0], markers[1])), str(config.get(markers[2], markers[3]))}
    if not names & set(schemas):
        return GenericPaging(schemas)
    return _SIZED[style](config, schemas)
