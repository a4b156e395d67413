"""open_store: from the --state word to a working store, or a one-line ValueError."""

from __future__ import annotations

import socket
from pathlib import Path

import platformdirs
import pytest

from apitwin.state.memory import MemoryStore
from apitwin.state.sqlite import SQLiteStore
from apitwin.state.stores import default_data_dir, open_store, redact_dsn
from tests.state.conftest import POSTGRES_DSN


@pytest.mark.parametrize("spec", ["sqlite", "", "  SQLite "])
def test_sqlite_is_the_default_in_the_data_dir(tmp_path: Path, spec: str) -> None:
    data_dir = tmp_path / "not" / "yet" / "there"
    store = open_store(spec, data_dir)
    try:
        assert isinstance(store, SQLiteStore)
        with store.transaction("t") as tx:
            tx.put("items", "1", {"ok": True})
        assert (data_dir / "apitwin.sqlite3").is_file()
    finally:
        store.close()
    reopened = open_store("sqlite", data_dir)
    assert reopened.dump("t") == {"items": [{"ok": True}]}
    reopened.close()


@pytest.mark.parametrize("name", ["state.sqlite", "state.sqlite3", "state.db", "STATE.DB"])
def test_a_sqlite_file_path(tmp_path: Path, name: str) -> None:
    path = tmp_path / "sub" / name
    store = open_store(str(path), tmp_path / "unused")
    try:
        assert isinstance(store, SQLiteStore)
        assert store.path == path
        assert path.is_file()
        assert not (tmp_path / "unused").exists()
    finally:
        store.close()


def test_memory(tmp_path: Path) -> None:
    assert isinstance(open_store("memory", tmp_path), MemoryStore)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("spec", ["redis://localhost", "mysql://x/y", "state.json", "nonsense"])
def test_unknown_spec_is_a_one_line_value_error(tmp_path: Path, spec: str) -> None:
    with pytest.raises(ValueError) as caught:
        open_store(spec, tmp_path)
    message = str(caught.value)
    assert repr(spec) in message
    assert "postgresql://" in message and "\n" not in message


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not an SQLite database" * 100)
    with pytest.raises(ValueError, match="cannot open SQLite state file .*garbage.db"):
        open_store(str(path), tmp_path)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_unreachable_postgres_names_the_dsn_without_password(tmp_path: Path, scheme: str) -> None:
    port = _free_port()
    dsn = f"{scheme}://apitwin:s3cr3t-pw@127.0.0.1:{port}/state"
    with pytest.raises(ValueError) as caught:
        open_store(dsn, tmp_path)
    message = str(caught.value)
    assert f"{scheme}://apitwin@127.0.0.1:{port}/state" in message
    assert "s3cr3t-pw" not in message
    assert "\n" not in message


def test_postgres_dsn_opens_a_postgres_store(tmp_path: Path, postgres_schema: str) -> None:
    """(``postgres_schema`` is requested for its reachability check.)"""
    psycopg = pytest.importorskip("psycopg")
    from apitwin.state.postgres import PostgresStore

    # open_store uses the "apitwin" schema; drop it afterwards only if this test made it.
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as admin:
        existed = admin.execute("SELECT to_regnamespace('apitwin') IS NOT NULL").fetchone()[0]
        store = open_store(POSTGRES_DSN, tmp_path)
        try:
            assert isinstance(store, PostgresStore)
            assert store.get_meta("open-store-test", "x") is None
        finally:
            store.close()
            if not existed:
                admin.execute("DROP SCHEMA apitwin CASCADE")


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u@h:5432/db"),
        ("postgres://u@h/db", "postgres://u@h/db"),
        ("postgresql://:pw@h/db", "postgresql://h/db"),
        (
            "postgresql://u@h1:1,h2:2/db?password=pw&sslmode=require",
            "postgresql://u@h1:1,h2:2/db?sslmode=require",
        ),
    ],
)
def test_redact_dsn(dsn: str, shown: str) -> None:
    assert redact_dsn(dsn) == shown


def test_default_data_dir_is_the_user_data_dir() -> None:
    assert default_data_dir() == Path(platformdirs.user_data_dir("apitwin"))
    assert default_data_dir().name == "apitwin"
