"""The whole flow an app developer builds: the OAuth2 code flow (authlib, PKCE) gives a
token with ``patients:write``, the app creates a patient, and its webhook receiver gets
PATIENT_CREATE. The twin runs in strict mode: only the token it issued is accepted."""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Iterator

import authlib.deprecate  # noqa: F401 - imported first: it installs its own warning filter
import httpx
import pytest

from tests.conftest import ServedTwin, start_twin, stop_twin
from tests.twins.drchrono.conftest import PATIENT, open_drchrono
from tests.twins.drchrono.receiver import Receiver

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # authlib warns when it falls back to httpx
    from authlib.integrations.httpx_client import OAuth2Client

REDIRECT = "http://localhost:8000/drchrono/callback"


@pytest.fixture
def strict_twin() -> Iterator[ServedTwin]:
    twin = start_twin("drchrono", "--auth", "strict")
    try:
        yield twin
    finally:
        stop_twin(twin)


def test_an_app_with_a_patients_write_token_creates_a_patient_and_gets_the_webhook(
    strict_twin: ServedTwin,
) -> None:
    base = f"http://127.0.0.1:{strict_twin.port}"
    admin = httpx.Client(base_url=f"{base}/__apitwin__", timeout=30)
    receiver = Receiver(secrets.token_hex(20)).start()
    try:
        registered = admin.post("/clients", json={"redirect_uris": [REDIRECT], "name": "My app"})
        assert registered.status_code == 201, registered.text
        app = registered.json()
        hook = admin.post(
            "/webhooks",
            json={
                "callback_url": receiver.url,
                "secret_token": receiver.secret,
                "events": ["PATIENT_CREATE"],
            },
        ).json()
        assert hook["verified"] is True

        verifier = secrets.token_urlsafe(48)
        with OAuth2Client(
            app["client_id"],
            app["client_secret"],
            scope="patients:read patients:write",
            redirect_uri=REDIRECT,
            code_challenge_method="S256",
            timeout=30,
        ) as oauth:
            url, state = oauth.create_authorization_url(
                f"{base}/o/authorize/", code_verifier=verifier, auto_approve="true"
            )
            location = httpx.get(url).headers["location"]  # what the browser follows
            token = oauth.fetch_token(
                f"{base}/o/token/",
                authorization_response=location,
                code_verifier=verifier,
                state=state,
            )
            assert "patients:write" in token["scope"].split()

            # Without the token the twin refuses, so the webhook proves the token worked.
            assert httpx.post(f"{base}/api/patients").status_code == 401
            created = oauth.post(f"{base}/api/patients", json={**PATIENT, "first_name": "Ada"})
            assert created.status_code == 201, created.text
            patient = created.json()

            [delivery] = receiver.wait_for(1)
            assert delivery.event == "PATIENT_CREATE"
            assert delivery.headers["x-drchrono-signature"] == receiver.secret
            assert (
                delivery.body["object"] == oauth.get(f"{base}/api/patients/{patient['id']}").json()
            )
            assert delivery.body["object"]["first_name"] == "Ada"
    finally:
        receiver.stop()
        admin.close()


def test_a_token_without_patients_write_creates_nothing_and_delivers_nothing(
    strict_twin: ServedTwin,
) -> None:
    twin = open_drchrono(strict_twin)
    receiver = Receiver(secrets.token_hex(20)).start()
    try:
        twin.register(receiver, ["PATIENT_CREATE"])
        issued = twin.admin.post("/credentials", json={"scopes": ["patients:read"]}).json()
        reader = httpx.Client(
            base_url=f"http://127.0.0.1:{strict_twin.port}",
            headers={"Authorization": f"Bearer {issued['credential']}"},
        )
        refused = reader.post("/api/patients", json={**PATIENT, "first_name": "Nobody"})
        assert refused.status_code == 403
        assert list(refused.json()) == ["detail"]
        writer = twin.admin.post("/credentials", json={"scopes": ["patients:write"]}).json()
        allowed = reader.post(
            "/api/patients",
            json={**PATIENT, "first_name": "Somebody"},
            headers={"Authorization": f"Bearer {writer['credential']}"},
        )
        assert allowed.status_code == 201
        delivered = receiver.wait_for(1)
        assert [d.body["object"]["first_name"] for d in delivered] == ["Somebody"]
        reader.close()
    finally:
        receiver.stop()
        twin.client.close()
        twin.admin.close()
