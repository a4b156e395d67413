"""The delivery worker: POSTs to callbacks off the request path, in order per object.

An API request that triggers an event only appends to an in-memory inbox (no I/O, no
store write), so delivery never holds up the answer. The deliveries themselves run as
asyncio tasks on the event loop that serves the API: a thread of their own would compete
with the loop for the GIL, and a thread that wants the GIL while another computes waits
up to the interpreter's switch interval (5 ms), which is what a request felt as delay.
On the loop a delivery runs in short steps between requests, with a small HTTP client
(``http.py``) that spends little CPU per POST.

The worker collects what arrives for a few milliseconds, then files the new deliveries in
the store in one transaction per batch, and sends them through *lanes*, one per webhook
and object, so a receiver sees the events of one patient in the order they happened
while the events of different objects go out concurrently. Attempts are logged in
batches too (one transaction for all the answers that came in meanwhile).

Retries are not timers: a failed delivery is filed as ``retrying`` with the twin-clock
time it is due, and whoever notices the clock has passed it (this worker, about once a
second while retries are pending, or the admin request that moved the clock) claims it
in a store transaction and hands it to a lane. A claim is a row lock, so several
processes sharing a store never send one retry twice.

Which loop: the serving loop, learnt from the first call made on it (a write, or
``attach`` from the admin prefix); a caller with no loop at all (a script driving the
hub directly) gets a loop on a thread of the worker's own.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from apitwin.conventions.webhooks.http import CallbackClient, DeliveryError

if TYPE_CHECKING:
    from apitwin.conventions.webhooks.hub import Outcome, WebhookHub

__all__ = ["Attempt", "DeliveryWorker", "Job"]

log = logging.getLogger("apitwin")

_SCAN_EVERY = 1.0  # seconds between looks for due retries, while some are pending
_BATCH = 0.005  # seconds to collect events before filing them in one transaction
_CONCURRENT = 32  # lanes sending at once


@dataclass
class Job:
    """One event for the webhooks subscribed to it, as the request saw it."""

    event: str
    obj: Any
    lane: str
    hooks: list[dict[str, Any]]


@dataclass
class Attempt:
    """Send a filed delivery (again): a claimed retry, a redelivery, a ping."""

    record: dict[str, Any]
    automatic: bool = True


class DeliveryWorker:
    """Sends one twin's deliveries on an event loop (bound again in a forked worker
    process, and when the loop it used has closed)."""

    def __init__(self, hub: WebhookHub) -> None:
        self.hub = hub
        self.retries_pending = False
        self._inbox: deque[Job | Attempt] = deque()
        self._outcomes: list[Outcome] = []  # attempts made, not logged yet
        self._lanes: dict[str, deque[Attempt]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._own_thread = False
        self._client: CallbackClient | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._scheduled = False  # a pump is due on the loop
        self._scanning = False  # a retry scan is due on the loop
        self._lock = threading.Lock()

    # -- any thread -------------------------------------------------------------------------

    def submit(self, item: Job | Attempt) -> None:
        """Hand an event or an attempt to the worker: a deque append, plus one scheduled
        call on the loop per batch."""
        loop = self._bind()
        self._inbox.append(item)
        self._schedule(loop)

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop that serves the API (called on it by the admin prefix, whose webhook
        calls run on another thread), so that deliveries they start run there too."""
        if self._usable(self._loop) and not self._own_thread:
            return
        with self._lock:
            if self._loop is not loop and self._idle():
                self._rebind(loop, own_thread=False)

    def running(self) -> bool:
        return self._usable(self._loop)

    def start(self) -> None:
        """Be ready to send (retries a restarted process finds in its store); on a thread
        with no loop this waits for the first call from the serving loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            if self.retries_pending and self._loop is not None:
                self._schedule_scan(self._loop)
            return
        self._bind(loop)
        if self.retries_pending and self._loop is not None:
            self._schedule_scan(self._loop)

    # -- binding to a loop --------------------------------------------------------------------

    def _usable(self, loop: asyncio.AbstractEventLoop | None) -> bool:
        return (
            loop is not None
            and self._pid == os.getpid()
            and not loop.is_closed()
            and (loop.is_running() or self._own_thread)
        )

    def _idle(self) -> bool:
        return not self._lanes and not self._inbox and not self._scheduled

    def _bind(self, running: asyncio.AbstractEventLoop | None = None) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is not None and self._usable(loop) and (running is None or running is loop):
            return loop
        if running is None:
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
        with self._lock:
            loop = self._loop
            if running is not None:
                if loop is running and self._usable(loop):
                    return loop
                if not self._usable(loop) or (self._own_thread and self._idle()):
                    self._rebind(running, own_thread=False)
                    return running
                assert loop is not None  # busy on another loop: keep its order
                return loop
            if loop is not None and self._usable(loop):
                return loop
            return self._start_thread()

    def _rebind(self, loop: asyncio.AbstractEventLoop, own_thread: bool) -> None:
        """Start afresh on ``loop``; what the old loop held (a dead loop's tasks) is gone."""
        old, was_own = self._loop, self._own_thread
        if was_own and old is not None and not old.is_closed():
            old.call_soon_threadsafe(old.stop)
        if self._pid != os.getpid():
            self._inbox.clear()
            self._outcomes = []
        self._lanes = {}
        self._tasks = set()
        self._client = None
        self._semaphore = None
        self._scheduled = False
        self._scanning = False
        self._loop = loop
        self._own_thread = own_thread
        self._pid = os.getpid()
        if self._inbox or self._outcomes:
            self._schedule(loop)
        if self.retries_pending:
            self._schedule_scan(loop)

    def _start_thread(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        threading.Thread(
            target=run, name=f"apitwin-webhooks-{self.hub.twin_name}", daemon=True
        ).start()
        ready.wait()
        self._rebind(loop, own_thread=True)
        return loop

    # -- on the loop --------------------------------------------------------------------------

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._scheduled:
            return
        self._scheduled = True
        try:
            if asyncio.get_running_loop() is loop:
                loop.call_later(_BATCH, self._pump)
                return
        except RuntimeError:
            pass
        loop.call_soon_threadsafe(loop.call_later, _BATCH, self._pump)

    def _schedule_scan(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._scanning:
            return
        self._scanning = True
        loop.call_soon_threadsafe(loop.call_later, _SCAN_EVERY, self._scan)

    def _pump(self) -> None:
        """File what arrived, log what was answered, start the lanes."""
        self._scheduled = False
        if self._outcomes:
            outcomes, self._outcomes = self._outcomes, []
            self._guard(self.hub.record_attempts, outcomes)
        for attempt in self._drain():
            self._enqueue(attempt)
        if self.retries_pending and self._loop is not None:
            self._schedule_scan(self._loop)

    def _scan(self) -> None:
        self._scanning = False
        if not self.retries_pending:
            return
        self._guard(self.hub.claim_due)
        if self.retries_pending and self._loop is not None:
            self._schedule_scan(self._loop)

    def _drain(self) -> list[Attempt]:
        jobs: list[Job] = []
        attempts: list[Attempt] = []
        while self._inbox:
            item = self._inbox.popleft()
            if isinstance(item, Job):
                jobs.append(item)
            else:
                attempts.append(item)
        filed: list[Attempt] = []
        if jobs:
            records = self._guard(lambda: self.hub.file(jobs)) or []
            filed = [Attempt(record) for record in records]
        return filed + attempts

    def _enqueue(self, attempt: Attempt) -> None:
        lane = str(attempt.record.get("webhook", "")) + "|" + str(attempt.record.get("lane", ""))
        queue = self._lanes.get(lane)
        if queue is not None:
            queue.append(attempt)
            return
        self._lanes[lane] = deque([attempt])
        task = asyncio.get_running_loop().create_task(self._run_lane(lane))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_lane(self, lane: str) -> None:
        queue = self._lanes[lane]
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(_CONCURRENT)
        if self._client is None:
            self._client = CallbackClient(self.hub.config.timeout)
        semaphore, client = self._semaphore, self._client
        try:
            while queue:
                attempt = queue.popleft()
                async with semaphore:
                    await self._send(attempt, client)
        finally:
            if self._lanes.get(lane) is queue:
                del self._lanes[lane]

    async def _send(self, attempt: Attempt, client: CallbackClient) -> None:
        record = attempt.record
        request = self._guard(lambda: self.hub.request_for(record))
        if request is None:
            return
        url, headers, body = request
        status: int | None = None
        error: str | None = None
        started = time.perf_counter()
        try:
            status = await client.post(url, headers, body)
        except DeliveryError as exc:
            error = str(exc)
        except Exception as exc:  # a defect here must not end the lane
            log.exception("%s: webhook delivery failed", self.hub.twin_name)
            error = type(exc).__name__
        elapsed = (time.perf_counter() - started) * 1000
        # Logged by the next pump, many per transaction.
        self._outcomes.append((record, status, error, elapsed, attempt.automatic))
        if self._loop is not None:
            self._schedule(self._loop)

    def _guard(self, action: Callable[..., Any], *args: Any) -> Any:
        """Store work in the worker: a failure is logged, never the end of the worker."""
        try:
            return action(*args)
        except Exception:
            log.exception("%s: webhook bookkeeping failed", self.hub.twin_name)
            return None


def encode_body(receiver: dict[str, Any], obj: Any) -> bytes:
    return orjson.dumps({"receiver": receiver, "object": obj})
