"""What ties the account's resources together: default VPCs per region, the default
project every new resource lands in, tags created on first use, and fresh ids."""

from __future__ import annotations

import uuid
from typing import Any

from apitwin.behaviours.digitalocean.context import Session, not_found, unprocessable
from apitwin.behaviours.digitalocean.reference import REGIONS

__all__ = [
    "PROJECT_RESOURCES",
    "assign",
    "default_project",
    "default_vpc",
    "ensure_tags",
    "new_uuid",
    "unassign",
]

PROJECT_RESOURCES = "__do_project_resources__"  # urn -> the project holding it
OWNER_UUID = "b0c3a1ee-4cbe-4a3f-9b1a-6f4e4c5a1f10"
OWNER_ID = 258992


def new_uuid(s: Session, family: str) -> str:
    """A fresh id in the UUID form DigitalOcean uses, stable for a given history."""
    serial = s.tx.next_id(family)
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"apitwin:digitalocean:{family}:{serial}"))


def _region_index(slug: str) -> int:
    return next((i for i, r in enumerate(REGIONS) if r["slug"] == slug), 0)


def default_vpc(s: Session, region: str) -> dict[str, Any]:
    """The region's default VPC, created the first time something needs it (as the
    service does when the first resource lands in a region)."""
    for vpc in s.tx.list("vpcs", parent=None, filters={"region": region}).items:
        if vpc.get("default"):
            return vpc
    ident = new_uuid(s, "vpcs")
    vpc = {
        "id": ident,
        "urn": f"do:vpc:{ident}",
        "name": f"default-{region}",
        "description": "",
        "region": region,
        "ip_range": f"10.{100 + 2 * _region_index(region)}.0.0/20",
        "default": True,
        "created_at": s.stamp,
    }
    s.tx.put("vpcs", ident, vpc)
    return vpc


def default_project(s: Session) -> dict[str, Any]:
    """The account's default project (every account has one)."""
    for project in s.tx.list("projects", parent=None, filters={"is_default": True}).items:
        return project
    ident = new_uuid(s, "projects")
    project = {
        "id": ident,
        "owner_uuid": OWNER_UUID,
        "owner_id": OWNER_ID,
        "name": "first-project",
        "description": "Update your project information under Settings",
        "purpose": "Just trying out DigitalOcean",
        "environment": "Development",
        "is_default": True,
        "created_at": s.stamp,
        "updated_at": s.stamp,
    }
    s.tx.put("projects", ident, project)
    return project


def assign(s: Session, urn: str, project_id: str | None = None) -> dict[str, Any]:
    """Put a resource into a project (the default one unless named); a resource is in
    exactly one project, so this moves it."""
    if project_id is None:
        project_id = default_project(s)["id"]
    elif s.tx.get("projects", project_id) is None:
        raise not_found()
    record = {"urn": urn, "project_id": project_id, "assigned_at": s.stamp}
    s.tx.put(PROJECT_RESOURCES, urn, record)
    return record


def unassign(s: Session, urn: str) -> None:
    s.tx.delete(PROJECT_RESOURCES, urn)


def ensure_tags(s: Session, names: Any) -> list[str]:
    """The tag names of a create request, each tag created if it does not exist yet; a
    name the document's tag schema refuses is refused (422), whatever schema the request
    itself had."""
    if not isinstance(names, list):
        return []
    check = s.settings.tag_name
    out: list[str] = []
    for name in names:
        if isinstance(name, str) and name and check is not None and not check.is_valid(name):
            raise unprocessable(f"validation error: invalid tag name: {name!r}")
        if isinstance(name, str) and name and name not in out:
            if s.tx.get("tags", name) is None:
                s.tx.put("tags", name, {"name": name})
            out.append(name)
    return out
