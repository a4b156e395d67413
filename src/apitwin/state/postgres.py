"""PostgresStore: state in a PostgreSQL database shared by any number of processes.

The tables live in one schema (``apitwin`` unless told otherwise) and are created when
missing:

- ``resources(twin, family, key, parent, id, body)``: primary key (twin, family, key)
  serves ``get``; ``id`` comes from an identity column and is the list position (an
  update keeps it); ``body`` is JSONB. Indexes on (twin, family, parent, id) and
  (twin, family, id) give a page in order without sorting.
- ``counts(twin, family, parent, n)`` and ``totals(twin, family, n)``: list totals, so a
  page never counts rows. Rows that reach zero are removed.
- ``sequences(twin, family, last_id)``: ``next_id`` is one ``INSERT ... ON CONFLICT DO
  UPDATE ... RETURNING``.
- ``meta(twin, key, value)``.
- ``generations(twin, n)``: how many times the twin was cleared. ``clear`` adds one in
  the transaction that empties the other tables, and is the only writer.

``generation`` reads that row, and costs no extra round trip: it opens the next
transaction with it, sending ``BEGIN; SELECT n FROM generations ...`` as one message, and
the transaction the request runs next (on any thread of this store object) goes on in
it instead of sending a ``BEGIN`` of its own. The reset's COMMIT returned before its
HTTP answer did, and a READ COMMITTED statement sees every commit made before it began,
so the first request another process serves after that answer sees the reset, always.
(Notifications, which this store used before, arrive on the socket some time after the
COMMIT, and a request made at once could miss them.) If nothing follows, the connection
stays idle in a transaction that has read one row: it holds no row lock and no snapshot,
only the table lock every reader holds, which blocks nothing but DDL on ``generations``.

An unfiltered page (every list request but filtered ones) is sent with its names, limit
and offset written into the statement as literals rather than bound as parameters.
psycopg prepares a statement once it has run a few times; with parameters PostgreSQL
may then plan it once for all values, but it only does so when that generic plan looks
no costlier than planning each call. An unknown LIMIT and OFFSET are costed as a tenth of
the rows each, so in a collection of 100,000 items the generic plan always looks costly
and every page was planned afresh, while a small collection reused its plan: a list
page cost more as the collection grew. A statement with no parameters has one plan,
made once with the real values (the ordered index scan), and reused for every call of
that page; a page asked for once is planned once, as before.

Names are ``COLLATE "C"``: byte order, as in the other stores (so ``dump`` and
``families`` list in the same order everywhere), and cheaper to compare in indexes.

Transactions run at READ COMMITTED on the store's connection (a lock makes threads take
turns), so every statement sees what other connections have committed.
``get(..., for_update=True)`` is ``SELECT ... FOR UPDATE``: a concurrent PATCH of the same
resource waits for this one to commit and then reads its result, so no update is lost.

The store cannot re-run a caller's block after PostgreSQL aborts it to break a deadlock,
so it takes its own locks such that it never causes one:

1. Resource rows are locked in the order the caller touches them (``get`` with
   ``for_update``, ``put``, ``delete``); that order is the caller's to keep consistent,
   as with any database.
2. ``next_id`` runs its upsert on a second connection in autocommit mode, opened on
   first use, so a sequence row is locked for one statement only and never while its
   transaction waits for anything else. Two transactions asking for ids of several
   families in opposite orders therefore cannot deadlock, and creating resources in one
   family does not serialize whole transactions. The price: an id handed out in a
   transaction that rolls back is skipped, not reused (as with PostgreSQL's own
   sequences); ids still never repeat.
3. The ``counts`` and ``totals`` rows (touched by every insert and delete in a family)
   are updated at commit, after everything the caller did: counts sorted by
   (family, parent), then totals sorted by family. Taken last, in one global order, and
   only for the instant before COMMIT, they can neither deadlock nor be held while their
   transaction waits for another lock. ``list`` adds the transaction's own pending
   changes, so it sees its own inserts and deletes.

Store-level operations (``clear``, ``set_meta``) have no caller block and are retried if
PostgreSQL aborts them anyway.
"""

from __future__ import annotations

import builtins
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

import orjson
import psycopg
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb, set_json_loads

from apitwin.state.store import (
    FilterValue,
    Page,
    ReadOnlyTransactionError,
    Resource,
    Store,
    Transaction,
    TransactionLock,
    check_filters,
    check_page,
)

__all__ = ["PostgresStore"]

_T = TypeVar("_T")
_IDLE = psycopg.pq.TransactionStatus.IDLE
_RETRIED = (errors.DeadlockDetected, errors.SerializationFailure)

_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.resources (
    twin text COLLATE "C" NOT NULL,
    family text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    parent text COLLATE "C" NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    body jsonb NOT NULL,
    PRIMARY KEY (twin, family, key)
) WITH (fillfactor = 90);
CREATE INDEX IF NOT EXISTS resources_by_parent ON {s}.resources (twin, family, parent, id);
CREATE INDEX IF NOT EXISTS resources_by_family ON {s}.resources (twin, family, id);
CREATE TABLE IF NOT EXISTS {s}.counts (
    twin text COLLATE "C" NOT NULL,
    family text COLLATE "C" NOT NULL,
    parent text COLLATE "C" NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (twin, family, parent)
);
CREATE TABLE IF NOT EXISTS {s}.totals (
    twin text COLLATE "C" NOT NULL,
    family text COLLATE "C" NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (twin, family)
);
CREATE TABLE IF NOT EXISTS {s}.sequences (
    twin text COLLATE "C" NOT NULL,
    family text COLLATE "C" NOT NULL,
    last_id bigint NOT NULL,
    PRIMARY KEY (twin, family)
);
CREATE TABLE IF NOT EXISTS {s}.meta (
    twin text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    value text NOT NULL,
    PRIMARY KEY (twin, key)
);
CREATE TABLE IF NOT EXISTS {s}.generations (
    twin text COLLATE "C" NOT NULL PRIMARY KEY,
    n bigint NOT NULL
)
"""

_KEY = "twin = %(twin)s AND family = %(family)s AND key = %(key)s"
# How every transaction starts: explicit, whatever the server's default. FOR UPDATE must
# wait and re-read, not fail with a serialization error as under REPEATABLE READ.
_BEGIN = "BEGIN ISOLATION LEVEL READ COMMITTED"


class _SQL:
    """Every statement, rendered once for the store's schema (and so prepared by psycopg
    after a few uses, like any repeated query string)."""

    def __init__(self, schema: str) -> None:
        s = '"' + schema.replace('"', '""') + '"'
        self.schema = s
        self.create = [part.replace("{s}", s) for part in _SCHEMA.split(";")]
        self.get = f"SELECT body FROM {s}.resources WHERE {_KEY}"
        self.get_locked = f"SELECT parent, body FROM {s}.resources WHERE {_KEY} FOR UPDATE"
        self.lock_parent = f"SELECT parent FROM {s}.resources WHERE {_KEY} FOR UPDATE"
        self.insert = (
            f"INSERT INTO {s}.resources (twin, family, key, parent, body) "
            "VALUES (%(twin)s, %(family)s, %(key)s, %(parent)s, %(body)s) "
            "ON CONFLICT (twin, family, key) DO NOTHING RETURNING id"
        )
        self.update = f"UPDATE {s}.resources SET parent = %(parent)s, body = %(body)s WHERE {_KEY}"
        self.delete = f"DELETE FROM {s}.resources WHERE {_KEY} RETURNING parent"
        self.page = f"SELECT body FROM {s}.resources WHERE "
        self.count_rows = f"SELECT count(*) FROM {s}.resources WHERE "
        self.count = (
            f"SELECT n FROM {s}.counts "
            "WHERE twin = %(twin)s AND family = %(family)s AND parent = %(parent)s"
        )
        self.total = f"SELECT n FROM {s}.totals WHERE twin = %(twin)s AND family = %(family)s"
        self.add_count = (
            f"INSERT INTO {s}.counts AS c (twin, family, parent, n) "
            "VALUES (%(twin)s, %(family)s, %(parent)s, %(n)s) "
            "ON CONFLICT (twin, family, parent) DO UPDATE SET n = c.n + excluded.n RETURNING n"
        )
        self.drop_count = (
            f"DELETE FROM {s}.counts WHERE twin = %(twin)s AND family = %(family)s "
            "AND parent = %(parent)s AND n <= 0"
        )
        self.add_total = (
            f"INSERT INTO {s}.totals AS t (twin, family, n) "
            "VALUES (%(twin)s, %(family)s, %(n)s) "
            "ON CONFLICT (twin, family) DO UPDATE SET n = t.n + excluded.n RETURNING n"
        )
        self.drop_total = (
            f"DELETE FROM {s}.totals WHERE twin = %(twin)s AND family = %(family)s AND n <= 0"
        )
        self.next_id = (
            f"INSERT INTO {s}.sequences AS q (twin, family, last_id) "
            "VALUES (%(twin)s, %(family)s, 1) "
            "ON CONFLICT (twin, family) DO UPDATE SET last_id = q.last_id + 1 RETURNING last_id"
        )
        self.families = f"SELECT family, n FROM {s}.totals WHERE twin = %(twin)s"
        self.dump = (
            f"SELECT family, body FROM {s}.resources WHERE twin = %(twin)s ORDER BY family, id"
        )
        self.clear = [
            f"DELETE FROM {s}.{table} WHERE twin = %(twin)s"
            for table in ("resources", "counts", "totals", "sequences", "meta")
        ]
        self.get_meta = f"SELECT value FROM {s}.meta WHERE twin = %(twin)s AND key = %(key)s"
        self.set_meta = (
            f"INSERT INTO {s}.meta (twin, key, value) VALUES (%(twin)s, %(key)s, %(value)s) "
            "ON CONFLICT (twin, key) DO UPDATE SET value = excluded.value"
        )
        self.del_meta = f"DELETE FROM {s}.meta WHERE twin = %(twin)s AND key = %(key)s"
        self.bump_generation = (
            f"INSERT INTO {s}.generations AS g (twin, n) VALUES (%(twin)s, 1) "
            "ON CONFLICT (twin) DO UPDATE SET n = g.n + 1"
        )
        # Completed with the twin as a literal: sent with BEGIN as one simple query.
        self.generation = f"SELECT n FROM {s}.generations WHERE twin = "
        self.twins = (
            f"SELECT twin FROM {s}.totals WHERE n > 0 UNION SELECT twin FROM {s}.meta ORDER BY 1"
        )


def _filter_sql(index: int, name: str, value: FilterValue, params: dict[str, Any]) -> str:
    """A WHERE clause for one filter: the top-level field equals ``value`` (jsonb equality
    compares JSON types: true is not 1), or is an array containing it."""
    field = f"body -> %(f{index})s::text"
    params[f"f{index}"] = name
    params[f"a{index}"] = Jsonb([value], orjson.dumps)
    inside = f"(jsonb_typeof({field}) = 'array' AND {field} @> %(a{index})s)"
    if value is None:
        return f"({field} IS NULL OR {field} = 'null'::jsonb OR {inside})"
    params[f"v{index}"] = Jsonb(value, orjson.dumps)
    return f"({field} = %(v{index})s OR {inside})"


class _Literals:
    """SQL literals of the names in page statements, quoted by psycopg for the
    connection and kept: a few twins, families and parents recur in every request."""

    _LIMIT = 4096

    def __init__(self) -> None:
        self._quoted: dict[str, str] = {}

    def quote(self, value: str, conn: psycopg.Connection[Any]) -> str:
        quoted = self._quoted.get(value)
        if quoted is None:
            if len(self._quoted) >= self._LIMIT:
                self._quoted.clear()
            quoted = sql.Literal(value).as_string(conn)
            self._quoted[value] = quoted
        return quoted

    def clear(self) -> None:
        self._quoted.clear()


class _PostgresTransaction(Transaction):
    def __init__(
        self,
        cur: psycopg.Cursor[Any],
        sql: _SQL,
        twin: str,
        write: bool,
        allocate: Callable[[str, str], int],
        literals: _Literals,
    ) -> None:
        self._cur = cur
        self._allocate = allocate
        self._literals = literals
        self._sql = sql
        self._twin = twin
        self._write = write
        # Rows this transaction holds locked, with their parent: a put after
        # get(for_update=True) is then a single UPDATE.
        self._locked: dict[tuple[str, str], str] = {}
        # Count changes, applied at commit in a fixed order (see the module docstring).
        self._pending: dict[tuple[str, str], int] = {}
        self.closed = False

    def _check(self, writing: bool) -> None:
        if self.closed:
            raise RuntimeError("transaction already ended")
        if writing and not self._write:
            raise ReadOnlyTransactionError("write inside a write=False transaction")

    def _params(self, family: str, **more: Any) -> dict[str, Any]:
        return {"twin": self._twin, "family": family, **more}

    def _count(self, family: str, parent: str, delta: int) -> None:
        slot = (family, parent)
        self._pending[slot] = self._pending.get(slot, 0) + delta

    def get(self, family: str, key: str, *, for_update: bool = False) -> Resource | None:
        self._check(for_update)
        params = self._params(family, key=key)
        if not for_update:
            row = self._cur.execute(self._sql.get, params).fetchone()
            return None if row is None else row[0]
        row = self._cur.execute(self._sql.get_locked, params).fetchone()
        if row is None:
            return None
        self._locked[(family, key)] = row[0]
        return row[1]

    def put(self, family: str, key: str, resource: Resource, *, parent: str = "") -> None:
        self._check(True)
        params = self._params(family, key=key, parent=parent, body=Jsonb(resource, orjson.dumps))
        slot = (family, key)
        # Either the insert wins, or the row exists and gets locked; a concurrent delete
        # between the two can only send us round again, and rarely.
        while slot not in self._locked:
            if self._cur.execute(self._sql.insert, params).fetchone() is not None:
                self._locked[slot] = parent
                self._count(family, parent, 1)
                return
            row = self._cur.execute(self._sql.lock_parent, params).fetchone()
            if row is not None:
                self._locked[slot] = row[0]
        old_parent = self._locked[slot]
        self._cur.execute(self._sql.update, params)
        if old_parent != parent:
            self._count(family, old_parent, -1)
            self._count(family, parent, 1)
            self._locked[slot] = parent

    def delete(self, family: str, key: str) -> bool:
        self._check(True)
        row = self._cur.execute(self._sql.delete, self._params(family, key=key)).fetchone()
        self._locked.pop((family, key), None)
        if row is None:
            return False
        self._count(family, row[0], -1)
        return True

    def list(
        self,
        family: str,
        *,
        parent: str | None = "",
        filters: Mapping[str, Any] | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> Page:
        self._check(False)
        offset, limit = check_page(offset, limit)
        wanted = check_filters(filters)
        params = self._params(family, parent=parent, limit=limit, offset=offset)
        where = "twin = %(twin)s AND family = %(family)s"
        if parent is not None:
            where += " AND parent = %(parent)s"
        if wanted:
            for index, (name, value) in enumerate(wanted.items()):
                where += " AND " + _filter_sql(index, name, value, params)
            self._cur.execute(
                f"{self._sql.page}{where} ORDER BY id LIMIT %(limit)s OFFSET %(offset)s", params
            )
        else:
            self._cur.execute(self._page_statement(family, parent, offset, limit))
        items = [row[0] for row in self._cur.fetchall()]
        if wanted:
            total = self._scalar(self._sql.count_rows + where, params)
        elif parent is None:
            total = self._scalar(self._sql.total, params)
            total += sum(n for (fam, _), n in self._pending.items() if fam == family)
        else:
            total = self._scalar(self._sql.count, params)
            total += self._pending.get((family, parent), 0)
        return Page(items, total)

    def _page_statement(
        self, family: str, parent: str | None, offset: int, limit: int | None
    ) -> str:
        """An unfiltered page with its values as literals (see the module docstring)."""
        conn = self._cur.connection
        quote = self._literals.quote
        where = f"twin = {quote(self._twin, conn)} AND family = {quote(family, conn)}"
        if parent is not None:
            where += f" AND parent = {quote(parent, conn)}"
        count = "ALL" if limit is None else str(int(limit))
        return f"{self._sql.page}{where} ORDER BY id LIMIT {count} OFFSET {int(offset)}"

    def _scalar(self, statement: str, params: dict[str, Any]) -> int:
        row = self._cur.execute(statement, params).fetchone()
        return 0 if row is None else int(row[0])

    def next_id(self, family: str) -> int:
        self._check(True)
        return self._allocate(self._twin, family)

    def families(self) -> builtins.list[str]:
        self._check(False)
        totals: dict[str, int] = dict(
            self._cur.execute(self._sql.families, {"twin": self._twin}).fetchall()
        )
        for (family, _), delta in self._pending.items():
            totals[family] = totals.get(family, 0) + delta
        return sorted(family for family, n in totals.items() if n > 0)

    def apply_counts(self) -> None:
        """Write the pending count changes: counts sorted, then totals sorted."""
        by_family: dict[str, int] = {}
        for (family, parent), delta in sorted(self._pending.items()):
            if delta == 0:
                continue
            by_family[family] = by_family.get(family, 0) + delta
            params = self._params(family, parent=parent, n=delta)
            if self._scalar(self._sql.add_count, params) <= 0:
                self._cur.execute(self._sql.drop_count, params)
        for family, delta in sorted(by_family.items()):
            if delta == 0:
                continue
            params = self._params(family, n=delta)
            if self._scalar(self._sql.add_total, params) <= 0:
                self._cur.execute(self._sql.drop_total, params)
        self._pending.clear()


class PostgresStore(Store):
    """State in PostgreSQL: one connection per store object, shared by its threads in
    turn; run several store objects (or processes) for parallel transactions."""

    def __init__(self, dsn: str, *, schema: str = "apitwin", connect_timeout: int = 5) -> None:
        self.dsn = dsn
        self.schema = schema
        self._connect_timeout = connect_timeout
        self._sql = _SQL(schema)
        self._lock = TransactionLock()
        self._literals = _Literals()
        self._conn = self._connect(autocommit=True)
        self._ids: psycopg.Connection[Any] | None = None
        try:
            self._create_schema()
        except BaseException:
            self._conn.close()
            raise

    def _connect(self, *, autocommit: bool) -> psycopg.Connection[Any]:
        options: dict[str, Any] = {}
        given = conninfo_to_dict(self.dsn)
        if "connect_timeout" not in given:
            options["connect_timeout"] = self._connect_timeout
        if "application_name" not in given:
            options["application_name"] = "apitwin"
        conn = psycopg.connect(self.dsn, autocommit=autocommit, **options)
        # For the id connection; the transaction connection sends _BEGIN itself.
        conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
        set_json_loads(orjson.loads, conn)
        return conn

    def _create_schema(self) -> None:
        conn = self._conn
        conn.execute(_BEGIN, prepare=False)
        # The newest table: a schema made by an older version gets it added.
        row = conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL", (f"{self._sql.schema}.generations",)
        ).fetchone()
        if row is not None and row[0]:
            conn.commit()
            return
        # Concurrent CREATE ... IF NOT EXISTS of the same table can still collide in the
        # catalog, so processes starting together take turns.
        key = zlib.crc32(f"apitwin schema {self.schema}".encode())
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        for statement in self._sql.create:
            conn.execute(statement)
        conn.commit()

    def _usable(self) -> psycopg.Connection[Any]:
        """The transaction connection, reopened if it was lost (lock held)."""
        if self._conn.closed or self._conn.broken:
            self._conn = self._connect(autocommit=True)
            self._literals.clear()
        return self._conn

    @contextmanager
    def _cursor(self) -> Iterator[psycopg.Cursor[Any]]:
        """The connection's cursor inside one database transaction (the one
        ``generation`` opened, if it did), committed at the end of the block or rolled
        back if it raises."""
        with self._lock.held():
            conn = self._usable()
            try:
                with conn.cursor() as cur:
                    if conn.pgconn.transaction_status == _IDLE:
                        cur.execute(_BEGIN, prepare=False)
                    yield cur
                conn.commit()
            except BaseException:
                # A failed rollback means the connection is gone; the next transaction
                # reconnects.
                with suppress(psycopg.Error):
                    conn.rollback()
                raise

    @contextmanager
    def transaction(
        self, twin: str, *, write: bool = True, quiet: bool = False
    ) -> Iterator[Transaction]:
        with self._cursor() as cur:
            tx = _PostgresTransaction(cur, self._sql, twin, write, self._next_id, self._literals)
            try:
                yield tx
                tx.apply_counts()
            finally:
                tx.closed = True

    def _next_id(self, twin: str, family: str) -> int:
        """Allocate an id outside the caller's transaction (see the module docstring).
        Called only inside ``transaction``, so the store lock is held."""
        if self._ids is None or self._ids.closed or self._ids.broken:
            self._ids = self._connect(autocommit=True)
        row = self._ids.execute(self._sql.next_id, {"twin": twin, "family": family}).fetchone()
        assert row is not None  # RETURNING always yields the row
        return int(row[0])

    def _retrying(self, work: Callable[[psycopg.Cursor[Any]], _T]) -> _T:
        """Run a store-level unit of work, again if PostgreSQL aborted it to break a
        deadlock (it has no caller block, so running it again is safe)."""
        for attempt in range(5):
            try:
                with self._cursor() as cur:
                    return work(cur)
            except _RETRIED:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def clear(self, twin: str) -> None:
        def work(cur: psycopg.Cursor[Any]) -> None:
            # Table order matters: resources first, sequences late. A transaction holding
            # resource rows may be waiting for its own id connection, so clear must not
            # hold a sequence row while it still waits for resource rows.
            for statement in self._sql.clear:
                cur.execute(statement, {"twin": twin})
            # Last: no request's transaction locks this row, so nothing waits on it.
            cur.execute(self._sql.bump_generation, {"twin": twin})

        self._retrying(work)

    def generation(self, twin: str) -> int:
        """The twin's clear count, read as the first statement of the next transaction
        (see the module docstring): one round trip, the one BEGIN would have cost."""
        with self._lock.held():
            conn = self._usable()
            statement = self._sql.generation + self._literals.quote(twin, conn)
            if conn.pgconn.transaction_status == _IDLE:
                statement = f"{_BEGIN}; {statement}"
            try:
                with conn.cursor() as cur:
                    cur.execute(statement, prepare=False)
                    while cur.nextset():
                        pass
                    row = cur.fetchone()
            except BaseException:
                with suppress(psycopg.Error):
                    conn.rollback()
                raise
            return 0 if row is None else int(row[0])

    def dump(self, twin: str) -> dict[str, builtins.list[Resource]]:
        result: dict[str, list[Resource]] = {}
        with self._cursor() as cur:
            for family, body in cur.execute(self._sql.dump, {"twin": twin}):
                result.setdefault(family, []).append(body)
        return result

    def get_meta(self, twin: str, key: str) -> str | None:
        with self._cursor() as cur:
            row = cur.execute(self._sql.get_meta, {"twin": twin, "key": key}).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, twin: str, key: str, value: str | None) -> None:
        params = {"twin": twin, "key": key, "value": value}
        statement = self._sql.del_meta if value is None else self._sql.set_meta
        self._retrying(lambda cur: cur.execute(statement, params))

    def close(self) -> None:
        with self._lock.held():
            self._conn.close()
            if self._ids is not None:
                self._ids.close()

    def iter_twins(self) -> Iterator[str]:
        with self._cursor() as cur:
            rows = cur.execute(self._sql.twins).fetchall()
        return iter([row[0] for row in rows])
