"""Concurrent use: 32 threads, each with its own store object (its own SQLite or
PostgreSQL connection; the memory store is shared), and separate processes."""

from __future__ import annotations

import random
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from apitwin.state.sqlite import SQLiteStore
from apitwin.state.store import Store
from tests.conftest import launch
from tests.state.conftest import POSTGRES_DSN, Backend

THREADS = 32
ROUNDS = 5
TWIN = "busy"


def run_threads(backend: Backend, work: Callable[[Store, int], Any]) -> list[Any]:
    """Open one store per thread first, then release all threads at once."""
    stores = [backend.open() for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    results: list[Any] = [None] * THREADS
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(stores[index], index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    # Switch threads far more often than usual, so that a read-modify-write cycle left
    # unprotected gets interrupted even where only the GIL stands between threads.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    if errors:
        raise errors[0]
    return results


@pytest.mark.timeout(60)
def test_concurrent_patches_lose_no_update(backend: Backend) -> None:
    fields = {f"field{n}": 0 for n in range(THREADS)}
    with backend.open().transaction(TWIN) as tx:
        tx.put("droplets", "1", {"id": 1, "shared": 0, **fields}, parent="acct")

    def patch(store: Store, index: int) -> None:
        for _ in range(ROUNDS):
            with store.transaction(TWIN) as tx:
                current = tx.get("droplets", "1", for_update=True)
                assert current is not None
                current[f"field{index}"] += 1
                current["shared"] += 1
                tx.put("droplets", "1", current, parent="acct")

    run_threads(backend, patch)
    with backend.open().transaction(TWIN, write=False) as tx:
        final = tx.get("droplets", "1")
        page = tx.list("droplets", parent="acct")
    assert final == {"id": 1, "shared": THREADS * ROUNDS, **dict.fromkeys(fields, ROUNDS)}
    assert page.total == 1


@pytest.mark.timeout(60)
def test_concurrent_next_id_hands_out_distinct_ids(backend: Backend) -> None:
    def take(store: Store, index: int) -> int:
        with store.transaction(TWIN) as tx:
            return tx.next_id("orders")

    assert sorted(run_threads(backend, take)) == list(range(1, THREADS + 1))


@pytest.mark.timeout(60)
def test_concurrent_inserts_and_deletes_keep_totals_exact(backend: Backend) -> None:
    """Every transaction touches two families and two parents in a random order: totals
    must stay exact and no transaction may deadlock."""

    def churn(store: Store, index: int) -> None:
        rng = random.Random(index)
        for round_ in range(ROUNDS):
            with store.transaction(TWIN) as tx:
                for family in rng.sample(["cats", "dogs"], 2):
                    key = str(tx.next_id(family))
                    tx.put(family, key, {"by": index}, parent=rng.choice(["p1", "p2"]))
                if round_ % 2:
                    assert tx.delete(family, key)  # the last resource this round created

    run_threads(backend, churn)
    with backend.open().transaction(TWIN, write=False) as tx:
        for family in ("cats", "dogs"):
            everything = tx.list(family, parent=None)
            assert everything.total == len(everything.items)
            per_parent = [tx.list(family, parent=p) for p in ("p1", "p2")]
            assert [page.total for page in per_parent] == [len(page.items) for page in per_parent]
            assert sum(page.total for page in per_parent) == everything.total
        remaining = sum(tx.list(family, parent=None).total for family in ("cats", "dogs"))
    deleted = THREADS * (ROUNDS // 2)
    assert remaining == THREADS * ROUNDS * 2 - deleted


def test_store_objects_see_each_others_commits_at_once(durable_backend: Backend) -> None:
    first, second = durable_backend.open(), durable_backend.open()
    with first.transaction(TWIN) as tx:
        tx.put("items", "a", {"v": 1})
    with second.transaction(TWIN) as tx:
        assert tx.get("items", "a") == {"v": 1}
        tx.put("items", "a", {"v": 2})
        tx.put("items", "b", {"v": 3})
        assert tx.next_id("items") == 1
    with first.transaction(TWIN) as tx:
        assert tx.get("items", "a") == {"v": 2}
        assert tx.list("items").total == 2
        assert tx.next_id("items") == 2
    first.set_meta(TWIN, "seeded", "9")
    assert second.get_meta(TWIN, "seeded") == "9"
    second.clear(TWIN)
    assert first.dump(TWIN) == {}


def test_a_clear_through_one_store_object_changes_the_generation_another_sees(
    durable_backend: Backend,
) -> None:
    first, second = durable_backend.open(), durable_backend.open()
    with first.transaction(TWIN) as tx:
        tx.put("items", "a", {"v": 1})
    before = first.generation(TWIN), first.generation("other twin")
    assert first.generation(TWIN) == before[0]  # asking changes nothing
    second.clear(TWIN)
    assert second.generation(TWIN) != before[0]
    # At once, without waiting: a process answers a reset only after it committed, and
    # the next request another process serves must see it.
    assert first.generation(TWIN) != before[0]
    assert first.generation("other twin") == before[1]
    seen = first.generation(TWIN)
    with second.transaction(TWIN) as tx:  # writes are not clears
        tx.put("items", "b", {"v": 2})
    assert first.generation(TWIN) == seen


def test_uncommitted_writes_stay_invisible_to_other_store_objects(durable_backend: Backend) -> None:
    first, second = durable_backend.open(), durable_backend.open()
    with first.transaction(TWIN) as tx:
        tx.put("items", "a", {"v": 1})
        with second.transaction(TWIN, write=False) as other:
            assert other.get("items", "a") is None
            assert other.list("items").total == 0
    with second.transaction(TWIN, write=False) as other:
        assert other.get("items", "a") == {"v": 1}


def test_sqlite_state_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "state.sqlite3"
    store = SQLiteStore(path)
    with store.transaction(TWIN) as tx:
        tx.put("items", "a", {"v": 1}, parent="p")
        tx.put("items", "b", {"v": 2}, parent="p")
        assert tx.next_id("items") == 1
    store.set_meta(TWIN, "seeded", "3")
    store.close()

    reopened = SQLiteStore(path)
    with reopened.transaction(TWIN) as tx:
        page = tx.list("items", parent="p")
        assert (page.items, page.total) == ([{"v": 1}, {"v": 2}], 2)
        assert tx.next_id("items") == 2
        assert tx.families() == ["items"]
    assert reopened.get_meta(TWIN, "seeded") == "3"
    reopened.close()


WORKER = """
import sys

kind, where, rounds, field = sys.argv[1:]
if kind == "sqlite":
    from apitwin.state.sqlite import SQLiteStore

    store = SQLiteStore(where)
else:
    from apitwin.state.postgres import PostgresStore

    dsn, schema = where.split(" ", 1)
    store = PostgresStore(dsn, schema=schema)
for _ in range(int(rounds)):
    with store.transaction("busy") as tx:
        current = tx.get("counters", "c", for_update=True)
        current[field] += 1
        current["shared"] += 1
        tx.put("counters", "c", current)
store.close()
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_processes_share_state_without_losing_updates(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    processes, rounds = 4, 20
    if kind == "sqlite":
        where = str(tmp_path / "shared.db")
        store: Store = SQLiteStore(where)
    else:
        from apitwin.state.postgres import PostgresStore

        schema = request.getfixturevalue("postgres_schema")
        where = f"{POSTGRES_DSN} {schema}"
        store = PostgresStore(POSTGRES_DSN, schema=schema)
        store.clear(TWIN)
    with store.transaction(TWIN) as tx:
        tx.put("counters", "c", {"shared": 0, **{f"p{n}": 0 for n in range(processes)}})
    workers = [
        launch([sys.executable, "-c", WORKER, kind, where, str(rounds), f"p{n}"])
        for n in range(processes)
    ]
    assert [worker.wait(timeout=50) for worker in workers] == [0] * processes
    with store.transaction(TWIN, write=False) as tx:
        final = tx.get("counters", "c")
    store.close()
    assert final == {"shared": processes * rounds, **{f"p{n}": rounds for n in range(processes)}}
