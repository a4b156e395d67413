"""dweepy, dweet.io's Python client, against the twin on a loopback port."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import dweepy
import dweepy.api
import dweepy.streaming
import pytest
import requests

from tests.conftest import ServedTwin, start_twin, stop_twin


@pytest.fixture(scope="module")
def served() -> Iterator[ServedTwin]:
    twin = start_twin("dweet")
    yield twin
    stop_twin(twin)


@pytest.fixture
def client(served: ServedTwin, monkeypatch: pytest.MonkeyPatch) -> ServedTwin:
    """dweepy keeps its base URL in a constant per module: point both at the twin."""
    base = served.base_url.rstrip("/")
    monkeypatch.setattr(dweepy.api, "BASE_URL", base)
    monkeypatch.setattr(dweepy.streaming, "BASE_URL", base)
    return served


DATA = {"hello": "world", "somenum": 6816513845}


def test_dweepy_writes_and_reads_latest_and_all(client: ServedTwin) -> None:
    written = dweepy.dweet_for("dweepy-thing", DATA)
    assert written["thing"] == "dweepy-thing" and written["content"] == DATA
    dweepy.dweet_for("dweepy-thing", {"hello": "again"})
    latest = dweepy.get_latest_dweet_for("dweepy-thing")
    assert [d["content"] for d in latest] == [{"hello": "again"}]
    every = dweepy.get_dweets_for("dweepy-thing")
    assert [d["content"] for d in every] == [{"hello": "again"}, DATA]


def test_dweepy_hears_a_dweet_through_listen(client: ServedTwin) -> None:
    heard: list[dict[str, Any]] = []
    session = requests.Session()
    listening = dweepy.listen_for_dweets_from("dweepy-live", timeout=30, session=session)

    def writer() -> None:
        # The listener connects when the generator is first advanced; dweets written
        # before that are not part of the stream, so keep writing until one is heard.
        for n in range(60):
            if heard:
                return
            dweepy.dweet_for("dweepy-live", {"n": n})
            time.sleep(0.25)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        heard.append(next(listening))
    finally:
        listening.close()
        session.close()
        thread.join(30)
    assert heard[0]["thing"] == "dweepy-live"
    assert isinstance(heard[0]["content"]["n"], int)
    assert set(heard[0]) == {"thing", "created", "content"}


def test_dweepy_sees_locks_as_the_service_reports_them(client: ServedTwin) -> None:
    dweepy.lock("dweepy-locked", "dweepy-lock", "dweepy-key")
    with pytest.raises(dweepy.DweepyError, match="this thing is locked and requires a key"):
        dweepy.dweet_for("dweepy-locked", DATA)
    with pytest.raises(dweepy.DweepyError, match="the key you provided doesn't work"):
        dweepy.get_latest_dweet_for("dweepy-locked", key="badkey")
    assert dweepy.dweet_for("dweepy-locked", DATA, key="dweepy-key")["content"] == DATA
    condition = "if(dweet.alertValue > 10) return 'TEST: Greater than 10';"
    alert = dweepy.set_alert("dweepy-locked", ["a@example.com"], condition, "dweepy-key")
    assert alert["condition"] == condition
    assert dweepy.get_alert("dweepy-locked", "dweepy-key")["condition"] == condition
    dweepy.remove_alert("dweepy-locked", "dweepy-key")
    with pytest.raises(dweepy.DweepyError, match="we couldn't find this"):
        dweepy.get_alert("dweepy-locked", "dweepy-key")
    assert dweepy.remove_lock("dweepy-lock", "dweepy-key") == "dweepy-lock"
    with pytest.raises(dweepy.DweepyError, match="this lock is not in use"):
        dweepy.remove_lock("dweepy-lock", "dweepy-key")
