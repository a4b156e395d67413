"""The reserved prefix ``/__apitwin__/`` on every twin port: look at and reset state.

GET  /__apitwin__/           the twin's name, base path and counts
GET  /__apitwin__/spec       the served document
GET  /__apitwin__/warnings   what the loader worked around, with JSON pointers
GET  /__apitwin__/state      every stored resource, by family
POST /__apitwin__/reset      forget all state; seed data comes back on next use
POST /__apitwin__/seed       seed every family now

GET  /__apitwin__/clock                 the twin clock
POST /__apitwin__/clock                 {"advance": seconds}: move it forward
GET  /__apitwin__/auth                  auth mode, schemes, OAuth endpoint paths
GET  /__apitwin__/credentials           issued credentials (never their secrets)
POST /__apitwin__/credentials           {"scheme", "scopes", "expires_in", "value"}: issue one
DELETE /__apitwin__/credentials[/ID]    revoke one, or forget every issued credential
GET  /__apitwin__/clients               OAuth clients
POST /__apitwin__/clients               {"client_id", "client_secret", "redirect_uris",
                                        "public", "grant_types", "name"}: register one
DELETE /__apitwin__/clients/ID          remove a client

/__apitwin__/webhooks... and PATCH/DELETE /__apitwin__/state/FAMILY/KEY: admin_webhooks.py

Credentials, clients, webhooks and the clock are not API state: ``reset`` keeps them, and
``state`` does not show their reserved families.
"""

from __future__ import annotations

from typing import Any

import orjson

from apitwin.conventions.clock import CLOCK_FAMILY, ClockError
from apitwin.conventions.credentials import CREDENTIALS_FAMILY, CredentialError
from apitwin.conventions.webhooks import WEBHOOKS_FAMILY
from apitwin.engine.twin import Twin
from apitwin.server.admin_webhooks import state_write, webhook_admin

__all__ = ["ADMIN_PREFIX", "admin_request", "reset_twin"]

ADMIN_PREFIX = "/__apitwin__"
# Families that are configuration, not API state: they survive a reset.
_KEPT_ON_RESET = (CREDENTIALS_FAMILY, CLOCK_FAMILY, WEBHOOKS_FAMILY)


def _reserved(family: str) -> bool:
    """Bookkeeping families (``__name__``) are never shown as API state."""
    return family.startswith("__") and family.endswith("__")


def reset_twin(twin: Twin) -> None:
    """Empty a twin's state; its seed data (unless --empty) returns when next used.

    Credentials, clients and the clock are kept: a reset between tests must not take the
    printed default client or the tokens a test suite set up away, nor turn time back."""
    if twin.semantics is None:
        return
    store = twin.semantics.store
    with store.transaction(twin.name, write=False) as tx:
        kept = {family: tx.list(family, parent=None).items for family in _KEPT_ON_RESET}
    store.clear(twin.name)
    with store.transaction(twin.name) as tx:
        for family, items in kept.items():
            for item in items:
                key = str(item["key"])
                # Records are filed under their key's prefix ("cred:...", "client:...").
                tx.put(family, key, item, parent=key.partition(":")[0] if ":" in key else "")
    twin.semantics.forget_seeding()


def admin_request(twin: Twin, method: str, rest: str, body: bytes = b"") -> tuple[int, Any]:
    """Answer an admin request: (status, JSON-able payload)."""
    rest = rest.rstrip("/")
    if rest == "/webhooks" or rest.startswith(("/webhooks/", "/state/")):
        try:
            payload = orjson.loads(body) if body.strip() else None
        except orjson.JSONDecodeError as exc:
            return 400, {"message": f"request body is not valid JSON: {exc}"}
        if rest.startswith("/state/"):
            return state_write(twin, method, rest[len("/state/") :], payload)
        return webhook_admin(twin, method, rest[len("/webhooks") :], payload)
    if twin.auth is not None and (
        rest in ("/clock", "/auth", "/credentials", "/clients")
        or rest.startswith(("/credentials/", "/clients/"))
    ):
        try:
            payload = orjson.loads(body) if body.strip() else None
        except orjson.JSONDecodeError as exc:
            return 400, {"message": f"request body is not valid JSON: {exc}"}
        try:
            return _auth_admin(twin, method, rest, payload)
        except (ClockError, CredentialError) as exc:
            return getattr(exc, "status", 400), {"message": str(exc)}
    semantics = twin.semantics
    if method == "GET":
        if rest == "":
            return 200, {
                "name": twin.name,
                "base_path": twin.base_path,
                "operations": len(twin.operations),
                "families": len(twin.families),
                "stateful": semantics is not None,
            }
        if rest in ("/spec", "/openapi.json"):
            return 200, twin.doc.raw
        if rest == "/warnings":
            return 200, [str(w) for w in twin.doc.warnings]
        if rest == "/state":
            if semantics is None:
                return 200, {}
            dump = semantics.store.dump(twin.name)
            return 200, {family: items for family, items in dump.items() if not _reserved(family)}
    if method == "POST" and semantics is not None:
        if rest == "/reset":
            reset_twin(twin)
            return 200, {"reset": twin.name}
        if rest == "/seed":
            semantics.seed_all()
            return 200, {"seeded": twin.name}
    return 404, {"message": f"no admin endpoint {method} {ADMIN_PREFIX}{rest}"}


def _auth_admin(twin: Twin, method: str, rest: str, payload: Any) -> tuple[int, Any]:
    auth = twin.auth
    assert auth is not None
    oauth = auth.oauth
    if rest == "/clock":
        if method == "GET":
            return 200, auth.clock.state()
        if method == "POST":
            if not isinstance(payload, dict) or set(payload) != {"advance"}:
                raise ClockError('the body must be {"advance": seconds}')
            reading = auth.clock.advance(payload["advance"])
            if twin.webhooks is not None:  # retries the clock has now reached go out
                twin.webhooks.claim_due()
            return 200, reading
    elif rest == "/auth" and method == "GET":
        return 200, auth.describe()
    elif rest == "/credentials":
        if method == "GET":
            return 200, auth.credentials.listing()
        if method == "POST":
            return 201, auth.create_credential(payload)
        if method == "DELETE":
            return 200, {"forgotten": auth.credentials.forget_all()}
    elif rest.startswith("/credentials/") and method == "DELETE":
        ident = rest[len("/credentials/") :]
        if auth.credentials.revoke_id(ident):
            return 200, {"revoked": ident}
        return 404, {"message": f"no credential {ident!r}"}
    elif oauth is None:
        return 404, {"message": f"{twin.name} declares no OAuth2 flows, so it has no clients"}
    elif rest == "/clients":
        if method == "GET":
            return 200, oauth.clients()
        if method == "POST":
            return 201, oauth.register_client(payload)
    elif rest.startswith("/clients/") and method == "DELETE":
        client_id = rest[len("/clients/") :]
        if oauth.delete_client(client_id):
            return 200, {"deleted": client_id}
        return 404, {"message": f"no client {client_id!r}"}
    return 405, {"message": f"{method} is not allowed on {ADMIN_PREFIX}{rest}"}
