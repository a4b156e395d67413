"""MemoryStore: state in plain dicts, gone when the process ends.

Bodies are kept as orjson bytes rather than live dicts so that the memory store behaves
like the database stores: what a caller does to a dict after ``put`` or ``get`` never
leaks into stored state, and a body that cannot be serialized fails here too.

Atomicity comes from an undo log: every write records how to reverse itself, and an
exception inside the ``with`` block replays the log backwards. Copying the state per
transaction would make a PATCH cost as much as the whole collection.
"""

from __future__ import annotations

import builtins
import itertools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
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

__all__ = ["MemoryStore"]


@dataclass
class _Entry:
    seq: int  # list position: kept when the resource is replaced
    parent: str
    body: bytes


@dataclass
class _Family:
    # Both dicts are kept in seq order (dicts remember insertion order), so a page is a
    # slice and a total is len(): neither depends on the collection size.
    entries: dict[str, _Entry] = field(default_factory=dict)
    by_parent: dict[str, dict[str, None]] = field(default_factory=dict)

    def insert(self, key: str, entry: _Entry) -> None:
        self.entries[key] = entry
        self.by_parent.setdefault(entry.parent, {})[key] = None

    def remove(self, key: str) -> _Entry:
        entry = self.entries.pop(key)
        siblings = self.by_parent[entry.parent]
        del siblings[key]
        if not siblings:
            del self.by_parent[entry.parent]
        return entry

    def move(self, key: str, entry: _Entry) -> None:
        """Replace ``key`` with an entry under another parent, keeping seq order there."""
        old = self.entries[key]
        siblings = self.by_parent[old.parent]
        del siblings[key]
        if not siblings:
            del self.by_parent[old.parent]
        self.entries[key] = entry  # an existing key keeps its place in the dict
        siblings = self.by_parent.get(entry.parent, {})
        merged = sorted([*siblings, key], key=lambda name: self.entries[name].seq)
        self.by_parent[entry.parent] = dict.fromkeys(merged)

    def resort(self) -> None:
        """Restore seq order after an undo re-inserted entries at the end."""
        ordered = sorted(self.entries.items(), key=lambda item: item[1].seq)
        self.entries = {}
        self.by_parent = {}
        for key, entry in ordered:
            self.insert(key, entry)


@dataclass
class _TwinState:
    families: dict[str, _Family] = field(default_factory=dict)
    last_ids: dict[str, int] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)


def _same(stored: Any, wanted: FilterValue) -> bool:
    """JSON equality: booleans are not numbers, and 1 equals 1.0 as in JSON."""
    if isinstance(stored, bool) or isinstance(wanted, bool):
        return isinstance(stored, bool) and isinstance(wanted, bool) and stored == wanted
    if isinstance(wanted, int | float):
        return isinstance(stored, int | float) and stored == wanted
    return type(stored) is type(wanted) and stored == wanted


def _matches(body: Resource, filters: dict[str, FilterValue]) -> bool:
    for name, wanted in filters.items():
        stored = body.get(name)
        if wanted is None and stored is None:
            continue
        if isinstance(stored, list):
            if not any(_same(item, wanted) for item in stored):
                return False
        elif not _same(stored, wanted):
            return False
    return True


class _MemoryTransaction(StoredJsonTransaction):
    def __init__(self, store: MemoryStore, state: _TwinState, write: bool) -> None:
        self._store = store
        self._state = state
        self._write = write
        self._undo: list[Callable[[], object]] = []
        self._resort: set[str] = set()
        self.closed = False

    def _check(self, writing: bool) -> None:
        if self.closed:
            raise RuntimeError("transaction already ended")
        if writing and not self._write:
            raise ReadOnlyTransactionError("write inside a write=False transaction")

    def get(self, family: str, key: str, *, for_update: bool = False) -> Resource | None:
        self._check(for_update)
        fam = self._state.families.get(family)
        entry = fam.entries.get(key) if fam else None
        return None if entry is None else orjson.loads(entry.body)

    def get_json(self, family: str, key: str) -> bytes | None:
        self._check(False)
        fam = self._state.families.get(family)
        entry = fam.entries.get(key) if fam else None
        return None if entry is None else entry.body

    def put(self, family: str, key: str, resource: Resource, *, parent: str = "") -> None:
        self._check(True)
        body = orjson.dumps(resource)
        fam = self._state.families.setdefault(family, _Family())
        old = fam.entries.get(key)
        if old is None:
            fam.insert(key, _Entry(self._store._next_seq(), parent, body))
            self._undo.append(lambda: fam.remove(key))
        elif old.parent == parent:
            fam.entries[key] = _Entry(old.seq, parent, body)
            self._undo.append(lambda: fam.entries.__setitem__(key, old))
        else:
            fam.move(key, _Entry(old.seq, parent, body))
            self._undo.append(lambda: fam.move(key, old))

    def delete(self, family: str, key: str) -> bool:
        self._check(True)
        fam = self._state.families.get(family)
        if fam is None or key not in fam.entries:
            return False
        old = fam.remove(key)

        def undo_delete() -> None:
            fam.insert(key, old)
            self._resort.add(family)

        self._undo.append(undo_delete)
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
        fam = self._state.families.get(family)
        if fam is None:
            return [], 0
        keys: Mapping[str, object] = (
            fam.entries if parent is None else fam.by_parent.get(parent, {})
        )
        stop = None if limit is None else offset + limit
        if not wanted:
            chosen = itertools.islice(keys, offset, stop)
            return [fam.entries[key].body for key in chosen], len(keys)
        matching = (
            entry.body
            for entry in (fam.entries[key] for key in keys)
            if _matches(orjson.loads(entry.body), wanted)
        )
        total = 0
        bodies = []
        for index, body in enumerate(matching):
            if index >= offset and (stop is None or index < stop):
                bodies.append(body)
            total += 1
        return bodies, total

    def next_id(self, family: str) -> int:
        self._check(True)
        last_ids = self._state.last_ids
        previous = last_ids.get(family, 0)
        last_ids[family] = previous + 1
        self._undo.append(lambda: last_ids.__setitem__(family, previous))
        return previous + 1

    def families(self) -> builtins.list[str]:
        self._check(False)
        return sorted(name for name, fam in self._state.families.items() if fam.entries)

    def rollback(self) -> None:
        for undo in reversed(self._undo):
            undo()
        for family in self._resort:
            self._state.families[family].resort()
        self._undo.clear()


class MemoryStore(Store):
    """State for tests and throwaway runs: fast, shared by the threads of one process."""

    def __init__(self) -> None:
        self._twins: dict[str, _TwinState] = {}
        self._lock = TransactionLock()
        self._seq = 0
        self._generations: dict[str, int] = {}
        self._versions: dict[str, int] = {}  # write transactions per twin (version())

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    @contextmanager
    def transaction(
        self, twin: str, *, write: bool = True, quiet: bool = False
    ) -> Iterator[Transaction]:
        with self._lock.held():
            tx = _MemoryTransaction(self, self._twins.setdefault(twin, _TwinState()), write)
            try:
                yield tx
            except BaseException:
                tx.rollback()
                raise
            finally:
                tx.closed = True
                if write and not quiet:
                    self._changed(twin)

    def _changed(self, twin: str) -> None:
        self._versions[twin] = self._versions.get(twin, 0) + 1

    def version(self, twin: str) -> int:
        """Writes to the twin through this store object: no other process shares it."""
        return self._versions.get(twin, 0)

    def clear(self, twin: str) -> None:
        with self._lock.held():
            self._twins.pop(twin, None)
            self._generations[twin] = self._generations.get(twin, 0) + 1
            self._changed(twin)

    def generation(self, twin: str) -> int:
        """The clears of this store object: no other process shares it."""
        return self._generations.get(twin, 0)

    def dump(self, twin: str) -> dict[str, list[Resource]]:
        with self._lock.held():
            state = self._twins.get(twin, _TwinState())
            return {
                name: [orjson.loads(entry.body) for entry in fam.entries.values()]
                for name, fam in sorted(state.families.items())
                if fam.entries
            }

    def get_meta(self, twin: str, key: str) -> str | None:
        with self._lock.held():
            state = self._twins.get(twin)
            return None if state is None else state.meta.get(key)

    def set_meta(self, twin: str, key: str, value: str | None) -> None:
        with self._lock.held():
            meta = self._twins.setdefault(twin, _TwinState()).meta
            if value is None:
                meta.pop(key, None)
            else:
                meta[key] = value
            self._changed(twin)

    def close(self) -> None:
        """Nothing to release; the dicts go with the object."""

    def iter_twins(self) -> Iterator[str]:
        with self._lock.held():
            names = [
                name
                for name, state in self._twins.items()
                if state.meta or any(fam.entries for fam in state.families.values())
            ]
        return iter(sorted(names))
