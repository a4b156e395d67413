"""Auth modes and the credentials issued through POST /__apitwin__/credentials."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from apitwin.app import create_app
from apitwin.state.memory import MemoryStore
from tests.auth.conftest import client_on

DEAL = "/buy/deal/v1/deal_item"
NS = "/api/publisher/analytics/v1/"  # Docker DVP: global http bearer
MARKETPLACE = {"X-EBAY-C-MARKETPLACE-ID": "EBAY_US"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_digitalocean_401(response: httpx.Response) -> None:
    """DigitalOcean's documented 401: {id: "unauthorized", message, request_id}."""
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"id", "message", "request_id"}
    assert body["id"] == "unauthorized"


def assert_dvp_401(response: httpx.Response) -> None:
    """Docker DVP's error shape: {detail}."""
    assert response.status_code == 401
    assert set(response.json()) == {"detail"}


async def issue(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/__apitwin__/credentials", json=body)
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


def test_open_mode_accepts_any_bearer_and_refuses_a_missing_one() -> None:
    async def go() -> None:
        async with client_on(create_app("digitalocean")) as client:
            assert (await client.get("/v2/account", headers=bearer("made-up"))).status_code == 200
            assert_digitalocean_401(await client.get("/v2/account"))
            basic = {"Authorization": "Basic dXNlcjpwYXNz"}
            assert_digitalocean_401(await client.get("/v2/account", headers=basic))

    asyncio.run(go())


def test_strict_mode_refuses_a_token_the_twin_did_not_issue() -> None:
    async def go() -> None:
        async with client_on(create_app("digitalocean", auth="strict")) as client:
            response = await client.get("/v2/account", headers=bearer("made-up"))
            assert_digitalocean_401(response)
            assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
            assert_digitalocean_401(await client.get("/v2/account"))

    asyncio.run(go())


def test_strict_mode_accepts_an_issued_token_until_it_is_revoked() -> None:
    async def go() -> None:
        async with client_on(create_app("docker-dvp", auth="strict")) as client:
            issued = await issue(client)
            assert issued["schemes"] == ["HubAuth"]  # the only scheme: no need to name it
            assert issued["use"] == {
                "in": "header",
                "name": "Authorization",
                "value": f"Bearer {issued['credential']}",
            }
            token = issued["credential"]
            assert (await client.get(NS, headers=bearer(token))).status_code == 200
            gone = await client.delete(f"/__apitwin__/credentials/{issued['id']}")
            assert gone.status_code == 200
            assert_dvp_401(await client.get(NS, headers=bearer(token)))
            missing = await client.delete("/__apitwin__/credentials/no-such-id")
            assert missing.status_code == 404

    asyncio.run(go())


def test_a_chosen_value_lets_an_existing_suite_keep_its_token() -> None:
    async def go() -> None:
        async with client_on(create_app("docker-dvp", auth="strict")) as client:
            await issue(client, value="conformance-token")
            ok = await client.get(NS, headers=bearer("conformance-token"))
            assert ok.status_code == 200
            again = await client.post(
                "/__apitwin__/credentials", json={"value": "conformance-token"}
            )
            assert again.status_code == 409

    asyncio.run(go())


def test_a_credential_with_a_lifetime_expires_on_the_twin_clock() -> None:
    async def go() -> None:
        async with client_on(create_app("docker-dvp", auth="strict")) as client:
            token = (await issue(client, expires_in=600))["credential"]
            assert (await client.get(NS, headers=bearer(token))).status_code == 200
            await client.post("/__apitwin__/clock", json={"advance": 599})
            assert (await client.get(NS, headers=bearer(token))).status_code == 200
            await client.post("/__apitwin__/clock", json={"advance": 1})
            assert_dvp_401(await client.get(NS, headers=bearer(token)))

    asyncio.run(go())


def test_listing_credentials_never_shows_a_secret_and_state_hides_them() -> None:
    async def go() -> None:
        async with client_on(create_app("docker-dvp", auth="strict")) as client:
            token = (await issue(client))["credential"]
            listing = await client.get("/__apitwin__/credentials")
            assert listing.status_code == 200
            [shown] = listing.json()
            assert shown["kind"] == "access_token" and shown["active"] is True
            assert token not in listing.text
            state = await client.get("/__apitwin__/state")
            assert token not in state.text
            assert not any(name.startswith("__") for name in state.json())

    asyncio.run(go())


def test_reset_keeps_credentials_and_forgetting_them_is_explicit() -> None:
    async def go() -> None:
        async with client_on(create_app("docker-dvp", auth="strict")) as client:
            token = (await issue(client))["credential"]
            assert (await client.post("/__apitwin__/reset")).status_code == 200
            assert (await client.get(NS, headers=bearer(token))).status_code == 200
            forgotten = await client.delete("/__apitwin__/credentials")
            assert forgotten.json() == {"forgotten": 1}
            assert_dvp_401(await client.get(NS, headers=bearer(token)))

    asyncio.run(go())


def test_twins_sharing_a_store_accept_each_others_credentials() -> None:
    store = MemoryStore()
    first = create_app("docker-dvp", store=store, auth="strict")
    second = create_app("docker-dvp", store=store, auth="strict")

    async def go() -> None:
        async with client_on(first) as one, client_on(second) as other:
            token = (await issue(one))["credential"]
            assert (await other.get(NS, headers=bearer(token))).status_code == 200

    asyncio.run(go())


def test_a_token_without_the_required_scope_is_403() -> None:
    """eBay Deal: every operation requires scope .../buy.deal of api_auth."""

    async def go() -> None:
        async with client_on(create_app("ebay-deal", auth="strict")) as client:
            weak = (await issue(client, scopes=[]))["credential"]
            refused = await client.get(DEAL, headers={**MARKETPLACE, **bearer(weak)})
            assert refused.status_code == 403
            assert "errors" in refused.json()  # eBay's own error envelope
            challenge = refused.headers["www-authenticate"]
            assert 'error="insufficient_scope"' in challenge
            assert "https://api.ebay.com/oauth/api_scope/buy.deal" in challenge
            strong = (await issue(client))["credential"]  # all the scheme's scopes
            allowed = await client.get(DEAL, headers={**MARKETPLACE, **bearer(strong)})
            assert allowed.status_code in (200, 204)

    asyncio.run(go())


def test_an_api_key_in_the_query_is_checked_by_value() -> None:
    """DigitalNZ: apiKey scheme in query parameter api_key; its searches document 403 (and
    no 401) for a refused key, in its XML error shape."""

    async def go() -> None:
        async with client_on(create_app("digitalnz", auth="strict")) as client:
            issued = await issue(client)
            assert issued["use"] == {
                "in": "query",
                "name": "api_key",
                "value": issued["credential"],
            }
            ok = await client.get("/records.json", params={"api_key": issued["credential"]})
            assert ok.status_code == 200
            refused = await client.get("/records.json", params={"api_key": "guessed"})
            assert refused.status_code == 403  # the operation documents 403, not 401
            assert refused.headers["content-type"].startswith("application/xml")

    asyncio.run(go())


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("docker-dvp", {"scheme": "nope"}, "unknown scheme"),
        ("ebay-browse", {}, "'scheme' is required"),
        ("ebay-deal", {"scopes": ["https://example.com/undeclared"]}, "not declared"),
        ("docker-dvp", {"expires_in": 0}, "expires_in"),
        ("docker-dvp", {"colour": "blue"}, "unknown field"),
        ("docker-dvp", {"value": ""}, "value"),
    ],
)
def test_a_credential_request_that_cannot_be_honoured_is_400(
    name: str, body: dict[str, Any], field: str
) -> None:
    async def go() -> None:
        async with client_on(create_app(name, auth="strict")) as client:
            response = await client.post("/__apitwin__/credentials", json=body)
            assert response.status_code == 400
            assert field in response.json()["message"]
            assert (await client.get("/__apitwin__/credentials")).json() == []

    asyncio.run(go())


def test_public_operations_stay_public_in_strict_mode() -> None:
    """DRACOON: GET /v4/auth/ping declares security: []."""

    async def go() -> None:
        async with client_on(create_app("dracoon", auth="strict")) as client:
            assert (await client.get("/api/v4/auth/ping")).status_code == 200
            refused = await client.get("/api/v4/user/account", headers=bearer("made-up"))
            assert refused.status_code == 401
            assert refused.json()["code"] == 401  # DRACOON's own error shape

    asyncio.run(go())


def test_auth_mode_must_be_open_or_strict() -> None:
    with pytest.raises(ValueError, match="open, strict"):
        create_app("docker-dvp", auth="lenient")
