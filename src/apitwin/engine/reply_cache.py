"""Answers to repeated reads, kept while the state they were read from is unchanged.

A polling client (a CI job waiting for a droplet to become active, a dashboard listing
containers every second) sends the same GET again and again; when nothing was written in
between, the twin answers with the same bytes. Two things decide whether a kept answer
still holds:

- the store's :meth:`~apitwin.state.store.Store.version`, which moves with every write,
  clear or marker, in this process or another sharing the database;
- the handler's own word, ``Reply.fresh_for``: how many seconds the answer stays true
  while nothing is written. The generic semantics answer from stored JSON alone
  (``math.inf``); a behaviour whose answers follow the clock says when the next change
  is due (a droplet's action completing, a container's "Up 3 seconds" turning into
  "Up 4 seconds"). Replies that leave it ``None`` are never kept.

The key is the whole request as sent (operation, path, query and every header), so an
answer that depends on the caller (its token, the Host its links point at) is never given
to another. Requests reach the cache only after routing, validation and authentication,
which still run every time: an expired token is refused even when its last answer is
kept. The version is read before the handler runs, so an answer whose handler wrote (a
family seeded on first use) is kept under the version before its own write and is read
again once, rather than kept under a version it did not see.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from dataclasses import dataclass

from apitwin.engine.context import Reply
from apitwin.state.store import Store

__all__ = ["Kept", "ReplyCache"]


@dataclass(frozen=True, slots=True)
class Kept:
    """An answer as it was sent, the version it was read at, and until when it holds."""

    version: Hashable
    until: float  # time.time() after which the handler runs again
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


class ReplyCache:
    """Kept answers of one twin, bounded in count and bytes (oldest dropped first)."""

    def __init__(
        self, store: Store, twin: str, max_entries: int = 256, max_bytes: int = 1 << 20
    ) -> None:
        self._store = store
        self._twin = twin
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._entries: dict[Hashable, Kept] = {}
        self._bytes = 0

    def version(self) -> Hashable | None:
        """The store's version now; ``None`` when the store cannot tell cheaply."""
        return self._store.version(self._twin)

    def get(self, key: Hashable, version: Hashable) -> Kept | None:
        try:
            kept = self._entries.get(key)
        except TypeError:  # a server that passes headers as lists: nothing is kept
            return None
        if kept is None:
            return None
        if kept.version != version or time.time() >= kept.until:
            self._drop(key)
            return None
        return kept

    def put(self, key: Hashable, version: Hashable, reply: Reply) -> None:
        """Keep ``reply`` when its handler allows it (``fresh_for``) and it fits."""
        fresh_for = reply.fresh_for
        if fresh_for is None or fresh_for <= 0 or reply.stream is not None:
            return
        if not 200 <= reply.status < 300 or len(reply.body) > self._max_bytes // 4:
            return
        try:
            hash(key)
        except TypeError:  # a server that passes headers as lists: nothing is kept
            return
        self._drop(key)
        kept = Kept(
            version,
            time.time() + fresh_for,
            reply.status,
            tuple(reply.headers),
            reply.body,
        )
        self._entries[key] = kept
        self._bytes += len(kept.body)
        while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: Hashable) -> None:
        kept = self._entries.pop(key, None)
        if kept is not None:
            self._bytes -= len(kept.body)
