"""Docker Hub: login and its JWTs, personal access tokens, repositories and tags.

The document declares no security schemes although "most Docker Hub API endpoints
require you to authenticate"; this module puts the Hub's JWT bearer check on every
operation that does not say ``security: []``, except public reads (the profile's
``accounts.public``: tags and repositories of public repositories, as anonymous
``curl`` gets them from the Hub). Repositories and tags are the Hub's state
(behaviours/docker_registry.py), seeded from the catalogue the Engine twin pulls from.
A twin without state (``--stateless``) keeps the document's answers.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from apitwin.behaviours.base import Behaviour, json_reply, reject
from apitwin.behaviours.docker_accounts import (
    HUB_SCHEME,
    PAT_FAMILY,
    Accounts,
    DockerAuthCheck,
    Identity,
    identity_of,
)
from apitwin.behaviours.docker_registry import (
    HUB,
    REPOSITORIES,
    TAGS,
    ensure_catalog,
    new_repository,
    pull_count,
    register_hub,
    stamp,
)
from apitwin.conventions.auth import SchemeInfo
from apitwin.conventions.credentials import CREDENTIALS_FAMILY, digest
from apitwin.conventions.pagination import Links, Paginator, PagingError, compile_paginator
from apitwin.engine.context import Handler, Reply, RequestContext
from apitwin.engine.operation import CompiledOperation, Rejection
from apitwin.spec.document import SpecError
from apitwin.state.store import Store, Transaction

if TYPE_CHECKING:
    from apitwin.engine.twin import Twin

__all__ = ["install", "paginator_for"]

LOGIN_OPS = ("PostUsersLogin", "PostUsers2FALogin")
PAT_SCOPES = ("repo:admin", "repo:write", "repo:read", "repo:public_read")
NOT_FOUND = "Object not found"
SCIM_PREFIX = "/v2/scim/"
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_JSON = b"application/scim+json"


def install(twin: Twin) -> None:
    if twin.semantics is None or twin.auth is None:
        return  # stateless: the document's answers, as for every twin
    HubBehaviour(twin)


def paginator_for(twin: Twin, op: CompiledOperation) -> Paginator:
    """The profile's pagination style for a list operation, as the generic lists get it."""
    schemas: dict[str, dict[str, Any]] = {}
    for param in op.params:
        if param.spec.location != "query":
            continue
        try:
            schema = twin.doc.resolve(param.spec.schema, param.spec.pointer)
        except SpecError:
            schema = {}
        schemas[param.spec.name] = schema if isinstance(schema, dict) else {}
    config = twin.profile.extra.get("pagination")
    return compile_paginator(config if isinstance(config, dict) else None, schemas)


def _public(item: dict[str, Any]) -> dict[str, Any]:
    """A stored record without its bookkeeping fields (``_owner`` and the like)."""
    return {k: v for k, v in item.items() if not k.startswith("_")}


class HubBehaviour(Behaviour):
    def __init__(self, twin: Twin) -> None:
        super().__init__(twin)
        assert twin.auth is not None
        register_hub(twin)  # the Engine twin on the same store now pulls from this Hub
        config = dict(twin.profile.extra.get("accounts") or {})
        self.accounts = Accounts(twin, config)
        self.paginators: dict[str, Paginator] = {}
        self._install_auth(set(config.get("public") or ()))
        self._scim_errors()
        self.bind_all(
            {
                "PostUsersLogin": self.accounts.login,
                "PostUsers2FALogin": self.accounts.second_factor,
                # personal access tokens
                "post_v2_access_tokens": self.create_pat,
                "get_v2_access_tokens": self.list_pats,
                "get_v2_access_tokens_uuid": self.get_pat,
                "patch_v2_access_tokens_uuid": self.update_pat,
                "delete_v2_access_tokens_uuid": self.delete_pat,
                # repositories (the profile's supplement) and tags
                "listOwnNamespaces": self.own_namespaces,
                "listNamespaceRepositories": self.list_repositories,
                "createNamespaceRepository": self.create_repository,
                "getNamespaceRepository": self.get_repository,
                "deleteNamespaceRepository": self.delete_repository,
                "get_v2_namespaces_namespace_repositories_repository_tags": self.list_tags,
                "head_v2_namespaces_namespace_repositories_repository_tags": self.list_tags,
                "get_v2_namespaces_namespace_repositories_repository_tags_tag": self.get_tag,
                "head_v2_namespaces_namespace_repositories_repository_tags_tag": self.get_tag,
            }
        )

    # -- auth ---------------------------------------------------------------------------

    def _install_auth(self, public: set[str]) -> None:
        """The JWT bearer check on every operation that is not public, and the scheme
        the admin prefix issues credentials for."""
        assert self.twin.auth is not None
        self.twin.auth.schemes[HUB_SCHEME] = SchemeInfo(HUB_SCHEME, "http", http_scheme="bearer")
        check = DockerAuthCheck(self.accounts)
        for op_id, op in self.operations.items():
            if op.operation.security is not None or op_id in LOGIN_OPS or op_id in public:
                continue  # security: [] (SCIM discovery) or public reads
            op.auth = check

    def _scim_errors(self) -> None:
        """SCIM operations answer errors as SCIM does (RFC 7644 3.12), in
        ``application/scim+json``: ``{schemas, status, detail}``, as the document declares
        for every SCIM error; the rest of the Hub keeps its ``{detail, message}``."""
        for op in self.operations.values():
            handler = op.handler
            if handler is not None and op.operation.path.startswith(SCIM_PREFIX):
                op.handler = _scim_handler(handler)

    def caller(self, ctx: RequestContext) -> Identity | None:
        return identity_of(self.accounts, ctx.parts)

    @property
    def store(self) -> Store:
        assert self.twin.auth is not None
        return self.twin.auth.store

    def now(self, tx: Transaction) -> float:
        assert self.twin.auth is not None
        return self.twin.auth.clock.now_in(tx)

    def _seeded(self) -> None:
        assert self.twin.semantics is not None
        if self.twin.semantics.seeding_enabled:
            ensure_catalog(self.store)

    def _page(
        self,
        ctx: RequestContext,
        read: Callable[[Transaction, int, int | None], tuple[list[dict[str, Any]], int]],
        extra: dict[str, Any] | None = None,
    ) -> Reply:
        """One page of a list in the Hub's ``{count, next, previous, results}`` style."""
        op = ctx.operation
        paginator = self.paginators.get(op.operation_id)
        if paginator is None:
            paginator = self.paginators[op.operation_id] = paginator_for(self.twin, op)
        try:
            window = paginator.window(ctx.params)
            with self.store.transaction(HUB, write=False) as tx:
                items, total = read(tx, window.offset, window.take)
            links = Links(ctx.origin, ctx.path, ctx.parts.query)
            base = {"count": total, "next": None, "previous": None, **(extra or {})}
            body = paginator.body(base, "results", items, total, window, links)
        except PagingError as refused:
            raise reject(refused.status, refused.message) from None
        return json_reply(body)

    # -- personal access tokens -----------------------------------------------------------

    def _owner(self, ctx: RequestContext) -> str:
        who = self.caller(ctx)
        return who.username if who is not None and who.username else ""

    def create_pat(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        scopes = body.get("scopes") or []
        unknown = [s for s in scopes if s not in PAT_SCOPES]
        label = str(body.get("token_label", "")).strip()
        if unknown or not scopes or not label:
            fields: dict[str, list[str]] = {}
            if unknown or not scopes:
                fields["scopes"] = [f"Valid scopes are {', '.join(PAT_SCOPES)}"]
            if not label:
                fields["token_label"] = ["This field may not be blank."]
            return json_reply({"fields": fields, "text": "Invalid request"}, 400)
        owner = self._owner(ctx)
        secret = "dckr_pat_" + secrets.token_urlsafe(20)
        ident = str(uuid.uuid4())
        with self.store.transaction(HUB) as tx:
            now = self.now(tx)
            record = {
                "uuid": ident,
                "client_id": "HUB",
                "creator_ip": ctx.parts.headers.get("x-forwarded-for", "127.0.0.1"),
                "creator_ua": ctx.parts.headers.get("user-agent", ""),
                "created_at": stamp(now),
                "last_used": None,
                "generated_by": "manual",
                "is_active": True,
                "token": "",
                "token_label": label,
                "scopes": _implied(scopes),
                "_owner": owner,
                "_index": "pat:" + digest(secret),
            }
            tx.put(PAT_FAMILY, ident, record, parent=owner)
            if owner:
                self.accounts.remember_pat(tx, secret, owner, ident)
        return json_reply({**_public(record), "token": secret}, 201)

    def _load_pat(self, tx: Transaction, ctx: RequestContext, owner: str) -> dict[str, Any]:
        record = tx.get(PAT_FAMILY, str(ctx.params.get("uuid")))
        if record is None or (owner and record.get("_owner") not in (owner, "")):
            raise reject(404, NOT_FOUND)
        return record

    def list_pats(self, ctx: RequestContext) -> Reply:
        owner = self._owner(ctx)

        def read(tx: Transaction, offset: int, limit: int | None) -> tuple[list[Any], int]:
            parent = owner if owner else None
            page = tx.list(PAT_FAMILY, parent=parent, offset=offset, limit=limit)
            return [_public(item) for item in page.items], page.total

        with self.store.transaction(HUB, write=False) as tx:
            active = tx.list(
                PAT_FAMILY, parent=owner or None, filters={"is_active": True}, limit=0
            ).total
        return self._page(ctx, read, {"active_count": active})

    def get_pat(self, ctx: RequestContext) -> Reply:
        owner = self._owner(ctx)
        with self.store.transaction(HUB, write=False) as tx:
            record = self._load_pat(tx, ctx, owner)
        return json_reply(_public(record))

    def update_pat(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        owner = self._owner(ctx)
        with self.store.transaction(HUB) as tx:
            record = self._load_pat(tx, ctx, owner)
            if isinstance(body.get("is_active"), bool):
                record["is_active"] = body["is_active"]
            if isinstance(body.get("token_label"), str) and body["token_label"].strip():
                record["token_label"] = body["token_label"].strip()
            tx.put(PAT_FAMILY, record["uuid"], record, parent=str(record.get("_owner", "")))
        return json_reply(_public(record))

    def delete_pat(self, ctx: RequestContext) -> Reply:
        owner = self._owner(ctx)
        with self.store.transaction(HUB) as tx:
            record = self._load_pat(tx, ctx, owner)
            tx.delete(PAT_FAMILY, record["uuid"])
            tx.delete(CREDENTIALS_FAMILY, str(record.get("_index")))
        return json_reply(None, 204)

    # -- namespaces and repositories ------------------------------------------------------

    def own_namespaces(self, ctx: RequestContext) -> Reply:
        who = self.caller(ctx)
        if who is None or who.username is None:
            self._seeded()
            with self.store.transaction(HUB, write=False) as tx:
                items = tx.list(REPOSITORIES, parent=None).items
            names = sorted({str(item["namespace"]) for item in items})
        else:
            names = [who.username, *who.orgs]
        return json_reply({"namespaces": names})

    def _visible(self, who: Identity | None, repository: dict[str, Any]) -> bool:
        if not repository.get("is_private"):
            return True
        return who is not None and who.may_write(str(repository["namespace"]))

    def _shown(self, tx: Transaction, repository: dict[str, Any]) -> dict[str, Any]:
        shown = _public(repository)
        shown["pull_count"] = pull_count(tx, repository)
        shown.pop("base_pull_count", None)
        return shown

    def list_repositories(self, ctx: RequestContext) -> Reply:
        self._seeded()
        namespace = str(ctx.params["namespace"])
        who = self.caller(ctx)
        needle = str(ctx.params.get("name") or "")
        ordering = str(ctx.params.get("ordering") or "")

        def read(tx: Transaction, offset: int, limit: int | None) -> tuple[list[Any], int]:
            items = [
                item
                for item in tx.list(REPOSITORIES, parent=namespace).items
                if self._visible(who, item) and needle in str(item["name"])
            ]
            shown = [self._shown(tx, item) for item in items]
            if ordering:
                field = ordering.lstrip("-")
                shown.sort(key=lambda r: (r.get(field) is None, r.get(field) or 0))
                if ordering.startswith("-"):
                    shown.reverse()
            end = None if limit is None else offset + limit
            return shown[offset:end], len(shown)

        return self._page(ctx, read)

    def create_repository(self, ctx: RequestContext) -> Reply:
        self._seeded()
        namespace = str(ctx.params["namespace"])
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        if body.get("namespace") not in (None, namespace):
            raise reject(400, "namespace in the body does not match the path")
        who = self.caller(ctx)
        if who is not None and not who.may_write(namespace):
            raise reject(403, f"You do not have permission to create repositories in {namespace}")
        name = str(body["name"])
        with self.store.transaction(HUB) as tx:
            if tx.get(REPOSITORIES, f"{namespace}/{name}") is not None:
                raise reject(409, f"Repository {namespace}/{name} already exists")
            record = new_repository(
                tx,
                namespace,
                name,
                self.now(tx),
                description=str(body.get("description") or ""),
                full_description=str(body.get("full_description") or ""),
                is_private=bool(body.get("is_private", False)),
            )
            shown = self._shown(tx, record)
        return json_reply(shown, 201)

    def _repository(
        self, tx: Transaction, ctx: RequestContext, who: Identity | None
    ) -> dict[str, Any]:
        namespace, name = str(ctx.params["namespace"]), str(ctx.params["repository"])
        record = tx.get(REPOSITORIES, f"{namespace}/{name}")
        if record is None or not self._visible(who, record):
            raise reject(404, NOT_FOUND)
        return record

    def get_repository(self, ctx: RequestContext) -> Reply:
        self._seeded()
        who = self.caller(ctx)
        with self.store.transaction(HUB, write=False) as tx:
            shown = self._shown(tx, self._repository(tx, ctx, who))
        return json_reply(shown)

    def delete_repository(self, ctx: RequestContext) -> Reply:
        self._seeded()
        who = self.caller(ctx)
        with self.store.transaction(HUB) as tx:
            record = self._repository(tx, ctx, who)
            namespace, name = str(record["namespace"]), str(record["name"])
            if who is not None and not who.may_write(namespace):
                raise reject(403, "You do not have permission to delete this repository")
            key = f"{namespace}/{name}"
            for tag in tx.list(TAGS, parent=key).items:
                tx.delete(TAGS, f"{key}/{tag['name']}")
            tx.delete(REPOSITORIES, key)
        return json_reply(None, 202)

    # -- tags ---------------------------------------------------------------------------

    def list_tags(self, ctx: RequestContext) -> Reply:
        self._seeded()
        who = self.caller(ctx)
        with self.store.transaction(HUB, write=False) as tx:
            record = self._repository(tx, ctx, who)
        key = f"{record['namespace']}/{record['name']}"

        def read(tx: Transaction, offset: int, limit: int | None) -> tuple[list[Any], int]:
            page = tx.list(TAGS, parent=key, offset=offset, limit=limit)
            return page.items, page.total

        return self._page(ctx, read)

    def get_tag(self, ctx: RequestContext) -> Reply:
        self._seeded()
        who = self.caller(ctx)
        with self.store.transaction(HUB, write=False) as tx:
            record = self._repository(tx, ctx, who)
            tag = tx.get(TAGS, f"{record['namespace']}/{record['name']}/{ctx.params['tag']}")
        if tag is None:
            raise reject(404, NOT_FOUND)
        return json_reply(tag)


def scim_error(status: int, detail: str) -> Reply:
    body = {"schemas": [SCIM_ERROR], "status": str(status), "detail": detail}
    return Reply(status, [(b"content-type", SCIM_JSON)], orjson.dumps(body))


def _scim_handler(handler: Handler) -> Handler:
    def serve(ctx: RequestContext) -> Reply:
        try:
            return handler(ctx)
        except Rejection as refused:
            return scim_error(refused.status, refused.message)

    return serve


def _implied(scopes: list[str]) -> list[str]:
    """A PAT's scopes as given; a higher scope implies the lower ones (documented), which
    the twin applies when it checks them, not by rewriting what the client chose."""
    return [s for s in PAT_SCOPES if s in scopes]
