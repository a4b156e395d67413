"""The three Docker twins in one process (``apitwin serve docker-engine docker-hub
docker-dvp``), driven by the real docker CLI and by HTTP as a DVP client would: a pull
through the Engine shows up in DVP's raw CSV once its week is over on the DVP clock; a
tag pushed through the Engine lands in the Hub and is pulled back; ``docker login`` gets
an identity token from the Engine's ``/auth``."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import ROOT, launch, stop_children
from tests.twins.conftest import DVP_BASE, MOBY
from tests.twins.docker_engine.conftest import DockerCli

TWINS = ("docker-engine", "docker-hub", "docker-dvp")


@dataclass
class Served:
    process: subprocess.Popen[str]
    ports: dict[str, int]

    def url(self, twin: str, path: str = "") -> str:
        return f"http://127.0.0.1:{self.ports[twin]}{path}"


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """One ``apitwin serve`` process for the three twins, each on a free port."""
    process = launch(
        [sys.executable, "-m", "apitwin", "serve", *TWINS, "--port", "0", "--store", "memory"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    ports: dict[str, int] = {}
    deadline = time.monotonic() + 30
    while len(ports) < len(TWINS) and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        found = re.match(r"(\S+)\s+http://127\.0\.0\.1:(\d+)", line)
        if found and found.group(1) in TWINS:
            ports[found.group(1)] = int(found.group(2))
    if len(ports) < len(TWINS):
        [(_, err)] = stop_children(process, timeout=5.0)
        raise RuntimeError(f"apitwin serve did not start: {err}")
    serving = Served(process, ports)
    while time.monotonic() < deadline:
        try:
            httpx.get(serving.url("docker-dvp", "/__apitwin__/"), timeout=1.0)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    yield serving
    stop_children(process)


@pytest.fixture(scope="module")
def docker(served: Served, tmp_path_factory: pytest.TempPathFactory) -> DockerCli:
    if shutil.which("docker") is None:
        pytest.skip("the docker CLI is not installed")
    port = served.ports["docker-engine"]
    return DockerCli(f"tcp://127.0.0.1:{port}", tmp_path_factory.mktemp("docker-config"))


def dvp_token(served: Served) -> dict[str, str]:
    """DVP's own login (at the document's path-level server), as a DVP client does."""
    answer = httpx.post(served.url("docker-dvp", "/v2/users/login"), json=MOBY)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_a_pull_through_the_engine_shows_up_in_the_dvp_raw_csv_of_its_week(
    served: Served, docker: DockerCli
) -> None:
    pulled = docker("pull", "hello-world").stdout
    assert "Status: Downloaded newer image for hello-world:latest" in pulled
    engine_now = httpx.get(served.url("docker-engine", "/__apitwin__/clock")).json()["now"]
    moment = datetime.fromtimestamp(engine_now, UTC)
    year, week, weekday = moment.isocalendar()
    header = dvp_token(served)
    exports = served.url("docker-dvp", f"{DVP_BASE}/namespaces/library/pulls/exports/years")
    weeks = f"{exports}/{year}/weeks"
    # the week is not over: DVP has no data for it yet
    assert httpx.get(f"{weeks}/{week}", headers=header).status_code == 404
    monday = datetime(moment.year, moment.month, moment.day, tzinfo=UTC) + timedelta(
        days=8 - weekday
    )
    dvp_now = httpx.get(served.url("docker-dvp", "/__apitwin__/clock")).json()["now"]
    advance = monday.timestamp() - dvp_now + 3600
    moved = httpx.post(served.url("docker-dvp", "/__apitwin__/clock"), json={"advance": advance})
    assert moved.status_code == 200
    assert {"year": year} in httpx.get(exports, headers=header).json()["years"]
    assert {"week": week} in httpx.get(weeks, headers=header).json()["weeks"]
    raw = httpx.get(f"{weeks}/{week}/raw", headers=header)
    assert raw.status_code == 200, raw.text
    link = raw.json()["data"][0]["url"]
    assert urlsplit(link).port == served.ports["docker-dvp"]
    exported = httpx.get(link)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    mine = [r for r in rows if r["repository"] == "hello-world"]
    assert len(mine) == 1
    row = mine[0]
    assert row["namespace"] == "library" and row["reference"] == "latest"
    assert row["action"] == "pull_by_tag" and row["http_method"] == "GET"
    # what the registry sees: the daemon's user agent with the CLI's inside
    assert row["user_agent"].startswith("docker/17.10.0-ce ")
    assert re.search(r"UpstreamClient\(Docker-Client/[0-9.]+ \\\(linux\\\)\)$", row["user_agent"])
    assert row["timestamp"].startswith(moment.strftime("%Y-%m-%d"))
    assert len(exported.content) == raw.json()["data"][0]["size"]


def test_login_push_and_pull_back_through_the_hub(served: Served, docker: DockerCli) -> None:
    logged = docker("login", "-u", "moby", "--password-stdin", input_text="moby-password")
    assert "Login Succeeded" in logged.stdout
    config = (docker.config / "config.json").read_text()
    assert "identitytoken" in config  # the CLI kept the token the twin issued
    docker("pull", "-q", "busybox:1.36")
    docker("tag", "busybox:1.36", "moby/together:v1")
    pushed = docker("push", "moby/together:v1").stdout
    assert "The push refers to repository [docker.io/moby/together]" in pushed
    found = re.search(r"v1: digest: (sha256:[0-9a-f]{64}) size: \d+", pushed)
    assert found is not None
    tags = httpx.get(served.url("docker-hub", "/v2/namespaces/moby/repositories/together/tags"))
    assert [t["images"]["digest"] for t in tags.json()["results"]] == [found.group(1)]
    docker("rmi", "moby/together:v1")
    back = docker("pull", "moby/together:v1").stdout
    assert f"Digest: {found.group(1)}" in back
    assert "Status: Downloaded newer image for moby/together:v1" in back
    searched = docker("search", "together", "--format", "{{.Name}}").stdout.split()
    assert searched == ["moby/together"]
    docker("logout")


def test_a_repository_deleted_in_the_hub_is_gone_for_the_cli(
    served: Served, docker: DockerCli
) -> None:
    token = httpx.post(served.url("docker-hub", "/v2/users/login"), json=MOBY).json()["token"]
    deleted = httpx.delete(
        served.url("docker-hub", "/v2/namespaces/library/repositories/memcached"),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert deleted.status_code == 202
    failed = docker("pull", "memcached", check=False)
    assert failed.returncode != 0
    assert "pull access denied for memcached" in failed.stderr
