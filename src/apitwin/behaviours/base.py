"""What a behaviour module builds on: handlers by operationId, JSON replies, API errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from apitwin.engine.context import Handler, Reply, RequestContext
from apitwin.engine.operation import CompiledOperation, Rejection

if TYPE_CHECKING:
    from apitwin.engine.twin import Twin

__all__ = ["Behaviour", "json_reply", "reject"]


def json_reply(
    value: Any, status: int = 200, headers: list[tuple[bytes, bytes]] | None = None
) -> Reply:
    """``value`` as an ``application/json`` body (no body for ``None``)."""
    out = list(headers or [])
    if value is None:
        return Reply(status, out, b"")
    out.append((b"content-type", b"application/json"))
    return Reply(status, out, orjson.dumps(value))


def reject(
    status: int,
    message: str,
    headers: list[tuple[str, str]] | None = None,
    code: str | None = None,
) -> Rejection:
    """An error the engine renders in the API's own error shape; ``raise reject(...)``.
    ``code`` names the API's own error code (the profile's ``error.error_codes``)."""
    return Rejection(status, message, headers or [], code)


class Behaviour:
    """Base of a twin's behaviour: keeps the twin and binds handlers to its operations.

    ``self.generic(operation_id)`` is the handler the generic semantics gave an
    operation (or ``None``), so a behaviour can wrap it instead of rewriting it.
    """

    def __init__(self, twin: Twin) -> None:
        self.twin = twin
        self.operations: dict[str, CompiledOperation] = {
            op.operation_id: op for op in twin.operations
        }
        self._generic: dict[str, Handler | None] = {
            op_id: op.handler for op_id, op in self.operations.items()
        }

    def generic(self, operation_id: str) -> Handler | None:
        return self._generic.get(operation_id)

    def bind(self, operation_id: str, handler: Handler) -> None:
        """Serve ``operation_id`` with ``handler``; a missing operation is a profile defect."""
        operation = self.operations.get(operation_id)
        if operation is None:
            raise KeyError(f"{self.twin.name}: no operation {operation_id!r} in the document")
        operation.handler = handler

    def bind_all(self, handlers: dict[str, Callable[[RequestContext], Reply]]) -> None:
        for operation_id, handler in handlers.items():
            self.bind(operation_id, handler)
