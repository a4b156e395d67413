"""iframe integration: ``POST /api/iframe_integration`` registers the calling doctor with
the app's iframe, ``DELETE`` unregisters them (drchrono's documentation; the document
lacks the path, the profile's supplement adds it).

"The calling doctor" is the doctor the access token belongs to. A token from the
password grant names its user (``username``), which is one of the practice's users
(``/api/users``, each with its ``doctor``); a token that names no user (the code flow's
consent page has no login, and open mode accepts any token) acts for the practice's
owner, its first doctor. Registrations are kept in the family ``iframe_integration``
(one item per doctor), so ``GET /__apitwin__/state`` shows who is registered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from apitwin.behaviours.base import json_reply, reject
from apitwin.behaviours.drchrono.practice import owner_doctor
from apitwin.conventions.clock import TwinClock, iso
from apitwin.engine.context import Reply, RequestContext
from apitwin.state.store import Store, Transaction

if TYPE_CHECKING:
    from apitwin.conventions.auth import TwinAuth

__all__ = ["REGISTRATIONS", "IframeIntegration"]

REGISTRATIONS = "iframe_integration"


class IframeIntegration:
    def __init__(
        self,
        twin_name: str,
        store: Callable[[], Store],
        clock: Callable[[], TwinClock],
        auth: TwinAuth | None,
        ready: Callable[[], None],
    ) -> None:
        self.twin_name = twin_name
        self.store = store
        self.clock = clock
        self.auth = auth
        self.ready = ready

    def register(self, ctx: RequestContext) -> Reply:
        username = self._username(ctx)
        self.ready()
        with self.store().transaction(self.twin_name) as tx:
            doctor = self._doctor(tx, username)
            key = str(doctor)
            existing = tx.get(REGISTRATIONS, key)
            if existing is not None:
                return json_reply(_public(existing), 200)
            record = {"doctor": doctor, "registered_at": iso(self.clock().now_in(tx))}
            if username:
                record["username"] = username
            tx.put(REGISTRATIONS, key, record)
        return json_reply(_public(record), 201)

    def unregister(self, ctx: RequestContext) -> Reply:
        username = self._username(ctx)
        self.ready()
        with self.store().transaction(self.twin_name) as tx:
            doctor = self._doctor(tx, username)
            if not tx.delete(REGISTRATIONS, str(doctor)):
                raise reject(404, f"Doctor {doctor} is not registered with this application.")
        return json_reply(None, 204)

    def _username(self, ctx: RequestContext) -> str | None:
        """The user an issued token names (password grant), if any."""
        scheme, _, token = ctx.parts.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or self.auth is None:
            return None
        record, _ = self.auth.credentials.lookup(token.strip())
        username = record.get("username") if record else None
        return username if isinstance(username, str) and username else None

    @staticmethod
    def _doctor(tx: Transaction, username: str | None) -> int:
        if username is not None:
            users = tx.list("users", parent=None, filters={"username": username}).items
            if not users:
                raise reject(403, f"User {username!r} is not a user of this practice.")
            doctor = users[0].get("doctor")
            if users[0].get("is_doctor") != "true" or not str(doctor).isdigit():
                raise reject(403, f"User {username!r} is not a doctor.")
            return int(str(doctor))
        owner = owner_doctor(tx)
        if owner is None:
            raise reject(403, "The practice has no doctor to register.")
        return owner


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {"doctor": record["doctor"], "registered_at": record["registered_at"]}
