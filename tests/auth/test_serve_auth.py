"""`apitwin serve --auth strict`: the default OAuth client printed at start-up, and
credentials and the clock shared through the store by several processes."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.conftest import ServedTwin

Serve = Callable[..., ServedTwin]


def default_client(twin: ServedTwin, timeout: float = 10.0) -> tuple[str, str]:
    """Read the start-up lines after the table until the twin's OAuth client line."""
    assert twin.process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = twin.process.stdout.readline()
        found = re.search(r"OAuth client_id (\S+), client_secret (\S+), token endpoint (\S+)", line)
        if found:
            assert found.group(3) == f"http://127.0.0.1:{twin.port}/o/token/"
            return found.group(1), found.group(2)
    raise AssertionError("no OAuth client line printed")


def client_credentials(twin: ServedTwin, client: tuple[str, str]) -> str:
    response = httpx.post(
        f"http://127.0.0.1:{twin.port}/o/token/",
        data={"grant_type": "client_credentials", "scope": "patients:read"},
        auth=client,
        timeout=5.0,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def patients(twin: ServedTwin, token: str) -> int:
    response = httpx.get(
        f"{twin.base_url}/api/patients", headers={"Authorization": f"Bearer {token}"}, timeout=5.0
    )
    return response.status_code


def test_the_default_client_secret_is_random_per_data_dir_and_tokens_survive_a_restart(
    serve_twin: Serve, tmp_path: Path
) -> None:
    home = ("--store", "sqlite", "--data-dir", str(tmp_path / "one"), "--auth", "strict")
    first = serve_twin("drchrono", *home)
    client = default_client(first)
    assert client[0] == "apitwin" and len(client[1]) >= 32
    token = client_credentials(first, client)
    assert patients(first, token) == 200
    assert patients(first, "made-up") == 401
    first.process.terminate()
    first.process.wait(timeout=10)

    again = serve_twin("drchrono", *home)
    assert default_client(again) == client
    assert patients(again, token) == 200

    elsewhere = serve_twin(
        "drchrono", "--store", "sqlite", "--data-dir", str(tmp_path / "two"), "--auth", "strict"
    )
    assert default_client(elsewhere)[1] != client[1]


def test_processes_sharing_a_store_agree_on_credentials_and_time(
    serve_twin: Serve, tmp_path: Path
) -> None:
    shared = ("--store", str(tmp_path / "state.sqlite3"), "--auth", "strict")
    one, other = serve_twin("drchrono", *shared), serve_twin("drchrono", *shared)
    client = default_client(one)
    token = client_credentials(one, client)
    assert patients(other, token) == 200
    moved = httpx.post(
        f"http://127.0.0.1:{one.port}/__apitwin__/clock", json={"advance": 48 * 3600}, timeout=5
    )
    assert moved.status_code == 200
    seen = httpx.get(f"http://127.0.0.1:{other.port}/__apitwin__/clock", timeout=5).json()
    assert seen["offset"] == 48 * 3600
    assert patients(other, token) == 401  # expired on the shared clock
    for twin in (one, other):
        twin.process.terminate()
        out, err = twin.process.communicate(timeout=10)
        assert token not in out and token not in err
        assert client[1] not in err
