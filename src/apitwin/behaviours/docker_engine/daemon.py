"""The daemon's state in the twin's store: ids, times, lookups, events.

Containers, images, networks and volumes are JSON documents in the twin's store, kept in
the shape the daemon shows them (``Id``, ``Name``, ``State``, ...) plus a private
``_twin`` part the API never shows. Every request runs in one :class:`Session`: a
transaction with the twin clock's reading, in which containers whose command has ended by
now are settled first, so that every answer sees the same, current state. The earliest
such moment is kept in one record, so a read when nothing is due costs a read-only
transaction and no scan of the containers.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from apitwin.behaviours.base import reject
from apitwin.engine.context import RequestContext
from apitwin.state.store import Store, Transaction

if TYPE_CHECKING:
    from apitwin.conventions.clock import TwinClock
    from apitwin.engine.twin import Twin

__all__ = [
    "CONTAINERS",
    "ENGINE_VERSION",
    "EVENTS",
    "EXECS",
    "IMAGES",
    "NETWORKS",
    "VOLUMES",
    "Daemon",
    "Session",
    "as_dict",
    "body_of",
    "go_time",
    "public",
    "registry_user_agent",
]

ENGINE_VERSION = "17.10.0-ce"
CONTAINERS = "containers"
IMAGES = "images"
NETWORKS = "networks"
VOLUMES = "volumes"
EVENTS = "events"
EXECS = "execs"
ZERO_TIME = "0001-01-01T00:00:00Z"
# The daemon's own bookkeeping: the earliest moment a running container's command ends.
DAEMON = "__daemon__"
DUE = "due"

_ADJECTIVES = (
    "admiring", "brave", "clever", "dreamy", "eager", "focused", "gallant", "happy",
    "jolly", "keen", "loving", "modest", "nifty", "quirky", "serene", "vibrant",
)  # fmt: skip
_SURNAMES = (
    "babbage", "curie", "darwin", "euler", "fermi", "gauss", "hopper", "kepler",
    "lovelace", "meitner", "newton", "noether", "pascal", "ritchie", "turing", "wozniak",
)  # fmt: skip
_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


def go_time(moment: float) -> str:
    """An epoch time the way the daemon prints it (RFC 3339 with nanoseconds, UTC)."""
    whole = int(moment)
    nanos = int(round((moment - whole) * 1e9))
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    stamp = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos:09d}Z"


def as_dict(value: Any) -> dict[str, Any]:
    """A JSON object from a request, or an empty one for anything else (open schema)."""
    return value if isinstance(value, dict) else {}


def body_of(context: RequestContext) -> dict[str, Any]:
    """The request's JSON object. Some operations document their body as
    ``application/octet-stream`` (network connect), so raw bytes are read as JSON too."""
    body = context.request.body
    if isinstance(body, bytes | str):
        try:
            body = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise reject(400, "invalid JSON in the request body") from None
    return as_dict(body)


def public(resource: dict[str, Any]) -> dict[str, Any]:
    """A stored resource without the twin's private bookkeeping."""
    return {key: value for key, value in resource.items() if key != "_twin"}


@dataclass
class Session:
    """One request's view of the daemon: a transaction and the time it happens at."""

    daemon: Daemon
    tx: Transaction
    now: float
    # In a read session: seconds until the next container's command ends (math.inf when
    # none is running on a timer), after which answers read here may be out of date.
    # None in a write session.
    quiet_for: float | None = None

    # -- containers -------------------------------------------------------------------

    def containers(self) -> list[dict[str, Any]]:
        """Every container, newest first (the daemon's listing order)."""
        items = self.tx.list(CONTAINERS).items
        items.sort(key=lambda c: c["_twin"]["created"], reverse=True)
        return items

    def container(self, ref: str) -> dict[str, Any]:
        """A container by full id, name or unique id prefix; 404 in the daemon's words."""
        found = self.tx.get(CONTAINERS, ref) if len(ref) == 64 else None
        if found is not None:
            return found
        wanted = ref.lstrip("/")
        matches: list[dict[str, Any]] = []
        for item in self.tx.list(CONTAINERS).items:
            if item["Name"] == "/" + wanted:
                return item
            if item["Id"].startswith(ref):
                matches.append(item)
        if len(matches) == 1 and ref:
            return matches[0]
        if len(matches) > 1:
            raise reject(400, f"multiple IDs found with provided prefix: {ref}")
        raise reject(404, f"No such container: {ref}")

    def name_owner(self, name: str) -> dict[str, Any] | None:
        for item in self.tx.list(CONTAINERS).items:
            if item["Name"] == name:
                return item
        return None

    def save(self, family: str, key: str, resource: dict[str, Any]) -> None:
        self.tx.put(family, key, resource)

    # -- events -----------------------------------------------------------------------

    def event(
        self,
        kind: str,
        action: str,
        actor: str,
        attributes: dict[str, str] | None = None,
        at: float | None = None,
    ) -> None:
        """Remember one lifecycle event for ``GET /events``, in the daemon's format (the
        1.22+ fields and, for containers and images, the older ``status``/``id``/``from``)."""
        moment = self.now if at is None else at
        serial = self.tx.next_id(EVENTS)
        record: dict[str, Any] = {
            "Type": kind,
            "Action": action,
            "Actor": {"ID": actor, "Attributes": dict(attributes or {})},
            "scope": "local",
            "time": int(moment),
            "timeNano": int(moment * 1e9),
        }
        if kind in ("container", "image"):
            record["status"] = action
            record["id"] = actor
            if kind == "container" and attributes and "image" in attributes:
                record["from"] = attributes["image"]
        self.tx.put(EVENTS, f"{serial:012d}", record)

    def events(self) -> list[dict[str, Any]]:
        items = self.tx.list(EVENTS).items
        items.sort(key=lambda e: e["timeNano"])
        return items


class Daemon:
    """What every handler shares: the store, the clock, deterministic ids and names."""

    def __init__(self, twin: Twin, store: Store, clock: TwinClock) -> None:
        self.twin = twin
        self.store = store
        self.clock = clock
        self.seed = twin.options.seed
        versions = twin.profile.extra.get("versions") or {}
        self.api_version = str(versions.get("current", "1.33"))
        self.min_api_version = str(versions.get("minimum", self.api_version))
        self.settle: Any = None  # set by the containers module: settles due containers

    @contextmanager
    def session(self, write: bool = True) -> Iterator[Session]:
        """One request's transaction at one moment of the twin clock, with the containers
        whose command has ended by then settled first. A read (``write=False``) runs in a
        read-only transaction unless some container is due, which the earliest due time
        kept beside the containers tells without scanning them."""
        name = self.twin.name
        if not write:
            with self.store.transaction(name, write=False) as tx:
                now = self.clock.now_in(tx)
                if not self.due(tx, now):
                    record = tx.get(DAEMON, DUE)
                    at = None if record is None else record.get("at")
                    yield Session(self, tx, now, math.inf if at is None else float(at) - now)
                    return
        with self.store.transaction(name) as tx:
            session = Session(self, tx, self.clock.now_in(tx))
            if self.settle is not None and self.due(tx, session.now):
                self.settle(session)
            yield session

    @staticmethod
    def due(tx: Transaction, now: float) -> bool:
        """Whether a running container's command may have ended by ``now``."""
        record = tx.get(DAEMON, DUE)
        return record is not None and record.get("at") is not None and record["at"] <= now

    @staticmethod
    def schedule(tx: Transaction, at: float) -> None:
        """A running container's command ends at ``at``: keep the earliest such time. The
        kept time may be earlier than the true earliest (a container stopped before its
        time), which only costs one scan that finds nothing and moves it on."""
        record = tx.get(DAEMON, DUE)
        if record is None or record.get("at") is None or at < record["at"]:
            tx.put(DAEMON, DUE, {"at": at})

    @staticmethod
    def reschedule(tx: Transaction, at: float | None) -> None:
        """After a scan: the earliest time still ahead (None when nothing runs out)."""
        tx.put(DAEMON, DUE, {"at": at})

    def new_id(self, tx: Transaction, kind: str) -> tuple[str, int]:
        """A 64-hex id that is the same for the same seed and history (stable tests)."""
        serial = tx.next_id(f"__{kind}_serial__")
        text = f"{self.twin.name}:{kind}:{self.seed}:{serial}".encode()
        return hashlib.sha256(text).hexdigest(), serial

    @staticmethod
    def random_name(serial: int) -> str:
        adjective = _ADJECTIVES[serial % len(_ADJECTIVES)]
        surname = _SURNAMES[(serial // len(_ADJECTIVES) + serial) % len(_SURNAMES)]
        return f"{adjective}_{surname}"

    @staticmethod
    def check_name(name: str) -> None:
        if not _NAME.match(name):
            raise reject(
                400,
                f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
            )


def registry_user_agent(upstream: str) -> str:
    """The User-Agent the daemon sends the registry: its own, with the client's inside
    ``UpstreamClient(...)`` (parentheses escaped), which is what the Hub records."""
    agent = (
        f"docker/{ENGINE_VERSION} go/go1.8.3 git-commit/f4ffd25 kernel/6.8.0-apitwin "
        "os/linux arch/amd64"
    )
    if not upstream:
        return agent
    escaped = upstream.replace("(", "\\(").replace(")", "\\)")
    return f"{agent} UpstreamClient({escaped})"


def stable_hex(*parts: object) -> str:
    """A 64-hex value derived from its parts (ids of built-in things, digests)."""
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()
