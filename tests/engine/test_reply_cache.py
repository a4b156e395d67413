"""Repeated GETs are answered from kept replies only while the answer is still true: a
write through this twin, another store object on the same file (another worker), a
reset or the clock's next change makes the next GET read the state again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from apitwin.app import create_app
from apitwin.engine.context import Reply
from apitwin.engine.reply_cache import ReplyCache
from apitwin.server.app import TwinApp
from apitwin.state.memory import MemoryStore
from apitwin.state.sqlite import SQLiteStore
from apitwin.state.store import Store
from tests.state.test_served_state import ledger_document


class Client:
    """Synchronous calls to one in-process app, counting the GET handler's runs."""

    def __init__(self, app: TwinApp, operation_id: str) -> None:
        self.app = app
        self.runs = 0
        op = next(o for o in app.twin.operations if o.operation_id == operation_id)
        inner = op.handler
        assert inner is not None

        def counted(ctx: Any) -> Reply:
            self.runs += 1
            return inner(ctx)

        op.handler = counted
        self._loop = asyncio.new_event_loop()
        self._http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")

    def call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._http.request(method, url, **kwargs))

    def close(self) -> None:
        self._loop.run_until_complete(self._http.aclose())
        self._loop.close()


@pytest.fixture
def ledger(tmp_path: Path) -> str:
    return ledger_document(tmp_path / "docs", fields=2)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")
    yield opened
    opened.close()


def test_a_repeated_get_is_answered_again_until_a_write_changes_it(
    ledger: str, store: Store
) -> None:
    client = Client(create_app(ledger, store=store, empty=True), "get00")
    try:
        made = client.call("POST", "/t00", json={"f00": "one"}).json()
        first = client.call("GET", f"/t00/{made['id']}")
        again = client.call("GET", f"/t00/{made['id']}")
        assert first.json() == again.json() == made
        assert client.runs == 1  # the second answer was the kept one
        client.call("PATCH", f"/t00/{made['id']}", json={"f00": "two"}).raise_for_status()
        after = client.call("GET", f"/t00/{made['id']}")
        assert after.json()["f00"] == "two"
        assert client.runs == 2
        # Another caller (other headers) is never given this caller's kept answer.
        client.call("GET", f"/t00/{made['id']}", headers={"Authorization": "Bearer other"})
        assert client.runs == 3
        # A reset clears the state the answer was read from.
        client.call("POST", "/__apitwin__/reset").raise_for_status()
        assert client.call("GET", f"/t00/{made['id']}").status_code == 404
    finally:
        client.close()


def test_a_write_through_another_store_object_on_the_same_file_is_seen(
    ledger: str, tmp_path: Path
) -> None:
    """Workers share a SQLite file; each keeps its own answers."""
    path = tmp_path / "shared.db"
    one, two = SQLiteStore(path), SQLiteStore(path)
    reader = Client(create_app(ledger, store=one, empty=True), "list00")
    writer = Client(create_app(ledger, store=two, empty=True), "list00")
    try:
        writer.call("POST", "/t00", json={"f00": "a"}).raise_for_status()
        assert [t["f00"] for t in reader.call("GET", "/t00").json()["things"]] == ["a"]
        assert [t["f00"] for t in reader.call("GET", "/t00").json()["things"]] == ["a"]
        assert reader.runs == 1
        writer.call("POST", "/t00", json={"f00": "b"}).raise_for_status()
        listed = reader.call("GET", "/t00").json()["things"]
        assert [t["f00"] for t in listed] == ["a", "b"]
    finally:
        reader.close()
        writer.close()
        one.close()
        two.close()


def test_a_kept_answer_ends_when_its_handler_says_the_clock_changes_it() -> None:
    cache = ReplyCache(MemoryStore(), "t")
    version = cache.version()
    cache.put("k", version, Reply(200, [], b"{}", fresh_for=0.05))
    assert cache.get("k", version) is not None
    time.sleep(0.1)
    assert cache.get("k", version) is None
    cache.put("never", version, Reply(200, [], b"{}"))  # no fresh_for: never kept
    cache.put("refused", version, Reply(404, [], b"{}", fresh_for=60))
    assert cache.get("never", version) is None
    assert cache.get("refused", version) is None


def test_kept_answers_stay_within_their_byte_budget() -> None:
    cache = ReplyCache(MemoryStore(), "t", max_entries=100, max_bytes=4000)
    version = cache.version()
    for index in range(10):
        cache.put(index, version, Reply(200, [], b"x" * 900, fresh_for=60))
    kept = [index for index in range(10) if cache.get(index, version) is not None]
    assert kept == [6, 7, 8, 9]  # the oldest went first


def test_docker_container_status_words_follow_the_clock_without_writes() -> None:
    """``Up Less than a second`` becomes ``Up 1 second`` with nothing written between."""
    app = create_app("docker-engine", empty=True)
    client = Client(app, "ContainerList")
    try:
        client.call("POST", "/v1.33/images/create?fromImage=nginx&tag=latest")
        made = client.call("POST", "/v1.33/containers/create?name=c1", json={"Image": "nginx"})
        client.call("POST", f"/v1.33/containers/{made.json()['Id']}/start").raise_for_status()
        first = client.call("GET", "/v1.33/containers/json").json()[0]["Status"]
        assert first == "Up Less than a second"
        time.sleep(1.05)
        later = client.call("GET", "/v1.33/containers/json").json()[0]["Status"]
        assert later == "Up 1 second"
    finally:
        client.close()


def test_with_kept_replies_off_every_get_reads_the_state(ledger: str) -> None:
    client = Client(create_app(ledger, empty=True, kept_replies=False), "get00")
    try:
        made = client.call("POST", "/t00", json={"f00": "one"}).json()
        for _ in range(3):
            assert client.call("GET", f"/t00/{made['id']}").json() == made
        assert client.runs == 3
    finally:
        client.close()


def test_a_request_whose_headers_cannot_be_a_key_is_answered_afresh() -> None:
    """Some ASGI servers pass headers as lists: such requests are simply not kept."""
    cache = ReplyCache(MemoryStore(), "t")
    version = cache.version()
    key = ("op", "/x", b"", ([b"host", b"t"],))
    cache.put(key, version, Reply(200, [], b"{}", fresh_for=60))
    assert cache.get(key, version) is None
