"""A drchrono twin served on a loopback port, a receiver per test, and helpers to
register webhooks and read their delivery logs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import ServedTwin, start_twin, stop_twin
from tests.twins.drchrono.receiver import Receiver


@dataclass
class Drchrono:
    twin: ServedTwin
    client: httpx.Client  # the API, with a bearer token (open auth mode)
    admin: httpx.Client  # the admin prefix

    def register(self, receiver: Receiver, events: list[str]) -> dict[str, Any]:
        response = self.admin.post(
            "/webhooks",
            json={"callback_url": receiver.url, "secret_token": receiver.secret, "events": events},
        )
        assert response.status_code == 201, response.text
        hook: dict[str, Any] = response.json()
        return hook

    def deliveries(self, hook: dict[str, Any]) -> list[dict[str, Any]]:
        response = self.admin.get(f"/webhooks/{hook['id']}/deliveries")
        assert response.status_code == 200, response.text
        log: list[dict[str, Any]] = response.json()
        return log

    def wait_log(
        self, hook: dict[str, Any], done: Callable[[list[dict[str, Any]]], bool]
    ) -> list[dict[str, Any]]:
        """Poll the delivery log (bounded) until ``done`` holds; returns the last one."""
        deadline = time.monotonic() + 20
        log = self.deliveries(hook)
        while not done(log) and time.monotonic() < deadline:
            time.sleep(0.02)
            log = self.deliveries(hook)
        return log

    def now(self) -> float:
        now: float = self.admin.get("/clock").json()["now"]
        return now

    def advance(self, seconds: float) -> None:
        response = self.admin.post("/clock", json={"advance": seconds})
        assert response.status_code == 200, response.text


# What drchrono requires of a new patient (profiles/drchrono.json `required`): a doctor,
# here the seeded practice's owner, and a gender.
PATIENT: dict[str, Any] = {"doctor": 1, "gender": "Female"}


def open_drchrono(twin: ServedTwin, token: str = "any-token") -> Drchrono:
    base = f"http://127.0.0.1:{twin.port}"
    return Drchrono(
        twin,
        httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30),
        httpx.Client(base_url=f"{base}/__apitwin__", timeout=30),
    )


@pytest.fixture(scope="module")
def drchrono() -> Iterator[Drchrono]:
    twin = start_twin("drchrono")
    served = open_drchrono(twin)
    try:
        yield served
    finally:
        served.client.close()
        served.admin.close()
        stop_twin(twin)


@pytest.fixture
def receiver(drchrono: Drchrono) -> Iterator[Receiver]:
    """A receiver for one test; its webhooks are removed afterwards, so one test's
    subscriptions never deliver into another's."""
    started = Receiver("whsec-" + str(time.monotonic_ns())).start()
    try:
        yield started
    finally:
        for hook in drchrono.admin.get("/webhooks").json():
            if hook["callback_url"] == started.url:
                drchrono.admin.delete(f"/webhooks/{hook['id']}")
        started.stop()


@pytest.fixture
def make_receiver(drchrono: Drchrono) -> Iterator[Callable[..., Receiver]]:
    """More receivers for one test (a second one to compare with)."""
    made: list[Receiver] = []

    def make(**options: Any) -> Receiver:
        one = Receiver("whsec-" + str(time.monotonic_ns()), **options).start()
        made.append(one)
        return one

    yield make
    urls = {r.url for r in made}
    for hook in drchrono.admin.get("/webhooks").json():
        if hook["callback_url"] in urls:
            drchrono.admin.delete(f"/webhooks/{hook['id']}")
    for one in made:
        one.stop()
