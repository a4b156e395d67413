"""Droplets: created ``new`` from the reference data and ``active`` once their create
action completes; deleted one by one or by tag; listed by tag or name; with their own
lists of snapshots, backups, kernels, neighbours and firewalls."""

from __future__ import annotations

import re
from typing import Any

from apitwin.behaviours.digitalocean import actions
from apitwin.behaviours.digitalocean.account import (
    assign,
    default_vpc,
    ensure_tags,
    unassign,
)
from apitwin.behaviours.digitalocean.context import (
    DigitalOcean,
    Session,
    integer_id,
    not_found,
    unprocessable,
)
from apitwin.behaviours.digitalocean.network import droplet_networks
from apitwin.behaviours.digitalocean.reference import (
    KERNELS,
    find_image,
    find_region,
    find_size,
    region_object,
    size_object,
)
from apitwin.engine.context import Reply, RequestContext

__all__ = [
    "Droplets",
    "build_droplet",
    "detach_everywhere",
    "find_image_any",
    "load_droplet",
    "plan_create",
    "remove_droplet",
]

FAMILY = "droplets"
_HOSTNAME = re.compile(r"^[a-zA-Z0-9.-]+$")
_FIRST_ID = 400_000_000
MAX_NAMES = 10


def load_droplet(s: Session, ident: Any) -> dict[str, Any]:
    droplet = s.tx.get(FAMILY, str(ident)) if integer_id(ident) is not None else None
    if droplet is None:
        raise not_found()
    return droplet


def find_image_any(s: Session, key: Any) -> dict[str, Any] | None:
    """A public image by slug or id, or one of the account's images by id."""
    public = find_image(key)
    if public is not None:
        return public
    ident = integer_id(key)
    return s.tx.get("images", str(ident)) if ident is not None else None


def detach_everywhere(s: Session, droplet_id: int) -> None:
    """A deleted droplet leaves its volumes, reserved IPs, firewalls, load balancers and
    project; its tags simply count one resource fewer."""
    for volume in s.tx.list("volumes", parent=None, filters={"droplet_ids": droplet_id}).items:
        volume["droplet_ids"] = [d for d in volume["droplet_ids"] if d != droplet_id]
        s.tx.put("volumes", volume["id"], volume)
    for ip in s.tx.list("reserved_ips", parent=None).items:
        if ip.get("droplet_id") == droplet_id:
            ip["droplet_id"] = None
            s.tx.put("reserved_ips", ip["ip"], ip)
    for family in ("firewalls", "load_balancers"):
        for item in s.tx.list(family, parent=None, filters={"droplet_ids": droplet_id}).items:
            item["droplet_ids"] = [d for d in item["droplet_ids"] if d != droplet_id]
            s.tx.put(family, item["id"], item)
    unassign(s, f"do:droplet:{droplet_id}")


def plan_create(s: Session, body: dict[str, Any]) -> dict[str, Any]:
    """Check the size, region, image, keys, VPC and volumes of a create request once
    for all its droplets; refusals are the service's 422s."""
    size = find_size(body.get("size"))
    if size is None:
        raise unprocessable("You specified an invalid size for Droplet creation.")
    if "region" in body:
        region = find_region(body.get("region"))
        if region is None or not region["available"]:
            raise unprocessable("You specified an invalid region for Droplet creation.")
    else:
        region = find_region(size["regions"][0])
        assert region is not None
    if size["slug"] not in region["sizes"]:
        raise unprocessable("Size is not available in this region.")
    image = find_image_any(s, body.get("image"))
    if image is None:
        raise unprocessable("You specified an invalid image for Droplet creation.")
    if region["slug"] not in image["regions"]:
        raise unprocessable("Image is not available in this region.")
    for key in body.get("ssh_keys") or []:
        if not _key_exists(s, key):
            raise unprocessable(f"You specified an invalid SSH key: {key}.")
    vpc_uuid = body.get("vpc_uuid")
    if vpc_uuid:
        vpc = s.tx.get("vpcs", str(vpc_uuid))
        if vpc is None or vpc.get("region") != region["slug"]:
            raise unprocessable("You specified an invalid VPC for Droplet creation.")
    else:
        vpc = default_vpc(s, region["slug"])
    volumes = []
    for volume_id in body.get("volumes") or []:
        volume = s.tx.get("volumes", str(volume_id))
        if volume is None or volume.get("region", {}).get("slug") != region["slug"]:
            raise unprocessable("You specified an invalid volume for Droplet creation.")
        volumes.append(volume)
    return {"size": size, "region": region, "image": image, "vpc": vpc, "volumes": volumes}


def _key_exists(s: Session, key: Any) -> bool:
    from apitwin.behaviours.digitalocean.keys import find_key

    return find_key(s, key) is not None


def build_droplet(
    s: Session, name: str, body: dict[str, Any], plan: dict[str, Any], *, project: bool = True
) -> dict[str, Any]:
    """A new droplet (status ``new``) from a checked plan; ``project=False`` keeps it out
    of the projects (a Kubernetes node's droplet belongs to its cluster)."""
    serial = s.tx.next_id(FAMILY)
    ident = _FIRST_ID + serial
    size, region = plan["size"], plan["region"]
    features = ["droplet_agent", "private_networking"]
    for flag in ("backups", "ipv6", "monitoring"):
        if body.get(flag) is True:
            features.append(flag)
    droplet = {
        "id": ident,
        "name": name,
        "memory": size["memory"],
        "vcpus": size["vcpus"],
        "disk": size["disk"],
        "locked": False,
        "status": "new",
        "kernel": None,
        "created_at": s.stamp,
        "features": features,
        "backup_ids": [],
        "next_backup_window": _backup_window(s) if body.get("backups") is True else None,
        "snapshot_ids": [],
        "image": dict(plan["image"]),
        "volume_ids": [v["id"] for v in plan["volumes"]],
        "size": size_object(size["slug"]),
        "size_slug": size["slug"],
        "networks": droplet_networks(
            region["slug"], serial, plan["vpc"]["ip_range"], body.get("ipv6") is True
        ),
        "region": region_object(region["slug"]),
        "tags": ensure_tags(s, body.get("tags")),
        "vpc_uuid": plan["vpc"]["id"],
    }
    s.tx.put(FAMILY, str(ident), droplet)
    for volume in plan["volumes"]:
        volume["droplet_ids"] = [ident]
        s.tx.put("volumes", volume["id"], volume)
    if project:
        assign(s, f"do:droplet:{ident}")
    return droplet


def _backup_window(s: Session) -> dict[str, str]:
    from apitwin.conventions.clock import iso

    return {"start": iso(s.now + 3600), "end": iso(s.now + 3600 * 5)}


def remove_droplet(s: Session, droplet: dict[str, Any]) -> None:
    """Delete a droplet and take it off everything that named it."""
    s.tx.delete(FAMILY, str(droplet["id"]))
    detach_everywhere(s, droplet["id"])


class Droplets(DigitalOcean):
    def install(self) -> None:
        self.bind_all(
            {
                "droplets_create": self.create,
                "droplets_list": self.list,
                "droplets_get": self.get,
                "droplets_destroy": self.destroy,
                "droplets_destroy_byTag": self.destroy_by_tag,
                "droplets_list_kernels": self.kernels,
                "droplets_list_snapshots": self.snapshots,
                "droplets_list_backups": self.backups,
                "droplets_list_neighbors": self.neighbors,
                "droplets_list_firewalls": self.firewalls,
            }
        )
        effects = self.shared.effects
        effects["droplet:create"] = self._created
        self.semantics.seeders[FAMILY] = self._seed

    def _created(self, s: Session, key: str, params: dict[str, Any]) -> bool:
        droplet = s.tx.get(FAMILY, key)
        if droplet is None:
            return False
        if droplet["status"] == "new":
            droplet["status"] = "active"
            s.tx.put(FAMILY, key, droplet)
        return True

    def _seed(self, tx: Any, runtime: Any) -> None:
        """Seed data: two running droplets in nyc3, each with its completed create action,
        and a snapshot of the first."""
        s = self.session_in(tx)
        body = {"region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-22-04-x64"}
        plan = plan_create(s, body)
        made = [
            build_droplet(s, name, {**body, "tags": ["web"]}, plan) for name in ("web-1", "web-2")
        ]
        for droplet in made:
            droplet["status"] = "active"
            s.tx.put(FAMILY, str(droplet["id"]), droplet)
            actions.completed(s, "create", "droplet", str(droplet["id"]), "nyc3")
        from apitwin.behaviours.digitalocean.images import take_snapshot

        take_snapshot(s, made[0], "web-1-seed-snapshot")

    # -- handlers ---------------------------------------------------------------------------

    def create(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        names = body.get("names")
        many = isinstance(names, list)
        wanted = [str(n) for n in names] if isinstance(names, list) else [str(body.get("name", ""))]
        if many and not 1 <= len(wanted) <= MAX_NAMES:
            raise unprocessable(f"You may only create up to {MAX_NAMES} Droplets at a time.")
        for name in wanted:
            if not _HOSTNAME.match(name):
                raise unprocessable(
                    "Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)"
                )
        with self.session() as s:
            plan = plan_create(s, body)
            made = []
            links = []
            for name in wanted:
                droplet = build_droplet(s, name, body, plan)
                action = actions.start(
                    s, "create", "droplet", str(droplet["id"]), droplet["region"]["slug"]
                )
                droplet["locked"] = False
                made.append(droplet)
                links.append(
                    {
                        "id": action["id"],
                        "rel": "multiple_create" if many else "create",
                        "href": f"{ctx.origin}/v2/actions/{action['id']}",
                    }
                )
        if many:
            return self.reply(ctx, {"droplets": made, "links": {"actions": links}})
        return self.reply(ctx, {"droplet": made[0], "links": {"actions": links}})

    def list(self, ctx: RequestContext) -> Reply:
        filters: dict[str, Any] = {}
        if ctx.params.get("tag_name"):
            filters["tags"] = ctx.params["tag_name"]
        if ctx.params.get("name"):
            filters["name"] = ctx.params["name"]
        with self.session() as s:
            return self.stored_page(ctx, s, FAMILY, "droplets", filters or None)

    def get(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            droplet = load_droplet(s, ctx.params.get("droplet_id"))
        return self.kept(self.reply(ctx, {"droplet": droplet}), s)

    def destroy(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            droplet = load_droplet(s, ctx.params.get("droplet_id"))
            self._remove(s, droplet)
        return self.no_content(ctx)

    def _remove(self, s: Session, droplet: dict[str, Any]) -> None:
        """A client's delete: the droplet goes, then whoever depends on it reacts (a
        Kubernetes cluster replaces its node)."""
        remove_droplet(s, droplet)
        for react in self.shared.on_destroy:
            react(s, droplet)

    def destroy_by_tag(self, ctx: RequestContext) -> Reply:
        tag = ctx.params.get("tag_name")
        with self.session() as s:
            for droplet in s.tx.list(FAMILY, parent=None, filters={"tags": tag}).items:
                self._remove(s, droplet)
        return self.no_content(ctx)

    def kernels(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            load_droplet(s, ctx.params.get("droplet_id"))
        return self.page(ctx, "kernels", [dict(k) for k in KERNELS])

    def snapshots(self, ctx: RequestContext) -> Reply:
        return self._images(ctx, "snapshot_ids", "snapshots")

    def backups(self, ctx: RequestContext) -> Reply:
        return self._images(ctx, "backup_ids", "backups")

    def _images(self, ctx: RequestContext, field: str, key: str) -> Reply:
        with self.session() as s:
            droplet = load_droplet(s, ctx.params.get("droplet_id"))
            found = [s.tx.get("images", str(i)) for i in droplet.get(field, [])]
        items = [
            {k: v for k, v in image.items() if k not in ("public", "slug", "status", "tags")}
            for image in found
            if image is not None
        ]
        return self.page(ctx, key, items)

    def neighbors(self, ctx: RequestContext) -> Reply:
        """Every droplet of the twin lives on a host of its own: no neighbours."""
        with self.session() as s:
            load_droplet(s, ctx.params.get("droplet_id"))
        return self.reply(ctx, {"droplets": []})

    def firewalls(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            droplet = load_droplet(s, ctx.params.get("droplet_id"))
            tags = set(droplet.get("tags", []))
            items = [
                firewall
                for firewall in s.tx.list("firewalls", parent=None).items
                if droplet["id"] in firewall.get("droplet_ids", [])
                or tags & set(firewall.get("tags", []))
            ]
        return self.page(ctx, "firewalls", items)
