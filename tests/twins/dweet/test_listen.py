"""dweet.io's listen stream: chunked, open, each new dweet as it arrives, closed cleanly."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from apitwin.app import create_app
from apitwin.behaviours.dweet import DweetBehaviour
from tests.conftest import ServedTwin, start_twin, stop_twin

WAIT = 20.0  # seconds a test waits at most for something that should come at once


@pytest.fixture(scope="module")
def served() -> Iterator[ServedTwin]:
    twin = start_twin("dweet")
    yield twin
    stop_twin(twin)


def _read_dweet(lines: Iterator[str]) -> dict[str, Any]:
    """One framed dweet: a line with its length in hex, then the dweet as a JSON string."""
    size = next(lines)
    payload = next(lines)
    assert int(size, 16) == len(payload.encode())
    text = json.loads(payload)
    assert isinstance(text, str)  # encoded twice, as the service sends it
    decoded: dict[str, Any] = json.loads(text)
    return decoded


def _post_later(base_url: str, thing: str, contents: list[dict[str, Any]]) -> threading.Thread:
    def write() -> None:
        with httpx.Client(base_url=base_url, timeout=WAIT) as http:
            for content in contents:
                http.post(f"/dweet/for/{thing}", json=content).raise_for_status()

    writer = threading.Thread(target=write)
    return writer


def test_listen_streams_each_new_dweet_as_it_arrives(served: ServedTwin) -> None:
    with httpx.Client(base_url=served.base_url, timeout=WAIT) as http:
        http.post("/dweet/for/stream-1", json={"old": True}).raise_for_status()
        with http.stream("GET", "/listen/for/dweets/from/stream-1") as response:
            assert response.status_code == 200
            assert response.headers["transfer-encoding"] == "chunked"
            assert "content-length" not in response.headers
            writer = _post_later(served.base_url, "stream-1", [{"n": 1}, {"n": 2}])
            writer.start()
            lines = response.iter_lines()
            first, second = _read_dweet(lines), _read_dweet(lines)
            writer.join(WAIT)
    assert (first["thing"], first["content"]) == ("stream-1", {"n": 1})  # not the old one
    assert second["content"] == {"n": 2}
    assert set(first) == {"thing", "created", "content"}


def test_listen_hears_only_its_own_thing(served: ServedTwin) -> None:
    with (
        httpx.Client(base_url=served.base_url, timeout=WAIT) as http,
        http.stream("GET", "/listen/for/dweets/from/stream-2") as response,
    ):
        writer = threading.Thread(
            target=lambda: [
                httpx.post(f"{served.base_url}/dweet/for/{thing}", json={"to": thing})
                for thing in ("someone-else", "stream-2")
            ]
        )
        writer.start()
        heard = _read_dweet(response.iter_lines())
        writer.join(WAIT)
    assert heard["content"] == {"to": "stream-2"}


def test_listen_on_a_locked_thing_needs_its_key(served: ServedTwin) -> None:
    with httpx.Client(base_url=served.base_url, timeout=WAIT) as http:
        http.get("/lock/stream-3?lock=SL&key=SK").raise_for_status()
        refused = http.get("/listen/for/dweets/from/stream-3")
        assert refused.json()["because"] == "this thing is locked and requires a key"
        with http.stream("GET", "/listen/for/dweets/from/stream-3?key=SK") as response:
            writer = threading.Thread(
                target=lambda: httpx.post(
                    f"{served.base_url}/dweet/for/stream-3?key=SK", json={"locked": 1}
                )
            )
            writer.start()
            heard = _read_dweet(response.iter_lines())
            writer.join(WAIT)
    assert heard["content"] == {"locked": 1}


def test_listen_ends_after_its_time_on_the_twin_clock(served: ServedTwin) -> None:
    with (
        httpx.Client(base_url=served.base_url, timeout=WAIT) as http,
        http.stream("GET", "/listen/for/dweets/from/stream-4") as response,
    ):
        http.post("/__apitwin__/clock", json={"advance": 3600}).raise_for_status()
        rest = b"".join(response.iter_bytes())  # returns once the twin ends the stream
    assert rest == b""


def test_the_stream_ends_when_the_client_goes_away() -> None:
    """Driven through ASGI so the disconnect is exact: the app returns, and the listener is
    gone from the behaviour, even though no dweet ever arrives to be written."""
    app = create_app("dweet")

    async def run() -> None:
        gone = asyncio.Event()
        started = asyncio.Event()
        sent: list[dict[str, Any]] = []
        request_sent = False

        async def receive() -> dict[str, Any]:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.start":
                started.set()

        scope = {
            "type": "http",
            "method": "GET",
            "path": "/listen/for/dweets/from/stream-5",
            "raw_path": b"/listen/for/dweets/from/stream-5",
            "query_string": b"",
            "headers": [(b"host", b"dweet.test")],
            "scheme": "http",
        }
        serving = asyncio.ensure_future(app(scope, receive, send))
        await asyncio.wait_for(started.wait(), WAIT)
        listeners = _listeners(app)
        for _ in range(100):  # the generator registers once it is first asked for a chunk
            if listeners:
                break
            await asyncio.sleep(0.01)
        assert "stream-5" in listeners
        gone.set()
        await asyncio.wait_for(serving, WAIT)
        assert "stream-5" not in listeners
        assert sent[0]["status"] == 200

    asyncio.run(run())


def _listeners(app: Any) -> dict[str, Any]:
    handler = app.twin.router.match("GET", "/listen/for/dweets/from/x").target.handler
    owner = handler.__self__
    assert isinstance(owner, DweetBehaviour)
    return owner.listeners
