"""API keys declared as plain parameters (shared/twins/README.md pattern 4) and DRACOON's
legacy login token, over raw HTTP in both auth modes."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import replace
from typing import Any

import httpx
import pytest

from apitwin.app import create_app
from apitwin.conventions.param_credentials import read_parameter_credentials
from apitwin.engine.twin import build_twin
from apitwin.spec.document import SpecError
from apitwin.twins.registry import bundled_profile, spec_path
from tests.auth.conftest import client_on


async def issue(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/__apitwin__/credentials", json=body)
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


# -- Discourse: Api-Key + Api-Username ---------------------------------------------------


def discourse_refusal(response: httpx.Response, error_type: str) -> None:
    assert response.status_code == 403
    body = response.json()
    assert set(body) == {"errors", "error_type"}
    assert body["error_type"] == error_type


def test_discourse_needs_both_headers_where_the_document_declares_them() -> None:
    async def go() -> None:
        async with client_on(create_app("discourse")) as client:
            both = {"Api-Key": "any-key", "Api-Username": "system"}
            assert (await client.get("/latest.json", headers=both)).status_code == 200
            only_key = await client.get("/latest.json", headers={"Api-Key": "any-key"})
            discourse_refusal(only_key, "not_logged_in")
            discourse_refusal(await client.get("/latest.json"), "not_logged_in")
            # Operations that declare no key stay as the document has them: public.
            assert (await client.get("/categories.json")).status_code == 200

    asyncio.run(go())


def test_discourse_strict_mode_takes_only_issued_keys() -> None:
    async def go() -> None:
        async with client_on(create_app("discourse", auth="strict")) as client:
            issued = await issue(client)
            key = issued["credential"]
            assert re.fullmatch(r"[0-9a-f]{64}", key)  # Discourse keys are 64 hex digits
            assert issued["use"] == {
                "in": "header",
                "name": "Api-Key",
                "value": key,
                "with": [{"in": "header", "name": "Api-Username"}],
            }
            headers = {"Api-Key": key, "Api-Username": "system"}
            assert (await client.get("/latest.json", headers=headers)).status_code == 200
            unknown = {"Api-Key": "0" * 64, "Api-Username": "system"}
            discourse_refusal(await client.get("/latest.json", headers=unknown), "invalid_access")
            await client.delete(f"/__apitwin__/credentials/{issued['id']}")
            discourse_refusal(await client.get("/latest.json", headers=headers), "invalid_access")

    asyncio.run(go())


def test_discourse_strict_mode_checks_a_key_sent_to_any_operation() -> None:
    """The forum checks Api-Key on every request, also where the document does not
    declare it: an unknown key is refused and changes nothing; no key stays anonymous."""

    async def go() -> None:
        async with client_on(create_app("discourse", auth="strict")) as client:
            key = (await issue(client))["credential"]
            issued = {"Api-Key": key, "Api-Username": "system"}
            unknown = {"Api-Key": "0" * 64, "Api-Username": "system"}
            assert (await client.get("/categories.json")).status_code == 200
            assert (await client.get("/categories.json", headers=issued)).status_code == 200
            refused = await client.get("/categories.json", headers=unknown)
            discourse_refusal(refused, "invalid_access")
            assert refused.headers["content-type"] == "application/json; charset=utf-8"

            before = (await client.get("/latest.json", headers=issued)).json()
            topic = {
                "title": "A topic the forum must not take",
                "raw": "Written with a key the forum never issued.",
            }
            written = await client.post("/posts.json", json=topic, headers=unknown)
            discourse_refusal(written, "invalid_access")
            after = (await client.get("/latest.json", headers=issued)).json()
            assert after == before
            made = await client.post("/posts.json", json=topic, headers=issued)
            assert made.status_code == 200, made.text

    asyncio.run(go())


def test_discourse_open_mode_takes_any_key_on_any_operation() -> None:
    async def go() -> None:
        async with client_on(create_app("discourse")) as client:
            any_key = {"Api-Key": "0" * 64, "Api-Username": "system"}
            assert (await client.get("/categories.json", headers=any_key)).status_code == 200
            assert (await client.get("/categories.json")).status_code == 200

    asyncio.run(go())


# -- Nookipedia: X-API-KEY (a UUID) ------------------------------------------------------


def nookipedia_401(response: httpx.Response) -> None:
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"title", "details"}
    assert "Failed to authenticate user from X-API-KEY" in body["details"]


def test_nookipedia_refuses_a_key_that_is_not_a_uuid() -> None:
    async def go() -> None:
        async with client_on(create_app("nookipedia")) as client:
            nookipedia_401(await client.get("/nh/fish", headers={"X-API-KEY": "not-a-uuid"}))
            any_uuid = {"X-API-KEY": str(uuid.uuid4())}
            assert (await client.get("/nh/fish", headers=any_uuid)).status_code == 200

    asyncio.run(go())


def test_nookipedia_strict_mode_issues_uuid_keys_and_refuses_others() -> None:
    async def go() -> None:
        async with client_on(create_app("nookipedia", auth="strict")) as client:
            issued = await issue(client)
            key = issued["credential"]
            uuid.UUID(key)  # the parameter is format: uuid, so the issued key is one
            assert (await client.get("/nh/fish", headers={"X-API-KEY": key})).status_code == 200
            other = {"X-API-KEY": str(uuid.uuid4())}
            nookipedia_401(await client.get("/nh/fish", headers=other))
            chosen = await client.post("/__apitwin__/credentials", json={"value": "abc"})
            assert chosen.status_code == 400 and "UUID" in chosen.json()["message"]
            fixed = str(uuid.UUID(int=42))
            await issue(client, value=fixed)
            assert (await client.get("/nh/fish", headers={"X-API-KEY": fixed})).status_code == 200

    asyncio.run(go())


# -- DigitalNZ: the same key in the api_key query or the Authentication-Token header ------


def test_digitalnz_takes_its_key_in_the_query_or_the_header() -> None:
    async def go() -> None:
        async with client_on(create_app("digitalnz", auth="strict")) as client:
            issued = await issue(client)
            assert issued["schemes"] == ["ApiKeyAuth"]  # one key, two places
            key = issued["credential"]
            by_query = await client.get("/records.json", params={"api_key": key})
            assert by_query.status_code == 200
            by_header = await client.get("/records.json", headers={"Authentication-Token": key})
            assert by_header.status_code == 200
            guessed = await client.get("/records.json", headers={"Authentication-Token": "x"})
            assert guessed.status_code == 403
        async with client_on(create_app("digitalnz")) as client:
            header = {"Authentication-Token": "any"}
            assert (await client.get("/records.json", headers=header)).status_code == 200

    asyncio.run(go())


# -- DRACOON: POST /v4/auth/login and X-Sds-Auth-Token -----------------------------------

ACCOUNT = "/api/v4/user/account"


def dracoon_401(response: httpx.Response, error_code: int) -> None:
    assert response.status_code == 401
    assert response.json() == {
        "code": 401,
        "message": "Unauthorized",
        "debugInfo": response.json()["debugInfo"],
        "errorCode": error_code,
    }


async def login(client: httpx.AsyncClient, user: str = "alice") -> str:
    response = await client.post("/api/v4/auth/login", json={"userName": user, "password": "pw"})
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"token"}
    token: str = response.json()["token"]
    return token


def sds(token: str) -> dict[str, str]:
    return {"X-Sds-Auth-Token": token}


@pytest.mark.parametrize("mode", ["open", "strict"])
def test_dracoon_login_issues_a_token_for_x_sds_auth_token(mode: str) -> None:
    async def go() -> None:
        async with client_on(create_app("dracoon", auth=mode)) as client:
            token = await login(client)
            account = await client.get(ACCOUNT, headers=sds(token))
            assert account.status_code == 200
            assert account.json()["userName"] == "alice"
            dracoon_401(await client.get(ACCOUNT), -10006)

    asyncio.run(go())


def test_dracoon_strict_mode_refuses_a_token_it_did_not_issue_with_wrong_token() -> None:
    async def go() -> None:
        async with client_on(create_app("dracoon", auth="strict")) as client:
            refused = await client.get(ACCOUNT, headers=sds("made-up"))
            dracoon_401(refused, -10012)
            assert refused.json()["debugInfo"] == "Wrong token"

    asyncio.run(go())


def test_dracoon_login_token_lives_two_hours_from_its_last_use() -> None:
    """ "valid for two hours, every usage resets this period to two full hours again" """

    async def go() -> None:
        async with client_on(create_app("dracoon", auth="strict")) as client:
            token = await login(client)
            for _ in range(3):  # 3 x 1h59m: alive because every use resets the period
                await client.post("/__apitwin__/clock", json={"advance": 7140})
                assert (await client.get(ACCOUNT, headers=sds(token))).status_code == 200
            await client.post("/__apitwin__/clock", json={"advance": 7200})
            dracoon_401(await client.get(ACCOUNT, headers=sds(token)), -10012)

    asyncio.run(go())


def test_dracoon_logout_invalidates_the_token_or_every_token_of_the_user() -> None:
    async def go() -> None:
        async with client_on(create_app("dracoon", auth="strict")) as client:
            first, second, other_user = (
                await login(client),
                await login(client),
                await login(client, "bob"),
            )
            out = await client.post("/api/v4/user/logout", headers=sds(first))
            assert out.status_code == 204
            dracoon_401(await client.get(ACCOUNT, headers=sds(first)), -10012)
            assert (await client.get(ACCOUNT, headers=sds(second))).status_code == 200
            third = await login(client)
            everywhere = await client.post(
                "/api/v4/user/logout", params={"everywhere": "true"}, headers=sds(third)
            )
            assert everywhere.status_code == 204
            dracoon_401(await client.get(ACCOUNT, headers=sds(second)), -10012)
            assert (await client.get(ACCOUNT, headers=sds(other_user))).status_code == 200

    asyncio.run(go())


@pytest.mark.parametrize(
    ("body", "status", "error_code"),
    [
        ({"userName": "alice", "password": ""}, 401, -10011),  # wrong username or password
        ({"password": "pw"}, 400, -80000),  # mandatory field missing
        ({"userName": "alice"}, 400, -80000),  # password is required by the document
    ],
)
def test_dracoon_login_refusals_change_nothing(
    body: dict[str, str], status: int, error_code: int
) -> None:
    async def go() -> None:
        async with client_on(create_app("dracoon", auth="strict")) as client:
            response = await client.post("/api/v4/auth/login", json=body)
            assert response.status_code == status
            assert response.json()["errorCode"] == error_code
            assert (await client.get("/__apitwin__/credentials")).json() == []

    asyncio.run(go())


def test_dracoon_admin_issues_legacy_tokens_and_oauth_tokens_by_scheme() -> None:
    async def go() -> None:
        async with client_on(create_app("dracoon", auth="strict")) as client:
            described = (await client.get("/__apitwin__/auth")).json()["schemes"]
            assert described["X-Sds-Auth-Token"] == {
                "type": "apikey",
                "in": "header",
                "name": "X-Sds-Auth-Token",
                "declared_by": "profile",
            }
            legacy = await issue(client, scheme="X-Sds-Auth-Token")
            oauth = await issue(client)  # the document's only scheme: oauth2
            assert oauth["schemes"] == ["oauth2"]
            assert (await client.get(ACCOUNT, headers=sds(legacy["credential"]))).status_code == 200
            bearer = {"Authorization": f"Bearer {oauth['credential']}"}
            assert (await client.get(ACCOUNT, headers=bearer)).status_code == 200

    asyncio.run(go())


# -- the profile entry ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"in": "body", "name": "key"}, "location must be one of"),
        ({"in": "header"}, "'name'"),
        ({"in": "header", "name": "K", "value": "base32"}, "value must be one of"),
        ({"in": "header", "name": "K", "with": ["Api-Username"]}, "expected 'location:name'"),
        ({"in": "header", "name": "K", "everywhere": "yes"}, "everywhere must be true or false"),
    ],
)
def test_a_malformed_parameter_entry_is_named(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_parameter_credentials({"parameters": [entry]})


def test_a_twin_with_a_malformed_parameter_entry_does_not_start() -> None:
    profile = bundled_profile("nookipedia")
    broken = {**profile.extra, "auth": {"parameters": [{"in": "body", "name": "key"}]}}
    with pytest.raises(SpecError, match="auth.parameters"):
        build_twin(replace(profile, extra=broken), spec_path(profile))
