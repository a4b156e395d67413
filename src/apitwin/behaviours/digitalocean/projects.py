"""Projects and their resources. Every account has a default project; every resource
created lands in it until assigned elsewhere; a resource is in exactly one project; a
project with resources cannot be deleted (412), nor can the default one."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from apitwin.behaviours.digitalocean.account import (
    OWNER_ID,
    OWNER_UUID,
    PROJECT_RESOURCES,
    assign,
    default_project,
    new_uuid,
)
from apitwin.behaviours.digitalocean.context import DigitalOcean, Session, not_found
from apitwin.engine.context import Reply, RequestContext
from apitwin.engine.operation import Rejection

__all__ = ["Projects"]

FAMILY = "projects"
# The URN types a project holds -> how to find the resource
_URN_FAMILIES = {
    "droplet": "droplets",
    "volume": "volumes",
    "floatingip": "reserved_ips",
    "loadbalancer": "load_balancers",
    "domain": "domains",
    "kubernetes": "kubernetes_clusters",
    "dbaas": "databases",
    "app": "apps",
}
_PATHS = {
    "droplet": "droplets",
    "volume": "volumes",
    "floatingip": "floating_ips",
    "loadbalancer": "load_balancers",
    "domain": "domains",
    "kubernetes": "kubernetes/clusters",
    "dbaas": "databases",
    "app": "apps",
}
_FIELDS = ("name", "description", "purpose", "environment")


def _exists(s: Session, urn: str) -> bool:
    parts = urn.split(":", 2)
    if len(parts) != 3 or parts[0] != "do" or parts[1] not in _URN_FAMILIES:
        return False
    return s.tx.get(_URN_FAMILIES[parts[1]], parts[2]) is not None


def _resource(record: dict[str, Any], origin: str, status: str) -> dict[str, Any]:
    _, kind, ident = record["urn"].split(":", 2)
    return {
        "urn": record["urn"],
        "assigned_at": record["assigned_at"],
        "links": {"self": f"{origin}/v2/{_PATHS.get(kind, kind)}/{quote(ident, safe='')}"},
        "status": status,
    }


class Projects(DigitalOcean):
    def install(self) -> None:
        self.bind_all(
            {
                "projects_create": self.create,
                "projects_list": self.list,
                "projects_get": lambda c: self.get(c, False),
                "projects_get_default": lambda c: self.get(c, True),
                "projects_update": lambda c: self.update(c, False, True),
                "projects_patch": lambda c: self.update(c, False, False),
                "projects_update_default": lambda c: self.update(c, True, True),
                "projects_patch_default": lambda c: self.update(c, True, False),
                "projects_delete": self.delete,
                "projects_list_resources": lambda c: self.resources(c, False),
                "projects_list_resources_default": lambda c: self.resources(c, True),
                "projects_assign_resources": lambda c: self.assign(c, False),
                "projects_assign_resources_default": lambda c: self.assign(c, True),
            }
        )

    def _load(self, s: Session, ctx: RequestContext, default: bool) -> dict[str, Any]:
        if default:
            return default_project(s)
        project = s.tx.get(FAMILY, str(ctx.params.get("project_id")))
        if project is None:
            raise not_found()
        return project

    def create(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            default_project(s)
            ident = new_uuid(s, FAMILY)
            project = {
                "id": ident,
                "owner_uuid": OWNER_UUID,
                "owner_id": OWNER_ID,
                "name": "",
                "description": "",
                "purpose": "",
                "environment": "Development",
                "is_default": False,
                "created_at": s.stamp,
                "updated_at": s.stamp,
            }
            project.update({k: body[k] for k in _FIELDS if isinstance(body.get(k), str)})
            s.tx.put(FAMILY, ident, project)
        return self.reply(ctx, {"project": project})

    def list(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            default_project(s)
            items = s.tx.list(FAMILY, parent=None).items
        return self.page(ctx, "projects", items)

    def get(self, ctx: RequestContext, default: bool) -> Reply:
        with self.session() as s:
            project = self._load(s, ctx, default)
        return self.reply(ctx, {"project": project})

    def update(self, ctx: RequestContext, default: bool, replace: bool) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            project = self._load(s, ctx, default)
            project.update({k: body[k] for k in _FIELDS if isinstance(body.get(k), str)})
            if body.get("is_default") is True and not project["is_default"]:
                current = default_project(s)
                current["is_default"] = False
                s.tx.put(FAMILY, current["id"], current)
                project["is_default"] = True
            project["updated_at"] = s.stamp
            s.tx.put(FAMILY, project["id"], project)
        return self.reply(ctx, {"project": project})

    def delete(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            project = self._load(s, ctx, False)
            if project["is_default"]:
                raise Rejection(412, "cannot delete the default project")
            held = s.tx.list(PROJECT_RESOURCES, parent=None, filters={"project_id": project["id"]})
            if held.items:
                raise Rejection(
                    412,
                    "cannot delete a project with resources. move or remove the resources first",
                )
            s.tx.delete(FAMILY, project["id"])
        return self.no_content(ctx)

    def resources(self, ctx: RequestContext, default: bool) -> Reply:
        with self.session() as s:
            project = self._load(s, ctx, default)
            held = s.tx.list(PROJECT_RESOURCES, parent=None, filters={"project_id": project["id"]})
            items = [
                _resource(r, ctx.origin, "ok" if _exists(s, r["urn"]) else "not_found")
                for r in held.items
            ]
        return self.page(ctx, "resources", items)

    def assign(self, ctx: RequestContext, default: bool) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        out = []
        with self.session() as s:
            project = self._load(s, ctx, default)
            for urn in body.get("resources") or []:
                urn = str(urn)
                if _exists(s, urn):
                    out.append(_resource(assign(s, urn, project["id"]), ctx.origin, "assigned"))
                else:
                    missing = {"urn": urn, "assigned_at": s.stamp}
                    if urn.count(":") == 2:
                        out.append(_resource(missing, ctx.origin, "not_found"))
        return self.reply(ctx, {"resources": out})
