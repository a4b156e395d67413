"""Twins driven in-process over HTTP (httpx's ASGITransport), several of them sharing one
store as they do when ``apitwin serve`` runs them in one process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conventions.conftest import TwinClient

DVP_BASE = "/api/publisher/analytics/v1"
MOBY = {"username": "moby", "password": "moby-password"}
WHALE_2FA = {"username": "whale2fa", "password": "whale-password"}
WHALE_TOTP_SECRET = "KRUGS4ZANFZSA5DIMUQHO2DBNRSSAMRG"  # the Hub profile's seed account with 2FA


@pytest.fixture
def twin() -> Iterator[Callable[..., TwinClient]]:
    """Factory: ``twin("docker-hub", auth="strict", store=shared)``; closed afterwards."""
    opened: list[TwinClient] = []

    def open_twin(name: str, **options: Any) -> TwinClient:
        client = TwinClient(name, **options)
        opened.append(client)
        return client

    yield open_twin
    for client in opened:
        client.close()


def login(client: TwinClient, credentials: dict[str, str] = MOBY) -> dict[str, str]:
    """Log in at ``/v2/users/login`` and return the Authorization header to send."""
    response = client.post("/v2/users/login", json=credentials)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def advance(client: TwinClient, seconds: float) -> None:
    response = client.post("/__apitwin__/clock", json={"advance": seconds})
    assert response.status_code == 200, response.text
