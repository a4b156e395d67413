"""Containers whose command ends on the twin clock are settled when a request first sees
the moment has passed, and only then: reads when nothing is due run in a read-only
transaction, with the same answers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from apitwin.state.memory import MemoryStore
from apitwin.state.store import Transaction
from tests.conventions.conftest import TwinClient

E = "/v1.33"
ENGINE = "docker-engine"
READS = (
    f"{E}/containers/json?all=1",
    f"{E}/containers/timed/json",
    f"{E}/containers/forever/top",
    f"{E}/containers/timed/logs?stdout=1",
    f"{E}/images/json",
    f"{E}/networks",
    f"{E}/volumes",
    f"{E}/info",
    f"{E}/system/df",
)


class CountingStore(MemoryStore):
    """A memory store that counts the write transactions of each twin."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: Counter[str] = Counter()

    @contextmanager
    def transaction(
        self, twin: str, *, write: bool = True, quiet: bool = False
    ) -> Iterator[Transaction]:
        if write:
            self.writes[twin] += 1
        with super().transaction(twin, write=write, quiet=quiet) as tx:
            yield tx


def started(engine: TwinClient, name: str, cmd: list[str]) -> str:
    created = engine.post(
        f"{E}/containers/create", params={"name": name}, json={"Image": "busybox", "Cmd": cmd}
    )
    assert created.status_code == 201, created.text
    assert engine.post(f"{E}/containers/{name}/start").status_code == 204
    ident: str = created.json()["Id"]
    return ident


def status(engine: TwinClient, name: str) -> tuple[str, int]:
    state = engine.get(f"{E}/containers/{name}/json").json()["State"]
    return state["Status"], state["ExitCode"]


def advance(engine: TwinClient, seconds: float) -> None:
    assert engine.post("/__apitwin__/clock", json={"advance": seconds}).status_code == 200


def test_reads_write_nothing_until_a_command_is_due(twin: Callable[..., TwinClient]) -> None:
    store = CountingStore()
    engine = twin(ENGINE, store=store, empty=True)
    assert engine.post(f"{E}/images/create?fromImage=busybox&tag=latest").status_code == 200
    started(engine, "timed", ["sleep", "30"])
    started(engine, "forever", ["sleep", "infinity"])
    store.writes.clear()
    for url in READS:
        assert engine.get(url).status_code == 200, url
    assert store.writes[ENGINE] == 0
    assert status(engine, "timed") == ("running", 0)
    advance(engine, 31)
    store.writes.clear()
    assert status(engine, "timed") == ("exited", 0)  # the first read after the moment settles
    assert store.writes[ENGINE] == 1
    for url in READS:
        assert engine.get(url).status_code == 200, url
    assert store.writes[ENGINE] == 1  # nothing else is due: reads are plain again
    assert status(engine, "forever") == ("running", 0)
    now = engine.get("/__apitwin__/clock").json()["now"]
    events = engine.get(f"{E}/events", params={"since": 0, "until": now}).text
    assert '"Action":"die"' in events


def test_the_earliest_of_several_due_times_comes_first(twin: Callable[..., TwinClient]) -> None:
    engine = twin(ENGINE, empty=True)
    assert engine.post(f"{E}/images/create?fromImage=busybox&tag=latest").status_code == 200
    started(engine, "later", ["sleep", "60"])
    started(engine, "sooner", ["sleep", "10"])
    advance(engine, 11)
    assert status(engine, "sooner") == ("exited", 0)
    assert status(engine, "later") == ("running", 0)
    advance(engine, 50)
    assert status(engine, "later") == ("exited", 0)


def test_a_command_that_ran_out_while_paused_exits_after_unpause(
    twin: Callable[..., TwinClient],
) -> None:
    engine = twin(ENGINE, empty=True)
    assert engine.post(f"{E}/images/create?fromImage=busybox&tag=latest").status_code == 200
    started(engine, "napper", ["sh", "-c", "sleep 5; exit 4"])
    assert engine.post(f"{E}/containers/napper/pause").status_code == 204
    advance(engine, 10)
    assert status(engine, "napper") == ("paused", 0)
    assert engine.post(f"{E}/containers/napper/unpause").status_code == 204
    assert status(engine, "napper") == ("exited", 4)


def test_a_container_stopped_before_its_time_leaves_nothing_due(
    twin: Callable[..., TwinClient],
) -> None:
    store = CountingStore()
    engine = twin(ENGINE, store=store, empty=True)
    assert engine.post(f"{E}/images/create?fromImage=busybox&tag=latest").status_code == 200
    started(engine, "stopped-early", ["sleep", "20"])
    assert engine.post(f"{E}/containers/stopped-early/stop").status_code == 204
    advance(engine, 30)
    assert status(engine, "stopped-early")[0] == "exited"  # one scan finds nothing due
    store.writes.clear()
    for url in READS[:1] + READS[4:]:
        assert engine.get(url).status_code == 200, url
    assert store.writes[ENGINE] == 0
