"""What a behaviour handler receives and returns.

A handler serves one operation instead of the document's canned response: the generic
resource semantics (state/semantics.py) or a twin's own behaviour. It gets the request
already validated, and answers with a :class:`Reply` or raises
:class:`apitwin.engine.operation.Rejection` for an error in the API's own shape.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from apitwin.schema.params import RequestParts

if TYPE_CHECKING:
    from apitwin.engine.operation import CompiledOperation, ValidatedRequest

__all__ = ["Handler", "Reply", "RequestContext"]


@dataclass
class RequestContext:
    operation: CompiledOperation
    request: ValidatedRequest
    parts: RequestParts
    accept: str | None
    origin: str  # scheme://host[:port], for absolute links back to the twin
    path: str = ""  # the request path as sent (base path included, still percent-encoded)
    client: str = ""  # the client's address (host only), as the server saw it

    @property
    def params(self) -> dict[str, Any]:
        return self.request.params


@dataclass
class Reply:
    """A handler's answer. With ``stream`` the body is sent chunk by chunk as the
    iterator yields (Docker's event and progress streams, dweet's listen), without a
    content-length; ``body`` is then ignored. A handler that sets ``fresh_for`` vouches
    that the answer depends on nothing but the request and the stored state (and, for a
    finite value, the clock up to then)."""

    status: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None
    # Seconds this answer to a GET stays true while nothing is written to the twin's
    # state (``math.inf``: until the next write), so that the same request may be answered
    # with it again (engine/reply_cache.py); ``None``: answer every request afresh.
    fresh_for: float | None = None


Handler = Callable[[RequestContext], Reply]
