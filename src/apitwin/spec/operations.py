"""Operations read out of a document into plain objects, once, at start-up.

Everything a request needs (parameters with their location, style and schema, request
media types, responses by status) is gathered here so the request path never walks the
spec tree again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apitwin.spec.document import SpecDocument, SpecError, join_pointer

__all__ = [
    "HTTP_METHODS",
    "HeaderSpec",
    "MediaSpec",
    "Operation",
    "ParameterSpec",
    "RequestBodySpec",
    "ResponseSpec",
    "read_operations",
]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

NO_EXAMPLE: Any = object()


@dataclass
class ParameterSpec:
    """One declared parameter. ``schema`` is the OpenAPI schema, refs unexpanded."""

    name: str
    location: str  # path | query | header | cookie
    required: bool
    style: str
    explode: bool
    schema: Any
    pointer: str  # where the schema lives (for compiling and messages)
    allow_empty: bool = False
    content_type: str | None = None  # parameters declared with `content` instead of `schema`


@dataclass
class MediaSpec:
    """A media type of a request or response: its schema and the first usable example."""

    media_type: str
    schema: Any  # None when the document gives no schema
    pointer: str  # pointer of the schema node (or of the media object when there is none)
    example: Any = NO_EXAMPLE
    example_pointer: str = ""
    encoding: dict[str, Any] = field(default_factory=dict)


@dataclass
class HeaderSpec:
    """A documented response header; its example is the value a twin prefers."""

    name: str
    schema: Any
    pointer: str
    required: bool
    example: Any = NO_EXAMPLE
    example_pointer: str = ""


@dataclass
class RequestBodySpec:
    required: bool
    content: dict[str, MediaSpec]
    pointer: str


@dataclass
class ResponseSpec:
    status: str  # "200", "2XX" or "default"
    description: str
    content: dict[str, MediaSpec]
    headers: dict[str, HeaderSpec]
    pointer: str


@dataclass
class Operation:
    operation_id: str
    method: str  # upper case
    path: str  # the template as written in the document
    parameters: list[ParameterSpec]
    request_body: RequestBodySpec | None
    responses: dict[str, ResponseSpec]
    security: list[dict[str, list[str]]] | None  # None: inherit the document's
    pointer: str
    summary: str = ""
    deprecated: bool = False

    def success_status(self) -> str | None:
        """The documented status a twin answers with when all is well.

        The lowest 2xx, then a 2XX range; an operation that documents no success but a
        redirect or a protocol switch (Discourse's ``/t/external_id/...``, Docker's
        ``/session``) answers with that status.
        """
        numeric = sorted(s for s in self.responses if len(s) == 3 and s.isdigit())
        for code in numeric:
            if code.startswith("2"):
                return code
        for code in self.responses:
            if code.upper() == "2XX":
                return code
        for code in numeric:
            if code[0] in "13" and code != "304":
                return code
        if "default" in self.responses:
            return "default"
        return None


# Declared as a parameter, Authorization is ignored (OpenAPI 3 says so: security schemes
# describe it). Accept and Content-Type stay: documents use them to narrow the media types
# of an operation (Docker's build: application/x-tar), and the engine negotiates them.
_RESERVED_HEADERS = frozenset({"authorization"})
_DEFAULT_STYLE = {"path": "simple", "query": "form", "header": "simple", "cookie": "form"}


def _first_example(doc: SpecDocument, media: dict[str, Any], pointer: str) -> tuple[Any, str]:
    if "example" in media:
        return media["example"], join_pointer(pointer, "example")
    examples = media.get("examples")
    if isinstance(examples, dict):
        for key, entry in examples.items():
            at = join_pointer(pointer, "examples", key)
            try:
                entry = doc.resolve(entry, at)
            except SpecError as exc:
                doc.warn(at, exc.message)
                continue
            if isinstance(entry, dict) and "value" in entry:
                return entry["value"], join_pointer(at, "value")
    return NO_EXAMPLE, ""


def _read_content(doc: SpecDocument, content: Any, pointer: str) -> dict[str, MediaSpec]:
    result: dict[str, MediaSpec] = {}
    if not isinstance(content, dict):
        return result
    for media_type, media in content.items():
        at = join_pointer(pointer, media_type)
        if not isinstance(media, dict):
            doc.warn(at, "media type object is not a mapping; ignored")
            continue
        schema = media.get("schema")
        example, example_at = _first_example(doc, media, at)
        schema_at = join_pointer(at, "schema") if schema is not None else at
        encoding = media.get("encoding") if isinstance(media.get("encoding"), dict) else {}
        result[media_type.strip()] = MediaSpec(
            media_type.strip().lower(), schema, schema_at, example, example_at, encoding or {}
        )
    return result


def _read_parameter(doc: SpecDocument, node: Any, pointer: str) -> ParameterSpec | None:
    try:
        param, at = doc.resolve_with_pointer(node, pointer)
    except SpecError as exc:
        doc.warn(pointer, exc.message)
        return None
    if not isinstance(param, dict) or "name" not in param or "in" not in param:
        doc.warn(at, "parameter without name or location; ignored")
        return None
    location = str(param["in"])
    if location not in _DEFAULT_STYLE:
        doc.warn(at, f"parameter location {location!r} is not supported; ignored")
        return None
    if location == "header" and str(param["name"]).lower() in _RESERVED_HEADERS:
        return None  # a client's Accept: */* must not be refused
    style = str(param.get("style") or _DEFAULT_STYLE[location])
    explode = bool(param.get("explode", style == "form"))
    content_type = None
    if "schema" in param:
        schema, schema_at = param["schema"], join_pointer(at, "schema")
    elif isinstance(param.get("content"), dict) and param["content"]:
        content_type, media = next(iter(param["content"].items()))
        schema = media.get("schema", {}) if isinstance(media, dict) else {}
        schema_at = join_pointer(at, "content", content_type, "schema")
    else:
        schema, schema_at = {}, at
    return ParameterSpec(
        name=str(param["name"]),
        location=location,
        required=bool(param.get("required", location == "path")) or location == "path",
        style=style,
        explode=explode,
        schema=schema,
        pointer=schema_at,
        allow_empty=bool(param.get("allowEmptyValue", False)),
        content_type=content_type,
    )


def _read_responses(doc: SpecDocument, responses: Any, pointer: str) -> dict[str, ResponseSpec]:
    result: dict[str, ResponseSpec] = {}
    if not isinstance(responses, dict):
        return result
    for status, node in responses.items():
        at = join_pointer(pointer, status)
        try:
            response, response_at = doc.resolve_with_pointer(node, at)
        except SpecError as exc:
            doc.warn(at, exc.message)
            continue
        if not isinstance(response, dict):
            doc.warn(at, "response object is not a mapping; ignored")
            continue
        headers: dict[str, HeaderSpec] = {}
        for name, header in (response.get("headers") or {}).items():
            header_at = join_pointer(response_at, "headers", name)
            try:
                header, header_at = doc.resolve_with_pointer(header, header_at)
            except SpecError as exc:
                doc.warn(header_at, exc.message)
                continue
            if isinstance(header, dict):
                example, example_at = _first_example(doc, header, header_at)
                headers[name] = HeaderSpec(
                    name,
                    header.get("schema", {"type": "string"}),
                    join_pointer(header_at, "schema"),
                    bool(header.get("required", False)),
                    example,
                    example_at,
                )
        content = _read_content(doc, response.get("content"), join_pointer(response_at, "content"))
        result[str(status)] = ResponseSpec(
            str(status), str(response.get("description", "")), content, headers, response_at
        )
    return result


def read_operations(doc: SpecDocument) -> list[Operation]:
    """Every operation of the document, in document order."""
    operations: list[Operation] = []
    paths = doc.raw.get("paths") or {}
    for path, item_node in paths.items():
        item_at = join_pointer("/paths", path)
        try:
            item, item_at = doc.resolve_with_pointer(item_node, item_at)
        except SpecError as exc:
            doc.warn(item_at, exc.message)
            continue
        if not isinstance(item, dict):
            continue
        shared = item.get("parameters") or []
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            op_at = join_pointer(item_at, method)
            params: dict[tuple[str, str], ParameterSpec] = {}
            for index, node in enumerate(shared):
                spec = _read_parameter(doc, node, join_pointer(item_at, "parameters", index))
                if spec:
                    params[
                        (
                            spec.location,
                            spec.name.lower() if spec.location == "header" else spec.name,
                        )
                    ] = spec
            for index, node in enumerate(op.get("parameters") or []):
                spec = _read_parameter(doc, node, join_pointer(op_at, "parameters", index))
                if spec:
                    params[
                        (
                            spec.location,
                            spec.name.lower() if spec.location == "header" else spec.name,
                        )
                    ] = spec
            body = None
            if "requestBody" in op:
                body_at = join_pointer(op_at, "requestBody")
                try:
                    body_node, body_at = doc.resolve_with_pointer(op["requestBody"], body_at)
                except SpecError as exc:
                    doc.warn(body_at, exc.message)
                    body_node = None
                if isinstance(body_node, dict):
                    body = RequestBodySpec(
                        bool(body_node.get("required", False)),
                        _read_content(
                            doc, body_node.get("content"), join_pointer(body_at, "content")
                        ),
                        body_at,
                    )
            operations.append(
                Operation(
                    operation_id=str(op.get("operationId") or f"{method}_{path}"),
                    method=method.upper(),
                    path=path,
                    parameters=list(params.values()),
                    request_body=body,
                    responses=_read_responses(
                        doc, op.get("responses"), join_pointer(op_at, "responses")
                    ),
                    security=op.get("security") if isinstance(op.get("security"), list) else None,
                    pointer=op_at,
                    summary=str(op.get("summary") or ""),
                    deprecated=bool(op.get("deprecated", False)),
                )
            )
    return operations
