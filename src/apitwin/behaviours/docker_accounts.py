"""Docker ID accounts shared by the Hub and DVP twins: users, the JWTs their login issues,
the second factor, and the bearer check both APIs apply.

Docker Hub mints a JWT at ``POST /v2/users/login`` (username and password or personal
access token); an account with two-factor authentication first gets ``401`` with a
short-lived ``login_2fa_token``, exchanged at ``POST /v2/users/2fa-login`` with a TOTP
code. DVP serves the same two endpoints and accepts the same JWTs, except those minted
from a personal access token ("PATs are not supported on this API").

Everything lives in the Hub's state (twin ``docker-hub``), whichever twin's port the
login came through, so one login works on both twins when they share a store: the
signing key, pending second-factor tokens and personal-access-token lookups are kept in
the reserved credentials family (kept across resets), and every JWT is also an issued
credential there, which is what strict mode accepts. The JWT is HS256, made with the
standard library: clients only read its claims, and a signing library would add a
dependency for twenty lines.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import struct
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from apitwin.behaviours.base import json_reply
from apitwin.behaviours.docker_catalog import PULLS_TWIN
from apitwin.conventions.auth import AuthCheck, AuthFailure
from apitwin.conventions.clock import TwinClock
from apitwin.conventions.credentials import CREDENTIALS_FAMILY, Credentials, digest, is_active
from apitwin.engine.context import Reply, RequestContext
from apitwin.schema.params import RequestParts
from apitwin.state.store import Store, Transaction

if TYPE_CHECKING:
    from apitwin.engine.twin import Twin

__all__ = [
    "HUB_SCHEME",
    "Account",
    "Accounts",
    "DockerAuthCheck",
    "Identity",
    "presented_token",
    "sign_jwt",
    "totp",
]

HUB_TWIN = PULLS_TWIN  # the accounts live where the repositories do
HUB_SCHEME = "HubAuth"  # the DVP document's name for the Hub's JWT bearer scheme
ISSUER = "https://hub.docker.com"

MONTH = 30 * 24 * 3600  # Docker Hub login JWTs are valid for a month
SECOND_FACTOR_WINDOW = 300  # seconds a login_2fa_token stays usable

# Docker IDs: 4 to 30 characters, lower-case letters and digits.
_DOCKER_ID = re.compile(r"^[a-z0-9]{4,30}$")

INCORRECT = "Incorrect authentication credentials"
SECOND_FACTOR_REQUIRED = "Require secondary authentication on MFA enabled account"
NOT_PROVIDED = "Authentication credentials were not provided."
BAD_TOKEN = "Error decoding signature."
EXPIRED = "Signature has expired."


# -- JWT and TOTP -----------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_jwt(claims: dict[str, Any], key: bytes) -> str:
    """An HS256 JSON Web Token (RFC 7519) carrying ``claims``."""
    head = _b64(orjson.dumps({"alg": "HS256", "typ": "JWT"}))
    body = _b64(orjson.dumps(claims))
    mac = hmac.new(key, f"{head}.{body}".encode("ascii"), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def read_jwt(token: str, key: bytes) -> dict[str, Any] | None:
    """The claims of a token this key signed, else None (expiry is the caller's concern)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        mac = _unb64(parts[2])
        expected = hmac.new(key, f"{parts[0]}.{parts[1]}".encode("ascii"), hashlib.sha256)
        if not hmac.compare_digest(mac, expected.digest()):
            return None
        claims = orjson.loads(_unb64(parts[1]))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None
    return claims if isinstance(claims, dict) else None


def totp(secret: str, moment: float, step: int = 30, digits: int = 6) -> str:
    """The RFC 6238 code of a base32 ``secret`` at ``moment`` (what an authenticator shows)."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = struct.pack(">Q", int(moment // step))
    mac = hmac.new(key, counter, hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


# -- accounts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """A Docker ID. Seed accounts come from the Hub profile's ``accounts.users``."""

    username: str
    password: str | None = None  # None: an account met in open mode, any password
    email: str = ""
    totp_secret: str | None = None
    orgs: tuple[str, ...] = ()

    @property
    def uuid(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://hub.docker.com/u/{self.username}"))

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Where the account may create and delete repositories."""
        return (self.username, *self.orgs)


@dataclass(frozen=True)
class Identity:
    """Who a request's token speaks for. ``username`` is None for a token that names no
    account (one from the admin prefix, or any bearer in open mode): such a caller may do
    everything, as the modes promise."""

    username: str | None = None
    via: str = "password"  # password | pat | admin | open
    scopes: tuple[str, ...] = ()
    orgs: tuple[str, ...] = field(default=())

    def may_write(self, namespace: str) -> bool:
        return self.username is None or namespace in (self.username, *self.orgs)


def presented_token(parts: RequestParts) -> str | None:
    """The token of ``Authorization: Bearer <jwt>`` or ``JWT <jwt>`` (the Hub's REST
    framework has always taken both prefixes)."""
    scheme, _, value = parts.headers.get("authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() not in ("bearer", "jwt") or not value:
        return None
    return value


class Accounts:
    """Users, the signing key, and the login flow, read from one twin's profile."""

    def __init__(self, twin: Twin, config: dict[str, Any]) -> None:
        self.twin = twin
        users: dict[str, Account] = {}
        for entry in config.get("users") or ():
            account = Account(
                username=str(entry["username"]),
                password=str(entry["password"]),
                email=str(entry.get("email", f"{entry['username']}@example.com")),
                totp_secret=entry.get("totp_secret"),
                orgs=tuple(str(o) for o in entry.get("orgs") or ()),
            )
            users[account.username] = account
        self.users = users
        self.lifetime = float(config.get("token_lifetime", MONTH))

    # -- the Hub's state, whichever twin asks ---------------------------------------------

    @property
    def store(self) -> Store:
        assert self.twin.auth is not None
        return self.twin.auth.store  # read per request: a forked worker swaps it

    @property
    def strict(self) -> bool:
        return self.twin.auth is not None and self.twin.auth.mode == "strict"

    def clock(self) -> TwinClock:
        return TwinClock(self.store, HUB_TWIN)

    def credentials(self) -> Credentials:
        return Credentials(self.store, HUB_TWIN, self.clock())

    def key(self, tx: Transaction) -> bytes:
        """The Hub's signing key: random once per store, then kept (resets keep it)."""
        record = tx.get(CREDENTIALS_FAMILY, "jwtkey:hs256")
        if record is None:
            record = {"key": "jwtkey:hs256", "secret": secrets.token_hex(32)}
            tx.put(CREDENTIALS_FAMILY, "jwtkey:hs256", record, parent="jwtkey")
        return bytes.fromhex(str(record["secret"]))

    def read_key(self) -> bytes | None:
        with self.store.transaction(HUB_TWIN, write=False) as tx:
            record = tx.get(CREDENTIALS_FAMILY, "jwtkey:hs256")
        return bytes.fromhex(str(record["secret"])) if record else None

    # -- who is who -------------------------------------------------------------------------

    def account(self, username: str) -> Account | None:
        known = self.users.get(username)
        if known is not None:
            return known
        if self.strict or not _DOCKER_ID.match(username):
            return None
        return Account(username=username)  # open mode: any well-formed Docker ID

    def identify(self, token: str) -> Identity | str:
        """The identity behind a bearer token, or the reason it is refused."""
        if self.strict:
            return self._identify_issued(token)
        key = self.read_key()
        claims = read_jwt(token, key) if key is not None else None
        if claims is None or claims.get("purpose") == "login_2fa":
            return Identity(via="open")  # open mode: any well-formed credential
        if float(claims.get("exp", 0)) <= self.clock().now():
            return EXPIRED
        return self._identity_of(claims)

    def _identify_issued(self, token: str) -> Identity | str:
        own = self.twin.auth.credentials if self.twin.auth is not None else None
        for credentials in (own, self.credentials()):
            if credentials is None:
                continue
            with self.store.transaction(credentials.twin, write=False) as tx:
                now = credentials.clock.now_in(tx)
                record = credentials.find(tx, token)
            if record is None or record.get("kind") != "access_token":
                continue
            if not is_active(record, now):
                return EXPIRED if not record.get("revoked") else BAD_TOKEN
            if record.get("source") != "login":
                return Identity(via="admin", scopes=tuple(record.get("scopes") or ()))
            account = self.account_of(str(record.get("username", "")))
            return Identity(
                username=str(record.get("username")),
                via=str(record.get("via", "password")),
                scopes=tuple(record.get("scopes") or ()),
                orgs=account.orgs if account else (),
            )
        return BAD_TOKEN

    def _identity_of(self, claims: dict[str, Any]) -> Identity:
        username = str(claims.get("username", ""))
        account = self.account_of(username)
        scope = claims.get("scope")
        return Identity(
            username=username or None,
            via=str(claims.get("source", "password")),
            scopes=tuple(str(scope).split()) if scope else (),
            orgs=account.orgs if account else (),
        )

    def account_of(self, username: str) -> Account | None:
        return self.users.get(username) or (Account(username) if username else None)

    # -- registry logins (the Engine's /auth and X-Registry-Auth) ----------------------------

    def verify(self, username: str, password: str) -> Account | None:
        """The account a registry login names, when the password (or one of the account's
        active personal access tokens) is right. An account with two-factor
        authentication logs in to the registry with a personal access token only, as on
        Docker Hub. In open mode any well-formed Docker ID with any password is known."""
        account = self.account(username)
        if account is None or not password:
            return None
        with self.store.transaction(HUB_TWIN, write=False) as tx:
            if self._personal_token(tx, account, password) is not None:
                return account
        if account.password is None:
            return account
        if account.totp_secret or not hmac.compare_digest(password, account.password):
            return None
        return account

    def issue_identity_token(self, account: Account) -> str:
        """A token for ``docker login`` to keep instead of the password (the daemon's
        ``IdentityToken``): a Hub JWT, kept as an issued credential like every login's."""
        with self.store.transaction(HUB_TWIN) as tx:
            now = self.clock().now_in(tx)
            return self._issue(tx, account, "password", (), now)

    # -- logging in -------------------------------------------------------------------------

    def login(self, ctx: RequestContext) -> Reply:
        """POST /v2/users/login: a JWT, or the second-factor challenge, or 401."""
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        username, password = str(body.get("username", "")), str(body.get("password", ""))
        account = self.account(username)
        if account is None or not password:
            return _refused(INCORRECT)
        with self.store.transaction(HUB_TWIN) as tx:
            now = self.clock().now_in(tx)
            pat = self._personal_token(tx, account, password)
            if pat is None and account.password is not None and password != account.password:
                return _refused(INCORRECT)
            if pat is None and account.totp_secret:
                pending = sign_jwt(
                    {
                        "sub": account.uuid,
                        "username": account.username,
                        "purpose": "login_2fa",
                        "iat": int(now),
                        "exp": int(now + SECOND_FACTOR_WINDOW),
                        "jti": uuid.uuid4().hex,
                    },
                    self.key(tx),
                )
                key = "mfa:" + digest(pending)
                tx.put(
                    CREDENTIALS_FAMILY,
                    key,
                    {
                        "key": key,
                        "username": account.username,
                        "expires_at": now + SECOND_FACTOR_WINDOW,
                    },
                    parent="mfa",
                )
                return json_reply(
                    {"detail": SECOND_FACTOR_REQUIRED, "login_2fa_token": pending}, 401
                )
            via = "password" if pat is None else "pat"
            scopes = () if pat is None else tuple(pat.get("scopes") or ())
            token = self._issue(tx, account, via, scopes, now)
        return json_reply({"token": token})

    def second_factor(self, ctx: RequestContext) -> Reply:
        """POST /v2/users/2fa-login: the pending token and a current TOTP code -> a JWT."""
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        pending, code = str(body.get("login_2fa_token", "")), str(body.get("code", ""))
        with self.store.transaction(HUB_TWIN) as tx:
            now = self.clock().now_in(tx)
            record = tx.get(CREDENTIALS_FAMILY, "mfa:" + digest(pending), for_update=True)
            claims = read_jwt(pending, self.key(tx))
            if record is None or claims is None or now >= float(record["expires_at"]):
                return _refused(INCORRECT)
            account = self.users.get(str(record["username"]))
            if account is None or not account.totp_secret:
                return _refused(INCORRECT)
            if not any(
                hmac.compare_digest(code.strip(), totp(account.totp_secret, now + drift))
                for drift in (-30, 0, 30)
            ):
                return _refused(INCORRECT)  # the pending token stays usable for a retry
            tx.delete(CREDENTIALS_FAMILY, "mfa:" + digest(pending))  # used once
            token = self._issue(tx, account, "password", (), now)
        return json_reply({"token": token})

    def _issue(
        self, tx: Transaction, account: Account, via: str, scopes: Iterable[str], now: float
    ) -> str:
        granted = sorted(set(scopes))
        session = str(uuid.uuid4())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": account.uuid,
            "username": account.username,
            "email": account.email,
            "session_id": session,
            "source": via,
            "jti": uuid.uuid4().hex,
            "iat": int(now),
            "exp": int(now + self.lifetime),
            ISSUER: {
                "username": account.username,
                "email": account.email,
                "uuid": account.uuid,
                "session_id": session,
                "source": via,
            },
        }
        if granted:
            claims["scope"] = " ".join(granted)
        token = sign_jwt(claims, self.key(tx))
        self.credentials().issue(
            tx,
            kind="access_token",
            schemes=[HUB_SCHEME],
            scopes=granted,
            lifetime=self.lifetime,
            now=now,
            value=token,
            source="login",
            username=account.username,
            via=via,
        )
        return token

    # -- personal access tokens --------------------------------------------------------------

    def _personal_token(
        self, tx: Transaction, account: Account, secret: str
    ) -> dict[str, Any] | None:
        """The active personal access token of this account whose secret was sent."""
        index = tx.get(CREDENTIALS_FAMILY, "pat:" + digest(secret))
        if index is None or index.get("username") != account.username:
            return None
        token = tx.get(PAT_FAMILY, str(index["uuid"]))
        if token is None or not token.get("is_active"):
            return None
        return token

    def remember_pat(self, tx: Transaction, secret: str, username: str, ident: str) -> None:
        key = "pat:" + digest(secret)
        record = {"key": key, "username": username, "uuid": ident}
        tx.put(CREDENTIALS_FAMILY, key, record, parent="pat")


PAT_FAMILY = "access-tokens"


def _refused(detail: str) -> Reply:
    return json_reply({"detail": detail}, 401)


class DockerAuthCheck(AuthCheck):
    """The Hub's bearer check: ``Bearer`` or ``JWT`` tokens, REST framework messages, and
    in strict mode only JWTs the login issued (in the Hub's state) or admin credentials.
    ``refuse_pat`` is DVP's rule that tokens minted from a personal access token are no
    good there."""

    def __init__(self, accounts: Accounts, *, refuse_pat: bool = False) -> None:
        super().__init__((), HUB_SCHEME)
        self.accounts = accounts
        self.refuse_pat = refuse_pat

    def allows(self, parts: RequestParts) -> bool:
        return presented_token(parts) is not None

    def check(self, parts: RequestParts) -> AuthFailure | None:
        token = presented_token(parts)
        if token is None:
            return AuthFailure(401, NOT_PROVIDED, [("www-authenticate", 'Bearer realm="api"')])
        found = self.accounts.identify(token)
        if isinstance(found, str):
            return AuthFailure(401, found, [("www-authenticate", 'Bearer error="invalid_token"')])
        if self.refuse_pat and found.via == "pat":
            return AuthFailure(403, "PATs are not supported on this API")
        return None


def identity_of(accounts: Accounts, parts: RequestParts) -> Identity | None:
    """Who is calling (None: nobody, or a token the API would refuse)."""
    token = presented_token(parts)
    if token is None:
        return None
    found = accounts.identify(token)
    return found if isinstance(found, Identity) else None
