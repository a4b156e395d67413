"""The document each stateful conformance run reads: the twin's own, with the listed
corrections where the document says less than the real service does.

A twin with state answers like the service it stands for, and where the document and the
service disagree the service is the judge (docs/conventions.md). Each correction here
names such a disagreement, with the reason, and changes the copy the checker reads only;
the twin still serves its document unchanged. docs/conformance.md lists them.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

from apitwin.twins.registry import bundled_profile
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


def _operation(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = doc["paths"][path][method]
    return operation


def _parameter(doc: dict[str, Any], method: str, path: str, name: str) -> dict[str, Any]:
    for param in _operation(doc, method, path).get("parameters", []):
        if param.get("name") == name:
            found: dict[str, Any] = param
            return found
    raise KeyError(f"{method} {path}: no parameter {name}")


def _body_schema(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    schema: dict[str, Any] = _operation(doc, method, path)["requestBody"]["content"][
        "application/json"
    ]["schema"]
    return schema


def _declare(doc: dict[str, Any], method: str, path: str, status: str, text: str) -> int:
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    _operation(doc, method, path)["responses"][status] = {
        "description": text,
        "content": {"application/json": {"schema": error}},
    }
    return 1


# -- Docker Engine --------------------------------------------------------------------------

_STRINGS = {"type": "array", "items": {"type": "string"}}
_NUMBERS = {"type": "array", "items": {"type": "string", "pattern": "^-?[0-9]{1,3}$"}}
_BOOLEANS = {"type": "array", "items": {"type": "string", "enum": ["true", "false"]}}
_TIMES = {"type": "array", "items": {"type": "string", "pattern": "^[0-9]{1,10}$"}}
_STATUSES = ["created", "restarting", "running", "removing", "paused", "exited", "dead"]
# Filter names (and the values each takes) per operation, from the document's own
# descriptions of the `filters` parameter.
DOCKER_FILTERS: dict[tuple[str, str], dict[str, Any]] = {
    ("get", "/containers/json"): {
        "status": {"type": "array", "items": {"type": "string", "enum": _STATUSES}},
        "exited": _NUMBERS,
        **dict.fromkeys(("id", "name", "label", "network", "volume"), _STRINGS),
    },
    ("post", "/containers/prune"): {"until": _TIMES, "label": _STRINGS},
    ("get", "/images/json"): {"dangling": _BOOLEANS, "label": _STRINGS, "reference": _STRINGS},
    ("post", "/images/prune"): {"dangling": _BOOLEANS, "until": _TIMES, "label": _STRINGS},
    ("get", "/images/search"): {
        "is-official": _BOOLEANS,
        "is-automated": _BOOLEANS,
        "stars": {"type": "array", "items": {"type": "string", "pattern": "^[0-9]{1,4}$"}},
    },
    ("get", "/networks"): {
        "type": {"type": "array", "items": {"type": "string", "enum": ["builtin", "custom"]}},
        "dangling": _BOOLEANS,
        **dict.fromkeys(("driver", "id", "label", "name", "scope"), _STRINGS),
    },
    ("post", "/networks/prune"): {"until": _TIMES, "label": _STRINGS},
    ("get", "/volumes"): {
        "dangling": _BOOLEANS,
        **dict.fromkeys(("name", "driver", "label"), _STRINGS),
    },
    ("post", "/volumes/prune"): {"label": _STRINGS},
    ("get", "/events"): dict.fromkeys(
        (
            "config",
            "container",
            "daemon",
            "event",
            "image",
            "label",
            "network",
            "node",
            "plugin",
            "scope",
            "secret",
            "service",
            "type",
            "volume",
        ),
        _STRINGS,
    ),  # fmt: skip
}


def docker_json_filters(doc: dict[str, Any]) -> int:
    """`filters` is "a JSON encoded value of the filters (a map[string][]string)" with
    the names each description lists: a JSON object of those names to lists of strings,
    sent as JSON (the parameter's `content`)."""
    for (method, path), names in DOCKER_FILTERS.items():
        param = _parameter(doc, method, path, "filters")
        param.pop("schema", None)
        schema = {"type": "object", "properties": names, "additionalProperties": False}
        param["content"] = {"application/json": {"schema": schema}}
    return len(DOCKER_FILTERS)


def docker_profile_fixes(doc: dict[str, Any]) -> int:
    """The places the twin's profile corrects (`document_fixes`, each with its reason),
    and IPAM options as the daemon sends them: a map, null when there are none."""
    fixes = bundled_profile("docker-engine").extra.get("document_fixes") or []
    for fix in fixes:
        *parents, last = fix["pointer"].lstrip("/").split("/")
        node: Any = doc
        for part in parents:
            node = node[part]
        node[last] = copy.deepcopy(fix["value"])
    doc["components"]["schemas"]["IPAM"]["properties"]["Options"] = {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "nullable": True,
    }
    return len(fixes) + 1


def docker_nil_lists(doc: dict[str, Any]) -> int:
    """Lists the daemon leaves unset are sent as null (Go's nil slice): `SystemStatus`,
    plugin `Authorization` and `GenericResources` of /info, a volume list's `Warnings`,
    what a prune deleted when it deleted nothing. On Linux `Isolation` is ""."""
    schemas = doc["components"]["schemas"]
    places = [
        schemas["SystemInfo"]["properties"]["SystemStatus"],
        schemas["PluginsInfo"]["properties"]["Authorization"],
        schemas["GenericResources"],
    ]
    for method, path, field in (
        ("get", "/volumes", "Warnings"),
        ("post", "/images/prune", "ImagesDeleted"),
        ("post", "/containers/prune", "ContainersDeleted"),
        ("post", "/networks/prune", "NetworksDeleted"),
        ("post", "/volumes/prune", "VolumesDeleted"),
    ):
        answer = _operation(doc, method, path)["responses"]["200"]["content"]["application/json"]
        places.append(answer["schema"]["properties"][field])
    for schema in places:
        schema["nullable"] = True
    isolation = schemas["SystemInfo"]["properties"]["Isolation"]
    isolation["enum"] = ["", *isolation["enum"]]
    return len(places) + 1


_CONTAINER_NAME = "^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$"
_REFERENCE = "^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$"
_TAG = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"


def docker_request_rules(doc: dict[str, Any]) -> int:
    """Rules the daemon applies to requests and the document states only in words:
    container names `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, a network has a name, image references and tags in their
    grammar, a container is created from an `Image`, an exec needs a `Cmd`, `wait`'s
    conditions are the three it lists, logs need at least one of `stdout`/`stderr` (the
    checker's copy asks for `stdout`), `/events` times are Unix timestamps (and the
    copy asks for a window in the past: without `until` the answer never ends), a build or
    archive upload is a tar archive (never empty: an empty one is 1,024 zero bytes)."""
    changed = 0
    for method, path in (("post", "/containers/create"), ("post", "/containers/{id}/rename")):
        _parameter(doc, method, path, "name")["schema"]["pattern"] = _CONTAINER_NAME
        changed += 1
    media = _operation(doc, "post", "/containers/create")["requestBody"]["content"]
    image = {
        "required": ["Image"],
        "properties": {"Image": {"type": "string", "pattern": _REFERENCE}},
    }
    for entry in media.values():
        entry["schema"] = {"allOf": [entry["schema"], image]}
    exec_body = _body_schema(doc, "post", "/containers/{id}/exec")
    exec_body["required"] = ["Cmd"]
    exec_body["properties"]["Cmd"]["minItems"] = 1
    condition = _parameter(doc, "post", "/containers/{id}/wait", "condition")["schema"]
    condition["enum"] = ["not-running", "next-exit", "removed"]
    stdout = _parameter(doc, "get", "/containers/{id}/logs", "stdout")
    stdout["required"] = True
    stdout["schema"]["enum"] = [True]
    repo = _parameter(doc, "post", "/images/{name}/tag", "repo")
    repo["required"] = True
    repo["schema"]["pattern"] = _REFERENCE
    _parameter(doc, "post", "/images/{name}/tag", "tag")["schema"]["pattern"] = _TAG
    _parameter(doc, "post", "/images/create", "repo")["schema"]["pattern"] = _REFERENCE
    digest_or_tag = f"^(sha256:[0-9a-f]{{64}}|{_TAG[1:-1]})$"
    _parameter(doc, "post", "/images/create", "tag")["schema"]["pattern"] = digest_or_tag
    # Without `until` the daemon follows new events until the client leaves; the copy
    # asks for a window in the past (since before until), so that every answer ends.
    _parameter(doc, "get", "/events", "since")["schema"]["pattern"] = "^1[0-5][0-9]{8}$"
    until = _parameter(doc, "get", "/events", "until")
    until["required"] = True
    until["schema"]["pattern"] = "^16[0-9]{8}$"
    network = _body_schema(doc, "post", "/networks/create")
    network["properties"]["Name"]["minLength"] = 1
    build = _operation(doc, "post", "/build")["requestBody"]["content"]
    build["application/x-tar"] = build.pop("application/octet-stream")
    archive = _operation(doc, "put", "/containers/{id}/archive")["requestBody"]["content"]
    for media in archive.values():
        media["schema"]["minLength"] = 1
    return changed + 13


def docker_event_stream(doc: dict[str, Any]) -> int:
    """`GET /events` answers a stream of JSON objects, one per line, and none at all when
    nothing happened between `since` and `until`; the document gives the 200 the schema
    of one event, which cannot judge a stream, so the checker's copy names no schema."""
    answer = _operation(doc, "get", "/events")["responses"]["200"]
    answer.pop("content", None)
    return 1


def _registry_auth(**fields: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode()


def docker_registry_auth(doc: dict[str, Any]) -> int:
    """`X-Registry-Auth` is base64url of an AuthConfig JSON object (the document's
    "Authentication" section); the daemon answers 400 `invalid X-Registry-Auth header` to
    anything else. The checker's copy offers such values: the anonymous `{}` the CLI
    sends, and credentials of an account of the Hub twin."""
    values = [
        _registry_auth(),
        _registry_auth(username="moby", password="moby-password"),
        _registry_auth(username="moby", password="moby-password", serveraddress="docker.io"),
    ]
    changed = 0
    for _, item, operation in _operations(doc):
        for param in [*item.get("parameters", []), *operation.get("parameters", [])]:
            if param.get("in") == "header" and param.get("name") == "X-Registry-Auth":
                param["schema"] = {"type": "string", "enum": values}
                changed += 1
    return changed


def docker_unset_strings(doc: dict[str, Any]) -> int:
    """Go clients send "" for a string they leave unset, and the daemon reads "" as not
    set (the profile's `request_unset_values`): a required string is a non-empty one."""
    changed = 0
    for schema in _schemas(doc):
        properties, required = schema.get("properties"), schema.get("required")
        if not isinstance(properties, dict) or not isinstance(required, list):
            continue
        for name in required:
            field = properties.get(name)
            if isinstance(field, dict) and field.get("type") == "string":
                field.setdefault("minLength", 1)
                changed += 1
    return changed


def docker_unsigned(doc: dict[str, Any]) -> int:
    """Integers of format `uint64`, `uint32`, ... are Go unsigned fields: the daemon
    cannot decode a negative number into them and answers 400."""
    changed = 0
    for schema in _schemas(doc):
        if str(schema.get("format", "")).startswith("uint") and "minimum" not in schema:
            schema["minimum"] = 0
            changed += 1
    return changed


def docker_daemon_statuses(doc: dict[str, Any]) -> int:
    """Answers the daemon gives and the document leaves out: `POST /auth` relays the
    registry's refusal as 401 (later versions of the document declare it), a network
    name in use is 409 (the daemon's conflict error), and the errors of
    `/exec/{id}/start` are JSON like every other error of the daemon (the document gives
    them the raw-stream media type of the success)."""
    _declare(doc, "post", "/auth", "401", "Auth error: the registry refused the credentials")
    _declare(doc, "post", "/networks/create", "409", "A network with this name exists")
    responses = _operation(doc, "post", "/exec/{id}/start")["responses"]
    for status in ("404", "409"):
        media = responses[status]["content"]
        media["application/json"] = media["application/vnd.docker.raw-stream"]
    return 4


# -- Docker Hub and DVP ---------------------------------------------------------------------


def declare_invalid_page(doc: dict[str, Any]) -> int:
    """404 `{"detail": "Invalid page."}` on lists paged by `page`: Docker Hub's paging
    (Django REST framework's) answers it for a page past the last one."""
    changed = 0
    for _, item, operation in _operations(doc):
        params = [*item.get("parameters", []), *operation.get("parameters", [])]
        if not any(p.get("name") == "page" and p.get("in") == "query" for p in params):
            continue
        responses = operation.setdefault("responses", {})
        if "404" not in responses:
            responses["404"] = {"description": "Invalid page (added for the check)."}
            changed += 1
    return changed


def hub_token_request(doc: dict[str, Any]) -> int:
    """A personal access token's `scopes` are the four the description lists (at least
    one), and its `token_label` is not blank: the Hub answers 400 otherwise."""
    schema = doc["components"]["schemas"]["createAccessTokenRequest"]["properties"]
    schema["scopes"]["items"]["enum"] = [
        "repo:admin",
        "repo:write",
        "repo:read",
        "repo:public_read",
    ]
    schema["scopes"]["minItems"] = 1
    schema["token_label"]["pattern"] = "\\S"
    return 2


def dvp_timespans(doc: dict[str, Any]) -> int:
    """`TimespanData` is `oneOf` MonthData and WeekData, neither of which requires its
    list, so `{"months": []}` (a year without complete months) matches both: each
    requires its own list, which is how the service tells them apart."""
    schemas = doc["components"]["schemas"]
    schemas["MonthData"]["required"] = ["months"]
    schemas["WeekData"]["required"] = ["weeks"]
    return 2


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
    "drchrono": [
        (
            nullable_page_links,
            "`next` and `previous` of every paged list are declared `type: string`; "
            "drchrono answers null on the first and last page (its behaviour sheet: "
            "`next: url|null`)",
        ),
    ],
    "docker-hub": [
        (
            nullable_page_links,
            "`next` and `previous` of paged lists are `type: string` with `example: null`; "
            "Docker Hub answers null where there is no such page",
        ),
        (
            declare_invalid_page,
            "a page past the last one is 404 `Invalid page.`, as Docker Hub's paging "
            "(Django REST framework's) answers; the document declares no 404 on its lists",
        ),
        (
            hub_token_request,
            "a personal access token's scopes are the four the document's description "
            "names, and its label may not be blank; the Hub answers 400 otherwise",
        ),
    ],
    "docker-dvp": [
        (
            dvp_timespans,
            "`TimespanData` is `oneOf` two objects that require nothing, so an empty list "
            "of months or weeks matches both; each requires its own list",
        ),
    ],
    "docker-engine": [
        (
            docker_json_filters,
            "the daemon reads `filters` as a JSON map of the filter "
            "names its description lists to lists of strings, and answers 400 to anything "
            "else (`invalid filter`, `Invalid filter 'x'`); the document types it a free string",
        ),
        (
            docker_profile_fixes,
            "the twin profile's `document_fixes` (values the CLI sends "
            "and the daemon takes), and IPAM options as the daemon sends them: a map or null",
        ),
        (
            docker_nil_lists,
            "the daemon sends unset lists as null (Go nil slices), and "
            "`Isolation` as an empty string on Linux; the document declares them non-null",
        ),
        (
            docker_request_rules,
            "the daemon refuses with 400 what breaks rules the document "
            "gives in words only (names, references, conditions, a command, a stream, a tar "
            "body)",
        ),
        (
            docker_registry_auth,
            "`X-Registry-Auth` is base64url of an AuthConfig JSON object; the daemon "
            "answers 400 `invalid X-Registry-Auth header` to anything else",
        ),
        (
            docker_unset_strings,
            "the daemon reads an empty string as not set (the profile's "
            "`request_unset_values`), so a required string must not be empty",
        ),
        (
            docker_unsigned,
            "integers of a `uint` format are Go unsigned fields, which the daemon cannot "
            "decode from a negative number (400)",
        ),
        (
            docker_event_stream,
            "`GET /events` answers a stream of JSON objects (none when nothing happened in "
            "the window asked for), which a schema of one object cannot judge",
        ),
        (
            docker_daemon_statuses,
            "the daemon answers 401 from /auth, 409 for a network "
            "name in use, and JSON errors from exec start, none of which the document declares",
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
