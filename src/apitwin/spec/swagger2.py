"""Swagger 2.0 to OpenAPI 3.0 conversion.

The rest of the engine only knows OpenAPI 3.x, so a Swagger 2.0 document is rewritten
once, at load time, into the equivalent 3.0 tree. The conversion builds new containers
for everything it touches and leaves the input tree alone; fields it does not know
(and ``x-`` extensions) are carried over unchanged.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from apitwin.spec.document import SpecError, join_pointer

__all__ = ["convert_swagger2"]

Warnings = list[tuple[str, str]]

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
_FORM_URLENCODED = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
_FORM_TYPES = (_FORM_URLENCODED, _MULTIPART)
_DEFAULT_MEDIA = "application/json"

# Fields of a Swagger 2.0 non-body parameter, header or items object that describe the
# value and therefore move into the OpenAPI 3.0 ``schema``.
_SCHEMA_FIELDS = frozenset(
    {
        "type",
        "format",
        "items",
        "default",
        "maximum",
        "exclusiveMaximum",
        "minimum",
        "exclusiveMinimum",
        "maxLength",
        "minLength",
        "pattern",
        "maxItems",
        "minItems",
        "uniqueItems",
        "enum",
        "multipleOf",
        "x-nullable",
    }
)

_SCHEMA_MAPS = ("properties", "patternProperties")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")

_OAUTH2_FLOWS = {
    "implicit": ("implicit", ("authorizationUrl",)),
    "password": ("password", ("tokenUrl",)),
    "application": ("clientCredentials", ("tokenUrl",)),
    "accessCode": ("authorizationCode", ("authorizationUrl", "tokenUrl")),
}


def _unescape(token: str) -> str:
    return unquote(token).replace("~1", "/").replace("~0", "~")


def _items(items: dict[str, Any]) -> dict[str, Any]:
    """A Swagger items object as a schema: ``collectionFormat`` has no place there."""
    out = {k: v for k, v in items.items() if k != "collectionFormat"}
    if isinstance(out.get("items"), dict) and "$ref" not in out["items"]:
        out["items"] = _items(out["items"])
    return out


def _value_fields(node: dict[str, Any]) -> dict[str, Any]:
    """The fields of a parameter or header that describe its value, as a raw schema."""
    schema: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SCHEMA_FIELDS:
            if key == "items" and isinstance(value, dict) and "$ref" not in value:
                value = _items(value)
            schema[key] = value
    return schema


class _Converter:
    """Holds the document-wide context (global parameters, media types) for one run."""

    def __init__(self, raw: dict[str, Any], source: str) -> None:
        self.raw = raw
        self.source = source
        self.warnings: Warnings = []
        params = raw.get("parameters")
        self.global_params: dict[str, Any] = params if isinstance(params, dict) else {}
        self.body_params = {
            name
            for name, p in self.global_params.items()
            if isinstance(p, dict) and p.get("in") == "body"
        }
        self.consumes = self._media_list(raw.get("consumes"), None)
        self.produces = self._media_list(raw.get("produces"), None)

    def warn(self, pointer: str, message: str) -> None:
        self.warnings.append((pointer, message))

    @staticmethod
    def _media_list(value: Any, fallback: list[str] | None) -> list[str] | None:
        if isinstance(value, list):
            media = [m for m in value if isinstance(m, str) and m]
            if media:
                return media
        return fallback

    # -- references -------------------------------------------------------------------

    def ref(self, ref: Any) -> Any:
        """The OpenAPI 3.0 spelling of a Swagger 2.0 internal reference."""
        if not isinstance(ref, str):
            return ref
        if ref.startswith("#/definitions/"):
            return "#/components/schemas/" + ref[len("#/definitions/") :]
        if ref.startswith("#/parameters/"):
            rest = ref[len("#/parameters/") :]
            if _unescape(rest.split("/", 1)[0]) in self.body_params:
                return "#/components/requestBodies/" + rest
            return "#/components/parameters/" + rest
        if ref.startswith("#/responses/"):
            return "#/components/responses/" + ref[len("#/responses/") :]
        return ref

    def global_param(self, ref: Any) -> tuple[str, dict[str, Any]] | None:
        """The name and object of a ``#/parameters/X`` target, if it exists."""
        if not isinstance(ref, str) or not ref.startswith("#/parameters/"):
            return None
        rest = ref[len("#/parameters/") :]
        if "/" in rest:
            return None
        name = _unescape(rest)
        target = self.global_params.get(name)
        return (name, target) if isinstance(target, dict) else None

    # -- schemas ----------------------------------------------------------------------

    def schema(self, node: Any) -> Any:
        """Convert a schema: refs, ``x-nullable``, ``type: file``, string discriminators."""
        if isinstance(node, list):
            return [self.schema(s) for s in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref":
                out[key] = self.ref(value)
            elif key == "x-nullable":
                if value is True:
                    out["nullable"] = True
            elif key == "type" and value == "file":
                out["type"] = "string"
                out["format"] = "binary"
            elif key == "format" and node.get("type") == "file":
                continue
            elif key in _SCHEMA_MAPS and isinstance(value, dict):
                out[key] = {name: self.schema(sub) for name, sub in value.items()}
            elif key in _SCHEMA_LISTS and isinstance(value, list):
                out[key] = [self.schema(sub) for sub in value]
            elif key in ("items", "not") or (
                key == "additionalProperties" and isinstance(value, dict)
            ):
                out[key] = self.schema(value)
            elif key == "discriminator" and isinstance(value, str):
                out[key] = {"propertyName": value}
            else:
                out[key] = value
        return out

    def value_schema(self, node: dict[str, Any]) -> dict[str, Any]:
        """The schema described by the value fields of a parameter, header or items object."""
        return self.schema(_value_fields(node))

    # -- parameters -------------------------------------------------------------------

    def style(self, param: dict[str, Any], pointer: str) -> dict[str, Any]:
        """``style``/``explode`` for an array parameter's ``collectionFormat``."""
        if param.get("type") != "array":
            return {}
        where = param.get("in")
        fmt = param.get("collectionFormat", "csv")
        if fmt == "tsv":
            self.warn(
                join_pointer(pointer, "collectionFormat"),
                "collectionFormat 'tsv' has no OpenAPI 3 equivalent; treated as 'csv'",
            )
            fmt = "csv"
        if where in ("path", "header"):
            if fmt not in ("csv", "multi"):
                self.warn(
                    join_pointer(pointer, "collectionFormat"),
                    f"collectionFormat {fmt!r} is not allowed in {where}; treated as 'csv'",
                )
            return {"style": "simple", "explode": False}
        if fmt == "multi":
            return {"style": "form", "explode": True}
        if fmt == "ssv":
            return {"style": "spaceDelimited", "explode": False}
        if fmt == "pipes":
            return {"style": "pipeDelimited", "explode": False}
        if fmt != "csv":
            self.warn(
                join_pointer(pointer, "collectionFormat"),
                f"unknown collectionFormat {fmt!r}; treated as 'csv'",
            )
        return {"style": "form", "explode": False}

    def parameter(self, param: dict[str, Any], pointer: str) -> dict[str, Any]:
        """Convert a non-body parameter: value fields into ``schema``, format into style."""
        out: dict[str, Any] = {}
        for key, value in param.items():
            if key in _SCHEMA_FIELDS or key == "collectionFormat":
                continue
            out[key] = value
        if "schema" in param:
            out["schema"] = self.schema(param["schema"])
        else:
            out["schema"] = self.value_schema(param)
        out.update(self.style(param, pointer))
        return out

    def header(self, header: Any) -> Any:
        """A response header: value fields go into ``schema``."""
        if not isinstance(header, dict):
            return header
        if "$ref" in header:
            return {"$ref": self.ref(header["$ref"])}
        out = {
            k: v for k, v in header.items() if k not in _SCHEMA_FIELDS and k != "collectionFormat"
        }
        out["schema"] = self.value_schema(header)
        return out

    def body(self, param: dict[str, Any], consumes: list[str]) -> dict[str, Any]:
        """A ``requestBody`` from an ``in: body`` parameter."""
        out: dict[str, Any] = {}
        if "description" in param:
            out["description"] = param["description"]
        schema = self.schema(param.get("schema", {}))
        out["content"] = {media: {"schema": schema} for media in consumes}
        if "required" in param:
            out["required"] = param["required"]
        for key, value in param.items():
            if key.startswith("x-"):
                out[key] = value
        return out

    def form(self, params: list[tuple[dict[str, Any], str]], consumes: list[str]) -> dict[str, Any]:
        """A ``requestBody`` gathering the ``in: formData`` parameters of an operation."""
        properties: dict[str, Any] = {}
        required: list[str] = []
        encoding: dict[str, Any] = {}
        has_file = False
        for param, pointer in params:
            name = param.get("name")
            if not isinstance(name, str):
                self.warn(pointer, "formData parameter without a name; ignored")
                continue
            has_file = has_file or param.get("type") == "file"
            prop = self.value_schema(param)
            if "description" in param:
                prop["description"] = param["description"]
            properties[name] = prop
            if param.get("required") is True:
                required.append(name)
            style = self.style(param, pointer)
            if style and style != {"style": "form", "explode": True}:
                encoding[name] = style
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        if has_file:
            media_types = [_MULTIPART]
        else:
            media_types = [m for m in consumes if m in _FORM_TYPES] or [_FORM_URLENCODED]
        content: dict[str, Any] = {}
        for media in media_types:
            entry: dict[str, Any] = {"schema": schema}
            if encoding:
                entry["encoding"] = encoding
            content[media] = entry
        body: dict[str, Any] = {"content": content}
        if required:
            body["required"] = True
        return body

    def parameter_list(self, params: Any, pointer: str) -> tuple[list[Any], list[tuple[Any, str]]]:
        """Split a parameter list into converted non-body ones and body/formData ones.

        The second list keeps the original Swagger objects (or their refs) with their
        pointers, because turning them into a request body needs the operation's
        ``consumes`` and the path-level ones merged in.
        """
        plain: list[Any] = []
        body_like: list[tuple[Any, str]] = []
        if not isinstance(params, list):
            return plain, body_like
        for index, param in enumerate(params):
            at = join_pointer(pointer, index)
            if not isinstance(param, dict):
                plain.append(param)
                continue
            if "$ref" in param:
                target = self.global_param(param["$ref"])
                if target is not None and target[1].get("in") in ("body", "formData"):
                    body_like.append((param, at))
                else:
                    plain.append({"$ref": self.ref(param["$ref"])})
            elif param.get("in") in ("body", "formData"):
                body_like.append((param, at))
            else:
                plain.append(self.parameter(param, at))
        return plain, body_like

    def request_body(
        self, body_like: list[tuple[Any, str]], consumes: list[str], pointer: str
    ) -> Any:
        """The ``requestBody`` of an operation from its body/formData parameters."""
        bodies: list[tuple[Any, str]] = []
        forms: list[tuple[dict[str, Any], str]] = []
        for param, at in body_like:
            resolved = param
            if "$ref" in param:
                target = self.global_param(param["$ref"])
                resolved = target[1] if target else param
            if resolved.get("in") == "body":
                bodies.append((param, at))
            else:
                forms.append((resolved, at))
        if bodies:
            if len(bodies) > 1:
                self.warn(bodies[1][1], "more than one body parameter; only the first is used")
            if forms:
                self.warn(forms[0][1], "formData parameters next to a body parameter; ignored")
            param = bodies[0][0]
            if "$ref" in param:
                return {"$ref": self.ref(param["$ref"])}
            return self.body(param, consumes)
        if forms:
            return self.form(forms, consumes)
        return None

    # -- responses --------------------------------------------------------------------

    def response(self, response: Any, produces: list[str]) -> Any:
        """A response: ``schema`` and ``examples`` into ``content``, headers into schemas."""
        if not isinstance(response, dict):
            return response
        if "$ref" in response:
            return {"$ref": self.ref(response["$ref"])}
        out: dict[str, Any] = {}
        content: dict[str, Any] = {}
        if "schema" in response:
            schema = self.schema(response["schema"])
            for media in produces:
                content[media] = {"schema": schema}
        examples = response.get("examples")
        if isinstance(examples, dict):
            for media, example in examples.items():
                entry = content.get(media)
                if entry is None:
                    entry = content[media] = {}
                    if "schema" in response:
                        entry["schema"] = self.schema(response["schema"])
                entry["example"] = example
        for key, value in response.items():
            if key in ("schema", "examples"):
                continue
            if key == "headers" and isinstance(value, dict):
                out[key] = {name: self.header(h) for name, h in value.items()}
            else:
                out[key] = value
        out.setdefault("description", "")
        if content:
            out["content"] = content
        return out

    def responses(self, responses: Any, produces: list[str]) -> Any:
        if not isinstance(responses, dict):
            return responses
        return {
            str(code): value if str(code).startswith("x-") else self.response(value, produces)
            for code, value in responses.items()
        }

    # -- paths ------------------------------------------------------------------------

    def operation(
        self,
        op: dict[str, Any],
        pointer: str,
        path_body: list[tuple[Any, str]],
    ) -> dict[str, Any]:
        consumes = self._media_list(op.get("consumes"), self.consumes) or [_DEFAULT_MEDIA]
        produces = self._media_list(op.get("produces"), self.produces) or [_DEFAULT_MEDIA]
        params, body_like = self.parameter_list(
            op.get("parameters"), join_pointer(pointer, "parameters")
        )
        if path_body:
            own = {self._param_key(p) for p, _ in body_like}
            body_like = [(p, at) for p, at in path_body if self._param_key(p) not in own] + (
                body_like
            )
        out: dict[str, Any] = {}
        for key, value in op.items():
            if key in ("consumes", "produces"):
                continue
            if key == "schemes":
                self.warn(
                    join_pointer(pointer, "schemes"),
                    "operation-level schemes are ignored; the twin serves the operation "
                    "under its own base URL",
                )
            elif key == "parameters":
                if params or not body_like:
                    out["parameters"] = params
            elif key == "responses":
                out["responses"] = self.responses(value, produces)
            else:
                out[key] = value
        body = self.request_body(body_like, consumes, pointer)
        if body is not None:
            out["requestBody"] = body
        return out

    def _param_key(self, param: Any) -> tuple[Any, Any]:
        if isinstance(param, dict) and "$ref" in param:
            target = self.global_param(param["$ref"])
            if target is not None:
                param = target[1]
        if not isinstance(param, dict):
            return (None, None)
        return (param.get("name"), param.get("in"))

    def path_item(self, item: Any, pointer: str) -> Any:
        if not isinstance(item, dict):
            raise SpecError(self.source, pointer, "path item is not a mapping")
        params, path_body = self.parameter_list(
            item.get("parameters"), join_pointer(pointer, "parameters")
        )
        out: dict[str, Any] = {}
        for key, value in item.items():
            if key == "parameters":
                if params:
                    out[key] = params
            elif key in _METHODS:
                at = join_pointer(pointer, key)
                if not isinstance(value, dict):
                    raise SpecError(self.source, at, "operation is not a mapping")
                out[key] = self.operation(value, at, path_body)
            else:
                out[key] = value
        return out

    def paths(self, paths: Any) -> dict[str, Any]:
        if paths is None:
            return {}
        if not isinstance(paths, dict):
            raise SpecError(self.source, "/paths", "paths is not a mapping")
        out: dict[str, Any] = {}
        for path, item in paths.items():
            if path.startswith("x-"):
                out[path] = item
            else:
                out[path] = self.path_item(item, join_pointer("/paths", path))
        return out

    # -- document ---------------------------------------------------------------------

    def servers(self) -> list[dict[str, Any]]:
        host = self.raw.get("host")
        base = self.raw.get("basePath")
        base = base if isinstance(base, str) and base else "/"
        if not isinstance(host, str) or not host:
            return [{"url": base}]
        schemes = [s for s in self.raw.get("schemes") or [] if isinstance(s, str)] or ["https"]
        suffix = "" if base == "/" else base.rstrip("/")
        return [{"url": f"{scheme}://{host}{suffix}"} for scheme in schemes]

    def security_scheme(self, scheme: Any, pointer: str) -> Any:
        if not isinstance(scheme, dict):
            return scheme
        kind = scheme.get("type")
        if kind == "basic":
            out: dict[str, Any] = {"type": "http", "scheme": "basic"}
            out.update((k, v) for k, v in scheme.items() if k != "type")
            return out
        if kind != "oauth2":
            return dict(scheme)
        flow = scheme.get("flow")
        out = {"type": "oauth2"}
        if flow not in _OAUTH2_FLOWS:
            self.warn(join_pointer(pointer, "flow"), f"unknown oauth2 flow {flow!r}; ignored")
            out["flows"] = {}
        else:
            name, urls = _OAUTH2_FLOWS[flow]
            flow_obj: dict[str, Any] = {url: scheme.get(url, "") for url in urls}
            scopes = scheme.get("scopes")
            flow_obj["scopes"] = scopes if isinstance(scopes, dict) else {}
            out["flows"] = {name: flow_obj}
        for key, value in scheme.items():
            if key not in ("type", "flow", "authorizationUrl", "tokenUrl", "scopes"):
                out[key] = value
        return out

    def components(self) -> dict[str, Any]:
        components: dict[str, Any] = {}
        definitions = self.raw.get("definitions")
        if isinstance(definitions, dict):
            components["schemas"] = {n: self.schema(s) for n, s in definitions.items()}
        parameters: dict[str, Any] = {}
        bodies: dict[str, Any] = {}
        consumes = self.consumes or [_DEFAULT_MEDIA]
        for name, param in self.global_params.items():
            at = join_pointer("/parameters", name)
            if not isinstance(param, dict):
                parameters[name] = param
            elif param.get("in") == "body":
                bodies[name] = self.body(param, consumes)
            elif param.get("in") != "formData":
                # formData parameters are inlined where they are used: OpenAPI 3 has no
                # parameter for a single form field.
                parameters[name] = self.parameter(param, at)
        if parameters:
            components["parameters"] = parameters
        if bodies:
            components["requestBodies"] = bodies
        responses = self.raw.get("responses")
        if isinstance(responses, dict):
            produces = self.produces or [_DEFAULT_MEDIA]
            components["responses"] = {n: self.response(r, produces) for n, r in responses.items()}
        security = self.raw.get("securityDefinitions")
        if isinstance(security, dict):
            components["securitySchemes"] = {
                n: self.security_scheme(s, join_pointer("/securityDefinitions", n))
                for n, s in security.items()
            }
        return components

    def document(self) -> dict[str, Any]:
        out: dict[str, Any] = {"openapi": "3.0.3"}
        skip = {
            "swagger",
            "host",
            "basePath",
            "schemes",
            "consumes",
            "produces",
            "definitions",
            "parameters",
            "responses",
            "securityDefinitions",
        }
        for key, value in self.raw.items():
            if key in skip:
                continue
            out[key] = self.paths(value) if key == "paths" else value
        out["servers"] = self.servers()
        out.setdefault("paths", {})
        components = self.components()
        if components:
            out["components"] = components
        return out


def convert_swagger2(raw: dict[str, Any], source: str) -> tuple[dict[str, Any], Warnings]:
    """Convert a Swagger 2.0 tree to OpenAPI 3.0; also give (pointer, message) warnings.

    Pointers in the warnings point into the Swagger 2.0 input, which is what the user
    can find in the file. A structurally broken ``paths`` raises :class:`SpecError`.
    """
    converter = _Converter(raw, source)
    return converter.document(), converter.warnings
