"""Registry credentials at the daemon: ``POST /auth`` and the ``X-Registry-Auth`` header.

The daemon itself is unauthenticated; what clients send it are credentials for the
registry, which the daemon passes on. The registry here is the Docker Hub twin's state,
so the accounts are the Hub's (its profile's ``accounts``, shared through
``docker_accounts``): ``POST /auth`` checks a login as the Hub would and answers with an
``IdentityToken`` the twin issued (a Hub JWT kept as an issued credential in the store),
which ``docker login`` then keeps instead of the password.

- Open mode (the default) is permissive: any non-empty user name and password, or any
  identity token, log in; a seed account still needs its own password (as at the Hub's
  login). Pulls of private repositories need no credentials.
- Strict mode knows only the Hub's accounts (password or an active personal access
  token) and tokens the twin issued; a pull of a private repository or a push with
  credentials that do not reach the namespace is refused as the daemon relays the
  registry's refusal.

``X-Registry-Auth`` is base64url JSON (``{username, password, ...}`` or
``{identitytoken}``); a header that does not decode to such an object is the daemon's
``400 invalid X-Registry-Auth header: ...``. An absent header, or ``{}`` (what the CLI
sends when not logged in), is anonymous.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import orjson

from apitwin.behaviours.base import json_reply, reject
from apitwin.behaviours.docker_accounts import Account, Accounts, Identity
from apitwin.behaviours.docker_engine.daemon import Daemon, body_of
from apitwin.engine.context import Reply, RequestContext
from apitwin.twins.registry import bundled_profile

__all__ = ["LOGIN_REFUSED", "RegistryAuth", "RegistryCredentials", "decode_registry_auth"]

LOGIN_REFUSED = (
    'Get "https://registry-1.docker.io/v2/": unauthorized: incorrect username or password'
)
_HEADER = "x-registry-auth"
_BASE64URL = re.compile(r"[A-Za-z0-9_-]")
_FIELDS = ("username", "password", "auth", "email", "serveraddress", "identitytoken")


@dataclass(frozen=True)
class RegistryAuth:
    """Decoded registry credentials (the daemon's ``AuthConfig``)."""

    username: str = ""
    password: str = ""
    identitytoken: str = ""
    serveraddress: str = ""

    @property
    def anonymous(self) -> bool:
        return not (self.username or self.password or self.identitytoken)


def _invalid(reason: str, prefix: str = "invalid X-Registry-Auth header: ") -> Exception:
    return reject(400, prefix + reason)


def _auth_config(value: Any, prefix: str = "invalid X-Registry-Auth header: ") -> RegistryAuth:
    """An ``AuthConfig`` JSON object, typed as the daemon's Go struct reads it."""
    if value is None:
        return RegistryAuth()
    if not isinstance(value, dict):
        kind = {list: "array", str: "string", bool: "bool"}.get(type(value), "number")
        raise _invalid(
            f"json: cannot unmarshal {kind} into Go value of type registry.AuthConfig", prefix
        )
    fields: dict[str, str] = {}
    for name in _FIELDS:
        item = value.get(name)
        if item is None:
            continue
        if not isinstance(item, str):
            kind = {list: "array", dict: "object", bool: "bool"}.get(type(item), "number")
            raise _invalid(
                f"json: cannot unmarshal {kind} into Go struct field AuthConfig.{name} of type "
                "string",
                prefix,
            )
        fields[name] = item
    username, password = fields.get("username", ""), fields.get("password", "")
    packed = fields.get("auth", "")
    if packed and not username:  # ``auth`` is base64 of user:password (config.json's form)
        try:
            username, _, password = base64.b64decode(packed).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            username, password = "", ""
    return RegistryAuth(
        username, password, fields.get("identitytoken", ""), fields.get("serveraddress", "")
    )


def decode_registry_auth(header: str | None) -> RegistryAuth:
    """The credentials of an ``X-Registry-Auth`` header (base64url of a JSON object)."""
    if not header:
        return RegistryAuth()
    text = header.strip()
    for index, char in enumerate(text.rstrip("=")):
        if not _BASE64URL.match(char):
            raise _invalid(f"illegal base64 data at input byte {index}")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise _invalid(f"illegal base64 data at input byte {len(text)}") from None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        first = raw[:1].decode("latin-1") or "EOF"
        raise _invalid(f"invalid character {first!r} looking for beginning of value") from None
    return _auth_config(value)


class RegistryCredentials:
    """The Hub's accounts as the daemon's registry logins see them."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        config = daemon.twin.profile.extra.get("accounts") or "docker-hub"
        if isinstance(config, str):  # the accounts of another twin's profile (the Hub)
            config = bundled_profile(config).extra.get("accounts") or {}
        self.accounts = Accounts(daemon.twin, dict(config))

    @property
    def strict(self) -> bool:
        return self.accounts.strict

    def of(self, context: RequestContext) -> RegistryAuth:
        return decode_registry_auth(context.parts.headers.get(_HEADER))

    def identify(self, auth: RegistryAuth) -> Identity | None:
        """Who the credentials log in as, or None when the registry would refuse them."""
        if auth.identitytoken:
            found = self.accounts.identify(auth.identitytoken)
            return found if isinstance(found, Identity) else None
        if not auth.username or not auth.password:
            return None
        account = self._account(auth.username, auth.password)
        if account is None:
            return None
        return Identity(username=account.username, orgs=account.orgs)

    def _account(self, username: str, password: str) -> Account | None:
        account = self.accounts.verify(username, password)
        if account is None and not self.strict and username not in self.accounts.users:
            return Account(username=username)  # open mode: any user name logs in
        return account

    def may_read(self, auth: RegistryAuth, namespace: str, private: bool) -> bool:
        """Whether a pull may see the repository: public ones always, private ones in
        open mode always, in strict mode with credentials reaching the namespace."""
        if not private or not self.strict:
            return True
        who = self.identify(auth)
        return who is not None and who.may_write(namespace)

    def may_push(self, auth: RegistryAuth, namespace: str) -> bool:
        """Open mode pushes anywhere; strict mode needs credentials of a member."""
        if not self.strict:
            return True
        who = self.identify(auth)
        return who is not None and who.may_write(namespace)

    # -- POST /auth -------------------------------------------------------------------------

    def login(self, context: RequestContext) -> Reply:
        """``docker login``: the credentials' shape, then the Hub's check; an identity
        token the twin issued comes back for the client to keep."""
        auth = _auth_config(body_of(context), "")
        if auth.identitytoken:
            if self.identify(auth) is None:
                raise reject(401, LOGIN_REFUSED)
            token = auth.identitytoken
        else:
            account = (
                self._account(auth.username, auth.password)
                if auth.username and auth.password
                else None
            )
            if account is None:
                raise reject(401, LOGIN_REFUSED)
            token = self.accounts.issue_identity_token(account)
        return json_reply({"Status": "Login Succeeded", "IdentityToken": token})
