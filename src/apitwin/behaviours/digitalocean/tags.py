"""Tags and the resources they are on. A tag's resource counts are computed from the
resources themselves (droplets, images, volumes, volume snapshots, databases), so they
never drift from what a client sees on those resources."""

from __future__ import annotations

import re
from typing import Any

from apitwin.behaviours.digitalocean.context import DigitalOcean, Session, not_found, unprocessable
from apitwin.engine.context import Reply, RequestContext

__all__ = ["TAGGABLE", "Tags", "tag_object"]

_TAG_NAME = re.compile(r"^[a-zA-Z0-9_\-:]{1,255}$")  # the document's pattern for tag names

# resource_type -> (family, id field, URI path, key in the tag's resources)
TAGGABLE: dict[str, tuple[str, str, str, str]] = {
    "droplet": ("droplets", "id", "droplets", "droplets"),
    "image": ("images", "id", "images", "images"),
    "volume": ("volumes", "id", "volumes", "volumes"),
    "volume_snapshot": ("snapshots", "id", "snapshots", "volume_snapshots"),
    "database": ("databases", "id", "databases", "databases"),
}

# Families holding more than one resource type: the filter that picks this one.
_ONLY = {"volume_snapshot": {"resource_type": "volume"}}


def _tagged(s: Session, kind: str, name: str) -> list[dict[str, Any]]:
    family = TAGGABLE[kind][0]
    return s.tx.list(family, parent=None, filters={"tags": name, **_ONLY.get(kind, {})}).items


def tag_object(s: Session, name: str, origin: str) -> dict[str, Any]:
    resources: dict[str, Any] = {"count": 0, "last_tagged_uri": ""}
    for kind, (_, field, path, key) in TAGGABLE.items():
        tagged = _tagged(s, kind, name)
        entry: dict[str, Any] = {"count": len(tagged)}
        if tagged:
            uri = f"{origin}/v2/{path}/{tagged[-1][field]}"
            entry["last_tagged_uri"] = uri
            resources["last_tagged_uri"] = uri
        resources[key] = entry
        resources["count"] += len(tagged)
    return {"name": name, "resources": resources}


class Tags(DigitalOcean):
    def install(self) -> None:
        self.bind_all(
            {
                "tags_create": self.create,
                "tags_list": self.list,
                "tags_get": self.get,
                "tags_delete": self.delete,
                "tags_assign_resources": lambda ctx: self.assign(ctx, True),
                "tags_unassign_resources": lambda ctx: self.assign(ctx, False),
            }
        )

    def create(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        name = str(body.get("name", ""))
        if not _TAG_NAME.match(name):
            raise unprocessable(
                "tag name must be 1-255 letters, numbers, colons, dashes and underscores"
            )
        with self.session() as s:
            if s.tx.get("tags", name) is None:
                s.tx.put("tags", name, {"name": name})
            tag = tag_object(s, name, ctx.origin)
        return self.reply(ctx, {"tag": tag})

    def list(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            names = [t["name"] for t in s.tx.list("tags", parent=None).items]
            items = [tag_object(s, name, ctx.origin) for name in names]
        return self.page(ctx, "tags", items)

    def _load(self, s: Session, name: Any) -> str:
        if s.tx.get("tags", str(name)) is None:
            raise not_found()
        return str(name)

    def get(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            tag = tag_object(s, self._load(s, ctx.params.get("tag_id")), ctx.origin)
        return self.reply(ctx, {"tag": tag})

    def delete(self, ctx: RequestContext) -> Reply:
        """Deleting a tag takes it off every resource."""
        with self.session() as s:
            name = self._load(s, ctx.params.get("tag_id"))
            for kind, (family, field, _, _) in TAGGABLE.items():
                for item in _tagged(s, kind, name):
                    item["tags"] = [t for t in item["tags"] if t != name]
                    s.tx.put(family, str(item[field]), item)
            s.tx.delete("tags", name)
        return self.no_content(ctx)

    def assign(self, ctx: RequestContext, on: bool) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            name = self._load(s, ctx.params.get("tag_id"))
            targets = []
            for entry in body.get("resources") or []:
                kind = entry.get("resource_type") if isinstance(entry, dict) else None
                if kind not in TAGGABLE:
                    raise unprocessable(f"resource_type '{kind}' cannot be tagged.")
                family = TAGGABLE[kind][0]
                key = str(entry.get("resource_id"))
                item = s.tx.get(family, key)
                only = _ONLY.get(kind, {})
                if item is None or any(item.get(k) != v for k, v in only.items()):
                    raise not_found(f"{kind} {entry.get('resource_id')} not found")
                targets.append((family, key, item))
            for family, key, item in targets:
                tags = [t for t in item.get("tags") or [] if t != name]
                item["tags"] = [*tags, name] if on else tags
                s.tx.put(family, key, item)
        return self.no_content(ctx)
