"""Profile keys for what a service reads differently from its document
(docs/conventions.md): extra boolean words, values meaning "not set", fixes to the
loaded document."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from apitwin.engine.twin import build_twin
from apitwin.server.app import TwinApp
from apitwin.spec.document import SpecError
from apitwin.twins.registry import Profile

DOCUMENT = {
    "openapi": "3.0.3",
    "info": {"title": "quirks", "version": "1"},
    "paths": {
        "/items": {
            "get": {
                "operationId": "list",
                "parameters": [{"name": "all", "in": "query", "schema": {"type": "boolean"}}],
                "responses": {"200": {"description": "ok"}},
            },
            "post": {
                "operationId": "make",
                "requestBody": {
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Item"}}
                    }
                },
                "responses": {"201": {"description": "made"}},
            },
        }
    },
    "components": {
        "schemas": {
            "Item": {
                "type": "object",
                "properties": {
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "kind": {"type": "string", "enum": ["a", "b"]},
                    "level": {"type": "integer", "minimum": 0},
                },
            }
        }
    },
}


def app_with(tmp_path: Path, **profile: Any) -> TwinApp:
    path = tmp_path / "quirks.json"
    path.write_text(json.dumps(DOCUMENT))
    loaded = Profile.from_mapping(
        {
            "name": "quirks",
            "spec": str(path),
            "port": 0,
            "error": {"template": {"message": "{message}"}},
            **profile,
        }
    )
    return TwinApp(build_twin(loaded, path))


def call(app: TwinApp, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://quirks") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


def test_boolean_words_are_the_profiles(tmp_path: Path) -> None:
    plain = app_with(tmp_path)
    assert call(plain, "GET", "/items?all=1").status_code == 400
    worded = app_with(tmp_path, query_booleans={"1": True, "0": False})
    assert call(worded, "GET", "/items?all=1").status_code == 200
    assert call(worded, "GET", "/items?all=0").status_code == 200
    assert call(worded, "GET", "/items?all=true").status_code == 200
    assert call(worded, "GET", "/items?all=maybe").status_code == 400


def test_unset_values_are_dropped_before_validation(tmp_path: Path) -> None:
    body = {"tags": None, "kind": "", "level": 1}
    assert call(app_with(tmp_path), "POST", "/items", json=body).status_code == 400
    lenient = app_with(tmp_path, request_unset_values=[None, ""])
    assert call(lenient, "POST", "/items", json=body).status_code == 201
    wrong = call(lenient, "POST", "/items", json={"kind": "c"})
    assert wrong.status_code == 400 and "kind" in wrong.json()["message"]


def test_document_fixes_change_what_is_accepted(tmp_path: Path) -> None:
    fixes = [{"pointer": "/components/schemas/Item/properties/level/minimum", "value": -1}]
    assert call(app_with(tmp_path), "POST", "/items", json={"level": -1}).status_code == 400
    fixed = app_with(tmp_path, document_fixes=fixes)
    assert call(fixed, "POST", "/items", json={"level": -1}).status_code == 201
    assert call(fixed, "POST", "/items", json={"level": -2}).status_code == 400


def test_a_fix_at_no_place_is_a_spec_error(tmp_path: Path) -> None:
    fixes = [{"pointer": "/components/schemas/Nothing/properties/x", "value": 1}]
    with pytest.raises(SpecError, match="document_fixes"):
        app_with(tmp_path, document_fixes=fixes)
