"""A webhook receiver as an app developer writes one: a small HTTP server on a loopback
port that answers drchrono's verification with the HMAC of ``msg`` and records every
delivery it gets."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["Delivery", "Receiver"]


@dataclass
class Delivery:
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def event(self) -> str:
        return self.headers.get("x-drchrono-event", "")


@dataclass
class Receiver:
    """Answers ``GET ?msg=`` with ``{"secret_token": hmac}`` (or a wrong one when told to),
    answers deliveries with ``status``, and keeps what it received, in order."""

    secret: str
    status: int = 200
    wrong_hmac: bool = False
    deliveries: list[Delivery] = field(default_factory=list)
    verifications: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/drchrono/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                msg = parse_qs(urlsplit(self.path).query).get("msg", [""])[0]
                key = receiver.secret + ("x" if receiver.wrong_hmac else "")
                token = hmac.new(key.encode(), msg.encode(), hashlib.sha256).hexdigest()
                with receiver._lock:
                    receiver.verifications += 1
                self._answer(200, {"secret_token": token})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    receiver.deliveries.append(Delivery(headers, body))
                self._answer(receiver.status, {})

            def _answer(self, status: int, value: Any) -> None:
                payload = json.dumps(value).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def received(self, event: str | None = None) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if event is None or d.event == event]

    def wait_for(self, count: int, event: str | None = None, limit: float = 20.0) -> list[Delivery]:
        """Poll (bounded) until ``count`` deliveries of ``event`` arrived; returns them."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            got = self.received(event)
            if len(got) >= count:
                return got
            time.sleep(0.02)
        return self.received(event)
