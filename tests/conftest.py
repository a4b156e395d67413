"""Shared fixtures: twins served on loopback ports by a real `apitwin serve` process.

Every child process a test starts goes through `launch`, so that none outlives the test
run: a failed or interrupted test, an assertion inside a fixture, or pytest itself being
killed must not leave a twin behind holding its port.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent

# -- children that die with the test run ----------------------------------------------------

_LAUNCHED: set[subprocess.Popen[Any]] = set()
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _parent_death_signal() -> Callable[[], None] | None:
    """A `preexec_fn` that has the kernel SIGKILL the child once this process ends, even
    when nothing in it runs any more (pytest SIGKILLed, pytest-timeout's os._exit).

    Linux only. The signal fires when the *thread* that forked the child ends, so it is
    only asked for from the main thread, which lives as long as the process.
    """
    if not sys.platform.startswith("linux"):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was asked for
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def launch(command: Sequence[str], **popen: Any) -> subprocess.Popen[Any]:
    """`subprocess.Popen(command, **popen)` for a child that never outlives the test run.

    The child leads a process group of its own (so stopping it reaches whatever it forks,
    such as `--workers`), dies with this process on Linux, and is remembered until
    `stop_children` has ended it; whatever is still running when the session ends, or
    when the interpreter exits, is stopped then.
    """
    process: subprocess.Popen[Any] = subprocess.Popen(
        command, start_new_session=True, preexec_fn=_parent_death_signal(), **popen
    )
    _LAUNCHED.add(process)
    return process


def _signal_group(process: subprocess.Popen[Any], signum: int) -> None:
    # Only while the leader is not reaped: until then its pid, which names the group,
    # cannot have been given to another process.
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signum)


def stop_children(
    *processes: subprocess.Popen[Any], timeout: float = 10.0
) -> list[tuple[Any, Any]]:
    """SIGTERM the children's process groups (all at once), SIGKILL them if they have not
    ended within `timeout`; the rest of each child's output (`communicate()`)."""
    for process in processes:
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    outputs = []
    for process in processes:
        reaped_before = process.returncode is not None
        try:
            output = process.communicate(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            output = process.communicate()
        if not reaped_before:
            # Reaped just now: whatever the leader left behind in its group goes too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        _LAUNCHED.discard(process)
        outputs.append(output)
    return outputs


def stop_leftovers() -> None:
    """Stop every launched child that is still running (a short wait, then SIGKILL)."""
    leftovers = [process for process in list(_LAUNCHED) if process.returncode is None]
    _LAUNCHED.clear()
    stop_children(*leftovers, timeout=3.0)


atexit.register(stop_leftovers)


@pytest.fixture(scope="session", autouse=True)
def _children_end_with_the_session() -> Iterator[None]:
    yield
    stop_leftovers()


# -- served twins ----------------------------------------------------------------------------


@dataclass
class ServedTwin:
    name: str
    base_url: str
    port: int
    process: subprocess.Popen[str]


def start_twin(target: str, *extra: str, timeout: float = 30.0) -> ServedTwin:
    """Run `apitwin serve TARGET --port 0` and wait until it prints its base URL.

    State is kept in memory unless the caller names a store: tests never touch the
    user's data directory.
    """
    if "--store" not in extra and "--stateless" not in extra:
        extra = (*extra, "--store", "memory")
    process = launch(
        [sys.executable, "-m", "apitwin", "serve", target, "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            found = re.search(r"(http://127\.0\.0\.1:(\d+)\S*)", line)
            if found:
                base_url, port = found.group(1), int(found.group(2))
                _wait_until_listening(port, deadline)
                return ServedTwin(target, base_url, port, process)
    except BaseException:
        stop_children(process, timeout=5.0)
        raise
    [(_, err)] = stop_children(process, timeout=5.0)
    raise RuntimeError(f"apitwin serve {target} did not start: {err}")


def _wait_until_listening(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/__apitwin__/", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} never answered")


def stop_twin(twin: ServedTwin) -> None:
    stop_children(twin.process)


@pytest.fixture
def serve_twin() -> Iterator[object]:
    """Factory fixture: start twins for one test and stop them afterwards."""
    started: list[ServedTwin] = []

    def _start(target: str, *extra: str) -> ServedTwin:
        twin = start_twin(target, *extra)
        started.append(twin)
        return twin

    yield _start
    for twin in started:
        stop_twin(twin)
