"""The reserved prefix ``/__apitwin__/`` on every twin port: look at and reset state.

GET  /__apitwin__/           the twin's name, base path and counts
GET  /__apitwin__/spec       the served document
GET  /__apitwin__/warnings   what the loader worked around, with JSON pointers
GET  /__apitwin__/state      every stored resource, by family
POST /__apitwin__/reset      forget all state; seed data comes back on next use
POST /__apitwin__/seed       seed every family now
"""

from __future__ import annotations

from typing import Any

from apitwin.engine.twin import Twin
from apitwin.state.semantics import META_FAMILY

__all__ = ["ADMIN_PREFIX", "admin_request", "reset_twin"]

ADMIN_PREFIX = "/__apitwin__"


def reset_twin(twin: Twin) -> None:
    """Empty a twin's state; its seed data (unless --empty) returns when next used."""
    if twin.semantics is None:
        return
    twin.semantics.store.clear(twin.name)
    twin.semantics.forget_seeding()


def admin_request(twin: Twin, method: str, rest: str) -> tuple[int, Any]:
    """Answer an admin request: (status, JSON-able payload)."""
    rest = rest.rstrip("/")
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
            return 200, {family: items for family, items in dump.items() if family != META_FAMILY}
    if method == "POST" and semantics is not None:
        if rest == "/reset":
            reset_twin(twin)
            return 200, {"reset": twin.name}
        if rest == "/seed":
            semantics.seed_all()
            return 200, {"seeded": twin.name}
    return 404, {"message": f"no admin endpoint {method} {ADMIN_PREFIX}{rest}"}
