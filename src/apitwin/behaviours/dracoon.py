"""DRACOON's legacy login: ``POST /v4/auth/login`` mints the token that
``X-Sds-Auth-Token`` carries, ``POST /v4/user/logout`` invalidates it, and
``GET /v4/user/account`` answers for the user who logged in.

The document says what the token is but cannot express it: "valid for two hours, every
usage resets this period to two full hours again. Logging off invalidates the token."
The profile declares the header as a credential parameter (auth.parameters), so the
engine checks it on every operation that declares it; this module only issues and
revokes. The twin has no user database: any user name with a non-empty password logs in,
as with the OAuth password grant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from apitwin.behaviours.base import Behaviour, json_reply, reject
from apitwin.conventions.credentials import CREDENTIALS_FAMILY
from apitwin.engine.context import Reply, RequestContext

if TYPE_CHECKING:
    from apitwin.conventions.auth import TwinAuth
    from apitwin.engine.twin import Twin

__all__ = ["LOGIN_TOKEN_LIFETIME", "TOKEN_SCHEME", "install"]

TOKEN_SCHEME = "X-Sds-Auth-Token"  # the profile's name for the legacy token's scheme
LOGIN_TOKEN_LIFETIME = 2 * 3600  # "valid for two hours", sliding


def _presented(context: RequestContext) -> str | None:
    """The token the request authenticated with: the legacy header, else a bearer token."""
    headers = context.parts.headers
    token = headers.get("x-sds-auth-token")
    if token:
        return token
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


class DracoonAuth(Behaviour):
    def __init__(self, twin: Twin) -> None:
        super().__init__(twin)
        assert twin.auth is not None
        self.auth: TwinAuth = twin.auth
        self.bind("login", self.login)
        self.bind("logout", self.logout)
        self.bind("requestUserInfo", self.user_info)

    def login(self, context: RequestContext) -> Reply:
        body: dict[str, Any] = context.request.body or {}
        username = body.get("userName") or body.get("login")
        if not isinstance(username, str) or not username.strip():
            raise reject(400, "Mandatory fields cannot be empty: userName")
        if not body.get("password"):
            raise reject(401, "Wrong username or password", code="wrong_credentials")
        credentials = self.auth.credentials
        with self.auth.store.transaction(self.twin.name) as tx:
            now = self.auth.clock.now_in(tx)
            token, _ = credentials.issue(
                tx,
                kind="access_token",
                schemes=[TOKEN_SCHEME],
                scopes=[],
                lifetime=LOGIN_TOKEN_LIFETIME,
                now=now,
                source="login",
                username=username,
                sliding=LOGIN_TOKEN_LIFETIME,
            )
        return json_reply({"token": token})

    def logout(self, context: RequestContext) -> Reply:
        """Invalidate the token the request came with; ``everywhere=true`` invalidates
        every login token of the same user."""
        token = _presented(context)
        credentials = self.auth.credentials
        with self.auth.store.transaction(self.twin.name) as tx:
            record = credentials.find(tx, token, for_update=True) if token else None
            if record is not None:
                credentials.revoke(tx, record)
                username = record.get("username")
                if context.params.get("everywhere") is True and username:
                    page = tx.list(
                        CREDENTIALS_FAMILY,
                        parent="cred",
                        filters={"username": username, "source": "login"},
                    )
                    for other in page.items:
                        credentials.revoke(tx, other)
        return json_reply(None, 204)

    def user_info(self, context: RequestContext) -> Reply:
        """The account as the document synthesizes it, named after the user whose token
        the request carries (login or OAuth password grant), so that a client sees the
        user it logged in as."""
        status, headers, body = context.operation.responder.render(context.accept)
        token = _presented(context)
        record, _ = self.auth.credentials.lookup(token) if token else (None, 0.0)
        username = record.get("username") if record else None
        if not username or not body:
            return Reply(status, list(headers), body)
        account = orjson.loads(body)
        if isinstance(account, dict):
            account["userName"] = username
            if isinstance(account.get("authData"), dict):
                account["authData"]["login"] = username
        return json_reply(account, status)


def install(twin: Twin) -> None:
    DracoonAuth(twin)
