"""Block storage volumes: created in a region, attached to and detached from droplets of
that region through actions (by id, or by name and region), resized upwards only."""

from __future__ import annotations

from typing import Any

from apitwin.behaviours.digitalocean import actions
from apitwin.behaviours.digitalocean.account import assign, ensure_tags, new_uuid, unassign
from apitwin.behaviours.digitalocean.context import (
    DigitalOcean,
    Session,
    integer_id,
    not_found,
    unprocessable,
)
from apitwin.behaviours.digitalocean.reference import find_region, region_object
from apitwin.engine.context import Reply, RequestContext
from apitwin.state.store import Transaction

__all__ = ["Volumes", "new_volume"]

FAMILY = "volumes"
SNAPSHOTS = "snapshots"  # volume snapshots beside droplet snapshots (resource_type)
MAX_PER_DROPLET = 7


def new_volume(s: Session, body: dict[str, Any], region: str) -> dict[str, Any]:
    ident = new_uuid(s, FAMILY)
    volume = {
        "id": ident,
        "region": region_object(region),
        "droplet_ids": [],
        "name": str(body.get("name", "")),
        "description": str(body.get("description", "")),
        "size_gigabytes": int(body.get("size_gigabytes") or 10),
        "created_at": s.stamp,
        "filesystem_type": str(body.get("filesystem_type", "")),
        "filesystem_label": str(body.get("filesystem_label", "")),
        "tags": ensure_tags(s, body.get("tags")),
    }
    s.tx.put(FAMILY, ident, volume)
    assign(s, f"do:volume:{ident}")
    return volume


class Volumes(DigitalOcean):
    def install(self) -> None:
        self.bind_all(
            {
                "volumes_create": self.create,
                "volumes_list": self.list,
                "volumes_get": self.get,
                "volumes_delete": self.delete,
                "volumes_delete_byName": self.delete_by_name,
                "volumeActions_post_byId": self.act_by_id,
                "volumeActions_post": self.act_by_name,
                "volumeSnapshots_create": self.snapshot,
                "volumeSnapshots_list": self.snapshots,
                "volumeSnapshots_get_byId": self.get_snapshot,
                "volumeSnapshots_delete_byId": self.delete_snapshot,
            }
        )
        effects = self.shared.effects
        effects["volume:attach"] = self._attached
        effects["volume:detach"] = self._detached
        effects["volume:resize"] = self._resized
        self.semantics.seeders[FAMILY] = self._seed

    def _seed(self, tx: Transaction, runtime: Any) -> None:
        """Seed data: a volume attached to the first seeded droplet."""
        s = self.session_in(tx)
        droplets = s.tx.list("droplets", parent=None, limit=1).items
        volume = new_volume(s, {"name": "data-1", "size_gigabytes": 100}, "nyc3")
        volume["filesystem_type"] = "ext4"
        if droplets:
            self._link(s, volume, droplets[0])
        else:
            s.tx.put(FAMILY, volume["id"], volume)
        self._take(s, volume, "data-1-nightly", [])

    # -- handlers ---------------------------------------------------------------------------

    def create(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            region = find_region(body.get("region"))
            snapshot_id = body.get("snapshot_id")
            if snapshot_id:
                snapshot = s.tx.get(SNAPSHOTS, str(snapshot_id))
                if snapshot is None or snapshot.get("resource_type") != "volume":
                    raise not_found(f"snapshot {snapshot_id} not found")
                region = region or find_region(snapshot["regions"][0])
                if region is not None and region["slug"] not in snapshot["regions"]:
                    raise unprocessable("The snapshot is not available in that region.")
                if int(body.get("size_gigabytes") or 0) < snapshot["min_disk_size"]:
                    raise unprocessable(
                        "The volume must be at least as large as the snapshot's volume "
                        f"({snapshot['min_disk_size']} GB)."
                    )
            if region is None or not region["available"]:
                raise unprocessable("You specified an invalid region for the volume.")
            clash = s.tx.list(FAMILY, parent=None, filters={"name": body.get("name")}).items
            if any(v["region"]["slug"] == region["slug"] for v in clash):
                raise unprocessable("A volume with the same name already exists in the region.")
            volume = new_volume(s, body, region["slug"])
        return self.reply(ctx, {"volume": volume})

    def list(self, ctx: RequestContext) -> Reply:
        filters = {"name": ctx.params["name"]} if ctx.params.get("name") else None
        region = ctx.params.get("region")
        with self.session() as s:
            items = s.tx.list(FAMILY, parent=None, filters=filters).items
        if region:
            items = [v for v in items if v["region"]["slug"] == region]
        return self.page(ctx, "volumes", items)

    def _load(self, s: Session, ident: Any) -> dict[str, Any]:
        volume = s.tx.get(FAMILY, str(ident))
        if volume is None:
            raise not_found()
        return volume

    def get(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            volume = self._load(s, ctx.params.get("volume_id"))
        return self.reply(ctx, {"volume": volume})

    def _remove(self, s: Session, volume: dict[str, Any]) -> None:
        if volume["droplet_ids"]:
            raise unprocessable("This volume is attached to a Droplet. Detach it first.")
        s.tx.delete(FAMILY, volume["id"])  # its snapshots stay: volumes can be made from them
        unassign(s, f"do:volume:{volume['id']}")

    def delete(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            self._remove(s, self._load(s, ctx.params.get("volume_id")))
        return self.no_content(ctx)

    def delete_by_name(self, ctx: RequestContext) -> Reply:
        name, region = ctx.params.get("name"), ctx.params.get("region")
        with self.session() as s:
            found = [
                v
                for v in s.tx.list(FAMILY, parent=None, filters={"name": name}).items
                if v["region"]["slug"] == region
            ]
            if not found:
                raise not_found()
            for volume in found:
                self._remove(s, volume)
        return self.no_content(ctx)

    def act_by_id(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            volume = self._load(s, ctx.params.get("volume_id"))
            action = self._act(s, volume, ctx.request.body)
        return self.reply(ctx, {"action": action})

    def act_by_name(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            found = [
                v
                for v in s.tx.list(
                    FAMILY, parent=None, filters={"name": body.get("volume_name")}
                ).items
                if v["region"]["slug"] == body.get("region")
            ]
            if not found:
                raise not_found()
            action = self._act(s, found[0], body)
        return self.reply(ctx, {"action": action})

    # -- actions ----------------------------------------------------------------------------

    def _act(self, s: Session, volume: dict[str, Any], body: Any) -> dict[str, Any]:
        body = body if isinstance(body, dict) else {}
        kind = body.get("type")
        region = volume["region"]["slug"]
        params: dict[str, Any] = {}
        if actions.busy(s, "volume", volume["id"]):
            raise unprocessable("Volume already has a pending event.")
        if kind in ("attach", "detach"):
            droplet_id = integer_id(body.get("droplet_id"))
            droplet = s.tx.get("droplets", str(droplet_id)) if droplet_id is not None else None
            if droplet is None:
                raise not_found("Droplet not found.")
            if kind == "attach":
                if droplet["region"]["slug"] != region:
                    raise unprocessable("Volume and Droplet must be in the same region.")
                if volume["droplet_ids"]:
                    raise unprocessable("This volume is already attached to a Droplet.")
                if len(droplet.get("volume_ids", [])) >= MAX_PER_DROPLET:
                    raise unprocessable("A Droplet may have at most 7 volumes attached.")
            elif droplet_id not in volume["droplet_ids"]:
                raise unprocessable("This volume is not attached to the Droplet.")
            params = {"droplet_id": droplet_id}
        elif kind == "resize":
            size = body.get("size_gigabytes")
            if not isinstance(size, int) or size <= volume["size_gigabytes"]:
                raise unprocessable("Volumes can only be resized to a larger size.")
            params = {"size_gigabytes": size}
        else:
            raise unprocessable(f"'{kind}' is not an action for volumes.")
        return actions.start(s, str(kind), "volume", volume["id"], region, params)

    @staticmethod
    def _link(s: Session, volume: dict[str, Any], droplet: dict[str, Any]) -> None:
        volume["droplet_ids"] = [droplet["id"]]
        s.tx.put(FAMILY, volume["id"], volume)
        if volume["id"] not in droplet["volume_ids"]:
            droplet["volume_ids"] = [*droplet["volume_ids"], volume["id"]]
            s.tx.put("droplets", str(droplet["id"]), droplet)

    def _attached(self, s: Session, key: str, params: dict[str, Any]) -> bool:
        volume = s.tx.get(FAMILY, key)
        droplet = s.tx.get("droplets", str(params["droplet_id"]))
        if volume is None or droplet is None:
            return False
        self._link(s, volume, droplet)
        return True

    def _detached(self, s: Session, key: str, params: dict[str, Any]) -> bool:
        volume = s.tx.get(FAMILY, key)
        if volume is None:
            return False
        volume["droplet_ids"] = [d for d in volume["droplet_ids"] if d != params["droplet_id"]]
        s.tx.put(FAMILY, key, volume)
        droplet = s.tx.get("droplets", str(params["droplet_id"]))
        if droplet is not None:
            droplet["volume_ids"] = [v for v in droplet["volume_ids"] if v != key]
            s.tx.put("droplets", str(droplet["id"]), droplet)
        return True

    def _resized(self, s: Session, key: str, params: dict[str, Any]) -> bool:
        volume = s.tx.get(FAMILY, key)
        if volume is None:
            return False
        volume["size_gigabytes"] = params["size_gigabytes"]
        s.tx.put(FAMILY, key, volume)
        return True

    # -- snapshots --------------------------------------------------------------------------

    def snapshot(self, ctx: RequestContext) -> Reply:
        """A snapshot of the volume, listed in /v2/snapshots as resource_type volume."""
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            volume = self._load(s, ctx.params.get("volume_id"))
            name = str(body.get("name", ""))
            taken = s.tx.list(SNAPSHOTS, parent=None, filters={"resource_id": volume["id"]})
            if any(t["name"] == name for t in taken.items):
                raise unprocessable(f"A snapshot named {name} of this volume already exists.")
            snapshot = self._take(s, volume, name, body.get("tags"))
        return self.reply(ctx, {"snapshot": snapshot})

    @staticmethod
    def _take(s: Session, volume: dict[str, Any], name: str, tags: Any) -> dict[str, Any]:
        ident = new_uuid(s, SNAPSHOTS)
        snapshot = {
            "id": ident,
            "name": name,
            "created_at": s.stamp,
            "regions": [volume["region"]["slug"]],
            "resource_id": volume["id"],
            "resource_type": "volume",
            "min_disk_size": volume["size_gigabytes"],
            "size_gigabytes": round(volume["size_gigabytes"] * 0.04, 2),
            "tags": ensure_tags(s, tags),
        }
        s.tx.put(SNAPSHOTS, ident, snapshot)
        return snapshot

    def snapshots(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            volume = self._load(s, ctx.params.get("volume_id"))
            items = s.tx.list(SNAPSHOTS, parent=None, filters={"resource_id": volume["id"]}).items
        return self.page(ctx, "snapshots", items)

    def _snapshot(self, s: Session, ident: Any) -> dict[str, Any]:
        snapshot = s.tx.get(SNAPSHOTS, str(ident))
        if snapshot is None or snapshot.get("resource_type") != "volume":
            raise not_found()
        return snapshot

    def get_snapshot(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            snapshot = self._snapshot(s, ctx.params.get("snapshot_id"))
        return self.reply(ctx, {"snapshot": snapshot})

    def delete_snapshot(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            s.tx.delete(SNAPSHOTS, self._snapshot(s, ctx.params.get("snapshot_id"))["id"])
        return self.no_content(ctx)
