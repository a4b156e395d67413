"""Operations a real service serves that its bundled document leaves out.

Docker Hub's bundled document lists tags under ``/v2/namespaces/{ns}/repositories/{repo}``
but not the repositories themselves, which every Hub client creates, lists and deletes;
DVP hands out URLs to CSV files its document never describes. A profile may name a
supplement (``"supplement": "<file>.json"`` beside the profiles): an OpenAPI fragment
with ``paths`` and ``components`` that is merged into the loaded document before its
operations are read, so routing, validation, auth and state treat those operations like
any documented one. The document wins: a supplement only adds paths, methods and
components the document does not have. ``GET /__apitwin__/spec`` shows the merged result.
"""

from __future__ import annotations

from typing import Any

from apitwin.spec.document import SpecDocument, SpecError

__all__ = ["apply_supplement"]

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def apply_supplement(doc: SpecDocument, fragment: Any, source: str) -> int:
    """Merge ``fragment`` into ``doc``; returns how many operations it added."""
    if not isinstance(fragment, dict):
        raise SpecError(source, "/", "a supplement must be a JSON object")
    added = 0
    paths = fragment.get("paths") or {}
    if not isinstance(paths, dict):
        raise SpecError(source, "/paths", "'paths' must be an object")
    target = doc.raw.setdefault("paths", {})
    for path, item in paths.items():
        if not isinstance(item, dict):
            raise SpecError(source, f"/paths/{path}", "a path item must be an object")
        existing = target.setdefault(path, {})
        for key, value in item.items():
            if key in existing:
                continue
            if key in _METHODS:
                if not isinstance(value, dict) or not isinstance(value.get("operationId"), str):
                    raise SpecError(source, f"/paths/{path}/{key}", "needs an operationId")
                added += 1
            existing[key] = value
    components = fragment.get("components") or {}
    if not isinstance(components, dict):
        raise SpecError(source, "/components", "'components' must be an object")
    mine = doc.raw.setdefault("components", {})
    for section, entries in components.items():
        if not isinstance(entries, dict):
            raise SpecError(source, f"/components/{section}", "must be an object")
        into = mine.setdefault(section, {})
        for name, value in entries.items():
            into.setdefault(name, value)
    return added
