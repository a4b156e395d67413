"""The ASGI application of one twin: the request path from bytes to response.

socket -> uvicorn -> TwinApp -> router -> validation -> response -> uvicorn. Everything
the path needs was compiled by :func:`apitwin.engine.twin.build_twin`; this module only
moves bytes, so that a test can drive a twin through httpx's ASGITransport without a
socket exactly as a client does over TCP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from apitwin.conventions.cors import CorsPolicy, declared_response_headers
from apitwin.conventions.oauth import AuthRequest, Endpoint
from apitwin.conventions.ratelimit import RateLimiter, Verdict
from apitwin.conventions.suffixes import FormatSuffix, JsonSuffix
from apitwin.conventions.versions import VersionError, VersionPrefix
from apitwin.engine.context import RequestContext
from apitwin.engine.operation import CompiledOperation, Rejection
from apitwin.engine.reply_cache import ReplyCache
from apitwin.engine.twin import Twin
from apitwin.schema.params import RequestParts, parse_cookie_header, parse_query_string
from apitwin.server.admin import ADMIN_PREFIX, admin_request

__all__ = ["ADMIN_PREFIX", "TwinApp"]

log = logging.getLogger("apitwin")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _BodyTooLarge(Exception):
    pass


class _Limited(Rejection):
    """429: the request was not counted and nothing else of it was looked at."""

    def __init__(self, verdict: Verdict, message: str) -> None:
        super().__init__(429, message)
        self.verdict = verdict


class TwinApp:
    """ASGI callable serving one twin."""

    def __init__(self, twin: Twin) -> None:
        self.twin = twin
        self._base = twin.base_path
        self._errors = twin.errors
        self._max_body = twin.options.max_body_bytes
        # OAuth endpoints at the paths the document names, outside the API's base path.
        self._auth_endpoints = twin.auth.endpoints if twin.auth is not None else {}
        extra = twin.profile.extra
        self._versions = VersionPrefix.from_profile(extra.get("versions"))
        self._cors = CorsPolicy(
            extra.get("cors"),
            declared_response_headers(
                response.headers
                for op in twin.operations
                for response in op.operation.responses.values()
            ),
        )
        # Headers the profile fixes on every answer (Docker's Api-Version): they replace
        # any value the document's response headers would synthesize.
        self._fixed = [self._versions.header] if self._versions and self._versions.header else []
        self._limits = (
            RateLimiter.from_profile(
                extra.get("rate_limits"), twin.auth.clock, twin.options.rate_limits
            )
            if twin.auth is not None
            else None
        )
        # Discourse's optional .json (routes added once, here) and DigitalNZ's .{format}.
        self._json_suffix = JsonSuffix.from_profile(extra.get("json_suffix"))
        if self._json_suffix is not None:
            self._json_suffix.add_aliases(twin.router, twin.operations)
        self._format_suffix = FormatSuffix.from_profile(extra.get("format_suffix"))
        # Answers to repeated GETs while the state is unchanged (stores that can tell).
        store = twin.semantics.store if twin.semantics is not None else None
        self._replies = (
            ReplyCache(store, twin.name)
            if twin.options.kept_replies
            and store is not None
            and store.version(twin.name) is not None
            else None
        )
        # Headers the twin computes per answer replace any the document would synthesize.
        self._replaced = frozenset(name.lower() for name, _ in self._fixed) | (
            self._limits.header_names if self._limits else frozenset()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await _lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        twin = self.twin
        twin.requests += 1
        twin.serving += 1
        try:
            await self._serve(scope, receive, send)
        finally:
            twin.serving -= 1

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        endpoint = self._auth_endpoints.get(path)
        if endpoint is not None:
            await self._auth_endpoint(endpoint, scope, receive, send)
            return
        if path.startswith(ADMIN_PREFIX):
            await self._admin(path[len(ADMIN_PREFIX) :], method, scope, receive, send)
            return
        stream: AsyncIterator[bytes] | None = None
        limited: Verdict | None = None
        try:
            if self._limits is not None and method != "OPTIONS":
                limited = self._count(self._limits, scope, path, method)
            status, headers, body, stream = await self._handle(scope, receive, path, method)
        except Rejection as rejection:
            wait = 0
            if isinstance(rejection, _Limited):
                limited = rejection.verdict
                wait = limited.wait
            status, headers, body = self._error(
                rejection.status, rejection.message, rejection.code, wait
            )
            headers.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in rejection.headers)
        except Exception:  # a defect of the twin must still answer in the API's own shape
            log.exception("%s: internal error on %s %s", self.twin.name, method, path)
            status, headers, body = self._error(500, "internal error in the twin")
        if self._replaced:
            replaced = self._replaced
            headers = [h for h in headers if h[0].lower() not in replaced] + self._fixed
            if limited is not None:
                headers.extend(limited.headers)
        if self._json_suffix is not None:
            headers = self._json_suffix.content_type_of(headers)
        if self._cors.enabled:
            headers.extend(self._cors.response(_origin_header(scope)))
        if stream is not None and method != "HEAD":
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await _send_stream(send, stream, receive)
            return
        headers.append((b"content-length", str(len(body)).encode()))
        if method == "HEAD":
            body = b""
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _count(self, limits: RateLimiter, scope: Scope, path: str, method: str) -> Verdict:
        """Count the request against the twin's rate limits; 429 when one is used up."""
        base = self._base
        if base and path.startswith(base):
            path = path[len(base) :] or "/"
        client = scope.get("client")
        verdict = limits.check(
            method, path, limits.client_of(scope.get("headers", ()), client[0] if client else "")
        )
        if verdict.refused:
            raise _Limited(verdict, limits.message)
        return verdict

    async def _handle(
        self, scope: Scope, receive: Receive, path: str, method: str
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes, AsyncIterator[bytes] | None]:
        raw_path = scope.get("raw_path")
        if raw_path:
            path = raw_path.decode("latin-1")
        sent = path
        base = self._base
        router = self.twin.router
        elsewhere = self.twin.elsewhere
        if self._versions is not None:  # /v1.N/... and unversioned paths, base path aside
            try:
                path = self._versions.strip(path)
            except VersionError as refused:
                raise Rejection(refused.status, refused.message) from None
        elif elsewhere is not None and elsewhere.match(method, path) is not None:
            router = elsewhere  # an operation with servers of its own (DVP's login)
        elif base:
            if path == base or path.startswith(base + "/"):
                path = path[len(base) :] or "/"
            else:
                raise Rejection(404, f"no route for {path}")
        match = router.match(method, path)
        if match is None:
            raise Rejection(404, f"no route for {method} {scope['path']}")
        operation: CompiledOperation | None = match.target
        if operation is None and method == "HEAD":
            head = router.match("GET", path)
            operation = head.target if head else None
        if operation is None and method == "OPTIONS":
            request_headers = _headers(scope)
            if self._cors.is_preflight(method, request_headers):
                return 204, self._cors.preflight(request_headers, match.allowed), b"", None
        if operation is None:
            allow = ", ".join(match.allowed)
            raise Rejection(
                405, f"method {method} not allowed; allowed: {allow}", [("allow", allow)]
            )
        headers = _headers(scope)
        parts = RequestParts(
            path=match.params,
            query=parse_query_string(scope.get("query_string", b"")),
            headers=headers,
            cookies=parse_cookie_header(headers["cookie"]) if "cookie" in headers else {},
        )
        try:
            body = await self._read_body(receive, headers)
        except _BodyTooLarge:
            raise Rejection(413, f"request body larger than {self._max_body} bytes") from None
        accept = headers.get("accept")
        if self._json_suffix is not None and self._json_suffix.refuses(
            method, match.template, accept
        ):
            raise Rejection(
                406, f"{scope['path']} answers JSON only; send Accept: application/json"
            )
        validated = operation.validate(parts, body, headers.get("content-type"))
        if operation.handler is not None:
            replies = self._replies if method == "GET" else None
            if replies is not None:
                version = replies.version()
                key = (
                    operation.operation_id,
                    sent,
                    scope.get("query_string", b""),
                    tuple(scope.get("headers", ())),
                )
                kept = replies.get(key, version)
                if kept is not None:
                    out, response_body = list(kept.headers), kept.body
                    return self._suffixed(match.params, kept.status, out, response_body)
            client = scope.get("client")
            context = RequestContext(
                operation,
                validated,
                parts,
                accept,
                _origin(scope, headers),
                sent,
                str(client[0]) if client else "",
            )
            reply = operation.handler(context)
            if replies is not None:
                replies.put(key, version, reply)
            status, out, response_body, stream = (
                reply.status,
                reply.headers,
                reply.body,
                reply.stream,
            )
        else:
            status, rendered, response_body = operation.responder.render(accept)
            out, stream = list(rendered), None
        if stream is not None:
            return status, out, response_body, stream
        return self._suffixed(match.params, status, out, response_body)

    def _suffixed(
        self, params: dict[str, str], status: int, out: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes, None]:
        """The answer in the format the path's suffix asks for (DigitalNZ's ``.xml``)."""
        suffix = self._format_suffix
        if suffix is not None and suffix.wants_xml(params):
            out, body = suffix.as_xml(out, body)
        return status, out, body, None

    async def _read_body(self, receive: Receive, headers: dict[str, str]) -> bytes:
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self._max_body:
            raise _BodyTooLarge
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > self._max_body:
                    raise _BodyTooLarge
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _error(
        self, status: int, message: str, code: str | None = None, retry_after: int = 0
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        body, media_type = self._errors.render(status, message, code, retry_after)
        return status, [(b"content-type", media_type.encode("latin-1"))], body

    async def _admin(
        self, rest: str, method: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        try:
            body = await self._read_body(receive, _headers(scope))
        except _BodyTooLarge:
            await _send_json(send, 413, orjson.dumps({"message": "request body too large"}))
            return
        if rest.startswith("/webhooks"):  # verification waits for the callback's answer
            if self.twin.webhooks is not None:  # deliveries it starts run on this loop
                self.twin.webhooks.worker.attach(asyncio.get_running_loop())
            status, payload = await asyncio.to_thread(admin_request, self.twin, method, rest, body)
        else:
            status, payload = admin_request(self.twin, method, rest, body)
        await _send_json(send, status, orjson.dumps(payload))

    async def _auth_endpoint(
        self, endpoint: Endpoint, scope: Scope, receive: Receive, send: Send
    ) -> None:
        headers = _headers(scope)
        try:
            body = await self._read_body(receive, headers)
            request = AuthRequest(
                scope["method"], scope["path"], scope.get("query_string", b""), headers, body
            )
            response = endpoint(request)
            status, out, payload = response.status, response.headers, response.body
        except _BodyTooLarge:
            status, out, payload = 413, [], b""
        except Exception:  # never a traceback to the client; never the request in the log
            log.exception("%s: internal error on an OAuth endpoint", self.twin.name)
            status, out, payload = 500, [], b""
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out]
        raw.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": payload})


async def _send_stream(send: Send, stream: AsyncIterator[bytes], receive: Receive) -> None:
    """Chunks as the handler yields them. A client that goes away ends the stream, even
    one that is waiting for something to happen (a container's exit, the next event)."""
    disconnected = asyncio.ensure_future(_disconnect(receive))
    iterator = stream.__aiter__()
    try:
        while True:
            chunk_task = asyncio.ensure_future(iterator.__anext__())
            done, _ = await asyncio.wait(
                {chunk_task, disconnected}, return_when=asyncio.FIRST_COMPLETED
            )
            if chunk_task not in done:
                chunk_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await chunk_task
                return
            try:
                chunk = chunk_task.result()
            except StopAsyncIteration:
                break
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    except OSError:
        return
    finally:
        disconnected.cancel()
        closing = getattr(stream, "aclose", None)
        if closing is not None:
            with contextlib.suppress(RuntimeError):
                await closing()


async def _disconnect(receive: Receive) -> None:
    """Returns once the client has gone (the request body was read before)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def _send_json(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _origin_header(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"origin":
            return bytes(value)
    return None


def _origin(scope: Scope, headers: dict[str, str]) -> str:
    """scheme://host[:port] as the client addressed the twin, for links back to it."""
    host = headers.get("host")
    if not host:
        server = scope.get("server")
        host = f"{server[0]}:{server[1]}" if server else "localhost"
    return f"{scope.get('scheme', 'http')}://{host}"


def _headers(scope: Scope) -> dict[str, str]:
    result: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        result[name] = f"{result[name]}, {value}" if name in result else value
    return result


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
