"""What every DigitalOcean module shares: one session per request (a store transaction
read at one instant of the twin clock, with due timers settled first), replies in the
document's envelopes, and paging in the profile's style.

Reads cost no write transaction: the earliest time anything is due (an action, a
cluster coming online, a deployment's next phase) is kept in one small record, read first
by a read-only transaction; only when something is due, or a read turns out to need a
write (a default project made on first use), does the request run in a write transaction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from apitwin.behaviours.base import Behaviour, reject
from apitwin.conventions.clock import iso
from apitwin.conventions.pagination import Links, Paginator, PagingError, compile_paginator
from apitwin.engine.context import Handler, Reply, RequestContext
from apitwin.schema.validate import CompiledValidator
from apitwin.state.semantics import ResourceSemantics
from apitwin.state.store import ReadOnlyTransactionError, Transaction

if TYPE_CHECKING:
    from apitwin.engine.twin import Twin

__all__ = [
    "DUE",
    "PENDING",
    "DigitalOcean",
    "Session",
    "Settings",
    "Shared",
    "download",
    "due_timers",
    "note_next_due",
    "schedule",
    "timer",
]

PENDING = "__do_pending__"  # timer id -> when it is due and what it will do
# "next" -> {"at": the earliest due time of PENDING, or None; "queues": PENDING's parents}
DUE = "__do_due__"
_SAFE = frozenset({"GET", "HEAD"})
# Set while a GET handler runs: its session starts read-only.
_reading: ContextVar[bool] = ContextVar("digitalocean_reading", default=False)

# Families whose every item this package writes: seeded by it (consistently with the
# reference data) instead of with synthesized items.
OWNED = (
    "droplets",
    "actions",
    "images",
    "snapshots",
    "tags",
    "account_keys",
    "volumes",
    "domains",
    "domains.records",
    "reserved_ips",
    "floating_ips",
    "firewalls",
    "load_balancers",
    "vpcs",
    "projects",
    "kubernetes_clusters",
    "kubernetes_clusters.node_pools",
    "droplets.actions",
    "volumes.actions",
    "images.actions",
    "reserved_ips.actions",
    "floating_ips.actions",
    "volumes.snapshots",
    "certificates",
    "cdn_endpoints",
    "databases",
    "databases.dbs",
    "databases.users",
    "databases.pools",
    "apps",
    "apps.deployments",
    "monitoring_alerts",
    "uptime_checks",
    "uptime_checks.alerts",
    "registry",
    "account",
)


@dataclass(frozen=True)
class Settings:
    """How long things take on the twin clock (profile key ``digitalocean``)."""

    action_seconds: dict[str, float] = field(default_factory=dict)
    # The document's schema of a tag's name (the tags family's field), checked wherever
    # a request makes tags, whatever schema that request itself declares.
    tag_name: CompiledValidator | None = None

    def delay(self, kind: str) -> float:
        table = self.action_seconds
        return float(table.get(kind, table.get("default", 10)))

    @classmethod
    def from_profile(cls, raw: Any) -> Settings:
        seconds = raw.get("action_seconds", {}) if isinstance(raw, dict) else {}
        if isinstance(seconds, int | float):
            seconds = {"default": seconds}
        return cls({str(k): float(v) for k, v in dict(seconds).items()})


@dataclass
class Session:
    """One request's view of the account: the transaction and the twin's time."""

    tx: Transaction
    now: float
    settings: Settings
    # A read session's answers hold, while nothing is written, until the next timer is
    # due (seconds; math.inf when none is pending): Reply.fresh_for. None in a write
    # session, whose own writes make its answers new anyway.
    fresh_for: float | None = None

    @property
    def stamp(self) -> str:
        return iso(self.now)


def schedule(
    s: Session, ident: str, due: float, effect: str, key: str, params: dict[str, Any] | None = None
) -> None:
    """Run the effect ``effect`` (``Shared.effects``) on ``key`` once the twin clock
    reaches ``due``; keeps the earliest due time current for the read path.

    Timers wait in one queue per delay (``due - s.now``, the parent of the PENDING
    record): a queue's timers are due in the order they were scheduled, since the clock
    never goes back and chained timers start from the due time of the one that fired. So
    what is due is a prefix of each queue, and settling reads those prefixes rather than
    every pending timer."""
    queue = f"{due - s.now:.3f}"
    s.tx.put(
        PENDING,
        ident,
        {"id": ident, "due": due, "effect": effect, "key": key, "params": params or {}},
        parent=queue,
    )
    record = s.tx.get(DUE, "next") or {"at": None, "queues": []}
    # A store from before queues keeps its timers in queue "".
    queues = record.get("queues", [""])
    changed = False
    if queue not in queues:
        record["queues"] = [*queues, queue]
        changed = True
    if record.get("at") is None or due < record["at"]:
        record["at"] = due
        changed = True
    if changed:
        s.tx.put(DUE, "next", record)


def timer(
    s: Session, delay: float, effect: str, key: str, params: dict[str, Any] | None = None
) -> None:
    """A timer that is no action: ``effect`` runs on ``key`` after ``delay`` seconds."""
    schedule(s, f"t{s.tx.next_id(PENDING)}", s.now + delay, effect, key, params)


def due_timers(s: Session, batch: int = 64) -> list[dict[str, Any]]:
    """Pending timers due at ``s.now``, oldest due first: up to ``batch`` from the head
    of each queue (call again until it returns nothing)."""
    record = s.tx.get(DUE, "next")
    queues = None if record is None else record.get("queues")
    if queues is None:  # a store from before queues: every pending timer, once
        pending = s.tx.list(PENDING, parent=None).items
    else:
        pending = [
            item for queue in queues for item in s.tx.list(PENDING, parent=queue, limit=batch).items
        ]
    return sorted((p for p in pending if p["due"] <= s.now), key=lambda p: float(p["due"]))


def note_next_due(s: Session) -> None:
    """Write down when the next timer is due, from the head of each queue, and which
    queues still hold timers."""
    record = s.tx.get(DUE, "next")
    queues = None if record is None else record.get("queues")
    if queues is None:  # a store from before queues: its timers wait in queue ""
        queues = [""]
    kept: list[str] = []
    earliest: float | None = None
    for queue in queues:
        head = s.tx.list(PENDING, parent=queue, limit=1).items
        if head:
            kept.append(queue)
            due = float(head[0]["due"])
            earliest = due if earliest is None else min(earliest, due)
    s.tx.put(DUE, "next", {"at": earliest, "queues": kept})


Settler = Callable[[Session], None]
# What a completed action does to its resource: (session, the resource's key, the
# action's parameters). Returns False when the action could not be carried out.
Effect = Callable[[Session, str, dict[str, Any]], "bool | None"]


@dataclass
class Shared:
    """What the modules share: settings, the settlers run before each request, and the
    effects of actions by ``resource_type:type``."""

    settings: Settings
    settlers: list[Settler] = field(default_factory=list)
    effects: dict[str, Effect] = field(default_factory=dict)
    # What other modules do when a client deletes a droplet (a Kubernetes cluster
    # replaces the node whose droplet it was).
    on_destroy: list[Callable[[Session, dict[str, Any]], None]] = field(default_factory=list)
    # Families this package serves whole, taken from the generic semantics (which then
    # neither serves nor walks them); seeded from here.
    taken: dict[str, Any] = field(default_factory=dict)
    # The runtimes of OWNED in seeding order, found on first use.
    owned: list[Any] | None = None


class DigitalOcean(Behaviour):
    """The base of the DigitalOcean modules: one instance per module, sharing state
    through the store and :class:`Shared`."""

    def __init__(self, twin: Twin, shared: Shared) -> None:
        super().__init__(twin)
        assert twin.semantics is not None
        self.semantics: ResourceSemantics = twin.semantics
        self.shared = shared
        self.settings = shared.settings
        config = twin.profile.extra.get("pagination")
        # Every DigitalOcean list pages alike (page, per_page: 20, at most 200).
        self.paginator: Paginator = compile_paginator(
            config if isinstance(config, dict) else None, {"page": {}, "per_page": {}}
        )

    def install(self) -> None:
        """Bind this module's operations (and effects, seeders)."""
        raise NotImplementedError

    def bind(self, operation_id: str, handler: Handler) -> None:
        """Serve ``operation_id``; a GET (or HEAD) handler's session starts read-only."""
        operation = self.operations.get(operation_id)
        if operation is not None and operation.operation.method in _SAFE:
            handler = _read_first(handler)
        super().bind(operation_id, handler)

    # -- state ------------------------------------------------------------------------------

    def seed(self) -> None:
        """Seed the owned families (once per state) in an order that lets later seeders
        find earlier ones' items."""
        owned = self.shared.owned
        if owned is None:  # every module has installed by the first request
            found = (self.semantics.runtimes.get(n) or self.shared.taken.get(n) for n in OWNED)
            owned = self.shared.owned = [runtime for runtime in found if runtime is not None]
        self.semantics.ensure_all_seeded(owned)

    def session_in(self, tx: Transaction) -> Session:
        """A session on a transaction someone else opened (a seeder's)."""
        assert self.twin.auth is not None
        return Session(tx, self.twin.auth.clock.now_in(tx), self.settings)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """The request's session: read-only in a GET handler while nothing is due, else a
        write transaction with every due timer settled first."""
        self.seed()
        assert self.twin.auth is not None
        clock = self.twin.auth.clock
        store = self.semantics.store
        if _reading.get():
            with store.transaction(self.twin.name, write=False) as tx:
                now = clock.now_in(tx)
                due = tx.get(DUE, "next")
                if due is not None and (due.get("at") is None or due["at"] > now):
                    fresh = math.inf if due.get("at") is None else float(due["at"]) - now
                    yield Session(tx, now, self.settings, fresh)
                    return
        with store.transaction(self.twin.name) as tx:
            session = Session(tx, clock.now_in(tx), self.settings)
            self.settle(session)
            yield session

    def settle(self, s: Session) -> None:
        """Run what is due, then note when the next thing is. A missing note (a store
        written before notes were kept) means "look": everything pending is read once."""
        due = s.tx.get(DUE, "next")
        if due is not None and (due.get("at") is None or due["at"] > s.now):
            return
        for settle in self.shared.settlers:
            settle(s)
        note_next_due(s)

    # -- replies ----------------------------------------------------------------------------

    def reply(self, ctx: RequestContext, body: Any) -> Reply:
        """``body`` with the operation's documented status and headers."""
        status, headers, payload = ctx.operation.responder.reply_json(body)
        return Reply(status, headers, payload)

    def no_content(self, ctx: RequestContext) -> Reply:
        """No body, with the documented status: 204, or 202 for a change that completes
        later (a database resize)."""
        status, headers, payload = ctx.operation.responder.render(ctx.accept)
        return Reply(status if status in (202, 204) else 204, list(headers), b"")

    def stored_page(
        self,
        ctx: RequestContext,
        s: Session,
        family: str,
        key: str,
        filters: dict[str, Any] | None = None,
    ) -> Reply:
        """A page of a stored family read through the store's offset and limit, with the
        store's total: the page costs its own items, not the whole family."""
        try:
            window = self.paginator.window(ctx.params)
        except PagingError as refused:
            raise reject(refused.status, refused.message) from None
        found = s.tx.list(
            family, parent=None, filters=filters, offset=window.offset, limit=window.take
        )
        links = Links(ctx.origin, ctx.path, ctx.parts.query)
        base = {"links": {}, "meta": {"total": found.total}}
        body = self.paginator.body(base, key, found.items, found.total, window, links)
        return self.kept(self.reply(ctx, body), s)

    @staticmethod
    def kept(reply: Reply, s: Session) -> Reply:
        """``reply``, which reads nothing but ``s``'s stored state, may answer the same
        request again until the state changes or the next timer is due."""
        reply.fresh_for = s.fresh_for
        return reply

    def page(
        self, ctx: RequestContext, key: str, items: list[Any], extra: dict[str, Any] | None = None
    ) -> Reply:
        """A page of ``items`` under ``key`` with DigitalOcean's ``links.pages`` and
        ``meta.total``."""
        paginator = self.paginator
        try:
            window = paginator.window(ctx.params)
        except PagingError as refused:
            raise reject(refused.status, refused.message) from None
        end = None if window.take is None else window.offset + window.take
        chunk = items[window.offset : end]
        links = Links(ctx.origin, ctx.path, ctx.parts.query)
        base = {"links": {}, "meta": {"total": len(items)}, **(extra or {})}
        body = paginator.body(base, key, chunk, len(items), window, links)
        return self.reply(ctx, body)


def download(ctx: RequestContext, body: bytes, media_type: str, filename: str) -> Reply:
    """A file as the service sends one: its media type, ``content-disposition:
    attachment`` with the file's name, and the operation's documented headers."""
    _, headers, _ = ctx.operation.responder.reply_json(None)
    kept = [(k, v) for k, v in headers if k.lower() not in (b"content-type", b"content-length")]
    disposition = f'attachment; filename="{filename}"'.encode()
    extra = [(b"content-type", media_type.encode()), (b"content-disposition", disposition)]
    return Reply(200, [*kept, *extra], body)


def _read_first(handler: Handler) -> Handler:
    """Run ``handler`` with a read-only session; should it need to write after all (a
    default VPC or project made on first use, a lazily advanced status), it ran without
    effect, and runs again with a write transaction."""

    def read(ctx: RequestContext) -> Reply:
        token = _reading.set(True)
        try:
            return handler(ctx)
        except ReadOnlyTransactionError:
            pass
        finally:
            _reading.reset(token)
        return handler(ctx)

    return read


def not_found(message: str = "The resource you were accessing could not be found.") -> Exception:
    return reject(404, message)


def unprocessable(message: str) -> Exception:
    return reject(422, message)


def integer_id(value: Any) -> int | None:
    """A path or body id as an integer, None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
