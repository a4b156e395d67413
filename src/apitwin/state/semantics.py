"""Generic resource semantics: create, get, list, replace, update, delete and actions on
the families inferred from the document, remembered in the store.

Everything that can be decided from the document is decided here once per family: the
item schema and its field validators, the envelopes and their synthesized bases, which
query parameters filter and which page, how new ids look. A request then costs one store
transaction plus the JSON work.
"""

from __future__ import annotations

import copy
import logging
import math
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from apitwin.conventions.clock import TwinClock, iso
from apitwin.conventions.filters import ListFilter, compile_list_filter
from apitwin.conventions.pagination import (
    GenericPaging,
    Links,
    Paginator,
    PagingError,
    compile_paginator,
)
from apitwin.engine.context import Reply, RequestContext
from apitwin.engine.operation import CompiledOperation, Rejection, ValidatorCache
from apitwin.schema.validate import CompiledValidator
from apitwin.spec.document import SpecError
from apitwin.state.answers import AnswerView, answer_view
from apitwin.state.envelopes import unwrap_request
from apitwin.state.inference import Envelope, Family
from apitwin.state.schema_view import ObjectView, object_view
from apitwin.state.store import JsonPage, Page, Store, Transaction

if TYPE_CHECKING:
    from apitwin.engine.twin import Twin

__all__ = ["META_FAMILY", "FamilyRuntime", "ResourceSemantics", "Seeder"]

log = logging.getLogger("apitwin")

Handler = Callable[[RequestContext], Reply]
# A twin's own seed data for a family: called inside the seeding transaction instead of
# the synthesized items, so a behaviour can seed items consistent with its other state.
Seeder = Callable[[Transaction, "FamilyRuntime"], None]

_CREATED = re.compile(r"(?i)^(created|creation|date_?created|created_?(at|on|date|time))$")
_UPDATED = re.compile(
    r"(?i)^(updated|modified|last_?modified|updated_?(at|on|date|time)|modified_?(at|on))$"
)
_ID_ATTEMPTS = 16
# Bookkeeping rows kept beside the resources (which families were seeded).
META_FAMILY = "__apitwin__"
SEED_ITEMS = 3
SEED_CHILDREN = 2


def _now(tx: Transaction) -> str:
    """The twin clock's time (conventions/clock.py), read inside the write's own
    transaction: a test that advances ``/__apitwin__/clock`` moves stored times, and what
    ``since`` filters compare them with, without another transaction per request."""
    return iso(time.time() + TwinClock.offset_in(tx))


class FieldValidators(dict[str, "CompiledValidator | None"]):
    """Validators of an item's top-level fields, each built the first time it is needed:
    most fields of most families are never written by a client."""

    def __init__(self, view: ObjectView, validators: ValidatorCache) -> None:
        super().__init__()
        self._view = view
        self._validators = validators

    def __missing__(self, name: str) -> CompiledValidator | None:
        entry = self._view.properties.get(name)
        validator = None if entry is None else self._validators.get(entry[0], entry[1], "response")
        self[name] = validator
        return validator

    def get(self, name: str, default: Any = None) -> CompiledValidator | None:
        return self[name] if name in self._view.properties else default


@dataclass
class FamilyRuntime:
    """One family, compiled: what its handlers need, nothing looked up per request."""

    family: Family
    twin_name: str
    item_view: ObjectView
    item_pointer: str
    item_schema: Any
    item_validator: CompiledValidator | None
    field_validators: FieldValidators
    server_fields: dict[str, str]  # created/updated timestamps
    bases: dict[str, Any] = field(default_factory=dict)  # role -> envelope body base
    answers: dict[str, AnswerView | None] = field(default_factory=dict)  # schema -> view
    filters: dict[str, frozenset[str]] = field(default_factory=dict)  # op id -> query fields
    languages: dict[str, ListFilter] = field(default_factory=dict)  # op id -> filter language
    paginator: Paginator = field(default_factory=lambda: GenericPaging({}))
    id_kind: str = "string"  # integer | uuid | string (inference.ID_KINDS)
    id_text: bool = False  # integer ids written as their digits (the field is a string)
    id_example: Any = None
    id_validators: tuple[CompiledValidator, ...] = ()  # the id field and the path parameter
    id_choices: tuple[Any, ...] = ()  # the path parameter's enum, when it has one
    template: bytes | None = None  # the item client creates start from, as JSON
    parent: FamilyRuntime | None = None

    # -- keys -------------------------------------------------------------------------------

    def accepts_id(self, value: Any) -> bool:
        return all(validator.is_valid(value) for validator in self.id_validators)

    def parent_key(self, params: dict[str, Any]) -> str:
        return "/".join(str(params.get(p, "")) for p in self.family.parent_params)

    def key_of(self, parent: str, ident: Any) -> str:
        return f"{parent}/{ident}" if parent else str(ident)

    def id_from(self, params: dict[str, Any], role: str) -> Any:
        name = self.family.id_params.get(role) or self.family.id_param
        return params.get(name) if name else None

    def missing(self, body: Any) -> list[str]:
        """The fields the profile requires (``required``) that a create or full replace
        leaves out or sends as null, in the profile's order."""
        sent = body if isinstance(body, dict) else {}
        return [
            need.field
            for need in self.family.required
            if sent.get(need.field) is None
            and not (need.unless is not None and sent.get(need.unless) is True)
        ]


class ResourceSemantics:
    """Handlers for every operation that belongs to an inferred family."""

    def __init__(self, twin: Twin, families: list[Family], store: Store, seed: int) -> None:
        self.twin = twin
        self.store = store
        self.seed = seed
        self.runtimes: dict[str, FamilyRuntime] = {}
        self._seeded: set[str] = set()
        self._generation = store.generation(twin.name)  # of the state _seeded describes
        self._checked = 0  # twin.requests when the generation was last asked for
        self.seeding_enabled = True
        self.seeders: dict[str, Seeder] = {}  # family name -> a behaviour's seeder
        by_id = {op.operation_id: op for op in twin.operations}
        self._ops = by_id
        for family in families:
            runtime = self._compile(family, by_id)
            if runtime is not None:
                self.runtimes[family.name] = runtime
        for runtime in self.runtimes.values():
            parent = runtime.family.parent_family
            runtime.parent = self.runtimes.get(parent) if parent else None
        self.handlers: dict[str, Handler] = {}
        index: dict[str, list[tuple[FamilyRuntime, str]]] = {}
        for runtime in self.runtimes.values():
            for role, op_id in runtime.family.operations.items():
                if op_id in by_id:
                    index.setdefault(op_id, []).append((runtime, role))
        for op_id, targets in index.items():
            self.handlers[op_id] = self._dispatcher(by_id[op_id], targets)

    # -- compile ----------------------------------------------------------------------------

    def _compile(self, family: Family, ops: dict[str, CompiledOperation]) -> FamilyRuntime | None:
        doc = self.twin.doc
        envelope = family.item_envelope or family.list_envelope
        if envelope is None:
            return None
        pointer = envelope.item_pointer
        try:
            schema = doc.lookup(pointer)
        except SpecError:
            return None
        view = object_view(doc, schema, pointer)
        validators = self.twin.validators
        runtime = FamilyRuntime(
            family=family,
            twin_name=self.twin.name,
            item_view=view,
            item_pointer=pointer,
            item_schema=schema,
            item_validator=validators.get(schema, pointer, "response"),
            field_validators=FieldValidators(view, validators),
            server_fields={},
        )
        for name in view.properties:
            leaf = view.leaf(name, doc)
            if leaf.get("format") == "date-time" or leaf.get("type") == "string":
                if _CREATED.match(name):
                    runtime.server_fields[name] = "created"
                elif _UPDATED.match(name):
                    runtime.server_fields[name] = "updated"
        if family.id_field and family.id_field in view.properties:
            leaf = view.leaf(family.id_field, doc)
            kind = leaf.get("type")
            numeric = ("integer", "number")  # dnd5e levels are numbers
            if kind in numeric or (isinstance(kind, list) and any(k in kind for k in numeric)):
                runtime.id_kind = "integer"
            elif leaf.get("format") == "uuid":
                runtime.id_kind = "uuid"
            runtime.id_example = leaf.get("example")
        if family.id_kind is not None:  # the profile's word wins over the schema's type
            runtime.id_kind = family.id_kind
            leaf = view.leaf(family.id_field, doc) if family.id_field in view.properties else {}
            runtime.id_text = family.id_kind == "integer" and leaf.get("type") == "string"
        for need in family.required:
            for field_name in (need.field, need.unless):
                if field_name is not None and field_name not in view.properties:
                    raise SpecError(
                        self.twin.name,
                        "/",
                        f"profile resources.families.{family.name}.required: "
                        f"{field_name!r} is not a field of its items",
                    )
        id_checks = [runtime.field_validators.get(family.id_field)]
        get_op = ops.get(family.operations.get("get", ""))
        id_param = family.id_params.get("get") or family.id_param
        for param in get_op.params if get_op is not None else []:
            if param.spec.location == "path" and param.spec.name == id_param:
                id_checks.append(param.validator)
                try:
                    resolved = doc.resolve(param.spec.schema, param.spec.pointer)
                except SpecError:
                    resolved = {}
                if isinstance(resolved, dict) and isinstance(resolved.get("enum"), list):
                    runtime.id_choices = tuple(resolved["enum"])
        runtime.id_validators = tuple(v for v in id_checks if v is not None)
        list_op = ops.get(family.operations.get("list", ""))
        if list_op is not None:
            runtime.paginator = self._paginator(list_op)
            fields = {
                p.spec.name
                for p in list_op.params
                if p.spec.location == "query" and p.spec.name in view.properties
            }
            language = compile_list_filter(
                self.twin.profile.extra.get("filters"),
                list_op.operation_id,
                {p.spec.name for p in list_op.params if p.spec.location == "query"},
                set(view.properties),
            )
            if language is not None:  # conventions/filters.py; its parameters are its own
                runtime.languages[list_op.operation_id] = language
                fields -= language.params
            runtime.filters[list_op.operation_id] = frozenset(fields)
        return runtime

    def _base_for(self, runtime: FamilyRuntime, role: str) -> Any:
        """The envelope's other fields for a role, synthesized on first use and kept: doing
        it for every family at start-up would cost most of the start-up time."""
        if role not in runtime.bases:
            envelope = runtime.family.envelopes.get(role)
            runtime.bases[role] = self._base(envelope) if envelope is not None else None
        return runtime.bases[role]

    def answer_for(self, runtime: FamilyRuntime, role: str) -> AnswerView | None:
        """How items are answered through the role's schema where it is not the item's
        (state/answers.py). A list shows only its own schema's fields (dnd5e lists
        references to the items)."""
        family = runtime.family
        envelope = family.list_envelope if role == "list" else family.envelopes.get(role)
        if envelope is None or envelope.item_pointer == runtime.item_pointer:
            return None
        return self.answer_through(runtime, envelope.item_pointer, project=role == "list")

    def answer_through(
        self, runtime: FamilyRuntime, pointer: str, *, project: bool = False
    ) -> AnswerView | None:
        """How the family's items are answered through the schema at ``pointer`` (also for
        a behaviour's own answers, such as Discourse's latest topics); compiled on first
        use and kept, like the envelope bases."""
        key = f"{pointer} {project}"
        if key not in runtime.answers:
            view = None
            try:
                schema = self.twin.doc.lookup(pointer)
            except SpecError:
                schema = None
            if schema is not None:
                synthesizer = self.twin.synthesizer
                view = answer_view(
                    self.twin.doc,
                    self.twin.validators,
                    lambda: synthesizer.generate(schema, pointer),
                    runtime.item_view,
                    schema,
                    pointer,
                    project=project,
                )
            runtime.answers[key] = view
        return runtime.answers[key]

    def _base(self, envelope: Envelope) -> Any:
        if envelope.key is None:
            return None
        doc = self.twin.doc
        try:
            schema = doc.lookup(envelope.schema_pointer)
        except SpecError:
            return None
        value = self.twin.synthesizer.generate(schema, envelope.schema_pointer)
        return value if isinstance(value, dict) else None

    def _paginator(self, op: CompiledOperation) -> Paginator:
        """The list operation's paging: the profile's style where the operation declares
        its parameters (conventions/pagination.py), else the generic one."""
        doc = self.twin.doc
        schemas: dict[str, dict[str, Any]] = {}
        for param in op.params:
            if param.spec.location != "query" or param.spec.name in schemas:
                continue
            try:
                schema = doc.resolve(param.spec.schema, param.spec.pointer)
            except SpecError:
                schema = {}
            schemas[param.spec.name] = schema if isinstance(schema, dict) else {}
        config = self.twin.profile.extra.get("pagination")
        try:
            return compile_paginator(config if isinstance(config, dict) else None, schemas)
        except ValueError as exc:
            raise SpecError(self.twin.name, "/", f"profile pagination: {exc}") from None

    # -- dispatch ---------------------------------------------------------------------------

    def _dispatcher(
        self, op: CompiledOperation, targets: list[tuple[FamilyRuntime, str]]
    ) -> Handler:
        if len(targets) == 1:
            runtime, role = targets[0]
            return self._handler(op, runtime, role)
        choices = [
            (rt.family.selectors.get(role, {}), self._handler(op, rt, role)) for rt, role in targets
        ]

        def choose(ctx: RequestContext) -> Reply:
            for selector, handler in choices:
                if all(str(ctx.params.get(k)) == v for k, v in selector.items()):
                    return handler(ctx)
            raise Rejection(404, "no such resource")

        return choose

    def _handler(self, op: CompiledOperation, runtime: FamilyRuntime, role: str) -> Handler:
        if runtime.family.singleton:
            if role == "get":
                return lambda ctx: self._singleton_get(ctx, op, runtime)
            if role in ("replace", "update"):
                return lambda ctx: self._singleton_write(ctx, op, runtime, role)
        table: dict[str, Callable[[RequestContext, CompiledOperation, FamilyRuntime], Reply]] = {
            "list": self._list,
            "create": self._create,
            "get": self._get,
            "replace": self._replace,
            "update": self._update,
            "delete": self._delete,
        }
        if role in table:
            action = table[role]

            def handle(ctx: RequestContext) -> Reply:
                self.ensure_seeded(runtime)
                return action(ctx, op, runtime)

            return handle

        def act(ctx: RequestContext) -> Reply:
            self.ensure_seeded(runtime)
            return self._action(ctx, op, runtime, role)

        return act

    # -- seeding ----------------------------------------------------------------------------

    def ensure_seeded(self, runtime: FamilyRuntime) -> None:
        """Give a family its seed items the first time it is used (once per state).

        Runs in a transaction of its own, before the request's. Writing the "seeding" row
        first serializes seeders across processes sharing a store (SQLite's write lock,
        PostgreSQL's row lock), so two processes never seed one family twice.
        """
        self._check_generation()
        name = runtime.family.name
        if name in self._seeded:
            return
        if runtime.parent is not None:
            self.ensure_seeded(runtime.parent)
        if self.seeding_enabled:
            with self.store.transaction(self.twin.name) as tx:
                tx.put(META_FAMILY, "seeding", {"seed": self.seed})
                marker = f"seeded:{name}"
                if tx.get(META_FAMILY, marker) is None:
                    self._seed_family(tx, runtime)
                    tx.put(META_FAMILY, marker, {"seed": self.seed})
        self._seeded.add(name)

    def ensure_all_seeded(self, runtimes: Iterable[FamilyRuntime]) -> None:
        """``ensure_seeded`` for each of ``runtimes``, in order, asking the store about a
        clear once (a behaviour that owns many families calls this on every request)."""
        self._check_generation()
        seeded = self._seeded
        for runtime in runtimes:
            if runtime.family.name not in seeded:
                self.ensure_seeded(runtime)

    def _seed_family(self, tx: Transaction, runtime: FamilyRuntime) -> None:
        seeder = self.seeders.get(runtime.family.name)
        if seeder is not None:
            seeder(tx, runtime)
            return
        if runtime.family.singleton:
            return
        parents = [""]
        if runtime.parent is not None:
            parent_items = tx.list(runtime.parent.family.name, parent=None, limit=SEED_ITEMS).items
            parents = [
                runtime.parent.key_of("", item.get(runtime.parent.family.id_field, ""))
                for item in parent_items
                if runtime.parent.family.id_field in item
            ]
            if len(runtime.family.parent_params) != 1:
                parents = []
        count = SEED_ITEMS if runtime.parent is None else SEED_CHILDREN
        for parent in parents:
            examples = list(self._example_items(runtime))
            for index in range(count):
                body = examples[index] if index < len(examples) else {}
                try:
                    self._new(
                        tx, runtime, parent, body, trusted=index < len(examples), seeding=True
                    )
                except Rejection:
                    continue

    def _example_items(self, runtime: FamilyRuntime) -> Iterable[dict[str, Any]]:
        """Items from the document's own examples that are valid items (seed data)."""
        seen: set[str] = set()
        for role in ("get", "list"):
            op = self._ops.get(runtime.family.operations.get(role, ""))
            envelope = runtime.family.envelopes.get(role)
            if op is None or envelope is None:
                continue
            media = op.responder.json_media()
            if media is None:
                continue
            from apitwin.spec.operations import NO_EXAMPLE

            if media.example is NO_EXAMPLE:
                continue
            value = media.example
            if envelope.key is not None:
                value = value.get(envelope.key) if isinstance(value, dict) else None
            candidates = value if role == "list" and isinstance(value, list) else [value]
            for item in candidates:
                if not isinstance(item, dict):
                    continue
                if runtime.item_validator is not None and not runtime.item_validator.is_valid(item):
                    continue
                marker = str(item.get(runtime.family.id_field, id(item)))
                if marker not in seen:
                    seen.add(marker)
                    yield item

    # -- the resource itself ------------------------------------------------------------------

    def _new(
        self,
        tx: Transaction,
        runtime: FamilyRuntime,
        parent: str,
        body: Any,
        *,
        trusted: bool = False,
        seeding: bool = False,
    ) -> dict[str, Any]:
        """Store a new item: the client's valid fields over a synthesized item.

        Ids: an example item keeps its own; a client may choose ids that are not
        read-only (names, slugs); seed items take the document's example id while it is
        free (so the documented examples of path parameters find a resource); otherwise
        the id is generated in the field's type and format.
        """
        family = runtime.family
        serial = tx.next_id(family.name)
        if trusted and isinstance(body, dict):
            resource = copy.deepcopy(body)
        else:
            resource = self._fresh_item(runtime, serial, seeding)
            self._merge(runtime, resource, body)
            if runtime.server_fields:
                now = _now(tx)
                for name in runtime.server_fields:
                    resource[name] = now
        id_field = family.id_field
        ident: Any = resource.get(id_field) if trusted else None
        if (
            ident is None
            and isinstance(body, dict)
            and id_field in body
            and id_field not in runtime.item_view.read_only
        ):
            ident = body[id_field]
        chosen = ident is not None
        if ident is None and seeding:
            candidate = resource.get(id_field)
            validator = runtime.field_validators.get(id_field)
            if runtime.id_choices and not runtime.accepts_id(candidate):
                candidate = self._new_id(runtime, serial, candidate)
            if (
                candidate is not None
                and _fits_kind(runtime, candidate)
                and (validator is None or validator.is_valid(candidate))
                and runtime.accepts_id(candidate)
                and tx.get(family.name, runtime.key_of(parent, candidate)) is None
            ):
                ident = candidate
        for _ in range(_ID_ATTEMPTS):
            if ident is not None:
                break
            ident = self._new_id(runtime, serial, resource.get(id_field))
            if tx.get(family.name, runtime.key_of(parent, ident)) is not None:
                ident, serial = None, tx.next_id(family.name)
        if ident is None:  # every id the document allows is taken (an enum of ids)
            raise Rejection(409, f"no free id left for a new {_singular(family.name)}")
        if id_field:
            resource[id_field] = ident
        key = runtime.key_of(parent, ident)
        if chosen and tx.get(family.name, key) is not None:
            raise Rejection(409, f"{_singular(family.name)} {ident} already exists")
        tx.put(family.name, key, resource, parent=parent)
        return resource

    def _check_generation(self) -> None:
        """Forget what was seeded when the state was cleared since, maybe by another
        process. Asked once per request: a behaviour seeding twenty families for one
        request asks the store once (with SQLite, a statement each time), and a clear
        made during a request is seen by the next one, as a clear made a moment later
        would be. Outside requests (no app, or calls between them) it is asked every
        time."""
        twin = self.twin
        serial = twin.requests
        if twin.serving and serial == self._checked:
            return
        generation = self.store.generation(self.twin.name)
        if generation != self._generation:
            self._seeded.clear()
            self._generation = generation
        self._checked = serial

    def _fresh_item(self, runtime: FamilyRuntime, serial: int, seeding: bool) -> dict[str, Any]:
        """A schema-valid item to merge a create into. Seed items are synthesized one by
        one so that they differ; client creates copy one item synthesized per family,
        since synthesis costs most of a create."""
        if seeding or runtime.template is None:
            value = self.twin.synthesizer.generate(
                runtime.item_schema, runtime.item_pointer, name=f"{runtime.family.name}#{serial}"
            )
            item = value if isinstance(value, dict) else {}
            if runtime.template is None and not seeding:
                runtime.template = orjson.dumps(item)
            return item
        copied: dict[str, Any] = orjson.loads(runtime.template)  # cheaper than a deepcopy
        return copied

    def _new_id(self, runtime: FamilyRuntime, serial: int, synthesized: Any) -> Any:
        """A fresh id valid for both the item's id field and the path parameter naming it."""
        if runtime.id_kind == "integer":
            return str(serial) if runtime.id_text else serial
        if runtime.family.id_kind == "uuid":  # declared: no other form will do
            return self._uuid(runtime, serial)
        for candidate in self._id_candidates(runtime, serial, synthesized):
            if runtime.accepts_id(candidate):
                return candidate
        return str(serial)

    def _id_candidates(
        self, runtime: FamilyRuntime, serial: int, synthesized: Any
    ) -> Iterable[Any]:
        name = runtime.family.name
        if runtime.id_choices:
            yield runtime.id_choices[(serial - 1) % len(runtime.id_choices)]
        yield self._uuid(runtime, serial)
        yield f"104.{131 + serial // 65536 % 100}.{serial // 256 % 256}.{serial % 256}"
        yield f"2604:a880:800:10::{serial:x}"
        base = synthesized if isinstance(synthesized, str) and synthesized else name
        yield f"{base}-{serial}"
        if re.fullmatch(r"[0-9a-f]+", base):
            digest = uuid.uuid5(uuid.NAMESPACE_URL, f"{name}:{serial}").hex
            yield (digest * (len(base) // 32 + 1))[: len(base)]
        yield str(serial)

    def _uuid(self, runtime: FamilyRuntime, serial: int) -> str:
        name = f"apitwin:{runtime.twin_name}:{runtime.family.name}:{self.seed}:{serial}"
        return str(uuid.uuid5(uuid.NAMESPACE_URL, name))

    def _merge(self, runtime: FamilyRuntime, resource: dict[str, Any], body: Any) -> None:
        """Copy the client's fields that are valid as the stored item's fields."""
        if not isinstance(body, dict):
            return
        for name, value in body.items():
            if name not in runtime.item_view.properties or name == runtime.family.id_field:
                continue
            validator = runtime.field_validators[name]
            if validator is None or validator.is_valid(value):
                resource[name] = value

    # -- handlers -----------------------------------------------------------------------------

    def _check_parent(self, tx: Transaction, runtime: FamilyRuntime, params: dict[str, Any]) -> str:
        parent_key = runtime.parent_key(params)
        parent = runtime.parent
        if (
            parent is not None
            and parent_key
            and (
                tx.get(parent.family.name, parent_key) is None
                and tx.get(parent.family.name, parent_key.rsplit("/", 1)[-1]) is None
            )
        ):
            raise Rejection(404, f"{parent.family.name} {parent_key} not found")
        return parent_key

    def _item_body(self, runtime: FamilyRuntime, role: str, resource: Any, sent: Any = None) -> Any:
        """The answer of a role around an item; ``sent`` is the request's body."""
        answer = self.answer_for(runtime, role)
        if answer is not None:
            resource = answer.apply(resource, sent)
        envelope = runtime.family.envelopes.get(role) or runtime.family.item_envelope
        if envelope is None or envelope.key is None:
            return resource
        base = self._base_for(runtime, role)
        return (
            {**base, envelope.key: resource} if isinstance(base, dict) else {envelope.key: resource}
        )

    def _list(self, ctx: RequestContext, op: CompiledOperation, runtime: FamilyRuntime) -> Reply:
        family = runtime.family
        params = ctx.params
        paginator = runtime.paginator
        language = runtime.languages.get(op.operation_id)
        try:
            window = paginator.window(params)
            selection = language.select(ctx.parts.query) if language is not None else None
        except PagingError as refused:  # filter languages refuse with a PagingError too
            return self._refusal(refused)
        filters = {
            name: params[name]
            for name in runtime.filters.get(op.operation_id, ())
            if name in params and isinstance(params[name], str | int | float | bool)
        }
        # Whole stored items go out as stored JSON, unparsed; items answered through the
        # list's own schema (answers.py) and pages a filter language selects are built
        # from parsed items.
        answer = self.answer_for(runtime, "list")
        whole = answer is None and selection is None
        with self.store.transaction(self.twin.name, write=False) as tx:
            parent = self._check_parent(tx, runtime, params)
            lister: Callable[..., Page | JsonPage] = tx.list_json if whole else tx.list
            if selection is not None:
                lister = selection.over(tx)
            page = lister(
                family.name,
                parent=parent if family.parent_params else "",
                filters=filters or None,
                offset=window.offset,
                limit=window.take,
            )
        items: list[Any]
        if isinstance(page, JsonPage):
            items = [orjson.Fragment(item) for item in page.items]
        else:
            items = page.items
            if answer is not None:
                items = [answer.apply(item) for item in items]
        envelope = family.list_envelope
        key = envelope.key if envelope is not None else None
        base = self._base_for(runtime, "list") if key is not None else None
        links = Links(ctx.origin, ctx.path, ctx.parts.query)
        try:
            body = paginator.body(base, key, items, page.total, window, links)
        except PagingError as refused:
            return self._refusal(refused)
        status, headers, payload = op.responder.reply_json(body)
        return Reply(status, headers, payload, fresh_for=math.inf)  # stored state alone

    def _refusal(self, refused: PagingError) -> Reply:
        """A refused page in the API's error shape, with the profile's code for it if any."""
        codes = self.twin.profile.error.get("error_codes") or {}
        code = refused.code if refused.code in codes else None
        body, media_type = self.twin.errors.render(refused.status, refused.message, code)
        return Reply(refused.status, [(b"content-type", media_type.encode("latin-1"))], body)

    def _create(self, ctx: RequestContext, op: CompiledOperation, runtime: FamilyRuntime) -> Reply:
        body = unwrap_request(
            ctx.request.body,
            runtime.family.request_keys.get("create") or runtime.family.request_envelope_key,
        )
        _check_required(runtime, body)
        with self.store.transaction(self.twin.name) as tx:
            parent = self._check_parent(tx, runtime, ctx.params)
            resource = self._new(tx, runtime, parent, body)
        status, headers, payload = op.responder.reply_json(
            self._item_body(runtime, "create", resource, body)
        )
        return Reply(status, headers, payload)

    def _load(
        self,
        tx: Transaction,
        runtime: FamilyRuntime,
        ctx: RequestContext,
        role: str,
        *,
        lock: bool = False,
    ) -> tuple[str, dict[str, Any]]:
        parent = self._check_parent(tx, runtime, ctx.params)
        ident = runtime.id_from(ctx.params, role)
        key = runtime.key_of(parent, ident)
        resource = tx.get(runtime.family.name, key, for_update=lock)
        if resource is None:
            raise Rejection(404, f"{_singular(runtime.family.name)} {ident} not found")
        return key, resource

    def _get(self, ctx: RequestContext, op: CompiledOperation, runtime: FamilyRuntime) -> Reply:
        # The stored JSON goes out as it is (inside its envelope): parsing it only to
        # serialize it again would cost most of the handler's time on large items.
        with self.store.transaction(self.twin.name, write=False) as tx:
            parent = self._check_parent(tx, runtime, ctx.params)
            ident = runtime.id_from(ctx.params, "get")
            stored = tx.get_json(runtime.family.name, runtime.key_of(parent, ident))
        if stored is None:
            raise Rejection(404, f"{_singular(runtime.family.name)} {ident} not found")
        status, headers, payload = op.responder.reply_json(
            self._item_body(runtime, "get", orjson.Fragment(stored))
        )
        return Reply(status, headers, payload, fresh_for=math.inf)  # stored state alone

    def _write(
        self,
        ctx: RequestContext,
        op: CompiledOperation,
        runtime: FamilyRuntime,
        role: str,
        replace: bool,
    ) -> Reply:
        body = unwrap_request(
            ctx.request.body,
            runtime.family.request_keys.get(role) or runtime.family.request_envelope_key,
        )
        with self.store.transaction(self.twin.name) as tx:
            key, current = self._load(tx, runtime, ctx, role, lock=True)
            if replace:  # after the 404 for an item that does not exist
                _check_required(runtime, body)
            updated = copy.deepcopy(current)
            if replace and isinstance(body, dict):
                for name in list(updated):
                    if (
                        name in body
                        or name in runtime.item_view.required
                        or name in runtime.server_fields
                        or name == runtime.family.id_field
                        or name in runtime.item_view.read_only
                    ):
                        continue
                    del updated[name]
            self._merge(runtime, updated, body)
            if "updated" in runtime.server_fields.values():
                now = _now(tx)
                for name, kind in runtime.server_fields.items():
                    if kind == "updated":
                        updated[name] = now
            if runtime.item_validator is not None and not runtime.item_validator.is_valid(updated):
                updated = copy.deepcopy(current)
                self._merge(runtime, updated, body)
                if not runtime.item_validator.is_valid(updated):
                    updated = current
            parent = runtime.parent_key(ctx.params)
            tx.put(runtime.family.name, key, updated, parent=parent)
        status, headers, payload = op.responder.reply_json(
            self._item_body(runtime, role, updated, body)
        )
        return Reply(status, headers, payload)

    def _replace(self, ctx: RequestContext, op: CompiledOperation, runtime: FamilyRuntime) -> Reply:
        return self._write(ctx, op, runtime, "replace", replace=True)

    def _update(self, ctx: RequestContext, op: CompiledOperation, runtime: FamilyRuntime) -> Reply:
        return self._write(ctx, op, runtime, "update", replace=False)

    def _delete(self, ctx: RequestContext, op: CompiledOperation, runtime: FamilyRuntime) -> Reply:
        with self.store.transaction(self.twin.name) as tx:
            key, _ = self._load(tx, runtime, ctx, "delete")
            tx.delete(runtime.family.name, key)
            for child in self.runtimes.values():
                if child.parent is runtime:
                    for item in tx.list(child.family.name, parent=key).items:
                        tx.delete(
                            child.family.name, child.key_of(key, item.get(child.family.id_field))
                        )
        status, headers, payload = op.responder.render(ctx.accept)
        return Reply(status, list(headers), payload)  # the documented status, 200 or 204

    def _action(
        self, ctx: RequestContext, op: CompiledOperation, runtime: FamilyRuntime, role: str
    ) -> Reply:
        with self.store.transaction(self.twin.name, write=False) as tx:
            if runtime.family.id_param or runtime.family.id_params.get(role):
                self._load(tx, runtime, ctx, role)
        status, headers, payload = op.responder.render(ctx.accept)
        return Reply(status, list(headers), payload)

    def _singleton_get(
        self, ctx: RequestContext, op: CompiledOperation, runtime: FamilyRuntime
    ) -> Reply:
        with self.store.transaction(self.twin.name) as tx:
            resource = self._singleton(tx, runtime, op)
        status, headers, payload = op.responder.reply_json(
            self._item_body(runtime, "get", resource)
        )
        return Reply(status, headers, payload)

    def _singleton(
        self, tx: Transaction, runtime: FamilyRuntime, op: CompiledOperation
    ) -> dict[str, Any]:
        resource = tx.get(runtime.family.name, "")
        if resource is None:
            examples = list(self._example_items(runtime))
            if examples:
                resource = copy.deepcopy(examples[0])
            else:
                value = self.twin.synthesizer.generate(runtime.item_schema, runtime.item_pointer)
                resource = value if isinstance(value, dict) else {}
            tx.put(runtime.family.name, "", resource)
        return resource

    def _singleton_write(
        self, ctx: RequestContext, op: CompiledOperation, runtime: FamilyRuntime, role: str
    ) -> Reply:
        body = unwrap_request(
            ctx.request.body,
            runtime.family.request_keys.get(role) or runtime.family.request_envelope_key,
        )
        with self.store.transaction(self.twin.name) as tx:
            current = self._singleton(tx, runtime, op)
            updated = copy.deepcopy(current)
            self._merge(runtime, updated, body)
            if runtime.item_validator is not None and not runtime.item_validator.is_valid(updated):
                updated = current
            tx.put(runtime.family.name, "", updated)
        status, headers, payload = op.responder.reply_json(
            self._item_body(runtime, role, updated, body)
        )
        return Reply(status, headers, payload)

    # -- admin ------------------------------------------------------------------------------

    def seed_all(self) -> None:
        """Seed every family now (POST /__apitwin__/seed), even on a twin started empty."""
        self._seeded.clear()
        enabled, self.seeding_enabled = self.seeding_enabled, True
        try:
            for runtime in self.runtimes.values():
                self.ensure_seeded(runtime)
        finally:
            self.seeding_enabled = enabled

    def forget_seeding(self) -> None:
        self._seeded.clear()


def _check_required(runtime: FamilyRuntime, body: Any) -> None:
    """A create or full replace without a field the profile requires is a 400."""
    missing = runtime.missing(body)
    if missing:
        raise Rejection(400, "; ".join(f"{name}: This field is required." for name in missing))


def _fits_kind(runtime: FamilyRuntime, candidate: Any) -> bool:
    """Whether a seed item's own id has the form the profile declares for the family."""
    declared = runtime.family.id_kind
    if declared == "integer":
        if runtime.id_text:
            return isinstance(candidate, str) and candidate.isascii() and candidate.isdigit()
        return isinstance(candidate, int) and not isinstance(candidate, bool)
    if declared == "uuid":
        try:
            uuid.UUID(str(candidate))
        except ValueError:
            return False
    return True


def _singular(name: str) -> str:
    word = name.rsplit(".", 1)[-1].replace("-", " ").replace("_", " ")
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word
