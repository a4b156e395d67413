"""Serving several twins from one process, each on its own port.

Sockets are bound before any server starts so that a port in use is reported as one
clear line instead of a server's log and exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn

from apitwin.engine.twin import Twin
from apitwin.server.app import TwinApp

__all__ = ["BindError", "Binding", "bind", "serve_forever"]

log = logging.getLogger("apitwin")


class BindError(Exception):
    """A port that cannot be bound (in use, or not allowed)."""


@dataclass
class Binding:
    twin: Twin
    host: str
    port: int
    sock: socket.socket

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.twin.base_path}"


def bind(twin: Twin, host: str, port: int) -> Binding:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise BindError(f"cannot listen on {host}:{port} for {twin.name}: {exc.strerror}") from None
    sock.listen(2048)
    sock.setblocking(False)
    return Binding(twin, host, sock.getsockname()[1], sock)


def _config(binding: Binding) -> uvicorn.Config:
    return uvicorn.Config(
        TwinApp(binding.twin),
        http="httptools",
        loop="none",
        lifespan="off",
        access_log=False,
        log_level="warning",
        server_header=False,
        date_header=True,
    )


class _TwinServer(uvicorn.Server):
    """A uvicorn server that leaves signals to the process: one SIGTERM stops every twin.

    uvicorn installs its own handlers per server, so with many servers in one loop only
    the last one would hear the signal.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve_all(bindings: list[Binding]) -> None:
    servers = [_TwinServer(_config(b)) for b in bindings]

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop)
    await asyncio.gather(
        *(s.serve(sockets=[b.sock]) for s, b in zip(servers, bindings, strict=True))
    )


def serve_forever(bindings: list[Binding]) -> None:
    """Run every bound twin until interrupted."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - platforms without uvloop
        asyncio.run(_serve_all(bindings))
    else:
        uvloop.run(_serve_all(bindings))
