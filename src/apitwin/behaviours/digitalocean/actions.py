"""Actions: every asynchronous change is an action that starts ``in-progress`` and, once
its delay has passed on the twin clock, becomes ``completed`` and changes its resource.

Completion is lazy: each request settles the actions that are due before it reads
anything (``Actions.settle``), so the state a client sees always matches the clock, and
moving the clock (``POST /__apitwin__/clock``) is all a test needs to do to "wait".
"""

from __future__ import annotations

from typing import Any

from apitwin.behaviours.digitalocean.context import (
    PENDING,
    DigitalOcean,
    Session,
    due_timers,
    integer_id,
    not_found,
    schedule,
)
from apitwin.behaviours.digitalocean.reference import find_image, find_region, region_object
from apitwin.conventions.clock import iso
from apitwin.engine.context import Handler, Reply, RequestContext

__all__ = ["ACTIONS", "Actions", "busy", "completed", "of", "start"]

ACTIONS = "actions"
INDEX = "__do_action_index__"  # "resource_type:key" -> the ids of its actions


def start(
    s: Session,
    kind: str,
    resource_type: str,
    key: str,
    region: str | None,
    params: dict[str, Any] | None = None,
    *,
    resource_id: int | None = None,
    delay: str | None = None,
) -> dict[str, Any]:
    """A new in-progress action on a resource, due after its kind's delay."""
    ident = s.tx.next_id(ACTIONS) + 2_000_000_000
    found = find_region(region) if region else None
    action: dict[str, Any] = {
        "id": ident,
        "status": "in-progress",
        "type": kind,
        "started_at": s.stamp,
        "completed_at": None,
        "resource_id": resource_id if resource_id is not None else integer_id(key) or 0,
        "resource_type": resource_type,
        "region_slug": found["slug"] if found else None,
    }
    if found:
        action["region"] = region_object(found["slug"])
    s.tx.put(ACTIONS, str(ident), action)
    due = s.now + s.settings.delay(delay or kind)
    schedule(s, str(ident), due, f"{resource_type}:{kind}", key, params)
    index_key = f"{resource_type}:{key}"
    index = s.tx.get(INDEX, index_key) or {"key": index_key, "ids": []}
    index["ids"].append(ident)
    s.tx.put(INDEX, index_key, index)
    return action


def completed(
    s: Session, kind: str, resource_type: str, key: str, region: str | None
) -> dict[str, Any]:
    """An action that is over as soon as it starts (seed data)."""
    action = start(s, kind, resource_type, key, region)
    s.tx.delete(PENDING, str(action["id"]))
    action.update(status="completed", completed_at=s.stamp)
    s.tx.put(ACTIONS, str(action["id"]), action)
    return action


def busy(s: Session, resource_type: str, key: str) -> bool:
    """Whether the resource has an action still in progress."""
    index = s.tx.get(INDEX, f"{resource_type}:{key}")
    if index is None:
        return False
    return any(s.tx.get(PENDING, str(i)) is not None for i in index["ids"])


def of(s: Session, resource_type: str, key: str) -> list[dict[str, Any]]:
    """The resource's actions, oldest first."""
    index = s.tx.get(INDEX, f"{resource_type}:{key}")
    found = [s.tx.get(ACTIONS, str(i)) for i in (index["ids"] if index else [])]
    return [a for a in found if a is not None]


class Actions(DigitalOcean):
    """Settles due actions before every request and serves the action lists and gets."""

    def install(self) -> None:
        self.shared.settlers.append(self.settle)
        per_resource = {
            "dropletActions": ("droplet", "droplet_id"),
            "volumeActions": ("volume", "volume_id"),
            "imageActions": ("image", "image_id"),
            "reservedIPsActions": ("reserved_ip", "reserved_ip"),
            "floatingIPsAction": ("reserved_ip", "floating_ip"),
        }
        self.bind_all({"actions_list": self.list_all, "actions_get": self.get_one})
        for prefix, (resource_type, param) in per_resource.items():
            self.bind(f"{prefix}_list", self._lister(resource_type, param))
            self.bind(f"{prefix}_get", self._getter(resource_type, param, prefix == "imageActions"))

    def settle(self, s: Session) -> None:
        """Complete every action whose time has come, and run every other due timer,
        oldest due first; an effect may start timers that are due already."""
        while True:
            due = due_timers(s)
            if not due:
                return
            for record in due:
                self._fire(s, record)

    def _fire(self, s: Session, record: dict[str, Any]) -> None:
        if not s.tx.delete(PENDING, str(record["id"])):
            return  # an effect fired before it in this batch cancelled it
        effect = self.shared.effects.get(record["effect"])
        if isinstance(record["id"], str) and record["id"].startswith("t"):  # a plain timer
            if effect is not None:
                effect(s, record["key"], {**record["params"], "due": record["due"]})
            return
        action = s.tx.get(ACTIONS, str(record["id"]))
        if action is None:
            return
        done = True if effect is None else effect(s, record["key"], record["params"])
        action["status"] = "errored" if done is False else "completed"
        action["completed_at"] = iso(record["due"])
        s.tx.put(ACTIONS, str(record["id"]), action)

    # -- handlers ---------------------------------------------------------------------------

    def list_all(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            items = s.tx.list(ACTIONS, parent=None).items
        return self.page(ctx, "actions", items)

    def get_one(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            action = s.tx.get(ACTIONS, str(ctx.params.get("action_id")))
        if action is None:
            raise not_found()
        return self.reply(ctx, {"action": action})

    @staticmethod
    def _owner(s: Session, resource_type: str, key: str) -> None:
        if resource_type == "image":
            if find_image(key) is None and s.tx.get("images", key) is None:
                raise not_found()
            return
        family = {"droplet": "droplets", "volume": "volumes", "reserved_ip": "reserved_ips"}
        if s.tx.get(family[resource_type], key) is None:
            raise not_found()

    def _lister(self, resource_type: str, param: str) -> Handler:
        def handle(ctx: RequestContext) -> Reply:
            key = str(ctx.params.get(param))
            with self.session() as s:
                self._owner(s, resource_type, key)
                items = of(s, resource_type, key)
            return self.page(ctx, "actions", items)

        return handle

    def _getter(self, resource_type: str, param: str, bare: bool) -> Handler:
        def handle(ctx: RequestContext) -> Reply:
            key = str(ctx.params.get(param))
            with self.session() as s:
                self._owner(s, resource_type, key)
                wanted = ctx.params.get("action_id")
                action = next((a for a in of(s, resource_type, key) if a["id"] == wanted), None)
            if action is None:
                raise not_found()
            return self.reply(ctx, action if bare else {"action": action})

        return handle
