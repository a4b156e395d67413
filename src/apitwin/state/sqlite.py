"""SQLiteStore: the default store, one file that several processes may share.

Layout (every table keyed by twin first, so twins never see each other):

- ``resources(id, twin, family, key, parent, body)``: ``id`` is the rowid and doubles
  as the list position (an update keeps it, so a replaced resource keeps its place);
  ``body`` is orjson bytes. A unique index on (twin, family, key) serves ``get``; indexes
  on (twin, family, parent) and (twin, family) serve pages, already in rowid order.
- ``counts(twin, family, parent, n)`` and ``totals(twin, family, n)``: list totals per
  parent and per family, kept up to date by every insert and delete so a page never
  counts rows. Rows that reach zero are removed.
- ``sequences(twin, family, last_id)``: what ``next_id`` hands out, updated in the same
  transaction as the resources.
- ``meta(twin, key, value)``. ``clear`` keeps one row there, ``cleared``: how many
  times the twin was cleared. ``generation`` reads it only when ``PRAGMA data_version``
  says another connection has committed since the last look, so a process learns of a
  reset made through another one without reading the database on every request.

Transactions: ``write=True`` begins with ``BEGIN IMMEDIATE``, taking the database's one
write lock up front, so read-modify-write cycles from any number of connections or
processes run one after another instead of failing when a deferred transaction tries to
upgrade. Waiting for that lock is bounded by the busy timeout (5 s by default).
``write=False`` begins a deferred transaction: in WAL mode readers never wait for the
writer and see one consistent snapshot.
"""

from __future__ import annotations

import builtins
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from typing import Any

import orjson

from apitwin.state.store import (
    FilterValue,
    ReadOnlyTransactionError,
    Resource,
    Store,
    StoredJsonTransaction,
    Transaction,
    TransactionLock,
    check_filters,
    check_page,
)

__all__ = ["SQLiteStore"]

_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    id INTEGER PRIMARY KEY,
    twin TEXT NOT NULL,
    family TEXT NOT NULL,
    key TEXT NOT NULL,
    parent TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS resources_by_key ON resources (twin, family, key);
CREATE INDEX IF NOT EXISTS resources_by_parent ON resources (twin, family, parent);
CREATE INDEX IF NOT EXISTS resources_by_family ON resources (twin, family);
CREATE TABLE IF NOT EXISTS counts (
    twin TEXT NOT NULL,
    family TEXT NOT NULL,
    parent TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (twin, family, parent)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS totals (
    twin TEXT NOT NULL,
    family TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (twin, family)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sequences (
    twin TEXT NOT NULL,
    family TEXT NOT NULL,
    last_id INTEGER NOT NULL,
    PRIMARY KEY (twin, family)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    twin TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (twin, key)
) WITHOUT ROWID;
"""

# Bodies are cast to TEXT before the JSON functions see them: SQLite 3.45 and later read
# a BLOB argument as its own binary JSONB format, which orjson bytes are not.
_BODY = "CAST(body AS TEXT)"


def _typed(type_sql: str, atom_sql: str, value: FilterValue, value_name: str) -> str:
    """SQL true when a JSON value, given by its json_type and its SQL value, equals
    ``value`` with the same JSON type (true is not 1, "1" is not 1)."""
    if value is None:
        return f"{type_sql} = 'null'"
    if isinstance(value, bool):
        return f"{type_sql} = '{'true' if value else 'false'}'"
    if isinstance(value, int | float):
        return f"({type_sql} IN ('integer', 'real') AND {atom_sql} = :{value_name})"
    return f"({type_sql} = 'text' AND {atom_sql} = :{value_name})"


def _filter_sql(index: int, name: str, value: FilterValue, params: dict[str, Any]) -> str:
    """A WHERE clause for one filter: the top-level field equals ``value``, or is an array
    holding an element that does (a missing field counts as null)."""
    field, value_name = f"f{index}", f"v{index}"
    params[value_name] = value
    if '"' in name:
        # A JSON path cannot quote a double quote: find the member by name instead.
        params[field] = name
        member = f"FROM json_each({_BODY}) WHERE key = :{field}"
        type_sql, atom_sql = f"(SELECT type {member})", f"(SELECT atom {member})"
        elements = f"json_each((SELECT value {member}))"
    else:
        params[field] = f'$."{name}"'
        type_sql, atom_sql = f"json_type({_BODY}, :{field})", f"json_extract({_BODY}, :{field})"
        elements = f"json_each({_BODY}, :{field})"
    scalar = _typed(type_sql, atom_sql, value, value_name)
    if value is None:
        scalar = f"({type_sql} IS NULL OR {scalar})"
    inside = _typed("type", "atom", value, value_name)
    return (
        f"({scalar} OR ({type_sql} = 'array' AND EXISTS (SELECT 1 FROM {elements} WHERE {inside})))"
    )


def _bytes(body: bytes | str) -> bytes:
    """A stored body as bytes (written as a BLOB; TEXT read back the same)."""
    return body if isinstance(body, bytes) else body.encode()


class _SQLiteTransaction(StoredJsonTransaction):
    """Statements run through the store's one cursor (every result is fetched before the
    next statement): cheaper than a cursor per statement, which ``conn.execute`` makes."""

    def __init__(self, conn: sqlite3.Cursor, twin: str, write: bool) -> None:
        self._conn = conn
        self._twin = twin
        self._write = write
        self.closed = False

    def _check(self, writing: bool) -> None:
        if self.closed:
            raise RuntimeError("transaction already ended")
        if writing and not self._write:
            raise ReadOnlyTransactionError("write inside a write=False transaction")

    def _count(self, family: str, parent: str, delta: int) -> None:
        """Move the per-parent and per-family totals by ``delta``."""
        twin = self._twin
        self._conn.execute(
            "INSERT INTO counts (twin, family, parent, n) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (twin, family, parent) DO UPDATE SET n = n + excluded.n",
            (twin, family, parent, delta),
        )
        self._conn.execute(
            "INSERT INTO totals (twin, family, n) VALUES (?, ?, ?) "
            "ON CONFLICT (twin, family) DO UPDATE SET n = n + excluded.n",
            (twin, family, delta),
        )
        if delta < 0:
            self._conn.execute(
                "DELETE FROM counts WHERE twin = ? AND family = ? AND parent = ? AND n <= 0",
                (twin, family, parent),
            )
            self._conn.execute(
                "DELETE FROM totals WHERE twin = ? AND family = ? AND n <= 0", (twin, family)
            )

    def get(self, family: str, key: str, *, for_update: bool = False) -> Resource | None:
        # for_update needs nothing more: BEGIN IMMEDIATE already holds the write lock.
        self._check(for_update)
        row = self._conn.execute(
            "SELECT body FROM resources WHERE twin = ? AND family = ? AND key = ?",
            (self._twin, family, key),
        ).fetchone()
        return None if row is None else orjson.loads(row[0])

    def get_json(self, family: str, key: str) -> bytes | None:
        self._check(False)
        row = self._conn.execute(
            "SELECT body FROM resources WHERE twin = ? AND family = ? AND key = ?",
            (self._twin, family, key),
        ).fetchone()
        return None if row is None else _bytes(row[0])

    def put(self, family: str, key: str, resource: Resource, *, parent: str = "") -> None:
        self._check(True)
        body = orjson.dumps(resource)
        # Most puts of a request add a resource: try the insert first (the unique index
        # on twin, family, key refuses a duplicate without an error), and look for the
        # existing row only when there was one.
        inserted = self._conn.execute(
            "INSERT INTO resources (twin, family, key, parent, body) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (twin, family, key) DO NOTHING",
            (self._twin, family, key, parent, body),
        )
        if inserted.rowcount == 1:
            self._count(family, parent, 1)
            return
        row = self._conn.execute(
            "SELECT id, parent FROM resources WHERE twin = ? AND family = ? AND key = ?",
            (self._twin, family, key),
        ).fetchone()
        rowid, old_parent = row
        self._conn.execute(
            "UPDATE resources SET parent = ?, body = ? WHERE id = ?", (parent, body, rowid)
        )
        if old_parent != parent:
            self._count(family, old_parent, -1)
            self._count(family, parent, 1)

    def delete(self, family: str, key: str) -> bool:
        self._check(True)
        row = self._conn.execute(
            "SELECT id, parent FROM resources WHERE twin = ? AND family = ? AND key = ?",
            (self._twin, family, key),
        ).fetchone()
        if row is None:
            return False
        self._conn.execute("DELETE FROM resources WHERE id = ?", (row[0],))
        self._count(family, row[1], -1)
        return True

    def _page(
        self,
        family: str,
        parent: str | None,
        filters: Mapping[str, Any] | None,
        offset: int,
        limit: int | None,
    ) -> tuple[builtins.list[bytes], int]:
        """The stored bodies of one page, and the total."""
        self._check(False)
        offset, limit = check_page(offset, limit)
        wanted = check_filters(filters)
        where = "twin = :twin AND family = :family"
        params: dict[str, Any] = {"twin": self._twin, "family": family, "parent": parent}
        if parent is not None:
            where += " AND parent = :parent"
        for index, (name, value) in enumerate(wanted.items()):
            where += " AND " + _filter_sql(index, name, value, params)
        rows = self._conn.execute(
            f"SELECT body FROM resources WHERE {where} ORDER BY id LIMIT :limit OFFSET :offset",
            {**params, "limit": -1 if limit is None else limit, "offset": offset},
        ).fetchall()
        bodies = [_bytes(row[0]) for row in rows]
        if wanted:
            (total,) = self._conn.execute(
                f"SELECT COUNT(*) FROM resources WHERE {where}", params
            ).fetchone()
        elif parent is None:
            total = self._scalar(
                "SELECT n FROM totals WHERE twin = ? AND family = ?", self._twin, family
            )
        else:
            total = self._scalar(
                "SELECT n FROM counts WHERE twin = ? AND family = ? AND parent = ?",
                self._twin,
                family,
                parent,
            )
        return bodies, total

    def _scalar(self, sql: str, *params: Any) -> int:
        row = self._conn.execute(sql, params).fetchone()
        return 0 if row is None else int(row[0])

    def next_id(self, family: str) -> int:
        self._check(True)
        # UPDATE, then INSERT when there was nothing to update: works on SQLite builds
        # older than 3.35 (no RETURNING); the write lock makes the pair atomic.
        cursor = self._conn.execute(
            "UPDATE sequences SET last_id = last_id + 1 WHERE twin = ? AND family = ?",
            (self._twin, family),
        )
        if cursor.rowcount == 0:
            self._conn.execute(
                "INSERT INTO sequences (twin, family, last_id) VALUES (?, ?, 1)",
                (self._twin, family),
            )
            return 1
        return self._scalar(
            "SELECT last_id FROM sequences WHERE twin = ? AND family = ?", self._twin, family
        )

    def families(self) -> builtins.list[str]:
        self._check(False)
        rows = self._conn.execute(
            "SELECT family FROM totals WHERE twin = ? AND n > 0 ORDER BY family", (self._twin,)
        ).fetchall()
        return [row[0] for row in rows]


class SQLiteStore(Store):
    """State in one SQLite file; any number of store objects and processes may share it."""

    def __init__(self, path: str | PathLike[str], *, timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = TransactionLock()
        # data_version when the generations below were read, and the generations.
        self._data_version = -1
        self._generations: dict[str, int] = {}
        self._writes: dict[str, int] = {}  # this connection's write transactions per twin
        self._conn = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        self._cursor = self._conn.cursor()  # what transactions run their statements on
        try:
            # ``timeout`` above is SQLite's busy timeout: how long BEGIN IMMEDIATE waits
            # for another connection's write transaction before giving up.
            self._use_wal(timeout)
            # OFF: SQLite never waits for the disk. A commit is in the operating system's
            # hands once it returns, so it survives the twin's process crashing; only an
            # operating system crash or power loss can lose recent commits (or, rarely,
            # damage the file), which is fine for a twin's state. It saves the fsyncs of
            # WAL checkpoints, which would stall the event loop mid-request
            # (bench/RESULTS.md, "Hot path").
            self._conn.execute("PRAGMA synchronous = OFF")
            self._create_schema()
        except BaseException:
            self._conn.close()
            raise

    def _use_wal(self, timeout: float) -> None:
        """Switch the file to WAL. The switch takes an exclusive lock and SQLite does not
        wait for it through the busy timeout: processes opening one new file together
        (``--workers N``) would fail with "database is locked", so it is retried."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _create_schema(self) -> None:
        (version,) = self._conn.execute("PRAGMA user_version").fetchone()
        if version == _SCHEMA_VERSION:
            return
        if version > _SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"{self.path} holds apitwin state of a newer format ({version})"
            )
        with self._raw(True) as conn:
            # Another process may have created the schema while this one waited.
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            if version < _SCHEMA_VERSION:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    @contextmanager
    def _raw(self, write: bool) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                # Some errors (a full disk, an interrupted statement) have already rolled
                # back; a failed COMMIT has not. Either way no transaction stays open.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def transaction(self, twin: str, *, write: bool = True, quiet: bool = False) -> _Begun:
        return _Begun(self, twin, write, write and not quiet)

    def _changed(self, twin: str) -> None:
        self._writes[twin] = self._writes.get(twin, 0) + 1

    def version(self, twin: str) -> tuple[int, int]:
        """``PRAGMA data_version`` (it moves when another connection, in this process or
        another, commits to the file) and this connection's own writes to the twin."""
        with self._lock:
            (data_version,) = self._cursor.execute("PRAGMA data_version").fetchone()
            return data_version, self._writes.get(twin, 0)

    def clear(self, twin: str) -> None:
        with self._raw(True) as conn:
            cleared = self._read_generation(conn, twin) + 1
            for table in ("resources", "counts", "totals", "sequences", "meta"):
                conn.execute(f"DELETE FROM {table} WHERE twin = ?", (twin,))
            conn.execute(
                "INSERT INTO meta (twin, key, value) VALUES (?, 'cleared', ?)", (twin, str(cleared))
            )
        # This connection's own commits leave data_version alone: note the new value here.
        self._generations[twin] = cleared
        self._changed(twin)

    @staticmethod
    def _read_generation(conn: sqlite3.Connection, twin: str) -> int:
        row = conn.execute(
            "SELECT value FROM meta WHERE twin = ? AND key = 'cleared'", (twin,)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def generation(self, twin: str) -> int:
        with self._lock:
            (version,) = self._cursor.execute("PRAGMA data_version").fetchone()
            if version != self._data_version:
                self._generations.clear()
                self._data_version = version
            if twin not in self._generations:
                self._generations[twin] = self._read_generation(self._conn, twin)
            return self._generations[twin]

    def dump(self, twin: str) -> dict[str, list[Resource]]:
        result: dict[str, list[Resource]] = {}
        with self._raw(False) as conn:
            rows = conn.execute(
                "SELECT family, body FROM resources WHERE twin = ? ORDER BY family, id", (twin,)
            )
            for family, body in rows:
                result.setdefault(family, []).append(orjson.loads(body))
        return result

    def get_meta(self, twin: str, key: str) -> str | None:
        with self._raw(False) as conn:
            row = conn.execute(
                "SELECT value FROM meta WHERE twin = ? AND key = ?", (twin, key)
            ).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, twin: str, key: str, value: str | None) -> None:
        with self._raw(True) as conn:
            if value is None:
                conn.execute("DELETE FROM meta WHERE twin = ? AND key = ?", (twin, key))
            else:
                conn.execute(
                    "INSERT INTO meta (twin, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (twin, key) DO UPDATE SET value = excluded.value",
                    (twin, key, value),
                )
        self._changed(twin)

    def close(self) -> None:
        with self._lock:
            self._cursor.close()
            self._conn.close()

    def iter_twins(self) -> Iterator[str]:
        with self._raw(False) as conn:
            rows = conn.execute(
                "SELECT twin FROM totals WHERE n > 0 UNION SELECT twin FROM meta ORDER BY 1"
            ).fetchall()
        return iter([row[0] for row in rows])


class _Begun:
    """``SQLiteStore.transaction``: the store's lock, ``BEGIN``, then ``COMMIT`` or
    ``ROLLBACK``. Written out rather than as nested generator context managers, since
    every stateful request opens at least one."""

    __slots__ = ("_store", "_twin", "_write", "_tracked", "_tx")

    def __init__(self, store: SQLiteStore, twin: str, write: bool, tracked: bool) -> None:
        self._store = store
        self._twin = twin
        self._write = write
        self._tracked = tracked  # a write that moves the store's version()
        self._tx: _SQLiteTransaction | None = None

    def __enter__(self) -> Transaction:
        store = self._store
        lock = store._lock
        lock.__enter__()
        try:
            cursor = store._cursor
            cursor.execute("BEGIN IMMEDIATE" if self._write else "BEGIN")
        except BaseException:
            lock.__exit__()
            raise
        self._tx = _SQLiteTransaction(cursor, self._twin, self._write)
        return self._tx

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: Any
    ) -> None:
        assert self._tx is not None
        self._tx.closed = True
        store = self._store
        conn = store._conn
        try:
            if kind is None:
                try:
                    store._cursor.execute("COMMIT")
                except BaseException:
                    # A failed COMMIT leaves the transaction open: end it before raising.
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            elif conn.in_transaction:
                # Some errors (a full disk, an interrupted statement) have already rolled
                # back; the others have not. Either way no transaction stays open.
                conn.execute("ROLLBACK")
        finally:
            if self._tracked:
                store._changed(self._twin)
            store._lock.__exit__()
