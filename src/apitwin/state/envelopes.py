"""Putting stored resources into response envelopes, and taking them out of request bodies.

The request path calls these for every stateful answer, so they do no schema work: the
envelope (where the resource sits) was found once by :mod:`apitwin.state.inference`, and
``base`` is a response body synthesized once per operation, so that the envelope's other
fields (``links``, ``meta``, ``count``, ``range`` ...) are present and valid. The base is
never modified; the wrappers build a new top-level mapping around the stored value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from apitwin.state.inference import Envelope

__all__ = [
    "ItemWrapper",
    "ListWrapper",
    "item_wrapper",
    "list_wrapper",
    "unwrap_request",
    "wrap_item",
    "wrap_list",
]

ItemWrapper = Callable[[Any, Any], Any]
ListWrapper = Callable[[list[Any], Any], Any]


def wrap_item(envelope: Envelope | None, resource: Any, base: Any = None) -> Any:
    """A response body carrying one resource: ``{**base, key: resource}``, or it bare."""
    key = envelope.key if envelope is not None else None
    if key is None:
        return resource
    if isinstance(base, Mapping):
        return {**base, key: resource}
    return {key: resource}


def wrap_list(envelope: Envelope | None, items: list[Any], base: Any = None) -> Any:
    """A response body carrying a page of resources: ``{**base, key: items}``, or the list."""
    key = envelope.key if envelope is not None else None
    if key is None:
        return items
    if isinstance(base, Mapping):
        return {**base, key: items}
    return {key: items}


def unwrap_request(body: Any, key: str | None) -> Any:
    """The resource in a request body that wraps it (``{"post": {...}}``), else the body.

    Lenient on purpose: a client that sends the resource unwrapped is still understood.
    """
    if key is not None and isinstance(body, Mapping):
        inner = body.get(key)
        if isinstance(inner, Mapping):
            return inner
    return body


def item_wrapper(envelope: Envelope | None) -> ItemWrapper:
    """:func:`wrap_item` with the key decided once (compile per family and role)."""
    key = envelope.key if envelope is not None else None
    if key is None:
        return _bare_item

    def wrap(resource: Any, base: Any = None) -> Any:
        if isinstance(base, Mapping):
            return {**base, key: resource}
        return {key: resource}

    return wrap


def list_wrapper(envelope: Envelope | None) -> ListWrapper:
    """:func:`wrap_list` with the key decided once (compile per family)."""
    key = envelope.key if envelope is not None else None
    if key is None:
        return _bare_list

    def wrap(items: list[Any], base: Any = None) -> Any:
        if isinstance(base, Mapping):
            return {**base, key: items}
        return {key: items}

    return wrap


def _bare_item(resource: Any, base: Any = None) -> Any:
    return resource


def _bare_list(items: list[Any], base: Any = None) -> Any:
    return items
