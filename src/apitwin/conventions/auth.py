"""Security requirements checked per operation, compiled from the document.

``open`` mode: any well-formed credential for one of the operation's requirement sets is
accepted; a missing or malformed one gets the API's 401. Requirement sets are
alternatives (any one suffices); the schemes inside one set must all be present. An empty
set (``security: []`` or ``- {}``) makes the operation public.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apitwin.schema.params import RequestParts
from apitwin.spec.document import SpecDocument, join_pointer

__all__ = ["AuthCheck", "compile_security"]

Checker = Callable[[RequestParts], bool]


def _bearer(parts: RequestParts) -> bool:
    scheme, _, token = parts.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


def _basic(parts: RequestParts) -> bool:
    scheme, _, payload = parts.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(payload.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return ":" in decoded


def _any_authorization(parts: RequestParts) -> bool:
    scheme, _, credentials = parts.headers.get("authorization", "").partition(" ")
    return bool(scheme and credentials.strip())


def _api_key(location: str, name: str) -> Checker:
    # Presence is what open mode checks: the key's value is the user's business.
    if location == "header":
        lowered = name.lower()
        return lambda parts: lowered in parts.headers
    if location == "query":
        return lambda parts: name in parts.query
    return lambda parts: name in parts.cookies


def _scheme_checker(doc: SpecDocument, name: str, scheme: Any, pointer: str) -> Checker | None:
    if not isinstance(scheme, dict):
        doc.warn(pointer, f"security scheme {name!r} is not declared; not checked")
        return None
    kind = str(scheme.get("type", "")).lower()
    if kind == "apikey":
        location = str(scheme.get("in", "header"))
        return _api_key(location, str(scheme.get("name", "")))
    if kind == "http":
        http_scheme = str(scheme.get("scheme", "")).lower()
        if http_scheme == "basic":
            return _basic
        if http_scheme == "bearer":
            return _bearer
        return _any_authorization
    if kind in ("oauth2", "openidconnect"):
        return _bearer
    doc.warn(pointer, f"security scheme type {kind!r} is not supported; not checked")
    return None


@dataclass(frozen=True)
class AuthCheck:
    """The compiled security of one operation."""

    alternatives: tuple[tuple[Checker, ...], ...]
    describe: str

    def allows(self, parts: RequestParts) -> bool:
        return any(all(check(parts) for check in checks) for checks in self.alternatives)


def compile_security(
    doc: SpecDocument, security: list[dict[str, list[str]]] | None, pointer: str
) -> AuthCheck | None:
    """None when the operation is public; otherwise the alternatives to try."""
    requirements = security if security is not None else doc.raw.get("security")
    if not isinstance(requirements, list) or not requirements:
        return None
    schemes = (doc.raw.get("components") or {}).get("securitySchemes") or {}
    alternatives: list[tuple[Checker, ...]] = []
    names: list[str] = []
    for index, requirement in enumerate(requirements):
        if not isinstance(requirement, dict) or not requirement:
            return None  # an empty requirement set: anonymous access is allowed
        checks: list[Checker] = []
        for name in requirement:
            at = join_pointer("/components/securitySchemes", name)
            scheme = doc.resolve(schemes.get(name), at) if name in schemes else None
            checker = _scheme_checker(doc, name, scheme, join_pointer(pointer, "security", index))
            if checker is None:
                break
            checks.append(checker)
        else:
            alternatives.append(tuple(checks))
            names.append(" + ".join(requirement))
            continue
        return None  # a requirement we cannot check is treated as satisfied
    return AuthCheck(tuple(alternatives), " or ".join(names))
