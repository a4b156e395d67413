"""Images and snapshots: the public distributions of the reference data plus the
account's own images (droplet snapshots, custom images). A droplet snapshot is both an
image (``/v2/images``, type ``snapshot``) and a snapshot (``/v2/snapshots``) with one id."""

from __future__ import annotations

from typing import Any

from apitwin.behaviours.digitalocean import actions
from apitwin.behaviours.digitalocean.account import ensure_tags
from apitwin.behaviours.digitalocean.context import (
    DigitalOcean,
    Session,
    integer_id,
    not_found,
    unprocessable,
)
from apitwin.behaviours.digitalocean.reference import DISTRIBUTIONS, find_image, find_region
from apitwin.engine.context import Reply, RequestContext

__all__ = ["Images", "snapshot_view", "take_snapshot"]

_FIRST_ID = 170_000_000


def _new_image(s: Session, **fields: Any) -> dict[str, Any]:
    ident = _FIRST_ID + s.tx.next_id("images")
    image = {
        "id": ident,
        "name": "",
        "distribution": "Unknown",
        "slug": None,
        "public": False,
        "regions": [],
        "created_at": s.stamp,
        "min_disk_size": 0,
        "type": "snapshot",
        "size_gigabytes": 0.0,
        "description": "",
        "tags": [],
        "status": "available",
        "error_message": "",
        **fields,
    }
    s.tx.put("images", str(ident), image)
    return image


def snapshot_view(image: dict[str, Any], resource_id: Any, resource_type: str) -> dict[str, Any]:
    return {
        "id": str(image["id"]),
        "name": image["name"],
        "created_at": image["created_at"],
        "regions": list(image["regions"]),
        "resource_id": str(resource_id),
        "resource_type": resource_type,
        "min_disk_size": image["min_disk_size"],
        "size_gigabytes": image["size_gigabytes"],
        "tags": list(image.get("tags", [])),
    }


def take_snapshot(s: Session, droplet: dict[str, Any], name: str, kind: str = "snapshot") -> None:
    """A droplet's snapshot (or backup): a private image in the droplet's region."""
    image = _new_image(
        s,
        name=name,
        distribution=droplet["image"].get("distribution", "Unknown"),
        regions=[droplet["region"]["slug"]],
        min_disk_size=droplet["disk"],
        size_gigabytes=round(droplet["image"].get("size_gigabytes", 1.0) + 0.42, 2),
        type=kind,
    )
    field = "snapshot_ids" if kind == "snapshot" else "backup_ids"
    droplet[field] = [*droplet.get(field, []), image["id"]]
    s.tx.put("droplets", str(droplet["id"]), droplet)
    if kind == "snapshot":
        s.tx.put("snapshots", str(image["id"]), snapshot_view(image, droplet["id"], "droplet"))


def _remove_image(s: Session, key: str) -> None:
    s.tx.delete("images", key)
    s.tx.delete("snapshots", key)
    ident = int(key) if key.isdigit() else None
    for droplet in s.tx.list("droplets", parent=None).items:
        changed = False
        for field in ("snapshot_ids", "backup_ids"):
            if ident in droplet.get(field, []):
                droplet[field] = [i for i in droplet[field] if i != ident]
                changed = True
        if changed:
            s.tx.put("droplets", str(droplet["id"]), droplet)


class Images(DigitalOcean):
    def install(self) -> None:
        self.bind_all(
            {
                "images_list": self.list,
                "images_get": self.get,
                "images_create_custom": self.create_custom,
                "images_update": self.update,
                "images_delete": self.delete,
                "imageActions_post": self.act,
                "snapshots_list": self.list_snapshots,
                "snapshots_get": self.get_snapshot,
                "snapshots_delete": self.delete_snapshot,
            }
        )
        self.shared.effects["image:transfer"] = self._transferred
        self.shared.effects["image:convert"] = self._converted

    # -- images -----------------------------------------------------------------------------

    def list(self, ctx: RequestContext) -> Reply:
        kind = ctx.params.get("type")
        private = ctx.params.get("private")
        tag = ctx.params.get("tag_name")
        with self.session() as s:
            own = s.tx.list("images", parent=None).items
        items = [] if private is True or tag else [dict(i) for i in DISTRIBUTIONS]
        items += own
        if kind == "distribution":
            items = [i for i in items if i["public"] and i["type"] == "base"]
        elif kind == "application":
            items = [i for i in items if i["public"] and i["type"] != "base"]
        if tag:
            items = [i for i in items if tag in i.get("tags", [])]
        return self.page(ctx, "images", items)

    def _load(self, s: Session, key: Any) -> dict[str, Any]:
        image = find_image(key)
        if image is not None:
            return dict(image)
        ident = integer_id(key)
        found = s.tx.get("images", str(ident)) if ident is not None else None
        if found is None:
            raise not_found()
        return found

    def get(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            image = self._load(s, ctx.params.get("image_id"))
        return self.reply(ctx, {"image": image})

    def create_custom(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        region = find_region(body.get("region"))
        if region is None:
            raise unprocessable("You specified an invalid region for the custom image.")
        with self.session() as s:
            image = _new_image(
                s,
                name=str(body.get("name", "")),
                distribution=str(body.get("distribution", "Unknown")),
                description=str(body.get("description", "")),
                regions=[region["slug"]],
                type="custom",
                status="NEW",
                tags=ensure_tags(s, body.get("tags")),
                min_disk_size=20,
                size_gigabytes=2.0,
            )
        return self.reply(ctx, {"image": image})

    def update(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            image = self._load(s, ctx.params.get("image_id"))
            if image["public"]:
                raise reject_public()
            for field in ("name", "distribution", "description"):
                if isinstance(body.get(field), str):
                    image[field] = body[field]
            s.tx.put("images", str(image["id"]), image)
            snapshot = s.tx.get("snapshots", str(image["id"]))
            if snapshot is not None:
                snapshot["name"] = image["name"]
                s.tx.put("snapshots", str(image["id"]), snapshot)
        return self.reply(ctx, {"image": image})

    def delete(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            image = self._load(s, ctx.params.get("image_id"))
            if image["public"]:
                raise reject_public()
            _remove_image(s, str(image["id"]))
        return self.no_content(ctx)

    def act(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        kind = body.get("type")
        with self.session() as s:
            image = self._load(s, ctx.params.get("image_id"))
            if image["public"]:
                raise reject_public()
            params: dict[str, Any] = {}
            if kind == "transfer":
                region = find_region(body.get("region"))
                if region is None:
                    raise unprocessable("You specified an invalid region for the transfer.")
                if region["slug"] in image["regions"]:
                    raise unprocessable("Image is already available in this region.")
                params["region"] = region["slug"]
            elif kind == "convert":
                if image["type"] != "backup":
                    raise unprocessable("Only backups can be converted to snapshots.")
            else:
                raise unprocessable(f"'{kind}' is not an action for images.")
            action = actions.start(
                s, str(kind), "image", str(image["id"]), image["regions"][0], params
            )
        return self.reply(ctx, action)

    def _transferred(self, s: Session, key: str, params: dict[str, Any]) -> bool:
        image = s.tx.get("images", key)
        if image is None:
            return False
        image["regions"] = [*image["regions"], params["region"]]
        s.tx.put("images", key, image)
        return True

    def _converted(self, s: Session, key: str, params: dict[str, Any]) -> bool:
        image = s.tx.get("images", key)
        if image is None:
            return False
        image["type"] = "snapshot"
        s.tx.put("images", key, image)
        return True

    # -- snapshots --------------------------------------------------------------------------

    def list_snapshots(self, ctx: RequestContext) -> Reply:
        wanted = ctx.params.get("resource_type")
        with self.session() as s:
            filters = {"resource_type": wanted} if wanted else None
            items = s.tx.list("snapshots", parent=None, filters=filters).items
        return self.page(ctx, "snapshots", items)

    def _snapshot(self, s: Session, key: Any) -> dict[str, Any]:
        found = s.tx.get("snapshots", str(key))
        if found is None:
            raise not_found()
        return found

    def get_snapshot(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            snapshot = self._snapshot(s, ctx.params.get("snapshot_id"))
        return self.reply(ctx, {"snapshot": snapshot})

    def delete_snapshot(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            snapshot = self._snapshot(s, ctx.params.get("snapshot_id"))
            _remove_image(s, snapshot["id"])
        return self.no_content(ctx)


def reject_public() -> Exception:
    return unprocessable("Public images cannot be changed or deleted.")
