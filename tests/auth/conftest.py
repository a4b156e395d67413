"""Helpers for the auth tests: a twin in process, an httpx client on it, and an OAuth
client (authlib) that talks to the twin's authorization server through the same app."""

from __future__ import annotations

import base64
import hashlib
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import authlib.deprecate  # noqa: F401 - imported first: it installs its own warning filter
import httpx

from apitwin.server.app import TwinApp

with warnings.catch_warnings():
    # authlib prefers a successor package of httpx and warns when it falls back to httpx.
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import AsyncOAuth2Client

__all__ = ["AsyncOAuth2Client", "client_on", "oauth_client", "query_of", "s256"]

BASE = "http://twin"


@asynccontextmanager
async def client_on(app: TwinApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


def oauth_client(app: TwinApp, **kwargs: Any) -> AsyncOAuth2Client:
    """authlib's OAuth 2.0 client, sending its requests to the twin in process."""
    return AsyncOAuth2Client(transport=httpx.ASGITransport(app=app), base_url=BASE, **kwargs)


def query_of(url: str) -> dict[str, str]:
    """The query parameters of a redirect's Location, one value each."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def s256(verifier: str) -> str:
    """RFC 7636 4.2: BASE64URL(SHA256(ASCII(code_verifier))), no padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
