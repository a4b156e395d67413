"""A clear made through another store object (as another process would) is seen by the
next request, and by calls made outside requests, though a request asks only once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from apitwin.app import create_app
from apitwin.server.app import TwinApp
from apitwin.state.sqlite import SQLiteStore

CHA = "/api/ability-scores/cha"


def call(app: TwinApp, method: str, path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://twin") as client:
            return await client.request(method, path)

    return asyncio.run(go())


def stores(tmp_path: Path) -> tuple[SQLiteStore, SQLiteStore]:
    path = tmp_path / "shared.sqlite3"
    return SQLiteStore(path), SQLiteStore(path)


def test_a_clear_elsewhere_is_seen_by_the_next_request(tmp_path: Path) -> None:
    mine, other = stores(tmp_path)
    app = create_app("dnd5e", store=mine)
    try:
        first: Any = call(app, "GET", CHA).json()
        for _ in range(2):  # every clear is seen, not only the first
            other.clear("dnd5e")
            # The seed item is back: the request asked whether the state was cleared.
            again = call(app, "GET", CHA)
            assert again.status_code == 200
            assert again.json() == first
    finally:
        mine.close()
        other.close()


def test_outside_requests_every_call_asks(tmp_path: Path) -> None:
    mine, other = stores(tmp_path)
    app = create_app("dnd5e", store=mine)
    semantics = app.twin.semantics
    assert semantics is not None
    runtime = semantics.runtimes["ability-scores"]
    try:
        assert call(app, "GET", CHA).status_code == 200
        for _ in range(2):
            other.clear("dnd5e")
            semantics.ensure_seeded(runtime)
            with mine.transaction("dnd5e", write=False) as tx:
                assert tx.get("ability-scores", "cha") is not None
    finally:
        mine.close()
        other.close()
