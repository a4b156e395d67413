"""Exec instances: create in a running container, start, inspect.

The daemon streams an attached exec over a hijacked connection, which an HTTP twin
cannot offer; a start without ``Detach`` answers with the command's output framed as the
stream would carry it (``Connection: close`` ends it), and a detached start just runs it.
The command's outcome comes from commands.py, as for containers.
"""

from __future__ import annotations

from typing import Any

from apitwin.behaviours.base import json_reply, reject
from apitwin.behaviours.docker_engine.commands import plan_for
from apitwin.behaviours.docker_engine.daemon import (
    CONTAINERS,
    EXECS,
    Daemon,
    body_of,
    public,
)
from apitwin.behaviours.docker_engine.streams import RAW_STREAM, frame
from apitwin.engine.context import Handler, Reply, RequestContext

__all__ = ["Execs"]


class Execs:
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    def handlers(self) -> dict[str, Handler]:
        return {
            "ContainerExec": self.create,
            "ExecStart": self.start,
            "ExecInspect": self.inspect,
            "ExecResize": self.resize,
        }

    def create(self, context: RequestContext) -> Reply:
        body = body_of(context)
        cmd = body.get("Cmd")
        if isinstance(cmd, str):
            cmd = [cmd]
        if not isinstance(cmd, list) or not cmd:
            raise reject(400, "No exec command specified")
        with self.daemon.session() as session:
            container = session.container(context.params["id"])
            if not container["State"]["Running"]:
                raise reject(409, f"Container {container['Id']} is not running")
            if container["State"]["Paused"]:
                raise reject(
                    409, f"Container {container['Id']} is paused, unpause the container before exec"
                )
            exec_id, _ = self.daemon.new_id(session.tx, "exec")
            record = {
                "ID": exec_id,
                "Running": False,
                "ExitCode": None,
                "ProcessConfig": {
                    "tty": bool(body.get("Tty")),
                    "entrypoint": str(cmd[0]),
                    "arguments": [str(a) for a in cmd[1:]],
                    "privileged": bool(body.get("Privileged")),
                    "user": str(body.get("User") or ""),
                },
                "OpenStdin": bool(body.get("AttachStdin")),
                "OpenStderr": bool(body.get("AttachStderr")),
                "OpenStdout": bool(body.get("AttachStdout")),
                "CanRemove": False,
                "ContainerID": container["Id"],
                "DetachKeys": "",
                "Pid": 0,
                "_twin": {"env": [*container["Config"]["Env"], *(body.get("Env") or [])]},
            }
            session.save(EXECS, exec_id, record)
            container["ExecIDs"] = [*(container.get("ExecIDs") or []), exec_id]
            session.save(CONTAINERS, container["Id"], container)
            session.event(
                "container", f"exec_create: {' '.join(str(c) for c in cmd)}", container["Id"],
                {"image": container["Config"]["Image"], "name": container["Name"].lstrip("/")},
            )  # fmt: skip
        return json_reply({"Id": exec_id}, 201)

    def _find(self, session: Any, ident: str) -> dict[str, Any]:
        record = session.tx.get(EXECS, ident)
        if record is None:
            raise reject(404, f"No such exec instance: {ident}")
        return dict(record)

    def start(self, context: RequestContext) -> Reply:
        body = body_of(context)
        with self.daemon.session() as session:
            record = self._find(session, context.params["id"])
            if record["ExitCode"] is not None:
                raise reject(409, f"Exec {record['ID']} has already run")
            container = session.container(record["ContainerID"])
            if not container["State"]["Running"]:
                raise reject(409, f"Container {container['Id']} is not running")
            process = record["ProcessConfig"]
            tty = bool(body.get("Tty", process["tty"]))
            plan = plan_for(
                [process["entrypoint"], *process["arguments"]],
                container["Config"]["Hostname"],
                record["_twin"]["env"],
                tty,
                False,
            )
            # A command that would run on is cut short: the exec answers now.
            record["ExitCode"] = plan.exit_code if plan.runs_for is not None else 0
            session.save(EXECS, record["ID"], record)
            session.event(
                "container", f"exec_start: {process['entrypoint']} {' '.join(process['arguments'])}".strip(),
                container["Id"],
                {"image": container["Config"]["Image"], "name": container["Name"].lstrip("/")},
            )  # fmt: skip
        if body.get("Detach"):
            return Reply(200)
        output = b"".join(
            text.encode() if tty else frame(stream, text.encode()) for stream, text in plan.output
        )
        return Reply(200, [(b"content-type", RAW_STREAM), (b"connection", b"close")], output)

    def inspect(self, context: RequestContext) -> Reply:
        with self.daemon.session(write=False) as session:
            record = self._find(session, context.params["id"])
        return json_reply(public(record))

    def resize(self, context: RequestContext) -> Reply:
        with self.daemon.session(write=False) as session:
            self._find(session, context.params["id"])
        return Reply(201)
