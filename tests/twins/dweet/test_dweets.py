"""dweet.io over raw HTTP: dweets per thing, the wrapper, JSONP, locks, alerts, storage."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.conventions.conftest import TwinClient


@pytest.fixture
def dweet() -> Iterator[TwinClient]:
    client = TwinClient("dweet", base_url="http://dweet.test")
    yield client
    client.close()


def _ok(response, by: str, the: str):  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["this"] == "succeeded", body
    assert (body["by"], body["the"]) == (by, the)
    return body["with"]


def _failed(response, status: int, because: str | None = None):  # type: ignore[no-untyped-def]
    body = response.json()
    assert body["this"] == "failed", body
    assert body["with"] == status
    if because is not None:
        assert body["because"] == because
    return body


def test_a_thing_exists_once_it_dweets(dweet: TwinClient) -> None:
    _failed(dweet.get("/get/latest/dweet/for/probe-1"), 404, "we couldn't find this")
    made = _ok(
        dweet.post("/dweet/for/probe-1", json={"temp": 21.5, "on": True}), "dweeting", "dweet"
    )
    assert made["thing"] == "probe-1"
    assert made["content"] == {"temp": 21.5, "on": True}
    assert made["transaction"]
    datetime.fromisoformat(made["created"].replace("Z", "+00:00"))
    latest = _ok(dweet.get("/get/latest/dweet/for/probe-1"), "getting", "dweets")
    assert latest == [{k: made[k] for k in ("thing", "created", "content")}]


def test_query_parameters_are_the_content_of_a_get_or_post(dweet: TwinClient) -> None:
    made = _ok(dweet.get("/dweet/for/probe-2?temp=21&unit=c&ratio=0.5"), "dweeting", "dweet")
    assert made["content"] == {"temp": 21, "unit": "c", "ratio": 0.5}
    posted = _ok(dweet.post("/dweet/for/probe-2?level=3"), "dweeting", "dweet")
    assert posted["content"] == {"level": 3}


def test_get_dweets_gives_the_last_five_newest_first(dweet: TwinClient) -> None:
    for n in range(7):
        dweet.post("/dweet/for/probe-3", json={"n": n})
    dweets = _ok(dweet.get("/get/dweets/for/probe-3"), "getting", "dweets")
    assert [d["content"]["n"] for d in dweets] == [6, 5, 4, 3, 2]
    latest = _ok(dweet.get("/get/latest/dweet/for/probe-3"), "getting", "dweets")
    assert [d["content"]["n"] for d in latest] == [6]


def test_dweets_leave_the_cache_after_a_day(dweet: TwinClient) -> None:
    dweet.post("/dweet/for/probe-4", json={"n": 1})
    assert dweet.post("/__apitwin__/clock", json={"advance": 23 * 3600}).status_code == 200
    assert len(_ok(dweet.get("/get/dweets/for/probe-4"), "getting", "dweets")) == 1
    dweet.post("/__apitwin__/clock", json={"advance": 3600 + 1})
    _failed(dweet.get("/get/dweets/for/probe-4"), 404, "we couldn't find this")


def test_jsonp_wraps_the_answer_in_the_callback(dweet: TwinClient) -> None:
    dweet.post("/dweet/for/probe-5", json={"a": 1})
    response = dweet.get("/get/latest/dweet/for/probe-5?callback=show.dweet")
    assert response.headers["content-type"] == "application/javascript"
    text = response.text
    assert text.startswith('show.dweet({"this":"succeeded","by":"getting"') and text.endswith(");")
    failed = dweet.get("/get/latest/dweet/for/nobody-here?callback=cb")
    assert failed.text.startswith('cb({"this":"failed","with":404')
    refused = dweet.get("/get/latest/dweet/for/probe-5?callback=alert(1)//")
    _failed(refused, 400)
    assert refused.headers["content-type"] == "application/json"


def test_quiet_dweets_answer_204_and_are_kept(dweet: TwinClient) -> None:
    response = dweet.post("/dweet/quietly/for/probe-6", json={"q": 1})
    assert response.status_code == 204 and response.content == b""
    latest = _ok(dweet.get("/get/latest/dweet/for/probe-6"), "getting", "dweets")
    assert latest[0]["content"] == {"q": 1}


def test_engine_errors_use_the_failed_wrapper(dweet: TwinClient) -> None:
    unknown = dweet.get("/no/such/path")
    assert unknown.status_code == 404
    _failed(unknown, 404)
    missing = dweet.get("/lock/probe-7?key=k")  # the lock parameter is required
    assert missing.status_code == 400
    assert "lock" in _failed(missing, 400)["because"]
    not_json = dweet.post(
        "/dweet/for/probe-7", content=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400
    _failed(not_json, 400)
    listed = dweet.post("/dweet/for/probe-7", json=[1, 2])
    _failed(listed, 400, "the content of a dweet must be a JSON object")
    _failed(dweet.get("/get/latest/dweet/for/probe-7"), 404)  # nothing was stored


def test_locks_gate_a_thing_until_unlocked(dweet: TwinClient) -> None:
    dweet.post("/dweet/for/vault", json={"before": True})
    _ok(dweet.get("/lock/vault?lock=L1&key=K1"), "locking", "thing")
    _failed(
        dweet.post("/dweet/for/vault", json={"a": 1}),
        403,
        "this thing is locked and requires a key",
    )
    _failed(
        dweet.get("/get/latest/dweet/for/vault?key=wrong"),
        403,
        "the key you provided doesn't work with this thing",
    )
    _ok(dweet.post("/dweet/for/vault?key=K1", json={"a": 1}), "dweeting", "dweet")
    latest = _ok(dweet.get("/get/latest/dweet/for/vault?key=K1"), "getting", "dweets")
    assert latest[0]["content"] == {"a": 1}
    # One lock, one thing; another lock cannot take a locked thing.
    _failed(dweet.get("/lock/other?lock=L1&key=K1"), 409, "this lock is already in use")
    _failed(dweet.get("/lock/vault?lock=L2&key=K2"), 409, "this thing is already locked")
    _failed(dweet.get("/unlock/vault?key=wrong"), 403)
    _ok(dweet.get("/unlock/vault?key=K1"), "unlocking", "thing")
    _ok(dweet.post("/dweet/for/vault", json={"open": True}), "dweeting", "dweet")


def test_removing_a_lock_frees_the_thing_and_the_lock(dweet: TwinClient) -> None:
    _ok(dweet.get("/lock/safe?lock=L3&key=K3"), "locking", "thing")
    _failed(dweet.get("/remove/lock/L3?key=nope"), 403)
    assert _ok(dweet.get("/remove/lock/L3?key=K3"), "removing", "lock") == "L3"
    _failed(dweet.get("/remove/lock/L3?key=K3"), 404, "this lock is not in use")
    _ok(dweet.post("/dweet/for/safe", json={"free": True}), "dweeting", "dweet")
    _ok(dweet.get("/lock/other-safe?lock=L3&key=K3"), "locking", "thing")


def test_alerts_need_a_locked_thing(dweet: TwinClient) -> None:
    condition = "if(dweet.temp > 30) return 'hot';"
    path = "/alert/a@example.com,b@example.com/when/boiler/" + condition.replace(" ", "%20")
    _failed(dweet.get(path + "?key=K4"), 403, "a thing must be locked before an alert can be set")
    dweet.get("/lock/boiler?lock=L4&key=K4")
    alert = _ok(dweet.get(path + "?key=K4"), "alerting", "alert")
    assert alert["condition"] == condition
    assert alert["who"] == ["a@example.com", "b@example.com"]
    assert _ok(dweet.get("/get/alert/for/boiler?key=K4"), "getting", "alert") == alert
    assert "key" in _failed(dweet.get("/get/alert/for/boiler"), 400)["because"]  # required
    _ok(dweet.get("/remove/alert/for/boiler?key=K4"), "removing", "alert")
    _failed(dweet.get("/get/alert/for/boiler?key=K4"), 404, "we couldn't find this")


def test_locked_things_keep_their_dweets_in_storage(dweet: TwinClient) -> None:
    dweet.get("/lock/meter?lock=L5&key=K5")
    for n in range(3):
        dweet.post("/dweet/for/meter?key=K5", json={"n": n, "unit": "kWh"})
    clock = dweet.get("/__apitwin__/clock").json()
    day = datetime.fromtimestamp(clock["now"], UTC)
    query = f"key=K5&date={day:%Y-%m-%d}"
    stored = _ok(dweet.get(f"/get/stored/dweets/for/meter?{query}"), "getting", "stored_dweets")
    assert [d["content"]["n"] for d in stored] == [0, 1, 2]
    hour = _ok(
        dweet.get(f"/get/stored/dweets/for/meter?{query}&hour={day:%H}"),
        "getting",
        "stored_dweets",
    )
    assert len(hour) == 3
    other = (day.hour + 1) % 24
    assert dweet.get(f"/get/stored/dweets/for/meter?{query}&hour={other:02d}").json()["with"] == []
    as_json = dweet.get(f"/get/stored/dweets/for/meter?{query}&responseType=json").json()
    assert [d["content"]["n"] for d in as_json] == [0, 1, 2]
    as_csv = dweet.get(f"/get/stored/dweets/for/meter?{query}&responseType=csv")
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["thing"], r["n"], r["unit"]) for r in rows] == [
        ("meter", "0", "kWh"),
        ("meter", "1", "kWh"),
        ("meter", "2", "kWh"),
    ]
    _failed(dweet.get("/get/stored/dweets/for/meter?key=K5&date=yesterday"), 400)
    _failed(dweet.get(f"/get/stored/dweets/for/open-thing?key=K5&date={day:%Y-%m-%d}"), 403)
    alerts = _ok(dweet.get(f"/get/stored/alerts/for/meter?{query}"), "getting", "stored_alerts")
    assert alerts == []
