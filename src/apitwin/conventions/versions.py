"""Version prefixes in the URL, as the Docker daemon serves them.

The Docker Engine document's base path is ``/v1.33``, but the daemon answers any
``/v1.N/`` it supports and unversioned paths too (``docker version`` pings ``/_ping``
before it negotiates a version), refuses a version outside its range with a 400 naming
the range, and names its own version in a header on every response. A profile declares
it::

    "versions": {"current": "1.33", "minimum": "1.24", "header": "Api-Version"}

``too_new`` and ``too_old`` give the refusal messages (``{version}``, ``{current}`` and
``{minimum}`` are filled in); the defaults are the daemon's own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["VersionError", "VersionPrefix"]

_PREFIX = re.compile(r"/v([0-9][0-9.]*)(?=/|$)")
_TOO_NEW = "client version {version} is too new. Maximum supported API version is {current}"
_TOO_OLD = (
    "client version {version} is too old. Minimum supported API version is {minimum}, "
    "please upgrade your client to a newer version"
)


class VersionError(Exception):
    """A version the twin does not serve; the message is the API's own."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _parse(text: str) -> tuple[int, ...]:
    """Dotted numbers compared part by part, missing parts as 0 (1.33 == 1.33.0)."""
    parts = [int(part) if part.isdigit() else 0 for part in text.split(".")]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


@dataclass(frozen=True)
class VersionPrefix:
    """The served range of ``/v<version>`` prefixes and the header naming the current one."""

    current: str
    minimum: str
    header: tuple[bytes, bytes] | None
    too_new: str = _TOO_NEW
    too_old: str = _TOO_OLD

    @classmethod
    def from_profile(cls, config: Any) -> VersionPrefix | None:
        if not isinstance(config, Mapping) or "current" not in config:
            return None
        current = str(config["current"])
        name = config.get("header")
        return cls(
            current=current,
            minimum=str(config.get("minimum", current)),
            header=(str(name).lower().encode("latin-1"), current.encode("latin-1"))
            if name
            else None,
            too_new=str(config.get("too_new", _TOO_NEW)),
            too_old=str(config.get("too_old", _TOO_OLD)),
        )

    def strip(self, path: str) -> str:
        """The path without its version prefix (unversioned paths as they are); raises
        VersionError for a version outside the served range."""
        found = _PREFIX.match(path)
        if found is None:
            return path
        version = found.group(1)
        values = {"version": version, "current": self.current, "minimum": self.minimum}
        wanted = _parse(version)
        if wanted > _parse(self.current):
            raise VersionError(self.too_new.format(**values))
        if wanted < _parse(self.minimum):
            raise VersionError(self.too_old.format(**values))
        return path[found.end() :] or "/"
