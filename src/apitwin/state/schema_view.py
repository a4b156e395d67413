"""A flat view of an object schema: its top-level properties through $ref and allOf.

Stateful answers need to know, once per family, which fields an item has, which of them
the server owns (ids, timestamps) and how to check a single field a client sent, without
walking the document per request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apitwin.spec.document import SpecDocument, SpecError, join_pointer

__all__ = ["ObjectView", "object_view"]


@dataclass
class ObjectView:
    properties: dict[str, tuple[Any, str]] = field(default_factory=dict)  # name -> (schema, ptr)
    required: set[str] = field(default_factory=set)
    read_only: set[str] = field(default_factory=set)
    closed: bool = False  # additionalProperties: false somewhere in the composition

    def leaf(self, name: str, doc: SpecDocument) -> dict[str, Any]:
        """The property's schema with its $ref chain followed (type, format, example ...)."""
        schema, pointer = self.properties[name]
        try:
            node = doc.resolve(schema, pointer)
        except SpecError:
            return {}
        return node if isinstance(node, dict) else {}


def object_view(doc: SpecDocument, schema: Any, pointer: str, depth: int = 0) -> ObjectView:
    """Collect properties of an object schema, merging allOf parts (first definition wins)."""
    view = ObjectView()
    if depth > 12:
        return view
    try:
        node, at = doc.resolve_with_pointer(schema, pointer)
    except SpecError:
        return view
    if not isinstance(node, dict):
        return view
    for index, part in enumerate(node.get("allOf") or []):
        inner = object_view(doc, part, join_pointer(at, "allOf", index), depth + 1)
        for name, entry in inner.properties.items():
            view.properties.setdefault(name, entry)
        view.required |= inner.required
        view.read_only |= inner.read_only
        view.closed = view.closed or inner.closed
    properties = node.get("properties")
    if isinstance(properties, dict):
        for name, prop in properties.items():
            prop_at = join_pointer(at, "properties", name)
            view.properties.setdefault(name, (prop, prop_at))
            try:
                resolved = doc.resolve(prop, prop_at)
            except SpecError:
                continue
            if isinstance(resolved, dict) and resolved.get("readOnly") is True:
                view.read_only.add(name)
    required = node.get("required")
    if isinstance(required, list):
        view.required |= {r for r in required if isinstance(r, str)}
    if node.get("additionalProperties") is False:
        view.closed = True
    return view
