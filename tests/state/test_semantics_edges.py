"""Edges of the generic semantics found by property-based runs: values a document allows
must never turn into a server error, and stored ids keep the type of their field."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from apitwin.app import create_app

BEARER = {"Authorization": "Bearer edge-token"}


def get(name: str, path: str, **params: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(name))
        async with httpx.AsyncClient(transport=transport, base_url="http://twin") as client:
            return await client.get(path, params=params, headers=BEARER)

    return asyncio.run(run())


def test_a_negative_page_size_the_document_allows_gives_a_page_not_a_server_error() -> None:
    response = get("drchrono", "/api/appointment_templates", page_size=-1491)
    assert response.status_code == 200
    assert isinstance(response.json()["data"], list)


def test_repeated_filter_values_give_a_list_not_a_server_error() -> None:
    response = get("dnd5e", "/api/spells", level=["1", "2"])
    assert response.status_code == 200
    assert response.json()["count"] == len(response.json()["results"])


def test_numeric_ids_are_stored_as_numbers() -> None:
    response = get("dnd5e", "/api/classes/barbarian/levels")
    assert response.status_code == 200
    levels = [item["level"] for item in response.json()]
    assert levels and all(isinstance(level, int | float) for level in levels)
