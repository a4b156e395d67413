"""Reads cost no write transaction: while nothing is due, a GET runs in a read-only
transaction (on SQLite, reads then never queue behind the write lock); the first read
after something fell due settles it in a write transaction, with the same result as
before."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from apitwin.app import create_app
from apitwin.state.sqlite import SQLiteStore
from apitwin.state.store import Transaction

BODY = {"name": "web-1", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-22-04-x64"}


class Recorder:
    """Notes whether each transaction the twin opens on its store may write."""

    def __init__(self, store: SQLiteStore) -> None:
        self.writes: list[bool] = []
        original: Callable[..., AbstractContextManager[Transaction]] = store.transaction

        def transaction(
            twin: str, *, write: bool = True, quiet: bool = False
        ) -> AbstractContextManager[Transaction]:
            self.writes.append(write)
            return original(twin, write=write, quiet=quiet)

        store.transaction = transaction  # type: ignore[method-assign]

    def count(self) -> int:
        return sum(self.writes)


@pytest.fixture
def twin(tmp_path: Path) -> Iterator[tuple[httpx.Client, Recorder]]:
    store = SQLiteStore(tmp_path / "state.db")
    recorder = Recorder(store)
    app = create_app("digitalocean", store=store, empty=True, rate_limits=False)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": "Bearer t"}

    with httpx.Client(transport=_SyncASGI(transport), base_url="http://do", headers=headers) as c:
        yield c, recorder
    store.close()


class _SyncASGI(httpx.BaseTransport):
    """httpx's ASGITransport is async; run each request on its own event loop."""

    def __init__(self, inner: httpx.ASGITransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def send() -> httpx.Response:
            body = request.read()
            rebuilt = httpx.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            response = await self.inner.handle_async_request(rebuilt)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return asyncio.run(send())


def _writes_during(recorder: Recorder, call: Callable[[], Any]) -> tuple[int, Any]:
    before = recorder.count()
    result = call()
    return recorder.count() - before, result


def test_reads_with_nothing_due_open_no_write_transaction(
    twin: tuple[httpx.Client, Recorder],
) -> None:
    client, recorder = twin
    created = client.post("/v2/droplets", json=BODY)
    assert created.status_code == 202, created.text
    droplet_id = created.json()["droplet"]["id"]
    action_id = created.json()["links"]["actions"][0]["id"]
    client.get("/v2/droplets")  # families seeded on first use

    for path in ("/v2/droplets", f"/v2/droplets/{droplet_id}", f"/v2/actions/{action_id}"):
        writes, response = _writes_during(recorder, lambda p=path: client.get(p))
        assert response.status_code == 200
        assert writes == 0, path
    assert client.get(f"/v2/actions/{action_id}").json()["action"]["status"] == "in-progress"

    client.post("/__apitwin__/clock", json={"advance": 60}).raise_for_status()
    writes, response = _writes_during(recorder, lambda: client.get(f"/v2/droplets/{droplet_id}"))
    assert writes == 1  # the create action fell due: settled once
    assert response.json()["droplet"]["status"] == "active"

    writes, response = _writes_during(recorder, lambda: client.get(f"/v2/actions/{action_id}"))
    assert writes == 0
    assert response.json()["action"]["status"] == "completed"


def test_a_read_that_must_write_still_answers(twin: tuple[httpx.Client, Recorder]) -> None:
    client, recorder = twin
    # A new account's default project is made by the first read that needs it.
    writes, response = _writes_during(recorder, lambda: client.get("/v2/projects/default"))
    assert response.status_code == 200
    assert response.json()["project"]["is_default"] is True
    assert writes >= 1
    writes, again = _writes_during(recorder, lambda: client.get("/v2/projects/default"))
    assert writes == 0 and again.json() == response.json()
