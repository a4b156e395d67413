"""A twin compiled from its document and profile: everything the request path needs."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from apitwin.behaviours import install_behaviour
from apitwin.conventions.auth import TwinAuth
from apitwin.conventions.errors import ErrorFormatter
from apitwin.conventions.param_credentials import read_parameter_credentials
from apitwin.conventions.webhooks import WebhookConfigError, WebhookHub, install_webhooks
from apitwin.engine.operation import CompiledOperation, ValidatorCache, compile_operation
from apitwin.schema.convert import SchemaCompiler
from apitwin.schema.synth import Synthesizer
from apitwin.spec.document import SpecDocument, SpecError
from apitwin.spec.loader import load_document
from apitwin.spec.operations import Operation, read_operations
from apitwin.spec.router import Router
from apitwin.spec.supplement import apply_supplement
from apitwin.state.inference import Family, OverrideError, infer_families
from apitwin.state.memory import MemoryStore
from apitwin.state.semantics import ResourceSemantics
from apitwin.state.store import Store
from apitwin.twins.registry import Profile

__all__ = ["Twin", "TwinOptions", "base_path_of", "build_twin"]

log = logging.getLogger("apitwin")


@dataclass(frozen=True)
class TwinOptions:
    """Settings that come from the command line rather than the profile."""

    seed: int = 0
    max_body_bytes: int = 16 * 1024 * 1024
    empty: bool = False  # start without seed data
    auth: str = "open"  # open: any well-formed credential; strict: only issued ones
    webhook_allow: tuple[str, ...] = ()  # callback hosts besides loopback (--webhook-allow)
    # The profile's rate limits: True as declared, False off, a mapping replaces keys of
    # the profile's policy (conventions/ratelimit.py).
    rate_limits: bool | Mapping[str, Any] = True
    # Answer a repeated GET on unchanged state with its kept reply (engine/reply_cache.py).
    kept_replies: bool = True


def base_path_of(doc: SpecDocument) -> str:
    """The path part of the first server URL, variables filled with their defaults."""
    return _base_of_servers(doc.raw.get("servers"))


def _base_of_servers(servers: object) -> str:
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], dict):
        return ""
    url = str(servers[0].get("url", ""))
    variables = servers[0].get("variables") or {}
    for name, variable in variables.items():
        default = variable.get("default", "") if isinstance(variable, dict) else ""
        url = url.replace("{" + name + "}", str(default))
    path = urlsplit(url).path if "://" in url else url
    return "/" + path.strip("/") if path.strip("/") else ""


@dataclass
class Twin:
    """One API's twin: its document, profile, compiled operations and, when it keeps
    state, the resource semantics that serve its inferred families."""

    profile: Profile
    doc: SpecDocument
    options: TwinOptions
    base_path: str
    router: Router[CompiledOperation]
    errors: ErrorFormatter
    validators: ValidatorCache
    synthesizer: Synthesizer
    operations: list[CompiledOperation] = field(default_factory=list)
    families: list[Family] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    semantics: ResourceSemantics | None = None
    auth: TwinAuth | None = None
    # Operations whose path item or operation names servers of its own (DVP's login at
    # hub.docker.com/v2/users/login beside /api/publisher/analytics/v1): routed by their
    # full path as well, outside the document's base path.
    elsewhere: Router[CompiledOperation] | None = None
    webhooks: WebhookHub | None = None
    # Requests the twin's ASGI app has begun, and how many of them are still being served
    # (server/app.py): the semantics ask the store whether the state was cleared once per
    # request rather than once per family a request uses.
    requests: int = 0
    serving: int = 0

    @property
    def name(self) -> str:
        return self.profile.name

    def is_api_path(self, path: str) -> bool:
        """Whether the document routes ``path`` (as sent, base path included)."""
        base = self.base_path
        if base:
            if not (path == base or path.startswith(base + "/")):
                return False
            path = path[len(base) :] or "/"
        return self.router.match("GET", path) is not None


def _supplement(doc: SpecDocument, name: str) -> None:
    """Merge the profile's supplement (spec/supplement.py) into the document."""
    data = resources.files("apitwin.twins").joinpath("profiles", name)
    try:
        fragment = orjson.loads(data.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise SpecError(name, "/", f"supplement cannot be read: {exc}") from None
    apply_supplement(doc, fragment, name)


def _elsewhere(
    doc: SpecDocument, compiled: list[CompiledOperation], base: str
) -> Router[CompiledOperation] | None:
    """A router for the operations served under another base path than the document's."""
    router: Router[CompiledOperation] | None = None
    paths = doc.raw.get("paths") or {}
    for item in compiled:
        op = item.operation
        path_item = paths.get(op.path) if isinstance(paths, dict) else None
        if not isinstance(path_item, dict):
            continue
        operation = path_item.get(op.method.lower())
        servers = operation.get("servers") if isinstance(operation, dict) else None
        servers = servers or path_item.get("servers")
        if not servers:
            continue
        own = _base_of_servers(servers)
        if own == base:
            continue
        router = router or Router()
        full = own + op.path if op.path != "/" else own or "/"
        router.add(op.method, full, item)
    return router


def _apply_fixes(doc: SpecDocument, fixes: list[Any], source: str) -> None:
    """Set values at JSON pointers of the loaded document: where the document contradicts
    what the service does and its own clients send (Docker's CLI sends
    ``MemorySwappiness: -1``, "unset", which the document's ``minimum: 0`` refuses).
    Each fix in the profile says why: ``{"pointer": ..., "value": ..., "why": ...}``."""
    for fix in fixes:
        pointer = str(fix.get("pointer", "")) if isinstance(fix, dict) else ""
        parent_pointer, _, key = pointer.rpartition("/")
        try:
            parent = doc.lookup(parent_pointer) if parent_pointer else doc.raw
        except SpecError:
            parent = None
        if not isinstance(parent, dict) or not key or not isinstance(fix, dict):
            raise SpecError(source, pointer or "/", "profile document_fixes: no such place")
        parent[key.replace("~1", "/").replace("~0", "~")] = fix.get("value")


def build_twin(
    profile: Profile,
    source: str | Path,
    options: TwinOptions | None = None,
    store: Store | None = None,
) -> Twin:
    """Load, normalize and compile a twin; raises SpecError for a document it cannot serve.

    With a store, operations of the inferred resource families answer from state;
    without one the twin answers every operation from the document alone.
    """
    options = options or TwinOptions()
    started = time.perf_counter()
    doc = load_document(source)
    supplement = profile.extra.get("supplement")
    if supplement:
        _supplement(doc, str(supplement))
    _apply_fixes(doc, profile.extra.get("document_fixes") or [], str(source))
    operations: list[Operation] = read_operations(doc)
    validators = ValidatorCache(doc, SchemaCompiler(doc))
    synthesizer = Synthesizer(doc, seed=options.seed)
    errors = ErrorFormatter(profile.error)
    # Parameters the service lets span "/" (Docker's image names): the profile names them.
    router: Router[CompiledOperation] = Router(profile.extra.get("spanning_params", ()))
    compiled: list[CompiledOperation] = []
    try:
        credentials = read_parameter_credentials(profile.extra.get("auth") or {})
    except ValueError as exc:
        raise SpecError(str(source), "/", f"profile: {exc}") from None
    for operation in operations:
        item = compile_operation(
            doc, operation, validators, synthesizer, profile, errors, options, credentials
        )
        router.add(operation.method, operation.path, item)
        compiled.append(item)
    twin = Twin(
        profile, doc, options, base_path_of(doc), router, errors, validators, synthesizer, compiled
    )
    twin.elsewhere = _elsewhere(doc, compiled, twin.base_path)
    try:
        twin.families, twin.unmapped = infer_families(
            doc, operations, profile.extra.get("resources")
        )
    except OverrideError as exc:
        raise SpecError(str(source), "/", f"profile resources: {exc}") from None
    if store is not None:
        semantics = ResourceSemantics(twin, twin.families, store, options.seed)
        semantics.seeding_enabled = not options.empty
        for item in compiled:
            item.handler = semantics.handlers.get(item.operation_id)
        twin.semantics = semantics
    # Credentials and the clock live in the twin's store; a stateless twin keeps its own.
    twin.auth = TwinAuth(
        doc,
        profile.name,
        store or MemoryStore(),
        options.auth,
        profile.extra.get("auth"),
        twin.is_api_path,
    )
    twin.auth.bind(compiled)
    install_behaviour(twin)
    try:  # after the behaviours, so that their handlers raise events too
        twin.webhooks = install_webhooks(twin)
    except WebhookConfigError as exc:
        raise SpecError(str(source), "/", f"profile webhooks: {exc}") from None
    log.debug(
        "%s: %d operations compiled in %.0f ms",
        profile.name,
        len(compiled),
        (time.perf_counter() - started) * 1000,
    )
    return twin
