"""System endpoints: ping, version, info, disk usage, events, and the answers of a
daemon that is not a swarm manager (registry login: credentials.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from apitwin.behaviours.base import json_reply, reject
from apitwin.behaviours.docker_engine.daemon import (
    ENGINE_VERSION,
    IMAGES,
    VOLUMES,
    Daemon,
    go_time,
    public,
    stable_hex,
)
from apitwin.behaviours.docker_engine.filters import labels_match, parse_filters
from apitwin.behaviours.docker_engine.images import summary as image_summary
from apitwin.behaviours.docker_engine.streams import POLL_SECONDS, json_lines, ndjson_reply
from apitwin.behaviours.docker_engine.volumes import volume_users
from apitwin.engine.context import Handler, Reply, RequestContext

if TYPE_CHECKING:
    from apitwin.behaviours.docker_engine.containers import Containers
    from apitwin.behaviours.docker_engine.credentials import RegistryCredentials

__all__ = ["SWARM_OPERATIONS", "System", "version_document"]

NOT_A_MANAGER = (
    'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to '
    "connect this node to swarm and try again."
)
SWARM_OPERATIONS = (
    "SwarmInspect", "SwarmInit", "SwarmJoin", "SwarmLeave", "SwarmUnlock", "SwarmUnlockkey",
    "SwarmUpdate", "NodeList", "NodeInspect", "NodeDelete", "NodeUpdate", "ServiceList",
    "ServiceCreate", "ServiceInspect", "ServiceDelete", "ServiceUpdate", "ServiceLogs",
    "TaskList", "TaskInspect", "TaskLogs", "SecretList", "SecretCreate", "SecretInspect",
    "SecretDelete", "SecretUpdate", "ConfigList", "ConfigCreate", "ConfigInspect",
    "ConfigDelete", "ConfigUpdate",
)  # fmt: skip
_EVENT_FILTERS = (
    "config", "container", "daemon", "event", "image", "label", "network", "node", "plugin",
    "scope", "secret", "service", "type", "volume",
)  # fmt: skip


def version_document(api_version: str, min_api_version: str) -> dict[str, Any]:
    """``GET /version``: the API version agrees with the ``Api-Version`` header the
    client negotiated with."""
    details = {
        "ApiVersion": api_version,
        "MinAPIVersion": min_api_version,
        "GitCommit": "f4ffd25",
        "GoVersion": "go1.8.3",
        "Os": "linux",
        "Arch": "amd64",
        "KernelVersion": "6.8.0-apitwin",
        "BuildTime": "2017-10-17T19:04:05.000000000+00:00",
        "Experimental": "false",
    }
    return {
        "Platform": {"Name": "apitwin Docker Engine"},
        "Components": [{"Name": "Engine", "Version": ENGINE_VERSION, "Details": details}],
        "Version": ENGINE_VERSION,
        "ApiVersion": api_version,
        "MinAPIVersion": min_api_version,
        "GitCommit": "f4ffd25",
        "GoVersion": "go1.8.3",
        "Os": "linux",
        "Arch": "amd64",
        "KernelVersion": "6.8.0-apitwin",
        "BuildTime": "2017-10-17T19:04:05.000000000+00:00",
        "Experimental": False,
    }


def _moment(text: Any, name: str) -> float | None:
    """``since``/``until``: seconds (``1700000000.000000000``) or an RFC 3339 time."""
    if text is None or text == "":
        return None
    value = str(text)
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise reject(400, f"invalid value for {name}: {value!r}") from None


def _event_matches(event: dict[str, Any], filters: dict[str, list[str]]) -> bool:
    actor = event["Actor"]
    attributes = actor.get("Attributes") or {}
    kind = event["Type"]

    def names(*extra: str) -> set[str]:
        return {actor["ID"], attributes.get("name", ""), *extra}

    if "type" in filters and kind not in filters["type"]:
        return False
    if "event" in filters and not any(
        event["Action"] == e or event["Action"].startswith(e + ":") for e in filters["event"]
    ):
        return False
    for key in ("container", "network", "volume", "config", "secret", "service", "node", "plugin"):
        # the daemon's fuzzy match: the actor's id or name starts with one of the values
        if key in filters and not any(c and c.startswith(v) for v in filters[key] for c in names()):
            return False
    if "image" in filters:
        candidates = names(attributes.get("image", ""))
        if not any(v in candidates or f"{v}:latest" in candidates for v in filters["image"]):
            return False
    if "label" in filters and not labels_match(attributes, filters["label"]):
        return False
    return not ("scope" in filters and event.get("scope") not in filters["scope"])


class System:
    def __init__(
        self, daemon: Daemon, containers: Containers, credentials: RegistryCredentials
    ) -> None:
        self.daemon = daemon
        self.containers = containers
        self.credentials = credentials

    def handlers(self) -> dict[str, Handler]:
        handlers: dict[str, Handler] = {
            "SystemPing": ping,
            "SystemVersion": self.version,
            "SystemInfo": self.info,
            "SystemDataUsage": self.data_usage,
            "SystemEvents": self.events,
            "SystemAuth": self.credentials.login,
        }
        for operation in SWARM_OPERATIONS:
            handlers[operation] = not_a_swarm_manager
        return handlers

    def version(self, context: RequestContext) -> Reply:
        return json_reply(version_document(self.daemon.api_version, self.daemon.min_api_version))

    def info(self, context: RequestContext) -> Reply:
        with self.daemon.session(write=False) as session:
            containers = session.containers()
            images = len(session.tx.list(IMAGES).items)
            now = session.now
        running = sum(1 for c in containers if c["State"]["Running"] and not c["State"]["Paused"])
        paused = sum(1 for c in containers if c["State"]["Paused"])
        return json_reply(
            {
                "ID": "TWIN:" + stable_hex("daemon", self.daemon.twin.name)[:40].upper(),
                "Containers": len(containers),
                "ContainersRunning": running,
                "ContainersPaused": paused,
                "ContainersStopped": len(containers) - running - paused,
                "Images": images,
                "Driver": "overlay2",
                "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
                "SystemStatus": None,
                "Plugins": {
                    "Volume": ["local"],
                    "Network": ["bridge", "host", "macvlan", "null", "overlay"],
                    "Authorization": None,
                    "Log": ["json-file", "local", "syslog"],
                },
                "MemoryLimit": True,
                "SwapLimit": False,
                "KernelMemory": True,
                "CpuCfsPeriod": True,
                "CpuCfsQuota": True,
                "CPUShares": True,
                "CPUSet": True,
                "OomKillDisable": True,
                "IPv4Forwarding": True,
                "BridgeNfIptables": True,
                "BridgeNfIp6tables": True,
                "Debug": False,
                "NFd": 24,
                "NGoroutines": 40,
                "SystemTime": go_time(now),
                "LoggingDriver": "json-file",
                "CgroupDriver": "cgroupfs",
                "NEventsListener": 0,
                "KernelVersion": "6.8.0-apitwin",
                "OperatingSystem": "apitwin",
                "OSType": "linux",
                "Architecture": "x86_64",
                "IndexServerAddress": "https://index.docker.io/v1/",
                "RegistryConfig": {
                    "AllowNondistributableArtifactsCIDRs": [],
                    "AllowNondistributableArtifactsHostnames": [],
                    "InsecureRegistryCIDRs": ["127.0.0.0/8"],
                    "IndexConfigs": {
                        "docker.io": {
                            "Name": "docker.io",
                            "Mirrors": [],
                            "Secure": True,
                            "Official": True,
                        }
                    },
                    "Mirrors": [],
                },
                "NCPU": 2,
                "MemTotal": 8_248_166_400,
                "GenericResources": None,
                "DockerRootDir": "/var/lib/docker",
                "HttpProxy": "",
                "HttpsProxy": "",
                "NoProxy": "",
                "Name": "apitwin",
                "Labels": [],
                "ExperimentalBuild": False,
                "ServerVersion": ENGINE_VERSION,
                "ClusterStore": "",
                "ClusterAdvertise": "",
                "Runtimes": {"runc": {"path": "docker-runc"}},
                "DefaultRuntime": "runc",
                "Swarm": {
                    "NodeID": "",
                    "NodeAddr": "",
                    "LocalNodeState": "inactive",
                    "ControlAvailable": False,
                    "Error": "",
                    "RemoteManagers": None,
                },
                "LiveRestoreEnabled": False,
                "Isolation": "",
                "InitBinary": "docker-init",
                "ContainerdCommit": {
                    "ID": "06b9cb35161009dcb7123345749fef02f7cea8e0",
                    "Expected": "06b9cb35161009dcb7123345749fef02f7cea8e0",
                },
                "RuncCommit": {
                    "ID": "0351df1c5a66838d0c392b4ac4cf9450de844e2d",
                    "Expected": "0351df1c5a66838d0c392b4ac4cf9450de844e2d",
                },
                "InitCommit": {"ID": "949e6fa", "Expected": "949e6fa"},
                "SecurityOptions": ["name=seccomp,profile=default"],
            }
        )

    def data_usage(self, context: RequestContext) -> Reply:
        with self.daemon.session(write=False) as session:
            containers = session.containers()
            counts: dict[str, int] = {}
            for container in containers:
                counts[container["Image"]] = counts.get(container["Image"], 0) + 1
            images = [
                image_summary(i, counts.get(i["Id"], 0)) for i in session.tx.list(IMAGES).items
            ]
            summaries = [self.containers._summary(session, c, True) for c in containers]
            volumes = []
            for volume in session.tx.list(VOLUMES).items:
                users = volume_users(session, volume["Name"])
                volumes.append({**public(volume), "UsageData": {"Size": 0, "RefCount": len(users)}})
        return json_reply(
            {
                "LayersSize": sum(i["Size"] for i in images),
                "Images": images,
                "Containers": summaries,
                "Volumes": volumes,
            }
        )

    def events(self, context: RequestContext) -> Reply:
        params = context.params
        since = _moment(params.get("since"), "since")
        until = _moment(params.get("until"), "until")
        filters = parse_filters(params.get("filters"), _EVENT_FILTERS)
        with self.daemon.session(write=False) as session:
            start = session.now if since is None else since
        if since is not None and until is not None and until < since:
            raise reject(400, "`since` time must be before `until` time")
        daemon = self.daemon

        async def stream() -> AsyncIterator[bytes]:
            sent: set[tuple[int, str, str]] = set()
            while True:
                with daemon.session(write=False) as session:
                    events = session.events()
                    now = session.now
                fresh = []
                for event in events:
                    moment = event["timeNano"] / 1e9
                    key = (event["timeNano"], event["Action"], event["Actor"]["ID"])
                    if key in sent or moment < start or (until is not None and moment > until):
                        continue
                    sent.add(key)
                    if _event_matches(event, filters):
                        fresh.append(event)
                if fresh:
                    yield json_lines(fresh)
                if until is not None and now >= until:
                    return
                await asyncio.sleep(POLL_SECONDS)

        return ndjson_reply(stream())


def ping(context: RequestContext) -> Reply:
    return Reply(
        200,
        [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"docker-experimental", b"false"),
            (b"ostype", b"linux"),
            (b"cache-control", b"no-cache, no-store, must-revalidate"),
            (b"pragma", b"no-cache"),
        ],
        b"OK",
    )


def not_a_swarm_manager(context: RequestContext) -> Reply:
    if context.operation.operation_id == "SwarmLeave":
        raise reject(503, "This node is not part of a swarm")
    raise reject(503, NOT_A_MANAGER)
