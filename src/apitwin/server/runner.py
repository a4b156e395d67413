"""Serving several twins from one process, each on its own port.

Sockets are bound before any server starts so that a port in use is reported as one
clear line instead of a server's log and exit.

With several workers (``apitwin serve --workers N``) every port gets one listening socket
per worker, all bound with SO_REUSEPORT, so that the kernel spreads connections over the
workers. The twins are built once, the sockets bound, then the process forks one worker
per socket set and waits; state is shared through the store, which every worker opens
anew after the fork. On Linux a worker is SIGTERMed by the kernel when the process that
forked it ends, however it ends, so no worker keeps serving (and holding the port) after
its parent was killed outright.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType

import uvicorn

from apitwin.engine.twin import Twin
from apitwin.server.app import TwinApp

__all__ = ["BindError", "Binding", "bind", "serve_forever", "serve_workers"]

log = logging.getLogger("apitwin")

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class BindError(Exception):
    """A port that cannot be bound (in use, or not allowed)."""


@dataclass
class Binding:
    twin: Twin
    host: str
    port: int
    sock: socket.socket
    # With several workers: the sockets of workers 2..N, bound to the same port.
    more_socks: list[socket.socket] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.twin.base_path}"


def bind(twin: Twin, host: str, port: int, workers: int = 1) -> Binding:
    """Listen on ``host:port`` for ``twin``: one socket, or with several workers one
    SO_REUSEPORT socket per worker on the same port."""
    if workers <= 1:
        sock = _listen(twin, host, port, reuse_port=False)
        return Binding(twin, host, sock.getsockname()[1], sock)
    # Sockets with SO_REUSEPORT share a port with any other such socket of the same user:
    # a plain bind first makes a port another server listens on fail as it does without
    # workers (and picks the port when asked for port 0).
    probe = _listen(twin, host, port, reuse_port=False, listen=False)
    port = probe.getsockname()[1]
    probe.close()
    socks: list[socket.socket] = []
    try:
        for _ in range(workers):
            socks.append(_listen(twin, host, port, reuse_port=True))
    except BindError:
        for sock in socks:
            sock.close()
        raise
    return Binding(twin, host, port, socks[0], socks[1:])


def _listen(
    twin: Twin, host: str, port: int, *, reuse_port: bool, listen: bool = True
) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise BindError(f"cannot listen on {host}:{port} for {twin.name}: {exc.strerror}") from None
    if listen:
        sock.listen(2048)
        sock.setblocking(False)
    return sock


def _config(binding: Binding) -> uvicorn.Config:
    return uvicorn.Config(
        TwinApp(binding.twin),
        http="httptools",
        loop="none",
        lifespan="off",
        access_log=False,
        log_level="warning",
        server_header=False,
        proxy_headers=False,  # a local twin sits behind no proxy: skip that middleware
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
    """Run every bound twin until interrupted.

    What start-up built (documents, compiled operations) lives as long as the process:
    freezing it keeps full garbage collections from walking it, which otherwise stopped
    the event loop for hundreds of milliseconds every few seconds under load.
    """
    gc.collect()
    gc.freeze()
    try:
        import uvloop
    except ImportError:  # pragma: no cover - platforms without uvloop
        asyncio.run(_serve_all(bindings))
    else:
        uvloop.run(_serve_all(bindings))


def serve_workers(
    bindings: list[Binding], workers: int, after_fork: Callable[[], None] | None = None
) -> int:
    """Fork ``workers`` processes, worker i serving the i-th socket of every binding, and
    wait for them; the exit status for the command.

    ``after_fork`` runs first in every worker (to open the store anew: a database
    connection must not cross a fork). SIGTERM and SIGINT are passed on to the workers;
    when one worker fails, the others are stopped too.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    # The twins were built before the fork: moved out of the collector's reach, their
    # objects are never written to by a collection in a worker, so their pages stay
    # shared between the workers instead of being copied into each.
    gc.collect()
    gc.freeze()
    alive: set[int] = set()
    end_with_parent = _parent_death_signal(signal.SIGTERM)

    def stop(signum: int = signal.SIGTERM, frame: FrameType | None = None) -> None:
        for pid in alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    # A signal that arrives while workers are being forked waits until every worker is
    # known, and is then passed on to all of them.
    stopping = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stopping)
    try:
        for index in range(workers):
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the worker, which never returns
                end_with_parent()
                signal.pthread_sigmask(signal.SIG_UNBLOCK, stopping)
                _worker(bindings, index, after_fork)
            alive.add(pid)
        for sig in stopping:
            signal.signal(sig, stop)
    except BaseException:
        stop()  # a worker that could not be forked stops the ones that were
        raise
    finally:
        for binding in bindings:
            for sock in (binding.sock, *binding.more_socks):
                sock.close()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, stopping)
    status = 0
    while alive:
        try:
            pid, wait_status = os.wait()
        except ChildProcessError:
            break
        alive.discard(pid)
        code = os.waitstatus_to_exitcode(wait_status)
        if code != 0 and status == 0:
            status = code if code > 0 else 1
            stop()
    return status


def _parent_death_signal(signum: int) -> Callable[[], None]:
    """What a forked child calls first to be sent ``signum`` once its parent ends.

    prctl is looked up before the fork: loading a library in a forked child can hang.
    Elsewhere than on Linux there is no such signal and the call does nothing.
    """
    prctl = None
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def ask() -> None:
        if prctl is None:
            return
        prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
        if os.getppid() != parent:  # the parent ended before the signal was asked for
            os.kill(os.getpid(), signum)

    return ask


def _worker(bindings: list[Binding], index: int, after_fork: Callable[[], None] | None) -> None:
    """The body of one forked worker: keep its own sockets, serve, exit."""
    code = 1
    try:
        mine: list[Binding] = []
        for binding in bindings:
            socks = [binding.sock, *binding.more_socks]
            for i, sock in enumerate(socks):
                if i != index:
                    sock.close()
            mine.append(dataclasses.replace(binding, sock=socks[index], more_socks=[]))
        if after_fork is not None:
            after_fork()
        serve_forever(mine)
        code = 0
    except KeyboardInterrupt:
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        log.exception("worker %d failed", index + 1)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
