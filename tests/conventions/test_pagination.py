"""Pagination styles over HTTP, as each API's clients page through a stored collection."""

from __future__ import annotations

import base64
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import start_twin, stop_twin
from tests.conventions.conftest import BEARER, TwinClient

Open = Callable[..., TwinClient]


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


# -- DigitalOcean: page/per_page, links.pages, meta.total --------------------------------


def _tags(client: TwinClient, count: int) -> set[str]:
    """Create tags through the API as a client would: one token may make 250 requests a
    minute, so after every 200 creates the client waits a minute (on the twin clock)."""
    names = {f"tag-{n:04d}" for n in range(count)}
    for number, name in enumerate(sorted(names), start=1):
        assert client.post("/v2/tags", json={"name": name}, headers=BEARER).status_code == 201
        if number % 200 == 0:
            assert client.post("/__apitwin__/clock", json={"advance": 60}).status_code == 200
    return names


def test_digitalocean_following_next_yields_every_item_once(twin: Open) -> None:
    client = twin("digitalocean", empty=True)
    names = _tags(client, 450)
    seen: list[str] = []
    url: str | None = "/v2/tags?per_page=200"
    pages = []
    while url is not None:
        response = client.get(url, headers=BEARER)
        assert response.status_code == 200
        body = response.json()
        assert body["meta"]["total"] == 450
        pages.append(body["links"].get("pages", {}))
        seen += [tag["name"] for tag in body["tags"]]
        url = body["links"].get("pages", {}).get("next")
    assert sorted(seen) == sorted(names)
    assert len(pages) == 3
    first, middle, last = pages
    assert set(first) == {"next", "last"}  # no first/prev on page 1
    assert set(middle) == {"first", "prev", "next", "last"}
    assert set(last) == {"first", "prev"}  # no next/last on the last page
    assert _query(first["last"])["page"] == ["3"]
    assert _query(last["first"])["page"] == ["1"]
    assert _query(last["prev"])["page"] == ["2"]


def test_digitalocean_links_are_absolute_and_keep_the_other_parameters(twin: Open) -> None:
    client = twin("digitalocean", empty=True)
    _tags(client, 5)
    body = client.get("/v2/tags?per_page=2&page=2", headers=BEARER).json()
    next_url = body["links"]["pages"]["next"]
    parts = urlsplit(next_url)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "twin.test", "/v2/tags")
    assert _query(next_url) == {"per_page": ["2"], "page": ["3"]}
    assert [t["name"] for t in body["tags"]] == ["tag-0002", "tag-0003"]


def test_digitalocean_one_page_has_links_without_pages(twin: Open) -> None:
    client = twin("digitalocean", empty=True)
    _tags(client, 3)
    body = client.get("/v2/tags", headers=BEARER).json()
    assert body["links"] == {}
    assert body["meta"] == {"total": 3}
    assert len(body["tags"]) == 3


def test_digitalocean_default_page_is_20(twin: Open) -> None:
    client = twin("digitalocean", empty=True)
    _tags(client, 25)
    body = client.get("/v2/tags", headers=BEARER).json()
    assert len(body["tags"]) == 20
    assert _query(body["links"]["pages"]["next"]) == {"page": ["2"]}
    second = client.get(body["links"]["pages"]["next"], headers=BEARER).json()
    assert len(second["tags"]) == 5


def test_digitalocean_links_point_at_the_served_twin() -> None:
    served = start_twin("digitalocean", "--empty")
    try:
        with httpx.Client(base_url=served.base_url, headers=BEARER, timeout=10) as http:
            for n in range(3):
                http.post("/v2/tags", json={"name": f"t{n}"}).raise_for_status()
            body = http.get("/v2/tags?per_page=1").json()
            next_url = body["links"]["pages"]["next"]
            assert next_url.startswith(f"http://127.0.0.1:{served.port}/v2/tags?")
            assert http.get(next_url).json()["tags"][0]["name"] == "t1"
    finally:
        stop_twin(served)


# -- Docker Hub: page/page_size -> {count, next, previous, results} ------------------------


def _access_tokens(client: TwinClient, count: int) -> None:
    for n in range(count):
        response = client.post(
            "/v2/access-tokens",
            json={"token_label": f"token {n}", "scopes": ["repo:read"]},
            headers=BEARER,
        )
        assert response.status_code == 201


def test_docker_hub_pages_like_django_rest_framework(twin: Open) -> None:
    client = twin("docker-hub", empty=True)
    _access_tokens(client, 5)
    first = client.get("/v2/access-tokens?page_size=2", headers=BEARER).json()
    assert first["count"] == 5
    assert len(first["results"]) == 2
    assert first["previous"] is None
    assert _query(first["next"]) == {"page_size": ["2"], "page": ["2"]}
    second = client.get(first["next"], headers=BEARER).json()
    # back to page 1 is the URL without a page parameter
    assert _query(second["previous"]) == {"page_size": ["2"]}
    third = client.get(second["next"], headers=BEARER).json()
    assert len(third["results"]) == 1
    assert third["next"] is None
    labels = [t["token_label"] for t in first["results"] + second["results"] + third["results"]]
    assert labels == [f"token {n}" for n in range(5)]


def test_docker_hub_default_page_size_is_10_and_at_most_100(twin: Open) -> None:
    client = twin("docker-hub", empty=True)
    _access_tokens(client, 12)
    assert len(client.get("/v2/access-tokens", headers=BEARER).json()["results"]) == 10
    everything = client.get("/v2/access-tokens?page_size=1000", headers=BEARER).json()
    assert len(everything["results"]) == 12 and everything["next"] is None


def test_docker_hub_page_past_the_end_is_invalid(twin: Open) -> None:
    client = twin("docker-hub", empty=True)
    _access_tokens(client, 3)
    response = client.get("/v2/access-tokens?page=9", headers=BEARER)
    assert response.status_code == 404
    assert response.json()["detail"] == "Invalid page."


# -- eBay: offset/limit -> {href, total, limit, offset, next, prev} ------------------------

EBAY = {**BEARER, "X-EBAY-C-MARKETPLACE-ID": "EBAY_US"}


def test_ebay_deal_pages_with_href_next_and_prev(twin: Open) -> None:
    client = twin("ebay-deal")  # three seeded events
    body = client.get("/buy/deal/v1/event?limit=1&offset=1", headers=EBAY).json()
    assert (body["total"], body["limit"], body["offset"]) == (3, 1, 1)
    assert len(body["events"]) == 1
    assert _query(body["href"]) == {"limit": ["1"], "offset": ["1"]}
    assert _query(body["next"]) == {"limit": ["1"], "offset": ["2"]}
    assert _query(body["prev"]) == {"limit": ["1"], "offset": ["0"]}
    assert urlsplit(body["next"]).path == "/buy/deal/v1/event"
    last = client.get(body["next"], headers=EBAY).json()
    assert "next" not in last and "prev" in last
    first = client.get("/buy/deal/v1/event", headers=EBAY).json()
    assert (first["limit"], first["offset"]) == (20, 0)  # the documented defaults
    assert "next" not in first and "prev" not in first
    ids = {e["eventId"] for e in first["events"]}
    assert len(ids) == 3


@pytest.mark.parametrize(
    ("query", "error_id", "message"),
    [
        ("limit=101", 180002, "The specified limit is invalid. Maximum value supported is 100."),
        ("limit=0", 180002, "The specified limit is invalid. Maximum value supported is 100."),
        ("limit=ten", 180002, "The specified limit is invalid. Maximum value supported is 100."),
        ("offset=-1", 180003, "The specified offset is invalid."),
    ],
)
def test_ebay_deal_refuses_a_bad_page_with_its_documented_error(
    twin: Open, query: str, error_id: int, message: str
) -> None:
    client = twin("ebay-deal")
    response = client.get(f"/buy/deal/v1/event?{query}", headers=EBAY)
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert (error["errorId"], error["message"]) == (error_id, message)


# -- DRACOON: offset/limit -> {range: {offset, limit, total}, items} ----------------------


def test_dracoon_range_describes_the_page(twin: Open) -> None:
    client = twin("dracoon", empty=True)
    for n in range(4):
        response = client.post("/api/v4/groups", json={"name": f"group {n}"}, headers=BEARER)
        assert response.status_code == 201
    body = client.get("/api/v4/groups?offset=1&limit=2", headers=BEARER).json()
    assert body["range"] == {"offset": 1, "limit": 2, "total": 4}
    assert [g["name"] for g in body["items"]] == ["group 1", "group 2"]
    capped = client.get("/api/v4/groups?limit=5000", headers=BEARER).json()
    assert capped["range"] == {"offset": 0, "limit": 500, "total": 4}  # at most 500 entries
    assert len(capped["items"]) == 4


# -- drchrono: cursor + page_size -> {data, next, previous} --------------------------------


def test_drchrono_cursor_pages_yield_every_item_once(twin: Open) -> None:
    client = twin("drchrono", empty=True)
    created = set()
    for n in range(7):  # sublabs: a family that refers to no other record
        lab = {"name": f"lab {n}", "facility_code": f"F{n}"}
        response = client.post("/api/sublabs", json=lab, headers=BEARER)
        assert response.status_code == 201, response.text
        created.add(response.json()["id"])
    seen: list[int] = []
    url: str | None = "/api/sublabs?page_size=3"
    previous_links = []
    while url is not None:
        body = client.get(url, headers=BEARER).json()
        seen += [item["id"] for item in body["data"]]
        previous_links.append(body["previous"])
        url = body["next"]
    assert sorted(seen) == sorted(created)
    assert len(previous_links) == 3
    assert previous_links[0] is None and all(previous_links[1:])


def test_drchrono_unknown_cursor_is_refused(twin: Open) -> None:
    client = twin("drchrono")
    forged = base64.urlsafe_b64encode(b"something else").decode()
    response = client.get(f"/api/allergies?cursor={forged}", headers=BEARER)
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid cursor"}
