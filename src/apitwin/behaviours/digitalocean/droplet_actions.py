"""Droplet actions: the state machine of a droplet (``new -> active <-> off``), checked
when an action is asked for and applied when it completes on the twin clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apitwin.behaviours.digitalocean import actions
from apitwin.behaviours.digitalocean.context import DigitalOcean, Effect, Session, unprocessable
from apitwin.behaviours.digitalocean.droplets import FAMILY, find_image_any, load_droplet
from apitwin.behaviours.digitalocean.images import take_snapshot
from apitwin.behaviours.digitalocean.network import ipv6_network
from apitwin.behaviours.digitalocean.reference import KERNELS, find_size, size_object
from apitwin.conventions.clock import iso
from apitwin.engine.context import Reply, RequestContext
from apitwin.engine.operation import Rejection

__all__ = ["DropletActions"]

# The types POST /v2/droplets/actions?tag_name= accepts (the document's list).
BULK_TYPES = {
    "power_cycle",
    "power_on",
    "power_off",
    "shutdown",
    "enable_private_networking",
    "enable_ipv6",
    "enable_backups",
    "disable_backups",
    "snapshot",
}
PENDING_EVENT = "Droplet already has a pending event."


class DropletActions(DigitalOcean):
    def install(self) -> None:
        self.bind_all(
            {"dropletActions_post": self.post, "dropletActions_post_byTag": self.post_by_tag}
        )
        effects: dict[str, Callable[[dict[str, Any], dict[str, Any], Session], None]] = {
            "power_off": lambda d, p, s: d.update(status="off"),
            "shutdown": lambda d, p, s: d.update(status="off"),
            "power_on": lambda d, p, s: d.update(status="active"),
            "reboot": lambda d, p, s: d.update(status="active"),
            "power_cycle": lambda d, p, s: d.update(status="active"),
            "password_reset": lambda d, p, s: None,
            "rename": lambda d, p, s: d.update(name=p["name"]),
            "resize": self._resized,
            "rebuild": self._rebuilt,
            "restore": lambda d, p, s: d.update(status="active"),
            "snapshot": lambda d, p, s: take_snapshot(s, d, p["name"]),
            "enable_backups": self._backups_on,
            "disable_backups": self._backups_off,
            "enable_ipv6": self._ipv6_on,
            "enable_private_networking": lambda d, p, s: None,
            "change_kernel": self._kernel,
        }
        for kind, change in effects.items():
            self.shared.effects[f"droplet:{kind}"] = self._effect(change)

    @staticmethod
    def _effect(
        change: Callable[[dict[str, Any], dict[str, Any], Session], None],
    ) -> Effect:
        def apply(s: Session, key: str, params: dict[str, Any]) -> bool:
            droplet = s.tx.get(FAMILY, key)
            if droplet is None:
                return False
            change(droplet, params, s)
            # Snapshots store the droplet themselves; read it back before the last write.
            current = s.tx.get(FAMILY, key) or droplet
            for field in (
                "status",
                "name",
                "size",
                "size_slug",
                "memory",
                "vcpus",
                "disk",
                "image",
                "features",
                "next_backup_window",
                "networks",
                "kernel",
            ):
                if field in droplet:
                    current[field] = droplet[field]
            current["locked"] = False
            s.tx.put(FAMILY, key, current)
            return True

        return apply

    # -- effects ----------------------------------------------------------------------------

    @staticmethod
    def _resized(droplet: dict[str, Any], params: dict[str, Any], s: Session) -> None:
        size = size_object(params["size"])
        droplet.update(size=size, size_slug=size["slug"], memory=size["memory"])
        droplet["vcpus"] = size["vcpus"]
        if params.get("disk"):
            droplet["disk"] = size["disk"]

    @staticmethod
    def _rebuilt(droplet: dict[str, Any], params: dict[str, Any], s: Session) -> None:
        droplet.update(image=params["image"], status="active")

    @staticmethod
    def _backups_on(droplet: dict[str, Any], params: dict[str, Any], s: Session) -> None:
        if "backups" not in droplet["features"]:
            droplet["features"] = [*droplet["features"], "backups"]
        droplet["next_backup_window"] = {"start": iso(s.now + 3600), "end": iso(s.now + 18000)}

    @staticmethod
    def _backups_off(droplet: dict[str, Any], params: dict[str, Any], s: Session) -> None:
        droplet["features"] = [f for f in droplet["features"] if f != "backups"]
        droplet["next_backup_window"] = None

    @staticmethod
    def _ipv6_on(droplet: dict[str, Any], params: dict[str, Any], s: Session) -> None:
        if "ipv6" not in droplet["features"]:
            droplet["features"] = [*droplet["features"], "ipv6"]
        if not droplet["networks"].get("v6"):
            serial = droplet["id"] % 1_000_000
            droplet["networks"] = {
                **droplet["networks"],
                "v6": [ipv6_network(droplet["region"]["slug"], serial)],
            }

    @staticmethod
    def _kernel(droplet: dict[str, Any], params: dict[str, Any], s: Session) -> None:
        droplet["kernel"] = next((dict(k) for k in KERNELS if k["id"] == params["kernel"]), None)

    # -- checks -----------------------------------------------------------------------------

    def _check(self, s: Session, droplet: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """The action's parameters, or the service's 422 for a transition it refuses."""
        kind = body.get("type")
        key = str(droplet["id"])
        if actions.busy(s, "droplet", key):
            raise unprocessable(PENDING_EVENT)
        status = droplet["status"]
        if kind in ("power_off", "shutdown") and status == "off":
            raise unprocessable("Droplet is already powered off.")
        if kind == "power_on" and status == "active":
            raise unprocessable("Droplet is already powered on.")
        if kind == "reboot" and status == "off":
            raise unprocessable("Droplet is currently off. Please power it on to run this event.")
        params: dict[str, Any] = {}
        if kind == "resize":
            size = find_size(body.get("size"))
            if size is None:
                raise unprocessable("You specified an invalid size for Droplet resize.")
            if status != "off":
                raise unprocessable(
                    "Droplet is currently on. Please power it off to run this event."
                )
            if droplet["region"]["slug"] not in size["regions"]:
                raise unprocessable("Size is not available in this region.")
            if size["disk"] < droplet["disk"]:
                raise unprocessable(
                    "This size is not available because it has a smaller disk than the Droplet."
                )
            disk = body.get("disk")
            params = {"size": size["slug"], "disk": disk is True or disk == "true"}
        elif kind == "rename":
            params = {"name": str(body.get("name", ""))}
        elif kind == "snapshot":
            default = f"{droplet['name']}-{int(s.now)}"
            params = {"name": str(body.get("name") or default)}
        elif kind in ("rebuild", "restore"):
            image = find_image_any(s, body.get("image"))
            if image is None:
                raise unprocessable(f"You specified an invalid image for Droplet {kind}.")
            params = {"image": image}
        elif kind == "change_kernel":
            if not any(k["id"] == body.get("kernel") for k in KERNELS):
                raise unprocessable("You specified an invalid kernel.")
            params = {"kernel": body.get("kernel")}
        return params

    def _start(
        self, s: Session, droplet: dict[str, Any], kind: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        action = actions.start(
            s, kind, "droplet", str(droplet["id"]), droplet["region"]["slug"], params
        )
        droplet["locked"] = kind in ("resize", "rebuild", "restore")
        s.tx.put(FAMILY, str(droplet["id"]), droplet)
        return action

    # -- handlers ---------------------------------------------------------------------------

    def post(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            droplet = load_droplet(s, ctx.params.get("droplet_id"))
            params = self._check(s, droplet, body)
            action = self._start(s, droplet, str(body.get("type")), params)
        return self.reply(ctx, {"action": action})

    def post_by_tag(self, ctx: RequestContext) -> Reply:
        """One action per tagged droplet; droplets the action does not apply to (already
        off for ``power_off``, busy) are left out, as the service leaves them alone."""
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        kind = str(body.get("type"))
        if kind not in BULK_TYPES:
            raise unprocessable(f"'{kind}' cannot be performed on Droplets by tag.")
        tag = ctx.params.get("tag_name")
        started = []
        with self.session() as s:
            for droplet in s.tx.list(FAMILY, parent=None, filters={"tags": tag}).items:
                try:
                    params = self._check(s, droplet, body)
                except Rejection:  # a transition this droplet refuses
                    continue
                started.append(self._start(s, droplet, kind, params))
        return self.reply(ctx, {"actions": started})
