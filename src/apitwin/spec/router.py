"""Method + path routing, compiled once into a segment tree.

Literal segments are tried before templated ones at every level, so
``/containers/json`` wins over ``/containers/{id}`` whatever the document order, and a
failed literal branch falls back to a templated sibling (backtracking), as a user of the
real API expects. A branch whose route lacks the request's method is passed over for a
sibling whose route has it (Discourse's ``GET /t/-/{id}.json`` is the topic of slug ``-``,
though the literal ``/t/-/{id}.json`` takes only PUT); only when no route of the path has
the method does the first one answer, with a 405. Segments with literal text around their parameters (``{id}.json``) are
more concrete than a bare ``{id}`` and are tried before it.

A parameter may be declared to span several segments (the Docker daemon routes
``/images/{name:.*}/json``, and its clients send ``library/ubuntu`` unescaped): the
shortest run of segments after which the rest of the path matches wins, preferring a
route that has the request's method.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import unquote

__all__ = ["Match", "Router"]

T = TypeVar("T")

_PARAM = re.compile(r"\{([^{}]+)\}")


@dataclass
class _Node(Generic[T]):
    literal: dict[str, _Node[T]] = field(default_factory=dict)
    # tried in this order: literal, mixed ("{id}.{format}"), whole-segment ("{id}")
    whole: list[tuple[str, _Node[T]]] = field(default_factory=list)
    mixed: list[tuple[re.Pattern[str], tuple[str, ...], _Node[T]]] = field(default_factory=list)
    methods: dict[str, T] = field(default_factory=dict)
    template: str = ""
    spanning: frozenset[str] = frozenset()  # whole-segment parameters that may hold "/"


@dataclass
class Match(Generic[T]):
    """A routing result: the handler for the method (None when only the path matched)."""

    target: T | None
    params: dict[str, str]
    allowed: tuple[str, ...]
    template: str


class Router(Generic[T]):
    """Routes (METHOD, path) to a target compiled from OpenAPI path templates."""

    def __init__(self, spanning: Iterable[str] = ()) -> None:
        """``spanning``: templates such as ``/images/{name}`` whose last parameter may
        span several segments, wherever that template starts a route."""
        self._root: _Node[T] = _Node()
        self._allowed_cache: dict[int, tuple[str, ...]] = {}
        self._spanning = {tuple(_segments(t)) for t in spanning}

    def add(self, method: str, template: str, target: T) -> None:
        node = self._root
        segments = _segments(template)
        for position, segment in enumerate(segments):
            names = _PARAM.findall(segment)
            if not names:
                node = node.literal.setdefault(segment, _Node())
            elif segment == "{" + names[0] + "}":
                if tuple(segments[: position + 1]) in self._spanning:
                    node.spanning = node.spanning | {names[0]}
                for name, child in node.whole:
                    if name == names[0]:
                        node = child
                        break
                else:
                    child = _Node()
                    node.whole.append((names[0], child))
                    node = child
            else:
                pattern = _segment_regex(segment)
                for regex, _, child in node.mixed:
                    if regex.pattern == pattern.pattern:
                        node = child
                        break
                else:
                    child = _Node()
                    node.mixed.append((pattern, tuple(names), child))
                    node = child
        node.methods[method.upper()] = target
        node.template = template

    def match(self, method: str, path: str) -> Match[T] | None:
        """Find the route for a raw (still percent-encoded) request path, without the base path.

        Segments are split before they are decoded, so an encoded ``%2F`` stays inside a
        parameter value.
        """
        segments = _segments(path)
        if "%" in path:
            segments = [unquote(s) for s in segments]
        method = method.upper()
        params: dict[str, str] = {}
        node = self._walk(self._root, segments, 0, params, method)
        if node is None:
            return None
        allowed = self._allowed_cache.get(id(node))
        if allowed is None:
            allowed = tuple(sorted(node.methods))
            self._allowed_cache[id(node)] = allowed
        return Match(node.methods.get(method), params, allowed, node.template)

    def _walk(
        self,
        node: _Node[T],
        segments: list[str],
        index: int,
        params: dict[str, str],
        method: str,
    ) -> _Node[T] | None:
        """The first route in priority order that has ``method``; failing that, the first
        route of the path at all (a 405). Each branch fills its own parameters, so a
        branch passed over leaves none behind."""
        if index == len(segments):
            return node if node.methods else None
        segment = segments[index]
        fallback: tuple[_Node[T], dict[str, str]] | None = None
        child = node.literal.get(segment)
        if child is not None:
            attempt: dict[str, str] = {}
            found = self._walk(child, segments, index + 1, attempt, method)
            if found is not None:
                if method in found.methods:
                    params.update(attempt)
                    return found
                fallback = (found, attempt)
        for regex, names, child in node.mixed:
            matched = regex.fullmatch(segment)
            if matched is None:
                continue
            attempt = {}
            found = self._walk(child, segments, index + 1, attempt, method)
            if found is not None:
                attempt.update(zip(names, matched.groups(), strict=True))
                if method in found.methods:
                    params.update(attempt)
                    return found
                fallback = fallback or (found, attempt)
        if segment:
            for name, child in node.whole:
                attempt = {}
                if name in node.spanning:
                    found = self._span(name, child, segments, index, attempt, method)
                else:
                    found = self._walk(child, segments, index + 1, attempt, method)
                    if found is not None:
                        attempt[name] = segment
                if found is not None:
                    if method in found.methods:
                        params.update(attempt)
                        return found
                    fallback = fallback or (found, attempt)
        if fallback is None:
            return None
        params.update(fallback[1])
        return fallback[0]

    def _span(
        self,
        name: str,
        child: _Node[T],
        segments: list[str],
        index: int,
        params: dict[str, str],
        method: str,
    ) -> _Node[T] | None:
        """A parameter over segments[index:end], shortest first; a route with the
        request's method beats one that would only give a 405."""
        fallback: tuple[_Node[T], dict[str, str]] | None = None
        for end in range(index + 1, len(segments) + 1):
            if not segments[end - 1]:
                break  # an empty segment ("a//b") ends any name
            attempt: dict[str, str] = {}
            found = self._walk(child, segments, end, attempt, method)
            if found is None:
                continue
            attempt[name] = "/".join(segments[index:end])
            if method in found.methods:
                params.update(attempt)
                return found
            if fallback is None:
                fallback = (found, attempt)
        if fallback is not None:
            params.update(fallback[1])
            return fallback[0]
        return None


def _segments(path: str) -> list[str]:
    stripped = path.strip("/")
    return stripped.split("/") if stripped else []


def _segment_regex(segment: str) -> re.Pattern[str]:
    """``{id}.{format}`` -> ``(?P<...>.+?)\\.(...)``: parameters are non-greedy, non-empty."""
    parts: list[str] = []
    position = 0
    for found in _PARAM.finditer(segment):
        parts.append(re.escape(segment[position : found.start()]))
        parts.append("(.+?)")
        position = found.end()
    parts.append(re.escape(segment[position:]))
    return re.compile("".join(parts), re.DOTALL)
