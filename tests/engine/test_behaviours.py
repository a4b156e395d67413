"""A profile's behaviour module replaces chosen handlers; a handler may stream its body."""

from __future__ import annotations

import asyncio
import json
import sys
import types
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from apitwin.behaviours.base import Behaviour, json_reply, reject
from apitwin.engine.context import Reply, RequestContext
from apitwin.engine.twin import build_twin
from apitwin.server.app import TwinApp
from apitwin.state.memory import MemoryStore
from apitwin.twins.registry import Profile

DOCUMENT = {
    "openapi": "3.0.3",
    "info": {"title": "probe", "version": "1"},
    "paths": {
        "/things/{name}": {
            "get": {
                "operationId": "getThing",
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": {"description": "ok"}, "404": {"description": "missing"}},
            }
        },
        "/events": {
            "get": {"operationId": "events", "responses": {"200": {"description": "a stream"}}}
        },
        "/plain": {
            "get": {
                "operationId": "plain",
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {"application/json": {"example": {"from": "document"}}},
                    }
                },
            }
        },
    },
}


class _Probe(Behaviour):
    def __init__(self, twin):  # type: ignore[no-untyped-def]
        super().__init__(twin)
        self.bind_all({"getThing": self.get_thing, "events": self.events})

    def get_thing(self, context: RequestContext) -> Reply:
        name = context.params["name"]
        if name == "missing":
            raise reject(404, f"No such thing: {name}")
        return json_reply({"name": name}, headers=[(b"x-probe", b"1")])

    def events(self, context: RequestContext) -> Reply:
        async def lines() -> AsyncIterator[bytes]:
            for number in range(3):
                yield json.dumps({"n": number}).encode() + b"\n"

        return Reply(200, [(b"content-type", b"application/json")], stream=lines())


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TwinApp:
    module = types.ModuleType("apitwin.behaviours.probe")
    module.install = _Probe  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "apitwin.behaviours.probe", module)
    path = tmp_path / "probe.json"
    path.write_text(json.dumps(DOCUMENT))
    profile = Profile.from_mapping(
        {
            "name": "probe",
            "spec": str(path),
            "port": 0,
            "behaviour": "probe",
            "error": {"template": {"message": "{message}"}},
        }
    )
    return TwinApp(build_twin(profile, path, store=MemoryStore()))


def _get(app: TwinApp, path: str) -> httpx.Response:
    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
            return await client.get(path)

    return asyncio.run(fetch())


def test_bound_handler_answers_instead_of_the_document(app: TwinApp) -> None:
    response = _get(app, "/things/anvil")
    assert response.status_code == 200
    assert response.json() == {"name": "anvil"}
    assert response.headers["x-probe"] == "1"


def test_rejection_from_a_behaviour_uses_the_api_error_shape(app: TwinApp) -> None:
    response = _get(app, "/things/missing")
    assert response.status_code == 404
    assert response.json() == {"message": "No such thing: missing"}


def test_streamed_reply_arrives_whole_without_content_length(app: TwinApp) -> None:
    response = _get(app, "/events")
    assert response.status_code == 200
    assert "content-length" not in response.headers
    assert [json.loads(line) for line in response.text.splitlines()] == [
        {"n": 0},
        {"n": 1},
        {"n": 2},
    ]


def test_operations_without_a_behaviour_keep_the_document_answer(app: TwinApp) -> None:
    response = _get(app, "/plain")
    assert response.json() == {"from": "document"}


def test_binding_an_unknown_operation_names_it(app: TwinApp) -> None:
    with pytest.raises(KeyError, match="noSuchOperation"):
        Behaviour(app.twin).bind("noSuchOperation", lambda context: Reply(200))


def test_a_client_that_leaves_ends_a_waiting_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[bool] = []

    class _Waiting(_Probe):
        def events(self, context: RequestContext) -> Reply:
            async def forever() -> AsyncIterator[bytes]:
                try:
                    yield b"first\n"
                    await asyncio.Event().wait()  # nothing more ever happens
                finally:
                    closed.append(True)

            return Reply(200, [], stream=forever())

    module = types.ModuleType("apitwin.behaviours.probe")
    module.install = _Waiting  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "apitwin.behaviours.probe", module)
    path = tmp_path / "probe.json"
    path.write_text(json.dumps(DOCUMENT))
    profile = Profile.from_mapping(
        {"name": "probe", "spec": str(path), "port": 0, "behaviour": "probe",
         "error": {"template": {"message": "{message}"}}}
    )  # fmt: skip
    app = TwinApp(build_twin(profile, path, store=MemoryStore()))
    sent: list[dict[str, object]] = []
    requests = iter([{"type": "http.request", "body": b"", "more_body": False}])

    async def receive() -> dict[str, object]:
        message = next(requests, None)
        if message is not None:
            return message
        while not any(m.get("body") == b"first\n" for m in sent):
            await asyncio.sleep(0.01)
        return {"type": "http.disconnect"}  # the client goes away after the first line

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/events", "raw_path": b"/events",
             "query_string": b"", "headers": [], "scheme": "http", "server": ("probe", 80)}  # fmt: skip
    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=10))  # type: ignore[arg-type]
    assert closed == [True]
    assert [m.get("body") for m in sent if m["type"] == "http.response.body"] == [b"first\n"]
