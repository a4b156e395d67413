"""The Engine twin and the registry behind it: pulls, searches and pushes go to the Hub
twin's state when a Hub is present (same process and store, or Hub state in a shared
store), else to the catalogue; ``POST /auth`` and ``X-Registry-Auth`` against the Hub's
accounts in both auth modes; what a pull records for DVP."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from apitwin.behaviours.docker_catalog import digest_of, find_image, recorded_pulls
from apitwin.behaviours.docker_registry import ensure_catalog, hub_present, push_tag
from apitwin.state.memory import MemoryStore
from tests.conventions.conftest import TwinClient
from tests.twins.conftest import MOBY, WHALE_2FA, login

E = "/v1.33"


def registry_auth(**fields: str) -> dict[str, str]:
    """The X-Registry-Auth header as docker-py and the CLI build it (base64url JSON)."""
    encoded = base64.urlsafe_b64encode(json.dumps(fields).encode()).decode()
    return {"X-Registry-Auth": encoded}


def pull(engine: TwinClient, reference: str, **kwargs: Any) -> tuple[int, str]:
    image, _, tag = reference.partition(":")
    answer = engine.post(f"{E}/images/create", params={"fromImage": image, "tag": tag}, **kwargs)
    return answer.status_code, answer.text


def together(
    twin: Callable[..., TwinClient], auth: str = "open", **hub: Any
) -> tuple[TwinClient, TwinClient, MemoryStore]:
    """An Engine and a Hub on one store, as ``apitwin serve docker-engine docker-hub``."""
    store = MemoryStore()
    engine = twin("docker-engine", store=store, auth=auth, empty=True)
    return engine, twin("docker-hub", store=store, auth=auth, **hub), store


# -- where pulls go ---------------------------------------------------------------------------


def test_without_a_hub_the_engine_pulls_from_the_catalogue(
    twin: Callable[..., TwinClient],
) -> None:
    store = MemoryStore()
    engine = twin("docker-engine", store=store, empty=True)
    assert not hub_present(store)
    assert pull(engine, "busybox:1.36")[0] == 200
    status, text = pull(engine, "moby/tool:v1")
    assert status == 404 and "pull access denied for moby/tool" in text


def test_a_tag_pushed_into_the_hub_is_pulled(twin: Callable[..., TwinClient]) -> None:
    engine, hub, store = together(twin)
    assert pull(engine, "moby/tool:v1")[0] == 404
    pushed = push_tag(store, "moby", "tool", "v1", size=2048)
    status, text = pull(engine, "moby/tool:v1")
    assert status == 200, text
    assert f"Digest: {pushed['images']['digest']}" in text
    assert "Status: Downloaded newer image for moby/tool:v1" in text
    listed = engine.get(f"{E}/images/json").json()
    assert any("moby/tool:v1" in image["RepoTags"] for image in listed)


def test_a_repository_deleted_in_the_hub_can_no_longer_be_pulled(
    twin: Callable[..., TwinClient],
) -> None:
    engine, hub, _ = together(twin)
    gone = hub.request("DELETE", "/v2/namespaces/library/repositories/redis", headers=login(hub))
    assert gone.status_code == 202
    status, text = pull(engine, "redis:7")
    assert status == 404 and "pull access denied for redis" in text
    assert pull(engine, "alpine:3.20")[0] == 200  # the rest of the seed is still there


def test_an_empty_hub_has_nothing_to_pull(twin: Callable[..., TwinClient]) -> None:
    engine, _, store = together(twin, empty=True)
    assert hub_present(store)  # a Hub twin in this process, even one without repositories
    status, text = pull(engine, "busybox")
    assert status == 404 and "pull access denied for busybox" in text


def test_hub_state_in_a_shared_store_counts_without_a_hub_twin(
    twin: Callable[..., TwinClient],
) -> None:
    """A Hub served by another process leaves its state in the shared store."""
    store = MemoryStore()
    assert not hub_present(store)
    ensure_catalog(store)
    assert hub_present(store)
    push_tag(store, "mobyorg", "app", "2.0")
    engine = twin("docker-engine", store=store, empty=True)
    assert pull(engine, "mobyorg/app:2.0")[0] == 200
    status, text = pull(engine, "mobyorg/app:3.0")
    assert status == 404 and "manifest for mobyorg/app:3.0 not found" in text


def test_pull_by_digest_of_a_hub_tag(twin: Callable[..., TwinClient]) -> None:
    engine, _, store = together(twin)
    digest = push_tag(store, "moby", "tool", "v2")["images"]["digest"]
    answer = engine.post(f"{E}/images/create", params={"fromImage": "moby/tool", "tag": digest})
    assert answer.status_code == 200, answer.text
    unknown = engine.post(
        f"{E}/images/create", params={"fromImage": "moby/tool", "tag": "sha256:" + "0" * 64}
    )
    assert unknown.status_code == 404


def test_search_lists_the_hubs_public_repositories(twin: Callable[..., TwinClient]) -> None:
    engine, hub, _ = together(twin)
    header = login(hub)
    for name, private in (("searchable-public", False), ("searchable-private", True)):
        made = hub.post(
            "/v2/namespaces/moby/repositories",
            json={"name": name, "description": "made for search", "is_private": private},
            headers=header,
        )
        assert made.status_code == 201, made.text
    found = engine.get(f"{E}/images/search", params={"term": "searchable"}).json()
    assert [entry["name"] for entry in found] == ["moby/searchable-public"]
    assert found[0]["is_official"] is False
    official = engine.get(f"{E}/images/search", params={"term": "nginx"}).json()
    assert official[0]["name"] == "nginx" and official[0]["is_official"] is True


# -- what a pull records for DVP --------------------------------------------------------------


def test_a_pull_records_what_the_dvp_reads(twin: Callable[..., TwinClient]) -> None:
    engine, _, store = together(twin)
    agent = {"User-Agent": "docker/28.0.0 go/go1.23 os/linux arch/amd64"}  # docker-py's form
    assert pull(engine, "alpine:3.20", headers=agent)[0] == 200
    assert pull(engine, "alpine:3.20", headers=agent)[0] == 200  # already here
    alpine = find_image("alpine:3.20")
    assert alpine is not None
    digest = digest_of(alpine[0], "3.20")
    by_digest = engine.post(f"{E}/images/create", params={"fromImage": "alpine", "tag": digest})
    assert by_digest.status_code == 200
    pulls = recorded_pulls(store, "library")
    assert [(p["action"], p["http_method"], p["reference"]) for p in pulls] == [
        ("pull_by_tag", "GET", "3.20"),
        ("version_check", "HEAD", "3.20"),
        ("pull_by_digest", "GET", digest),
    ]
    daemon = (
        "docker/17.10.0-ce go/go1.8.3 git-commit/f4ffd25 kernel/6.8.0-apitwin os/linux arch/amd64"
    )
    upstream = "UpstreamClient(docker/28.0.0 go/go1.23 os/linux arch/amd64)"
    assert {p["user_agent"] for p in pulls[:2]} == {f"{daemon} {upstream}"}
    assert all(p["ip"] == "127.0.0.1" for p in pulls)
    assert all(p["repository"] == "alpine" and p["digest"] == digest for p in pulls)


# -- POST /auth -------------------------------------------------------------------------------


def test_auth_in_open_mode_accepts_well_formed_credentials(
    twin: Callable[..., TwinClient],
) -> None:
    engine = twin("docker-engine", empty=True)
    answer = engine.post(f"{E}/auth", json={"username": "anyone", "password": "x"})
    assert answer.status_code == 200
    token = answer.json()["IdentityToken"]
    assert answer.json()["Status"] == "Login Succeeded" and token.count(".") == 2
    again = engine.post(f"{E}/auth", json={"identitytoken": token})
    assert again.status_code == 200
    for shapeless in ({}, {"username": "anyone"}, {"password": "x"}, {"email": "a@b.c"}):
        refused = engine.post(f"{E}/auth", json=shapeless)
        assert refused.status_code == 401
        assert "unauthorized: incorrect username or password" in refused.json()["message"]
    # a seed account still needs its own password, as at the Hub's login
    assert engine.post(f"{E}/auth", json={**MOBY, "password": "wrong"}).status_code == 401


def test_auth_in_strict_mode_knows_only_hub_accounts_and_issued_tokens(
    twin: Callable[..., TwinClient],
) -> None:
    engine, hub, _ = together(twin, auth="strict")
    answer = engine.post(f"{E}/auth", json={**MOBY, "serveraddress": "https://index.docker.io/v1/"})
    assert answer.status_code == 200, answer.text
    token = answer.json()["IdentityToken"]
    assert engine.post(f"{E}/auth", json={"identitytoken": token}).status_code == 200
    # the identity token is an issued credential: the Hub accepts it as a bearer token
    own = hub.get("/v2/access-tokens", headers={"Authorization": f"Bearer {token}"})
    assert own.status_code == 200
    for refused in (
        {"username": "moby", "password": "wrong"},
        {"username": "stranger", "password": "pw"},
        {"identitytoken": token + "x"},
        WHALE_2FA,  # two-factor accounts log in to the registry with a personal token
    ):
        assert engine.post(f"{E}/auth", json=refused).status_code == 401, refused
    pat = hub.post(
        "/v2/access-tokens",
        json={"token_label": "cli", "scopes": ["repo:read"]},
        headers=login(hub),
    ).json()["token"]
    assert engine.post(f"{E}/auth", json={"username": "moby", "password": pat}).status_code == 200


# -- X-Registry-Auth --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("not base64!", "illegal base64 data at input byte 3"),
        (base64.urlsafe_b64encode(b"{oops").decode(), "invalid character"),
        (base64.urlsafe_b64encode(b'"text"').decode(), "cannot unmarshal string"),
        (base64.urlsafe_b64encode(b'{"username": 7}').decode(), "AuthConfig.username"),
    ],
)
def test_a_malformed_registry_auth_header_is_the_daemons_400(
    twin: Callable[..., TwinClient], header: str, reason: str
) -> None:
    engine = twin("docker-engine", empty=True)
    answer = engine.post(
        f"{E}/images/create",
        params={"fromImage": "busybox", "tag": "latest"},
        headers={"X-Registry-Auth": header},
    )
    assert answer.status_code == 400
    assert answer.json()["message"].startswith("invalid X-Registry-Auth header: ")
    assert reason in answer.json()["message"]
    assert engine.get(f"{E}/images/json").json() == []  # nothing was pulled


def test_private_repositories_need_credentials_in_strict_mode(
    twin: Callable[..., TwinClient],
) -> None:
    engine, hub, store = together(twin, auth="strict")
    made = hub.post(
        "/v2/namespaces/moby/repositories",
        json={"name": "secret", "is_private": True},
        headers=login(hub),
    )
    assert made.status_code == 201
    push_tag(store, "moby", "secret", "v1")
    denied = "pull access denied for moby/secret"
    for headers in (
        {},
        registry_auth(),
        registry_auth(username="moby", password="wrong"),
        registry_auth(identitytoken="made-up"),
    ):
        status, text = pull(engine, "moby/secret:v1", headers=headers)
        assert status == 404 and denied in text, headers
    assert pull(engine, "moby/secret:v1", headers=registry_auth(**MOBY))[0] == 200
    token = engine.post(f"{E}/auth", json=MOBY).json()["IdentityToken"]
    again = pull(engine, "moby/secret:v1", headers=registry_auth(identitytoken=token))
    assert again[0] == 200
    assert pull(engine, "busybox", headers=registry_auth(identitytoken="made-up"))[0] == 200


def test_open_mode_pulls_private_repositories_without_credentials(
    twin: Callable[..., TwinClient],
) -> None:
    engine, hub, store = together(twin)
    hub.post(
        "/v2/namespaces/moby/repositories",
        json={"name": "secret", "is_private": True},
        headers=login(hub),
    )
    push_tag(store, "moby", "secret", "v1")
    assert pull(engine, "moby/secret:v1")[0] == 200


# -- push -------------------------------------------------------------------------------------


def stream(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_push_needs_a_member_in_strict_mode_and_lands_in_the_hub(
    twin: Callable[..., TwinClient],
) -> None:
    engine, hub, _ = together(twin, auth="strict")
    assert pull(engine, "busybox:1.36")[0] == 200
    tagged = engine.post(f"{E}/images/busybox:1.36/tag", params={"repo": "moby/mine", "tag": "v1"})
    assert tagged.status_code == 201
    refused = engine.post(
        f"{E}/images/moby/mine/push", params={"tag": "v1"}, headers=registry_auth()
    )
    assert refused.status_code == 200
    assert stream(refused.text)[-1]["error"] == "denied: requested access to the resource is denied"
    assert hub.get("/v2/namespaces/moby/repositories/mine").status_code == 404
    pushed = engine.post(
        f"{E}/images/moby/mine/push", params={"tag": "v1"}, headers=registry_auth(**MOBY)
    )
    lines = stream(pushed.text)
    assert lines[0] == {"status": "The push refers to repository [docker.io/moby/mine]"}
    aux = lines[-1]["aux"]
    assert aux["Tag"] == "v1" and aux["Digest"].startswith("sha256:")
    tags = hub.get("/v2/namespaces/moby/repositories/mine/tags").json()["results"]
    assert [(t["name"], t["images"]["digest"]) for t in tags] == [("v1", aux["Digest"])]
    inspected = engine.get(f"{E}/images/moby/mine:v1/json").json()
    assert f"moby/mine@{aux['Digest']}" in inspected["RepoDigests"]
    missing = engine.post(
        f"{E}/images/moby/other/push", params={"tag": "v1"}, headers=registry_auth(**MOBY)
    )
    assert missing.status_code == 404
    assert (
        missing.json()["message"] == "An image does not exist locally with the tag: moby/other:v1"
    )
