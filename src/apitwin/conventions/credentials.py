"""Credentials a twin issued: API keys, access and refresh tokens, OAuth clients, codes.

They live in the twin's store, in the reserved family ``__credentials__``, so that every
process serving a twin from one store accepts the same tokens (and a SQLite store keeps
them across restarts). A secret is never stored: a record is keyed by the SHA-256 of its
secret, so neither ``GET /__apitwin__/credentials`` nor a look into the database file
gives a usable token away. Client secrets are the exception: a client is configuration
the developer set up and must be able to read back (``apitwin serve`` prints the default
client's secret at every start).

Key prefixes inside the family: ``cred:<sha256>`` for anything presented to the API or
the token endpoint (access tokens, refresh tokens, API keys, HTTP credentials),
``code:<sha256>`` for authorization codes, ``client:<client_id>`` for OAuth clients.
Every record carries its own key (``key``), so the family can be copied through a reset.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from typing import Any

from apitwin.conventions.clock import TwinClock, iso
from apitwin.state.store import Store, Transaction

__all__ = [
    "CREDENTIALS_FAMILY",
    "CredentialError",
    "Credentials",
    "digest",
    "new_secret",
]

CREDENTIALS_FAMILY = "__credentials__"

# Kinds of "cred:" records; only the first three are accepted by API operations.
API_KINDS = frozenset({"access_token", "api_key", "http"})
REFRESH_TOKEN = "refresh_token"


class CredentialError(ValueError):
    """A credential request that cannot be honoured: the message names the field."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def digest(secret: str) -> str:
    """The key material of a secret: tokens are random, so an unsalted hash is enough."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    """A fresh token or secret: 256 random bits, URL-safe, fit for headers and queries."""
    return secrets.token_urlsafe(32)


def cred_key(secret: str) -> str:
    return "cred:" + digest(secret)


def is_active(record: dict[str, Any], now: float) -> bool:
    """Neither revoked nor expired at the twin's time ``now``."""
    if record.get("revoked"):
        return False
    expires = record.get("expires_at")
    return expires is None or now < float(expires)


def public_view(record: dict[str, Any], now: float) -> dict[str, Any]:
    """What the admin endpoints show of a credential: everything but its key (the hash)."""
    shown = {k: v for k, v in record.items() if k != "key"}
    shown["active"] = is_active(record, now)
    if record.get("expires_at") is not None:
        shown["expires"] = iso(float(record["expires_at"]))
    return shown


class Credentials:
    """Issue, find and revoke the credentials of one twin."""

    def __init__(self, store: Store, twin: str, clock: TwinClock) -> None:
        self.store = store
        self.twin = twin
        self.clock = clock

    # -- issuing ----------------------------------------------------------------------

    def issue(
        self,
        tx: Transaction,
        *,
        kind: str,
        schemes: Iterable[str],
        scopes: Iterable[str],
        lifetime: float | None,
        now: float,
        value: str | None = None,
        **extra: Any,
    ) -> tuple[str, dict[str, Any]]:
        """Store a new credential; returns (secret, record). ``value`` lets a developer
        choose the secret (e.g. the token a test suite already sends)."""
        secret = value if value is not None else new_secret()
        key = cred_key(secret)
        if tx.get(CREDENTIALS_FAMILY, key) is not None:
            raise CredentialError("a credential with this value exists already", 409)
        record: dict[str, Any] = {
            "key": key,
            "id": key[5:21],  # a handle for the admin endpoints, not the secret
            "kind": kind,
            "schemes": sorted(set(schemes)),
            "scopes": sorted(set(scopes)),
            "issued_at": now,
            "expires_at": None if lifetime is None else now + lifetime,
            "revoked": False,
            **extra,
        }
        tx.put(CREDENTIALS_FAMILY, key, record, parent="cred")
        return secret, record

    # -- finding ----------------------------------------------------------------------

    def find(
        self, tx: Transaction, secret: str, *, for_update: bool = False
    ) -> dict[str, Any] | None:
        return tx.get(CREDENTIALS_FAMILY, cred_key(secret), for_update=for_update)

    def lookup(self, secret: str) -> tuple[dict[str, Any] | None, float]:
        """The record of a secret presented to an operation, when it is usable there
        (active, and not a refresh token), with the twin's time: one read transaction."""
        with self.store.transaction(self.twin, write=False) as tx:
            now = self.clock.now_in(tx)
            record = self.find(tx, secret)
        if record is None or record.get("kind") not in API_KINDS or not is_active(record, now):
            return None, now
        if record.get("sliding"):
            record = self._slide(secret, now) or record
        return record, now

    def _slide(self, secret: str, now: float) -> dict[str, Any] | None:
        """A sliding token's lifetime starts again at every use (DRACOON's login token:
        "every usage resets this period to two full hours again")."""
        with self.store.transaction(self.twin) as tx:
            record = self.find(tx, secret, for_update=True)
            if record is None or not is_active(record, now):
                return None
            record = {**record, "expires_at": now + float(record["sliding"])}
            tx.put(CREDENTIALS_FAMILY, record["key"], record, parent="cred")
        return record

    def listing(self) -> list[dict[str, Any]]:
        with self.store.transaction(self.twin, write=False) as tx:
            now = self.clock.now_in(tx)
            page = tx.list(CREDENTIALS_FAMILY, parent="cred")
        return [public_view(record, now) for record in page.items]

    # -- revoking ---------------------------------------------------------------------

    def revoke(self, tx: Transaction, record: dict[str, Any]) -> None:
        if not record.get("revoked"):
            tx.put(CREDENTIALS_FAMILY, record["key"], {**record, "revoked": True}, parent="cred")

    def revoke_grant(self, tx: Transaction, grant_id: str) -> int:
        """Revoke every token issued from one authorization (RFC 7009 section 2.1)."""
        page = tx.list(CREDENTIALS_FAMILY, parent="cred", filters={"grant_id": grant_id})
        for record in page.items:
            self.revoke(tx, record)
        return len(page.items)

    def revoke_id(self, ident: str) -> bool:
        """Revoke one credential by its public id (DELETE /__apitwin__/credentials/ID)."""
        with self.store.transaction(self.twin) as tx:
            page = tx.list(CREDENTIALS_FAMILY, parent="cred", filters={"id": ident})
            for record in page.items:
                self.revoke(tx, record)
        return bool(page.items)

    def forget_all(self) -> int:
        """Delete every issued credential and code; clients stay."""
        with self.store.transaction(self.twin) as tx:
            count = 0
            for parent in ("cred", "code"):
                for record in tx.list(CREDENTIALS_FAMILY, parent=parent).items:
                    count += tx.delete(CREDENTIALS_FAMILY, record["key"])
        return count

    @staticmethod
    def new_grant_id() -> str:
        return uuid.uuid4().hex
