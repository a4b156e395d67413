"""Security requirements checked per operation, compiled from the document.

Requirement sets are alternatives (any one suffices); the schemes inside one set must
all be satisfied. An empty set (``security: []`` or ``- {}``) makes the operation public.

Two modes, chosen per twin (``--auth``, ``create_app(auth=...)``):

``open`` (default)
    any well-formed credential for one of the requirement sets is accepted; a missing or
    malformed one gets the API's 401. No lookups: the hot path stays as cheap as before.
``strict``
    only credentials the twin issued are accepted (``POST /__apitwin__/credentials`` or
    the OAuth endpoints). Missing, unknown, expired or revoked ones get the API's 401; a
    valid credential issued for another scheme or without the operation's scopes gets 403.

:class:`TwinAuth` holds what both modes share per twin: the clock, the credentials and
the OAuth authorization server.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from apitwin.conventions.clock import TwinClock
from apitwin.conventions.credentials import CredentialError, Credentials, public_view
from apitwin.conventions.param_credentials import new_value, read_parameter_credentials
from apitwin.schema.params import RequestParts
from apitwin.spec.document import SpecDocument, join_pointer
from apitwin.state.store import Store

if TYPE_CHECKING:
    from apitwin.conventions.oauth import Endpoint, OAuthServer
    from apitwin.engine.operation import CompiledOperation

__all__ = [
    "AUTH_MODES",
    "AuthCheck",
    "AuthFailure",
    "Requirement",
    "SchemeInfo",
    "TwinAuth",
    "compile_security",
]

AUTH_MODES = ("open", "strict")

Extractor = Callable[[RequestParts], str | None]


# -- reading a credential off a request ---------------------------------------------------


def _authorization(parts: RequestParts, expected: str) -> str | None:
    scheme, _, value = parts.headers.get("authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() != expected or not value:
        return None
    return value


def _bearer(parts: RequestParts) -> str | None:
    return _authorization(parts, "bearer")


def _basic(parts: RequestParts) -> str | None:
    payload = _authorization(parts, "basic")
    if payload is None:
        return None
    try:
        decoded = base64.b64decode(payload, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded if ":" in decoded else None


def _any_authorization(parts: RequestParts) -> str | None:
    scheme, _, credentials = parts.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme and credentials.strip() else None


def _api_key(location: str, name: str) -> Extractor:
    # Open mode checks presence only: the key's value is the user's business.
    if location == "header":
        lowered = name.lower()
        return lambda parts: parts.headers.get(lowered)
    if location == "query":
        return lambda parts: parts.query[name][0] if parts.query.get(name) else None
    return lambda parts: parts.cookies.get(name)


# -- the schemes of a document --------------------------------------------------------------

_FLOW_GRANTS = {
    "authorizationCode": "authorization_code",
    "clientCredentials": "client_credentials",
    "password": "password",
    "implicit": "implicit",
}


@dataclass(frozen=True)
class Flow:
    """One OAuth2 flow of one scheme, with its URLs resolved to paths on the twin's port."""

    scheme: str
    grant: str  # authorization_code | client_credentials | password | implicit
    authorize_path: str | None
    token_path: str | None
    refresh_path: str | None
    scopes: frozenset[str]


@dataclass(frozen=True)
class SchemeInfo:
    """A security scheme as the credential machinery needs it: one the document declares,
    or an API key the profile names among the operations' parameters
    (conventions/param_credentials.py)."""

    name: str
    kind: str  # apikey | http | oauth2 | openidconnect
    http_scheme: str = ""
    location: str = ""
    param: str = ""
    flows: tuple[Flow, ...] = ()
    companions: tuple[tuple[str, str], ...] = ()  # sent beside the key (Api-Username)
    value_style: str = "token"  # how an issued key looks (param_credentials.VALUE_STYLES)
    from_profile: bool = False

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset().union(*(flow.scopes for flow in self.flows))

    @property
    def credential_kind(self) -> str:
        if self.kind == "apikey":
            return "api_key"
        if self.kind == "http" and self.http_scheme != "bearer":
            return "http"
        return "access_token"

    def usage(self, secret: str) -> dict[str, Any]:
        """How a client sends this credential: where, under which name, what value."""
        if self.kind == "apikey":
            usage: dict[str, Any] = {"in": self.location, "name": self.param, "value": secret}
            if self.companions:
                usage["with"] = [{"in": where, "name": name} for where, name in self.companions]
            return usage
        if self.kind == "http" and self.http_scheme == "basic":
            encoded = base64.b64encode(secret.encode()).decode()
            return {"in": "header", "name": "Authorization", "value": f"Basic {encoded}"}
        if self.kind == "http" and self.http_scheme not in ("", "bearer"):
            return {
                "in": "header",
                "name": "Authorization",
                "value": f"{self.http_scheme} {secret}",
            }
        return {"in": "header", "name": "Authorization", "value": f"Bearer {secret}"}


def _resolve_path(server_url: str, url: Any) -> str | None:
    """A flow URL as a path on the twin's port: relative URLs are resolved against the
    server URL (OpenAPI 3.0, "Relative References in URLs"), absolute ones keep only
    their path, since the twin serves every host on one port."""
    if not isinstance(url, str) or not url.strip():
        return None
    path = urlsplit(urljoin(server_url, url.strip())).path
    return path if path.startswith("/") else "/" + path


def server_url_of(doc: SpecDocument) -> str:
    servers = doc.raw.get("servers")
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], dict):
        return "/"
    url = str(servers[0].get("url", "/"))
    for name, variable in (servers[0].get("variables") or {}).items():
        default = variable.get("default", "") if isinstance(variable, dict) else ""
        url = url.replace("{" + name + "}", str(default))
    return url


def read_schemes(doc: SpecDocument) -> dict[str, SchemeInfo]:
    """Every declared security scheme the twin can check, by name."""
    declared = (doc.raw.get("components") or {}).get("securitySchemes") or {}
    server_url = server_url_of(doc)
    result: dict[str, SchemeInfo] = {}
    for name in declared:
        scheme = doc.resolve(declared[name], join_pointer("/components/securitySchemes", name))
        if not isinstance(scheme, dict):
            continue
        kind = str(scheme.get("type", "")).lower()
        flows: list[Flow] = []
        if kind == "oauth2" and isinstance(scheme.get("flows"), dict):
            for flow_name, flow in scheme["flows"].items():
                if flow_name not in _FLOW_GRANTS or not isinstance(flow, dict):
                    continue
                declared_scopes = flow.get("scopes")
                scopes = declared_scopes if isinstance(declared_scopes, dict) else {}
                flows.append(
                    Flow(
                        scheme=str(name),
                        grant=_FLOW_GRANTS[flow_name],
                        authorize_path=_resolve_path(server_url, flow.get("authorizationUrl")),
                        token_path=_resolve_path(server_url, flow.get("tokenUrl")),
                        refresh_path=_resolve_path(server_url, flow.get("refreshUrl")),
                        scopes=frozenset(str(s) for s in scopes),
                    )
                )
        result[str(name)] = SchemeInfo(
            name=str(name),
            kind=kind,
            http_scheme=str(scheme.get("scheme", "")).lower(),
            location=str(scheme.get("in", "header")),
            param=str(scheme.get("name", "")),
            flows=tuple(flows),
        )
    return result


def _extractor(info: SchemeInfo) -> Extractor | None:
    if info.kind == "apikey":
        return _api_key(info.location, info.param)
    if info.kind == "http":
        if info.http_scheme == "basic":
            return _basic
        if info.http_scheme == "bearer":
            return _bearer
        return _any_authorization
    if info.kind in ("oauth2", "openidconnect"):
        return _bearer
    return None


# -- checking one operation ---------------------------------------------------------------


class Verdict(Enum):
    OK = "ok"
    MISSING = "missing"  # no credential of the scheme's form: 401
    INVALID = "invalid"  # unknown, expired, revoked: 401
    FORBIDDEN = "forbidden"  # known, but for another scheme or without the scopes: 403


@dataclass(frozen=True)
class ScopeNeed:
    """The scopes a requirement asks for: all of them, or (a profile's rule) any one."""

    scopes: tuple[str, ...]
    any_of: bool = False

    def met_by(self, granted: Iterable[str]) -> bool:
        if not self.scopes:
            return True
        held = set(granted)
        if self.any_of:
            return any(scope in held for scope in self.scopes)
        return all(scope in held for scope in self.scopes)

    def describe(self) -> str:
        return (" or " if self.any_of else " ").join(self.scopes)


# (scheme name, secret, scopes needed) -> verdict
Verifier = Callable[[str, str, ScopeNeed], Verdict]


@dataclass(frozen=True)
class Requirement:
    """One scheme of a requirement set, with the scopes the operation lists for it."""

    scheme: str
    extract: Extractor
    scopes: tuple[str, ...]
    bearer: bool


@dataclass(frozen=True)
class AuthFailure:
    """Why a request may not proceed. ``code`` picks the API's own error code for it
    (Discourse's ``error_type``, DRACOON's ``errorCode``) when the profile names one."""

    status: int
    message: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    code: str | None = None


@dataclass(frozen=True)
class Refusals:
    """How a twin words its auth refusals (profile ``auth.refusals``): per reason
    (``missing``, ``invalid``, ``forbidden``) an error ``code`` and ``message``, and a
    ``status`` for APIs that refuse with 403 where others say 401 (Discourse)."""

    status: int | None = None
    codes: dict[str, str] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Any) -> Refusals:
        if not isinstance(config, dict):
            return cls()
        status = config.get("status")
        codes: dict[str, str] = {}
        messages: dict[str, str] = {}
        for reason in ("missing", "invalid", "forbidden"):
            entry = config.get(reason)
            if isinstance(entry, dict):
                if entry.get("code"):
                    codes[reason] = str(entry["code"])
                if entry.get("message"):
                    messages[reason] = str(entry["message"])
        return cls(int(status) if isinstance(status, int) else None, codes, messages)

    def failure(
        self, status: int, reason: str, message: str, headers: list[tuple[str, str]]
    ) -> AuthFailure:
        if self.status is not None and status == 401:
            status = self.status
        return AuthFailure(
            status, self.messages.get(reason, message), headers, self.codes.get(reason)
        )


# Which refusal to report when every alternative fails: the most specific one.
_RANK = {Verdict.FORBIDDEN: 2, Verdict.INVALID: 1, Verdict.MISSING: 0}


class AuthCheck:
    """The compiled security of one operation.

    ``alternatives`` are required (any one set suffices); ``when_sent`` are credentials
    checked only when the request carries them (a key the service checks on every
    request, conventions/param_credentials.py): in strict mode one the twin did not issue
    is refused, in open mode any value passes.
    """

    def __init__(
        self,
        alternatives: tuple[tuple[Requirement, ...], ...],
        describe: str,
        when_sent: tuple[Requirement, ...] = (),
    ) -> None:
        self.alternatives = alternatives
        self.when_sent = when_sent
        self.describe = describe
        self.verifier: Verifier | None = None  # set in strict mode
        self.needs: tuple[tuple[ScopeNeed, ...], ...] = tuple(
            tuple(ScopeNeed(req.scopes) for req in alternative) for alternative in alternatives
        )
        self.refusals = Refusals()
        self._missing = self._missing_failure()

    def use_refusals(self, refusals: Refusals) -> None:
        """Word refusals as the twin's profile says (set once, at start-up)."""
        self.refusals = refusals
        self._missing = self._missing_failure()

    def _missing_failure(self) -> AuthFailure:
        bearer = any(req.bearer for alternative in self.alternatives for req in alternative)
        headers = [("www-authenticate", "Bearer")] if bearer else []
        return self.refusals.failure(
            401, "missing", f"authentication required: {self.describe}", headers
        )

    def allows(self, parts: RequestParts) -> bool:
        """Open mode: a credential of the right form is present for one requirement set."""
        return any(
            all(req.extract(parts) is not None for req in alternative)
            for alternative in self.alternatives
        )

    def check(self, parts: RequestParts) -> AuthFailure | None:
        """None when the request may proceed, else why not (status 401 or 403)."""
        if self.alternatives:
            failure = self._required(parts)
            if failure is not None:
                return failure
        if self.when_sent and self.verifier is not None:
            return self._presented(parts, self.verifier)
        return None

    def _presented(self, parts: RequestParts, verifier: Verifier) -> AuthFailure | None:
        for req in self.when_sent:
            secret = req.extract(parts)
            if secret is not None and verifier(req.scheme, secret, ScopeNeed(())) is not Verdict.OK:
                return self.refusals.failure(
                    401, "invalid", "invalid, expired or revoked credential", []
                )
        return None

    def _required(self, parts: RequestParts) -> AuthFailure | None:
        verifier = self.verifier
        if verifier is None:
            return None if self.allows(parts) else self._missing
        worst: tuple[Verdict, Requirement, ScopeNeed] | None = None
        for alternative, needs in zip(self.alternatives, self.needs, strict=True):
            failed: tuple[Verdict, Requirement, ScopeNeed] | None = None
            for req, need in zip(alternative, needs, strict=True):
                secret = req.extract(parts)
                if secret is None:
                    failed = (Verdict.MISSING, req, need)
                    break
                verdict = verifier(req.scheme, secret, need)
                if verdict is not Verdict.OK:
                    failed = (verdict, req, need)
                    break
            if failed is None:
                return None
            if worst is None or _RANK[failed[0]] > _RANK[worst[0]]:
                worst = failed
        assert worst is not None
        verdict, req, need = worst
        if verdict is Verdict.FORBIDDEN:
            message = f"the credential does not grant this operation ({req.scheme}"
            message += f": {need.describe()})" if need.scopes else ")"
            challenge = 'Bearer error="insufficient_scope"'
            if need.scopes:
                challenge += f', scope="{" ".join(need.scopes)}"'
            return self.refusals.failure(
                403, "forbidden", message, [("www-authenticate", challenge)] if req.bearer else []
            )
        if verdict is Verdict.INVALID:
            challenge = 'Bearer error="invalid_token"'
            headers = [("www-authenticate", challenge)] if req.bearer else []
            return self.refusals.failure(
                401, "invalid", "invalid, expired or revoked credential", headers
            )
        return self._missing


def compile_security(
    doc: SpecDocument,
    security: list[dict[str, list[str]]] | None,
    pointer: str,
    parameters: Sequence[Requirement] = (),
    when_sent: Sequence[Requirement] = (),
) -> AuthCheck | None:
    """None when the operation is public and checks nothing; otherwise what to check.

    ``parameters`` are credentials the profile names among this operation's declared
    parameters (conventions/param_credentials.py): the requirement of an operation that
    declares no security, one more alternative for one that does; an operation marked
    public (``security: []``) stays public. ``when_sent`` are keys the service checks
    whenever they are sent, public operations included.
    """
    check = _required_security(doc, security, pointer, parameters)
    if not when_sent:
        return check
    if check is None:
        return AuthCheck((), "", tuple(when_sent))
    check.when_sent = tuple(when_sent)
    return check


def _required_security(
    doc: SpecDocument,
    security: list[dict[str, list[str]]] | None,
    pointer: str,
    parameters: Sequence[Requirement],
) -> AuthCheck | None:
    requirements = security if security is not None else doc.raw.get("security")
    if not isinstance(requirements, list):
        if not parameters:
            return None
        requirements = []
    elif not requirements:
        return None
    schemes = read_schemes(doc) if _declares_schemes(doc) else {}
    alternatives: list[tuple[Requirement, ...]] = []
    names: list[str] = []
    for index, requirement in enumerate(requirements):
        if not isinstance(requirement, dict) or not requirement:
            return None  # an empty requirement set: anonymous access is allowed
        reqs: list[Requirement] = []
        for name, scopes in requirement.items():
            at = join_pointer(pointer, "security", index)
            info = schemes.get(name)
            if info is None:
                doc.warn(at, f"security scheme {name!r} is not declared; not checked")
                return None  # a requirement we cannot check is treated as satisfied
            extract = _extractor(info)
            if extract is None:
                doc.warn(at, f"security scheme type {info.kind!r} is not supported; not checked")
                return None
            listed = tuple(str(s) for s in scopes) if isinstance(scopes, list) else ()
            reqs.append(Requirement(name, extract, listed, extract in (_bearer,)))
        alternatives.append(tuple(reqs))
        names.append(" + ".join(requirement))
    for req in parameters:
        alternatives.append((req,))
        names.append(req.scheme)
    return AuthCheck(tuple(alternatives), " or ".join(dict.fromkeys(names)))


def _declares_schemes(doc: SpecDocument) -> bool:
    components = doc.raw.get("components")
    return isinstance(components, dict) and isinstance(components.get("securitySchemes"), dict)


# -- the auth of one twin --------------------------------------------------------------------

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _need_for(scopes: tuple[str, ...], method: str, rule: str) -> ScopeNeed:
    """The scopes an operation needs under the profile's rule.

    ``all`` (the OpenAPI reading): every listed scope. ``read_write_by_method``: an API
    that lists ``X:read`` and ``X:write`` on every operation of a resource and means "read
    to read, write to write" (drchrono); one matching scope suffices.
    """
    if rule == "read_write_by_method" and scopes:
        suffix = ":read" if method.upper() in _SAFE_METHODS else ":write"
        matching = tuple(s for s in scopes if s.endswith(suffix))
        if matching:
            return ScopeNeed(matching, any_of=True)
    return ScopeNeed(scopes)


class TwinAuth:
    """One twin's clock, credentials, OAuth server and auth mode."""

    def __init__(
        self,
        doc: SpecDocument,
        twin: str,
        store: Store,
        mode: str = "open",
        config: dict[str, Any] | None = None,
        is_api_path: Callable[[str], bool] = lambda path: False,
    ) -> None:
        if mode not in AUTH_MODES:
            raise ValueError(f"auth mode must be one of {', '.join(AUTH_MODES)}, got {mode!r}")
        self.mode = mode
        self.config = dict(config or {})
        self.store = store
        self.twin = twin
        self.schemes = read_schemes(doc) if _declares_schemes(doc) else {}
        self.parameter_credentials = read_parameter_credentials(self.config)
        for credential in self.parameter_credentials:
            if credential.scheme not in self.schemes:  # else: another place for that scheme
                self.schemes[credential.scheme] = SchemeInfo(
                    name=credential.scheme,
                    kind="apikey",
                    location=credential.location,
                    param=credential.name,
                    companions=credential.companions,
                    value_style=credential.value_style,
                    from_profile=True,
                )
        self.refusals = Refusals.from_config(self.config.get("refusals"))
        self.clock = TwinClock(store, twin)
        self.credentials = Credentials(store, twin, self.clock)
        self.scope_rule = str(self.config.get("scope_rule", "all"))
        self.read_only_scopes = _read_only_scopes(self.config.get("read_only_scopes"))
        self.oauth: OAuthServer | None = None
        if any(info.flows for info in self.schemes.values()):
            from apitwin.conventions.oauth import OAuthServer

            self.oauth = OAuthServer(self, is_api_path)

    def use_store(self, store: Store) -> None:
        """Switch to another connection to the same store (a forked worker opens its own)."""
        self.store = self.clock.store = self.credentials.store = store
        if self.oauth is not None:
            self.oauth.store = store

    @property
    def endpoints(self) -> dict[str, Endpoint]:
        """Paths outside the API the twin also answers (authorize, token, revoke)."""
        return self.oauth.endpoints if self.oauth is not None else {}

    def bind(self, operations: Iterable[CompiledOperation]) -> None:
        """Give every secured operation its scope needs and, in strict mode, the verifier."""
        for op in operations:
            check = op.auth
            if check is None:
                continue
            method = op.operation.method
            check.needs = tuple(
                tuple(_need_for(req.scopes, method, self.scope_rule) for req in alternative)
                for alternative in check.alternatives
            )
            check.use_refusals(self.refusals)
            writes = self.read_only_scopes and method.upper() not in _SAFE_METHODS
            if self.mode == "strict":
                check.verifier = self.verify_write if writes else self.verify
            elif writes:
                check.verifier = self.verify_open_write

    def read_only(self, record: dict[str, Any]) -> bool:
        """A credential whose every scope is a read-only one (profile
        ``auth.read_only_scopes``: DigitalOcean's read-only tokens) may not write; one
        without scopes is a full-access token."""
        scopes = set(record.get("scopes") or ())
        return bool(scopes) and scopes <= self.read_only_scopes

    def verify_write(self, scheme: str, secret: str, need: ScopeNeed) -> Verdict:
        """Strict mode, an operation that writes: also refuses read-only credentials."""
        record, _ = self.credentials.lookup(secret)
        verdict = _judge(record, scheme, need)
        if verdict is Verdict.OK and record is not None and self.read_only(record):
            return Verdict.FORBIDDEN
        return verdict

    def verify_open_write(self, scheme: str, secret: str, need: ScopeNeed) -> Verdict:
        """Open mode, an operation that writes: any token is accepted, except one the
        twin issued read-only, which stays read-only (a test of a client's handling of
        read-only tokens works in either mode; reads cost no lookup)."""
        record, _ = self.credentials.lookup(secret)
        return Verdict.FORBIDDEN if record is not None and self.read_only(record) else Verdict.OK

    def verify(self, scheme: str, secret: str, need: ScopeNeed) -> Verdict:
        record, _ = self.credentials.lookup(secret)
        return _judge(record, scheme, need)

    # -- admin ------------------------------------------------------------------------

    def create_credential(self, payload: Any) -> dict[str, Any]:
        """POST /__apitwin__/credentials: issue a key or token for one scheme."""
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            raise CredentialError("the body must be a JSON object")
        unknown = set(payload) - {"scheme", "scopes", "expires_in", "value", "username", "password"}
        if unknown:
            raise CredentialError(f"unknown field(s): {', '.join(sorted(unknown))}")
        info = self._scheme_for(payload.get("scheme"))
        scopes = payload.get("scopes")
        if scopes is None:
            granted: list[str] = sorted(info.scopes)
        elif isinstance(scopes, list) and all(isinstance(s, str) for s in scopes):
            granted = scopes
        elif isinstance(scopes, str):
            granted = scopes.split()
        else:
            raise CredentialError("'scopes' must be a list of strings")
        if info.kind == "oauth2" and not set(granted) <= info.scopes:
            extra = ", ".join(sorted(set(granted) - info.scopes))
            raise CredentialError(f"scope(s) not declared by {info.name}: {extra}")
        lifetime = payload.get("expires_in")
        if lifetime is not None and (
            isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0
        ):
            raise CredentialError("'expires_in' must be a positive number of seconds")
        value = self._value_of(info, payload)
        with self.store.transaction(self.twin) as tx:
            now = self.clock.now_in(tx)
            secret, record = self.credentials.issue(
                tx,
                kind=info.credential_kind,
                schemes=[info.name],
                scopes=granted,
                lifetime=lifetime,
                now=now,
                value=value,
                source="admin",
            )
        shown = public_view(record, now)
        shown["credential"] = secret
        shown["use"] = info.usage(secret)
        if lifetime is not None:
            shown["expires_in"] = lifetime
        return shown

    def _scheme_for(self, name: Any) -> SchemeInfo:
        checkable = {n: i for n, i in self.schemes.items() if _extractor(i) is not None}
        if name is None:
            # The document's only scheme; else, when it declares none, the profile's only one.
            declared = [i for i in checkable.values() if not i.from_profile]
            candidates = declared or list(checkable.values())
            if len(candidates) == 1:
                return candidates[0]
            choices = ", ".join(sorted(checkable)) or "none"
            raise CredentialError(f"'scheme' is required; this twin declares: {choices}")
        if not isinstance(name, str) or name not in checkable:
            choices = ", ".join(sorted(checkable)) or "none"
            raise CredentialError(f"unknown scheme {name!r}; this twin declares: {choices}")
        return checkable[name]

    @staticmethod
    def _value_of(info: SchemeInfo, payload: dict[str, Any]) -> str | None:
        """The secret to issue: the chosen ``value``, else one in the form the API's
        parameter asks for (a UUID for Nookipedia), else None for a random token."""
        if info.kind == "http" and info.http_scheme == "basic":
            username, password = payload.get("username"), payload.get("password")
            if not isinstance(username, str) or not username or ":" in username:
                raise CredentialError("'username' (without ':') is required for basic auth")
            if not isinstance(password, str) or not password:
                raise CredentialError("'password' is required for basic auth")
            return f"{username}:{password}"
        value = payload.get("value")
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise CredentialError("'value' must be a non-empty string")
        if value is None and info.value_style != "token":
            return new_value(info.value_style)
        if value is not None and info.value_style == "uuid" and not _is_uuid(value):
            raise CredentialError(f"'value' must be a UUID: {info.param} takes one")
        return value

    def describe(self) -> dict[str, Any]:
        """GET /__apitwin__/auth: the mode, the schemes and where the OAuth endpoints are."""
        result: dict[str, Any] = {
            "mode": self.mode,
            "schemes": {
                name: {
                    "type": info.kind,
                    **({"in": info.location, "name": info.param} if info.kind == "apikey" else {}),
                    **({"declared_by": "profile"} if info.from_profile else {}),
                    **({"scopes": sorted(info.scopes)} if info.flows else {}),
                    **(
                        {"flows": sorted({flow.grant for flow in info.flows})} if info.flows else {}
                    ),
                }
                for name, info in self.schemes.items()
            },
        }
        if self.oauth is not None:
            result["oauth"] = self.oauth.describe()
        return result


def _judge(record: dict[str, Any] | None, scheme: str, need: ScopeNeed) -> Verdict:
    """Strict mode: a credential the twin issued, for this scheme, with the scopes."""
    if record is None:
        return Verdict.INVALID
    if scheme not in record.get("schemes", ()):
        return Verdict.FORBIDDEN
    return Verdict.OK if need.met_by(record.get("scopes", ())) else Verdict.FORBIDDEN


def _read_only_scopes(raw: Any) -> frozenset[str]:
    if raw is None:
        return frozenset()
    if not isinstance(raw, list) or not all(isinstance(s, str) and s for s in raw):
        raise ValueError("auth.read_only_scopes must be a list of scope names")
    return frozenset(raw)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
