"""Read-only and read/write tokens: DigitalOcean tokens are issued "full or read-only";
a read-only token reads everything and is refused every write with the service's 403.
Tokens come from ``POST /__apitwin__/credentials``: scopes ``["read"]`` make one
read-only (profile ``auth.read_only_scopes``), no scopes a full-access one."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pydo
import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.policies import HeadersPolicy

from tests.conftest import ServedTwin, start_twin, stop_twin

FORBIDDEN = {"id": "forbidden", "message": "You do not have access for the attempted action."}
BODY = {"name": "web-1", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-22-04-x64"}


def _issue(base_url: str, **payload: object) -> str:
    issued = httpx.post(f"{base_url}/__apitwin__/credentials", json=payload)
    assert issued.status_code == 201, issued.text
    return str(issued.json()["credential"])


def _pydo(base_url: str, token: str) -> pydo.Client:
    bearer = HeadersPolicy({"Authorization": f"Bearer {token}"})
    return pydo.Client(token=token, endpoint=base_url, authentication_policy=bearer)


@pytest.fixture(scope="module", params=["strict", "open"])
def served(request: pytest.FixtureRequest) -> Iterator[ServedTwin]:
    twin = start_twin("digitalocean", "--empty", "--auth", request.param)
    yield twin
    stop_twin(twin)


def test_a_read_only_token_reads_but_may_not_write(served: ServedTwin) -> None:
    base = served.base_url
    writer = _issue(base)
    reader = _issue(base, scopes=["read"])
    full = {"Authorization": f"Bearer {writer}"}
    read = {"Authorization": f"Bearer {reader}"}
    created = httpx.post(f"{base}/v2/droplets", json=BODY, headers=full)
    assert created.status_code == 202, created.text
    ident = created.json()["droplet"]["id"]

    listed = httpx.get(f"{base}/v2/droplets", headers=read)
    assert listed.status_code == 200
    assert [d["id"] for d in listed.json()["droplets"]] == [ident]
    assert httpx.head(f"{base}/v2/droplets/{ident}", headers=read).status_code == 200

    before = httpx.get(f"{base}/__apitwin__/state").json()
    refusals = [
        httpx.post(f"{base}/v2/droplets", json=BODY, headers=read),
        httpx.delete(f"{base}/v2/droplets/{ident}", headers=read),
        httpx.post(f"{base}/v2/droplets/{ident}/actions", json={"type": "reboot"}, headers=read),
        httpx.put(f"{base}/v2/projects/default", json={"name": "x"}, headers=read),
    ]
    for response in refusals:
        assert response.status_code == 403, response.text
        body = response.json()
        assert {k: body[k] for k in FORBIDDEN} == FORBIDDEN
        assert "ratelimit-remaining" in response.headers
    assert httpx.get(f"{base}/__apitwin__/state").json() == before


def test_read_and_write_scopes_make_a_full_token(served: ServedTwin) -> None:
    token = _issue(served.base_url, scopes=["read", "write"])
    response = httpx.post(
        f"{served.base_url}/v2/tags",
        json={"name": "rw"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text


def test_pydo_with_a_read_only_token(served: ServedTwin) -> None:
    reader = _pydo(served.base_url, _issue(served.base_url, scopes=["read"]))
    assert reader.account.get()["account"]["status"] == "active"
    assert "droplets" in reader.droplets.list()
    with pytest.raises(HttpResponseError) as refused:
        reader.tags.create(body={"name": "nope"})
    assert refused.value.status_code == 403
    assert refused.value.response.json()["id"] == "forbidden"
    writer = _pydo(served.base_url, _issue(served.base_url))
    assert writer.tags.create(body={"name": "yes"})["tag"]["name"] == "yes"


def test_strict_mode_refuses_unknown_tokens_with_the_service_body() -> None:
    twin = start_twin("digitalocean", "--empty", "--auth", "strict")
    try:
        response = httpx.get(
            f"{twin.base_url}/v2/account", headers={"Authorization": "Bearer made-up"}
        )
        assert response.status_code == 401
        assert response.json()["id"] == "unauthorized"
        assert response.json()["message"] == "Unable to authenticate you."
    finally:
        stop_twin(twin)


def test_open_mode_accepts_any_token_for_writes() -> None:
    twin = start_twin("digitalocean", "--empty")
    try:
        response = httpx.post(
            f"{twin.base_url}/v2/tags",
            json={"name": "any"},
            headers={"Authorization": "Bearer never-issued"},
        )
        assert response.status_code == 201, response.text
    finally:
        stop_twin(twin)
