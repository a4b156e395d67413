"""Personal access tokens: shown once, scopes checked, usable as the password at login,
and refused there once deactivated or deleted."""

from __future__ import annotations

from collections.abc import Callable

import jwt
import pytest

from tests.conventions.conftest import TwinClient
from tests.twins.conftest import login

MODES = ("open", "strict")


def create(hub: TwinClient, header: dict[str, str], **body: object) -> dict[str, object]:
    response = hub.post("/v2/access-tokens", json=body, headers=header)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


@pytest.mark.parametrize("mode", MODES)
def test_token_is_shown_once_and_logs_in(twin: Callable[..., TwinClient], mode: str) -> None:
    hub = twin("docker-hub", auth=mode)
    header = login(hub)
    created = create(hub, header, token_label="ci", scopes=["repo:read"])
    secret = str(created["token"])
    assert secret.startswith("dckr_pat_")
    assert created["is_active"] is True and created["scopes"] == ["repo:read"]
    listed = hub.get("/v2/access-tokens", headers=header).json()
    assert listed["count"] == 1 and listed["active_count"] == 1
    assert listed["results"][0]["uuid"] == created["uuid"]
    assert listed["results"][0]["token"] == ""
    one = hub.get(f"/v2/access-tokens/{created['uuid']}", headers=header).json()
    assert one["token"] == "" and one["token_label"] == "ci"
    # the PAT stands in for the password and gives a JWT scoped like the PAT
    response = hub.post("/v2/users/login", json={"username": "moby", "password": secret})
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["token"], options={"verify_signature": False})
    assert claims["username"] == "moby" and claims["scope"] == "repo:read"


@pytest.mark.parametrize("mode", MODES)
def test_bad_scopes_are_refused_and_create_nothing(
    twin: Callable[..., TwinClient], mode: str
) -> None:
    hub = twin("docker-hub", auth=mode)
    header = login(hub)
    for body in (
        {"token_label": "x", "scopes": ["repo:everything"]},
        {"token_label": "x", "scopes": []},
        {"token_label": "", "scopes": ["repo:read"]},
    ):
        response = hub.post("/v2/access-tokens", json=body, headers=header)
        assert response.status_code == 400
        assert "fields" in response.json() and "text" in response.json()
    response = hub.post("/v2/access-tokens", json={"token_label": "x"}, headers=header)
    assert response.status_code == 400  # scopes are required by the document
    assert hub.get("/v2/access-tokens", headers=header).json()["count"] == 0


def test_deactivated_and_deleted_tokens_no_longer_log_in(twin: Callable[..., TwinClient]) -> None:
    hub = twin("docker-hub", auth="strict")
    header = login(hub)
    created = create(hub, header, token_label="ci", scopes=["repo:write"])
    secret, ident = created["token"], created["uuid"]
    patched = hub.request(
        "PATCH", f"/v2/access-tokens/{ident}", json={"is_active": False}, headers=header
    )
    assert patched.status_code == 200 and patched.json()["is_active"] is False
    pat_login = {"username": "moby", "password": secret}
    assert hub.post("/v2/users/login", json=pat_login).status_code == 401
    listed = hub.get("/v2/access-tokens", headers=header).json()
    assert listed["count"] == 1 and listed["active_count"] == 0
    hub.request("PATCH", f"/v2/access-tokens/{ident}", json={"is_active": True}, headers=header)
    assert hub.post("/v2/users/login", json=pat_login).status_code == 200
    assert hub.request("DELETE", f"/v2/access-tokens/{ident}", headers=header).status_code == 204
    assert hub.get(f"/v2/access-tokens/{ident}", headers=header).status_code == 404
    assert hub.post("/v2/users/login", json=pat_login).status_code == 401


def test_a_token_belongs_to_its_user(twin: Callable[..., TwinClient]) -> None:
    hub = twin("docker-hub")
    moby = login(hub)
    other = login(hub, {"username": "someone42", "password": "pw"})
    created = create(hub, moby, token_label="mine", scopes=["repo:admin"])
    assert hub.get("/v2/access-tokens", headers=other).json()["count"] == 0
    assert hub.get(f"/v2/access-tokens/{created['uuid']}", headers=other).status_code == 404
    strict = twin("docker-hub", auth="strict")
    mine = create(strict, login(strict), token_label="mine", scopes=["repo:read"])
    wrong_user = {"username": "whale2fa", "password": mine["token"]}
    assert strict.post("/v2/users/login", json=wrong_user).status_code == 401
