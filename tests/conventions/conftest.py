"""A bundled twin driven in-process over HTTP (httpx's ASGITransport), one event loop per
twin so a test can make many requests in a row as a client does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from apitwin.app import create_app

BEARER = {"Authorization": "Bearer any-token"}


class TwinClient:
    """Synchronous calls to one in-process twin at ``base_url``."""

    def __init__(self, name: str, base_url: str = "http://twin.test", **options: Any) -> None:
        self.app = create_app(name, **options)
        self._loop = asyncio.new_event_loop()
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=base_url
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()


@pytest.fixture
def twin() -> Iterator[Callable[..., TwinClient]]:
    """Factory: ``twin("digitalocean", empty=True)``; closed after the test."""
    opened: list[TwinClient] = []

    def open_twin(name: str, **options: Any) -> TwinClient:
        client = TwinClient(name, **options)
        opened.append(client)
        return client

    yield open_twin
    for client in opened:
        client.close()
