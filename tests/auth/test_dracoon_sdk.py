"""DRACOON's official Python SDK (``dracoon`` on PyPI) against the DRACOON twin served on a
loopback port in strict mode: only tokens the twin issued are accepted.

``DRACOON.connect`` logs in with the OAuth password grant at ``/oauth/token`` as the
built-in client ``dracoon_legacy_scripting`` (no secret), then reads seven info endpoints
into its pydantic models (account, system info, AD and OpenID info, defaults,
infrastructure, general settings). A model that does not fit the twin's answer raises.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Iterator

import httpx
import pytest

with warnings.catch_warnings():
    # The SDK still uses pydantic's validate_arguments, which warns on import.
    warnings.simplefilter("ignore", DeprecationWarning)
    from dracoon import DRACOON, OAuth2ConnectionType
    from dracoon.errors import HTTPBadRequestError, HTTPUnauthorizedError

from tests.conftest import ServedTwin, start_twin, stop_twin


@pytest.fixture(scope="module")
def dracoon_twin() -> Iterator[ServedTwin]:
    twin = start_twin("dracoon", "--auth", "strict")
    yield twin
    stop_twin(twin)


def sdk(twin: ServedTwin, **kwargs: str) -> DRACOON:
    # The SDK's base URL is the instance root: it adds /oauth/token and /api/v4 itself.
    return DRACOON(
        base_url=f"http://127.0.0.1:{twin.port}",
        raise_on_err=True,
        log_level=logging.WARNING,
        **kwargs,
    )


def account_status(twin: ServedTwin, token: str) -> int:
    response = httpx.get(
        f"http://127.0.0.1:{twin.port}/api/v4/user/account",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5.0,
    )
    return response.status_code


def test_the_sdk_logs_in_with_the_password_flow_and_reads_the_instance_info(
    dracoon_twin: ServedTwin,
) -> None:
    async def go() -> None:
        client = sdk(dracoon_twin)
        connection = await client.connect(
            OAuth2ConnectionType.password_flow, username="alice", password="s3cret"
        )
        assert connection.access_token and connection.refresh_token
        assert connection.access_token_validity == 3600
        # Every info model was filled from the twin's answers.
        assert client.user_info.userName == "alice"  # the user who logged in
        assert isinstance(client.user_info.id, int)
        assert isinstance(client.system_info.useS3Storage, bool)
        assert isinstance(client.auth_ad_info.items, list)
        assert isinstance(client.auth_oidc_info.items, list)
        assert isinstance(client.general_settings.cryptoEnabled, bool)
        assert isinstance(client.system_defaults.languageDefault, str)
        assert isinstance(client.infrastructure_policies.s3DefaultRegion, str)
        # An authenticated ping with the issued token.
        assert await client.client.test_connection(test=True) is True
        token = connection.access_token
        assert account_status(dracoon_twin, token) == 200
        assert account_status(dracoon_twin, "made-up") == 401
        await client.logout(revoke_refresh_token=True)
        assert account_status(dracoon_twin, token) == 401

    asyncio.run(go())


def test_the_sdk_refreshes_its_token(dracoon_twin: ServedTwin) -> None:
    async def go() -> None:
        client = sdk(dracoon_twin)
        first = await client.connect(
            OAuth2ConnectionType.password_flow, username="bob", password="pw", full_info=False
        )
        second = await client.connect(OAuth2ConnectionType.refresh_token)
        assert second.access_token != first.access_token
        assert second.refresh_token != first.refresh_token
        assert account_status(dracoon_twin, second.access_token) == 200
        account = await client.user.get_account_information()
        assert account.userName == "bob"  # the refreshed token stays bob's
        # Rotation: the first refresh token was used up (RFC 6749 invalid_grant, 400).
        with pytest.raises(HTTPBadRequestError):
            await client.connect(
                OAuth2ConnectionType.refresh_token, refresh_token=first.refresh_token
            )

    asyncio.run(go())


def test_a_client_the_twin_does_not_know_is_refused(dracoon_twin: ServedTwin) -> None:
    async def go() -> None:
        client = sdk(dracoon_twin, client_id="unknown-app", client_secret="nope")
        with pytest.raises(HTTPUnauthorizedError):
            await client.connect(
                OAuth2ConnectionType.password_flow, username="alice", password="pw"
            )

    asyncio.run(go())
