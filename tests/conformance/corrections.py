"""The document each stateful conformance run reads: the twin's own, with the listed
corrections where the document says less than the real service does.

A twin with state answers like the service it stands for, and where the document and the
service disagree the service is the judge (docs/conventions.md). Each correction here
names such a disagreement, with the reason, and changes the copy the checker reads only;
the twin still serves its document unchanged. docs/conformance.md lists them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

from tests.conformance.runner import SPECS

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

Correction = Callable[[dict[str, Any]], int]  # changes the document, returns how many places


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for path, item in (doc.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method in METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                yield path, item, operation


def declare_not_found(doc: dict[str, Any]) -> int:
    """404 on operations that address a resource by path parameter and declare no 404:
    an id no resource has is not found, at the twin as at the service."""
    changed = 0
    for path, _, operation in _operations(doc):
        responses = operation.setdefault("responses", {})
        if "{" not in path or "404" in responses or "default" in responses:
            continue
        responses["404"] = {"description": "No resource has this id (added for the check)."}
        changed += 1
    return changed


def _schemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas(value)


def nullable_page_links(doc: dict[str, Any]) -> int:
    """``next`` and ``previous`` of a page object may be null: there is no next page
    after the last one, nor a previous one before the first."""
    changed = 0
    for schema in _schemas(doc):
        properties = schema.get("properties")
        if not isinstance(properties, dict) or not {"next", "previous"} <= set(properties):
            continue
        for name in ("next", "previous"):
            link = properties[name]
            if isinstance(link, dict) and link.get("type") == "string" and not link.get("nullable"):
                link["nullable"] = True
                changed += 1
    return changed


def numeric_page_parameters(doc: dict[str, Any]) -> int:
    """``limit`` and ``offset`` query parameters declared as free strings hold numbers:
    a limit of 1 to 100 and an offset inside the 10,000-item window."""
    patterns = {"limit": "^(100|[1-9][0-9]?)$", "offset": "^[0-9]{1,3}$"}
    changed = 0
    for _, item, operation in _operations(doc):
        for param in [*item.get("parameters", []), *operation.get("parameters", [])]:
            if not isinstance(param, dict) or param.get("in") != "query":
                continue
            schema = param.get("schema")
            name = param.get("name")
            if name in patterns and isinstance(schema, dict) and schema.get("type") == "string":
                schema["pattern"] = patterns[name]
                changed += 1
    return changed


def profile_document_fixes(name: str) -> Correction:
    """The profile's own ``document_fixes`` (engine/twin.py), which the twin serves with."""

    def correct(doc: dict[str, Any]) -> int:
        profile = json.loads((SPECS.parent / "profiles" / f"{name}.json").read_text())
        changed = 0
        for fix in profile.get("document_fixes") or []:
            parent_pointer, _, key = str(fix["pointer"]).rpartition("/")
            node: Any = doc
            for part in parent_pointer.strip("/").split("/") if parent_pointer else []:
                node = node[part.replace("~1", "/").replace("~0", "~")]
            node[key.replace("~1", "/").replace("~0", "~")] = copy.deepcopy(fix["value"])
            changed += 1
        return changed

    correct.__name__ = "profile_document_fixes"
    return correct


def app_urns(doc: dict[str, Any]) -> int:
    """Project resource URNs in answers may name apps (``do:app:<uuid>``); requests keep
    the document's pattern, which the twin validates them with (the request bodies refer
    to the answers' URN schema, so they get a copy of it as it was)."""
    answers = [op.get("responses") for _, _, op in _operations(doc)]
    urns = [
        schema
        for schema in _schemas(answers)
        if str(schema.get("pattern", "")).startswith("^do:(dbaas|domain|droplet")
    ]
    for _, _, op in _operations(doc):
        for schema in _schemas(op.get("requestBody")):
            items = schema.get("items")
            if isinstance(items, dict) and str(items.get("$ref", "")).endswith("/urn") and urns:
                schema["items"] = copy.deepcopy(urns[0])
    for schema in urns:
        schema["pattern"] = schema["pattern"].replace("^do:(", "^do:(app|", 1)
    return len(urns)


# (correction, reason) for every twin, then per twin.
EVERY_TWIN: list[tuple[Correction, str]] = [
    (
        declare_not_found,
        "an operation with a path parameter may answer 404 even where the document "
        "declares no 404: a twin with state answers 404 in the API's error shape to an id "
        "no resource has, as the service does (dnd5e, Nookipedia, Discourse and Docker Hub "
        "declare no 404 on most item paths, yet answer it)",
    ),
]
PER_TWIN: dict[str, list[tuple[Correction, str]]] = {
    "digitalocean": [
        (
            app_urns,
            "the URN pattern of project resources leaves out apps, yet App Platform apps "
            "belong to projects (`do:app:<id>`, the URN the document's own "
            "`apps_create` `project_id` assigns); the twin lists them",
        ),
    ],
    "drchrono": [
        (
            nullable_page_links,
            "`next` and `previous` of every paged list are declared `type: string`; "
            "drchrono answers null on the first and last page (its behaviour sheet: "
            "`next: url|null`)",
        ),
        (
            profile_document_fixes("drchrono"),
            "an office's `exam_rooms` is declared a string; drchrono answers a list of rooms "
            "(`index`, `name`, `online_scheduling`), which the twin serves through the "
            "profile's `document_fixes`",
        ),
    ],
    "docker-hub": [
        (
            nullable_page_links,
            "`next` and `previous` of paged lists are `type: string` with `example: null`; "
            "Docker Hub answers null where there is no such page",
        ),
    ],
    "ebay-deal": [
        (
            numeric_page_parameters,
            "`limit` and `offset` are declared as free strings; eBay reads them as numbers "
            "(a limit up to 100, an offset within the 10,000 items a search returns) and "
            "answers 400 with errorId 180002 or 180003 to anything else, as the document's "
            "own 400 responses list",
        ),
    ],
}


def corrections_for(name: str) -> list[tuple[Correction, str]]:
    return [*EVERY_TWIN, *PER_TWIN.get(name, [])]


def corrected_document(name: str) -> dict[str, Any]:
    """The twin's vendored document with its corrections applied."""
    doc: dict[str, Any] = json.loads((SPECS / f"{name}.json").read_text())
    doc = copy.deepcopy(doc)
    for correct, _ in corrections_for(name):
        correct(doc)
    return doc
