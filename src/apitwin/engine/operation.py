"""One operation compiled for the request path: parameter decoders and validators, body
validators per media type, and the plan of its success response."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from apitwin.conventions.auth import AuthCheck, Requirement, compile_security
from apitwin.conventions.param_credentials import (
    ParameterCredential,
    parameter_extractor,
    presented_extractor,
)
from apitwin.engine.media import acceptable, is_json, match_content_type
from apitwin.engine.responses import Responder
from apitwin.schema.convert import SchemaCompiler
from apitwin.schema.forms import FormDecoder, FormError, compile_form
from apitwin.schema.params import MISSING, ParamDecoder, RequestParts, compile_parameter
from apitwin.schema.synth import Synthesizer
from apitwin.schema.validate import CompiledValidator, build_validator
from apitwin.spec.document import SpecDocument, SpecError
from apitwin.spec.operations import Operation, ParameterSpec

if TYPE_CHECKING:
    from apitwin.conventions.errors import ErrorFormatter
    from apitwin.engine.context import Handler
    from apitwin.engine.twin import TwinOptions
    from apitwin.twins.registry import Profile

__all__ = ["CompiledOperation", "Rejection", "ValidatedRequest", "compile_operation"]


class Rejection(Exception):
    """A request the twin refuses, with the status and message the client will see."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: list[tuple[str, str]] | None = None,
        code: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []
        self.code = code  # the API's own error code, when it has one for this refusal


@dataclass
class ValidatedRequest:
    """What a behaviour handler gets: typed parameters and the decoded body."""

    params: dict[str, Any]
    body: Any
    media_type: str | None
    # A body the document does not declare, as sent (a behaviour may still read it).
    raw: bytes = b""
    raw_type: str | None = None


@dataclass
class _Param:
    spec: ParameterSpec
    decoder: ParamDecoder
    validator: CompiledValidator | None
    label: str


@dataclass
class _Body:
    media_type: str
    kind: str  # json | form | multipart | text | binary
    validator: CompiledValidator | None
    form: FormDecoder | None
    nulls_absent: bool = False  # a null member means "not sent" (profile request_nulls)


_LOCATION_LABEL = {"path": "path", "query": "query", "header": "header", "cookie": "cookie"}


class ValidatorCache:
    """Validators shared by every operation of a twin that points at the same schema."""

    def __init__(self, doc: SpecDocument, schemas: SchemaCompiler) -> None:
        self.doc = doc
        self.schemas = schemas
        self._cache: dict[tuple[str, str], CompiledValidator | None] = {}

    def get(self, schema: Any, pointer: str, direction: str) -> CompiledValidator | None:
        key = (pointer, direction)
        if key in self._cache:
            return self._cache[key]
        validator: CompiledValidator | None
        if schema is None or schema == {} or schema is True:
            validator = None
        else:
            try:
                compiled = self.schemas.compile(schema, pointer, direction)  # type: ignore[arg-type]
                validator = build_validator(compiled)
            except ValueError as exc:
                self.doc.warn(pointer, f"schema cannot be compiled, not validated: {exc}")
                validator = None
        self._cache[key] = validator
        return validator


def _body_kind(media_type: str) -> str:
    if is_json(media_type):
        return "json"
    if media_type == "application/x-www-form-urlencoded":
        return "form"
    if media_type.startswith("multipart/"):
        return "multipart"
    if media_type.startswith("text/"):
        return "text"
    if media_type in ("application/x-tar", "application/tar"):
        return "tar"
    return "binary"


def _is_tar_archive(body: bytes) -> bool:
    """A tar archive, plain or compressed (Docker build contexts are often gzipped)."""
    try:
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:*") as archive:
            archive.getmembers()
    except (tarfile.TarError, EOFError, OSError):
        return False
    return True


class CompiledOperation:
    """An operation ready to validate requests and produce its documented response."""

    def __init__(
        self,
        operation: Operation,
        params: list[_Param],
        bodies: dict[str, _Body],
        body_required: bool,
        validation_status: int,
        responder: Responder,
        auth: AuthCheck | None = None,
    ) -> None:
        self.operation = operation
        self.auth = auth
        self.handler: Handler | None = None  # behaviour that replaces the canned response
        # 401 unless the document says this API refuses missing credentials with 403.
        self.auth_status = (
            403 if "403" in operation.responses and "401" not in operation.responses else 401
        )
        self.params = params
        self.bodies = bodies
        self.body_media_types = list(bodies)
        self.body_required = body_required
        self.validation_status = validation_status
        self.responder = responder
        # Values that mean "not set" in a request object (the profile's
        # "request_unset_values"): Go clients send null for every empty list or map and ""
        # for every empty string, enums included; the service reads them as absent.
        self.unset_values: tuple[Any, ...] = ()

    @property
    def operation_id(self) -> str:
        return self.operation.operation_id

    def validate(
        self, parts: RequestParts, body: bytes, content_type: str | None
    ) -> ValidatedRequest:
        """Check parameters and body against the document; raise Rejection when invalid."""
        if self.auth is not None:
            failure = self.auth.check(parts)
            if failure is not None:
                status = self.auth_status if failure.status == 401 else failure.status
                raise Rejection(status, failure.message, failure.headers, failure.code)
        values: dict[str, Any] = {}
        status = self.validation_status
        choices = self.responder.accept_choices
        if (
            choices
            and "accept" in parts.headers
            and not acceptable(parts.headers["accept"], choices)
        ):
            raise Rejection(
                406,
                f"cannot answer with {parts.headers['accept'] or '(nothing)'}; "
                f"this operation answers {', '.join(choices)}",
            )
        for param in self.params:
            value = param.decoder.extract(parts)
            if value is MISSING:
                if param.spec.required:
                    raise Rejection(status, f"missing required {param.label} '{param.spec.name}'")
                continue
            if param.validator is not None and not param.validator.is_valid(value):
                issues = param.validator.issues(value, limit=1)
                if issues:
                    issue = issues[0]
                    where = "" if issue.path in ("$", "") else f" at {issue.path}"
                    raise Rejection(
                        status,
                        f"invalid {param.label} '{param.spec.name}'{where}: {issue.message} ({issue.rule})",
                    )
            values[param.spec.name] = value
        decoded: Any = None
        media: str | None = None
        if body or (content_type and self.bodies and body):
            if not self.bodies:
                # Undocumented bodies are ignored, as most real servers do.
                return ValidatedRequest(values, None, None, body, content_type)
            media = match_content_type(content_type, self.body_media_types)
            if media is None:
                raise Rejection(
                    415,
                    f"unsupported content type {content_type or '(none)'}; "
                    f"expected one of {', '.join(self.body_media_types)}",
                )
            decoded = self._decode_body(self.bodies[media], body, content_type or media, status)
        elif self.body_required:
            raise Rejection(status, "request body is required")
        return ValidatedRequest(values, decoded, media)

    def _decode_body(self, plan: _Body, body: bytes, content_type: str, status: int) -> Any:
        value: Any
        if plan.kind == "json":
            try:
                value = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise Rejection(400, f"request body is not valid JSON: {exc}") from None
            if self.unset_values:
                value = _without_unset(value, self.unset_values)
        elif plan.kind in ("form", "multipart") and plan.form is not None:
            try:
                value = (
                    plan.form.urlencoded(body)
                    if plan.kind == "form"
                    else plan.form.multipart(body, content_type)
                )
            except FormError as exc:
                raise Rejection(400, f"malformed request body: {exc}") from None
        elif plan.kind == "text":
            value = body.decode("utf-8", errors="replace")
            if plan.validator is not None and not plan.validator.is_valid(value):
                # Docker documents JSON arrays under text/plain: accept the JSON reading.
                with contextlib.suppress(orjson.JSONDecodeError):
                    value = orjson.loads(body)
        elif plan.kind == "tar":
            if not _is_tar_archive(body):
                raise Rejection(400, "request body is not a tar archive")
            return body
        else:
            return body
        if plan.validator is not None and not plan.validator.is_valid(value):
            if plan.nulls_absent and isinstance(value, dict) and None in value.values():
                # Clients send unset options as null (python-digitalocean's vpc_uuid,
                # tags, volumes); the service reads them as absent.
                stripped = {k: v for k, v in value.items() if v is not None}
                if plan.validator.is_valid(stripped):
                    return stripped
            issues = plan.validator.issues(value, limit=1)
            if issues:
                issue = issues[0]
                raise Rejection(
                    status, f"invalid request body at {issue.path}: {issue.message} ({issue.rule})"
                )
        return value


def _without_unset(value: Any, unset: tuple[Any, ...]) -> Any:
    """Object members whose value means "not set" removed, at every depth."""
    if isinstance(value, dict):
        return {
            k: _without_unset(v, unset)
            for k, v in value.items()
            if not any(v is u or (type(v) is type(u) and v == u) for u in unset)
        }
    if isinstance(value, list):
        return [_without_unset(v, unset) for v in value]
    return value


_FORM_TYPES = (("application/x-www-form-urlencoded", "form"), ("multipart/form-data", "multipart"))


def _declared_media_types(doc: SpecDocument, spec: ParameterSpec) -> tuple[str, ...]:
    """The media types an ``Accept`` header parameter allows (its enum), negotiated rather
    than compared as strings, so that ``Accept: */*`` is fine and an empty one is not."""
    try:
        schema = doc.resolve(spec.schema, spec.pointer)
    except SpecError:
        return ()
    if isinstance(schema, dict) and isinstance(schema.get("enum"), list):
        return tuple(str(v) for v in schema["enum"] if isinstance(v, str))
    return ()


def _validation_status(operation: Operation, profile: Profile) -> int:
    documented = {int(s) for s in operation.responses if s.isdigit()}
    for status in profile.validation_status:
        if status in documented:
            return status
    # Where the document declares none, the real API's own status (DigitalOcean: 422).
    return int(profile.extra.get("validation_fallback", 400))


def compile_operation(
    doc: SpecDocument,
    operation: Operation,
    validators: ValidatorCache,
    synthesizer: Synthesizer,
    profile: Profile,
    errors: ErrorFormatter,
    options: TwinOptions,
    credentials: Sequence[ParameterCredential] = (),
) -> CompiledOperation:
    """``credentials``: API keys the profile names among parameters (pattern 4)."""
    params: list[_Param] = []
    accept_choices: tuple[str, ...] = ()
    # The words the service also takes for true/false in boolean query parameters.
    booleans = profile.extra.get("query_booleans")
    for spec in operation.parameters:
        if spec.location == "header" and spec.name.lower() == "accept":
            accept_choices = _declared_media_types(doc, spec)
            continue
        if f"{spec.location}:{spec.name}" in profile.extra.get("not_enforced", ()):
            # Declared required, but the real service does not insist (Nookipedia's
            # Accept-Version): checked when present, not demanded.
            spec = dataclasses.replace(spec, required=False)
        decoder = compile_parameter(doc, spec, booleans)
        validator = validators.get(spec.schema, spec.pointer, "request")
        params.append(
            _Param(spec, decoder, validator, f"{_LOCATION_LABEL[spec.location]} parameter")
        )
    bodies: dict[str, _Body] = {}
    body_required = False
    if operation.request_body is not None:
        body_required = operation.request_body.required
        for media_type, media in operation.request_body.content.items():
            kind = _body_kind(media_type)
            validator = (
                None
                if media.schema is None
                else validators.get(media.schema, media.pointer, "request")
            )
            form = (
                compile_form(doc, media.schema, media.pointer)
                if kind in ("form", "multipart")
                else None
            )
            bodies[media_type] = _Body(
                media_type, kind, validator, form, profile.extra.get("request_nulls") == "absent"
            )
            if kind == "json" and profile.extra.get("form_bodies"):
                # The API takes every write as a form too (Discourse): same schema.
                form_decoder = compile_form(doc, media.schema, media.pointer)
                for form_type, form_kind in _FORM_TYPES:
                    bodies.setdefault(
                        form_type, _Body(form_type, form_kind, validator, form_decoder)
                    )
    responder = Responder(doc, operation, validators, synthesizer)
    declared = [(param.decoder, param.validator) for param in params]
    in_parameters = []
    when_sent = []  # keys the service checks on every request (Discourse's Api-Key)
    for credential in credentials:
        extract = parameter_extractor(credential, declared)
        if extract is not None:
            in_parameters.append(Requirement(credential.scheme, extract, (), False))
        elif credential.everywhere:
            when_sent.append(
                Requirement(credential.scheme, presented_extractor(credential), (), False)
            )
    auth = compile_security(doc, operation.security, operation.pointer, in_parameters, when_sent)
    if accept_choices:
        responder.accept_choices = accept_choices
    compiled = CompiledOperation(
        operation,
        params,
        bodies,
        body_required,
        _validation_status(operation, profile),
        responder,
        auth,
    )
    compiled.unset_values = tuple(profile.extra.get("request_unset_values") or ())
    return compiled
