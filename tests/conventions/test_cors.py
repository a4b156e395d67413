"""CORS over HTTP, as a browser drives it: the preflight, then the request itself."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from apitwin.twins.registry import bundled_names
from tests.conventions.conftest import BEARER, TwinClient
from tests.engine.test_app import HTTP_METHODS, ROUTES, SHAPES, concrete, spec

Open = Callable[..., TwinClient]
PAGE = "https://panel.example.com"


def _preflight(method: str, headers: str | None = None) -> dict[str, str]:
    result = {"Origin": PAGE, "Access-Control-Request-Method": method}
    if headers:
        result["Access-Control-Request-Headers"] = headers
    return result


def _methods(value: str) -> set[str]:
    return {m.strip() for m in value.split(",")}


def test_digitalocean_preflight_allows_the_methods_of_the_path(twin: Open) -> None:
    client = twin("digitalocean")
    response = client.request(
        "OPTIONS", "/v2/droplets", headers=_preflight("POST", "authorization,content-type")
    )
    assert response.status_code == 204
    assert response.content == b""
    headers = response.headers
    assert headers["access-control-allow-origin"] == PAGE
    assert headers["access-control-allow-credentials"] == "true"
    # /v2/droplets documents GET, POST and DELETE; HEAD is served for every GET
    assert _methods(headers["access-control-allow-methods"]) == {
        "GET",
        "HEAD",
        "POST",
        "DELETE",
        "OPTIONS",
    }
    assert headers["access-control-allow-headers"] == "authorization,content-type"
    assert headers["access-control-max-age"] == "86400"


def test_preflight_needs_no_credentials_and_answers_for_any_path_of_the_api(twin: Open) -> None:
    client = twin("digitalocean")
    response = client.request("OPTIONS", "/v2/droplets/12345", headers=_preflight("DELETE"))
    assert response.status_code == 204
    assert "DELETE" in _methods(response.headers["access-control-allow-methods"])
    assert "POST" not in _methods(response.headers["access-control-allow-methods"])
    assert response.headers["access-control-allow-headers"]


def test_cross_origin_request_may_read_the_rate_limit_headers(twin: Open) -> None:
    client = twin("digitalocean")
    response = client.get("/v2/account", headers={**BEARER, "Origin": PAGE})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == PAGE
    assert response.headers["access-control-allow-credentials"] == "true"
    exposed = {h.lower() for h in _methods(response.headers["access-control-expose-headers"])}
    assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"} <= exposed
    assert "ratelimit-remaining" in response.headers


def test_errors_to_a_cross_origin_request_are_readable_too(twin: Open) -> None:
    client = twin("digitalocean")
    response = client.get("/v2/no-such-thing", headers={**BEARER, "Origin": PAGE})
    assert response.status_code == 404
    assert response.headers["access-control-allow-origin"] == PAGE
    SHAPES["digitalocean"](response)


def test_same_origin_request_gets_no_cors_headers(twin: Open) -> None:
    client = twin("digitalocean")
    response = client.get("/v2/account", headers=BEARER)
    assert response.status_code == 200
    assert not any(name.startswith("access-control-") for name in response.headers)


def test_options_that_is_not_a_preflight_stays_405(twin: Open) -> None:
    client = twin("digitalocean")
    plain = client.request("OPTIONS", "/v2/droplets")
    assert plain.status_code == 405
    assert _methods(plain.headers["allow"]) == {"GET", "POST", "DELETE"}
    SHAPES["digitalocean"](plain)
    origin_only = client.request("OPTIONS", "/v2/droplets", headers={"Origin": PAGE})
    assert origin_only.status_code == 405


def test_preflight_on_an_unknown_path_is_the_api_404(twin: Open) -> None:
    client = twin("digitalocean")
    response = client.request("OPTIONS", "/v2/no-such-thing", headers=_preflight("GET"))
    assert response.status_code == 404
    SHAPES["digitalocean"](response)


@pytest.mark.parametrize("name", bundled_names())
def test_every_twin_answers_a_preflight(twin: Open, name: str) -> None:
    base, template, _ = ROUTES[name]
    documented = {m.upper() for m in spec(name)["paths"][template] if m in HTTP_METHODS}
    client = twin(name, stateful=False)
    method = sorted(documented)[0]
    response = client.request("OPTIONS", base + concrete(template), headers=_preflight(method))
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == PAGE
    assert documented <= _methods(response.headers["access-control-allow-methods"])
