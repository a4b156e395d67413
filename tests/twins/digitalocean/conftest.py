"""One DigitalOcean twin per test module, served on a loopback port and started empty;
each test starts from a fresh account (reset), and moves the twin clock to "wait"."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import ServedTwin, start_twin, stop_twin

TOKEN = "dop_v1_twin"


@dataclass
class Account:
    """The served twin, with the admin calls a test needs."""

    twin: ServedTwin
    http: httpx.Client

    @property
    def url(self) -> str:
        return self.twin.base_url

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass on the twin clock."""
        self.http.post("/__apitwin__/clock", json={"advance": seconds}).raise_for_status()


@pytest.fixture(scope="module")
def served() -> Iterator[ServedTwin]:
    twin = start_twin("digitalocean", "--empty")
    yield twin
    stop_twin(twin)


@pytest.fixture
def account(served: ServedTwin) -> Iterator[Account]:
    with httpx.Client(
        base_url=served.base_url, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as http:
        http.post("/__apitwin__/reset").raise_for_status()
        yield Account(served, http)
