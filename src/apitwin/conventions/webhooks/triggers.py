"""Events from API writes: the handlers of the families a profile's triggers name are
wrapped so that a successful create, replace/update or delete tells the hub what changed.

Wrapping happens once at start-up, after any behaviour module installed its handlers, so
a twin's own handlers raise events like the generic ones. While nobody listens to a
family's events a wrapped handler costs one check of an in-memory registry copy; when
somebody does, it reads the item before and after the write (to see what changed, and to
send what the API's GET returns).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from apitwin.engine.context import Handler, Reply, RequestContext

if TYPE_CHECKING:
    from apitwin.conventions.webhooks.hub import WebhookHub
    from apitwin.engine.twin import Twin
    from apitwin.state.semantics import FamilyRuntime

__all__ = ["install_triggers"]

_KIND_OF_ROLE = {"create": "create", "replace": "modify", "update": "modify", "delete": "delete"}


def install_triggers(twin: Twin, hub: WebhookHub) -> list[str]:
    """Wrap the handlers of every operation whose writes raise an event; returns the
    operationIds wrapped. A trigger naming a family the twin does not have is a profile
    defect."""
    semantics = twin.semantics
    if semantics is None:
        return []
    known = set(semantics.runtimes)
    missing = sorted(hub.config.families() - known)
    if missing:
        raise ValueError(f"webhook triggers name unknown families: {', '.join(missing)}")
    ops = {op.operation_id: op for op in twin.operations}
    owners: dict[str, int] = {}
    for runtime in semantics.runtimes.values():
        for op_id in runtime.family.operations.values():
            owners[op_id] = owners.get(op_id, 0) + 1
    wrapped: list[str] = []
    for runtime in semantics.runtimes.values():
        family = runtime.family.name
        for role, op_id in runtime.family.operations.items():
            kind = _KIND_OF_ROLE.get(role)
            op = ops.get(op_id)
            if kind is None or op is None or op.handler is None or owners[op_id] != 1:
                continue
            triggers = hub.config.triggers_for(family, kind)
            if triggers:
                # The item before the write matters for a delete and for "when" triggers.
                before = kind == "delete" or any(t.field_path for t in triggers)
                events = tuple(t.event for t in triggers)
                op.handler = _wrap(hub, op.handler, runtime, role, kind, events, before)
                wrapped.append(op_id)
    return wrapped


def _wrap(
    hub: WebhookHub,
    inner: Handler,
    runtime: FamilyRuntime,
    role: str,
    kind: str,
    events: tuple[str, ...],
    needs_before: bool,
) -> Handler:
    family = runtime.family.name

    def handle(ctx: RequestContext) -> Reply:
        if not hub.wants(events):
            return inner(ctx)
        key = None if kind == "create" else _key(runtime, ctx.params, role)
        before = _read(hub, family, key) if key is not None and needs_before else None
        reply = inner(ctx)
        if not 200 <= reply.status < 300:
            return reply
        if kind == "create":
            key = _created_key(runtime, ctx.params, reply)
        if key is None:
            return reply
        after = _read(hub, family, key) if kind != "delete" else None
        hub.changed(family, kind, before, after, key)
        return reply

    return handle


def _key(runtime: FamilyRuntime, params: dict[str, Any], role: str) -> str | None:
    ident = runtime.id_from(params, role)
    return None if ident is None else runtime.key_of(runtime.parent_key(params), ident)


def _created_key(runtime: FamilyRuntime, params: dict[str, Any], reply: Reply) -> str | None:
    """The key of the item a create stored, read from its answer (inside the create
    envelope when the API has one)."""
    try:
        body = orjson.loads(reply.body) if reply.body else None
    except orjson.JSONDecodeError:
        return None
    envelope = runtime.family.envelopes.get("create") or runtime.family.item_envelope
    if envelope is not None and envelope.key is not None and isinstance(body, dict):
        body = body.get(envelope.key)
    id_field = runtime.family.id_field
    if not isinstance(body, dict) or not id_field or body.get(id_field) is None:
        return None
    return runtime.key_of(runtime.parent_key(params), body[id_field])


def _read(hub: WebhookHub, family: str, key: str) -> dict[str, Any] | None:
    with hub.store.transaction(hub.twin_name, write=False) as tx:
        return tx.get(family, key)
