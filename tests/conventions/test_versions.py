"""Docker Engine's versioned paths, as the docker CLI and SDK use them."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.conftest import start_twin, stop_twin
from tests.conventions.conftest import TwinClient

Open = Callable[..., TwinClient]


@pytest.mark.parametrize("prefix", ["", "/v1.24", "/v1.30", "/v1.33"])
def test_ping_answers_unversioned_and_every_supported_version(twin: Open, prefix: str) -> None:
    response = twin("docker-engine").get(f"{prefix}/_ping")
    assert response.status_code == 200
    assert response.text == "OK"
    assert response.headers["api-version"] == "1.33"


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("1.45", "client version 1.45 is too new. Maximum supported API version is 1.33"),
        ("1.34", "client version 1.34 is too new. Maximum supported API version is 1.33"),
        ("2.0", "client version 2.0 is too new. Maximum supported API version is 1.33"),
        (
            "1.23",
            "client version 1.23 is too old. Minimum supported API version is 1.24, "
            "please upgrade your client to a newer version",
        ),
    ],
)
def test_unsupported_version_is_the_daemons_400(twin: Open, version: str, message: str) -> None:
    response = twin("docker-engine").get(f"/v{version}/info")
    assert response.status_code == 400
    assert response.json() == {"message": message}
    assert response.headers["api-version"] == "1.33"


def test_every_answer_names_the_api_version(twin: Open) -> None:
    client = twin("docker-engine")
    answers = [
        client.request("HEAD", "/_ping"),
        client.get("/v1.33/version"),
        client.get("/v1.33/no-such-thing"),
        client.request("DELETE", "/_ping"),
        client.post("/images/create?fromImage=alpine&tag=latest"),
        client.post("/containers/create", json={"Image": "alpine"}),
    ]
    assert [a.status_code for a in answers] == [200, 200, 404, 405, 200, 201]
    for answer in answers:
        assert answer.headers.get_list("api-version") == ["1.33"]


def test_state_is_the_same_under_every_version(twin: Open) -> None:
    client = twin("docker-engine", empty=True)
    assert client.post("/v1.30/images/create?fromImage=alpine&tag=latest").status_code == 200
    created = client.post("/v1.24/containers/create?name=web", json={"Image": "alpine"})
    assert created.status_code == 201
    ident = created.json()["Id"]
    assert client.get(f"/containers/{ident}/json").status_code == 200
    assert client.get(f"/v1.33/containers/{ident}/json").status_code == 200
    assert client.request("DELETE", f"/v1.30/containers/{ident}").status_code == 204
    assert client.get(f"/containers/{ident}/json").status_code == 404


def test_served_daemon_pings_without_a_version() -> None:
    served = start_twin("docker-engine", "--stateless")
    try:
        origin = f"http://127.0.0.1:{served.port}"
        head = httpx.head(f"{origin}/_ping", timeout=5)
        assert head.status_code == 200
        assert head.headers["api-version"] == "1.33"
        assert head.headers["content-length"] == "2"
        assert httpx.get(f"{origin}/v1.45/version", timeout=5).status_code == 400
    finally:
        stop_twin(served)
