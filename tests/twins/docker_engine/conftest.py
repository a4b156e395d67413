"""The docker-engine twin for tests: served on a loopback port for the real docker CLI
and docker-py, or in-process (httpx's ASGITransport) for requests a client library does
not make."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from apitwin.app import create_app
from tests.conftest import ServedTwin, start_twin, stop_twin


@dataclass
class DockerCli:
    """The real ``docker`` client pointed at a twin: no DOCKER_API_VERSION, so it
    negotiates through ``/_ping`` as it does with a daemon."""

    host: str
    config: Path

    def __call__(
        self, *args: str, check: bool = True, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env.update(DOCKER_HOST=self.host, DOCKER_CONFIG=str(self.config), NO_COLOR="1")
        done = subprocess.run(
            ["docker", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            input=input_text,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed: {done.stderr}")
        return done


@pytest.fixture(scope="module")
def served() -> Iterator[ServedTwin]:
    twin = start_twin("docker-engine")
    yield twin
    stop_twin(twin)


@pytest.fixture(scope="module")
def docker(served: ServedTwin, tmp_path_factory: pytest.TempPathFactory) -> DockerCli:
    if shutil.which("docker") is None:
        pytest.skip("the docker CLI is not installed")
    return DockerCli(f"tcp://127.0.0.1:{served.port}", tmp_path_factory.mktemp("docker-config"))


class Engine:
    """Synchronous requests to an in-process docker-engine twin."""

    def __init__(self, **options: Any) -> None:
        self.app = create_app("docker-engine", **options)
        self._loop = asyncio.new_event_loop()
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://engine.test"
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def pull(self, image: str = "busybox", tag: str = "latest") -> None:
        answer = self.post(f"/v1.33/images/create?fromImage={image}&tag={tag}")
        assert answer.status_code == 200, answer.text

    def run(self, name: str, cmd: list[str], image: str = "busybox", **config: Any) -> str:
        """Create and start a container; its id."""
        created = self.post(
            f"/v1.33/containers/create?name={name}", json={"Image": image, "Cmd": cmd, **config}
        )
        assert created.status_code == 201, created.text
        ident: str = created.json()["Id"]
        assert self.post(f"/v1.33/containers/{ident}/start").status_code == 204
        return ident

    def inspect(self, ref: str) -> dict[str, Any]:
        answer = self.get(f"/v1.33/containers/{ref}/json")
        assert answer.status_code == 200, answer.text
        document: dict[str, Any] = answer.json()
        return document

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()


@pytest.fixture
def engine() -> Iterator[Engine]:
    client = Engine(empty=True)
    yield client
    client.close()
