"""Admin endpoints for webhooks, and for changes made "in the web UI" of the real service.

Real services configure webhooks in a web page (drchrono's API management page), so a
twin offers them on its admin prefix:

POST   /__apitwin__/webhooks                     {"callback_url", "secret_token", "events"}:
                                                 register and verify at once; 201
GET    /__apitwin__/webhooks[/ID]                registered webhooks (with their secret)
PATCH  /__apitwin__/webhooks/ID                  change; a new callback URL is verified again
DELETE /__apitwin__/webhooks/ID                  remove it and its delivery log
POST   /__apitwin__/webhooks/ID/verify           verify again
POST   /__apitwin__/webhooks/ID/ping             send a PING delivery
GET    /__apitwin__/webhooks/ID/deliveries       the delivery log: state, attempts, codes, times
POST   /__apitwin__/webhooks/ID/deliveries/N/redeliver   send delivery N again

Some changes have no API operation (drchrono's API cannot delete a task or lock a
clinical note; a doctor does it in the UI). The admin prefix makes them, and they raise
events like API writes do:

PATCH  /__apitwin__/state/FAMILY/KEY             merge top-level fields into a stored item
DELETE /__apitwin__/state/FAMILY/KEY             delete a stored item
"""

from __future__ import annotations

import copy
from typing import Any

from apitwin.conventions.webhooks import WebhookError
from apitwin.engine.twin import Twin

__all__ = ["state_write", "webhook_admin"]


def webhook_admin(twin: Twin, method: str, rest: str, payload: Any) -> tuple[int, Any]:
    """``rest`` is the path after ``/webhooks``."""
    hub = twin.webhooks
    if hub is None:
        return 404, {"message": f"{twin.name} declares no webhooks"}
    parts = [p for p in rest.split("/") if p]
    try:
        if not parts:
            if method == "GET":
                return 200, hub.listing()
            if method == "POST":
                return 201, hub.register(payload)
        elif len(parts) == 1:
            if method == "GET":
                return 200, hub.get(parts[0])
            if method == "PATCH":
                return 200, hub.update(parts[0], payload)
            if method == "DELETE":
                hub.delete(parts[0])
                return 200, {"deleted": parts[0]}
        elif len(parts) == 2 and parts[1] in ("verify", "ping"):
            if method == "POST":
                if parts[1] == "verify":
                    return 200, hub.verify(parts[0])
                return 202, hub.ping(parts[0])
        elif len(parts) == 2 and parts[1] == "deliveries":
            if method == "GET":
                return 200, hub.deliveries(parts[0])
        elif len(parts) == 4 and parts[1] == "deliveries" and parts[3] == "redeliver":
            if method == "POST":
                return 202, hub.redeliver(parts[0], parts[2])
        else:
            return 404, {"message": f"no admin endpoint {method} /__apitwin__/webhooks{rest}"}
    except WebhookError as exc:
        return exc.status, {"message": str(exc)}
    return 405, {"message": f"{method} is not allowed on /__apitwin__/webhooks{rest}"}


def state_write(twin: Twin, method: str, rest: str, payload: Any) -> tuple[int, Any]:
    """``rest`` is ``FAMILY/KEY``: change a stored item as the real service's UI would."""
    semantics = twin.semantics
    family, _, key = rest.partition("/")
    runtime = semantics.runtimes.get(family) if semantics is not None else None
    if semantics is None or runtime is None or not key:
        return 404, {"message": f"no family {family!r} in {twin.name}'s state"}
    if method not in ("PATCH", "DELETE"):
        return 405, {"message": f"{method} is not allowed on /__apitwin__/state/{rest}"}
    if method == "PATCH" and not isinstance(payload, dict):
        return 400, {"message": "the body must be a JSON object of fields to change"}
    with semantics.store.transaction(twin.name) as tx:
        before = tx.get(family, key, for_update=True)
        if before is None:
            return 404, {"message": f"no {family} item {key!r}"}
        if method == "DELETE":
            tx.delete(family, key)
            after = None
        else:
            assert isinstance(payload, dict)
            after = {**copy.deepcopy(before), **payload}
            validator = runtime.item_validator
            if validator is not None and not validator.is_valid(after):
                issue = validator.issues(after, limit=1)
                where = f" at {issue[0].path}: {issue[0].message}" if issue else ""
                return 400, {"message": f"the changed {family} item is not valid{where}"}
            parent = key.rpartition("/")[0] if runtime.family.parent_params else ""
            tx.put(family, key, after, parent=parent)
    if twin.webhooks is not None:
        kind = "delete" if after is None else "modify"
        twin.webhooks.changed(family, kind, before, after, key)
    return 200, after if after is not None else {"deleted": key}
