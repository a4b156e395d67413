"""Reading an OpenAPI document from disk into a normalized :class:`SpecDocument`.

Real documents are rarely clean. Everything that can be worked around is fixed here, once,
on the loaded tree (in place) and reported as a warning; only what cannot be served raises
:class:`SpecError`. The walk touches paths, operations and components only, so that large
documents (1-2 MB of JSON) load in a few milliseconds.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import yaml

from apitwin.spec.document import SpecDocument, SpecError, join_pointer
from apitwin.spec.swagger2 import convert_swagger2

__all__ = ["HTTP_METHODS", "load_document"]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

_YAML_EXTENSIONS = (".yaml", ".yml")
_VERSION_30 = re.compile(r"3\.0(\.\d+)?(-[0-9A-Za-z.-]+)?")
_VERSION_31 = re.compile(r"3\.1(\.\d+)?(-[0-9A-Za-z.-]+)?")
_TEMPLATE_VAR = re.compile(r"\{([^{}/]+)\}")
_NOT_WORD = re.compile(r"[^A-Za-z0-9]+")
_ABSOLUTE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


# -- YAML ------------------------------------------------------------------------------

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _SpecLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """A safe loader with YAML 1.2 core scalars and string mapping keys.

    The YAML 1.1 rules of PyYAML turn ``2020-01-01`` into a date, ``yes``/``off`` into
    booleans and ``12:30`` into an integer; in an OpenAPI document these are examples and
    enum values that must stay as written, so only the YAML 1.2 core forms are resolved.
    """

    yaml_implicit_resolvers: dict[Any, Any] = {}

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep)
        if all(isinstance(key, str) for key in mapping):
            return mapping
        return {_yaml_key(key): value for key, value in mapping.items()}


def _yaml_key(key: Any) -> str:
    """A mapping key as a string (response codes are written ``200:``)."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


def _construct_plain_string(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
_SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_SpecLoader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])
# An explicit ``!!timestamp`` stays a string as well.
_SpecLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_plain_string)


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    """YAML 1.2 integers (``0o17`` octal, no ``_`` separators or sexagesimals)."""
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    if text.startswith("0o"):
        return int(text[2:], 8)
    return int(text, 0) if text.startswith("0x") else int(text, 10)


def _construct_float(loader: yaml.SafeLoader, node: yaml.Node) -> float:
    text = str(loader.construct_scalar(node)).lower()  # type: ignore[arg-type]
    if text.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text == ".nan":
        return float("nan")
    return float(text)


_SpecLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_SpecLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)


# -- parsing ---------------------------------------------------------------------------


def _parse_json(data: bytes) -> Any:
    return orjson.loads(data)


def _parse_yaml(data: bytes) -> Any:
    return yaml.load(data, Loader=_SpecLoader)  # noqa: S506 - a safe loader subclass


def _json_error(exc: orjson.JSONDecodeError) -> str:
    return f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"


def _yaml_error(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "syntax error"
        if mark is not None:
            return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
        return f"invalid YAML: {problem}"
    return f"invalid YAML: {exc}"


def _parse(name: str, data: bytes) -> tuple[Any, str | None]:
    """Parse JSON or YAML, choosing by extension and falling back to the other.

    Gives the tree and, when the fallback parser was needed, a note for a warning.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lowered = name.lower()
    if lowered.endswith(_YAML_EXTENSIONS):
        yaml_first = True
    elif lowered.endswith(".json"):
        yaml_first = False
    else:
        yaml_first = data.lstrip()[:1] not in (b"{", b"[")
    first_error: str
    try:
        return (_parse_yaml(data) if yaml_first else _parse_json(data)), None
    except orjson.JSONDecodeError as exc:
        first_error = _json_error(exc)
    except yaml.YAMLError as exc:
        first_error = _yaml_error(exc)
    except (RecursionError, ValueError) as exc:
        first_error = f"cannot parse: {exc}"
    try:
        tree = _parse_json(data) if yaml_first else _parse_yaml(data)
    except (yaml.YAMLError, RecursionError, ValueError):
        raise SpecError(name, "/", first_error) from None
    if not isinstance(tree, dict):
        raise SpecError(name, "/", first_error)
    other = "JSON" if yaml_first else "YAML"
    return tree, f"{first_error}; read as {other} instead"


# -- checks ----------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _version(name: str, raw: dict[str, Any]) -> tuple[str, str]:
    """The engine version ("2.0", "3.0", "3.1") and the version as written."""
    if "openapi" in raw:
        field, value = "openapi", raw["openapi"]
    elif "swagger" in raw:
        field, value = "swagger", raw["swagger"]
    else:
        raise SpecError(
            name, "/", "not an OpenAPI document: no 'openapi' or 'swagger' field at the top"
        )
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # ``swagger: 2.0`` unquoted in YAML
    pointer = "/" + field
    if not isinstance(value, str):
        raise SpecError(name, pointer, f"version must be a string, got {_kind(value)}")
    value = value.strip()
    if field == "swagger":
        if value in ("2.0", "2"):
            return "2.0", value
        raise SpecError(
            name, pointer, f"unsupported Swagger version {value!r} (only 2.0 is supported)"
        )
    if _VERSION_30.fullmatch(value):
        return "3.0", value
    if _VERSION_31.fullmatch(value):
        return "3.1", value
    raise SpecError(
        name, pointer, f"unsupported OpenAPI version {value!r} (supported: 2.0, 3.0.x, 3.1.x)"
    )


def _check_paths(name: str, raw: dict[str, Any]) -> list[tuple[str, str]]:
    """Refuse a ``paths`` tree the engine cannot walk; an absent one becomes empty."""
    paths = raw.get("paths")
    if paths is None:
        raw["paths"] = {}
        return [("/paths", "the document has no paths: the twin serves no operations")]
    if not isinstance(paths, dict):
        raise SpecError(name, "/paths", f"paths must be a mapping, got {_kind(paths)}")
    for path, item in paths.items():
        if path.startswith("x-"):
            continue
        pointer = join_pointer("/paths", path)
        if not isinstance(item, dict):
            raise SpecError(name, pointer, f"path item must be a mapping, got {_kind(item)}")
        for method in HTTP_METHODS:
            if method in item and not isinstance(item[method], dict):
                raise SpecError(
                    name,
                    join_pointer(pointer, method),
                    f"operation must be a mapping, got {_kind(item[method])}",
                )
    return []


# -- normalization ---------------------------------------------------------------------


def _content(doc: SpecDocument, owner: Any, pointer: str, *tokens: str | int) -> None:
    """Warn about media types without a schema (``owner`` holds a ``content`` map).

    The pointer of ``owner`` is ``pointer`` plus ``tokens``, joined only for a warning:
    building thousands of pointers that are never shown is most of the walk's cost.
    """
    if not isinstance(owner, dict) or "$ref" in owner:
        return
    content = owner.get("content")
    if not isinstance(content, dict):
        return
    for media, entry in content.items():
        if isinstance(entry, dict) and "schema" in entry:
            continue
        at = join_pointer(pointer, *tokens, "content", media)
        if entry is None or isinstance(entry, dict):
            doc.warn(at, f"media type {media!r} has no schema")
        else:
            doc.warn(
                at, f"media type object must be a mapping, got {_kind(entry)}; it has no schema"
            )
        if entry is None or not isinstance(entry, dict):
            content[media] = {}


def _responses(doc: SpecDocument, responses: Any, pointer: str) -> None:
    if isinstance(responses, dict):
        for code, response in responses.items():
            _content(doc, response, pointer, "responses", code)


def _parameters_content(doc: SpecDocument, params: Any, pointer: str) -> None:
    if isinstance(params, list):
        for index, param in enumerate(params):
            if isinstance(param, dict) and "content" in param:
                _content(doc, param, pointer, "parameters", index)


def _components(doc: SpecDocument) -> None:
    components = doc.raw.get("components")
    if not isinstance(components, dict):
        return
    for section in ("requestBodies", "responses", "parameters"):
        entries = components.get(section)
        if isinstance(entries, dict):
            for key, value in entries.items():
                _content(doc, value, "/components", section, key)
    schemes = components.get("securitySchemes")
    if isinstance(schemes, dict):
        for key, scheme in schemes.items():
            if isinstance(scheme, dict) and scheme.get("type") == "oauth2":
                _oauth2(doc, scheme, join_pointer("/components/securitySchemes", key))


def _oauth2(doc: SpecDocument, scheme: dict[str, Any], pointer: str) -> None:
    flows = scheme.get("flows")
    if not isinstance(flows, dict):
        return
    for flow_name, flow in flows.items():
        if not isinstance(flow, dict):
            continue
        for field in ("authorizationUrl", "tokenUrl", "refreshUrl"):
            url = flow.get(field)
            if isinstance(url, str) and url and not _ABSOLUTE_URL.match(url):
                doc.warn(
                    join_pointer(pointer, "flows", flow_name, field),
                    f"relative {field} {url!r} will be resolved against the twin's base URL",
                )


def _param_identity(doc: SpecDocument, param: Any, pointer: str) -> tuple[Any, Any]:
    """(name, in) of a parameter, following a ``$ref``; (None, None) when unknown."""
    if isinstance(param, dict) and "$ref" in param:
        try:
            param = doc.resolve(param, pointer)
        except SpecError:
            return None, None
    if not isinstance(param, dict):
        return None, None
    return param.get("name"), param.get("in")


def _drop_unused_path_params(
    doc: SpecDocument, owner: dict[str, Any], pointer: str, template: set[str], what: str
) -> set[str]:
    """Drop path parameters of ``owner`` not in the template; give the declared names."""
    params = owner.get("parameters")
    if not isinstance(params, list):
        return set()
    declared: set[str] = set()
    kept: list[Any] = []
    for index, param in enumerate(params):
        name, where = _param_identity(doc, param, pointer)
        if where == "path" and isinstance(name, str):
            if name not in template:
                doc.warn(
                    join_pointer(pointer, "parameters", index),
                    f"path parameter {name!r} does not occur in the path template; "
                    f"removed from the {what}",
                )
                continue
            declared.add(name)
        kept.append(param)
    if len(kept) != len(params):
        owner["parameters"] = kept
    return declared


def _path_params(
    doc: SpecDocument,
    path: str,
    pointer: str,
    item: dict[str, Any],
    ops: list[tuple[str, dict[str, Any]]],
) -> None:
    """Make declared path parameters and the path template agree."""
    names = list(dict.fromkeys(_TEMPLATE_VAR.findall(path)))
    template = set(names)
    path_declared = _drop_unused_path_params(doc, item, pointer, template, "path item")
    missing: set[str] = set()
    if not ops:
        missing = template - path_declared
    for method, op in ops:
        op_pointer = pointer + "/" + method
        declared = _drop_unused_path_params(doc, op, op_pointer, template, "operation")
        missing |= template - path_declared - declared
    if not missing:
        return
    added = []
    for name in names:
        if name in missing:
            doc.warn(pointer, f"path parameter {name!r} is not declared; it is treated as a string")
            added.append(
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            )
    existing = item.get("parameters")
    item["parameters"] = [*existing, *added] if isinstance(existing, list) else added


def _generated_id(method: str, path: str) -> str:
    words = _NOT_WORD.sub("_", path).strip("_")
    return f"{method}_{words or 'root'}"


def _unique(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    n = 2
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"


def _operation_ids(doc: SpecDocument, ops: list[tuple[str, str, str, dict[str, Any]]]) -> None:
    """Give every operation a unique operationId, stored into the operation object.

    ``ops`` holds (path, method, pointer, operation) in document order, which decides who
    keeps a contested name and the order of the numeric suffixes.
    """
    first_at: dict[str, str] = {}
    for _, _, op_pointer, op in ops:
        op_id = op.get("operationId")
        if isinstance(op_id, (int, float)) and not isinstance(op_id, bool):
            op_id = op["operationId"] = str(op_id)
        if isinstance(op_id, str) and op_id and op_id not in first_at:
            first_at[op_id] = op_pointer
    taken = set(first_at)
    for path, method, op_pointer, op in ops:
        op_id = op.get("operationId")
        pointer = op_pointer + "/operationId"
        if isinstance(op_id, str) and op_id:
            if first_at[op_id] == op_pointer:
                continue
            new_id = _unique(op_id, taken)
            doc.warn(
                pointer,
                f"duplicate operationId {op_id!r} (first at {first_at[op_id]}/operationId); "
                f"renamed to {new_id!r}",
            )
        else:
            if op_id is not None and op_id != "":
                doc.warn(pointer, f"operationId must be a string, got {_kind(op_id)}; replaced")
            new_id = _unique(_generated_id(method, path), taken)
        taken.add(new_id)
        op["operationId"] = new_id


def _normalize(doc: SpecDocument) -> None:
    paths: dict[str, Any] = doc.raw["paths"]
    all_ops: list[tuple[str, str, str, dict[str, Any]]] = []
    seen: set[int] = set()
    for path, item in paths.items():
        if path.startswith("x-"):
            continue
        pointer = join_pointer("/paths", path)
        if "servers" in item:
            doc.warn(
                pointer + "/servers",
                "path-level servers are ignored: the twin serves this path under its own base URL",
            )
        ops: list[tuple[str, dict[str, Any]]] = []
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            if id(op) in seen:
                # The same object reached twice (a YAML alias): give this place its own
                # copy so that per-operation fixes do not leak between operations.
                op = item[method] = dict(op)
            seen.add(id(op))
            op_pointer = pointer + "/" + method
            ops.append((method, op))
            all_ops.append((path, method, op_pointer, op))
            if "servers" in op:
                doc.warn(
                    op_pointer + "/servers",
                    "operation-level servers are ignored: the twin serves this operation "
                    "under its own base URL",
                )
            _content(doc, op.get("requestBody"), op_pointer, "requestBody")
            _responses(doc, op.get("responses"), op_pointer)
            _parameters_content(doc, op.get("parameters"), op_pointer)
        _parameters_content(doc, item.get("parameters"), pointer)
        _path_params(doc, path, pointer, item, ops)
    _components(doc)
    _operation_ids(doc, all_ops)


# -- entry point -----------------------------------------------------------------------


def load_document(source: str | Path, data: bytes | None = None) -> SpecDocument:
    """Load, convert (Swagger 2.0) and normalize an OpenAPI document.

    ``data`` gives the bytes directly; ``source`` then only names the document in errors
    and warnings. Raises :class:`SpecError` for anything that cannot be served.
    """
    name = str(source)
    if data is None:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise SpecError(name, "/", f"cannot read the file: {reason}") from None
    raw, parse_note = _parse(name, data)
    if not isinstance(raw, dict):
        raise SpecError(name, "/", f"the document must be a mapping, got {_kind(raw)}")
    version, written = _version(name, raw)
    early = _check_paths(name, raw)
    if version == "2.0":
        raw, converted = convert_swagger2(raw, name)
        early.extend(converted)
        version = "3.0"
    doc = SpecDocument(source=name, raw=raw, openapi_version=version, original_version=written)
    if parse_note is not None:
        doc.warn("/", parse_note)
    for pointer, message in early:
        doc.warn(pointer, message)
    _normalize(doc)
    return doc
