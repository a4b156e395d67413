"""Shared fixtures: twins served on loopback ports by a real `apitwin serve` process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


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
    process = subprocess.Popen(
        [sys.executable, "-m", "apitwin", "serve", target, "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        found = re.search(r"(http://127\.0\.0\.1:(\d+)\S*)", line)
        if found:
            base_url, port = found.group(1), int(found.group(2))
            _wait_until_listening(port, deadline)
            return ServedTwin(target, base_url, port, process)
    process.kill()
    _, err = process.communicate(timeout=5)
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
    twin.process.terminate()
    try:
        twin.process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        twin.process.kill()
        twin.process.communicate()


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
