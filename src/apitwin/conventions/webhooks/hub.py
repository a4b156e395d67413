"""One twin's webhooks: the registry, the events its writes raise, the delivery log.

The hub is what the rest of the twin talks to. Handlers call :meth:`WebhookHub.changed`
after a write (``triggers.py`` does it for every family the profile names), the admin
prefix manages webhooks through it, and the delivery worker asks it for what to send and
tells it what happened. Deliveries are filed in the store (reserved family
``__webhook_deliveries__``, one parent per webhook), so the log and pending retries are
shared by every process serving the twin.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from apitwin.conventions.clock import TwinClock, iso
from apitwin.conventions.webhooks.config import Trigger, WebhookConfig
from apitwin.conventions.webhooks.delivery import Attempt, DeliveryWorker, Job, encode_body
from apitwin.conventions.webhooks.registry import (
    WEBHOOKS_FAMILY,
    TargetPolicy,
    WebhookError,
    check_fields,
    new_record,
    receiver_of,
    signature_of,
    verify_callback,
)
from apitwin.state.store import Store

if TYPE_CHECKING:
    from apitwin.engine.twin import Twin

__all__ = ["DELIVERIES_FAMILY", "WebhookHub"]

DELIVERIES_FAMILY = "__webhook_deliveries__"
_REFRESH = 1.0  # seconds a process trusts its copy of the registry (others may change it)
_UNVERIFIED = "the webhook is not verified"
# An attempt's outcome: the delivery, status, transport error, duration (ms), automatic.
Outcome = tuple[Mapping[str, Any], int | None, str | None, float, bool]


class WebhookHub:
    def __init__(self, twin: Twin, config: WebhookConfig, policy: TargetPolicy) -> None:
        self.twin = twin
        self.twin_name = twin.name
        self.config = config
        self.policy = policy
        self.worker = DeliveryWorker(self)
        self._hooks: dict[str, dict[str, Any]] = {}
        self._by_event: dict[str, list[dict[str, Any]]] = {}
        self._loaded = -_REFRESH

    # -- where state lives (both may be replaced in a forked worker process) ----------------

    @property
    def store(self) -> Store:
        semantics = self.twin.semantics
        assert semantics is not None, "webhooks need a twin that keeps state"
        return semantics.store

    @property
    def clock(self) -> TwinClock:
        auth = self.twin.auth
        return auth.clock if auth is not None else TwinClock(self.store, self.twin_name)

    # -- the registry as the request path sees it --------------------------------------------

    def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._loaded < _REFRESH:
            return
        with self.store.transaction(self.twin_name, write=False) as tx:
            records = tx.list(WEBHOOKS_FAMILY, parent=None).items
        self._hooks = {str(r["id"]): r for r in records}
        by_event: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            if record.get("verified") and record.get("active", True):
                for event in record.get("events", ()):
                    by_event.setdefault(event, []).append(record)
        self._by_event = by_event
        self._loaded = now
        if records and not self.worker.running():
            # A restarted or forked process picks up the retries its store still holds.
            self.worker.retries_pending = True
            self.worker.start()

    def wants(self, events: Iterable[str]) -> bool:
        """Whether any verified webhook listens to one of ``events`` (cheap: a registry
        copy at most a second old)."""
        self._refresh()
        by_event = self._by_event
        return any(event in by_event for event in events)

    def emit(self, event: str, obj: Any, lane: str) -> None:
        """Queue ``event`` about ``obj`` for its subscribers; returns at once."""
        self._refresh()
        hooks = self._by_event.get(event)
        if hooks:
            self.worker.submit(Job(event, obj, lane, list(hooks)))

    def changed(
        self,
        family: str,
        kind: str,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        key: str,
    ) -> None:
        """A write changed ``family``'s item ``key`` (``kind``: create, modify, delete):
        raise the events the profile ties to that."""
        self._refresh()
        for trigger in self.config.triggers_for(family, kind):
            if trigger.event not in self._by_event or not trigger.matches(before, after):
                continue
            subject = after if kind != "delete" else before
            if subject is None:
                continue
            target = self._object_for(trigger, family, key, subject)
            if target is not None:
                self.emit(trigger.event, target[1], target[0])

    def _object_for(
        self, trigger: Trigger, family: str, key: str, subject: Mapping[str, Any]
    ) -> tuple[str, Any] | None:
        related = trigger.related
        if related is None:
            return f"{family}:{key}", dict(subject)
        value = subject.get(related.key_field)
        if value is None:
            return None
        with self.store.transaction(self.twin_name, write=False) as tx:
            item = tx.get(related.family, str(value))
        return (f"{related.family}:{value}", item) if item is not None else None

    # -- what the worker asks -------------------------------------------------------------

    def file(self, jobs: list[Job]) -> list[dict[str, Any]]:
        """File new deliveries (one transaction for a batch of events)."""
        records: list[dict[str, Any]] = []
        with self.store.transaction(self.twin_name) as tx:
            now = self.clock.now_in(tx)
            for job in jobs:
                for hook in job.hooks:
                    ident = tx.next_id(DELIVERIES_FAMILY)
                    record = {
                        "key": str(ident),
                        "id": ident,
                        "webhook": hook["id"],
                        "event": job.event,
                        "lane": job.lane,
                        "object": job.obj,
                        "state": "pending",
                        "tries": 0,
                        "attempts": [],
                        "created": now,
                        "created_at": iso(now),
                        "next": None,
                    }
                    tx.put(DELIVERIES_FAMILY, record["key"], record, parent=str(hook["id"]))
                    records.append(record)
        return records

    def request_for(self, record: Mapping[str, Any]) -> tuple[str, dict[str, str], bytes] | None:
        """URL, headers and body of a delivery, from the webhook as it is now; None when the
        webhook is gone or no longer verified (unverified webhooks receive nothing)."""
        self._refresh()
        hook = self._hooks.get(str(record["webhook"]))
        if hook is None or not hook.get("verified"):
            self._refresh(force=True)
            hook = self._hooks.get(str(record["webhook"]))
        if hook is None or not hook.get("verified"):
            self.record_attempt(record, None, _UNVERIFIED, 0.0, False)
            return None
        body = encode_body(receiver_of(hook), record.get("object"))
        config = self.config
        headers = {
            "content-type": "application/json",
            config.event_header: str(record["event"]),
            config.signature_header: signature_of(config, str(hook["secret_token"]), body),
            config.delivery_header: str(record["id"]),
        }
        return str(hook["callback_url"]), headers, body

    def record_attempt(
        self,
        record: Mapping[str, Any],
        status: int | None,
        error: str | None,
        elapsed_ms: float,
        automatic: bool,
    ) -> None:
        self.record_attempts([(record, status, error, elapsed_ms, automatic)])

    def record_attempts(self, results: list[Outcome]) -> None:
        """Log attempts (one transaction for a batch) and decide what comes next for
        each: delivered on any 2xx; otherwise the next retry of the schedule, or failed
        when it is exhausted."""
        with self.store.transaction(self.twin_name) as tx:
            now = self.clock.now_in(tx)
            for record, status, error, elapsed_ms, automatic in results:
                key = str(record["key"])
                current = tx.get(DELIVERIES_FAMILY, key, for_update=True)
                if current is None:  # forgotten by a reset meanwhile
                    continue
                current["attempts"].append(
                    {"at": iso(now), "status": status, "error": error, "ms": round(elapsed_ms, 2)}
                )
                if status is not None and 200 <= status < 300:
                    current["state"], current["next"] = "delivered", None
                elif automatic and error != _UNVERIFIED:
                    tries = int(current.get("tries", 0)) + 1
                    current["tries"] = tries
                    schedule = self.config.retry_after
                    if tries <= len(schedule):
                        base = current["created"] if self.config.retry_from == "event" else now
                        current["state"] = "retrying"
                        current["next"] = base + schedule[tries - 1]
                        self.worker.retries_pending = True
                    else:
                        current["state"], current["next"] = "failed", None
                else:
                    current["state"], current["next"] = "failed", None
                tx.put(DELIVERIES_FAMILY, key, current, parent=str(current["webhook"]))

    def claim_due(self) -> int:
        """Hand every retry the twin clock has reached to the worker; returns how many.

        Runs when the clock is moved (so advancing it past a retry sends the retry) and
        from the worker about once a second while retries are pending."""
        claimed: list[dict[str, Any]] = []
        with self.store.transaction(self.twin_name) as tx:
            now = self.clock.now_in(tx)
            waiting = tx.list(DELIVERIES_FAMILY, parent=None, filters={"state": "retrying"})
            for item in waiting.items:
                if item.get("next") is None or item["next"] > now:
                    continue
                record = tx.get(DELIVERIES_FAMILY, str(item["key"]), for_update=True)
                if record is None or record.get("state") != "retrying":
                    continue  # another process claimed it first
                record["state"] = "sending"
                tx.put(DELIVERIES_FAMILY, str(record["key"]), record, parent=str(record["webhook"]))
                claimed.append(record)
        self.worker.retries_pending = waiting.total > len(claimed)
        for record in claimed:
            self.worker.submit(Attempt(record))
        return len(claimed)

    # -- admin ----------------------------------------------------------------------------

    def register(self, payload: Any) -> dict[str, Any]:
        fields = check_fields(self.config, self.policy, payload, partial=False)
        record = new_record(fields, self.clock.now())
        self._verify_into(record)
        with self.store.transaction(self.twin_name) as tx:
            tx.put(WEBHOOKS_FAMILY, record["key"], record)
        self._refresh(force=True)
        return _public(record)

    def listing(self) -> list[dict[str, Any]]:
        self._refresh(force=True)
        return [_public(r) for r in self._hooks.values()]

    def get(self, ident: str) -> dict[str, Any]:
        return _public(self._record(ident))

    def update(self, ident: str, payload: Any) -> dict[str, Any]:
        """Change a webhook; a new callback URL must be verified again (drchrono)."""
        fields = check_fields(self.config, self.policy, payload, partial=True)
        record = self._record(ident)
        moved = "callback_url" in fields and fields["callback_url"] != record["callback_url"]
        record.update(fields)
        if moved:
            self._verify_into(record)
        self._save(record)
        return _public(record)

    def delete(self, ident: str) -> None:
        self._record(ident)
        with self.store.transaction(self.twin_name) as tx:
            tx.delete(WEBHOOKS_FAMILY, ident)
            for item in tx.list(DELIVERIES_FAMILY, parent=ident).items:
                tx.delete(DELIVERIES_FAMILY, str(item["key"]))
        self._refresh(force=True)

    def verify(self, ident: str) -> dict[str, Any]:
        record = self._record(ident)
        self._verify_into(record)
        self._save(record)
        return _public(record)

    def ping(self, ident: str) -> dict[str, Any]:
        """A PING delivery to one verified webhook (drchrono's "Ping webhook" button)."""
        record = self._record(ident)
        if not record.get("verified"):
            raise WebhookError(f"webhook {ident} is not verified, so it receives nothing", 409)
        filed = self.file([Job(self.config.ping_event, {}, "ping", [record])])
        self.worker.submit(Attempt(filed[0], automatic=False))
        return _delivery_view(filed[0])

    def deliveries(self, ident: str) -> list[dict[str, Any]]:
        self._record(ident)
        with self.store.transaction(self.twin_name, write=False) as tx:
            items = tx.list(DELIVERIES_FAMILY, parent=ident).items
        return [_delivery_view(item) for item in items]

    def redeliver(self, ident: str, delivery: str) -> dict[str, Any]:
        """Send a filed delivery again by hand (drchrono's "redeliver" button)."""
        hook = self._record(ident)
        if not hook.get("verified"):
            raise WebhookError(f"webhook {ident} is not verified, so it receives nothing", 409)
        with self.store.transaction(self.twin_name) as tx:
            record = tx.get(DELIVERIES_FAMILY, delivery, for_update=True)
            if record is None or str(record.get("webhook")) != ident:
                raise WebhookError(f"webhook {ident} has no delivery {delivery}", 404)
            if record["state"] in ("pending", "sending"):
                raise WebhookError(f"delivery {delivery} is being sent", 409)
            record["state"], record["next"] = "sending", None
            tx.put(DELIVERIES_FAMILY, delivery, record, parent=ident)
        self.worker.submit(Attempt(record, automatic=False))
        return _delivery_view(record)

    def _record(self, ident: str) -> dict[str, Any]:
        with self.store.transaction(self.twin_name, write=False) as tx:
            record = tx.get(WEBHOOKS_FAMILY, ident)
        if record is None:
            raise WebhookError(f"no webhook {ident!r}", 404)
        return record

    def _save(self, record: dict[str, Any]) -> None:
        with self.store.transaction(self.twin_name) as tx:
            tx.put(WEBHOOKS_FAMILY, record["key"], record)
        self._refresh(force=True)

    def _verify_into(self, record: dict[str, Any]) -> None:
        outcome = verify_callback(
            self.config,
            self.policy,
            record["callback_url"],
            record["secret_token"],
            self.clock.now(),
        )
        record["verified"] = outcome.pop("verified")
        record["verification"] = outcome


def _public(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "key"}


def _delivery_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """A delivery as the log shows it: state, attempts with status and time, next retry."""
    attempts = record.get("attempts", [])
    last = attempts[-1] if attempts else {}
    return {
        "id": record["id"],
        "event": record["event"],
        "state": record["state"],
        "created_at": record["created_at"],
        "created": record["created"],  # the event's time on the twin clock, in seconds
        "attempts": len(attempts),
        "response_code": last.get("status"),
        "next_attempt_at": iso(record["next"]) if record.get("next") is not None else None,
        "next_attempt": record.get("next"),
        "history": attempts,
        "object": record.get("object"),
    }
