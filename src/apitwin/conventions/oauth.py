"""An OAuth 2.0 authorization server for every twin whose document declares oauth2 flows.

It answers at the paths the document's ``authorizationUrl``, ``tokenUrl`` and
``refreshUrl`` name (relative URLs resolved against the server URL, absolute ones reduced
to their path, since a twin serves every host on one port), so a client configured with
the real URLs and the twin's host talks to it unchanged. Revocation (RFC 7009) is served
at the paths the profile names (``auth.revocation_paths``, e.g. DRACOON ``/oauth/revoke``)
and always at ``/__apitwin__/oauth/revoke``.

Grants (RFC 6749): authorization code with PKCE (RFC 7636, S256 and plain), refresh
token with rotation, client credentials and resource-owner password. Clients are
registered through ``POST /__apitwin__/clients``; one default client (id ``apitwin``,
random secret kept in the store) exists on every OAuth twin.

Errors at the token and revocation endpoints are RFC 6749 section 5.2 bodies. A request
that fails changes nothing: a code survives a wrong verifier or redirect URI, a refresh
token survives a wrong client. Token lifetimes come from the profile (``auth``:
``access_token_lifetime``, ``refresh_token_lifetime``, ``code_lifetime``) and are measured
on the twin clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

import orjson

from apitwin.conventions.credentials import (
    CREDENTIALS_FAMILY,
    REFRESH_TOKEN,
    CredentialError,
    digest,
    is_active,
    new_secret,
)
from apitwin.state.store import Transaction

if TYPE_CHECKING:
    from apitwin.conventions.auth import Flow, TwinAuth

__all__ = [
    "DEFAULT_CLIENT_ID",
    "GENERIC_REVOKE_PATH",
    "AuthRequest",
    "AuthResponse",
    "Endpoint",
    "OAuthServer",
]

DEFAULT_CLIENT_ID = "apitwin"
# Under the admin prefix, so it exists on every OAuth twin whatever its API documents.
GENERIC_REVOKE_PATH = "/__apitwin__/oauth/revoke"

GRANTS = ("authorization_code", "refresh_token", "client_credentials", "password")
DEFAULT_ACCESS_LIFETIME = 3600
DEFAULT_CODE_LIFETIME = 60  # RFC 6749 4.1.2: short; drchrono's "expires extremely quickly"
_PKCE_TEXT = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_NO_STORE = [("cache-control", "no-store"), ("pragma", "no-cache")]


@dataclass
class AuthRequest:
    """An HTTP request to one of the OAuth endpoints, body already read."""

    method: str
    path: str
    query: bytes
    headers: dict[str, str]
    body: bytes


@dataclass
class AuthResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


Endpoint = Callable[[AuthRequest], AuthResponse]


class OAuthError(Exception):
    """An RFC 6749 error: ``error`` code, description, HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def _json(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> AuthResponse:
    return AuthResponse(
        status,
        [("content-type", "application/json;charset=UTF-8"), *_NO_STORE, *headers],
        orjson.dumps(payload),
    )


def _error(exc: OAuthError, realm: str) -> AuthResponse:
    headers = []
    if exc.status == 401:
        headers.append(("www-authenticate", f'Basic realm="{realm}"'))
    body = {"error": exc.error, "error_description": exc.description}
    return _json(exc.status, body, headers)


def _form(request: AuthRequest) -> dict[str, str]:
    """The urlencoded body as single values (RFC 6749 3.1: no parameter twice)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded")
    return _single(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))


def _single(pairs: list[tuple[str, str]]) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, value in pairs:
        if name in result:
            raise OAuthError("invalid_request", f"parameter {name!r} is given more than once")
        if value != "":  # RFC 6749 3.1: empty parameters are treated as omitted
            result[name] = value
    return result


def _challenge_of(verifier: str, method: str) -> str:
    if method == "plain":
        return verifier
    hashed = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(hashed).rstrip(b"=").decode("ascii")


def _with_params(uri: str, params: dict[str, str]) -> str:
    """``uri`` with ``params`` added to its query, keeping what it already has."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _valid_redirect(uri: str) -> bool:
    parts = urlsplit(uri)
    return bool(parts.scheme) and not parts.fragment and (bool(parts.netloc) or parts.path != "")


class OAuthServer:
    """The authorize, token and revoke endpoints of one twin."""

    def __init__(self, auth: TwinAuth, is_api_path: Callable[[str], bool]) -> None:
        self.auth = auth
        self.store = auth.store
        self.twin = auth.twin
        self.clock = auth.clock
        self.credentials = auth.credentials
        config = auth.config
        self.access_lifetime = float(config.get("access_token_lifetime", DEFAULT_ACCESS_LIFETIME))
        refresh = config.get("refresh_token_lifetime")
        self.refresh_lifetime = None if refresh is None else float(refresh)
        self.code_lifetime = float(config.get("code_lifetime", DEFAULT_CODE_LIFETIME))
        flows = [flow for info in auth.schemes.values() for flow in info.flows]
        self.token_flows: dict[str, list[Flow]] = {}
        self.authorize_flows: dict[str, list[Flow]] = {}
        for flow in flows:
            for path in {flow.token_path, flow.refresh_path} - {None}:
                assert path is not None
                self.token_flows.setdefault(path, []).append(flow)
            if flow.grant == "authorization_code" and flow.authorize_path:
                self.authorize_flows.setdefault(flow.authorize_path, []).append(flow)
        revoke_paths = [str(p) for p in config.get("revocation_paths", ())]
        # Clients the real service has built in (DRACOON's dracoon_legacy_scripting, which
        # its SDK uses by default): configuration from the profile, never stored.
        self.builtin_clients: dict[str, dict[str, Any]] = {}
        for entry in config.get("clients", ()):
            record = self._client_record(
                str(entry["client_id"]),
                entry.get("client_secret"),
                list(entry.get("redirect_uris", [])),
                bool(entry.get("public", False)),
                str(entry.get("name", entry["client_id"])),
                entry.get("grant_types"),
            )
            self.builtin_clients[record["client_id"]] = record
        self.endpoints: dict[str, Endpoint] = {}
        self._canonical: dict[str, str] = {}  # "/o/token" -> "/o/token/" as documented
        self.paths: dict[str, list[str]] = {"authorize": [], "token": [], "revoke": []}
        for kind, paths, handler in (
            ("authorize", list(self.authorize_flows), self._authorize_endpoint),
            ("token", list(self.token_flows), self._token_endpoint),
            ("revoke", revoke_paths, self._revoke_endpoint),
        ):
            for path in paths:
                if is_api_path(path):
                    continue  # the API itself documents this path: it wins
                self.paths[kind].append(path)
                for variant in (path, path.rstrip("/") or "/", path.rstrip("/") + "/"):
                    self.endpoints.setdefault(variant, handler)
                    self._canonical.setdefault(variant, path)
        self.paths["revoke"].append(GENERIC_REVOKE_PATH)
        self.endpoints[GENERIC_REVOKE_PATH] = self._revoke_endpoint

    def describe(self) -> dict[str, Any]:
        return {
            **self.paths,
            "grant_types": list(GRANTS),
            "code_challenge_methods": ["S256", "plain"],
            "access_token_lifetime": self.access_lifetime,
            "refresh_token_lifetime": self.refresh_lifetime,
            "code_lifetime": self.code_lifetime,
            "default_client_id": DEFAULT_CLIENT_ID,
        }

    # -- clients ----------------------------------------------------------------------

    def ensure_default_client(self) -> dict[str, Any]:
        """The default client, created with a random secret the first time a store sees
        this twin (so the secret is stable per data directory)."""
        key = "client:" + DEFAULT_CLIENT_ID
        with self.store.transaction(self.twin) as tx:
            record = tx.get(CREDENTIALS_FAMILY, key, for_update=True)
            if record is None:
                record = self._client_record(
                    DEFAULT_CLIENT_ID, new_secret(), [], False, "default client", None
                )
                tx.put(CREDENTIALS_FAMILY, key, record, parent="client")
        return _client_view(record)

    def register_client(self, payload: Any) -> dict[str, Any]:
        """POST /__apitwin__/clients."""
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            raise CredentialError("the body must be a JSON object")
        known = {"client_id", "client_secret", "redirect_uris", "public", "name", "grant_types"}
        unknown = set(payload) - known
        if unknown:
            raise CredentialError(f"unknown field(s): {', '.join(sorted(unknown))}")
        public = payload.get("public", False)
        if not isinstance(public, bool):
            raise CredentialError("'public' must be a boolean")
        client_id = payload.get("client_id") or new_secret()[:22]
        if not isinstance(client_id, str) or ":" in client_id:
            raise CredentialError("'client_id' must be a string without ':'")
        secret = payload.get("client_secret")
        if public and secret is not None:
            raise CredentialError("a public client has no 'client_secret'")
        if secret is not None and (not isinstance(secret, str) or not secret):
            raise CredentialError("'client_secret' must be a non-empty string")
        if not public and secret is None:
            secret = new_secret()
        uris = payload.get("redirect_uris", [])
        if not isinstance(uris, list) or not all(
            isinstance(u, str) and _valid_redirect(u) for u in uris
        ):
            raise CredentialError("'redirect_uris' must be absolute URIs without a fragment")
        grants = payload.get("grant_types")
        if grants is not None and (
            not isinstance(grants, list) or not set(grants) <= set(GRANTS) or not grants
        ):
            raise CredentialError(f"'grant_types' must be a list drawn from {', '.join(GRANTS)}")
        name = str(payload.get("name", client_id))
        record = self._client_record(client_id, secret, uris, public, name, grants)
        with self.store.transaction(self.twin) as tx:
            if self._client(tx, client_id) is not None:
                raise CredentialError(f"client {client_id!r} exists already", 409)
            tx.put(CREDENTIALS_FAMILY, record["key"], record, parent="client")
        return _client_view(record)

    @staticmethod
    def _client_record(
        client_id: str,
        secret: str | None,
        uris: list[str],
        public: bool,
        name: str,
        grants: list[str] | None,
    ) -> dict[str, Any]:
        return {
            "key": "client:" + client_id,
            "client_id": client_id,
            "client_secret": secret,
            "redirect_uris": uris,
            "public": public,
            "name": name,
            "grant_types": grants,
        }

    def clients(self) -> list[dict[str, Any]]:
        """Every registered client; the default one is created here when it is missing, so
        in-process users find it without ``apitwin serve`` having printed it."""
        self.ensure_default_client()
        with self.store.transaction(self.twin, write=False) as tx:
            page = tx.list(CREDENTIALS_FAMILY, parent="client")
        builtin = [_client_view(record) for record in self.builtin_clients.values()]
        return [_client_view(record) for record in page.items] + builtin

    def delete_client(self, client_id: str) -> bool:
        with self.store.transaction(self.twin) as tx:
            return tx.delete(CREDENTIALS_FAMILY, "client:" + client_id)

    def _client(self, tx: Transaction, client_id: str) -> dict[str, Any] | None:
        stored = tx.get(CREDENTIALS_FAMILY, "client:" + client_id)
        return stored if stored is not None else self.builtin_clients.get(client_id)

    def _authenticate(self, tx: Transaction, request: AuthRequest, form: dict[str, str]) -> dict:
        """The client making a token or revocation request (RFC 6749 2.3.1): HTTP Basic
        or ``client_id``/``client_secret`` in the body; a public client sends its id."""
        client_id = form.get("client_id")
        secret = form.get("client_secret")
        scheme, _, payload = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            if secret is not None:
                raise OAuthError("invalid_request", "more than one client authentication")
            try:
                decoded = base64.b64decode(payload.strip(), validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                raise OAuthError("invalid_client", "malformed Basic credentials", 401) from None
            basic_id, sep, basic_secret = decoded.partition(":")
            if not sep:
                raise OAuthError("invalid_client", "malformed Basic credentials", 401)
            basic_id, secret = unquote_plus(basic_id), unquote_plus(basic_secret)
            if client_id is not None and client_id != basic_id:
                raise OAuthError("invalid_request", "client_id differs from the Basic user")
            client_id = basic_id
        if not client_id:
            raise OAuthError("invalid_client", "no client authentication", 401)
        client = self._client(tx, client_id)
        if client is None:
            raise OAuthError("invalid_client", "unknown client", 401)
        if client["public"]:
            if secret:
                raise OAuthError("invalid_client", "a public client has no secret", 401)
            return client
        expected = str(client["client_secret"] or "")
        if not secret or not hmac.compare_digest(secret.encode(), expected.encode()):
            raise OAuthError("invalid_client", "client authentication failed", 401)
        return client

    # -- the authorization endpoint -----------------------------------------------------

    def _authorize_endpoint(self, request: AuthRequest) -> AuthResponse:
        if request.method not in ("GET", "POST"):
            return AuthResponse(405, [("allow", "GET, POST")])
        try:
            if request.method == "GET":
                params = _single(parse_qsl(request.query.decode("utf-8", "replace")))
            else:
                params = _form(request)
        except OAuthError as exc:
            return _page(400, "Invalid request", exc.description)
        flows = self.authorize_flows.get(self._canonical.get(request.path, request.path), [])
        with self.store.transaction(self.twin) as tx:
            client = self._client(tx, params.get("client_id", ""))
            if client is None:
                return _page(400, "Unknown client", "client_id names no registered client.")
            redirect = params.get("redirect_uri")
            registered: list[str] = client["redirect_uris"]
            if redirect is None:
                if len(registered) != 1:
                    return _page(400, "Invalid request", "redirect_uri is required.")
                redirect = registered[0]
            elif not _valid_redirect(redirect) or (registered and redirect not in registered):
                return _page(400, "Invalid redirect", "redirect_uri is not registered.")
            # From here on, errors go back to the client (RFC 6749 4.1.2.1).
            state = params.get("state")
            try:
                scopes = self._authorize_checks(params, client, flows)
            except OAuthError as exc:
                return _redirect(redirect, _error_params(exc, state))
            decision = self._decision(request, params)
            if decision is None:
                return self._consent(request.path, params, client, scopes)
            if not decision:
                denied = OAuthError("access_denied", "the resource owner denied the request")
                return _redirect(redirect, _error_params(denied, state))
            now = self.clock.now_in(tx)
            code = new_secret()
            tx.put(
                CREDENTIALS_FAMILY,
                "code:" + digest(code),
                {
                    "key": "code:" + digest(code),
                    "client_id": client["client_id"],
                    "redirect_uri": redirect,
                    "redirect_given": "redirect_uri" in params,
                    "scopes": scopes,
                    "schemes": sorted({flow.scheme for flow in flows}),
                    "challenge": params.get("code_challenge"),
                    "challenge_method": params.get("code_challenge_method", "plain")
                    if "code_challenge" in params
                    else None,
                    "expires_at": now + self.code_lifetime,
                    "used": False,
                },
                parent="code",
            )
        granted = {"code": code}
        if state is not None:
            granted["state"] = state
        return _redirect(redirect, granted)

    def _authorize_checks(
        self, params: dict[str, str], client: dict[str, Any], flows: list[Flow]
    ) -> list[str]:
        """The scopes to grant, after every check that is reported by redirect."""
        if params.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", "only response_type=code is supported")
        grants = client.get("grant_types")
        if grants is not None and "authorization_code" not in grants:
            raise OAuthError("unauthorized_client", "client may not use authorization codes")
        allowed = frozenset().union(*(flow.scopes for flow in flows))
        scopes = self._scopes(params.get("scope"), allowed)
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if challenge is None:
            if method is not None:
                raise OAuthError("invalid_request", "code_challenge_method without code_challenge")
            if client["public"]:
                raise OAuthError("invalid_request", "a public client must send code_challenge")
        else:
            if (method or "plain") not in ("S256", "plain"):
                raise OAuthError("invalid_request", "code_challenge_method must be S256 or plain")
            if not _PKCE_TEXT.fullmatch(challenge):
                raise OAuthError("invalid_request", "code_challenge must be 43-128 characters")
        return scopes

    @staticmethod
    def _decision(request: AuthRequest, params: dict[str, str]) -> bool | None:
        """True to approve, False to deny, None to ask (the consent page)."""
        if request.method == "POST":
            return params.get("decision") == "approve"
        if params.get("auto_approve", "").lower() in ("true", "1", "yes"):
            return True
        return None

    def _consent(
        self, path: str, params: dict[str, str], client: dict[str, Any], scopes: list[str]
    ) -> AuthResponse:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
            if k not in ("decision", "auto_approve")
        )
        items = "".join(f"<li>{html.escape(s)}</li>" for s in scopes) or "<li>(none)</li>"
        page = (
            '<!doctype html><html><head><meta charset="utf-8">'
            f"<title>Authorize {html.escape(client['name'])}</title></head><body>"
            f"<h1>{html.escape(self.twin)}: authorize {html.escape(client['name'])}?</h1>"
            f"<p>The application asks for these scopes:</p><ul>{items}</ul>"
            f'<form method="post" action="{html.escape(path)}">{hidden}'
            '<button type="submit" name="decision" value="approve">Approve</button> '
            '<button type="submit" name="decision" value="deny">Deny</button>'
            "</form></body></html>"
        )
        return AuthResponse(
            200, [("content-type", "text/html; charset=utf-8"), *_NO_STORE], page.encode()
        )

    def _post_only(self, endpoint: str) -> AuthResponse:
        """405 with ``Allow: POST`` in the RFC 6749 error shape."""
        response = _error(OAuthError("invalid_request", f"{endpoint} takes POST", 405), self.twin)
        response.headers.append(("allow", "POST"))
        return response

    # -- the token endpoint -------------------------------------------------------------

    def _token_endpoint(self, request: AuthRequest) -> AuthResponse:
        if request.method != "POST":
            return self._post_only("the token endpoint")
        try:
            form = _form(request)
            with self.store.transaction(self.twin) as tx:
                client = self._authenticate(tx, request, form)
                grant = form.get("grant_type")
                if grant is None:
                    raise OAuthError("invalid_request", "grant_type is required")
                if grant not in GRANTS:
                    raise OAuthError("unsupported_grant_type", f"grant_type {grant!r}")
                allowed = client.get("grant_types")
                if allowed is not None and grant not in allowed:
                    raise OAuthError("unauthorized_client", f"client may not use {grant}")
                path = request.path
                payload = getattr(self, "_grant_" + grant)(tx, client, form, path)
        except OAuthError as exc:
            return _error(exc, self.twin)
        return _json(200, payload)

    def _targets(self, path: str, grant: str) -> tuple[list[str], frozenset[str]]:
        """The schemes a token from ``grant`` at ``path`` serves, and the scopes it may
        carry: the flows of that grant at this token URL, or, when the document declares
        none (DRACOON's password grant), every flow at this URL."""
        at_path = self.token_flows.get(self._canonical.get(path, path), [])
        chosen = [flow for flow in at_path if flow.grant == grant] or at_path
        schemes = sorted({flow.scheme for flow in chosen})
        return schemes, frozenset().union(*(flow.scopes for flow in chosen))

    @staticmethod
    def _scopes(requested: str | None, allowed: frozenset[str]) -> list[str]:
        if requested is None:
            return sorted(allowed)  # drchrono: "omitted scope = all scopes"
        wanted = requested.split()
        unknown = [scope for scope in wanted if scope not in allowed]
        if unknown:
            raise OAuthError("invalid_scope", f"unknown scope(s): {' '.join(unknown)}")
        return sorted(set(wanted))

    def _issue(
        self,
        tx: Transaction,
        client: dict[str, Any],
        *,
        schemes: list[str],
        scopes: list[str],
        grant: str,
        grant_id: str | None = None,
        refresh: bool = True,
        username: str | None = None,
    ) -> dict[str, Any]:
        now = self.clock.now_in(tx)
        grant_id = grant_id or self.credentials.new_grant_id()
        common = {
            "client_id": client["client_id"],
            "grant_id": grant_id,
            "grant_type": grant,
            "source": "oauth",
        }
        if username is not None:  # the resource owner, for APIs that answer "who am I"
            common["username"] = username
        access, _ = self.credentials.issue(
            tx,
            kind="access_token",
            schemes=schemes,
            scopes=scopes,
            lifetime=self.access_lifetime,
            now=now,
            **common,
        )
        payload: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(self.access_lifetime),
            "scope": " ".join(scopes),
        }
        if refresh:
            token, _ = self.credentials.issue(
                tx,
                kind=REFRESH_TOKEN,
                schemes=schemes,
                scopes=scopes,
                lifetime=self.refresh_lifetime,
                now=now,
                **common,
            )
            payload["refresh_token"] = token
            if self.refresh_lifetime is not None:
                payload["refresh_token_expires_in"] = int(self.refresh_lifetime)
        return payload

    def _grant_authorization_code(
        self, tx: Transaction, client: dict[str, Any], form: dict[str, str], path: str
    ) -> dict[str, Any]:
        code = form.get("code")
        if code is None:
            raise OAuthError("invalid_request", "code is required")
        key = "code:" + digest(code)
        record = tx.get(CREDENTIALS_FAMILY, key, for_update=True)
        now = self.clock.now_in(tx)
        if record is None:
            raise OAuthError("invalid_grant", "unknown authorization code")
        if record["used"]:
            raise OAuthError("invalid_grant", "the authorization code was already used")
        if now >= float(record["expires_at"]):
            raise OAuthError("invalid_grant", "the authorization code has expired")
        if record["client_id"] != client["client_id"]:
            raise OAuthError("invalid_grant", "the code was issued to another client")
        redirect = form.get("redirect_uri")
        if (record["redirect_given"] or redirect is not None) and redirect != record[
            "redirect_uri"
        ]:
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorization")
        verifier = form.get("code_verifier")
        challenge = record["challenge"]
        if challenge is None and verifier is not None:
            raise OAuthError("invalid_grant", "code_verifier sent but no code_challenge was")
        if challenge is not None:
            if verifier is None or not _PKCE_TEXT.fullmatch(verifier):
                raise OAuthError("invalid_grant", "a valid code_verifier is required")
            expected = _challenge_of(verifier, record["challenge_method"])
            if not hmac.compare_digest(expected.encode(), challenge.encode()):
                raise OAuthError("invalid_grant", "code_verifier does not match code_challenge")
        tx.put(CREDENTIALS_FAMILY, key, {**record, "used": True}, parent="code")
        return self._issue(
            tx,
            client,
            schemes=record["schemes"],
            scopes=record["scopes"],
            grant="authorization_code",
        )

    def _grant_refresh_token(
        self, tx: Transaction, client: dict[str, Any], form: dict[str, str], path: str
    ) -> dict[str, Any]:
        token = form.get("refresh_token")
        if token is None:
            raise OAuthError("invalid_request", "refresh_token is required")
        record = self.credentials.find(tx, token, for_update=True)
        now = self.clock.now_in(tx)
        if record is None or record.get("kind") != REFRESH_TOKEN or not is_active(record, now):
            raise OAuthError("invalid_grant", "unknown, expired or revoked refresh token")
        if record.get("client_id") != client["client_id"]:
            raise OAuthError("invalid_grant", "the refresh token was issued to another client")
        scopes = self._scopes(form.get("scope"), frozenset(record["scopes"]))
        self.credentials.revoke(tx, record)  # rotation: a refresh token works once
        return self._issue(
            tx,
            client,
            schemes=record["schemes"],
            scopes=scopes,
            grant=str(record.get("grant_type", "refresh_token")),
            grant_id=record.get("grant_id"),
            username=record.get("username"),
        )

    def _grant_client_credentials(
        self, tx: Transaction, client: dict[str, Any], form: dict[str, str], path: str
    ) -> dict[str, Any]:
        if client["public"]:
            raise OAuthError("unauthorized_client", "a public client cannot use this grant")
        schemes, allowed = self._targets(path, "client_credentials")
        scopes = self._scopes(form.get("scope"), allowed)
        # RFC 6749 4.4.3: no refresh token for client credentials.
        return self._issue(
            tx, client, schemes=schemes, scopes=scopes, grant="client_credentials", refresh=False
        )

    def _grant_password(
        self, tx: Transaction, client: dict[str, Any], form: dict[str, str], path: str
    ) -> dict[str, Any]:
        if not form.get("username") or not form.get("password"):
            raise OAuthError("invalid_request", "username and password are required")
        schemes, allowed = self._targets(path, "password")
        scopes = self._scopes(form.get("scope"), allowed)
        return self._issue(
            tx, client, schemes=schemes, scopes=scopes, grant="password", username=form["username"]
        )

    # -- the revocation endpoint (RFC 7009) ------------------------------------------

    def _revoke_endpoint(self, request: AuthRequest) -> AuthResponse:
        if request.method != "POST":
            return self._post_only("the revocation endpoint")
        try:
            form = _form(request)
            with self.store.transaction(self.twin) as tx:
                client = self._authenticate(tx, request, form)
                token = form.get("token")
                if token is None:
                    raise OAuthError("invalid_request", "token is required")
                record = self.credentials.find(tx, token, for_update=True)
                if record is not None and record.get("source") == "oauth":
                    if record.get("client_id") != client["client_id"]:
                        raise OAuthError(
                            "unauthorized_client", "the token belongs to another client"
                        )
                    if record.get("kind") == REFRESH_TOKEN and record.get("grant_id"):
                        # RFC 7009 2.1: the access tokens of the same grant go too.
                        self.credentials.revoke_grant(tx, record["grant_id"])
                    else:
                        self.credentials.revoke(tx, record)
        except OAuthError as exc:
            return _error(exc, self.twin)
        # RFC 7009 2.2: 200 also for a token the server does not know.
        return AuthResponse(200, list(_NO_STORE))


def _client_view(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "key"}


def _error_params(exc: OAuthError, state: str | None) -> dict[str, str]:
    params = {"error": exc.error, "error_description": exc.description}
    if state is not None:
        params["state"] = state
    return params


def _redirect(uri: str, params: dict[str, str]) -> AuthResponse:
    return AuthResponse(302, [("location", _with_params(uri, params)), *_NO_STORE])


def _page(status: int, title: str, text: str) -> AuthResponse:
    body = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"</head><body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )
    return AuthResponse(status, [("content-type", "text/html; charset=utf-8")], body.encode())
