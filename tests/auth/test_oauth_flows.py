"""OAuth 2.0 flows end to end with a standard client library (authlib) against the
drchrono and eBay twins in strict mode: what RFC 6749, RFC 7636 (PKCE) and RFC 7009
(revocation) say, with the lifetimes and scopes the documents and sheets give."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx
import pytest
from authlib.integrations.base_client.errors import OAuthError

from apitwin.app import create_app
from apitwin.server.app import TwinApp
from tests.auth.conftest import BASE, client_on, oauth_client, query_of, s256

REDIRECT = "http://localhost:8000/callback"
DRCHRONO_AUTHORIZE = f"{BASE}/o/authorize/"
DRCHRONO_TOKEN = f"{BASE}/o/token/"
DRCHRONO_REVOKE = f"{BASE}/o/revoke_token/"
EBAY_AUTHORIZE = f"{BASE}/oauth2/authorize"
EBAY_TOKEN = f"{BASE}/identity/v1/oauth2/token"
EBAY_SCOPE = "https://api.ebay.com/oauth/api_scope"
CART_SCOPE = "https://api.ebay.com/oauth/api_scope/buy.shopping.cart"
BULK_SCOPE = "https://api.ebay.com/oauth/api_scope/buy.item.bulk"
CART = "/buy/browse/v1/shopping_cart/"
ITEMS = "/buy/browse/v1/item/?item_ids=v1|110551991|0"  # getItems: needs buy.item.bulk
SEARCH = "/buy/browse/v1/item_summary/search?q=phone"


async def register(app: TwinApp, **body: Any) -> dict[str, Any]:
    async with client_on(app) as admin:
        response = await admin.post("/__apitwin__/clients", json=body)
    assert response.status_code == 201, response.text
    client: dict[str, Any] = response.json()
    return client


async def advance(app: TwinApp, seconds: float) -> None:
    async with client_on(app) as admin:
        response = await admin.post("/__apitwin__/clock", json={"advance": seconds})
    assert response.status_code == 200


async def approve(app: TwinApp, url: str) -> str:
    """What the browser does: open the authorization URL and return the redirect."""
    async with client_on(app) as browser:
        response = await browser.get(url)
    assert response.status_code == 302, response.text
    location: str = response.headers["location"]
    return location


def test_drchrono_authorization_code_with_pkce_refresh_and_revocation() -> None:
    """drchrono info.description: codes are single use; access tokens last 48 hours
    (expires_in in seconds); refresh with grant_type=refresh_token."""
    app = create_app("drchrono", auth="strict")

    async def go() -> None:
        registered = await register(app, redirect_uris=[REDIRECT])
        async with oauth_client(
            app,
            client_id=registered["client_id"],
            client_secret=registered["client_secret"],
            redirect_uri=REDIRECT,
            scope="patients:read patients:write",
            code_challenge_method="S256",
        ) as oauth:
            verifier = secrets.token_urlsafe(48)
            url, state = oauth.create_authorization_url(
                DRCHRONO_AUTHORIZE, code_verifier=verifier, auto_approve="true"
            )
            location = await approve(app, url)
            assert location.startswith(REDIRECT + "?")
            assert query_of(location)["state"] == state
            token = await oauth.fetch_token(
                DRCHRONO_TOKEN, authorization_response=location, code_verifier=verifier, state=state
            )
            assert token["token_type"] == "Bearer"
            assert token["expires_in"] == 48 * 3600
            assert set(token["scope"].split()) == {"patients:read", "patients:write"}
            assert (await oauth.get("/api/patients")).status_code == 200

            await advance(app, 48 * 3600)
            expired = await oauth.get("/api/patients")
            assert expired.status_code == 401
            assert expired.json() == {"detail": "invalid, expired or revoked credential"}

            first_refresh = token["refresh_token"]
            renewed = await oauth.refresh_token(DRCHRONO_TOKEN)
            assert renewed["access_token"] != token["access_token"]
            assert renewed["refresh_token"] != first_refresh  # rotation
            assert renewed["expires_in"] == 48 * 3600
            assert (await oauth.get("/api/patients")).status_code == 200
            with pytest.raises(OAuthError) as reused:
                await oauth.refresh_token(DRCHRONO_TOKEN, refresh_token=first_refresh)
            assert reused.value.error == "invalid_grant"

            revoked = await oauth.revoke_token(DRCHRONO_REVOKE, token=renewed["access_token"])
            assert revoked.status_code == 200
            assert (await oauth.get("/api/patients")).status_code == 401

    asyncio.run(go())


def test_ebay_user_token_from_a_code_opens_the_cart_and_an_app_token_does_not() -> None:
    """eBay Browse: cart operations need the Authorization_Code scheme (a user token);
    an application token from client credentials gets 403 there (ebay-browse sheet)."""
    app = create_app("ebay-browse", auth="strict")

    async def go() -> None:
        registered = await register(app, redirect_uris=[REDIRECT])
        credentials = {
            "client_id": registered["client_id"],
            "client_secret": registered["client_secret"],
        }
        async with oauth_client(
            app,
            **credentials,
            redirect_uri=REDIRECT,
            scope=CART_SCOPE,
            code_challenge_method="S256",
        ) as user:
            verifier = secrets.token_urlsafe(64)
            url, state = user.create_authorization_url(
                EBAY_AUTHORIZE, code_verifier=verifier, auto_approve="true"
            )
            location = await approve(app, url)
            token = await user.fetch_token(
                EBAY_TOKEN, authorization_response=location, code_verifier=verifier, state=state
            )
            assert token["expires_in"] == 7200
            assert token["scope"] == CART_SCOPE
            assert (await user.get(CART)).status_code in (200, 204)
            assert (await user.get(SEARCH)).status_code == 403  # not a Client_Credentials token

            await advance(app, 7200)
            assert (await user.get(CART)).status_code == 403  # cart ops document 403, not 401
            await user.refresh_token(EBAY_TOKEN)
            assert (await user.get(CART)).status_code in (200, 204)

        async with oauth_client(app, **credentials, scope=EBAY_SCOPE) as application:
            app_token = await application.fetch_token(EBAY_TOKEN, grant_type="client_credentials")
            assert app_token["expires_in"] == 7200
            assert "refresh_token" not in app_token  # RFC 6749 4.4.3
            assert (await application.get(SEARCH)).status_code == 200
            cart = await application.get(CART)
            assert cart.status_code == 403
            assert cart.json()["errors"][0]["message"].startswith("the credential does not grant")
            assert (await application.get(ITEMS)).status_code == 403  # no buy.item.bulk
            revoked = await application.revoke_token(
                f"{BASE}/__apitwin__/oauth/revoke", token=app_token["access_token"]
            )
            assert revoked.status_code == 200
            assert (await application.get(SEARCH)).status_code == 401

        async with oauth_client(app, **credentials, scope=f"{EBAY_SCOPE} {BULK_SCOPE}") as bulk:
            await bulk.fetch_token(EBAY_TOKEN, grant_type="client_credentials")
            assert (await bulk.get(ITEMS)).status_code == 200
            await advance(app, 7200)
            assert (await bulk.get(ITEMS)).status_code == 401  # an app token lives 2 hours

    asyncio.run(go())


def test_ebay_deal_client_credentials() -> None:
    app = create_app("ebay-deal", auth="strict")

    async def go() -> None:
        registered = await register(app)
        async with oauth_client(
            app, client_id=registered["client_id"], client_secret=registered["client_secret"]
        ) as oauth:
            token = await oauth.fetch_token(EBAY_TOKEN, grant_type="client_credentials")
            assert token["scope"] == "https://api.ebay.com/oauth/api_scope/buy.deal"
            deal = await oauth.get(
                "/buy/deal/v1/deal_item", headers={"X-EBAY-C-MARKETPLACE-ID": "EBAY_US"}
            )
            assert deal.status_code in (200, 204)

    asyncio.run(go())


# -- refusals: the right RFC 6749 error, and nothing changed ------------------------------


class Flow:
    """A drchrono twin with one confidential client and helpers for raw token requests."""

    def __init__(self, scope: str = "patients:read") -> None:
        self.app = create_app("drchrono", auth="strict")
        self.scope = scope
        self.client: dict[str, Any] = {}

    async def start(self) -> None:
        self.client = await register(self.app, redirect_uris=[REDIRECT, REDIRECT + "/other"])

    async def code(self, verifier: str | None = None, method: str = "S256") -> str:
        params = {
            "response_type": "code",
            "client_id": self.client["client_id"],
            "redirect_uri": REDIRECT,
            "scope": self.scope,
            "state": "s-1",
            "auto_approve": "true",
        }
        if verifier is not None:
            params["code_challenge"] = _challenge(verifier, method)
            params["code_challenge_method"] = method
        location = await approve(self.app, f"{DRCHRONO_AUTHORIZE}?{httpx.QueryParams(params)}")
        return query_of(location)["code"]

    async def token(self, form: dict[str, str], secret: str | None = None) -> httpx.Response:
        auth = (self.client["client_id"], secret or self.client["client_secret"])
        async with client_on(self.app) as raw:
            return await raw.post(DRCHRONO_TOKEN, data=form, auth=auth)

    async def exchange(self, code: str, **extra: str) -> httpx.Response:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        return await self.token({**form, **extra})

    async def issued(self) -> list[dict[str, Any]]:
        async with client_on(self.app) as admin:
            listing: list[dict[str, Any]] = (await admin.get("/__apitwin__/credentials")).json()
        return listing

    async def call(self, token: str, method: str = "GET", path: str = "/api/patients") -> int:
        async with client_on(self.app) as raw:
            response = await raw.request(
                method, path, headers={"Authorization": f"Bearer {token}"}, json={}
            )
        return response.status_code


def _challenge(verifier: str, method: str) -> str:
    return s256(verifier) if method == "S256" else verifier


def assert_oauth_error(response: httpx.Response, error: str, status: int = 400) -> None:
    """RFC 6749 5.2: JSON {error, error_description}, not cached."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == error
    assert isinstance(body.get("error_description", ""), str)


def test_unsupported_grant_type_issues_nothing() -> None:
    flow = Flow()

    async def go() -> None:
        await flow.start()
        response = await flow.token({"grant_type": "urn:example:magic"})
        assert_oauth_error(response, "unsupported_grant_type")
        assert_oauth_error(await flow.token({}), "invalid_request")  # no grant_type at all
        assert await flow.issued() == []

    asyncio.run(go())


def test_a_code_works_once_and_a_reused_code_changes_nothing() -> None:
    flow = Flow()

    async def go() -> None:
        await flow.start()
        verifier = secrets.token_urlsafe(48)
        code = await flow.code(verifier)
        first = await flow.exchange(code, code_verifier=verifier)
        assert first.status_code == 200
        issued = await flow.issued()
        again = await flow.exchange(code, code_verifier=verifier)
        assert_oauth_error(again, "invalid_grant")
        assert await flow.issued() == issued
        assert await flow.call(first.json()["access_token"]) == 200

    asyncio.run(go())


def test_a_wrong_code_verifier_is_invalid_grant_and_leaves_the_code_usable() -> None:
    flow = Flow()

    async def go() -> None:
        await flow.start()
        verifier = secrets.token_urlsafe(48)
        code = await flow.code(verifier)
        wrong = await flow.exchange(code, code_verifier=secrets.token_urlsafe(48))
        assert_oauth_error(wrong, "invalid_grant")
        assert_oauth_error(await flow.exchange(code), "invalid_grant")  # verifier missing
        assert await flow.issued() == []
        assert (await flow.exchange(code, code_verifier=verifier)).status_code == 200

    asyncio.run(go())


def test_plain_pkce_compares_the_verifier_itself() -> None:
    flow = Flow()

    async def go() -> None:
        await flow.start()
        verifier = secrets.token_urlsafe(48)
        code = await flow.code(verifier, method="plain")
        assert_oauth_error(
            await flow.exchange(code, code_verifier=_challenge(verifier, "S256")), "invalid_grant"
        )
        assert (await flow.exchange(code, code_verifier=verifier)).status_code == 200

    asyncio.run(go())


def test_a_different_redirect_uri_is_invalid_grant_and_leaves_the_code_usable() -> None:
    flow = Flow()

    async def go() -> None:
        await flow.start()
        code = await flow.code()
        other = await flow.exchange(code, redirect_uri=REDIRECT + "/other")
        assert_oauth_error(other, "invalid_grant")  # registered, but not the one authorized
        assert await flow.issued() == []
        assert (await flow.exchange(code)).status_code == 200

    asyncio.run(go())


def test_a_wrong_client_secret_is_invalid_client_401_and_leaves_the_code_usable() -> None:
    flow = Flow()

    async def go() -> None:
        await flow.start()
        code = await flow.code()
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        wrong = await flow.token(form, secret="not-the-secret")
        assert_oauth_error(wrong, "invalid_client", 401)
        assert wrong.headers["www-authenticate"].startswith("Basic")  # RFC 6749 5.2
        assert await flow.issued() == []
        assert (await flow.exchange(code)).status_code == 200

    asyncio.run(go())


def test_a_code_expires_quickly_on_the_twin_clock() -> None:
    flow = Flow()

    async def go() -> None:
        await flow.start()
        code = await flow.code()
        await advance(flow.app, 61)
        assert_oauth_error(await flow.exchange(code), "invalid_grant")

    asyncio.run(go())


def test_a_token_without_the_operation_scope_is_403_and_changes_nothing() -> None:
    """drchrono lists BASE:read and BASE:write on each operation of a resource; reads
    need the read scope and writes the write scope (drchrono sheet, profile rule)."""
    flow = Flow(scope="patients:read")

    async def go() -> None:
        await flow.start()
        token = (await flow.exchange(await flow.code())).json()["access_token"]
        assert await flow.call(token) == 200
        async with client_on(flow.app) as raw:
            before = (await raw.get("/__apitwin__/state")).json()
            assert await flow.call(token, "POST") == 403
            assert (await raw.get("/__apitwin__/state")).json() == before
        assert await flow.call(token, "GET", "/api/appointments") == 403  # calendar scopes

    asyncio.run(go())


def test_an_undeclared_scope_is_invalid_scope() -> None:
    flow = Flow()

    async def go() -> None:
        await flow.start()
        response = await flow.token({"grant_type": "client_credentials", "scope": "root"})
        assert_oauth_error(response, "invalid_scope")
        assert await flow.issued() == []

    asyncio.run(go())


def test_refresh_may_narrow_the_scope_but_not_widen_it() -> None:
    flow = Flow(scope="patients:read patients:write")

    async def go() -> None:
        await flow.start()
        refresh = (await flow.exchange(await flow.code())).json()["refresh_token"]
        wider = {"grant_type": "refresh_token", "refresh_token": refresh, "scope": "user:read"}
        assert_oauth_error(await flow.token(wider), "invalid_scope")
        narrower = {**wider, "scope": "patients:read"}
        renewed = await flow.token(narrower)
        assert renewed.status_code == 200
        assert renewed.json()["scope"] == "patients:read"
        assert await flow.call(renewed.json()["access_token"], "POST") == 403

    asyncio.run(go())


def test_a_refresh_token_of_another_client_is_invalid_grant() -> None:
    flow = Flow()

    async def go() -> None:
        await flow.start()
        refresh = (await flow.exchange(await flow.code())).json()["refresh_token"]
        other = await register(flow.app)
        async with client_on(flow.app) as raw:
            response = await raw.post(
                DRCHRONO_TOKEN,
                data={"grant_type": "refresh_token", "refresh_token": refresh},
                auth=(other["client_id"], other["client_secret"]),
            )
        assert_oauth_error(response, "invalid_grant")
        again = await flow.token({"grant_type": "refresh_token", "refresh_token": refresh})
        assert again.status_code == 200  # the rightful client still can

    asyncio.run(go())


def test_revoking_a_refresh_token_revokes_the_access_tokens_of_its_grant() -> None:
    """RFC 7009 2.1; revocation answers 200 even for a token it does not know (2.2)."""
    flow = Flow()

    async def go() -> None:
        await flow.start()
        token = (await flow.exchange(await flow.code())).json()
        auth = (flow.client["client_id"], flow.client["client_secret"])
        async with client_on(flow.app) as raw:
            revoked = await raw.post(
                DRCHRONO_REVOKE, data={"token": token["refresh_token"]}, auth=auth
            )
            assert revoked.status_code == 200
            unknown = await raw.post(DRCHRONO_REVOKE, data={"token": "never-issued"}, auth=auth)
            assert unknown.status_code == 200
        assert await flow.call(token["access_token"]) == 401
        reuse = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
        assert_oauth_error(await flow.token(reuse), "invalid_grant")

    asyncio.run(go())


def test_the_token_endpoint_takes_only_post_and_single_parameters() -> None:
    flow = Flow()

    async def go() -> None:
        await flow.start()
        async with client_on(flow.app) as raw:
            assert (await raw.get(DRCHRONO_TOKEN)).status_code == 405
            doubled = await raw.post(
                DRCHRONO_TOKEN,
                content=b"grant_type=client_credentials&grant_type=password",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                auth=(flow.client["client_id"], flow.client["client_secret"]),
            )
            assert_oauth_error(doubled, "invalid_request")
            as_json = await raw.post(
                DRCHRONO_TOKEN,
                json={"grant_type": "client_credentials"},
                auth=(flow.client["client_id"], flow.client["client_secret"]),
            )
            assert_oauth_error(as_json, "invalid_request")

    asyncio.run(go())


def test_a_public_client_must_use_pkce_and_cannot_use_client_credentials() -> None:
    app = create_app("drchrono", auth="strict")

    async def go() -> None:
        public = await register(app, public=True, redirect_uris=[REDIRECT])
        assert public["client_secret"] is None
        params = {
            "response_type": "code",
            "client_id": public["client_id"],
            "redirect_uri": REDIRECT,
            "state": "st",
            "auto_approve": "true",
        }
        refused = query_of(await approve(app, f"{DRCHRONO_AUTHORIZE}?{httpx.QueryParams(params)}"))
        assert refused["error"] == "invalid_request" and refused["state"] == "st"
        async with oauth_client(
            app,
            client_id=public["client_id"],
            token_endpoint_auth_method="none",
            redirect_uri=REDIRECT,
            code_challenge_method="S256",
        ) as oauth:
            verifier = secrets.token_urlsafe(48)
            url, state = oauth.create_authorization_url(
                DRCHRONO_AUTHORIZE, code_verifier=verifier, auto_approve="true"
            )
            token = await oauth.fetch_token(
                DRCHRONO_TOKEN,
                authorization_response=await approve(app, url),
                code_verifier=verifier,
                state=state,
            )
            assert (await oauth.get("/api/patients")).status_code == 200
            with pytest.raises(OAuthError) as refused_grant:
                await oauth.fetch_token(DRCHRONO_TOKEN, grant_type="client_credentials")
            assert refused_grant.value.error == "unauthorized_client"
            assert token["refresh_token"]

    asyncio.run(go())


# -- the authorization endpoint --------------------------------------------------------------


def _authorize_url(client_id: str, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "state": "xyz",
        **extra,
    }
    return f"{DRCHRONO_AUTHORIZE}?{httpx.QueryParams(params)}"


def test_without_auto_approve_a_consent_page_asks_and_deny_redirects_access_denied() -> None:
    app = create_app("drchrono", auth="strict")

    async def go() -> None:
        client = await register(app, redirect_uris=[REDIRECT], name="Chart <App>")
        async with client_on(app) as browser:
            page = await browser.get(_authorize_url(client["client_id"], scope="user:read"))
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assert "Chart &lt;App&gt;" in page.text and "user:read" in page.text
            assert 'name="state" value="xyz"' in page.text
            form = {
                "response_type": "code",
                "client_id": client["client_id"],
                "redirect_uri": REDIRECT,
                "state": "xyz",
                "scope": "user:read",
            }
            denied = await browser.post("/o/authorize/", data={**form, "decision": "deny"})
            assert denied.status_code == 302
            assert query_of(denied.headers["location"]) == {
                "error": "access_denied",
                "error_description": "the resource owner denied the request",
                "state": "xyz",
            }
            approved = await browser.post("/o/authorize/", data={**form, "decision": "approve"})
            assert approved.status_code == 302
            granted = query_of(approved.headers["location"])
            assert set(granted) == {"code", "state"} and granted["state"] == "xyz"

    asyncio.run(go())


def test_an_unknown_client_or_unregistered_redirect_is_never_redirected_to() -> None:
    """RFC 6749 4.1.2.1: the user agent must not be sent to an unverified redirect URI."""
    app = create_app("drchrono", auth="strict")

    async def go() -> None:
        client = await register(app, redirect_uris=[REDIRECT])
        async with client_on(app) as browser:
            unknown = await browser.get(_authorize_url("nobody", auto_approve="true"))
            assert unknown.status_code == 400 and "location" not in unknown.headers
            elsewhere = _authorize_url(client["client_id"], auto_approve="true").replace(
                "localhost%3A8000", "evil.example"
            )
            stranger = await browser.get(elsewhere)
            assert stranger.status_code == 400 and "location" not in stranger.headers

    asyncio.run(go())


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "patients:read root"}, "invalid_scope"),
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request"),
        ({"code_challenge": "a" * 43, "code_challenge_method": "S512"}, "invalid_request"),
    ],
)
def test_authorization_errors_go_back_to_the_client_with_the_state(
    extra: dict[str, str], error: str
) -> None:
    app = create_app("drchrono", auth="strict")

    async def go() -> None:
        client = await register(app, redirect_uris=[REDIRECT])
        location = await approve(
            app, _authorize_url(client["client_id"], auto_approve="true", **extra)
        )
        assert location.startswith(REDIRECT + "?")
        returned = query_of(location)
        assert returned["error"] == error and returned["state"] == "xyz"
        assert "code" not in returned

    asyncio.run(go())


def test_a_redirect_uri_keeps_its_own_query() -> None:
    app = create_app("drchrono", auth="strict")

    async def go() -> None:
        with_query = REDIRECT + "?tenant=7"
        client = await register(app, redirect_uris=[with_query])
        params = {
            "response_type": "code",
            "client_id": client["client_id"],
            "redirect_uri": with_query,
            "auto_approve": "true",
        }
        location = await approve(app, f"{DRCHRONO_AUTHORIZE}?{httpx.QueryParams(params)}")
        returned = query_of(location)
        assert returned["tenant"] == "7" and "code" in returned

    asyncio.run(go())


# -- other twins and modes ---------------------------------------------------------------------


def test_dracoon_password_grant_at_the_relative_token_url_and_revocation() -> None:
    """DRACOON: tokenUrl /oauth/token is relative to the server URL; the password grant
    and /oauth/revoke are what its clients use (dracoon sheet)."""
    app = create_app("dracoon", auth="strict")

    async def go() -> None:
        client = await register(app)
        auth = (client["client_id"], client["client_secret"])
        async with client_on(app) as raw:
            issued = await raw.post(
                "/oauth/token",
                data={"grant_type": "password", "username": "admin", "password": "secret"},
                auth=auth,
            )
            assert issued.status_code == 200
            token = issued.json()
            assert token["scope"] == "all" and token["refresh_token"]
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            assert (await raw.get("/api/v4/user/account", headers=headers)).status_code == 200
            no_password = await raw.post(
                "/oauth/token", data={"grant_type": "password", "username": "admin"}, auth=auth
            )
            assert_oauth_error(no_password, "invalid_request")
            revoked = await raw.post(
                "/oauth/revoke", data={"token": token["access_token"]}, auth=auth
            )
            assert revoked.status_code == 200
            assert (await raw.get("/api/v4/user/account", headers=headers)).status_code == 401

    asyncio.run(go())


def test_open_mode_serves_the_oauth_endpoints_and_accepts_any_token() -> None:
    app = create_app("drchrono")

    async def go() -> None:
        client = await register(app)
        async with client_on(app) as raw:
            issued = await raw.post(
                DRCHRONO_TOKEN,
                data={"grant_type": "client_credentials"},
                auth=(client["client_id"], client["client_secret"]),
            )
            assert issued.status_code == 200
            assert issued.json()["expires_in"] == 48 * 3600
            anything = {"Authorization": "Bearer conformance-token"}
            assert (await raw.get("/api/patients", headers=anything)).status_code == 200

    asyncio.run(go())


def test_every_oauth_twin_has_a_default_client_and_reports_its_endpoints() -> None:
    expected = {
        "drchrono": ("/o/token/", "/o/authorize/", "/o/revoke_token/"),
        "dracoon": ("/oauth/token", "/oauth/authorize", "/oauth/revoke"),
        "ebay-browse": ("/identity/v1/oauth2/token", "/oauth2/authorize", None),
        "ebay-deal": ("/identity/v1/oauth2/token", None, None),
    }

    async def go() -> None:
        for name, (token, authorize, revoke) in expected.items():
            app = create_app(name)
            assert app.twin.auth is not None and app.twin.auth.oauth is not None
            default = app.twin.auth.oauth.ensure_default_client()
            assert default == app.twin.auth.oauth.ensure_default_client()  # created once
            async with client_on(app) as raw:
                described = (await raw.get("/__apitwin__/auth")).json()["oauth"]
                assert described["token"] == [token]
                assert described["authorize"] == ([authorize] if authorize else [])
                assert described["revoke"][-1] == "/__apitwin__/oauth/revoke"
                if revoke:
                    assert described["revoke"][0] == revoke
                issued = await raw.post(
                    token,
                    data={"grant_type": "client_credentials"},
                    auth=(default["client_id"], default["client_secret"]),
                )
                assert issued.status_code == 200, name
                clients = (await raw.get("/__apitwin__/clients")).json()
                # DRACOON also has the client its SDK uses by default (the profile's).
                builtin = ["dracoon_legacy_scripting"] if name == "dracoon" else []
                assert [c["client_id"] for c in clients] == ["apitwin", *builtin]

    asyncio.run(go())


def test_a_twin_without_oauth_flows_has_no_clients() -> None:
    async def go() -> None:
        async with client_on(create_app("digitalocean")) as raw:
            response = await raw.post("/__apitwin__/clients", json={})
            assert response.status_code == 404
            assert "no OAuth2 flows" in response.json()["message"]

    asyncio.run(go())
