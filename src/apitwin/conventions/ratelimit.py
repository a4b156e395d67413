"""Rate limits as the real services apply them: counted per client, on the twin clock.

A profile declares the policy as data, and :meth:`RateLimiter.from_profile` compiles it
once at start-up into a few tuples; a request then costs one small store transaction::

    "rate_limits": {
      "window": "sliding",
      "limits": [{"requests": 5000, "seconds": 3600}, {"requests": 250, "seconds": 60}],
      "headers": {"limit": "ratelimit-limit", "remaining": "ratelimit-remaining",
                  "reset": "ratelimit-reset"},
      "retry_after": {"header": "retry-after", "format": "seconds"},
      "message": "API Rate limit exceeded.",
      "endpoints": [{"method": "POST", "path": "/v2/floating_ips",
                     "limits": [{"requests": 12, "seconds": 60}]}, ...]
    }

- A client is its ``Authorization`` header (the API token; ``"per"`` names other
  headers), or its address when it sends none; it is kept hashed, never as the token.
- ``sliding`` (DigitalOcean): every request counts for ``seconds`` after it was made, on
  its own timer; the reset header is when the oldest counted request expires. Requests
  are kept as (second, count) pairs, so a burst in one second is one entry.
- ``fixed`` (Docker Hub): a counter per window of ``seconds`` aligned to the epoch; the
  reset header is the end of the current window.
- Several ``limits`` are counted together (DigitalOcean's 5,000 an hour and 250 a
  minute): the remaining count is the smallest, and a request is refused as soon as one
  of them is used up. ``limit`` in the headers is the first one.
- ``endpoints`` add limits of their own to chosen requests (method optional, a path or,
  with ``"prefix": true``, a path and everything under it); they count independently
  of the twin-wide limits, and a request must pass both. Headers describe the twin-wide
  limits.
- A refused request is not counted and changes nothing: it gets 429 in the API's error
  shape with the headers, plus the retry header (``seconds`` to wait, or the ``epoch``
  time when a request will pass).

Counts live in the twin's store (reserved family ``__ratelimit__``), read and written in
one transaction with the clock offset, so every worker process serving one store shares
them, and ``POST /__apitwin__/clock`` moves them forward like everything else.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apitwin.conventions.clock import TwinClock

__all__ = ["RATE_LIMIT_FAMILY", "RateLimitConfigError", "RateLimiter", "Verdict"]

RATE_LIMIT_FAMILY = "__ratelimit__"

Header = tuple[bytes, bytes]


class RateLimitConfigError(ValueError):
    """A profile's ``rate_limits`` entry that cannot be compiled."""


@dataclass(frozen=True)
class Window:
    requests: int
    seconds: int


@dataclass(frozen=True)
class Rule:
    """Limits counted together for the requests the rule applies to."""

    name: str
    windows: tuple[Window, ...]
    method: str | None = None  # None: any method
    path: str | None = None  # None: every path
    prefix: bool = False

    def applies(self, method: str, path: str) -> bool:
        if self.method is not None and method != self.method:
            return False
        if self.path is None:
            return True
        path = path.rstrip("/") or "/"
        return path == self.path or (self.prefix and path.startswith(self.path + "/"))


@dataclass(frozen=True)
class Count:
    """One rule's standing for one client at one moment."""

    remaining: int  # before this request
    reset: int  # epoch seconds
    retry_at: float  # when a refused request would pass


@dataclass(frozen=True)
class Verdict:
    refused: bool
    headers: list[Header]
    wait: int = 0  # seconds until a refused request would pass (Discourse's wait_seconds)


def _windows(raw: Any, where: str) -> tuple[Window, ...]:
    if not isinstance(raw, list) or not raw:
        raise RateLimitConfigError(f"{where}: 'limits' must be a non-empty list")
    windows = []
    for item in raw:
        requests = item.get("requests") if isinstance(item, dict) else None
        seconds = item.get("seconds") if isinstance(item, dict) else None
        if not isinstance(requests, int) or not isinstance(seconds, int):
            raise RateLimitConfigError(f"{where}: each limit needs integer requests and seconds")
        if requests < 1 or seconds < 1:
            raise RateLimitConfigError(f"{where}: requests and seconds must be at least 1")
        windows.append(Window(requests, seconds))
    return tuple(windows)


class RateLimiter:
    """One twin's compiled rate-limit policy."""

    def __init__(
        self,
        clock: TwinClock,
        rules: tuple[Rule, ...],
        *,
        sliding: bool,
        headers: tuple[bytes, bytes, bytes],
        retry_header: bytes | None,
        retry_epoch: bool,
        message: str,
        per: tuple[bytes, ...] = (b"authorization",),
    ) -> None:
        self.clock = clock
        self.per = per
        self.rules = rules
        self.sliding = sliding
        self.limit_header, self.remaining_header, self.reset_header = headers
        self.retry_header = retry_header
        self.retry_epoch = retry_epoch
        self.message = message
        names = [*headers, retry_header] if retry_header else list(headers)
        self.header_names = frozenset(names)  # replace whatever the document synthesized
        self._limit_value = str(rules[0].windows[0].requests).encode()
        self._endpoint_rules = rules[1:]

    @classmethod
    def from_profile(
        cls, config: Any, clock: TwinClock, override: bool | Mapping[str, Any] = True
    ) -> RateLimiter | None:
        """The policy of a profile's ``rate_limits`` entry, or None when there is none or
        it is turned off (``override`` False; a mapping replaces keys of the profile's)."""
        if override is False or not config:
            return None
        if not isinstance(config, Mapping):
            raise RateLimitConfigError("'rate_limits' must be an object")
        if isinstance(override, Mapping):
            config = {**config, **override}
        if config.get("enabled", True) is False:
            return None
        window = config.get("window", "sliding")
        if window not in ("sliding", "fixed"):
            raise RateLimitConfigError("'window' must be 'sliding' or 'fixed'")
        rules = [Rule("all", _windows(config.get("limits"), "rate_limits"))]
        for number, entry in enumerate(config.get("endpoints") or []):
            where = f"rate_limits.endpoints[{number}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                raise RateLimitConfigError(f"{where}: needs a 'path'")
            method = entry.get("method")
            rules.append(
                Rule(
                    f"e{number}",
                    _windows(entry.get("limits"), where),
                    str(method).upper() if method else None,
                    entry["path"].rstrip("/") or "/",
                    bool(entry.get("prefix", False)),
                )
            )
        names = dict(config.get("headers") or {})
        headers = tuple(
            str(names.get(key, f"ratelimit-{key}")).lower().encode("latin-1")
            for key in ("limit", "remaining", "reset")
        )
        retry = config.get("retry_after") or {}
        retry_header = str(retry["header"]).lower().encode("latin-1") if "header" in retry else None
        return cls(
            clock,
            tuple(rules),
            sliding=window == "sliding",
            headers=(headers[0], headers[1], headers[2]),
            retry_header=retry_header,
            retry_epoch=retry.get("format", "seconds") == "epoch",
            message=str(config.get("message", "rate limit exceeded")),
            per=tuple(
                str(h).lower().encode("latin-1") for h in config.get("per", ["authorization"])
            ),
        )

    def client_of(self, headers: Any, address: str) -> str:
        """Who a request counts against: the first identifying header it sends (raw ASGI
        header pairs), else its address."""
        for name, value in headers:
            if name.lower() in self.per:
                return bytes(name.lower() + b":" + value).decode("latin-1")
        return address

    def check(self, method: str, path: str, client: str) -> Verdict:
        """Count one request of ``client`` to ``path``; refused when a limit is used up."""
        digest = hashlib.blake2b(client.encode("utf-8", "replace"), digest_size=9).hexdigest()
        applicable = [self.rules[0]] + [r for r in self._endpoint_rules if r.applies(method, path)]
        with self.clock.store.transaction(self.clock.twin, quiet=True) as tx:
            now = self.clock.now_in(tx)
            records = []
            counts = []
            for rule in applicable:
                key = f"{rule.name}:{digest}"
                record = tx.get(RATE_LIMIT_FAMILY, key, for_update=True)
                if self.sliding:
                    record, count = _sliding(rule, record, now)
                else:
                    record, count = _fixed(rule, record, now)
                records.append((key, record))
                counts.append(count)
            refused = [count for count in counts if count.remaining <= 0]
            if not refused:
                for key, record in records:
                    tx.put(RATE_LIMIT_FAMILY, key, record)
        overall = counts[0]
        remaining = max(overall.remaining - (0 if refused else 1), 0)
        headers = [
            (self.limit_header, self._limit_value),
            (self.remaining_header, str(remaining).encode()),
            (self.reset_header, str(overall.reset).encode()),
        ]
        wait = 0
        if refused:
            retry_at = max(count.retry_at for count in refused)
            wait = max(math.ceil(retry_at - now), 1)
            if self.retry_header is not None:
                value = math.ceil(retry_at) if self.retry_epoch else wait
                headers.append((self.retry_header, str(value).encode()))
        return Verdict(bool(refused), headers, wait)


def _sliding(rule: Rule, record: dict[str, Any] | None, now: float) -> tuple[dict[str, Any], Count]:
    """Requests as [second, count] pairs, oldest first; each counts for a window's length
    after its second began (so a request never counts longer than the service says)."""
    horizon = max(window.seconds for window in rule.windows)
    hits: list[list[int]] = [
        hit for hit in (record or {}).get("hits", []) if hit[0] + horizon > now
    ]
    remaining = math.inf
    retry_at = now
    for window in rule.windows:
        inside = [hit for hit in hits if hit[0] + window.seconds > now]
        left = window.requests - sum(hit[1] for hit in inside)
        remaining = min(remaining, left)
        if left <= 0:  # passes once enough of the oldest requests in this window expire
            need = 1 - left
            for second, number in inside:
                need -= number
                if need <= 0:
                    retry_at = max(retry_at, second + window.seconds)
                    break
    second = int(now)
    if hits and hits[-1][0] == second:
        hits[-1] = [second, hits[-1][1] + 1]
    else:
        hits.append([second, 1])
    primary = rule.windows[0].seconds
    reset = hits[0][0] + primary
    count = Count(int(remaining), reset, retry_at)
    return {"hits": hits}, count


def _fixed(rule: Rule, record: dict[str, Any] | None, now: float) -> tuple[dict[str, Any], Count]:
    """A counter per window aligned to the epoch; all limits share the first window's
    length (Docker Hub declares one per-minute limit)."""
    seconds = rule.windows[0].seconds
    start = int(now // seconds) * seconds
    used = int(record["count"]) if record and record.get("start") == start else 0
    remaining = min(window.requests for window in rule.windows) - used
    reset = start + seconds
    return {"start": start, "count": used + 1}, Count(remaining, reset, float(reset))
