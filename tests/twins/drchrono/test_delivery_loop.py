"""In process (httpx's ASGITransport), deliveries run on the loop that serves the twin:
no thread of their own competes with the requests for the interpreter."""

from __future__ import annotations

import asyncio
import threading

import httpx

from apitwin.app import create_app
from tests.twins.drchrono.conftest import PATIENT
from tests.twins.drchrono.receiver import Receiver


def test_deliveries_run_on_the_serving_loop_in_order() -> None:
    receiver = Receiver("loop-secret").start()

    async def main() -> list[str]:
        app = create_app("drchrono")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://drchrono") as client:
            hook = await client.post(
                "/__apitwin__/webhooks",
                json={
                    "callback_url": receiver.url,
                    "secret_token": receiver.secret,
                    "events": ["PATIENT_CREATE", "PATIENT_MODIFY"],
                },
            )
            assert hook.json()["verified"], hook.text
            auth = {"Authorization": "Bearer t"}
            created = await client.post(
                "/api/patients", json={**PATIENT, "first_name": "v0"}, headers=auth
            )
            path = f"/api/patients/{created.json()['id']}"
            for version in range(1, 5):
                await client.patch(path, json={"first_name": f"v{version}"}, headers=auth)
            for _ in range(500):  # bounded: until the receiver holds all five
                if len(receiver.received()) >= 5:
                    break
                await asyncio.sleep(0.02)
            names = [t.name for t in threading.enumerate()]
            assert not [n for n in names if n.startswith("apitwin-webhooks")], names
            deliveries = f"/__apitwin__/webhooks/{hook.json()['id']}/deliveries"
            for _ in range(500):  # the log is written in batches, just after the answers
                log = (await client.get(deliveries)).json()
                if {d["state"] for d in log} == {"delivered"}:
                    break
                await asyncio.sleep(0.02)
            assert [d["state"] for d in log] == ["delivered"] * 5
        return [d.body["object"]["first_name"] for d in receiver.received()]

    try:
        assert asyncio.run(main()) == ["v0", "v1", "v2", "v3", "v4"]
    finally:
        receiver.stop()
