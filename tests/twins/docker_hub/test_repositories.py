"""Namespaces, repositories and tags: seeded from the Docker catalogue, paged the Django
REST way, created and deleted by clients, and remembered."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from apitwin.behaviours.docker_catalog import CATALOG, digest_of, find_image, record_pull
from apitwin.behaviours.docker_registry import hub_image, push_tag
from apitwin.state.memory import MemoryStore
from tests.conftest import start_twin, stop_twin
from tests.conventions.conftest import TwinClient
from tests.state.conftest import POSTGRES_DSN
from tests.twins.conftest import login

MODES = ("open", "strict")
OFFICIAL = [image for image in CATALOG if image.namespace == "library"]


def test_official_images_are_seeded_and_paged(twin: Callable[..., TwinClient]) -> None:
    hub = twin("docker-hub")
    first = hub.get("/v2/namespaces/library/repositories?page_size=5").json()
    assert first["count"] == len(OFFICIAL)
    assert first["previous"] is None
    assert list(first) == ["count", "next", "previous", "results"]
    names = [r["name"] for r in first["results"]]
    page = first
    while page["next"] is not None:
        assert page["next"].startswith("http://twin.test/v2/namespaces/library/repositories?")
        link = urlsplit(page["next"])
        page = hub.get(f"{link.path}?{link.query}").json()
        names.extend(r["name"] for r in page["results"])
    assert names == [image.name for image in OFFICIAL]
    assert page["previous"] is not None
    beyond = hub.get("/v2/namespaces/library/repositories?page=99")
    assert beyond.status_code == 404 and beyond.json()["detail"] == "Invalid page."
    whoami = hub.get("/v2/namespaces/traefik/repositories/whoami").json()
    assert whoami["namespace"] == "traefik" and whoami["is_private"] is False
    assert whoami["pull_count"] > 0 and whoami["date_registered"] < whoami["last_updated"]


def test_tags_carry_the_digests_the_engine_pulls(twin: Callable[..., TwinClient]) -> None:
    hub = twin("docker-hub")
    image, _ = find_image("alpine") or (None, None)
    assert image is not None
    listed = hub.get("/v2/namespaces/library/repositories/alpine/tags").json()
    assert listed["count"] == len(image.tags)
    for tag in listed["results"]:
        assert tag["images"]["digest"] == digest_of(image, tag["name"])
        assert tag["status"] == "active" and tag["full_size"] > 0
    one = hub.get("/v2/namespaces/library/repositories/alpine/tags/3.20")
    assert one.status_code == 200 and one.json()["name"] == "3.20"
    assert (
        hub.request("HEAD", "/v2/namespaces/library/repositories/alpine/tags/3.20").status_code
        == 200
    )
    missing = hub.get("/v2/namespaces/library/repositories/alpine/tags/0.0")
    assert missing.status_code == 404 and missing.json()["detail"] == "Object not found"
    assert hub.request("HEAD", "/v2/namespaces/library/repositories/nope/tags").status_code == 404


def test_pull_count_follows_recorded_pulls(twin: Callable[..., TwinClient]) -> None:
    store = MemoryStore()
    hub = twin("docker-hub", store=store)
    before = hub.get("/v2/namespaces/library/repositories/redis").json()["pull_count"]
    found = find_image("redis:7")
    assert found is not None
    record_pull(store, found[0], found[1], "2026-01-05T10:00:00Z")
    after = hub.get("/v2/namespaces/library/repositories/redis").json()["pull_count"]
    assert after == before + 1


@pytest.mark.parametrize("mode", MODES)
def test_create_and_delete_a_repository(twin: Callable[..., TwinClient], mode: str) -> None:
    hub = twin("docker-hub", auth=mode)
    header = login(hub)
    body = {"name": "my-app", "description": "an app", "is_private": True}
    assert hub.post("/v2/namespaces/moby/repositories", json=body).status_code == 401
    created = hub.post("/v2/namespaces/moby/repositories", json=body, headers=header)
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "my-app" and created.json()["is_private"] is True
    again = hub.post("/v2/namespaces/moby/repositories", json=body, headers=header)
    assert again.status_code == 409
    # private: listed for its owner only
    assert hub.get("/v2/namespaces/moby/repositories", headers=header).json()["count"] == 1
    assert hub.get("/v2/namespaces/moby/repositories").json()["count"] == 0
    assert hub.get("/v2/namespaces/moby/repositories/my-app").status_code == 404
    got = hub.get("/v2/namespaces/moby/repositories/my-app", headers=header)
    assert got.status_code == 200 and got.json()["description"] == "an app"
    assert (
        hub.get("/v2/namespaces/moby/repositories/my-app/tags", headers=header).json()["count"] == 0
    )
    deleted = hub.request("DELETE", "/v2/namespaces/moby/repositories/my-app", headers=header)
    assert deleted.status_code == 202
    assert hub.get("/v2/namespaces/moby/repositories/my-app", headers=header).status_code == 404


def test_bad_repositories_are_refused_and_change_nothing(twin: Callable[..., TwinClient]) -> None:
    hub = twin("docker-hub", auth="strict")
    header = login(hub)
    for name in ("Upper", "x", "has space", "-lead"):
        response = hub.post("/v2/namespaces/moby/repositories", json={"name": name}, headers=header)
        assert response.status_code == 400, name
    other = hub.post("/v2/namespaces/someorg/repositories", json={"name": "mine"}, headers=header)
    assert other.status_code == 403  # not moby's namespace
    assert hub.get("/v2/namespaces/moby/repositories", headers=header).json()["count"] == 0
    assert hub.get("/v2/namespaces/someorg/repositories").json()["count"] == 0


def test_own_namespaces(twin: Callable[..., TwinClient]) -> None:
    hub = twin("docker-hub", auth="strict")
    assert hub.get("/v2/repositories/namespaces").status_code == 401
    names = hub.get("/v2/repositories/namespaces", headers=login(hub)).json()["namespaces"]
    assert names[0] == "moby" and "library" in names


def test_reset_brings_the_seed_back(twin: Callable[..., TwinClient]) -> None:
    hub = twin("docker-hub")
    header = login(hub)
    hub.request("DELETE", "/v2/namespaces/library/repositories/nginx", headers=header)
    assert hub.get("/v2/namespaces/library/repositories/nginx").status_code == 404
    assert hub.post("/__apitwin__/reset").status_code == 200
    assert hub.get("/v2/namespaces/library/repositories/nginx").status_code == 200


def test_empty_twin_starts_without_repositories(twin: Callable[..., TwinClient]) -> None:
    hub = twin("docker-hub", empty=True)
    assert hub.get("/v2/namespaces/library/repositories").json()["count"] == 0


def test_pushed_tags_are_found_by_the_engine_lookup(twin: Callable[..., TwinClient]) -> None:
    store = MemoryStore()
    assert hub_image(store, "busybox:1.36") == find_image("busybox:1.36")  # no Hub state yet
    assert hub_image(store, "moby/tool:v1") is None
    hub = twin("docker-hub", store=store)
    pushed = push_tag(store, "moby", "tool", "v1", size=1000)
    found = hub_image(store, "moby/tool:v1")
    assert found is not None and found[1] == "v1"
    assert pushed["images"]["digest"] == digest_of(found[0], "v1")
    tags = hub.get("/v2/namespaces/moby/repositories/tool/tags").json()
    assert [t["name"] for t in tags["results"]] == ["v1"]
    hub.request("DELETE", "/v2/namespaces/moby/repositories/tool", headers=login(hub))
    assert hub_image(store, "moby/tool:v1") is None


def test_created_repositories_survive_a_restart(tmp_path: Path) -> None:
    store = ["--store", str(tmp_path / "state.sqlite3"), "--auth", "strict"]
    served = start_twin("docker-hub", *store)
    try:
        token = httpx.post(
            f"{served.base_url}/v2/users/login",
            json={"username": "moby", "password": "moby-password"},
        ).json()["token"]
        header = {"Authorization": f"Bearer {token}"}
        created = httpx.post(
            f"{served.base_url}/v2/namespaces/moby/repositories",
            json={"name": "kept"},
            headers=header,
        )
        assert created.status_code == 201
        deleted = httpx.delete(
            f"{served.base_url}/v2/namespaces/library/repositories/httpd", headers=header
        )
        assert deleted.status_code == 202
    finally:
        stop_twin(served)
    served = start_twin("docker-hub", *store)
    try:
        assert (
            httpx.get(f"{served.base_url}/v2/namespaces/moby/repositories/kept").status_code == 200
        )
        gone = httpx.get(f"{served.base_url}/v2/namespaces/library/repositories/httpd")
        assert gone.status_code == 404
        # the JWT issued before the restart is still an issued credential
        me = httpx.get(f"{served.base_url}/v2/repositories/namespaces", headers=header)
        assert me.status_code == 200 and me.json()["namespaces"][0] == "moby"
    finally:
        stop_twin(served)


def test_repositories_are_shared_through_postgresql() -> None:
    dsn = POSTGRES_DSN
    one = start_twin("docker-hub", "--store", dsn)
    two = start_twin("docker-hub", "--store", dsn)
    try:
        httpx.post(f"{one.base_url}/__apitwin__/reset")
        token = httpx.post(
            f"{one.base_url}/v2/users/login",
            json={"username": "moby", "password": "moby-password"},
        ).json()["token"]
        header = {"Authorization": f"Bearer {token}"}
        created = httpx.post(
            f"{one.base_url}/v2/namespaces/moby/repositories",
            json={"name": "shared"},
            headers=header,
        )
        assert created.status_code == 201, created.text
        seen = httpx.get(f"{two.base_url}/v2/namespaces/moby/repositories/shared")
        assert seen.status_code == 200
    finally:
        stop_twin(one)
        stop_twin(two)
