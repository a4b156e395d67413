"""A profile's per-family ``id`` and ``required`` keys (docs/state.md): how new ids look and
which fields a create or replace must send, for any twin, checked when the twin is built."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from apitwin.engine.twin import build_twin
from apitwin.server.app import TwinApp
from apitwin.spec.document import SpecError
from apitwin.state.memory import MemoryStore
from apitwin.twins.registry import Profile, bundled_profile, spec_path

NOTE = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "readOnly": True},
        "title": {"type": "string"},
        "body": {"type": "string"},
        "draft": {"type": "boolean"},
    },
}
DOCUMENT = {
    "openapi": "3.0.3",
    "info": {"title": "notes", "version": "1"},
    "paths": {
        "/notes": {
            "get": {
                "operationId": "listNotes",
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {"schema": {"type": "array", "items": NOTE}}
                        },
                    }
                },
            },
            "post": {
                "operationId": "makeNote",
                "requestBody": {"content": {"application/json": {"schema": NOTE}}},
                "responses": {
                    "201": {
                        "description": "made",
                        "content": {"application/json": {"schema": NOTE}},
                    }
                },
            },
        },
        "/notes/{id}": {
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "get": {
                "operationId": "getNote",
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": NOTE}}}
                },
            },
            "put": {
                "operationId": "putNote",
                "requestBody": {"content": {"application/json": {"schema": NOTE}}},
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": NOTE}}}
                },
            },
            "patch": {
                "operationId": "patchNote",
                "requestBody": {"content": {"application/json": {"schema": NOTE}}},
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": NOTE}}}
                },
            },
        },
    },
}


def notes_app(tmp_path: Path, **family: Any) -> TwinApp:
    path = tmp_path / "notes.json"
    path.write_text(json.dumps(DOCUMENT))
    profile = Profile.from_mapping(
        {
            "name": "notes",
            "spec": str(path),
            "port": 0,
            "error": {"template": {"message": "{message}"}},
            "resources": {"families": {"notes": family}},
        }
    )
    return TwinApp(build_twin(profile, path, store=MemoryStore()))


def calls(app: TwinApp, *requests: tuple[str, str, Any]) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notes") as client:
            return [await client.request(m, url, json=body) for m, url, body in requests]

    return asyncio.run(go())


def test_without_a_declared_kind_a_string_id_is_not_a_number(tmp_path: Path) -> None:
    """The contrast for the next test: the generic choice for a string id is a UUID."""
    [made] = calls(notes_app(tmp_path), ("POST", "/notes", {"title": "a"}))
    assert made.status_code == 201
    uuid.UUID(made.json()["id"])


def test_an_integer_kind_numbers_new_items_in_the_fields_own_type(tmp_path: Path) -> None:
    app = notes_app(tmp_path, id={"kind": "integer"})
    first, second = calls(app, ("POST", "/notes", {"title": "a"}), ("POST", "/notes", {}))
    ids = [first.json()["id"], second.json()["id"]]
    # the document types the id as a string: the digits of the family's sequence
    assert all(isinstance(i, str) and i.isdigit() for i in ids), ids
    assert int(ids[1]) == int(ids[0]) + 1
    [got] = calls(app, ("GET", f"/notes/{ids[0]}", None))
    assert (got.status_code, got.json()["title"]) == (200, "a")


def test_a_uuid_kind_gives_uuids(tmp_path: Path) -> None:
    [made] = calls(notes_app(tmp_path, id={"kind": "uuid"}), ("POST", "/notes", {}))
    ident = made.json()["id"]
    assert str(uuid.UUID(ident)) == ident


def test_required_fields_are_refused_in_the_twins_error_shape(tmp_path: Path) -> None:
    app = notes_app(tmp_path, required=["title", {"field": "body", "unless": "draft"}])
    refused, partial, draft, listed = calls(
        app,
        ("POST", "/notes", {}),
        ("POST", "/notes", {"title": "t"}),
        ("POST", "/notes", {"title": "t", "draft": True}),
        ("GET", "/notes", None),
    )
    assert refused.status_code == 400
    assert refused.json() == {
        "message": "title: This field is required.; body: This field is required."
    }
    assert (partial.status_code, partial.json()) == (
        400,
        {"message": "body: This field is required."},
    )
    assert draft.status_code == 201, draft.text
    assert [note["id"] for note in listed.json() if note.get("title") == "t"] == [
        draft.json()["id"]
    ]
    item = f"/notes/{draft.json()['id']}"
    put, patch, got = calls(
        app,
        ("PUT", item, {"body": "b"}),
        ("PATCH", item, {"body": "b"}),
        ("GET", item, None),
    )
    assert (put.status_code, put.json()) == (400, {"message": "title: This field is required."})
    assert patch.status_code == 200
    assert got.json()["body"] == "b"
    [missing] = calls(app, ("PUT", "/notes/nothing-here", {}))
    assert missing.status_code == 404  # no such note comes before what the body lacks


@pytest.mark.parametrize(
    ("family", "key"),
    [
        ({"id": {"kind": "digits"}}, "resources.families.notes.id.kind"),
        ({"id": {"kind": 7}}, "resources.families.notes.id.kind"),
        ({"id": "integer"}, "resources.families.notes.id"),
        ({"id": {"kind": "integer", "width": 8}}, "resources.families.notes.id"),
        ({"required": "title"}, "resources.families.notes.required"),
        ({"required": [{"name": "title"}]}, "resources.families.notes.required"),
        ({"required": ["no_such_field"]}, "resources.families.notes.required"),
        ({"required": [{"field": "title", "unless": "nope"}]}, "resources.families.notes.required"),
    ],
)
def test_a_bad_declaration_is_a_spec_error_naming_the_profile_key(
    tmp_path: Path, family: dict[str, Any], key: str
) -> None:
    with pytest.raises(SpecError, match=key.replace(".", r"\.")):
        notes_app(tmp_path, **family)


def test_an_unknown_kind_in_a_bundled_profile_is_a_spec_error() -> None:
    profile = bundled_profile("drchrono")
    resources = json.loads(json.dumps(profile.extra["resources"]))
    resources["families"].setdefault("appointments", {})["id"] = {"kind": "sequential"}
    broken = replace(profile, extra={**profile.extra, "resources": resources})
    with pytest.raises(SpecError, match=r"resources\.families\.appointments\.id\.kind"):
        build_twin(broken, spec_path(profile), store=MemoryStore())
