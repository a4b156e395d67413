"""What a container's command does when it starts, so that its state stays plausible.

The twin runs nothing. It reads the command the way a user expects it to behave:
``echo hi`` prints ``hi`` and exits 0, ``sh -c "exit 3"`` exits 3, ``sleep 5`` runs for
five seconds of twin time, a shell without a terminal or stdin exits at once (as
``docker run -d busybox`` does), and servers (nginx, redis, ``sleep infinity``, ``top``)
run until they are stopped. Anything not understood runs until stopped.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

__all__ = ["Plan", "plan_for"]

SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh"})
_HELLO = (
    "\nHello from Docker!\n"
    "This message shows that your installation appears to be working correctly.\n"
)
_LISTING = "bin\ndev\netc\nhome\nlib\nproc\nroot\nsys\ntmp\nusr\nvar\n"
# Start-up lines of servers the catalogue knows, by program name.
_SERVER_LOGS = {
    "nginx": "/docker-entrypoint.sh: Configuration complete; ready for start up\n",
    "redis-server": "1:M * Ready to accept connections tcp\n",
    "postgres": "LOG:  database system is ready to accept connections\n",
    "mysqld": "[System] [MY-010931] [Server] /usr/sbin/mysqld: ready for connections.\n",
    "httpd-foreground": "AH00094: Command line: 'httpd -D FOREGROUND'\n",
    "memcached": "",
    "/whoami": "Starting up on port 80\n",
}
# Programs that stop cleanly on SIGTERM (exit 0 on docker stop); others are killed (137).
CLEAN_STOPPERS = frozenset(_SERVER_LOGS)


@dataclass
class Plan:
    """Output written at start, and when (seconds after start) the command exits with
    what code; ``runs_for`` None means it runs until stopped."""

    output: list[tuple[int, str]] = field(default_factory=list)
    runs_for: float | None = None
    exit_code: int = 0


def plan_for(argv: list[str], hostname: str, env: list[str], tty: bool, stdin: bool) -> Plan:
    if not argv:
        return Plan(runs_for=0.0)
    program = argv[0].rsplit("/", 1)[-1] if argv[0] != "/whoami" else argv[0]
    if program in SHELLS:
        if len(argv) >= 3 and argv[1] == "-c":
            return _script(argv[2], hostname, env)
        if len(argv) == 1:
            return Plan(runs_for=None if tty or stdin else 0.0)
        return Plan(runs_for=0.0)  # sh SCRIPTFILE: runs it and ends
    return _command(argv, hostname, env) or _server(argv)


def _server(argv: list[str]) -> Plan:
    program = argv[0] if argv[0] == "/whoami" else argv[0].rsplit("/", 1)[-1]
    text = _SERVER_LOGS.get(program, "")
    return Plan(output=[(1, text)] if text else [], runs_for=None)


def _script(script: str, hostname: str, env: list[str]) -> Plan:
    """``a; b && c``: each simple command in turn; one that never ends ends the plan."""
    plan = Plan(runs_for=0.0)
    for part in script.replace("&&", ";").replace("\n", ";").split(";"):
        try:
            argv = shlex.split(part)
        except ValueError:
            plan.output.append((2, f"sh: syntax error: {part.strip()}\n"))
            plan.exit_code = 2
            return plan
        if not argv:
            continue
        if argv[0] == "exit":
            plan.exit_code = int(argv[1]) if len(argv) > 1 and argv[1].isdigit() else 0
            return plan
        step = _command(argv, hostname, env)
        if step is None:
            step = _server(argv)
        plan.output.extend(step.output)
        plan.exit_code = step.exit_code
        if step.runs_for is None:
            plan.runs_for = None
            return plan
        plan.runs_for = (plan.runs_for or 0.0) + step.runs_for
    return plan


def _command(argv: list[str], hostname: str, env: list[str]) -> Plan | None:
    """Commands that end by themselves; None for anything else."""
    program = argv[0].rsplit("/", 1)[-1]
    args = argv[1:]
    if program == "echo":
        if args and args[0] == "-n":
            return Plan([(1, " ".join(args[1:]))], 0.0)
        return Plan([(1, " ".join(args) + "\n")], 0.0)
    if program == "true":
        return Plan(runs_for=0.0)
    if program == "false":
        return Plan(runs_for=0.0, exit_code=1)
    if program == "sleep":
        if not args:
            return Plan([(2, "sleep: missing operand\n")], 0.0, 1)
        if args[0] in ("infinity", "inf"):
            return None
        try:
            return Plan(runs_for=max(0.0, float(args[0].rstrip("s"))))
        except ValueError:
            return Plan([(2, f"sleep: invalid number '{args[0]}'\n")], 0.0, 1)
    if program == "hello":
        return Plan([(1, _HELLO)], 0.0)
    if program in ("env", "printenv"):
        return Plan([(1, "".join(f"{line}\n" for line in env))], 0.0)
    if program == "hostname":
        return Plan([(1, hostname + "\n")], 0.0)
    if program == "whoami":
        return Plan([(1, "root\n")], 0.0)
    if program == "pwd":
        return Plan([(1, "/\n")], 0.0)
    if program == "uname":
        return Plan([(1, "Linux\n")], 0.0)
    if program == "ls":
        return Plan([(1, _LISTING)], 0.0)
    return None
