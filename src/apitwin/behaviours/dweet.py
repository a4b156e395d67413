"""dweet.io: things made by dweeting to them, locks, alerts and the listen stream.

The document declares every answer as "200, no content"; the live service wraps each one
as ``{"this": "succeeded"|"failed", "by": <verb>, "the": <noun>, "with": <result>}``,
answers JSONP when asked for a ``callback``, keeps the last five dweets of a thing for a
day, and streams new dweets to listeners. dweepy (the Python client) reads a failure from
the body (``because``), so failures the service decides (a locked thing, an unknown
alert) come with HTTP 200 and the status in ``with``, as the service sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import re
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson

from apitwin.behaviours.base import Behaviour
from apitwin.engine.context import Reply, RequestContext
from apitwin.state.store import Store, Transaction

if TYPE_CHECKING:
    from apitwin.engine.twin import Twin

__all__ = ["DweetBehaviour", "install"]

DWEETS = "dweets"  # the short-term cache: the last few dweets per thing
STORED = "stored_dweets"  # long-term storage, kept for locked things only
LOCKS = "locks"  # lock name -> {lock, key, thing}
THINGS = "locked_things"  # thing -> {thing, lock}
ALERTS = "alerts"  # thing -> {thing, condition, who}

CACHE_SIZE = 5
CACHE_SECONDS = 24 * 3600
POLL_SECONDS = 1.0  # how often a listener looks for dweets written by other processes
_CALLBACK = re.compile(r"[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*")
_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")
_RESERVED_QUERY = frozenset({"key", "callback"})


class Failed(Exception):
    """A request dweet.io refuses: answered ``{"this": "failed", "with": status, ...}``."""

    def __init__(self, status: int, because: str) -> None:
        super().__init__(because)
        self.status = status
        self.because = because


@dataclass
class _Listener:
    """One open listen stream: dweets this process wrote for its thing, not yet sent."""

    loop: asyncio.AbstractEventLoop
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    pending: deque[dict[str, Any]] = field(default_factory=deque)

    def deliver(self, dweet: dict[str, Any]) -> None:
        self.pending.append(dweet)
        self.loop.call_soon_threadsafe(self.wake.set)


def _iso(moment: float) -> str:
    stamp = datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _scalar(text: str) -> Any:
    """A query-string value as dweet.io keeps it: numbers become numbers."""
    if _NUMBER.fullmatch(text):
        if "." in text or "e" in text.lower():
            return float(text)
        return int(text)
    return text


def _public(dweet: dict[str, Any]) -> dict[str, Any]:
    return {"thing": dweet["thing"], "created": dweet["created"], "content": dweet["content"]}


def listen_chunk(dweet: dict[str, Any]) -> bytes:
    """One dweet on the listen stream as the service frames it: a line with the length in
    hex, then the dweet as a JSON string (JSON encoded twice), then CRLF. dweepy and the
    other clients read the second line and decode it twice."""
    payload = orjson.dumps(orjson.dumps(_public(dweet)).decode())
    return f"{len(payload):x}\r\n".encode() + payload + b"\r\n"


class DweetBehaviour(Behaviour):
    """Every dweet.io operation, answered from the twin's store."""

    def __init__(self, twin: Twin, store: Store) -> None:
        super().__init__(twin)
        self.store = store
        self.twin_name = twin.name
        auth = twin.auth
        assert auth is not None  # build_twin always gives a twin its clock
        self.clock = auth.clock
        listen = twin.profile.extra.get("listen") or {}
        self.listen_seconds = float(listen.get("max_seconds", 3600))
        self.listeners: dict[str, list[_Listener]] = {}
        post = self.operations["post_dweet_for_thing"]
        quiet = self.operations["post_dweet_quietly_for_thing"]
        for operation in (post, quiet):
            # The document types the body as a string; the service takes any JSON object,
            # or no body at all with the content in the query string.
            for plan in operation.bodies.values():
                plan.validator = None
            operation.body_required = False
        # The service also takes a dweet as a GET with query parameters.
        twin.router.add("GET", "/dweet/for/{thing}", post)
        twin.router.add("GET", "/dweet/quietly/for/{thing}", quiet)
        self.bind_all(
            {
                "post_dweet_for_thing": self._wrapped(self.dweet),
                "post_dweet_quietly_for_thing": self.dweet_quietly,
                "getLatestDweet": self._wrapped(self.latest),
                "get_get_dweets_for_thing": self._wrapped(self.recent),
                "get_get_stored_dweets_for_thing": self.stored,
                "listenForDweets": self.listen,
                "lockThing": self._wrapped(self.lock),
                "unlockThing": self._wrapped(self.unlock),
                "removeLock": self._wrapped(self.remove_lock),
                "createAlertGET": self._wrapped(self.create_alert),
                "getAlert": self._wrapped(self.get_alert),
                "removeAlert": self._wrapped(self.remove_alert),
                "getStoredAlerts": self._wrapped(self.stored_alerts),
            }
        )

    # -- the wrapper ----------------------------------------------------------------------

    def _wrapped(
        self, handler: Callable[[RequestContext], tuple[str, str, Any]]
    ) -> Callable[[RequestContext], Reply]:
        def serve(context: RequestContext) -> Reply:
            try:
                callback = self._callback(context)
            except Failed as failed:
                return self._reply(context, None, self._failure(failed))
            try:
                by, the, result = handler(context)
            except Failed as failed:
                return self._reply(context, callback, self._failure(failed))
            body = {"this": "succeeded", "by": by, "the": the, "with": result}
            return self._reply(context, callback, body)

        return serve

    def _failure(self, failed: Failed) -> Any:
        return self.twin.errors.body(failed.status, failed.because)

    @staticmethod
    def _callback(context: RequestContext) -> str | None:
        values = context.parts.query.get("callback")
        if not values or not values[-1]:
            return None
        if not _CALLBACK.fullmatch(values[-1]):
            raise Failed(400, "the callback must be a JavaScript function name")
        return values[-1]

    @staticmethod
    def _reply(context: RequestContext, callback: str | None, body: Any) -> Reply:
        payload = orjson.dumps(body)
        if callback is None:
            return Reply(200, [(b"content-type", b"application/json")], payload)
        script = callback.encode() + b"(" + payload + b");"
        return Reply(200, [(b"content-type", b"application/javascript")], script)

    # -- locks ----------------------------------------------------------------------------

    @staticmethod
    def _key(context: RequestContext) -> str | None:
        values = context.parts.query.get("key")
        return values[-1] if values else None

    def _check_access(self, tx: Transaction, thing: str, key: str | None) -> bool:
        """Whether the thing is locked; raises when it is and the key does not open it."""
        locked = tx.get(THINGS, thing)
        if locked is None:
            return False
        if not key:
            raise Failed(403, "this thing is locked and requires a key")
        lock = tx.get(LOCKS, str(locked["lock"]))
        if lock is None or lock.get("key") != key:
            raise Failed(403, "the key you provided doesn't work with this thing")
        return True

    def lock(self, context: RequestContext) -> tuple[str, str, Any]:
        thing = str(context.params["thing"])
        lock_name = str(context.params["lock"])
        key = str(context.params["key"])
        with self.store.transaction(self.twin_name) as tx:
            lock = tx.get(LOCKS, lock_name, for_update=True)
            if lock is not None and lock.get("key") != key:
                raise Failed(403, "the key you provided doesn't work with this lock")
            if lock is not None and lock.get("thing") not in (None, thing):
                raise Failed(409, "this lock is already in use")
            current = tx.get(THINGS, thing)
            if current is not None and current.get("lock") != lock_name:
                raise Failed(409, "this thing is already locked")
            tx.put(LOCKS, lock_name, {"lock": lock_name, "key": key, "thing": thing})
            tx.put(THINGS, thing, {"thing": thing, "lock": lock_name})
        return "locking", "thing", {"thing": thing, "lock": lock_name}

    def unlock(self, context: RequestContext) -> tuple[str, str, Any]:
        thing = str(context.params["thing"])
        with self.store.transaction(self.twin_name) as tx:
            if not self._check_access(tx, thing, self._key(context)):
                raise Failed(404, "this thing is not locked")
            locked = tx.get(THINGS, thing) or {}
            lock_name = str(locked.get("lock"))
            lock = tx.get(LOCKS, lock_name)
            if lock is not None:
                tx.put(LOCKS, lock_name, {**lock, "thing": None})
            tx.delete(THINGS, thing)
            tx.delete(ALERTS, thing)
        return "unlocking", "thing", thing

    def remove_lock(self, context: RequestContext) -> tuple[str, str, Any]:
        lock_name = str(context.params["lock"])
        key = self._key(context)
        with self.store.transaction(self.twin_name) as tx:
            lock = tx.get(LOCKS, lock_name, for_update=True)
            if lock is None or not lock.get("thing"):
                raise Failed(404, "this lock is not in use")
            if lock.get("key") != key:
                raise Failed(403, "the key you provided doesn't work with this lock")
            thing = str(lock["thing"])
            tx.delete(THINGS, thing)
            tx.delete(ALERTS, thing)
            tx.put(LOCKS, lock_name, {**lock, "thing": None})
        return "removing", "lock", lock_name

    # -- dweets ---------------------------------------------------------------------------

    def _content(self, context: RequestContext) -> dict[str, Any]:
        body = context.request.body
        if isinstance(body, dict):
            return body
        if body is not None:
            raise Failed(400, "the content of a dweet must be a JSON object")
        return {
            name: _scalar(values[-1])
            for name, values in context.parts.query.items()
            if name not in _RESERVED_QUERY and values
        }

    def _write(self, context: RequestContext) -> dict[str, Any]:
        thing = str(context.params["thing"])
        content = self._content(context)
        with self.store.transaction(self.twin_name) as tx:
            locked = self._check_access(tx, thing, self._key(context))
            seq = tx.next_id(DWEETS)
            dweet = {
                "thing": thing,
                "created": _iso(self.clock.now_in(tx)),
                "content": content,
                "seq": seq,
            }
            key = f"{thing}/{seq:012d}"
            tx.put(DWEETS, key, dweet, parent=thing)
            cached = tx.list(DWEETS, parent=thing).items
            for old in cached[: max(0, len(cached) - CACHE_SIZE)]:
                tx.delete(DWEETS, f"{thing}/{int(old['seq']):012d}")
            if locked:
                tx.put(STORED, key, dweet, parent=thing)
        for listener in self.listeners.get(thing, ()):
            listener.deliver(dweet)
        return dweet

    def dweet(self, context: RequestContext) -> tuple[str, str, Any]:
        dweet = self._write(context)
        return "dweeting", "dweet", {**_public(dweet), "transaction": str(uuid.uuid4())}

    def dweet_quietly(self, context: RequestContext) -> Reply:
        """``/dweet/quietly``: 204 without a body when it worked."""
        try:
            self._write(context)
        except Failed as failed:
            return self._reply(context, None, self._failure(failed))
        return Reply(204)

    def _recent(self, tx: Transaction, thing: str) -> list[dict[str, Any]]:
        """The cached dweets of the last 24 hours (twin clock), newest first."""
        since = self.clock.now_in(tx) - CACHE_SECONDS
        cached = tx.list(DWEETS, parent=thing).items
        return [d for d in reversed(cached) if _epoch(str(d["created"])) >= since]

    def _read(self, context: RequestContext, limit: int) -> tuple[str, str, Any]:
        thing = str(context.params["thing"])
        with self.store.transaction(self.twin_name, write=False) as tx:
            self._check_access(tx, thing, self._key(context))
            recent = self._recent(tx, thing)[:limit]
        if not recent:
            raise Failed(404, "we couldn't find this")
        return "getting", "dweets", [_public(d) for d in recent]

    def latest(self, context: RequestContext) -> tuple[str, str, Any]:
        return self._read(context, 1)

    def recent(self, context: RequestContext) -> tuple[str, str, Any]:
        return self._read(context, CACHE_SIZE)

    # -- long-term storage ----------------------------------------------------------------

    def _window(self, context: RequestContext) -> tuple[float, float]:
        """The day (or hour) a storage read asks for, as epoch seconds."""
        try:
            day = datetime.strptime(str(context.params["date"]), "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise Failed(400, "the date must be a calendar date (YYYY-MM-DD)") from None
        hour = context.params.get("hour")
        if hour is None or hour == "":
            return day.timestamp(), (day + timedelta(days=1)).timestamp()
        if not str(hour).isdigit() or not 0 <= int(str(hour)) <= 23:
            raise Failed(400, "the hour must be a number from 00 to 23")
        start = day + timedelta(hours=int(str(hour)))
        return start.timestamp(), (start + timedelta(hours=1)).timestamp()

    def _storage(self, context: RequestContext, family: str) -> list[dict[str, Any]]:
        thing = str(context.params["thing"])
        with self.store.transaction(self.twin_name, write=False) as tx:
            if not self._check_access(tx, thing, self._key(context)):
                raise Failed(403, "storage is only available for locked things")
            start, end = self._window(context)
            items = tx.list(family, parent=thing).items
        return [item for item in items if start <= _epoch(str(item["created"])) < end]

    def stored(self, context: RequestContext) -> Reply:
        """Stored dweets of one day or hour: dweet-speak, a bare JSON array, or CSV."""
        try:
            callback = self._callback(context)
            dweets = [_public(d) for d in self._storage(context, STORED)]
        except Failed as failed:
            return self._reply(context, None, self._failure(failed))
        kind = str(context.params.get("responseType") or "").lower()
        if kind == "csv":
            return Reply(200, [(b"content-type", b"text/csv")], _csv(dweets))
        if kind == "json":
            return Reply(200, [(b"content-type", b"application/json")], orjson.dumps(dweets))
        body = {"this": "succeeded", "by": "getting", "the": "stored_dweets", "with": dweets}
        return self._reply(context, callback, body)

    def stored_alerts(self, context: RequestContext) -> tuple[str, str, Any]:
        """Alerts the twin has fired: none, since it evaluates no conditions."""
        self._storage(context, "fired_alerts")
        return "getting", "stored_alerts", []

    # -- alerts -----------------------------------------------------------------------------

    def create_alert(self, context: RequestContext) -> tuple[str, str, Any]:
        thing = str(context.params["thing"])
        who = [a.strip() for a in str(context.params["who"]).split(",") if a.strip()]
        condition = str(context.params["condition"])
        with self.store.transaction(self.twin_name) as tx:
            if not self._check_access(tx, thing, self._key(context)):
                raise Failed(403, "a thing must be locked before an alert can be set")
            alert = {"thing": thing, "condition": condition, "who": who}
            tx.put(ALERTS, thing, alert)
        return "alerting", "alert", alert

    def get_alert(self, context: RequestContext) -> tuple[str, str, Any]:
        thing = str(context.params["thing"])
        with self.store.transaction(self.twin_name, write=False) as tx:
            self._check_access(tx, thing, self._key(context))
            alert = tx.get(ALERTS, thing)
        if alert is None:
            raise Failed(404, "we couldn't find this")
        return "getting", "alert", alert

    def remove_alert(self, context: RequestContext) -> tuple[str, str, Any]:
        thing = str(context.params["thing"])
        with self.store.transaction(self.twin_name) as tx:
            self._check_access(tx, thing, self._key(context))
            if not tx.delete(ALERTS, thing):
                raise Failed(404, "we couldn't find this")
        return "removing", "alert", {"thing": thing}

    # -- listen -----------------------------------------------------------------------------

    def listen(self, context: RequestContext) -> Reply:
        """A chunked stream of the thing's new dweets, open until the client leaves or
        ``listen.max_seconds`` of twin time have passed."""
        thing = str(context.params["thing"])
        try:
            with self.store.transaction(self.twin_name, write=False) as tx:
                self._check_access(tx, thing, self._key(context))
                started = self.clock.now_in(tx)
                cached = tx.list(DWEETS, parent=thing).items
        except Failed as failed:
            return self._reply(context, None, self._failure(failed))
        seen = max((int(d["seq"]) for d in cached), default=0)
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", b"no-cache")]
        return Reply(200, headers, stream=self._stream(thing, seen, started))

    async def _stream(self, thing: str, seen: int, started: float) -> AsyncIterator[bytes]:
        listener = _Listener(asyncio.get_running_loop())
        self.listeners.setdefault(thing, []).append(listener)
        try:
            while True:
                while listener.pending:
                    dweet = listener.pending.popleft()
                    if int(dweet["seq"]) > seen:
                        seen = int(dweet["seq"])
                        yield listen_chunk(dweet)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(listener.wake.wait(), timeout=POLL_SECONDS)
                listener.wake.clear()
                if listener.pending:
                    continue
                # Dweets written by another process sharing the store.
                with self.store.transaction(self.twin_name, write=False) as tx:
                    now = self.clock.now_in(tx)
                    cached = tx.list(DWEETS, parent=thing).items
                for dweet in cached:
                    if int(dweet["seq"]) > seen:
                        seen = int(dweet["seq"])
                        yield listen_chunk(dweet)
                if now - started >= self.listen_seconds:
                    return
        finally:
            remaining = [x for x in self.listeners.get(thing, ()) if x is not listener]
            if remaining:
                self.listeners[thing] = remaining
            else:
                self.listeners.pop(thing, None)


def _csv(dweets: list[dict[str, Any]]) -> bytes:
    """Stored dweets as CSV: thing, created, then one column per content field."""
    fields = sorted({name for d in dweets for name in d["content"]})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["thing", "created", *fields])
    for d in dweets:
        writer.writerow(
            [d["thing"], d["created"], *(_cell(d["content"].get(n, "")) for n in fields)]
        )
    return out.getvalue().encode()


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def install(twin: Twin) -> None:
    """Serve dweet.io from state; a stateless twin keeps the document's answers."""
    if twin.semantics is None:
        return
    DweetBehaviour(twin, twin.semantics.store)
