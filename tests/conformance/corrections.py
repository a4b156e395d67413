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
from pathlib import Path
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


def _query_patterns(patterns: dict[str, str], name: str, doc_: str) -> Correction:
    """A correction giving the named query parameters, where they are free strings, the
    pattern of the values the service reads."""

    def correct(doc: dict[str, Any]) -> int:
        changed = 0
        for _, item, operation in _operations(doc):
            for param in [*item.get("parameters", []), *operation.get("parameters", [])]:
                if not isinstance(param, dict) or param.get("in") != "query":
                    continue
                schema = param.get("schema")
                pattern = patterns.get(param.get("name", ""))
                if pattern and isinstance(schema, dict) and schema.get("type") == "string":
                    schema["pattern"] = pattern
                    changed += 1
        return changed

    correct.__name__ = correct.__qualname__ = name
    correct.__doc__ = doc_
    return correct


numeric_page_parameters = _query_patterns(
    {"limit": "^(100|[1-9][0-9]?)$", "offset": "^[0-9]{1,3}$"},
    "numeric_page_parameters",
    "``limit`` and ``offset`` declared as free strings hold numbers: a limit of 1 to 100 "
    "and an offset inside the 10,000-item window.",
)
browse_page_parameters = _query_patterns(
    {"limit": "^(200|1[0-9]{2}|[1-9][0-9]?)$", "offset": "^[0-9]{1,4}$"},
    "numeric_page_parameters",
    "``limit`` and ``offset`` declared as free strings hold numbers: a limit of 1 to 200 "
    "and an offset inside the 10,000-item window.",
)
_MONTH_NAMES = (
    "january february march april may june july august september october november december"
)
month_parameter = _query_patterns(
    {
        "birthmonth": "^(0?[1-9]|1[0-2]|"
        + "|".join(f"{m[:3]}|{m}" if m != "may" else m for m in _MONTH_NAMES.split())
        + ")$"
    },
    "month_parameter",
    "``birthmonth`` is a month's name, short name or number.",
)
_MONTH_DAY = "-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"  # a day every month has
date_parameters = _query_patterns(
    {
        "since": f"^(19|20)[0-9]{{2}}{_MONTH_DAY}$",
        "date": f"^(19|20)[0-9]{{2}}{_MONTH_DAY}$",
        # the start before the end: a day of the 20th century, then one of the 21st
        "date_range": f"^19[0-9]{{2}}{_MONTH_DAY}/20[0-9]{{2}}{_MONTH_DAY}$",
    },
    "date_parameters",
    "``since``, ``date`` and ``date_range`` declared as free strings hold days "
    "(``YYYY-MM-DD``, and ``YYYY-MM-DD/YYYY-MM-DD`` from the earlier to the later).",
)


def int64_query_parameters(doc: dict[str, Any]) -> int:
    """Integer query parameters without bounds hold 64-bit integers."""
    changed = 0
    for _, item, operation in _operations(doc):
        for param in [*item.get("parameters", []), *operation.get("parameters", [])]:
            if not isinstance(param, dict) or param.get("in") != "query":
                continue
            schema = param.get("schema")
            if isinstance(schema, dict) and schema.get("type") == "integer":
                schema.setdefault("minimum", -(2**63))
                schema.setdefault("maximum", 2**63 - 1)
                changed += 1
    return changed


def _body_schema(doc: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    operation = doc["paths"][path][method]
    schema = _resolve(doc, operation["requestBody"]["content"]["application/json"]["schema"])
    return schema if isinstance(schema, dict) else {}


def _text_at_least(length: int) -> str:
    """A pattern for text that keeps ``length`` characters once stripped of spaces."""
    return rf"\S[\s\S]{{{length - 2},}}\S" if length > 1 else r"\S"


def discourse_validations(doc: dict[str, Any]) -> int:
    """The model validations of Discourse's writes: a topic's title keeps 15 characters,
    a post 20, a category has a name, so none of these writes goes without a body (an object:
    the 3.1 document gives the bodies no type, so JSON ``null`` was valid);
    refusals are 422 (a reply to a topic that does not exist too), an edit of a post that
    does not exist 404."""
    topic = _body_schema(doc, "/posts.json", "post")["properties"]
    topic["title"]["pattern"] = _text_at_least(15)
    topic["raw"]["pattern"] = _text_at_least(20)
    edit = _body_schema(doc, "/posts/{id}.json", "put")
    edit["required"] = ["post"]
    edit["properties"]["post"]["properties"]["raw"]["pattern"] = _text_at_least(20)
    category = _body_schema(doc, "/categories.json", "post")["properties"]
    category["name"]["pattern"] = _text_at_least(1)
    errors = {
        "404": {"description": "No such record (added for the check)."},
        "422": {"description": "A validation refused the write (added for the check)."},
    }
    for path, method in (("/posts.json", "post"), ("/posts/{id}.json", "put")):
        doc["paths"][path][method]["responses"].update(copy.deepcopy(errors))
    for path, method in (
        ("/posts.json", "post"),
        ("/posts/{id}.json", "put"),
        ("/categories.json", "post"),
    ):
        doc["paths"][path][method]["requestBody"]["required"] = True
        _body_schema(doc, path, method)["type"] = "object"
    doc["paths"]["/categories.json"]["post"]["responses"]["422"] = copy.deepcopy(errors["422"])
    return 14


def discourse_category_fields(doc: dict[str, Any]) -> int:
    """Every category answer has the category's parent, and the update answers the
    permission level as an integer, as create and show do."""
    paths = doc["paths"]
    answers = [
        (paths["/categories.json"]["post"], ("category",)),
        (paths["/categories/{id}.json"]["put"], ("category",)),
        (paths["/c/{id}/show.json"]["get"], ("category",)),
        (paths["/categories.json"]["get"], ("category_list", "categories", "items")),
    ]
    for operation, route in answers:
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        for step in route:
            schema = _resolve(
                doc, schema["properties"][step] if step != "items" else schema["items"]
            )
        schema["properties"]["parent_category_id"] = {"type": ["integer", "null"]}
    update = paths["/categories/{id}.json"]["put"]["responses"]["200"]["content"]
    category = _resolve(doc, update["application/json"]["schema"]["properties"]["category"])
    category["properties"]["permission"] = {"type": ["integer", "null"]}  # as create and show
    return len(answers) + 1


def discourse_search_topics(doc: dict[str, Any]) -> int:
    """A search answers the topics of the posts it found."""
    operation = doc["paths"]["/search.json"]["get"]
    schema = _resolve(doc, operation["responses"]["200"]["content"]["application/json"]["schema"])
    schema["properties"]["topics"] = {"type": "array", "items": {"type": "object"}}
    return 1


def _properties(doc: dict[str, Any], schema: Any) -> dict[str, Any]:
    """An object schema's properties through $ref and allOf."""
    schema = _resolve(doc, schema)
    if not isinstance(schema, dict):
        return {}
    found: dict[str, Any] = {}
    for part in schema.get("allOf") or []:
        found.update(_properties(doc, part))
    found.update(schema.get("properties") or {})
    return found


def dracoon_list_language(doc: dict[str, Any]) -> int:
    """``filter`` and ``sort`` of a list hold DRACOON's language over the listed items'
    fields: ``FIELD:OPERATOR:VALUE`` clauses joined by ``|``, ``FIELD[:asc|desc]`` terms."""
    changed = 0
    for _, item, operation in _operations(doc):
        answer = _json_schema(doc, operation)
        listed = _resolve(doc, (answer or {}).get("properties", {}).get("items"))
        if not isinstance(listed, dict) or listed.get("type") != "array":
            continue
        fields = "|".join(sorted(_properties(doc, listed.get("items"))))
        if not fields:
            continue
        clause = f"({fields}):(eq|neq|cn|sw|ge|le):[^:|]+"
        term = f"({fields})(:(asc|desc))?"
        patterns = {"filter": f"^{clause}(\\|{clause})*$", "sort": f"^{term}(\\|{term})*$"}
        for param in [*item.get("parameters", []), *operation.get("parameters", [])]:
            param = _resolve(doc, param)
            schema = param.get("schema") if isinstance(param, dict) else None
            pattern = patterns.get(param.get("name", "")) if param.get("in") == "query" else None
            if pattern and isinstance(schema, dict) and schema.get("type") == "string":
                schema["pattern"] = pattern
                changed += 1
    return changed


def dracoon_json_errors(doc: dict[str, Any]) -> int:
    """Errors are JSON ErrorResponses, also where the success answers text or a file."""
    changed = 0
    for _, _, operation in _operations(doc):
        for status, response in (operation.get("responses") or {}).items():
            content = response.get("content") if isinstance(response, dict) else None
            if not str(status).startswith("4") or not content or "application/json" in content:
                continue
            content["application/json"] = {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}
            changed += 1
    return changed


def dracoon_login_fields(doc: dict[str, Any]) -> int:
    """A login names its user (the document requires only the password)."""
    login = doc["components"]["schemas"]["LoginRequest"]
    login["required"] = sorted({*login.get("required", []), "userName"})
    login["properties"]["userName"]["pattern"] = r"\S"
    return 1


def _ebay_search_language() -> Correction:
    """``filter`` and ``sort`` of eBay's item search hold its language over the fields
    the profile lists: set clauses (``buyingOptions:{FIXED_PRICE|AUCTION}``, joined by
    commas) and named orders (``price``, ``-price``)."""
    rule = next(
        r for r in bundled_profile("ebay-browse").extra["filters"] if r["language"] == "ebay"
    )
    word = "[A-Za-z0-9_]+"
    ranges = {"itemEndDate", "itemStartDate", "priceCurrency"}  # dates, price's currency
    sets = sorted(
        name
        for name, spec in rule["fields"].items()
        if isinstance(spec, str) and name not in ranges
    )
    clause = f"({'|'.join(sets)}):\\{{{word}(\\|{word})*\\}}"
    conditions = rule["fields"]["conditions"]["values"]
    clause = f"({clause}|conditions:\\{{({'|'.join(sorted(conditions))})\\}})"
    return _query_patterns(
        {
            "filter": f"^{clause}(,{clause})*$",
            "sort": f"^-?({'|'.join(sorted(rule['sort']))})$",
        },
        "search_language",
        _ebay_search_language.__doc__ or "",
    )


search_language = _ebay_search_language()


def _resolve(doc: dict[str, Any], node: Any) -> Any:
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 20:
        target: Any = doc
        for part in str(node["$ref"]).lstrip("#/").split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        node, seen = target, seen + 1
    return node


def _json_schema(doc: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any] | None:
    for status, response in (operation.get("responses") or {}).items():
        if not str(status).startswith("2"):
            continue
        content = (_resolve(doc, response) or {}).get("content") or {}
        schema = _resolve(doc, (content.get("application/json") or {}).get("schema"))
        if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
            return schema
    return None


def write_fields_typed_as_resource(doc: dict[str, Any]) -> int:
    """Query parameters of a write that name a field of the resource take that field's
    schema (its enum, its format) where both have one type: the service checks what is
    written against the resource. Where the types differ (an integer parameter for a
    string field) the parameter keeps its own: its text is valid for both."""
    changed = 0
    for _, item, operation in _operations(doc):
        if (
            operation is not item.get("post")
            and operation is not item.get("put")
            and (operation is not item.get("patch"))
        ):
            continue
        resource = _json_schema(doc, operation) or _json_schema(doc, item.get("get") or {})
        if resource is None:
            continue
        for param in operation.get("parameters", []):
            if not isinstance(param, dict) or param.get("in") != "query":
                continue
            field = _resolve(doc, resource["properties"].get(param.get("name")))
            if not isinstance(field, dict) or field.get("readOnly"):
                continue
            declared = param.get("schema") or {}
            if field.get("type") not in ("string", "integer", "number", "boolean"):
                continue
            if field.get("type") != declared.get("type"):
                continue
            typed = {k: v for k, v in field.items() if k not in ("nullable", "example")}
            if typed != param.get("schema"):
                param["schema"] = copy.deepcopy(typed)
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
    # A cluster's nodes are droplets, within the account's droplet limit.
    nodes = {"type": "integer", "minimum": 1, "maximum": 3}
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
            "count": nodes,
            "vpc_uuid": absent,
        },
        ("/v2/kubernetes/clusters/{cluster_id}/node_pools", "post"): {
            "size": {"type": "string", "enum": sizes},
            "count": nodes,
        },
        ("/v2/kubernetes/clusters/{cluster_id}/node_pools/{node_pool_id}", "put"): {
            "count": nodes,
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
def _operation(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = doc["paths"][path][method]
    return operation


def _parameter(doc: dict[str, Any], method: str, path: str, name: str) -> dict[str, Any]:
    for param in _operation(doc, method, path).get("parameters", []):
        if param.get("name") == name:
            found: dict[str, Any] = param
            return found
    raise KeyError(f"{method} {path}: no parameter {name}")


def _request_body_schema(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
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
    exec_body = _request_body_schema(doc, "post", "/containers/{id}/exec")
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
    network = _request_body_schema(doc, "post", "/networks/create")
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


def digitalnz_fields(doc: dict[str, Any]) -> int:
    """``fields`` names record fields, comma-separated, or is ``verbose``/``default``."""
    names = "|".join(sorted(doc["components"]["schemas"]["record"]["properties"]))
    schema = doc["components"]["parameters"]["fields"]["schema"]
    schema["pattern"] = f"^(verbose|default|({names})(,({names}))*)$"
    return 1


def digitalnz_template_parameters(doc: dict[str, Any]) -> int:
    """Parameters whose names are templates (``without[{filter_field}]``) are not sent
    as written."""
    changed = 0
    for _, item, operation in _operations(doc):
        for holder in (item, operation):
            params = holder.get("parameters") or []
            kept = [p for p in params if "{" not in str(p.get("name", "")) or "$ref" in p]
            changed += len(params) - len(kept)
            if params:
                holder["parameters"] = kept
    return changed


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
        (
            date_parameters,
            "`since` (120 operations), `date` and `date_range` are declared as free strings; "
            "drchrono reads them as days (`since=2014-02-24`, `date_range=2014-02-24/"
            "2014-02-28`, its API documentation) and answers 400 `{detail}` to anything else",
        ),
        (
            write_fields_typed_as_resource,
            "no write declares a body: the generator copied the list filters onto writes as "
            "query parameters, typed as filters (`gender` any string, `status` of an "
            "appointment any string) where the resource narrows them (`gender` and `status` "
            "are enums); drchrono validates what is written against the resource (its "
            "serializer) and answers 400 `{detail}` otherwise",
        ),
        (
            int64_query_parameters,
            "integer query parameters are declared without a format; drchrono's ids and "
            "integer fields are 64-bit database columns (Django on PostgreSQL), and a write "
            "past 64 bits is answered 400 `{detail}`",
        ),
    ],
    "discourse": [
        (
            discourse_validations,
            "the write bodies are plain strings where Discourse's models validate them: a "
            "topic title keeps at least 15 characters and a post at least 20 once stripped "
            "(site settings min_topic_title_length, min_first_post_length and "
            "min_post_length), a category needs a name, so these writes need their body, an "
            "object (the document leaves it optional and untyped), and an edit needs its "
            "`post`; it refuses with 422 `{errors}` (a reply to a topic that does not "
            'exist too, "Topic not found"), where the document declares only the 200 of '
            "these writes",
        ),
        (
            discourse_category_fields,
            "a category answer carries `parent_category_id` (Discourse's category serializer "
            "sends it, null for a top-level category; the document's closed category schemas "
            "omit it), and `permission` is the same integer level (1 full, 2 create post, 3 "
            "read only) in every category answer, where the document types it a string in "
            "the update's answer alone",
        ),
        (
            discourse_search_topics,
            "a search answers the topics of the posts it found (`topics`, which clients "
            "read to show a post's topic title); the document's closed schema omits them",
        ),
    ],
    "dracoon": [
        (
            dracoon_list_language,
            "`filter` and `sort` of the lists are declared as free strings; they hold "
            "DRACOON's language over the listed items' fields (`FIELD_NAME:OPERATOR:VALUE` "
            "clauses joined by `|`, operators eq, neq, cn, sw, ge, le; `FIELD:asc|desc`), as "
            "the parameters' descriptions say, and DRACOON answers 400 (errorCode -80000) to "
            "anything else",
        ),
        (
            dracoon_json_errors,
            "operations that answer text or a file (`GET /v4/user/ping`, the zip download) "
            "declare their errors in that media type; DRACOON answers every error as a JSON "
            "ErrorResponse `{code, message, debugInfo, errorCode}`",
        ),
        (
            dracoon_login_fields,
            "LoginRequest requires only `password`; DRACOON refuses a login without a user "
            "name with 400 'Mandatory fields cannot be empty: userName'",
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
    "ebay-browse": [
        (
            search_language,
            "`filter` and `sort` of the item search are declared as free strings; they hold "
            "eBay's filter language (`field:{A|B}`, `field:[low..high]`, clauses joined by "
            "commas, over the fields the search documents) and named orders (`price`, "
            "`-price`, `newlyListed`, `endingSoonest`, `distance`), and eBay answers 400 "
            "with errorId 12002 or 12008 to anything else",
        ),
        (
            browse_page_parameters,
            "`limit` and `offset` of the item search are declared as free strings; eBay "
            "reads them as numbers (a limit of 1 to 200, an offset within the 10,000 items a "
            "search returns) and answers 400 with errorId 12005 to 12007 to anything else",
        ),
    ],
    "nookipedia": [
        (
            month_parameter,
            "`birthmonth` is declared a free string, and its description says what it holds: "
            "the month's name (`jan`, `january`) or number (`01`, `1`); Nookipedia answers "
            "400 to anything else",
        ),
    ],
    "digitalnz": [
        (
            digitalnz_template_parameters,
            "`without[{filter_field}]` and `and[or][{filter_field}][]` are templates of "
            "parameter names, `{filter_field}` standing for a record field; a client sends "
            "`without[category]`, and DigitalNZ answers its FieldError to the template's "
            "literal name, which names no field",
        ),
        (
            digitalnz_fields,
            "`fields` is declared a free string; its description says it is a "
            "comma-separated list of record fields (or `verbose`), and DigitalNZ answers "
            "its FieldError to a name that is no field",
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
_NODES = (
    "a cluster's nodes are droplets of the account and count against its droplet limit; "
    "the service answers 422 to nodes past it, and the stateful phase adds pools and "
    "grows them"
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
        "POST /v2/kubernetes/clusters": _NODES,
        "POST /v2/kubernetes/clusters/{cluster_id}/node_pools": _NODES,
        "PUT /v2/kubernetes/clusters/{cluster_id}/node_pools/{node_pool_id}": _NODES,
    },
}


# drchrono's serializers check that the records a write names exist: a `patient`,
# `doctor`, `office`, `appointment` or `exam_room` that does not is refused with 400
# `{"patient": ["Invalid pk \"99\" - object does not exist."]}`. The document declares
# these writes' fields as query parameters with no notion of existence, and a generated
# id names no record, so those writes may answer 400.
DRCHRONO_REFERENCES = frozenset({"patient", "doctor", "office", "appointment", "exam_room"})


def _drchrono_reference_writes() -> dict[str, str]:
    doc = json.loads((SPECS / "drchrono.json").read_text())
    found = {}
    for path, item, operation in _operations(doc):
        for method in ("post", "put", "patch"):
            if item.get(method) is not operation:
                continue
            names = {
                str(p.get("name"))
                for p in [*item.get("parameters", []), *operation.get("parameters", [])]
                if isinstance(p, dict) and p.get("in") == "query"
            }
            if names & DRCHRONO_REFERENCES:
                found[f"{method.upper()} {path}"] = "a write naming records that must exist"
    return found


# Per twin: the refusal status some operations may answer valid data with, and which
# operations (with the reason), as the service refuses what the document cannot describe.
ACCEPTED_REFUSALS: dict[str, Callable[[], tuple[str, dict[str, str]]]] = {
    "digitalocean": lambda: ("422", ACCEPTS_422["digitalocean"]),
    "drchrono": lambda: ("400", _drchrono_reference_writes()),
}


def _accepted_refusals(name: str) -> tuple[str, dict[str, str]]:
    found = ACCEPTED_REFUSALS.get(name)
    return found() if found is not None else ("422", {})


def stateful_config(name: str) -> str:
    """Schemathesis configuration (TOML) for ``name``'s operations that may refuse valid
    data for what the document cannot say (ACCEPTS_422, DRCHRONO_REFERENCES)."""
    status, operations = _accepted_refusals(name)
    accepted = ", ".join(f'"{code}"' for code in (*DEFAULT_ACCEPTED, status))
    sections = []
    for operation in operations:
        method, path = operation.split(" ", 1)
        sections.append(
            f'[[operations]]\ninclude-path = "{path}"\ninclude-method = "{method}"\n'
            f"checks.positive_data_acceptance.expected-statuses = [{accepted}]\n"
        )
    return "\n".join(sections)


def corrections_for(name: str) -> list[tuple[Correction, str]]:
    return [*EVERY_TWIN, *PER_TWIN.get(name, [])]


def served_spec(name: str, directory: Path) -> Path:
    """The document the twin serves, for the stateless runs: the vendored one with the
    profile's own ``document_fixes`` (which the twin applies before compiling: drchrono's
    exam rooms as a list, the request members Discourse and the Docker CLI send), written
    into ``directory``; the vendored file itself when the profile fixes nothing."""
    vendored = SPECS / f"{name}.json"
    doc: dict[str, Any] = json.loads(vendored.read_text())
    if not profile_document_fixes(name)(doc):
        return vendored
    served = directory / f"{name}.json"
    served.write_text(json.dumps(doc))
    return served


def corrected_document(name: str) -> dict[str, Any]:
    """The twin's vendored document with its corrections applied."""
    doc: dict[str, Any] = json.loads((SPECS / f"{name}.json").read_text())
    doc = copy.deepcopy(doc)
    for correct, _ in corrections_for(name):
        correct(doc)
    return doc
