"""Twins started by tests never outlive the test run: a pytest session whose test fails,
whose fixture fails, that is interrupted with Ctrl-C or killed outright, or a script that
exits without stopping its twin, leaves no `apitwin serve` process and no port held.

Each case runs a small pytest session (or script) in a subprocess that starts a twin
through tests/conftest.py and records the twin's pid and port, then looks afterwards."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, launch, stop_children

TWIN = ["dweet", "--stateless"]

INNER_TESTS = """
import json, os, time

import pytest

from tests.conftest import start_twin

def record(twin):
    with open(os.environ["TWIN_RECORD"], "w") as out:
        json.dump({"pid": twin.process.pid, "port": twin.port}, out)

@pytest.fixture
def twin_then_failure():
    record(start_twin(*json.loads(os.environ["TWIN_ARGS"])))
    assert False, "the fixture fails after starting a twin"

def test_fails():
    record(start_twin(*json.loads(os.environ["TWIN_ARGS"])))
    assert False, "the test fails without stopping its twin"

def test_fixture_fails(twin_then_failure):
    pass

def test_waits():
    record(start_twin(*json.loads(os.environ["TWIN_ARGS"])))
    time.sleep(120)
"""

# Runs once the session is over: is the twin still there when pytest is about to exit?
INNER_CONFTEST = """
import json, os

def pytest_unconfigure(config):
    path = os.environ["TWIN_RECORD"]
    if not os.path.exists(path):
        return
    with open(path) as f:
        pid = json.load(f)["pid"]
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    with open(path + ".end", "w") as out:
        json.dump({"alive": alive}, out)
"""

# The check is registered before tests.conftest is imported, so it runs after the handler
# that module registers.
INNER_SCRIPT = """
import atexit, json, os, sys

def check():
    with open(os.environ["TWIN_RECORD"]) as f:
        pid = json.load(f)["pid"]
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    with open(os.environ["TWIN_RECORD"] + ".end", "w") as out:
        json.dump({"alive": alive}, out)

atexit.register(check)

from tests.conftest import start_twin

twin = start_twin(*json.loads(os.environ["TWIN_ARGS"]))
with open(os.environ["TWIN_RECORD"], "w") as out:
    json.dump({"pid": twin.process.pid, "port": twin.port}, out)
raise SystemExit("leaving without stopping the twin")
"""


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in process group `pgid`, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            members.append(int(entry.name))
    return members


def port_is_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:`port` now (as `apitwin serve` binds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen()
        except OSError:
            return False
    return True


def wait_for(path: Path, process: subprocess.Popen[Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().endswith("}"):
            return json.loads(path.read_text())
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"nothing recorded in {path}: {stop_children(process)}")


def assert_gone(pid: int, port: int, within: float = 10.0) -> None:
    """The twin (its whole process group: workers too) ends and its port is free again."""
    deadline = time.monotonic() + within
    while group_members(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert group_members(pid) == []
    while not port_is_free(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert port_is_free(port)


def run_inner(tmp_path: Path, command: list[str], twin: list[str]) -> subprocess.Popen[str]:
    return launch(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={
            **os.environ,
            "TWIN_RECORD": str(tmp_path / "twin.json"),
            "TWIN_ARGS": json.dumps(twin),
        },
    )


def pytest_command(tmp_path: Path, test: str) -> list[str]:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(textwrap.dedent(INNER_CONFTEST))
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER_TESTS))
    return [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "tests.conftest",
        "-p",
        "no:cacheprovider",
        "-q",
        f"{tmp_path / 'test_inner.py'}::{test}",
    ]


def cleanup(record: Path) -> None:
    """If a twin was left after all, end it so that this test does not leave it either."""
    if record.exists() and record.read_text().endswith("}"):
        for pid in group_members(json.loads(record.read_text())["pid"]):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(
    ("test", "status"), [("test_fails", 1), ("test_fixture_fails", 1), ("test_waits", 2)]
)
def test_a_twin_ends_with_the_session_that_failed_or_was_interrupted(
    tmp_path: Path, test: str, status: int
) -> None:
    inner = run_inner(tmp_path, pytest_command(tmp_path, test), TWIN)
    record = tmp_path / "twin.json"
    try:
        twin = wait_for(record, inner)
        if test == "test_waits":
            inner.send_signal(signal.SIGINT)  # Ctrl-C
        output, _ = inner.communicate(timeout=60)
        assert inner.returncode == status, output
        # Stopped by the session's finalizer, before pytest exits.
        assert json.loads((tmp_path / "twin.json.end").read_text()) == {"alive": False}
        assert_gone(twin["pid"], twin["port"], within=0)
    finally:
        stop_children(inner)
        cleanup(record)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux parent-death signal")
def test_a_twin_and_its_workers_end_when_pytest_is_killed(tmp_path: Path) -> None:
    twin_args = [*TWIN, "--workers", "2"]
    inner = run_inner(tmp_path, pytest_command(tmp_path, "test_waits"), twin_args)
    record = tmp_path / "twin.json"
    try:
        twin = wait_for(record, inner)
        assert len(group_members(twin["pid"])) == 3  # the twin and its two workers
        inner.kill()
        inner.wait(timeout=10)
        assert not (tmp_path / "twin.json.end").exists()  # nothing in pytest ran any more
        assert_gone(twin["pid"], twin["port"])
    finally:
        stop_children(inner)
        cleanup(record)


def test_a_twin_ends_when_a_script_exits_without_stopping_it(tmp_path: Path) -> None:
    inner = run_inner(tmp_path, [sys.executable, "-c", textwrap.dedent(INNER_SCRIPT)], TWIN)
    record = tmp_path / "twin.json"
    try:
        output, _ = inner.communicate(timeout=60)
        assert inner.returncode == 1, output
        twin = json.loads(record.read_text())
        # Stopped by the atexit handler, before the interpreter is gone.
        assert json.loads((tmp_path / "twin.json.end").read_text()) == {"alive": False}
        assert_gone(twin["pid"], twin["port"], within=0)
    finally:
        stop_children(inner)
        cleanup(record)
