"""The delivery worker: POSTs to callbacks off the request path, in order per object.

An API request that triggers an event only appends to an in-memory inbox (no I/O, no
store write), so delivery never slows it down. One daemon thread per twin and process
runs an asyncio loop with an httpx client: it files the new deliveries in the store in
one transaction per batch, then sends them through *lanes*, one per webhook and object,
so a receiver sees the events of one patient in the order they happened while the
events of different objects go out concurrently.

Retries are not timers: a failed delivery is filed as ``retrying`` with the twin-clock
time it is due, and whoever notices the clock has passed it (this worker, about once a
second while retries are pending, or the admin request that moved the clock) claims it
in a store transaction and hands it to a lane. A claim is a row lock, so several
processes sharing a store never send one retry twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import orjson

if TYPE_CHECKING:
    from apitwin.conventions.webhooks.hub import Outcome, WebhookHub

__all__ = ["Attempt", "DeliveryWorker", "Job"]

log = logging.getLogger("apitwin")

_SCAN_EVERY = 1.0  # seconds between looks for due retries, while some are pending
_CONCURRENT = 32  # lanes sending at once


@dataclass
class Job:
    """One event for the webhooks subscribed to it, as the request thread saw it."""

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
    """The thread that sends one twin's deliveries (started on first need, and again in a
    forked worker process, where threads do not survive)."""

    def __init__(self, hub: WebhookHub) -> None:
        self.hub = hub
        self._inbox: deque[Job | Attempt] = deque()
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._kicked = False
        self._start_lock = threading.Lock()
        self.retries_pending = False
        self._lanes: dict[str, deque[Attempt]] = {}
        self._outcomes: list[Outcome] = []  # attempts made, not logged yet

    # -- any thread -------------------------------------------------------------------------

    def submit(self, item: Job | Attempt) -> None:
        """Hand an event or an attempt to the worker; costs a deque append, plus a wake-up
        of the worker's loop when it is not already awake."""
        self._ensure_started()
        self._inbox.append(item)
        if not self._kicked:
            self._kicked = True
            loop, wakeup = self._loop, self._wakeup
            if loop is not None and wakeup is not None:
                loop.call_soon_threadsafe(wakeup.set)

    def running(self) -> bool:
        return self._pid == os.getpid() and self._loop is not None

    def start(self) -> None:
        self._ensure_started()

    def _ensure_started(self) -> None:
        if self._pid == os.getpid():
            return
        with self._start_lock:
            if self._pid == os.getpid():
                return
            self._inbox.clear()
            self._lanes = {}
            self._outcomes = []
            ready = threading.Event()
            thread = threading.Thread(
                target=self._thread_main,
                args=(ready,),
                name=f"apitwin-webhooks-{self.hub.twin_name}",
                daemon=True,
            )
            thread.start()
            ready.wait()
            self._pid = os.getpid()

    # -- the worker's thread ----------------------------------------------------------------

    def _thread_main(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._wakeup = asyncio.Event()
        ready.set()
        try:
            loop.run_until_complete(self._main())
        except Exception:  # pragma: no cover - the twin keeps serving without deliveries
            log.exception("%s: the webhook worker stopped", self.hub.twin_name)

    async def _main(self) -> None:
        assert self._wakeup is not None
        semaphore = asyncio.Semaphore(_CONCURRENT)
        tasks: set[asyncio.Task[None]] = set()
        timeout = httpx.Timeout(self.hub.config.timeout)
        limits = httpx.Limits(max_connections=_CONCURRENT, max_keepalive_connections=_CONCURRENT)
        async with httpx.AsyncClient(
            timeout=timeout, limits=limits, follow_redirects=False, trust_env=False
        ) as client:
            last_scan = 0.0
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=_SCAN_EVERY)
                self._wakeup.clear()
                self._kicked = False
                if self._outcomes:
                    outcomes, self._outcomes = self._outcomes, []
                    self._guard(self.hub.record_attempts, outcomes)
                for attempt in self._drain():
                    self._enqueue(attempt, client, semaphore, tasks)
                if self.retries_pending and time.monotonic() - last_scan >= _SCAN_EVERY:
                    last_scan = time.monotonic()
                    self._guard(self.hub.claim_due)

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

    def _enqueue(
        self,
        attempt: Attempt,
        client: httpx.AsyncClient,
        semaphore: asyncio.Semaphore,
        tasks: set[asyncio.Task[None]],
    ) -> None:
        lane = str(attempt.record.get("webhook", "")) + "|" + str(attempt.record.get("lane", ""))
        queue = self._lanes.get(lane)
        if queue is not None:
            queue.append(attempt)
            return
        self._lanes[lane] = deque([attempt])
        task = asyncio.get_running_loop().create_task(self._run_lane(lane, client, semaphore))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _run_lane(
        self, lane: str, client: httpx.AsyncClient, semaphore: asyncio.Semaphore
    ) -> None:
        queue = self._lanes[lane]
        try:
            while queue:
                attempt = queue.popleft()
                async with semaphore:
                    await self._send(attempt, client)
        finally:
            del self._lanes[lane]

    async def _send(self, attempt: Attempt, client: httpx.AsyncClient) -> None:
        record = attempt.record
        request = self._guard(lambda: self.hub.request_for(record))
        if request is None:
            return
        url, headers, body = request
        status: int | None = None
        error: str | None = None
        started = time.perf_counter()
        try:
            response = await client.post(url, content=body, headers=headers)
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        elapsed = (time.perf_counter() - started) * 1000
        # Logged by the main loop, many per transaction: the store lock the API's requests
        # also take is held once per batch rather than once per delivery.
        self._outcomes.append((record, status, error, elapsed, attempt.automatic))
        if self._wakeup is not None:
            self._wakeup.set()

    def _guard(self, action: Callable[..., Any], *args: Any) -> Any:
        """Store work in the worker: a failure is logged, never the end of the worker."""
        try:
            return action(*args)
        except Exception:
            log.exception("%s: webhook bookkeeping failed", self.hub.twin_name)
            return None


def encode_body(receiver: dict[str, Any], obj: Any) -> bytes:
    return orjson.dumps({"receiver": receiver, "object": obj})
