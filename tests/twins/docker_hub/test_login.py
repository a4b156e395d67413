"""Docker Hub login: JWTs from /v2/users/login, the two-factor step, and which tokens the
Hub's operations accept in each auth mode."""

from __future__ import annotations

import time
from collections.abc import Callable

import jwt
import pyotp
import pytest

from tests.conventions.conftest import TwinClient
from tests.twins.conftest import MOBY, WHALE_2FA, WHALE_TOTP_SECRET, advance, login

MODES = ("open", "strict")
PROTECTED = "/v2/access-tokens"  # needs a token in the real Hub and in the twin
MONTH = 30 * 24 * 3600


def claims_of(header: dict[str, str]) -> dict[str, object]:
    token = header["Authorization"].split(" ", 1)[1]
    return jwt.decode(token, options={"verify_signature": False})


@pytest.mark.parametrize("mode", MODES)
def test_login_issues_a_jwt_for_a_seed_user(twin: Callable[..., TwinClient], mode: str) -> None:
    hub = twin("docker-hub", auth=mode)
    header = login(hub)
    claims = claims_of(header)
    assert jwt.get_unverified_header(header["Authorization"][7:])["alg"] == "HS256"
    assert claims["username"] == "moby"
    assert claims["exp"] - claims["iat"] == MONTH  # type: ignore[operator]
    assert abs(claims["iat"] - time.time()) < 120  # type: ignore[operator]
    assert hub.get(PROTECTED, headers=header).status_code == 200


@pytest.mark.parametrize("mode", MODES)
def test_the_hub_also_takes_the_jwt_prefix(twin: Callable[..., TwinClient], mode: str) -> None:
    hub = twin("docker-hub", auth=mode)
    token = login(hub)["Authorization"].split(" ", 1)[1]
    assert hub.get(PROTECTED, headers={"Authorization": f"JWT {token}"}).status_code == 200


@pytest.mark.parametrize("mode", MODES)
def test_wrong_password_is_the_hubs_401(twin: Callable[..., TwinClient], mode: str) -> None:
    hub = twin("docker-hub", auth=mode)
    response = hub.post("/v2/users/login", json={"username": "moby", "password": "nope"})
    assert response.status_code == 401
    assert response.json() == {"detail": "Incorrect authentication credentials"}


@pytest.mark.parametrize("mode", MODES)
def test_missing_token_is_refused(twin: Callable[..., TwinClient], mode: str) -> None:
    hub = twin("docker-hub", auth=mode)
    response = hub.get(PROTECTED)
    assert response.status_code == 401
    assert response.json()["detail"] == "Authentication credentials were not provided."
    # a 403-only operation (delete-images documents no 401) refuses with 403
    assert hub.post("/v2/namespaces/moby/delete-images", json={}).status_code == 403


def test_open_mode_logs_in_any_well_formed_docker_id(twin: Callable[..., TwinClient]) -> None:
    hub = twin("docker-hub")
    header = login(hub, {"username": "someone42", "password": "whatever"})
    assert claims_of(header)["username"] == "someone42"
    assert hub.get(PROTECTED, headers=header).status_code == 200
    # not a Docker ID: 4 to 30 lower-case letters and digits
    for bad in ({"username": "No", "password": "x"}, {"username": "someone42", "password": ""}):
        assert hub.post("/v2/users/login", json=bad).status_code == 401
    # any bearer passes in open mode
    assert hub.get(PROTECTED, headers={"Authorization": "Bearer anything"}).status_code == 200


def test_strict_mode_knows_only_its_users_and_its_tokens(twin: Callable[..., TwinClient]) -> None:
    hub = twin("docker-hub", auth="strict")
    unknown = hub.post("/v2/users/login", json={"username": "someone42", "password": "x"})
    assert unknown.status_code == 401
    for token in (
        "anything",
        jwt.encode({"username": "moby"}, "a key the twin never used for signing", "HS256"),
    ):
        response = hub.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.json()["detail"] == "Error decoding signature."
    assert hub.get(PROTECTED, headers=login(hub)).status_code == 200


def test_strict_mode_accepts_credentials_of_the_admin_prefix(
    twin: Callable[..., TwinClient],
) -> None:
    hub = twin("docker-hub", auth="strict")
    issued = hub.post("/__apitwin__/credentials", json={})
    assert issued.status_code == 201, issued.text
    header = {issued.json()["use"]["name"]: issued.json()["use"]["value"]}
    assert hub.get(PROTECTED, headers=header).status_code == 200


@pytest.mark.parametrize("mode", MODES)
def test_tokens_expire_after_a_month_on_the_twin_clock(
    twin: Callable[..., TwinClient], mode: str
) -> None:
    hub = twin("docker-hub", auth=mode)
    header = login(hub)
    advance(hub, MONTH - 3600)
    assert hub.get(PROTECTED, headers=header).status_code == 200
    advance(hub, 3601)
    response = hub.get(PROTECTED, headers=header)
    assert response.status_code == 401
    assert response.json()["detail"] == "Signature has expired."


def _code(hub: TwinClient) -> str:
    now = hub.get("/__apitwin__/clock").json()["now"]
    return str(pyotp.TOTP(WHALE_TOTP_SECRET).at(now))


@pytest.mark.parametrize("mode", MODES)
def test_two_factor_login(twin: Callable[..., TwinClient], mode: str) -> None:
    hub = twin("docker-hub", auth=mode)
    first = hub.post("/v2/users/login", json=WHALE_2FA)
    assert first.status_code == 401
    body = first.json()
    assert body["detail"] == "Require secondary authentication on MFA enabled account"
    pending = body["login_2fa_token"]
    if mode == "strict":  # the pending token is no bearer token
        assert hub.get(PROTECTED, headers={"Authorization": f"Bearer {pending}"}).status_code == 401
    wrong = hub.post("/v2/users/2fa-login", json={"login_2fa_token": pending, "code": "000000"})
    if _code(hub) != "000000":
        assert wrong.status_code == 401
        assert wrong.json() == {"detail": "Incorrect authentication credentials"}
    done = hub.post("/v2/users/2fa-login", json={"login_2fa_token": pending, "code": _code(hub)})
    assert done.status_code == 200, done.text
    header = {"Authorization": f"Bearer {done.json()['token']}"}
    assert claims_of(header)["username"] == "whale2fa"
    assert hub.get(PROTECTED, headers=header).status_code == 200
    again = hub.post("/v2/users/2fa-login", json={"login_2fa_token": pending, "code": _code(hub)})
    assert again.status_code == 401  # a login_2fa_token works once


def test_two_factor_token_is_short_lived(twin: Callable[..., TwinClient]) -> None:
    hub = twin("docker-hub")
    pending = hub.post("/v2/users/login", json=WHALE_2FA).json()["login_2fa_token"]
    advance(hub, 301)
    late = hub.post("/v2/users/2fa-login", json={"login_2fa_token": pending, "code": _code(hub)})
    assert late.status_code == 401


def test_login_body_is_validated(twin: Callable[..., TwinClient]) -> None:
    hub = twin("docker-hub")
    response = hub.post("/v2/users/login", json={"username": "moby"})
    assert response.status_code == 400
    assert "password" in response.json()["detail"]


def test_stateless_twin_answers_from_the_document(twin: Callable[..., TwinClient]) -> None:
    hub = twin("docker-hub", stateful=False)
    response = hub.post("/v2/users/login", json=MOBY)
    assert response.status_code == 200
    assert isinstance(response.json()["token"], str)
