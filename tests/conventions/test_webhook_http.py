"""The delivery client (conventions/webhooks/http.py) against small asyncio servers on
loopback ports: what a receiver may answer, and what counts as no answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from apitwin.conventions.webhooks.http import CallbackClient, DeliveryError

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head, await reader.readexactly(length)


def run(serve: Serve, exchange: Callable[[CallbackClient, str], Awaitable[object]]) -> object:
    async def main() -> object:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = CallbackClient(timeout=2.0)
        try:
            return await exchange(client, f"http://127.0.0.1:{port}/hook?x=1")
        finally:
            await client.aclose()
            server.close()

    return asyncio.run(main())


def test_posts_the_body_with_headers_and_reuses_the_connection() -> None:
    seen: list[tuple[bytes, bytes]] = []
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while not reader.at_eof():
            try:
                seen.append(await _request(reader))
            except asyncio.IncompleteReadError:
                break
            writer.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}")
            await writer.drain()
        writer.close()

    async def exchange(client: CallbackClient, url: str) -> object:
        return [await client.post(url, {"x-event": "PING"}, b'{"n": %d}' % n) for n in range(3)]

    assert run(serve, exchange) == [202, 202, 202]
    assert connections == 1
    assert [body for _, body in seen] == [b'{"n": 0}', b'{"n": 1}', b'{"n": 2}']
    head = seen[0][0].decode().lower()
    assert head.startswith("post /hook?x=1 http/1.1\r\n")
    assert "x-event: PING".lower() in head and "content-length: 8" in head


def test_a_receiver_that_closes_each_connection_still_gets_every_post() -> None:
    """HTTP/1.0 servers (Python's http.server by default) close after each answer."""
    count = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        await _request(reader)
        count += 1
        writer.write(b"HTTP/1.0 200 OK\r\n\r\nok")
        writer.close()

    async def exchange(client: CallbackClient, url: str) -> object:
        return [await client.post(url, {}, b"{}") for _ in range(3)]

    assert run(serve, exchange) == [200, 200, 200]
    assert count == 3


def test_chunked_answers_and_redirects_are_read_as_statuses() -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not reader.at_eof():
            try:
                head, _ = await _request(reader)
            except asyncio.IncompleteReadError:
                break
            if b"/moved" in head:
                writer.write(b"HTTP/1.1 302 Found\r\nlocation: /x\r\ncontent-length: 0\r\n\r\n")
            else:
                writer.write(
                    b"HTTP/1.1 500 Oops\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                )
            await writer.drain()

    async def exchange(client: CallbackClient, url: str) -> object:
        moved = url.replace("/hook", "/moved")
        return [await client.post(url, {}, b"{}"), await client.post(moved, {}, b"{}")]

    assert run(serve, exchange) == [500, 302]


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (b"", "RemoteProtocolError"),
        (b"SMTP ready\r\n", "RemoteProtocolError"),
        (None, "ReadTimeout"),
    ],
)
def test_no_http_answer_is_a_delivery_error(answer: bytes | None, kind: str) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request(reader)
        if answer is None:
            await asyncio.sleep(5)
        writer.write(answer or b"")
        writer.close()

    async def exchange(client: CallbackClient, url: str) -> object:
        client.timeout = 0.5
        with pytest.raises(DeliveryError) as failed:
            await client.post(url, {}, b"{}")
        return failed.value.kind

    assert run(serve, exchange) == kind


def test_a_port_nobody_listens_on_is_a_connect_error() -> None:
    async def main() -> str:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        with pytest.raises(DeliveryError) as failed:
            await CallbackClient(timeout=2.0).post(f"http://127.0.0.1:{port}/", {}, b"")
        return failed.value.kind

    assert asyncio.run(main()) == "ConnectError"
