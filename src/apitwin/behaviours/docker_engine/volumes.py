"""Volumes: create, list with filters, inspect, remove (409 while a container uses one),
prune; and the mounts a container gets from ``Binds``, ``Mounts`` and ``Volumes``."""

from __future__ import annotations

from typing import Any

from apitwin.behaviours.base import json_reply, reject
from apitwin.behaviours.docker_engine.daemon import (
    CONTAINERS,
    VOLUMES,
    Daemon,
    Session,
    as_dict,
    body_of,
    go_time,
    public,
)
from apitwin.behaviours.docker_engine.filters import labels_match, parse_filters
from apitwin.engine.context import Handler, Reply, RequestContext

__all__ = ["Volumes", "container_mounts", "ensure_volume", "volume_users"]


def ensure_volume(
    session: Session, name: str, labels: dict[str, str] | None = None, driver: str = "local"
) -> dict[str, Any]:
    """The named volume, created as the daemon does when a container first mounts it."""
    found = session.tx.get(VOLUMES, name)
    if found is not None:
        return found
    volume = {
        "CreatedAt": go_time(session.now).split(".")[0] + "Z",
        "Driver": driver,
        "Labels": labels or {},
        "Mountpoint": f"/var/lib/docker/volumes/{name}/_data",
        "Name": name,
        "Options": {},
        "Scope": "local",
    }
    session.save(VOLUMES, name, volume)
    session.event("volume", "create", name, {"driver": driver})
    return volume


def container_mounts(
    session: Session, config: dict[str, Any], host: dict[str, Any]
) -> list[dict[str, Any]]:
    """The ``Mounts`` of a new container; named and anonymous volumes are created."""
    mounts: list[dict[str, Any]] = []
    for bind in host.get("Binds") or []:
        if not isinstance(bind, str) or ":" not in bind:
            raise reject(400, f"invalid volume specification: '{bind}'")
        source, target, *rest = bind.split(":")
        mode = rest[0] if rest else ""
        if source.startswith("/"):
            mounts.append(_bind(source, target, mode))
        else:
            volume = ensure_volume(session, source)
            mounts.append(_volume(volume, target, mode))
    for mount in host.get("Mounts") or []:
        if not isinstance(mount, dict) or not mount.get("Target"):
            raise reject(400, "invalid mount config: field Target must not be empty")
        kind = mount.get("Type") or "volume"
        mode = "ro" if mount.get("ReadOnly") else ""
        if kind == "bind":
            mounts.append(_bind(str(mount.get("Source", "")), mount["Target"], mode))
        elif kind == "volume":
            name = mount.get("Source") or session.daemon.new_id(session.tx, "volume")[0]
            mounts.append(_volume(ensure_volume(session, name), mount["Target"], mode))
        else:
            mounts.append(
                {
                    "Type": kind,
                    "Source": "",
                    "Destination": mount["Target"],
                    "Mode": "",
                    "RW": not mode,
                    "Propagation": "",
                }
            )
    taken = {m["Destination"] for m in mounts}
    for target in config.get("Volumes") or {}:
        if target not in taken:
            name = session.daemon.new_id(session.tx, "volume")[0]
            mounts.append(_volume(ensure_volume(session, name), target, ""))
    return mounts


def _bind(source: str, target: str, mode: str) -> dict[str, Any]:
    return {
        "Type": "bind",
        "Source": source,
        "Destination": target,
        "Mode": mode,
        "RW": "ro" not in mode.split(","),
        "Propagation": "rprivate",
    }


def _volume(volume: dict[str, Any], target: str, mode: str) -> dict[str, Any]:
    return {
        "Type": "volume",
        "Name": volume["Name"],
        "Source": volume["Mountpoint"],
        "Destination": target,
        "Driver": volume["Driver"],
        "Mode": mode or "z",
        "RW": "ro" not in mode.split(","),
        "Propagation": "",
    }


def volume_users(session: Session, name: str) -> list[dict[str, Any]]:
    return [
        c
        for c in session.tx.list(CONTAINERS).items
        if any(m.get("Name") == name for m in c["Mounts"])
    ]


class Volumes:
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    def handlers(self) -> dict[str, Handler]:
        return {
            "VolumeList": self.listing,
            "VolumeCreate": self.create,
            "VolumeInspect": self.inspect,
            "VolumeDelete": self.delete,
            "VolumePrune": self.prune,
        }

    def listing(self, context: RequestContext) -> Reply:
        filters = parse_filters(
            context.params.get("filters"), ("name", "driver", "label", "dangling")
        )
        with self.daemon.session(write=False) as session:
            found = []
            for volume in session.tx.list(VOLUMES).items:
                if "name" in filters and not any(v in volume["Name"] for v in filters["name"]):
                    continue
                if "driver" in filters and volume["Driver"] not in filters["driver"]:
                    continue
                if "label" in filters and not labels_match(volume["Labels"], filters["label"]):
                    continue
                if "dangling" in filters:
                    dangling = filters["dangling"][0] in ("true", "1")
                    if dangling == bool(volume_users(session, volume["Name"])):
                        continue
                found.append(public(volume))
        return json_reply({"Volumes": found, "Warnings": None})

    def create(self, context: RequestContext) -> Reply:
        body = body_of(context)
        name = body.get("Name")
        labels = as_dict(body.get("Labels"))
        driver = body.get("Driver") or "local"
        with self.daemon.session() as session:
            if not name:
                name = self.daemon.new_id(session.tx, "volume")[0]
            volume = ensure_volume(session, str(name), labels, driver)
            if body.get("DriverOpts"):
                volume["Options"] = body["DriverOpts"]
                session.save(VOLUMES, volume["Name"], volume)
        return json_reply(public(volume), 201)

    def inspect(self, context: RequestContext) -> Reply:
        name = context.params["name"]
        with self.daemon.session(write=False) as session:
            volume = session.tx.get(VOLUMES, name)
        if volume is None:
            raise reject(404, f"get {name}: no such volume")
        return json_reply(public(volume))

    def delete(self, context: RequestContext) -> Reply:
        name = context.params["name"]
        with self.daemon.session() as session:
            volume = session.tx.get(VOLUMES, name)
            if volume is None:
                if context.params.get("force"):
                    return Reply(204)
                raise reject(404, f"get {name}: no such volume")
            users = volume_users(session, name)
            if users:
                raise reject(
                    409, f"remove {name}: volume is in use - [{', '.join(c['Id'] for c in users)}]"
                )
            session.tx.delete(VOLUMES, name)
            session.event("volume", "destroy", name, {"driver": volume["Driver"]})
        return Reply(204)

    def prune(self, context: RequestContext) -> Reply:
        filters = parse_filters(context.params.get("filters"), ("label", "all"))
        deleted: list[str] = []
        with self.daemon.session() as session:
            for volume in session.tx.list(VOLUMES).items:
                if "label" in filters and not labels_match(volume["Labels"], filters["label"]):
                    continue
                if volume_users(session, volume["Name"]):
                    continue
                session.tx.delete(VOLUMES, volume["Name"])
                session.event("volume", "destroy", volume["Name"], {"driver": volume["Driver"]})
                deleted.append(volume["Name"])
        return json_reply({"VolumesDeleted": deleted or None, "SpaceReclaimed": 0})
