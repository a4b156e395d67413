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


def _pointer(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.lstrip("#/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _inlined(doc: dict[str, Any], node: Any, depth: int = 0) -> Any:
    """``node`` with every ``$ref`` replaced by a copy of its target, so that a change
    to one request body leaves the answers (and other bodies) sharing the schema alone."""
    if depth > 40:
        return {}
    if isinstance(node, dict):
        if "$ref" in node:
            return _inlined(doc, _pointer(doc, node["$ref"]), depth + 1)
        return {key: _inlined(doc, value, depth + 1) for key, value in node.items()}
    if isinstance(node, list):
        return [_inlined(doc, value, depth + 1) for value in node]
    return node


def _do_account_requests() -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """Per request body, the properties that must name what this account has: the
    twin's reference data (regions, sizes, public images, Kubernetes versions)."""
    from apitwin.behaviours.digitalocean.kubernetes import VERSIONS
    from apitwin.behaviours.digitalocean.reference import DISTRIBUTIONS, REGIONS, SIZES

    regions = [r["slug"] for r in REGIONS if r["available"]]
    sizes = [s["slug"] for s in SIZES if set(regions) <= set(s["regions"])]
    images = [i["slug"] for i in DISTRIBUTIONS if set(regions) <= set(i["regions"])]
    region = {"type": "string", "enum": regions}
    # What the checker cannot name (another resource of the account) it leaves out.
    absent: dict[str, Any] = {"not": {}}
    hostname = {"type": "string", "pattern": "^[a-z][a-z0-9-]{0,30}$"}
    droplet = {
        "name": hostname,
        "names": {"type": "array", "items": hostname, "minItems": 1, "maxItems": 10},
        "region": region,
        "size": {"type": "string", "enum": sizes},
        "image": {"type": "string", "enum": images},
        "ssh_keys": absent,
        "volumes": absent,
        "vpc_uuid": absent,
        "tags": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[a-z][a-z0-9_:-]{0,20}$"},
        },
    }
    return {
        ("/v2/droplets", "post"): droplet,
        ("/v2/volumes", "post"): {"region": region, "snapshot_id": absent},
        ("/v2/vpcs", "post"): {"region": region, "ip_range": absent},
        ("/v2/images", "post"): {"region": region},
        ("/v2/kubernetes/clusters", "post"): {
            "region": region,
            "version": {"type": "string", "enum": [*VERSIONS, "latest"]},
            "size": {"type": "string", "enum": sizes},
            "vpc_uuid": absent,
        },
        ("/v2/account/keys", "post"): {
            # An OpenSSH ed25519 key: the type, then the base64 blob of its wire form.
            "public_key": {
                "type": "string",
                "pattern": "^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43}$",
            },
        },
        ("/v2/tags", "post"): {"name": {"type": "string", "pattern": "^[a-zA-Z0-9_:-]{1,255}$"}},
        ("/v2/domains", "post"): {
            "name": {"type": "string", "pattern": "^[a-z][a-z0-9]{2,20}\\.(com|net|org)$"},
            "ip_address": {"type": "string", "format": "ipv4"},
            "zone_file": absent,
        },
        ("/v2/databases/{database_cluster_uuid}/maintenance", "put"): {
            "day": {
                "type": "string",
                "enum": [
                    "monday",
                    "tuesday",
                    "wednesday",
                    "thursday",
                    "friday",
                    "saturday",
                    "sunday",
                ],
            },
        },
    }


def do_account_requests(doc: dict[str, Any]) -> int:
    """Request bodies of DigitalOcean name what the account has: each listed property
    gets the schema of the values this account accepts (its own copy of the body)."""
    changed = 0
    for (path, method), wanted in _do_account_requests().items():
        operation = doc["paths"][path][method]
        body = _inlined(doc, operation["requestBody"])
        operation["requestBody"] = body
        for schema in _schemas(body):
            properties = schema.get("properties")
            if not isinstance(properties, dict):
                continue
            for name, replacement in wanted.items():
                if name in properties:
                    properties[name] = copy.deepcopy(replacement)
                    changed += 1
            if path == "/v2/tags" and "name" in properties:
                schema["required"] = sorted({*schema.get("required", []), "name"})
    return changed


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
        (
            do_account_requests,
            "a create names the account's regions, sizes, images and other resources, and "
            "the service answers 422 to any it does not have (an unknown region slug, a "
            "size not sold there, an SSH key that is no OpenSSH key, a domain name with no "
            "dot, a tag with no name); the checker's copy describes this account: region, "
            "size, image and Kubernetes version slugs are enums of the twin's reference "
            "data, keys, domains and maintenance days get the forms the "
            "service accepts, and references to other resources of the account (SSH keys, "
            "volumes, VPCs, snapshots, certificates) are left out, since a generated id "
            "names none",
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


# The statuses positive_data_acceptance accepts by default, and per twin the operations
# that may also answer 422 to a schema-valid body, with the reason. Given to schemathesis
# as per-operation configuration (runner.run_stateful's ``config``).
DEFAULT_ACCEPTED = ("2xx", "3xx", "401", "403", "404", "409", "429", "5xx")
_TAKEN = (
    "the service answers 422 to a second {what} of the same name, and the generator "
    "repeats its short values (the document declares 409 nowhere for it)"
)
_NAMES = (
    "the body names other resources of the account by id ({what}); a generated id names "
    "none, and the service answers 422 to an id it does not have"
)
ACCEPTS_422: dict[str, dict[str, str]] = {
    "digitalocean": {
        "POST /v2/account/keys": _TAKEN.format(what="public key"),
        "POST /v2/domains": _TAKEN.format(what="domain"),
        "POST /v2/volumes": _TAKEN.format(what="volume in a region"),
        "POST /v2/volumes/{volume_id}/snapshots": _TAKEN.format(what="snapshot of a volume"),
        "POST /v2/vpcs": _TAKEN.format(what="VPC"),
        "POST /v2/firewalls": _NAMES.format(what="droplet_ids"),
        "POST /v2/load_balancers": _NAMES.format(what="droplet_ids, vpc_uuid"),
        "POST /v2/reserved_ips": _NAMES.format(what="droplet_id"),
        "POST /v2/floating_ips": _NAMES.format(what="droplet_id"),
        "POST /v2/monitoring/alerts": _NAMES.format(what="entities"),
    },
}


def stateful_config(name: str) -> str:
    """Schemathesis configuration (TOML) for ``name``'s operations listed in ACCEPTS_422."""
    accepted = ", ".join(f'"{status}"' for status in (*DEFAULT_ACCEPTED, "422"))
    sections = []
    for operation in ACCEPTS_422.get(name, {}):
        method, path = operation.split(" ", 1)
        sections.append(
            f'[[operations]]\ninclude-path = "{path}"\ninclude-method = "{method}"\n'
            f"checks.positive_data_acceptance.expected-statuses = [{accepted}]\n"
        )
    return "\n".join(sections)


def corrections_for(name: str) -> list[tuple[Correction, str]]:
    return [*EVERY_TWIN, *PER_TWIN.get(name, [])]


def corrected_document(name: str) -> dict[str, Any]:
    """The twin's vendored document with its corrections applied."""
    doc: dict[str, Any] = json.loads((SPECS / f"{name}.json").read_text())
    doc = copy.deepcopy(doc)
    for correct, _ in corrections_for(name):
        correct(doc)
    return doc
