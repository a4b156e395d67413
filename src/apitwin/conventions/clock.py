"""The twin clock: the time a twin's tokens, codes and rate limits are measured against.

A test cannot wait 48 hours for a drchrono token to expire, so every twin reads the time
from its own clock, which runs with the wall clock but can be moved forward on demand
(``POST /__apitwin__/clock``). The clock is the wall clock plus an offset, and the offset
is kept in the twin's store (reserved family ``__clock__``), so every process serving the
same twin from one store agrees on the time, and the offset survives a restart with a
SQLite store. It only moves forward: an issued token never becomes valid again.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Any

from apitwin.state.store import Store, Transaction

__all__ = ["CLOCK_FAMILY", "ClockError", "TwinClock", "iso"]

CLOCK_FAMILY = "__clock__"
_KEY = "clock"


class ClockError(ValueError):
    """A request to move the clock that cannot be honoured (backwards, not a number)."""


def iso(moment: float) -> str:
    """An epoch time as ISO 8601 UTC, to the second, the way the admin endpoints show it."""
    stamp = datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")
    return stamp.replace("+00:00", "Z")


class TwinClock:
    """One twin's clock, kept as an offset from the wall clock in the twin's store."""

    def __init__(self, store: Store, twin: str) -> None:
        self.store = store
        self.twin = twin

    @staticmethod
    def offset_in(tx: Transaction) -> float:
        record = tx.get(CLOCK_FAMILY, _KEY)
        return float(record["offset"]) if record else 0.0

    def now_in(self, tx: Transaction) -> float:
        """The twin's time, read inside a transaction the caller already holds (so a
        credential check costs one transaction, not two)."""
        return time.time() + self.offset_in(tx)

    def now(self) -> float:
        with self.store.transaction(self.twin, write=False) as tx:
            return self.now_in(tx)

    def advance(self, seconds: Any) -> dict[str, Any]:
        """Move the clock forward by ``seconds``; returns the new reading."""
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ClockError("'advance' must be a number of seconds")
        if not math.isfinite(seconds) or seconds < 0:
            raise ClockError("'advance' must be a finite number of seconds, not negative")
        with self.store.transaction(self.twin) as tx:
            record = tx.get(CLOCK_FAMILY, _KEY, for_update=True)
            offset = (float(record["offset"]) if record else 0.0) + float(seconds)
            tx.put(CLOCK_FAMILY, _KEY, {"key": _KEY, "offset": offset})
        return self.reading(offset)

    def state(self) -> dict[str, Any]:
        with self.store.transaction(self.twin, write=False) as tx:
            offset = self.offset_in(tx)
        return self.reading(offset)

    @staticmethod
    def reading(offset: float) -> dict[str, Any]:
        now = time.time() + offset
        return {"now": now, "iso": iso(now), "offset": offset}
