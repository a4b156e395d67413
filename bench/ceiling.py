"""The ceiling of the stack: a bare ASGI app on the ASGI server apitwin uses.

Usage: python bench/ceiling.py --port P --size BYTES [--status 200] [--host 127.0.0.1]

Answers every request, after reading its body, with a fixed JSON body of ``--size`` bytes
and the given status, served by uvicorn with the httptools parser on uvloop and the
settings of apitwin's server (src/apitwin/server/runner.py): no access log, no server
header, a date header. Whatever apitwin does per request on top of this is its own cost.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def fixed_body(size: int) -> bytes:
    """A JSON document of exactly ``size`` bytes (at least 12)."""
    filler = max(0, size - len(b'{"data":""}'))
    return b'{"data":"' + b"x" * filler + b'"}'


class Ceiling:
    def __init__(self, body: bytes, status: int) -> None:
        self.body = body
        self.status = status
        self.headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        while True:
            message = await receive()
            if message["type"] == "http.disconnect" or not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--size", type=int, required=True, help="bytes of the response body")
    parser.add_argument("--status", type=int, default=200)
    args = parser.parse_args()
    config = uvicorn.Config(
        Ceiling(fixed_body(args.size), args.status),
        host=args.host,
        port=args.port,
        http="httptools",
        loop="uvloop",
        lifespan="off",
        access_log=False,
        log_level="warning",
        server_header=False,
        date_header=True,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
