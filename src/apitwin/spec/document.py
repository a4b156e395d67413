"""The loaded document: the raw OpenAPI 3.x tree plus what is needed to walk it.

References stay as ``{"$ref": ...}`` nodes in the tree; callers follow them with
:meth:`SpecDocument.resolve` where they need the target. Keeping refs unexpanded keeps
memory proportional to the file (DigitalOcean points 2,798 times into other paths) and
makes circular schemas harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["SpecDocument", "SpecError", "SpecWarning", "escape_pointer", "join_pointer"]


class SpecError(Exception):
    """A document that cannot be served: names the file and the JSON pointer."""

    def __init__(self, source: str, pointer: str, message: str) -> None:
        self.source = source
        self.pointer = pointer or "/"
        self.message = message
        super().__init__(f"{source}: {self.pointer}: {message}")


@dataclass(frozen=True)
class SpecWarning:
    """A defect the engine worked around (bad example, media type without schema, ...)."""

    source: str
    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.pointer or '/'}: {self.message}"


def escape_pointer(token: str) -> str:
    """Escape one reference token for a JSON pointer (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def join_pointer(base: str, *tokens: str | int) -> str:
    """Append reference tokens to a JSON pointer."""
    return base + "".join("/" + escape_pointer(str(t)) for t in tokens)


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


@dataclass
class SpecDocument:
    """An OpenAPI 3.x document (Swagger 2.0 input is converted before it gets here)."""

    source: str
    raw: dict[str, Any]
    openapi_version: str  # "3.0" or "3.1"
    original_version: str  # as written in the file: "2.0", "3.0.3", "3.1.0", ...
    warnings: list[SpecWarning] = field(default_factory=list)

    @property
    def is_31(self) -> bool:
        return self.openapi_version == "3.1"

    def warn(self, pointer: str, message: str) -> None:
        self.warnings.append(SpecWarning(self.source, pointer, message))

    def lookup(self, pointer: str) -> Any:
        """The node at a JSON pointer (``/components/schemas/X``), or raise SpecError."""
        node: Any = self.raw
        if pointer in ("", "/"):
            return node
        if not pointer.startswith("/"):
            raise SpecError(self.source, pointer, "not a JSON pointer")
        for raw_token in pointer[1:].split("/"):
            token = _unescape(raw_token)
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                raise SpecError(self.source, pointer, "reference target does not exist")
        return node

    def ref_pointer(self, ref: str, at: str = "") -> str:
        """The JSON pointer of an internal ``$ref`` value; external refs are refused."""
        if not ref.startswith("#"):
            raise SpecError(self.source, at, f"external reference {ref!r} is not supported")
        from urllib.parse import unquote

        return unquote(ref[1:])

    def resolve(self, node: Any, at: str = "") -> Any:
        """Follow ``$ref`` chains until a node that is not a bare reference."""
        return self.resolve_with_pointer(node, at)[0]

    def resolve_with_pointer(self, node: Any, at: str) -> tuple[Any, str]:
        """Like :meth:`resolve`, also giving the pointer of the node finally reached."""
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            pointer = self.ref_pointer(node["$ref"], at)
            if pointer in seen:
                raise SpecError(self.source, pointer, "reference cycle with no schema in it")
            seen.add(pointer)
            node = self.lookup(pointer)
            at = pointer
        return node, at
