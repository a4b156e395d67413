"""Rate limits over HTTP: DigitalOcean's sliding per-token limits, its per-endpoint limits,
and Docker Hub's per-minute window, measured on the twin clock."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from apitwin.app import create_app
from apitwin.conventions.ratelimit import RateLimitConfigError
from tests.conftest import start_twin, stop_twin
from tests.conventions.conftest import TwinClient

Open = Callable[..., TwinClient]

TOKEN_A = {"Authorization": "Bearer token-a"}
TOKEN_B = {"Authorization": "Bearer token-b"}
TOO_MANY = {"id": "too_many_requests", "message": "API Rate limit exceeded."}


def _advance(http: httpx.Client | TwinClient, seconds: float) -> float:
    """Move the twin clock forward; returns the twin's time afterwards."""
    response = http.post("/__apitwin__/clock", json={"advance": seconds})
    assert response.status_code == 200
    return float(response.json()["now"])


def _now(http: httpx.Client | TwinClient) -> float:
    return float(http.get("/__apitwin__/clock").json()["now"])


def _refused_like_digitalocean(response: httpx.Response, remaining: str | None = "0") -> None:
    """The documented 429; ``remaining`` is the token's count in the twin-wide limits
    (None: not checked), which an endpoint's own limit leaves as it is."""
    assert response.status_code == 429
    body = response.json()
    assert {key: body[key] for key in TOO_MANY} == TOO_MANY
    assert response.headers["ratelimit-limit"] == "5000"
    if remaining is not None:
        assert response.headers["ratelimit-remaining"] == remaining
    assert int(response.headers["retry-after"]) >= 1


# -- DigitalOcean: 5,000 an hour, 250 a minute, per token --------------------------------


def test_digitalocean_251st_request_within_a_minute_is_refused() -> None:
    served = start_twin("digitalocean")
    try:
        with httpx.Client(base_url=served.base_url, timeout=10) as http:
            started = _now(http)
            resets = set()
            for number in range(1, 251):
                response = http.get("/v2/account", headers=TOKEN_A)
                assert response.status_code == 200, (number, response.text)
                assert response.headers["ratelimit-limit"] == "5000"
                # the minute's 250 bind before the hour's 5,000
                assert response.headers["ratelimit-remaining"] == str(250 - number)
                resets.add(response.headers["ratelimit-reset"])
            # the reset is when the oldest request expires: one hour after the first
            (reset,) = resets
            assert started + 3599 <= int(reset) <= started + 3601

            refused = http.get("/v2/account", headers=TOKEN_A)
            _refused_like_digitalocean(refused)
            assert refused.headers["ratelimit-reset"] == reset
            assert int(refused.headers["retry-after"]) <= 60

            other = http.get("/v2/account", headers=TOKEN_B)
            assert other.status_code == 200
            assert other.headers["ratelimit-remaining"] == "249"

            _advance(http, 60)
            again = http.get("/v2/account", headers=TOKEN_A)
            assert again.status_code == 200
            # the minute is free again; the hour still counts the first 250 (and this one)
            assert again.headers["ratelimit-remaining"] == "249"
            assert again.headers["ratelimit-reset"] == reset
    finally:
        stop_twin(served)


def test_digitalocean_each_request_expires_on_its_own_timer(twin: Open) -> None:
    client = twin("digitalocean")
    for _ in range(200):
        assert client.get("/v2/regions", headers=TOKEN_A).status_code == 200
    _advance(client, 30)
    for _ in range(50):
        assert client.get("/v2/regions", headers=TOKEN_A).status_code == 200
    assert client.get("/v2/regions", headers=TOKEN_A).status_code == 429
    # 30 s later the first 200 have expired, the last 50 have not: 200 pass, not 250
    _advance(client, 30.5)
    for number in range(200):
        response = client.get("/v2/regions", headers=TOKEN_A)
        assert response.status_code == 200, number
    _refused_like_digitalocean(client.get("/v2/regions", headers=TOKEN_A))


def test_digitalocean_hourly_limit_counts_every_request_for_an_hour(twin: Open) -> None:
    client = twin(
        "digitalocean",
        rate_limits={
            "limits": [{"requests": 300, "seconds": 3600}, {"requests": 250, "seconds": 60}]
        },
    )
    for _ in range(250):
        assert client.get("/v2/regions", headers=TOKEN_A).status_code == 200
    _advance(client, 61)
    for _ in range(50):
        assert client.get("/v2/regions", headers=TOKEN_A).status_code == 200
    refused = client.get("/v2/regions", headers=TOKEN_A)
    assert refused.status_code == 429
    assert refused.headers["ratelimit-limit"] == "300"
    # the oldest request leaves the hour 3,600 s after it was made: 3,539 s from now
    assert 3530 <= int(refused.headers["retry-after"]) <= 3540


def test_digitalocean_refused_request_changes_nothing(twin: Open) -> None:
    client = twin("digitalocean", empty=True)
    for _ in range(250):
        assert client.get("/v2/tags", headers=TOKEN_A).status_code == 200
    refused = client.post("/v2/tags", json={"name": "late"}, headers=TOKEN_A)
    _refused_like_digitalocean(refused)
    assert client.get("/v2/tags", headers=TOKEN_B).json()["tags"] == []


def test_digitalocean_rate_limit_headers_on_errors_too(twin: Open) -> None:
    client = twin("digitalocean")
    missing = client.get("/v2/droplets/999999", headers=TOKEN_A)
    assert missing.status_code == 404
    assert missing.headers["ratelimit-remaining"] == "249"
    unknown = client.get("/v2/no-such-thing", headers=TOKEN_A)
    assert unknown.status_code == 404
    assert unknown.headers["ratelimit-remaining"] == "248"


@pytest.mark.parametrize(
    ("method", "paths", "allowed", "seconds"),
    [
        ("POST", ["/v2/floating_ips"], 12, 60),
        ("GET", ["/v2/account/keys"], 10, 60),
        (
            "GET",
            ["/v2/cdn/endpoints", "/v2/cdn/endpoints/19f06b6a-3ace-4315-b086-499a0e521b76"],
            5,
            10,
        ),
    ],
)
def test_digitalocean_per_endpoint_limits(
    twin: Open, method: str, paths: list[str], allowed: int, seconds: int
) -> None:
    client = twin("digitalocean")
    body = {"region": "nyc3"} if method == "POST" else None
    for number in range(allowed):
        path = paths[number % len(paths)]
        response = client.request(method, path, json=body, headers=TOKEN_A)
        assert response.status_code != 429, (number, response.text)
    refused = client.request(method, paths[0], json=body, headers=TOKEN_A)
    _refused_like_digitalocean(refused, remaining=str(250 - allowed))
    assert int(refused.headers["retry-after"]) <= seconds
    # the limit is that endpoint's alone: the token's other requests still pass
    assert client.get("/v2/regions", headers=TOKEN_A).status_code == 200
    assert client.request(method, paths[0], json=body, headers=TOKEN_B).status_code != 429
    _advance(client, seconds)
    assert client.request(method, paths[0], json=body, headers=TOKEN_A).status_code != 429


def test_digitalocean_floating_ip_limit_is_for_creates_only(twin: Open) -> None:
    client = twin("digitalocean")
    for _ in range(12):
        client.post("/v2/floating_ips", json={"region": "nyc3"}, headers=TOKEN_A)
    assert (
        client.post("/v2/floating_ips", json={"region": "nyc3"}, headers=TOKEN_A).status_code == 429
    )
    assert client.get("/v2/floating_ips", headers=TOKEN_A).status_code == 200


def test_counts_are_shared_by_worker_processes(tmp_path: Path) -> None:
    served = start_twin(
        "digitalocean", "--store", "sqlite", "--data-dir", str(tmp_path), "--workers", "2"
    )
    try:
        statuses = []
        for _ in range(251):  # a new connection each time, so both workers answer
            response = httpx.get(f"{served.base_url}/v2/regions", headers=TOKEN_A, timeout=10)
            statuses.append(response.status_code)
        assert statuses.count(200) == 250
        assert statuses[-1] == 429
    finally:
        stop_twin(served)


def test_rate_limits_off_for_one_twin_from_the_command_line() -> None:
    served = start_twin("digitalocean", "--rate-limits", "digitalocean=off")
    try:
        with httpx.Client(base_url=served.base_url, timeout=10) as http:
            statuses = {http.get("/v2/regions", headers=TOKEN_A).status_code for _ in range(260)}
        assert statuses == {200}
    finally:
        stop_twin(served)


def test_rate_limits_off_in_process(twin: Open) -> None:
    client = twin("digitalocean", rate_limits=False)
    statuses = {client.get("/v2/regions", headers=TOKEN_A).status_code for _ in range(260)}
    assert statuses == {200}


def test_a_policy_that_cannot_be_compiled_is_named() -> None:
    with pytest.raises(RateLimitConfigError, match="limits"):
        create_app("digitalocean", rate_limits={"limits": [{"requests": 0, "seconds": 60}]})


# -- Docker Hub: X-RateLimit-* per minute, 429 with X-Retry-After ------------------------


def test_docker_hub_rate_limit_headers_and_retry_after(twin: Open) -> None:
    client = twin("docker-hub")
    now = _now(client)
    now = _advance(client, 60 - now % 60 + 0.001)  # at the start of a minute
    window_end = str(int(now // 60 * 60 + 60))
    path = "/v2/namespaces/acme/repositories/web/tags"
    for number in range(1, 181):
        response = client.get(path, headers=TOKEN_A)
        assert response.status_code != 429, number
        assert response.headers["x-ratelimit-limit"] == "180"
        assert response.headers["x-ratelimit-remaining"] == str(180 - number)
        assert response.headers["x-ratelimit-reset"] == window_end
    refused = client.get(path, headers=TOKEN_A)
    assert refused.status_code == 429
    assert refused.headers["x-retry-after"] == window_end
    assert set(refused.json()) == {"detail", "message"}
    assert client.get(path, headers=TOKEN_B).status_code != 429
    _advance(client, int(window_end) - now)
    passed = client.get(path, headers=TOKEN_A)
    assert passed.status_code != 429
    assert passed.headers["x-ratelimit-remaining"] == "179"


def test_twins_without_a_policy_send_no_rate_limit_headers(twin: Open) -> None:
    client = twin("dnd5e")
    for _ in range(300):
        response = client.get("/api/ability-scores/cha")
        assert response.status_code == 200
    assert not any("ratelimit" in name for name in response.headers)
