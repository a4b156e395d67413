"""The Store interface every backend implements (memory, SQLite, PostgreSQL).

A store keeps JSON documents ("resources") per twin, per family (a name such as
``droplets``), per parent key (the ids of enclosing resources for nested collections,
``""`` at the top level) and per key (the resource id as a string). Every request that
reads or writes state runs inside one :meth:`Store.transaction`, which is atomic: either
all its writes land or none do, and concurrent read-modify-write cycles on the same
resource (PATCH from 32 clients at once, from one or several processes) lose no update.

Lists are ordered by insertion (a per-family sequence number) and are paged with
offset/limit; their cost must not grow with the size of the collection (indexes, and
counts kept alongside rather than counted per request).

Every backend behaves the same at the edges, so that code tested against the memory
store holds against SQLite and PostgreSQL:

- Bodies are serialized with orjson on ``put`` and parsed afresh on every read, so a
  caller mutating a dict it passed in or got back never changes stored state.
- A ``write=False`` transaction refuses writes (and ``for_update``) with
  :class:`ReadOnlyTransactionError` instead of failing later under contention.
- Starting a transaction (or calling a store-level method) on a store from inside one of
  its own transactions on the same thread raises ``RuntimeError`` instead of deadlocking.
- Filter values are JSON scalars (str, int, float, bool, None) compared by JSON type:
  ``True`` does not match ``1`` and ``"1"`` does not match ``1``; ``None`` matches a
  missing or null field.
"""

from __future__ import annotations

import builtins
import threading
from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "JsonPage",
    "Page",
    "ReadOnlyTransactionError",
    "Store",
    "StoredJsonTransaction",
    "Transaction",
]

Resource = dict[str, Any]
FilterValue = str | int | float | bool | None
_SCALARS = (str, int, float, bool, type(None))


class ReadOnlyTransactionError(RuntimeError):
    """A write (or a locking read) inside a ``write=False`` transaction."""


@dataclass(frozen=True)
class Page:
    items: list[Resource]
    total: int  # items in the whole (filtered) collection under that parent


@dataclass(frozen=True)
class JsonPage:
    """A page of resources as JSON bytes (``Transaction.list_json``)."""

    items: list[bytes]
    total: int


class Transaction(ABC):
    """Operations on one twin's state inside one atomic unit of work."""

    @abstractmethod
    def get(self, family: str, key: str, *, for_update: bool = False) -> Resource | None:
        """The resource, or None. ``for_update`` locks it until the transaction ends
        (PostgreSQL: SELECT ... FOR UPDATE; SQLite already holds the write lock)."""

    @abstractmethod
    def put(self, family: str, key: str, resource: Resource, *, parent: str = "") -> None:
        """Insert or replace. A replaced resource keeps its position in lists."""

    @abstractmethod
    def delete(self, family: str, key: str) -> bool:
        """Remove; False when there was nothing to remove."""

    @abstractmethod
    def list(
        self,
        family: str,
        *,
        parent: str | None = "",
        filters: Mapping[str, Any] | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> Page:
        """Resources in insertion order. ``parent=None`` lists across all parents.
        ``filters`` are equality tests on top-level fields of the stored JSON (a list
        value in the stored resource matches when it contains the filter value)."""

    def get_json(self, family: str, key: str) -> bytes | None:
        """The resource as JSON bytes, exactly ``orjson.dumps(get(family, key))``, for an
        answer that passes it on unchanged. Backends that keep orjson bytes hand them
        over without parsing and serializing them again."""
        found = self.get(family, key)
        return None if found is None else orjson.dumps(found)

    def list_json(
        self,
        family: str,
        *,
        parent: str | None = "",
        filters: Mapping[str, Any] | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> JsonPage:
        """``list`` with every resource as JSON bytes, as ``get_json`` gives them."""
        page = self.list(family, parent=parent, filters=filters, offset=offset, limit=limit)
        return JsonPage([orjson.dumps(item) for item in page.items], page.total)

    @abstractmethod
    def next_id(self, family: str) -> int:
        """1, 2, 3, ... per family: never repeats, even after deletes or across processes.
        An id handed out in a transaction that rolls back may be handed out again or
        skipped, depending on the backend (PostgreSQL skips it)."""

    @abstractmethod
    def families(self) -> builtins.list[str]:
        """Families that hold at least one resource."""


class StoredJsonTransaction(Transaction):
    """A backend that keeps each resource as the JSON ``orjson.dumps`` wrote (memory,
    SQLite): a page is read once as stored, handed over as it is by ``list_json`` and
    parsed only by ``list``."""

    @abstractmethod
    def _page(
        self,
        family: str,
        parent: str | None,
        filters: Mapping[str, Any] | None,
        offset: int,
        limit: int | None,
    ) -> tuple[builtins.list[bytes], int]:
        """The stored bodies of one page, and the total."""

    def list(
        self,
        family: str,
        *,
        parent: str | None = "",
        filters: Mapping[str, Any] | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> Page:
        bodies, total = self._page(family, parent, filters, offset, limit)
        return Page([orjson.loads(body) for body in bodies], total)

    def list_json(
        self,
        family: str,
        *,
        parent: str | None = "",
        filters: Mapping[str, Any] | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> JsonPage:
        return JsonPage(*self._page(family, parent, filters, offset, limit))


class Store(ABC):
    """One state database shared by every twin of a process (each twin separate)."""

    @abstractmethod
    def transaction(
        self, twin: str, *, write: bool = True, quiet: bool = False
    ) -> AbstractContextManager[Transaction]:
        """An atomic unit of work on one twin's state. Exceptions roll it back.
        ``write=False`` may be cheaper for pure reads. ``quiet``: the writes change no
        answer of the API (rate-limit windows), so :meth:`version` stays as it was."""

    def version(self, twin: str) -> Hashable | None:
        """A token that changes whenever the twin's state may have changed: any write
        transaction that is not ``quiet``, a clear or a marker, through this store object
        or another sharing the database. Equal tokens mean an answer read from the state
        then is still true now (engine/reply_cache.py). ``None``: this backend cannot tell
        without a round trip, so nothing is kept."""
        return None

    @abstractmethod
    def clear(self, twin: str) -> None:
        """Forget everything of one twin (resources and id sequences)."""

    @abstractmethod
    def dump(self, twin: str) -> dict[str, list[Resource]]:
        """Every resource of a twin by family, in order (for GET /__apitwin__/state)."""

    @abstractmethod
    def get_meta(self, twin: str, key: str) -> str | None:
        """A small per-twin marker (e.g. "seeded" -> seed number), kept like resources."""

    @abstractmethod
    def set_meta(self, twin: str, key: str, value: str | None) -> None:
        """Set or (None) remove a marker."""

    @abstractmethod
    def generation(self, twin: str) -> int:
        """A number that changes whenever the twin's state is cleared, through this store
        object or any other sharing the same database (another process's reset), so that
        what a process remembers about the state (which families it seeded) can be
        dropped. Asked before every stateful request: backends answer without a round
        trip to the database where they can."""

    @abstractmethod
    def close(self) -> None:
        """Release connections and files."""

    def iter_twins(self) -> Iterator[str]:  # pragma: no cover - optional
        return iter(())


class TransactionLock:
    """Serializes the threads sharing one store object, and turns a nested transaction on
    the same thread (which would otherwise wait for itself forever) into an error.

    ``with lock.held():`` (or ``with lock:``). A plain context manager rather than a
    generator: every request passes through it at least twice."""

    __slots__ = ("_lock", "_owner")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None

    def held(self) -> TransactionLock:
        return self

    def __enter__(self) -> None:
        me = threading.get_ident()
        if self._owner == me:
            raise RuntimeError("this store is already in a transaction on this thread")
        self._lock.acquire()
        self._owner = me

    def __exit__(self, *exc: object) -> None:
        self._owner = None
        self._lock.release()


# Past any collection a store can hold, and within every backend's integer range (a
# 64-bit SQL integer, Python's slice indexes): a page number a client picks at random
# (page=2**64) must give an empty page, not an overflow.
MAX_PAGE_ARGUMENT = 2**61  # offset + limit still fits in 63 bits


def check_page(offset: int, limit: int | None) -> tuple[int, int | None]:
    """Reject negative paging arguments the same way in every backend, and bound large
    ones to what every backend can take (the page they give is the same: empty, or all)."""
    if offset < 0:
        raise ValueError(f"offset must not be negative, got {offset}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")
    return min(offset, MAX_PAGE_ARGUMENT), None if limit is None else min(limit, MAX_PAGE_ARGUMENT)


def check_filters(filters: Mapping[str, Any] | None) -> dict[str, FilterValue]:
    """The filters as a plain dict, after checking every value is a JSON scalar (the only
    thing a query parameter can hold, and the only thing all backends compare alike)."""
    if not filters:
        return {}
    for name, value in filters.items():
        if not isinstance(value, _SCALARS):
            raise TypeError(f"filter {name!r}: expected a JSON scalar, got {type(value).__name__}")
    return dict(filters)
