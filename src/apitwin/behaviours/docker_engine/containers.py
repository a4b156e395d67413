"""Containers: the state machine (created -> running <-> paused -> exited), and what can
be read about a container (inspect, list, top, logs, stats, changes, wait).

State changes are immediate, as a test wants them: ``stop`` returns with the container
exited. What the command does when started comes from commands.py; a command that ends
by itself (``echo``, ``sleep 5``) exits at that moment of the twin clock, and the session
that first sees the moment has passed records the exit (daemon.py runs :meth:`settle`).
"""

from __future__ import annotations

import asyncio
import io
import math
import re
import tarfile
from collections.abc import AsyncIterator
from typing import Any

from apitwin.behaviours.base import json_reply, reject
from apitwin.behaviours.docker_engine.commands import CLEAN_STOPPERS, plan_for
from apitwin.behaviours.docker_engine.daemon import (
    CONTAINERS,
    ZERO_TIME,
    Daemon,
    Session,
    as_dict,
    body_of,
    go_time,
    public,
)
from apitwin.behaviours.docker_engine.filters import labels_match, parse_filters
from apitwin.behaviours.docker_engine.images import Images, familiar
from apitwin.behaviours.docker_engine.networks import (
    attach_endpoints,
    endpoint,
    find_network,
    release_endpoints,
)
from apitwin.behaviours.docker_engine.streams import (
    POLL_SECONDS,
    frame,
    human_duration,
    raw_stream_reply,
)
from apitwin.behaviours.docker_engine.volumes import container_mounts
from apitwin.engine.context import Handler, Reply, RequestContext

__all__ = ["Containers"]

_STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")
_SIGNALS = {
    "HUP": 1, "INT": 2, "QUIT": 3, "KILL": 9, "USR1": 10, "USR2": 12, "TERM": 15,
    "STOP": 19, "CONT": 18, "WINCH": 28,
}  # fmt: skip
_TERMINATING = frozenset({2, 3, 15})
_LIST_FILTERS = (
    "ancestor", "before", "expose", "exited", "health", "id", "isolation", "is-task",
    "label", "name", "network", "publish", "since", "status", "volume",
)  # fmt: skip
_WAIT_CONDITIONS = ("not-running", "next-exit", "removed")


def _host_config(body: dict[str, Any]) -> dict[str, Any]:
    given = as_dict(body.get("HostConfig"))
    defaults: dict[str, Any] = {
        "Binds": None,
        "ContainerIDFile": "",
        "LogConfig": {"Type": "json-file", "Config": {}},
        "NetworkMode": "default",
        "PortBindings": {},
        "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
        "AutoRemove": False,
        "VolumeDriver": "",
        "VolumesFrom": None,
        "CapAdd": None,
        "CapDrop": None,
        "Dns": [],
        "DnsOptions": [],
        "DnsSearch": [],
        "ExtraHosts": None,
        "GroupAdd": None,
        "IpcMode": "shareable",
        "Cgroup": "",
        "Links": None,
        "OomScoreAdj": 0,
        "PidMode": "",
        "Privileged": False,
        "PublishAllPorts": False,
        "ReadonlyRootfs": False,
        "SecurityOpt": None,
        "UTSMode": "",
        "UsernsMode": "",
        "ShmSize": 67108864,
        "Runtime": "runc",
        "ConsoleSize": [0, 0],
        "Isolation": "",
        "CpuShares": 0,
        "Memory": 0,
        "NanoCpus": 0,
        "CgroupParent": "",
        "BlkioWeight": 0,
        "CpuPeriod": 0,
        "CpuQuota": 0,
        "CpusetCpus": "",
        "CpusetMems": "",
        "Devices": [],
        "MemoryReservation": 0,
        "MemorySwap": 0,
        "OomKillDisable": False,
        "PidsLimit": 0,
        "Ulimits": None,
    }
    merged = {**defaults, **{k: v for k, v in given.items() if v is not None}}
    if not merged.get("NetworkMode"):
        merged["NetworkMode"] = "default"
    return merged


class Containers:
    def __init__(self, daemon: Daemon, images: Images) -> None:
        self.daemon = daemon
        self.images = images
        daemon.settle = self.settle

    def handlers(self) -> dict[str, Handler]:
        return {
            "ContainerCreate": self.create,
            "ContainerList": self.listing,
            "ContainerInspect": self.inspect,
            "ContainerStart": self.start,
            "ContainerStop": self.stop,
            "ContainerRestart": self.restart,
            "ContainerKill": self.kill,
            "ContainerPause": self.pause,
            "ContainerUnpause": self.unpause,
            "ContainerWait": self.wait,
            "ContainerRename": self.rename,
            "ContainerDelete": self.delete,
            "ContainerUpdate": self.update,
            "ContainerTop": self.top,
            "ContainerLogs": self.logs,
            "ContainerStats": self.stats,
            "ContainerChanges": self.changes,
            "ContainerPrune": self.prune,
            "ContainerAttach": self.attach,
            "ContainerResize": self.resize,
            "ContainerExport": self.export,
        }

    # -- the clock --------------------------------------------------------------------

    def settle(self, session: Session) -> None:
        """Exit every running container whose command has ended by now (the daemon calls
        this only when its kept due time has come), and keep the next due time."""
        upcoming: float | None = None
        for container in session.tx.list(CONTAINERS).items:
            state, twin = container["State"], container["_twin"]
            due = twin.get("exit_at")
            if not state["Running"] or state["Paused"] or due is None:
                continue
            if due <= session.now:
                self._exit(session, container, twin.get("exit_code", 0), at=due)
            elif upcoming is None or due < upcoming:
                upcoming = due
        self.daemon.reschedule(session.tx, upcoming)

    def _exit(self, session: Session, container: dict[str, Any], code: int, at: float) -> None:
        state = container["State"]
        state.update(
            Status="exited", Running=False, Paused=False, Restarting=False, Pid=0,
            ExitCode=code, FinishedAt=go_time(at),
        )  # fmt: skip
        twin = container["_twin"]
        twin["exit_at"] = None
        twin["exits"] = twin.get("exits", 0) + 1
        twin["finished"] = at
        release_endpoints(container)
        session.event(
            "container", "die", container["Id"], self._attributes(container, exitCode=str(code)), at
        )
        if container["HostConfig"].get("AutoRemove"):
            self._destroy(session, container, at)
        else:
            session.save(CONTAINERS, container["Id"], container)

    def _destroy(
        self, session: Session, container: dict[str, Any], at: float | None = None
    ) -> None:
        session.tx.delete(CONTAINERS, container["Id"])
        session.event("container", "destroy", container["Id"], self._attributes(container), at)

    @staticmethod
    def _attributes(container: dict[str, Any], **extra: str) -> dict[str, str]:
        attributes = dict(container["Config"].get("Labels") or {})
        attributes.update(image=container["Config"]["Image"], name=container["Name"].lstrip("/"))
        attributes.update(extra)
        return attributes

    # -- create -----------------------------------------------------------------------

    def create(self, context: RequestContext) -> Reply:
        body = body_of(context)
        reference = body.get("Image")
        if not isinstance(reference, str) or not reference:
            raise reject(400, "Config cannot be empty in order to create a container")
        name = context.params.get("name") or ""
        if name:
            self.daemon.check_name(name)
        with self.daemon.session() as session:
            image = self.images.find(session, reference)
            if image is None:
                raise reject(404, f"No such image: {familiar(reference)}")
            container_id, serial = self.daemon.new_id(session.tx, "container")
            if not name:
                name = self.daemon.random_name(serial)
                while session.name_owner("/" + name) is not None:
                    name = f"{name}{serial}"
            owner = session.name_owner("/" + name.lstrip("/"))
            if owner is not None:
                raise reject(
                    409,
                    f'Conflict. The container name "/{name.lstrip("/")}" is already in use by '
                    f'container "{owner["Id"]}". You have to remove (or rename) that container '
                    "to be able to reuse that name.",
                )
            container = self._document(session, container_id, "/" + name.lstrip("/"), body, image)
            session.save(CONTAINERS, container_id, container)
            session.event("container", "create", container_id, self._attributes(container))
        return json_reply({"Id": container_id, "Warnings": []}, 201)

    def _document(
        self,
        session: Session,
        container_id: str,
        name: str,
        body: dict[str, Any],
        image: dict[str, Any],
    ) -> dict[str, Any]:
        image_config = image["Config"]
        entrypoint = body.get("Entrypoint")
        if isinstance(entrypoint, str):
            entrypoint = [entrypoint]
        cmd = body.get("Cmd")
        if isinstance(cmd, str):
            cmd = [cmd]
        if entrypoint is None:
            entrypoint = image_config.get("Entrypoint")
            if not cmd:
                cmd = image_config.get("Cmd")
        argv = list(entrypoint or []) + list(cmd or [])
        if not argv:
            raise reject(400, "No command specified")
        env = _merge_env(image_config.get("Env") or [], body.get("Env") or [])
        labels = {**(image_config.get("Labels") or {}), **(body.get("Labels") or {})}
        host = _host_config(body)
        config = {
            "Hostname": body.get("Hostname") or container_id[:12],
            "Domainname": body.get("Domainname") or "",
            "User": body.get("User") or "",
            "AttachStdin": bool(body.get("AttachStdin")),
            "AttachStdout": bool(body.get("AttachStdout")),
            "AttachStderr": bool(body.get("AttachStderr")),
            "ExposedPorts": body.get("ExposedPorts") or None,
            "Tty": bool(body.get("Tty")),
            "OpenStdin": bool(body.get("OpenStdin")),
            "StdinOnce": bool(body.get("StdinOnce")),
            "Env": env,
            "Cmd": cmd,
            "Image": body["Image"],
            "Volumes": body.get("Volumes") or None,
            "WorkingDir": body.get("WorkingDir") or image_config.get("WorkingDir") or "",
            "Entrypoint": entrypoint,
            "OnBuild": None,
            "Labels": labels,
        }
        if body.get("StopSignal"):
            config["StopSignal"] = body["StopSignal"]
        root = f"/var/lib/docker/containers/{container_id}"
        layer = f"/var/lib/docker/overlay2/{container_id}"
        return {
            "Id": container_id,
            "Created": go_time(session.now),
            "Path": argv[0],
            "Args": argv[1:],
            "State": {
                "Status": "created",
                "Running": False,
                "Paused": False,
                "Restarting": False,
                "OOMKilled": False,
                "Dead": False,
                "Pid": 0,
                "ExitCode": 0,
                "Error": "",
                "StartedAt": ZERO_TIME,
                "FinishedAt": ZERO_TIME,
            },  # fmt: skip
            "Image": image["Id"],
            "ResolvConfPath": f"{root}/resolv.conf",
            "HostnamePath": f"{root}/hostname",
            "HostsPath": f"{root}/hosts",
            "LogPath": f"{root}/{container_id}-json.log",
            "Name": name,
            "RestartCount": 0,
            "Driver": "overlay2",
            "Platform": "linux",
            "MountLabel": "",
            "ProcessLabel": "",
            "AppArmorProfile": "docker-default",
            "ExecIDs": None,
            "HostConfig": host,
            "GraphDriver": {
                "Name": "overlay2",
                "Data": {
                    "LowerDir": f"{layer}-init/diff",
                    "MergedDir": f"{layer}/merged",
                    "UpperDir": f"{layer}/diff",
                    "WorkDir": f"{layer}/work",
                },
            },
            "Mounts": container_mounts(session, config, host),
            "Config": config,
            "NetworkSettings": {
                "Bridge": "",
                "SandboxID": "",
                "HairpinMode": False,
                "LinkLocalIPv6Address": "",
                "LinkLocalIPv6PrefixLen": 0,
                "Ports": {},
                "SandboxKey": "",
                "SecondaryIPAddresses": None,
                "SecondaryIPv6Addresses": None,
                "EndpointID": "",
                "Gateway": "",
                "GlobalIPv6Address": "",
                "GlobalIPv6PrefixLen": 0,
                "IPAddress": "",
                "IPPrefixLen": 0,
                "IPv6Gateway": "",
                "MacAddress": "",
                "Networks": self._initial_networks(session, container_id, host, body),
            },  # fmt: skip
            "_twin": {"created": session.now, "exits": 0, "log": [], "exit_at": None},
        }

    @staticmethod
    def _initial_networks(
        session: Session, container_id: str, host: dict[str, Any], body: dict[str, Any]
    ) -> dict[str, Any]:
        mode = host["NetworkMode"]
        primary = "bridge" if mode == "default" else mode
        if primary.startswith("container:"):
            return {}
        wanted = {
            "bridge" if name == "default" else name: config
            for name, config in as_dict(
                as_dict(body.get("NetworkingConfig")).get("EndpointsConfig")
            ).items()
        }
        result: dict[str, Any] = {}
        for name in [primary, *(n for n in wanted if n != primary)]:
            network = find_network(session, name)
            aliases = [
                a for a in as_dict(wanted.get(name)).get("Aliases") or [] if isinstance(a, str)
            ]
            builtin = network["Name"] in ("bridge", "host", "none")
            result[network["Name"]] = endpoint(
                network, None if builtin else aliases + [container_id[:12]]
            )
        return result

    # -- reads ------------------------------------------------------------------------

    def inspect(self, context: RequestContext) -> Reply:
        with self.daemon.session(write=False) as session:
            container = session.container(context.params["id"])
            document = public(container)
            if context.params.get("size"):
                document.update(
                    SizeRw=_size_rw(container), SizeRootFs=self._root_size(session, container)
                )
        return json_reply(document)

    def _root_size(self, session: Session, container: dict[str, Any]) -> int:
        image = session.tx.get("images", container["Image"][7:])
        return (image["Size"] if image else 0) + _size_rw(container)

    def listing(self, context: RequestContext) -> Reply:
        params = context.params
        filters = parse_filters(params.get("filters"), _LIST_FILTERS)
        for status in filters.get("status", []):
            if status not in _STATUSES:
                raise reject(400, f"Invalid filter 'status={status}'")
        limit = params.get("limit")
        show_all = bool(params.get("all")) or (limit is not None and limit > 0)
        with self.daemon.session(write=False) as session:
            containers = session.containers()
            matched = [c for c in containers if self._matches(session, c, filters, show_all)]
            if limit is not None and limit > 0:
                matched = matched[:limit]
            result = [self._summary(session, c, bool(params.get("size"))) for c in matched]
        reply = json_reply(result)
        if session.quiet_for is not None:
            reply.fresh_for = min(
                [session.quiet_for, *(self._status_holds(session, c) for c in matched)]
            )
        return reply

    @staticmethod
    def _status_holds(session: Session, container: dict[str, Any]) -> float:
        """Seconds until the container's ``Status`` words can change: they count whole
        seconds since it started or finished ("Up 3 seconds"), so they hold until the next
        whole second of that count."""
        state, twin = container["State"], container["_twin"]
        if state["Status"] == "created":
            return math.inf
        since = twin["started"] if state["Running"] else twin.get("finished", session.now)
        return 1.0 - (session.now - since) % 1.0

    def _matches(
        self,
        session: Session,
        container: dict[str, Any],
        filters: dict[str, list[str]],
        show_all: bool,
    ) -> bool:
        state = container["State"]
        if (
            not show_all
            and not state["Running"]
            and "status" not in filters
            and "exited" not in filters
        ):
            return False
        if "status" in filters and state["Status"] not in filters["status"]:
            return False
        if "exited" in filters and (
            state["Status"] != "exited" or str(state["ExitCode"]) not in filters["exited"]
        ):
            return False
        if "id" in filters and not any(container["Id"].startswith(v) for v in filters["id"]):
            return False
        if "name" in filters:
            name = container["Name"]
            if not any(_name_matches(pattern, name) for pattern in filters["name"]):
                return False
        if "label" in filters and not labels_match(
            container["Config"].get("Labels"), filters["label"]
        ):
            return False
        if "ancestor" in filters and not any(
            self._descends(session, container, ref) for ref in filters["ancestor"]
        ):
            return False
        if "network" in filters:
            networks = container["NetworkSettings"]["Networks"]
            known = set(networks) | {n["NetworkID"] for n in networks.values()}
            if not any(
                ref in known or any(i.startswith(ref) for i in known) for ref in filters["network"]
            ):
                return False
        if "volume" in filters:
            mounts = container["Mounts"]
            names = {m.get("Name") for m in mounts} | {m["Destination"] for m in mounts}
            if not any(v in names for v in filters["volume"]):
                return False
        for key, newer in (("before", False), ("since", True)):
            if key in filters:
                other = session.container(filters[key][0])
                created, mark = container["_twin"]["created"], other["_twin"]["created"]
                if (created <= mark) if newer else (created >= mark):
                    return False
        return True

    def _descends(self, session: Session, container: dict[str, Any], ref: str) -> bool:
        image = self.images.find(session, ref)
        if image is not None:
            return bool(container["Image"] == image["Id"])
        return familiar(container["Config"]["Image"]) == familiar(ref)

    def _summary(self, session: Session, container: dict[str, Any], size: bool) -> dict[str, Any]:
        state = container["State"]
        argv = [container["Path"], *container["Args"]]
        image = session.tx.get("images", container["Image"][7:])
        shown = container["Config"]["Image"]
        if image is None or not (
            familiar(shown) in image["RepoTags"]
            or image["Id"][7:].startswith(shown.removeprefix("sha256:"))
        ):
            shown = container["Image"]  # the name now means another image, or none
        result: dict[str, Any] = {
            "Id": container["Id"],
            "Names": [container["Name"]],
            "Image": shown,
            "ImageID": container["Image"],
            "Command": " ".join(argv),
            "Created": int(container["_twin"]["created"]),
            "Ports": [],
            "Labels": container["Config"].get("Labels") or {},
            "State": state["Status"],
            "Status": self._status_text(session, container),
            "HostConfig": {"NetworkMode": container["HostConfig"]["NetworkMode"]},
            "NetworkSettings": {"Networks": container["NetworkSettings"]["Networks"]},
            "Mounts": container["Mounts"],
        }
        if size:
            result["SizeRw"] = _size_rw(container)
            result["SizeRootFs"] = self._root_size(session, container)
        return result

    @staticmethod
    def _status_text(session: Session, container: dict[str, Any]) -> str:
        state, twin = container["State"], container["_twin"]
        if state["Status"] == "created":
            return "Created"
        if state["Running"]:
            text = f"Up {human_duration(session.now - twin['started'])}"
            return text + " (Paused)" if state["Paused"] else text
        ago = human_duration(session.now - twin.get("finished", session.now))
        return f"Exited ({state['ExitCode']}) {ago} ago"

    def top(self, context: RequestContext) -> Reply:
        with self.daemon.session(write=False) as session:
            container = session.container(context.params["id"])
        state = container["State"]
        if not state["Running"]:
            raise reject(409, f"Container {container['Id']} is not running")
        started = go_time(container["_twin"]["started"])[11:16]
        command = " ".join([container["Path"], *container["Args"]])
        return json_reply(
            {
                "Titles": ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
                "Processes": [
                    [
                        "root",
                        str(state["Pid"]),
                        str(state["Pid"] - 21),
                        "0",
                        started,
                        "?",
                        "00:00:00",
                        command,
                    ]
                ],
            }
        )

    def logs(self, context: RequestContext) -> Reply:
        params = context.params
        stdout, stderr = bool(params.get("stdout")), bool(params.get("stderr"))
        if not stdout and not stderr:
            raise reject(400, "Bad parameters: you must choose at least one stream")
        streams = {1} if stdout else set()
        if stderr:
            streams.add(2)
        with self.daemon.session(write=False) as session:
            container = session.container(params["id"])
        tty = bool(container["Config"]["Tty"])
        timestamps = bool(params.get("timestamps"))
        since = params.get("since") or 0
        tail = str(params.get("tail") or "all")
        entries = [e for e in container["_twin"]["log"] if e[1] in streams and e[0] >= since]
        if tail != "all":
            try:
                count = int(tail)
            except ValueError:
                count = -1
            if count >= 0:
                entries = entries[len(entries) - count :] if count else []
        body = b"".join(_log_chunk(entry, tty, timestamps) for entry in entries)
        if not params.get("follow") or not container["State"]["Running"]:
            return raw_stream_reply(body)
        seen = len(container["_twin"]["log"])
        container_id = container["Id"]

        async def follow() -> AsyncIterator[bytes]:
            nonlocal seen
            yield body
            while True:
                await asyncio.sleep(POLL_SECONDS)
                with self.daemon.session(write=False) as session:
                    current = session.tx.get(CONTAINERS, container_id)
                if current is None:
                    return
                fresh = current["_twin"]["log"][seen:]
                seen += len(fresh)
                for entry in fresh:
                    if entry[1] in streams:
                        yield _log_chunk(entry, tty, timestamps)
                if not current["State"]["Running"]:
                    return

        return Reply(
            200, [(b"content-type", b"application/vnd.docker.raw-stream")], stream=follow()
        )

    def stats(self, context: RequestContext) -> Reply:
        with self.daemon.session(write=False) as session:
            container = session.container(context.params["id"])
            sample = _stats_sample(container, session.now, 0)
        if context.params.get("stream") is False or not container["State"]["Running"]:
            return json_reply(sample)
        container_id = container["Id"]

        async def samples() -> AsyncIterator[bytes]:
            import orjson

            yield orjson.dumps(sample) + b"\n"
            for number in range(1, 3):  # a short stream: three samples, a second apart
                await asyncio.sleep(1.0)
                with self.daemon.session(write=False) as session:
                    current = session.tx.get(CONTAINERS, container_id)
                    if current is None or not current["State"]["Running"]:
                        return
                    yield orjson.dumps(_stats_sample(current, session.now, number)) + b"\n"

        return Reply(200, [(b"content-type", b"application/json")], stream=samples())

    def changes(self, context: RequestContext) -> Reply:
        with self.daemon.session(write=False) as session:
            container = session.container(context.params["id"])
        if "started" not in container["_twin"]:
            return json_reply([])
        return json_reply(
            [
                {"Path": "/root", "Kind": 0},
                {"Path": "/root/.ash_history", "Kind": 1},
                {"Path": "/tmp", "Kind": 0},
            ]
        )

    def export(self, context: RequestContext) -> Reply:
        with self.daemon.session(write=False) as session:
            container = session.container(context.params["id"])
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            for directory in ("bin", "etc", "tmp", "root"):
                info = tarfile.TarInfo(directory)
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                archive.addfile(info)
            hostname = (container["Config"]["Hostname"] + "\n").encode()
            info = tarfile.TarInfo("etc/hostname")
            info.size = len(hostname)
            archive.addfile(info, io.BytesIO(hostname))
        return Reply(200, [(b"content-type", b"application/octet-stream")], buffer.getvalue())

    def attach(self, context: RequestContext) -> Reply:
        """Without a hijacked connection only the logs part can be served."""
        with self.daemon.session(write=False) as session:
            container = session.container(context.params["id"])
        if not context.params.get("logs"):
            return raw_stream_reply(b"")
        tty = bool(container["Config"]["Tty"])
        return raw_stream_reply(
            b"".join(_log_chunk(e, tty, False) for e in container["_twin"]["log"])
        )

    def resize(self, context: RequestContext) -> Reply:
        with self.daemon.session(write=False) as session:
            container = session.container(context.params["id"])
        if not container["State"]["Running"]:
            raise reject(409, f"Container {container['Id']} is not running")
        return Reply(200)

    # -- state changes ----------------------------------------------------------------

    def start(self, context: RequestContext) -> Reply:
        with self.daemon.session() as session:
            container = session.container(context.params["id"])
            state = container["State"]
            if state["Paused"]:
                raise reject(409, "cannot start a paused container, try unpause instead")
            if state["Running"]:
                return Reply(304)
            self._start(session, container)
        return Reply(204)

    def _start(self, session: Session, container: dict[str, Any]) -> None:
        twin = container["_twin"]
        serial = int(container["Id"][:4], 16)
        state = container["State"]
        state.update(
            Status="running", Running=True, Paused=False, Restarting=False, Dead=False,
            Pid=1000 + (serial + twin.get("exits", 0) * 37) % 30000, ExitCode=0,
            StartedAt=go_time(session.now), Error="",
        )  # fmt: skip
        twin["started"] = session.now
        attach_endpoints(session, container)
        config = container["Config"]
        plan = plan_for(
            [container["Path"], *container["Args"]],
            config["Hostname"],
            config["Env"],
            bool(config["Tty"]),
            bool(config["OpenStdin"]),
        )
        for stream, text in plan.output:
            if text:
                twin["log"].append([session.now, 1 if config["Tty"] else stream, text])
        twin["exit_code"] = plan.exit_code
        twin["exit_at"] = None if plan.runs_for is None else session.now + plan.runs_for
        session.event("container", "start", container["Id"], self._attributes(container))
        if twin["exit_at"] is not None and twin["exit_at"] <= session.now:
            self._exit(session, container, plan.exit_code, session.now)
        else:
            session.save(CONTAINERS, container["Id"], container)
            if twin["exit_at"] is not None:
                self.daemon.schedule(session.tx, twin["exit_at"])

    def _stop(self, session: Session, container: dict[str, Any], signal: int = 15) -> None:
        """``docker stop``: SIGTERM, then SIGKILL when the program ignores it."""
        attributes = self._attributes(container, signal=str(signal))
        session.event("container", "kill", container["Id"], attributes)
        program = (
            container["Path"]
            if container["Path"] == "/whoami"
            else container["Path"].rsplit("/", 1)[-1]
        )
        code = 0 if program in CLEAN_STOPPERS else 137
        self._exit(session, container, code, session.now)

    def stop(self, context: RequestContext) -> Reply:
        with self.daemon.session() as session:
            container = session.container(context.params["id"])
            if not container["State"]["Running"]:
                return Reply(304)
            auto_remove = container["HostConfig"].get("AutoRemove")
            self._stop(session, container)
            if not auto_remove:
                session.event("container", "stop", container["Id"], self._attributes(container))
        return Reply(204)

    def restart(self, context: RequestContext) -> Reply:
        with self.daemon.session() as session:
            container = session.container(context.params["id"])
            if container["State"]["Running"]:
                host = container["HostConfig"]
                auto_remove = host.get("AutoRemove", False)
                host["AutoRemove"] = False  # a restart stops the container, never removes it
                self._stop(session, container)
                host["AutoRemove"] = auto_remove
                session.event("container", "stop", container["Id"], self._attributes(container))
            self._start(session, container)
            if session.tx.get(CONTAINERS, container["Id"]) is not None:
                session.event("container", "restart", container["Id"], self._attributes(container))
        return Reply(204)

    def kill(self, context: RequestContext) -> Reply:
        raw = str(context.params.get("signal") or "KILL").upper().removeprefix("SIG")
        number = int(raw) if raw.isdigit() else _SIGNALS.get(raw)
        if number is None or not 0 < number < 65:
            raise reject(400, f"Invalid signal: {context.params.get('signal')}")
        with self.daemon.session() as session:
            ref = context.params["id"]
            container = session.container(ref)
            if not container["State"]["Running"]:
                raise reject(
                    409, f"Cannot kill container: {ref}: Container {container['Id']} is not running"
                )
            program = container["Path"].rsplit("/", 1)[-1]
            if number == 9:
                session.event(
                    "container", "kill", container["Id"], self._attributes(container, signal="9")
                )
                self._exit(session, container, 137, session.now)
            elif number in _TERMINATING and program in CLEAN_STOPPERS:
                session.event(
                    "container",
                    "kill",
                    container["Id"],
                    self._attributes(container, signal=str(number)),
                )
                self._exit(session, container, 0, session.now)
            else:  # PID 1 without a handler ignores the signal, as in a real container
                session.event(
                    "container",
                    "kill",
                    container["Id"],
                    self._attributes(container, signal=str(number)),
                )
        return Reply(204)

    def pause(self, context: RequestContext) -> Reply:
        with self.daemon.session() as session:
            container = session.container(context.params["id"])
            state = container["State"]
            if not state["Running"]:
                raise reject(409, f"Container {container['Id']} is not running")
            if state["Paused"]:
                raise reject(409, f"Container {container['Id']} is already paused")
            state.update(Paused=True, Status="paused")
            session.save(CONTAINERS, container["Id"], container)
            session.event("container", "pause", container["Id"], self._attributes(container))
        return Reply(204)

    def unpause(self, context: RequestContext) -> Reply:
        with self.daemon.session() as session:
            container = session.container(context.params["id"])
            state = container["State"]
            if not state["Paused"]:
                raise reject(409, f"Container {container['Id']} is not paused")
            state.update(Paused=False, Status="running")
            session.save(CONTAINERS, container["Id"], container)
            if container["_twin"].get("exit_at") is not None:  # due while paused: now
                self.daemon.schedule(session.tx, container["_twin"]["exit_at"])
            session.event("container", "unpause", container["Id"], self._attributes(container))
        return Reply(204)

    def rename(self, context: RequestContext) -> Reply:
        new = str(context.params.get("name") or "").lstrip("/")
        if not new:
            raise reject(400, "Neither old nor new names may be empty")
        self.daemon.check_name(new)
        with self.daemon.session() as session:
            container = session.container(context.params["id"])
            old = container["Name"]
            if old == "/" + new:
                raise reject(400, "Renaming a container with the same name as its current name")
            owner = session.name_owner("/" + new)
            if owner is not None:
                raise reject(
                    409,
                    f'Conflict. The container name "/{new}" is already in use by container '
                    f'"{owner["Id"]}". You have to remove (or rename) that container to be able '
                    "to reuse that name.",
                )
            container["Name"] = "/" + new
            session.save(CONTAINERS, container["Id"], container)
            session.event(
                "container", "rename", container["Id"], self._attributes(container, oldName=old)
            )
        return Reply(204)

    def delete(self, context: RequestContext) -> Reply:
        with self.daemon.session() as session:
            container = session.container(context.params["id"])
            if container["State"]["Running"]:
                if not context.params.get("force"):
                    what = "paused" if container["State"]["Paused"] else "running"
                    raise reject(
                        409,
                        f'cannot remove container "{container["Name"]}": container is {what}: '
                        "stop the container before removing or force remove",
                    )
                container["HostConfig"]["AutoRemove"] = False
                session.event(
                    "container", "kill", container["Id"], self._attributes(container, signal="9")
                )
                self._exit(session, container, 137, session.now)
            self._destroy(session, container)
            if context.params.get("v"):
                self._remove_anonymous_volumes(session, container)
        return Reply(204)

    @staticmethod
    def _remove_anonymous_volumes(session: Session, container: dict[str, Any]) -> None:
        for mount in container["Mounts"]:
            name = mount.get("Name") or ""
            if re.fullmatch(r"[0-9a-f]{64}", name):
                session.tx.delete("volumes", name)
                session.event("volume", "destroy", name, {"driver": "local"})

    def update(self, context: RequestContext) -> Reply:
        body = body_of(context)
        with self.daemon.session() as session:
            container = session.container(context.params["id"])
            host = container["HostConfig"]
            for key, value in body.items():
                if key in host or key == "RestartPolicy":
                    host[key] = value
            policy = host.get("RestartPolicy") or {}
            if host.get("AutoRemove") and policy.get("Name") not in (None, "", "no"):
                raise reject(
                    400,
                    "Restart policy cannot be updated because AutoRemove is enabled for the container",
                )
            session.save(CONTAINERS, container["Id"], container)
            session.event("container", "update", container["Id"], self._attributes(container))
        return json_reply({"Warnings": []})

    def prune(self, context: RequestContext) -> Reply:
        filters = parse_filters(context.params.get("filters"), ("until", "label"))
        deleted: list[str] = []
        with self.daemon.session() as session:
            for container in session.containers():
                if container["State"]["Running"]:
                    continue
                if "label" in filters and not labels_match(
                    container["Config"].get("Labels"), filters["label"]
                ):
                    continue
                self._destroy(session, container)
                deleted.append(container["Id"])
        return json_reply({"ContainersDeleted": deleted or None, "SpaceReclaimed": 0})

    # -- wait -------------------------------------------------------------------------

    def wait(self, context: RequestContext) -> Reply:
        condition = context.params.get("condition") or "not-running"
        if condition not in _WAIT_CONDITIONS:
            raise reject(400, f'invalid condition: "{condition}"')
        with self.daemon.session(write=False) as session:
            container = session.container(context.params["id"])
        container_id = container["Id"]
        exits = container["_twin"].get("exits", 0)
        last_code = container["State"]["ExitCode"]

        def outcome(current: dict[str, Any] | None) -> int | None:
            """The status code once the condition holds, else None."""
            if current is None:
                return last_code
            if condition == "removed":
                return None
            if condition == "not-running" and not current["State"]["Running"]:
                return int(current["State"]["ExitCode"])
            if current["_twin"].get("exits", 0) > exits:
                return int(current["State"]["ExitCode"])
            return None

        async def waiting() -> AsyncIterator[bytes]:
            nonlocal last_code
            while True:
                with self.daemon.session(write=False) as session:
                    current = session.tx.get(CONTAINERS, container_id)
                if current is not None:
                    last_code = int(current["State"]["ExitCode"])
                code = outcome(current)
                if code is not None:
                    yield b'{"StatusCode":%d}\n' % code
                    return
                await asyncio.sleep(POLL_SECONDS)

        return Reply(200, [(b"content-type", b"application/json")], stream=waiting())


def _merge_env(base: list[str], extra: list[str]) -> list[str]:
    merged: dict[str, str] = {}
    for item in [*base, *extra]:
        if isinstance(item, str):
            merged[item.split("=", 1)[0]] = item
    return list(merged.values())


def _name_matches(pattern: str, name: str) -> bool:
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return pattern in name


def _size_rw(container: dict[str, Any]) -> int:
    return 0 if "started" not in container["_twin"] else 4096 + 12 * len(container["_twin"]["log"])


def _log_chunk(entry: list[Any], tty: bool, timestamps: bool) -> bytes:
    moment, stream, text = entry
    payload = text.encode()
    if timestamps:
        stamp = go_time(moment).encode() + b" "
        payload = b"".join(stamp + line for line in payload.splitlines(keepends=True))
    return payload if tty else frame(stream, payload)


def _stats_sample(container: dict[str, Any], now: float, number: int) -> dict[str, Any]:
    running = container["State"]["Running"]
    usage = (250_000_000 + 10_000_000 * number) if running else 0
    system = int(now * 1e9) * 2
    memory = 1_302_528 + 4096 * number if running else 0
    return {
        "read": go_time(now),
        "preread": go_time(now - 1) if number else ZERO_TIME,
        "pids_stats": {"current": 1 if running else 0},
        "blkio_stats": {"io_service_bytes_recursive": [], "io_serviced_recursive": []},
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": {
            "cpu_usage": {
                "total_usage": usage,
                "percpu_usage": [usage // 2, usage // 2],
                "usage_in_kernelmode": usage // 5,
                "usage_in_usermode": usage // 2,
            },
            "system_cpu_usage": system,
            "online_cpus": 2,
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
        },
        "precpu_stats": {
            "cpu_usage": {
                "total_usage": max(0, usage - 10_000_000),
                "percpu_usage": [0, 0],
                "usage_in_kernelmode": 0,
                "usage_in_usermode": 0,
            },
            "system_cpu_usage": system - 2_000_000_000,
            "online_cpus": 2,
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
        },
        "memory_stats": {
            "usage": memory,
            "max_usage": memory + 65536,
            "stats": {"cache": 0, "rss": memory},
            "limit": 8_248_166_400,
        },
        "name": container["Name"],
        "id": container["Id"],
        "networks": {
            "eth0": {
                "rx_bytes": 1296 if running else 0,
                "rx_packets": 16,
                "rx_errors": 0,
                "rx_dropped": 0,
                "tx_bytes": 0,
                "tx_packets": 0,
                "tx_errors": 0,
                "tx_dropped": 0,
            }
        },
    }
