"""Cross-Origin Resource Sharing, so that a web page can call a twin as it calls the API.

The behaviour is the one DigitalOcean documents for its API, and the engine gives it to
every twin: a browser's preflight (``OPTIONS`` with ``Origin`` and
``Access-Control-Request-Method``) on a path without a documented OPTIONS operation is
answered ``204`` with the allowed origin (the caller's own), the methods of that path, the
requested headers and how long the answer may be cached; every other answer to a request
with an ``Origin`` carries the allowed origin, credentials and the headers a script may
read (the response headers the document declares, such as DigitalOcean's
``ratelimit-*``, plus the profile's). A profile tunes it with::

    "cors": {"max_age": 86400, "allow_credentials": true,
             "allow_headers": ["Authorization", "Content-Type"],
             "expose_headers": ["X-RateLimit-Limit"]}

or turns it off with ``"cors": false`` (then OPTIONS is a 405 like any undocumented
method).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["CorsPolicy", "declared_response_headers"]

Header = tuple[bytes, bytes]

_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
# Readable by scripts without being exposed (the CORS-safelisted response headers).
_SAFELISTED = frozenset(
    {
        "cache-control",
        "content-language",
        "content-length",
        "content-type",
        "expires",
        "last-modified",
        "pragma",
    }
)
_DEFAULT_ALLOW_HEADERS = ("Authorization", "Content-Type")


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(part).strip() for part in value if str(part).strip()]
    return []


class CorsPolicy:
    """One twin's CORS answers, compiled once from its profile and document."""

    def __init__(self, config: Any, declared_headers: Iterable[str] = ()) -> None:
        self.enabled = config is not False
        settings: Mapping[str, Any] = config if isinstance(config, dict) else {}
        max_age = settings.get("max_age", 86400)
        self.max_age = str(int(max_age)) if isinstance(max_age, int | float) else "86400"
        self.credentials = bool(settings.get("allow_credentials", True))
        allow = _names(settings.get("allow_headers")) or list(_DEFAULT_ALLOW_HEADERS)
        self.allow_headers = ", ".join(allow).encode("latin-1")
        exposed: dict[str, str] = {}
        for name in [*declared_headers, *_names(settings.get("expose_headers"))]:
            if name.lower() not in _SAFELISTED:
                exposed.setdefault(name.lower(), name)
        self.expose_headers = ", ".join(exposed.values()).encode("latin-1")

    def is_preflight(self, method: str, headers: Mapping[str, str]) -> bool:
        return (
            self.enabled
            and method == "OPTIONS"
            and "origin" in headers
            and "access-control-request-method" in headers
        )

    def preflight(self, headers: Mapping[str, str], methods: Iterable[str]) -> list[Header]:
        """The headers of a 204 answer to a preflight on a path with these methods, beside
        those of :meth:`response`.

        The methods listed are the path's own, so a browser refuses the others itself, as
        it would against the real API.
        """
        allowed = {m.upper() for m in methods} | {"OPTIONS"}
        if "GET" in allowed:
            allowed.add("HEAD")
        ordered = [m for m in _METHOD_ORDER if m in allowed]
        ordered += sorted(allowed - set(_METHOD_ORDER))
        requested = headers.get("access-control-request-headers", "").strip()
        return [
            (b"access-control-allow-methods", ", ".join(ordered).encode("latin-1")),
            (
                b"access-control-allow-headers",
                requested.encode("latin-1", "replace") if requested else self.allow_headers,
            ),
            (b"access-control-max-age", self.max_age.encode("latin-1")),
        ]

    def response(self, origin: bytes | None) -> list[Header]:
        """The headers every answer to a cross-origin request carries (none without Origin)."""
        if not self.enabled or origin is None:
            return []
        result = [(b"access-control-allow-origin", origin)]
        if self.credentials:
            result.append((b"access-control-allow-credentials", b"true"))
        result.append((b"vary", b"Origin"))
        if self.expose_headers:
            result.append((b"access-control-expose-headers", self.expose_headers))
        return result


def declared_response_headers(responses: Iterable[Mapping[str, Any]]) -> list[str]:
    """Header names the document declares on responses, first spelling kept, in order."""
    seen: dict[str, str] = {}
    for headers in responses:
        for name in headers:
            seen.setdefault(str(name).lower(), str(name))
    return list(seen.values())
