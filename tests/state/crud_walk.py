"""Walk every inferred resource family of a twin through its lifecycle over HTTP.

For each family, with the roles it has: create (a request body synthesized from the
create operation's own request schema), get it back, find it in the list, update it and
read the change back, delete it, and get the API's 404. Read-only families are walked on
a seed item. The walk uses only what the document says; no per-API knowledge. Where a
create declares no request body (drchrono's writes) and a bare create is refused as
incomplete (400), the walk sends the fields of an item the list shows, as a client with
no other guide copies a record.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from apitwin.app import create_app
from apitwin.engine.operation import CompiledOperation
from apitwin.engine.twin import Twin
from apitwin.server.app import TwinApp
from apitwin.state.inference import Family

CREDENTIALS = {"Authorization": "Bearer walk-token"}


@dataclass
class WalkResult:
    family: str
    steps: list[str] = field(default_factory=list)
    failure: str | None = None

    @property
    def passed(self) -> bool:
        return self.failure is None


class _Failed(Exception):
    pass


def _path(template: str, values: dict[str, Any]) -> str:
    path = template
    for name, value in values.items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    return path


class Walker:
    def __init__(self, app: TwinApp, client: httpx.AsyncClient) -> None:
        self.app = app
        self.twin: Twin = app.twin
        self.client = client
        self.ops = {op.operation_id: op for op in self.twin.operations}
        self.families = {f.name: f for f in self.twin.families}

    def _headers(self, op: CompiledOperation) -> dict[str, str]:
        headers = dict(CREDENTIALS)
        synth = self.twin.synthesizer
        for param in op.params:
            spec = param.spec
            if spec.location == "header" and spec.required:
                value = synth.generate(
                    spec.schema, spec.pointer, direction="request", name=spec.name
                )
                headers[spec.name] = str(value).lower() if isinstance(value, bool) else str(value)
        return headers

    def _query(self, op: CompiledOperation) -> dict[str, str]:
        query: dict[str, str] = {}
        synth = self.twin.synthesizer
        for param in op.params:
            spec = param.spec
            if spec.location == "query" and spec.required:
                value = synth.generate(
                    spec.schema, spec.pointer, direction="request", name=spec.name
                )
                query[spec.name] = str(value).lower() if isinstance(value, bool) else str(value)
        return query

    def _body(self, op: CompiledOperation) -> tuple[Any, str | None]:
        body = op.operation.request_body
        if body is None:
            return None, None
        for media_type, media in body.content.items():
            if "json" in media_type or media_type == "*/*":
                sent_as = "application/json" if media_type == "*/*" else media_type
                if media.schema is None:
                    return {}, sent_as
                value = self.twin.synthesizer.generate(
                    media.schema, media.pointer, direction="request"
                )
                return value, sent_as
        return None, None

    async def call(
        self,
        role: str,
        family: Family,
        values: dict[str, Any],
        body: Any = None,
        use_body: bool = False,
    ) -> httpx.Response:
        op = self.ops[family.operations[role]]
        params = dict(values)
        for name, wanted in family.selectors.get(role, {}).items():
            params[name] = wanted
        path = self.twin.base_path + _path(op.operation.path, params)
        headers = self._headers(op)
        content_type = None
        if not use_body:
            body, content_type = self._body(op)
        elif body is not None:
            content_type = "application/json"
        kwargs: dict[str, Any] = {"headers": headers, "params": self._query(op)}
        if body is not None:
            kwargs["content"] = httpx.Request("POST", "/", json=body).content
            headers["content-type"] = content_type or "application/json"
        response = await self.client.request(op.operation.method, path, **kwargs)
        if response.status_code == 429:  # a rate limit: wait as told (on the twin clock), once
            await self.wait_out(response)
            response = await self.client.request(op.operation.method, path, **kwargs)
        return response

    async def wait_out(self, refused: httpx.Response) -> None:
        """Move the twin clock past a 429's retry time (``Retry-After`` seconds, or Docker
        Hub's ``X-Retry-After`` epoch)."""
        clock = (await self.client.get("/__apitwin__/clock")).json()["now"]
        if "retry-after" in refused.headers:
            seconds = float(refused.headers["retry-after"])
        else:
            seconds = float(refused.headers.get("x-retry-after", clock + 60)) - clock
        await self.client.post("/__apitwin__/clock", json={"advance": max(seconds, 0) + 1})

    async def parent_values(self, family: Family) -> dict[str, Any]:
        """Path values of an existing parent (a seed item of the parent family)."""
        if not family.parent_params:
            return {}
        parent = self.families.get(family.parent_family or "")
        if parent is None:
            return self._synthesized_path_values(family, family.parent_params)
        if "list" not in parent.operations:
            raise _Failed(f"no way to find a parent ({family.parent_family})")
        grand = await self.parent_values(parent)
        listing = await self.call("list", parent, grand)
        items = self._items(parent, "list", listing)
        if not items:
            raise _Failed(f"parent family {parent.name} lists nothing")
        values = dict(grand)
        values[family.parent_params[-1]] = items[0].get(parent.id_field)
        return values

    def _synthesized_path_values(self, family: Family, names: tuple[str, ...]) -> dict[str, Any]:
        """Values for path parameters that no family owns, from their own schemas."""
        values: dict[str, Any] = {}
        for role in family.operations.values():
            op = self.ops[role]
            for param in op.params:
                if param.spec.location == "path" and param.spec.name in names:
                    values.setdefault(
                        param.spec.name,
                        self.twin.synthesizer.generate(
                            param.spec.schema,
                            param.spec.pointer,
                            direction="request",
                            name=param.spec.name,
                        ),
                    )
        return values

    async def stored_ids(self, family: Family) -> list[Any]:
        """Ids of the family's stored items, read through the admin prefix."""
        await self.client.post("/__apitwin__/seed")
        state = (await self.client.get("/__apitwin__/state")).json()
        return [item.get(family.id_field) for item in state.get(family.name, [])]

    def _items(self, family: Family, role: str, response: httpx.Response) -> list[dict[str, Any]]:
        if response.status_code >= 300:
            raise _Failed(f"{role} answered {response.status_code}: {response.text[:200]}")
        body = response.json()
        envelope = family.envelopes.get(role) or family.list_envelope
        if envelope is not None and envelope.key is not None:
            body = body.get(envelope.key) if isinstance(body, dict) else None
        if not isinstance(body, list):
            raise _Failed(f"{role} body has no list of items")
        return [item for item in body if isinstance(item, dict)]

    def _item(self, family: Family, role: str, response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 300:
            raise _Failed(f"{role} answered {response.status_code}: {response.text[:300]}")
        body = response.json() if response.content else {}
        envelope = family.envelopes.get(role) or family.item_envelope
        if envelope is not None and envelope.key is not None and isinstance(body, dict):
            body = body.get(envelope.key)
        if not isinstance(body, dict):
            raise _Failed(f"{role} body is not an item")
        return body

    async def _create_renamed(self, family: Family, values: dict[str, Any]) -> httpx.Response:
        """A client-chosen id (a name) that is taken: choose another, as a user would."""
        op = self.ops[family.operations["create"]]
        body, _ = self._body(op)
        key = family.request_keys.get("create") or family.request_envelope_key
        target = body.get(key) if key and isinstance(body, dict) else body
        if isinstance(target, dict) and isinstance(target.get(family.id_field), str):
            target[family.id_field] = target[family.id_field] + "-walk"
        return await self.call("create", family, values, body, use_body=True)

    def _bodiless(self, family: Family) -> bool:
        return self.ops[family.operations["create"]].operation.request_body is None

    async def _create_like_listed(
        self, family: Family, values: dict[str, Any]
    ) -> httpx.Response | None:
        """A create with the fields of the first listed item (its id left out)."""
        if "list" not in family.operations:
            return None
        items = self._items(family, "list", await self.call("list", family, values))
        if not items:
            return None
        body = {k: v for k, v in items[0].items() if k != family.id_field}
        return await self.call("create", family, values, body, use_body=True)

    async def walk(self, family: Family) -> WalkResult:
        result = WalkResult(family.name)
        try:
            await self._walk(family, result)
        except _Failed as exc:
            result.failure = str(exc)
        return result

    async def _walk(self, family: Family, result: WalkResult) -> None:
        roles = family.operations
        values = await self.parent_values(family)
        id_param = family.id_param
        if family.singleton:
            if "get" in roles:
                self._item(family, "get", await self.call("get", family, values))
                result.steps.append("get")
            return
        if "create" in roles:
            response = await self.call("create", family, values)
            if response.status_code == 409:
                response = await self._create_renamed(family, values)
            elif response.status_code == 400 and self._bodiless(family):
                response = await self._create_like_listed(family, values) or response
            created = self._item(family, "create", response)
            result.steps.append("create")
            ident = created.get(family.id_field)
        elif "list" in roles:
            items = self._items(family, "list", await self.call("list", family, values))
            result.steps.append("list")
            if not items:
                raise _Failed("read-only family without seed items")
            ident = items[0].get(family.id_field)
        elif "get" in roles:
            ids = await self.stored_ids(family)
            if not ids:
                raise _Failed("get-only family without stored items")
            ident = ids[0]
            if len(family.parent_params) > 0 and family.parent_family is not None:
                raise _Failed("get-only nested family: parent of the stored item unknown")
        else:
            raise _Failed("neither create, list nor get")
        if ident is None:
            raise _Failed(f"the item has no id field {family.id_field!r}")
        item_values = dict(values)
        if id_param:
            item_values[id_param] = ident
        for role in ("get",):
            if role in roles:
                got = self._item(family, role, await self.call(role, family, item_values))
                if got.get(family.id_field) != ident:
                    raise _Failed(f"get returned id {got.get(family.id_field)!r}, not {ident!r}")
                result.steps.append("get")
        if "list" in roles and "create" in roles:
            items = self._items(family, "list", await self.call("list", family, values))
            if ident not in [item.get(family.id_field) for item in items]:
                raise _Failed("list does not contain the created item")
            result.steps.append("list")
        for role in ("update", "replace"):
            if role not in roles:
                continue
            updated = await self.call(role, family, item_values)
            if updated.status_code >= 300:
                raise _Failed(f"{role} answered {updated.status_code}: {updated.text[:300]}")
            result.steps.append(role)
            if "get" in roles:
                self._item(family, "get", await self.call("get", family, item_values))
            break
        if "delete" in roles:
            deleted = await self.call("delete", family, item_values)
            if deleted.status_code >= 300:
                raise _Failed(f"delete answered {deleted.status_code}: {deleted.text[:300]}")
            result.steps.append("delete")
            if "get" in roles:
                gone = await self.call("get", family, item_values)
                if gone.status_code != 404:
                    raise _Failed(f"get after delete answered {gone.status_code}")
                error_shape = self.twin.errors.body(404, "x")
                json_errors = self.twin.errors.media_type == "application/json"
                if json_errors and set(gone.json()) != set(error_shape):
                    raise _Failed(f"404 body {gone.text[:200]} is not the API's error shape")
                result.steps.append("404")


async def walk_twin(name: str) -> list[WalkResult]:
    app = create_app(name)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://twin") as client:
        walker = Walker(app, client)
        # Families a behaviour module took over (docs/state.md) are walked by that twin's
        # own tests: the generic lifecycle is not theirs.
        semantics = app.twin.semantics
        generic = [f for f in app.twin.families if semantics and f.name in semantics.runtimes]
        return [await walker.walk(family) for family in generic]


def walk(name: str) -> list[WalkResult]:
    return asyncio.run(walk_twin(name))
