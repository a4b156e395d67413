"""The fields of a drchrono write, wherever the client put them.

drchrono's document declares no request body on any of its 119 writes; instead the
generator copied the resource's fields onto them as query parameters (``POST
/api/patients?first_name=Ada``). Real clients send JSON or form bodies shaped like the
resource. A write therefore takes its fields from the body (JSON or
``application/x-www-form-urlencoded``) and from the query parameters that name fields of
the resource (their text typed as the resource types the field), checks each against
the resource schema, and hands the result to the generic handler as if the document had
declared it. Read-only and unknown fields are ignored, as Django REST framework does; a
field of the wrong type, or an integer past the 64 bits of its database column, is a 400.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl

import orjson

from apitwin.behaviours.base import reject
from apitwin.engine.context import Handler, Reply, RequestContext
from apitwin.engine.operation import CompiledOperation
from apitwin.spec.document import SpecDocument
from apitwin.state.semantics import FamilyRuntime

__all__ = ["accept_fields", "read_body"]

_TRUE = frozenset({"true", "True", "1", "on", "yes"})
_FALSE = frozenset({"false", "False", "0", "off", "no"})


def accept_fields(
    doc: SpecDocument, runtime: FamilyRuntime, op: CompiledOperation, inner: Handler
) -> Handler:
    """Wrap a create/replace/update handler so that it gets the write's fields as body."""
    view = runtime.item_view
    writable = {
        name
        for name in view.properties
        if name not in view.read_only and name != runtime.family.id_field
    }
    in_query = frozenset(
        p.spec.name for p in op.params if p.spec.location == "query" and p.spec.name in writable
    )
    kinds = {name: _kind(view.leaf(name, doc)) for name in writable}

    def handle(ctx: RequestContext) -> Reply:
        fields: dict[str, Any] = {}
        body = ctx.request.body
        if body is None and ctx.request.raw.strip():
            body = _decode(ctx.request.raw, ctx.request.raw_type)
        if body is not None and not isinstance(body, dict):
            raise reject(400, "Invalid data. Expected a dictionary, but got a list or a value.")
        form = body is not None and ctx.request.body is None and _is_form(ctx.request.raw_type)
        for name, value in (body or {}).items():
            if name in writable:
                fields[name] = _coerce(value, kinds[name]) if form else value
        for name in in_query:
            sent = ctx.parts.query.get(name)
            if name in ctx.params and sent:
                # the text as the resource types it, like a form field: the document types
                # some of these parameters otherwise (`assignee_user` an integer, where a
                # task's is a string)
                fields[name] = _coerce(sent[-1], kinds[name])
        for name, value in fields.items():
            if kinds[name] == "integer" and _past_64_bits(value):
                raise reject(400, f"{name}: Ensure this value is less than or equal to {_MAX}.")
            validator = runtime.field_validators[name]
            if validator is not None and not validator.is_valid(value):
                issues = validator.issues(value, limit=1)
                detail = issues[0].message if issues else "invalid value"
                raise reject(400, f"{name}: {detail}")
        request = replace(ctx.request, body=fields, media_type="application/json")
        return inner(replace(ctx, request=request))

    return handle


def read_body(ctx: RequestContext) -> dict[str, Any]:
    """The fields of a body the document does not declare (JSON or form), as sent; a
    body that is not an object is a 400."""
    body = ctx.request.body
    if body is None and ctx.request.raw.strip():
        body = _decode(ctx.request.raw, ctx.request.raw_type)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise reject(400, "Invalid data. Expected a dictionary, but got a list or a value.")
    return dict(body)


def _decode(raw: bytes, content_type: str | None) -> Any:
    media = (content_type or "application/json").split(";", 1)[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise reject(400, f"JSON parse error - {exc}") from None
    if media == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            raise reject(400, "Malformed form data.") from None
        return dict(pairs)
    raise reject(415, f'Unsupported media type "{media}" in request.')


def _is_form(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() == (
        "application/x-www-form-urlencoded"
    )


_MAX = 2**63 - 1  # drchrono's integers are 64-bit database columns (Django, PostgreSQL)


def _past_64_bits(value: Any) -> bool:
    """An integer field's value its database column cannot hold (a JSON body's decoder
    reads such digits as a float)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and not (-_MAX - 1 <= value <= _MAX)
    )


def _kind(leaf: dict[str, Any]) -> str:
    kind = leaf.get("type")
    return kind if isinstance(kind, str) else "string"


def _coerce(value: str, kind: str) -> Any:
    """A form field's text as the resource's type (the checks that follow report what
    does not fit)."""
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
        if kind == "boolean":
            return True if value in _TRUE else False if value in _FALSE else value
        if kind in ("object", "array"):
            return orjson.loads(value)
    except (ValueError, orjson.JSONDecodeError):
        return value
    return value
