"""SCIM errors of the Docker Hub twin are SCIM's (RFC 7644 3.12), as the document
declares for every SCIM operation, while the rest of the Hub keeps `{detail, message}`."""

from __future__ import annotations

from collections.abc import Callable

from tests.conventions.conftest import TwinClient

SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def test_scim_errors_are_scim_json(twin: Callable[..., TwinClient]) -> None:
    hub = twin("docker-hub")
    missing = hub.get("/v2/scim/2.0/Users/no-such-user")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/scim+json"
    body = missing.json()
    assert body["schemas"] == [SCIM_ERROR] and body["status"] == "404" and body["detail"]
    other = hub.get("/v2/namespaces/library/repositories/no-such-repository")
    assert other.status_code == 404
    assert other.headers["content-type"].startswith("application/json")
    assert set(other.json()) == {"detail", "message"}
