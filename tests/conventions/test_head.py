"""HEAD for every GET: what a GET would answer, without the body."""

from __future__ import annotations

from collections.abc import Callable

from tests.conventions.conftest import BEARER, TwinClient

Open = Callable[..., TwinClient]


def test_head_of_a_stored_list_is_its_get_without_body(twin: Open) -> None:
    client = twin("digitalocean")
    get = client.get("/v2/droplets?per_page=2", headers=BEARER)
    head = client.request("HEAD", "/v2/droplets?per_page=2", headers=BEARER)
    assert get.status_code == head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    assert head.headers["content-type"] == get.headers["content-type"]
    assert set(head.headers) == set(get.headers)  # ratelimit-* included


def test_head_of_a_canned_answer_is_its_get_without_body(twin: Open) -> None:
    client = twin("dnd5e", stateful=False)
    get = client.get("/api/ability-scores/cha")
    head = client.request("HEAD", "/api/ability-scores/cha")
    assert get.status_code == head.status_code == 200
    assert get.content and head.content == b""
    assert dict(head.headers) == dict(get.headers)


def test_head_of_a_missing_item_is_its_404_without_body(twin: Open) -> None:
    client = twin("digitalocean", empty=True)
    get = client.get("/v2/droplets/999999", headers=BEARER)
    head = client.request("HEAD", "/v2/droplets/999999", headers=BEARER)
    assert get.status_code == head.status_code == 404
    assert head.content == b""
    assert head.headers["content-length"] == str(len(get.content))


def test_head_where_there_is_no_get_is_405(twin: Open) -> None:
    client = twin("digitalocean")
    # not /v2/droplets/actions: a GET there reaches /v2/droplets/{droplet_id} (spec/router.py)
    response = client.request("HEAD", "/v2/registry/validate-name", headers=BEARER)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.content == b""
