"""Fixtures: every backend on real storage (a temporary SQLite file, a scratch schema in
the PostgreSQL database ``test``), each test starting from empty state."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from apitwin.state.memory import MemoryStore
from apitwin.state.sqlite import SQLiteStore
from apitwin.state.store import Store

# Point elsewhere with APITWIN_TEST_POSTGRES; set it to "skip" to leave PostgreSQL out.
POSTGRES_DSN = os.environ.get("APITWIN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["memory", "sqlite", "postgres"]
TABLES = ("resources", "counts", "totals", "sequences", "meta")


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """A schema of its own for this test run, dropped at the end."""
    if POSTGRES_DSN == "skip":
        pytest.skip("APITWIN_TEST_POSTGRES=skip")
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(POSTGRES_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL at {POSTGRES_DSN} is not reachable ({exc}); "
            "set APITWIN_TEST_POSTGRES to another DSN or to 'skip'"
        )
    schema = f"apitwin_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        yield schema
    finally:
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


@dataclass
class Backend:
    """Opens store objects that share one underlying state (one file, one schema; for
    memory, the one store), as separate processes would."""

    name: str
    opener: Callable[[], Store]
    opened: list[Store] = field(default_factory=list)

    def open(self) -> Store:
        store = self.opener()
        self.opened.append(store)
        return store

    def close_all(self) -> None:
        for store in self.opened:
            store.close()


def _postgres_opener(schema: str) -> Callable[[], Store]:
    from apitwin.state.postgres import PostgresStore

    # Each test starts empty: the schema's tables are created once, emptied per test.
    first = PostgresStore(POSTGRES_DSN, schema=schema)
    with first._cursor() as cur:
        cur.execute("TRUNCATE " + ", ".join(f'"{schema}".{table}' for table in TABLES))
    first.close()
    return lambda: PostgresStore(POSTGRES_DSN, schema=schema)


def _backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    name = request.param
    if name == "memory":
        shared = MemoryStore()
        opener: Callable[[], Store] = lambda: shared  # noqa: E731
    elif name == "sqlite":
        opener = lambda: SQLiteStore(tmp_path / "state" / "twins.sqlite3")  # noqa: E731
    else:
        opener = _postgres_opener(request.getfixturevalue("postgres_schema"))
    return Backend(name, opener)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each backend in turn."""
    opened = _backend(request, tmp_path)
    yield opened
    opened.close_all()


@pytest.fixture(params=["sqlite", "postgres"])
def durable_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """The backends whose store objects (like processes) share state through storage."""
    opened = _backend(request, tmp_path)
    yield opened
    opened.close_all()


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.open()
