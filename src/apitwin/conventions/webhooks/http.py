"""A small asyncio HTTP/1.1 client for webhook deliveries: POST, read the status, reuse
the connection.

Deliveries run on the event loop that serves the API, so every microsecond a delivery
spends in Python is taken from requests. A delivery needs little of an HTTP client: one
POST with a body whose length is known, the status code of the answer (drchrono records
nothing else), keep-alive, a timeout, and no redirects (a 302 is a failure). This client
does exactly that on asyncio streams (TLS included, for callbacks ``--webhook-allow``
permits), at a fraction of the CPU a general client spends per request.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from urllib.parse import urlsplit

__all__ = ["CallbackClient", "DeliveryError"]

_MAX_HEAD = 64 * 1024  # status line and headers
_MAX_BODY = 1024 * 1024  # an answer's body is read (to reuse the connection), then dropped
_IDLE_PER_HOST = 32

Key = tuple[str, str, int]  # scheme, host, port
Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class DeliveryError(Exception):
    """A delivery attempt that got no HTTP answer: ``kind`` names the failure the way the
    delivery log shows it (``ConnectError``, ``ReadTimeout``, ``RemoteProtocolError``)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


class CallbackClient:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._idle: dict[Key, list[Stream]] = {}
        self._tls: ssl.SSLContext | None = None

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> int:
        """POST ``body`` to ``url``; returns the answer's status code or raises
        :class:`DeliveryError`. A kept-alive connection the receiver closed meanwhile
        is replaced once, transparently."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise DeliveryError("UnsupportedProtocol", url)
        port = parts.port or (443 if scheme == "https" else 80)
        key = (scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.netloc.rpartition("@")[2]
        lines = [f"POST {target} HTTP/1.1", f"host: {host}", f"content-length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        idle = self._idle.get(key)
        while idle:
            stream = idle.pop()
            try:
                return await self._exchange(key, stream, request, reused=True)
            except _Stale:
                continue
        stream = await self._connect(key)
        return await self._exchange(key, stream, request, reused=False)

    async def aclose(self) -> None:
        for streams in self._idle.values():
            for _, writer in streams:
                writer.close()
        self._idle.clear()

    # -- one exchange ---------------------------------------------------------------------------

    async def _connect(self, key: Key) -> Stream:
        scheme, host, port = key
        tls = self._context() if scheme == "https" else None
        try:
            async with asyncio.timeout(self.timeout):
                return await asyncio.open_connection(host, port, ssl=tls)
        except TimeoutError:
            raise DeliveryError("ConnectTimeout") from None
        except (OSError, ssl.SSLError) as exc:
            raise DeliveryError("ConnectError", str(exc)) from None

    async def _exchange(self, key: Key, stream: Stream, request: bytes, reused: bool) -> int:
        reader, writer = stream
        try:
            writer.write(request)
            async with asyncio.timeout(self.timeout):
                await writer.drain()
                status, keep = await _read_answer(reader, reused)
        except _Stale:
            writer.close()
            raise
        except TimeoutError:
            writer.close()
            raise DeliveryError("ReadTimeout") from None
        except (OSError, asyncio.IncompleteReadError) as exc:
            writer.close()
            if reused:  # reset by a receiver that had closed the idle connection
                raise _Stale from None
            raise DeliveryError("RemoteProtocolError", str(exc) or type(exc).__name__) from None
        except ValueError as exc:
            writer.close()
            raise DeliveryError("RemoteProtocolError", str(exc) or type(exc).__name__) from None
        if keep:
            idle = self._idle.setdefault(key, [])
            if len(idle) < _IDLE_PER_HOST:
                idle.append(stream)
                return status
        writer.close()
        return status

    def _context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls


class _Stale(Exception):
    """A reused connection closed before answering: try another one."""


async def _read_answer(reader: asyncio.StreamReader, reused: bool) -> tuple[int, bool]:
    """The status of one answer and whether the connection can be reused; its body is
    read and dropped."""
    while True:
        line = await reader.readline()
        if not line:
            if reused:
                raise _Stale
            raise ValueError("connection closed without an answer")
        version, _, rest = line.decode("latin-1").rstrip("\r\n").partition(" ")
        if not version.startswith("HTTP/"):
            raise ValueError(f"not an HTTP answer: {line[:40]!r}")
        status = int(rest[:3])
        head: dict[str, str] = {}
        size = 0
        while True:
            header = await reader.readline()
            size += len(header)
            if size > _MAX_HEAD:
                raise ValueError("answer headers too long")
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.decode("latin-1").partition(":")
            head[name.strip().lower()] = value.strip()
        if 100 <= status < 200:  # 100 Continue and the like: the answer follows
            continue
        break
    connection = head.get("connection", "").lower()
    keep = version == "HTTP/1.1" and "close" not in connection
    if version == "HTTP/1.0" and "keep-alive" in connection:
        keep = True
    if status in (204, 304):
        return status, keep
    if "chunked" in head.get("transfer-encoding", "").lower():
        await _drop_chunks(reader)
    elif "content-length" in head:
        length = int(head["content-length"])
        if length > _MAX_BODY:
            return status, False  # not worth reading: the connection is dropped
        await reader.readexactly(length)
    else:
        await reader.read(_MAX_BODY)  # the body runs until the receiver closes
        keep = False
    return status, keep


async def _drop_chunks(reader: asyncio.StreamReader) -> None:
    total = 0
    while True:
        size = int((await reader.readline()).split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return
        total += size
        if total > _MAX_BODY:
            raise ValueError("answer body too long")
        await reader.readexactly(size + 2)
