"""Every error the engine makes, on every bundled twin, in that API's own error shape.

One table per twin: where its shape comes from (the behaviour sheet in shared/twins/, or
the document), how to check a body is in it, and one request per kind of error the
engine makes. A kind the engine cannot make on a twin names the reason instead, and
``test_every_twin_has_every_kind`` keeps the table complete.

The requests go over HTTP to the ASGI app of the bundled twin (httpx's ASGITransport).
Two things are added to the bundled profile, and nothing else changes: a test-only
behaviour module that raises on one operation (the internal defect, answered 500), and,
for the twins whose service documents no rate limits, a limit of one request a minute
(so that the 429 the engine would send them can be seen). Body-size and rate-limit
probes run on an app of their own, built with a 64-byte body limit and that limit.
"""

from __future__ import annotations

import asyncio
import sys
import types
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

import httpx
import pytest

from apitwin.behaviours.base import Behaviour
from apitwin.engine.context import Reply, RequestContext
from apitwin.engine.twin import Twin, TwinOptions, build_twin
from apitwin.server.app import TwinApp
from apitwin.state.memory import MemoryStore
from apitwin.twins.registry import bundled_names, bundled_profile, spec_path

KINDS = (
    "validation",
    "auth",
    "no_route",
    "unknown_id",
    "method",
    "not_acceptable",
    "conflict",
    "too_large",
    "unsupported_type",
    "rate_limited",
    "internal",
)

# Kinds sent to an app of their own: with a small body limit, with a one-a-minute limit.
_OWN_APP = frozenset({"too_large", "rate_limited"})
_MAX_BODY = 64

# The HTTP status names DigitalOcean's document uses as error ids (its examples:
# unauthorized, not_found, too_many_requests, server_error, bad_request,
# unprocessable_entity, forbidden, conflict).
_STATUS_IDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable_entity",
    429: "too_many_requests",
    500: "server_error",
}


@dataclass(frozen=True)
class Probe:
    """One request that makes the engine refuse with ``status``."""

    method: str
    path: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    named: int = 0  # the status the body names, when the HTTP status differs (dweet)
    before: tuple[tuple[str, str], ...] = ()  # requests sent first (method, path)
    repeat: bool = False  # the same request is sent once before (the first one passes)


Check = Callable[[httpx.Response, int], str]
"""Asserts a response is in the API's error shape for an error of the given status;
returns the message it carries."""


@dataclass(frozen=True)
class Case:
    sheet: str  # where the shape is written down
    check: Check
    credentials: dict[str, str]  # headers a request needs to get past authentication
    probes: dict[str, Probe | str]  # per kind: the request, or why the engine makes none


# -- shapes -----------------------------------------------------------------------------


def _json(response: httpx.Response) -> Any:
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def _text(value: Any) -> str:
    assert isinstance(value, str) and value.strip(), value
    return value


def _digitalocean(response: httpx.Response, status: int) -> str:
    body = _json(response)
    assert set(body) == {"id", "message", "request_id"}
    assert body["id"] == _STATUS_IDS[status]
    uuid.UUID(body["request_id"])
    return _text(body["message"])


def _only(key: str) -> Check:
    def check(response: httpx.Response, status: int) -> str:
        body = _json(response)
        assert set(body) == {key}
        return _text(body[key])

    return check


def _docker_hub(response: httpx.Response, status: int) -> str:
    body = _json(response)
    assert set(body) == {"detail", "message"}
    return _text(body["detail"]) + " " + _text(body["message"])


# Discourse's error_type for each status (ApplicationController's rescue_from handlers):
# invalid_parameters (400), not_logged_in / invalid_access (403), not_found (404),
# rate_limit (429); a failed validation (422, render_json_error without a type) has none;
# the others are named by their status.
_DISCOURSE_TYPES = {
    400: {"invalid_parameters"},
    403: {"not_logged_in", "invalid_access"},
    404: {"not_found"},
    429: {"rate_limit"},
}


def _discourse(response: httpx.Response, status: int) -> str:
    # pydiscourse compares the content type as a string (docs/conventions.md)
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert isinstance(body["errors"], list) and body["errors"]
    if status == 422:
        assert set(body) == {"errors"}
        return " ".join(_text(e) for e in body["errors"])
    assert {"errors", "error_type"} <= set(body)
    expected = _DISCOURSE_TYPES.get(status)
    if expected is not None:
        assert body["error_type"] in expected
    _text(body["error_type"])
    if status == 429:  # pydiscourse waits extras.wait_seconds before it retries
        assert set(body) == {"errors", "error_type", "extras"}
        assert isinstance(body["extras"]["wait_seconds"], int)
        assert body["extras"]["wait_seconds"] > 0
    else:
        assert set(body) == {"errors", "error_type"}
    return " ".join(_text(e) for e in body["errors"])


def _nookipedia(response: httpx.Response, status: int) -> str:
    body = _json(response)
    assert set(body) == {"title", "details"}
    assert body["title"] == httpx.codes.get_reason_phrase(status)
    return _text(body["details"])


def _digitalnz(response: httpx.Response, status: int) -> str:
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "hash"
    assert [child.tag for child in root] == ["errors"]
    return _text(root[0].text)


def _dracoon(response: httpx.Response, status: int) -> str:
    body = _json(response)
    assert set(body) == {"code", "message", "debugInfo", "errorCode"}
    assert body["code"] == status
    assert body["message"] == httpx.codes.get_reason_phrase(status)
    assert isinstance(body["errorCode"], int) and body["errorCode"] < 0
    return _text(body["debugInfo"])


def _dweet(response: httpx.Response, status: int) -> str:
    body = _json(response)
    assert set(body) == {"this", "with", "because"}
    assert body["this"] == "failed"
    assert body["with"] == status
    return _text(body["because"])


# eBay's common errors (developer.ebay.com "API Response Status Errors"): 1001 invalid
# access token (domain OAuth), 1100 access denied and 2001 too many requests (ACCESS);
# the API's own ids otherwise (the profile's error_codes: Browse 11001 not found, 12000
# internal; Deal 150001, 150000).
_EBAY_IDS = {401: (1001, "OAuth"), 403: (1100, "ACCESS"), 429: (2001, "ACCESS")}


def _ebay(domain: str, not_found: int, internal: int) -> Check:
    def check(response: httpx.Response, status: int) -> str:
        body = _json(response)
        assert set(body) == {"errors"}
        assert isinstance(body["errors"], list) and len(body["errors"]) == 1
        error = body["errors"][0]
        assert set(error) == {"errorId", "domain", "category", "message"}
        expected = {**_EBAY_IDS, 404: (not_found, domain), 500: (internal, domain)}.get(status)
        if expected is not None:
            assert (error["errorId"], error["domain"]) == expected
        else:
            assert isinstance(error["errorId"], int) and error["domain"] == domain
        assert error["category"] == "REQUEST"
        return _text(error["message"])

    return check


# -- the table --------------------------------------------------------------------------

_BEARER = {"Authorization": "Bearer any-token"}
_NO_BODY = (
    "no operation of the document takes a request body, and a body it does not declare is ignored"
)
_NO_ACCEPT = (
    "no operation declares an Accept parameter and the service answers its one media type "
    "whatever the client accepts, so the engine refuses no Accept header"
)
_NO_CONFLICT = (
    "the engine's 409 is a create with an id that is taken; no create of this twin takes "
    "the id from the client"
)
_OPEN = "the service takes no credentials"
_READ_ONLY = "the API only reads: no operation creates anything"
_LARGE = b"x" * (_MAX_BODY * 2)
_JSON = {"Content-Type": "application/json"}
_DISCOURSE_KEY = {"Api-Key": "a" * 64, "Api-Username": "system"}
_DVP = "/api/publisher/analytics/v1"
_BROWSE = "/buy/browse/v1"
_DEAL = "/buy/deal/v1"

CASES: dict[str, Case] = {
    "digitalocean": Case(
        "shared/twins/digitalocean.md, sections 3 and 6: {id, message, request_id}, id one of "
        "not_found, forbidden, unprocessable_entity, unauthorized, too_many_requests",
        _digitalocean,
        _BEARER,
        {
            "validation": Probe("GET", "/v2/droplets?per_page=500", 422),
            "auth": Probe("GET", "/v2/account", 401, {"Authorization": ""}),
            "no_route": Probe("GET", "/v2/no-such-things", 404),
            "unknown_id": Probe("GET", "/v2/account/keys/999999999", 404),
            "method": Probe("DELETE", "/v2/account", 405),
            "not_acceptable": Probe("POST", "/v2/apps", 406, {"Accept": "text/html"}, b"{}"),
            # The seeded account's registry holds the name (its document's 409).
            "conflict": Probe(
                "POST", "/v2/registry/validate-name", 409, _JSON, b'{"name": "twin-registry"}'
            ),
            "too_large": Probe("POST", "/v2/tags", 413, _JSON, _LARGE),
            "unsupported_type": Probe(
                "POST", "/v2/tags", 415, {"Content-Type": "text/csv"}, b"name\nweb\n"
            ),
            "rate_limited": Probe("GET", "/v2/account", 429),
            "internal": Probe("GET", "/v2/account", 500),
        },
    ),
    "docker-engine": Case(
        'shared/twins/docker-engine.md, sections 3 and 6: always {"message": ...} (218 '
        "declared responses)",
        _only("message"),
        {},
        {
            "validation": Probe("GET", "/v1.33/containers/json?limit=many", 400),
            "auth": _OPEN + " (registry credentials travel to the registry in X-Registry-Auth)",
            "no_route": Probe("GET", "/v1.33/no-such-things", 404),
            "unknown_id": Probe("GET", "/v1.33/containers/no-such-container/json", 404),
            "method": Probe("DELETE", "/v1.33/_ping", 405),
            "not_acceptable": _NO_ACCEPT,
            "conflict": Probe(
                "POST", "/v1.33/networks/create", 409, _JSON, b'{"Name": "taken"}', repeat=True
            ),
            "too_large": Probe("POST", "/v1.33/networks/create", 413, _JSON, _LARGE),
            "unsupported_type": Probe(
                "POST", "/v1.33/networks/create", 415, {"Content-Type": "text/csv"}, b"Name\nx\n"
            ),
            "rate_limited": Probe("GET", "/v1.33/info", 429),
            "internal": Probe("GET", "/v1.33/info", 500),
        },
    ),
    "docker-hub": Case(
        "shared/twins/docker-hub.md, section 3: {detail, message} (21 declared responses)",
        _docker_hub,
        _BEARER,
        {
            "validation": Probe("GET", "/v2/access-tokens?page=many", 400),
            "auth": Probe("GET", "/v2/access-tokens", 401, {"Authorization": ""}),
            "no_route": Probe("GET", "/v2/no-such-things", 404),
            "unknown_id": Probe(
                "GET", "/v2/access-tokens/4d0a7d0a-8b5b-4f47-9c7e-2c1f7c0c2d11", 404
            ),
            "method": Probe("DELETE", "/v2/access-tokens", 405),
            "not_acceptable": _NO_ACCEPT,
            "conflict": Probe(
                "POST",
                "/v2/namespaces/acme/repositories",
                409,
                _JSON,
                b'{"name": "taken", "namespace": "acme"}',
                repeat=True,
            ),
            "too_large": Probe("POST", "/v2/access-tokens", 413, _JSON, _LARGE),
            "unsupported_type": Probe(
                "POST", "/v2/access-tokens", 415, {"Content-Type": "text/csv"}, b"a\n"
            ),
            "rate_limited": Probe("GET", "/v2/access-tokens", 429),
            "internal": Probe("GET", "/v2/access-tokens", 500),
        },
    ),
    "docker-dvp": Case(
        "shared/twins/docker-dvp.md, section 3: {detail} (the document's only error schema)",
        _only("detail"),
        _BEARER,
        {
            "validation": Probe(
                "GET", f"{_DVP}/namespaces/library/pulls/exports/years/ninety/week", 400
            ),
            "auth": Probe("GET", f"{_DVP}/", 401, {"Authorization": ""}),
            "no_route": Probe("GET", f"{_DVP}/no-such-things", 404),
            "unknown_id": Probe("GET", f"{_DVP}/namespaces/no-such-namespace", 404),
            "method": Probe("POST", f"{_DVP}/namespaces/library", 405),
            "not_acceptable": _NO_ACCEPT,
            "conflict": "the analytics API only reads; its login creates nothing a client names",
            "too_large": Probe("POST", "/v2/users/login", 413, _JSON, _LARGE),
            "unsupported_type": Probe(
                "POST", "/v2/users/login", 415, {"Content-Type": "text/csv"}, b"a\n"
            ),
            "rate_limited": Probe("GET", f"{_DVP}/", 429),
            "internal": Probe("GET", f"{_DVP}/", 500),
        },
    ),
    "discourse": Case(
        "shared/twins/discourse.md, section 3 and 6: none declared; the forum's "
        "{errors: [...], error_type} with Content-Type application/json; charset=utf-8",
        _discourse,
        _DISCOURSE_KEY,
        {
            "validation": Probe("GET", "/admin/users/list/active.json?page=many", 400),
            "auth": Probe("GET", "/top.json", 403, {"Api-Key": "", "Api-Username": ""}),
            "no_route": Probe("GET", "/no-such-things.json", 404),
            "unknown_id": Probe("GET", "/t/999999.json", 404),
            "method": Probe("DELETE", "/admin/backups.json", 405),
            "not_acceptable": Probe("GET", "/latest", 406, {"Accept": "text/html"}),
            "conflict": (
                "the forum answers a duplicate (a taken category name) with 422, and no create "
                "takes its id from the client"
            ),
            "too_large": Probe("POST", "/posts.json", 413, _JSON, _LARGE),
            "unsupported_type": Probe(
                "POST", "/posts.json", 415, {"Content-Type": "text/csv"}, b"raw\nx\n"
            ),
            "rate_limited": Probe("GET", "/latest.json", 429),
            "internal": Probe("GET", "/latest.json", 500),
        },
    ),
    "dnd5e": Case(
        'shared/twins/dnd5e.md, sections 3 and 8: {"error": "Not found"}',
        _only("error"),
        {},
        {
            "validation": Probe("GET", "/api/classes/wizard/levels/first", 400),
            "auth": _OPEN,
            "no_route": Probe("GET", "/api/no-such-things/x/y", 404),
            "unknown_id": Probe("GET", "/api/spells/no-such-spell", 404),
            "method": Probe("POST", "/api/ability-scores/cha", 405),
            "not_acceptable": _NO_ACCEPT,
            "conflict": _READ_ONLY,
            "too_large": Probe("GET", "/api/spells", 413, {}, _LARGE),
            "unsupported_type": _NO_BODY,
            "rate_limited": Probe("GET", "/api/spells", 429),
            "internal": Probe("GET", "/api/spells", 500),
        },
    ),
    "nookipedia": Case(
        "shared/twins/nookipedia.md, section 3: {title, details} (64 declared responses)",
        _nookipedia,
        {"X-API-KEY": "0c1e8f54-8d1e-4d44-a5b2-7f0e3c5b9a10"},
        {
            "validation": Probe("GET", "/nh/art?thumbsize=big", 400),
            "auth": Probe("GET", "/nh/fish", 401, {"X-API-KEY": ""}),
            "no_route": Probe("GET", "/nh/no-such-things", 404),
            "unknown_id": Probe("GET", "/nh/fish/no-such-fish", 404),
            "method": Probe("POST", "/nh/fish", 405),
            "not_acceptable": _NO_ACCEPT,
            "conflict": _READ_ONLY,
            "too_large": Probe("GET", "/nh/fish", 413, {}, _LARGE),
            "unsupported_type": _NO_BODY,
            "rate_limited": Probe("GET", "/nh/fish", 429),
            "internal": Probe("GET", "/nh/fish", 500),
        },
    ),
    "digitalnz": Case(
        "the document: every error response is application/xml <hash><errors>...</errors>"
        "</hash> (shared/twins/digitalnz.md, section 3; the sheet's JSON errors for .json "
        "are not what the document declares)",
        _digitalnz,
        {"Authentication-Token": "any-key"},
        {
            "validation": Probe("GET", "/records.json?page=many", 400),
            "auth": Probe("GET", "/records.json", 403, {"Authentication-Token": ""}),
            "no_route": Probe("GET", "/no-such-things.json", 404),
            "unknown_id": (
                "the document infers no record family (the three paths are searches), so a "
                "record id is answered from the document"
            ),
            "method": Probe("POST", "/records.json", 405),
            "not_acceptable": _NO_ACCEPT,
            "conflict": _READ_ONLY,
            "too_large": Probe("GET", "/records.json", 413, {}, _LARGE),
            "unsupported_type": _NO_BODY,
            "rate_limited": Probe("GET", "/records.json", 429),
            "internal": Probe("GET", "/records.json", 500),
        },
    ),
    "dracoon": Case(
        "shared/twins/dracoon.md, sections 3 and 8: {code, message, debugInfo, errorCode} "
        "with negative errorCodes (1,443 declared responses)",
        _dracoon,
        {"X-Sds-Auth-Token": "any-token"},
        {
            "validation": Probe("GET", "/api/v4/groups?offset=many", 400),
            "auth": Probe("GET", "/api/v4/groups", 401, {"X-Sds-Auth-Token": ""}),
            "no_route": Probe("GET", "/api/v4/no-such-things", 404),
            "unknown_id": Probe("GET", "/api/v4/groups/999999", 404),
            "method": Probe("DELETE", "/api/v4/auth/ping", 405),
            "not_acceptable": _NO_ACCEPT,
            "conflict": _NO_CONFLICT,
            "too_large": Probe("POST", "/api/v4/groups", 413, _JSON, _LARGE),
            "unsupported_type": Probe(
                "POST", "/api/v4/groups", 415, {"Content-Type": "text/csv"}, b"name\nx\n"
            ),
            "rate_limited": Probe("GET", "/api/v4/groups", 429),
            "internal": Probe("GET", "/api/v4/groups", 500),
        },
    ),
    "drchrono": Case(
        "shared/twins/drchrono.md, sections 3 and 8: none declared; Django REST framework's "
        '{"detail": ...}',
        _only("detail"),
        _BEARER,
        {
            "validation": Probe("GET", "/api/patients?page_size=many", 400),
            "auth": Probe("GET", "/api/patients", 401, {"Authorization": ""}),
            "no_route": Probe("GET", "/api/no-such-things", 404),
            "unknown_id": Probe("GET", "/api/patients/999999", 404),
            "method": Probe("DELETE", "/api/allergies", 405),
            "not_acceptable": _NO_ACCEPT,
            "conflict": _NO_CONFLICT,
            "too_large": Probe("POST", "/api/patients", 413, _JSON, _LARGE),
            "unsupported_type": Probe(
                "POST", "/api/patients", 415, {"Content-Type": "text/csv"}, b"a\n"
            ),
            "rate_limited": Probe("GET", "/api/patients", 429),
            "internal": Probe("GET", "/api/patients", 500),
        },
    ),
    "dweet": Case(
        "shared/twins/dweet.md and issue 6: none declared; the service's "
        '{"this": "failed", "with": status, "because": ...}',
        _dweet,
        {},
        {
            "validation": Probe("POST", "/dweet/for/probe", 400, _JSON, b"{not json"),
            "auth": _OPEN + " (a locked thing's key is checked by behaviours/dweet.py)",
            "no_route": Probe("GET", "/no-such-things", 404),
            # dweet.io answers the failures it decides with HTTP 200 (docs/twins/dweet.md)
            "unknown_id": Probe("GET", "/get/latest/dweet/for/never-dweeted", 200, named=404),
            "method": Probe("DELETE", "/get/dweets/for/probe", 405),
            "not_acceptable": _NO_ACCEPT,
            "conflict": Probe(
                "GET",
                "/lock/other?lock=taken&key=k1",
                200,
                named=409,
                before=(("GET", "/lock/probe?lock=taken&key=k1"),),
            ),
            "too_large": Probe("POST", "/dweet/for/probe", 413, _JSON, _LARGE),
            "unsupported_type": Probe(
                "POST", "/dweet/for/probe", 415, {"Content-Type": "text/csv"}, b"a\n"
            ),
            "rate_limited": Probe("GET", "/get/dweets/for/probe", 429),
            "internal": Probe("GET", "/get/dweets/for/probe", 500),
        },
    ),
    "ebay-browse": Case(
        "shared/twins/ebay-browse.md, sections 3 and 8: none declared; eBay's "
        "{errors: [{errorId, domain, category, message}]}",
        _ebay("API_BROWSE", 11001, 12000),
        _BEARER,
        {
            "validation": Probe("GET", f"{_BROWSE}/item_summary/search?q=x&limit=many", 400),
            "auth": Probe("GET", f"{_BROWSE}/item_summary/search?q=x", 401, {"Authorization": ""}),
            "no_route": Probe("GET", f"{_BROWSE}/no-such-things", 404),
            "unknown_id": Probe("GET", f"{_BROWSE}/item/v1%7C999999%7C0", 404),
            "method": Probe("DELETE", f"{_BROWSE}/item/v1%7C110551991%7C0", 405),
            "not_acceptable": _NO_ACCEPT,
            "conflict": _NO_CONFLICT,
            "too_large": Probe(
                "POST", f"{_BROWSE}/item_summary/search_by_image", 413, _JSON, _LARGE
            ),
            "unsupported_type": Probe(
                "POST",
                f"{_BROWSE}/item_summary/search_by_image",
                415,
                {"Content-Type": "text/csv"},
                b"a\n",
            ),
            "rate_limited": Probe("GET", f"{_BROWSE}/item_summary/search?q=x", 429),
            "internal": Probe(
                "GET", f"{_BROWSE}/item/get_items_by_item_group?item_group_id=1", 500
            ),
        },
    ),
    "ebay-deal": Case(
        "shared/twins/ebay-deal.md, sections 3 and 6: none declared; eBay's {errors: [...]} "
        "as in Browse",
        _ebay("API_DEAL", 150001, 150000),
        {**_BEARER, "X-EBAY-C-MARKETPLACE-ID": "EBAY_US"},
        {
            "validation": Probe("GET", f"{_DEAL}/deal_item?limit=many", 400),
            # the document declares 403 and no 401 for Deal's operations (docs/auth.md)
            "auth": Probe("GET", f"{_DEAL}/deal_item", 403, {"Authorization": ""}),
            "no_route": Probe("GET", f"{_DEAL}/no-such-things", 404),
            "unknown_id": Probe("GET", f"{_DEAL}/event/no-such-event", 404),
            "method": Probe("POST", f"{_DEAL}/deal_item", 405),
            "not_acceptable": _NO_ACCEPT,
            "conflict": _READ_ONLY,
            "too_large": Probe("GET", f"{_DEAL}/deal_item", 413, {}, _LARGE),
            "unsupported_type": _NO_BODY,
            "rate_limited": Probe("GET", f"{_DEAL}/deal_item", 429),
            "internal": Probe("GET", f"{_DEAL}/event", 500),
        },
    ),
}


# -- building and calling the twins ------------------------------------------------------

# twin name -> (method, path) of the operation that raises
_FAULTS = {
    name: (probe.method, probe.path)
    for name, case in CASES.items()
    if isinstance(probe := case.probes.get("internal"), Probe)
}


class _Fault(Behaviour):
    """Test-only: the operation a probe names raises, as a defect in a handler would."""

    def __init__(self, twin: Twin) -> None:
        super().__init__(twin)
        method, path = _FAULTS[twin.name]
        path = path.split("?", 1)[0]
        if twin.base_path and path.startswith(twin.base_path):
            path = path[len(twin.base_path) :]
        match = twin.router.match(method, path)
        assert match is not None and match.target is not None, (method, path)
        match.target.handler = self.broken

    def broken(self, context: RequestContext) -> Reply:
        raise RuntimeError("a defect of the twin")


@pytest.fixture(autouse=True, scope="module")
def _fault_module() -> Any:
    module = types.ModuleType("apitwin.behaviours.error_probe")
    module.install = _Fault  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    yield
    del sys.modules[module.__name__]


@cache
def _app(name: str, kind: str) -> TwinApp:
    """The bundled twin with the fault probe; with the body limit for ``too_large``, and
    one request a minute for ``rate_limited``."""
    profile = bundled_profile(name)
    extra = dict(profile.extra)
    options = TwinOptions()
    if kind == "too_large":
        options = TwinOptions(max_body_bytes=_MAX_BODY)
    elif kind == "rate_limited":
        limit = {"limits": [{"requests": 1, "seconds": 60}]}
        if extra.get("rate_limits"):
            options = TwinOptions(rate_limits=limit)
        else:
            extra["rate_limits"] = limit
    else:
        behaviours = extra.get("behaviour") or []
        extra["behaviour"] = [
            *([behaviours] if isinstance(behaviours, str) else behaviours),
            "error_probe",
        ]
    twin = build_twin(replace(profile, extra=extra), spec_path(profile), options, MemoryStore())
    return TwinApp(twin)


def _send(app: TwinApp, probe: Probe, credentials: dict[str, str]) -> httpx.Response:
    headers = {**credentials, **probe.headers}
    headers = {k: v for k, v in headers.items() if v}

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://twin") as client:
            return await client.request(
                probe.method, probe.path, headers=headers, content=probe.content
            )

    return asyncio.run(go())


def _cases() -> list[Any]:
    params = []
    for name, case in CASES.items():
        for kind in KINDS:
            probe = case.probes.get(kind)
            if isinstance(probe, Probe):
                params.append(pytest.param(name, kind, id=f"{name}-{kind}"))
    return params


def test_every_twin_has_every_kind() -> None:
    assert set(CASES) == set(bundled_names())
    for name, case in CASES.items():
        assert set(case.probes) == set(KINDS), name
        for kind, probe in case.probes.items():
            assert isinstance(probe, Probe) or len(probe) > 20, (name, kind)


@pytest.mark.parametrize(("name", "kind"), _cases())
def test_engine_errors_are_in_the_api_shape(name: str, kind: str) -> None:
    case = CASES[name]
    probe = case.probes[kind]
    assert isinstance(probe, Probe)
    app = _app(name, kind if kind in _OWN_APP else "")
    for method, path in probe.before:
        assert _send(app, Probe(method, path, 200), case.credentials).status_code < 300
    if probe.repeat or kind == "rate_limited":  # the first one passes
        assert _send(app, probe, case.credentials).status_code < 300
    response = _send(app, probe, case.credentials)
    assert response.status_code == probe.status, response.text
    message = case.check(response, probe.named or probe.status)
    assert "Traceback" not in response.text
    if kind == "method":
        assert response.headers["allow"]
        assert probe.method not in {m.strip() for m in response.headers["allow"].split(",")}
    if kind == "internal":
        assert "defect" not in message  # the client learns nothing of the twin's insides
