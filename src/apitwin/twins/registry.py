"""Where the bundled twins are and what their profiles say.

A profile is data (``profiles/<name>.json``): the default port, how to point the usual
client at the twin, and the conventions the spec cannot express (error shape, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

__all__ = ["Profile", "bundled_names", "bundled_profile", "generic_profile", "spec_path"]

_PACKAGE = "apitwin.twins"


@dataclass(frozen=True)
class Profile:
    """Per-twin declarations; every field has a generic default for user-supplied documents."""

    name: str
    spec: str
    port: int
    title: str = ""
    client: str = "base URL {url}"
    error: dict[str, Any] = field(default_factory=dict)
    validation_status: tuple[int, ...] = (400, 422)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> Profile:
        known = {"name", "spec", "port", "title", "client", "error", "validation_status"}
        return cls(
            name=str(data["name"]),
            spec=str(data.get("spec", "")),
            port=int(data.get("port", 0)),
            title=str(data.get("title", data["name"])),
            client=str(data.get("client", "base URL {url}")),
            error=dict(data.get("error") or {}),
            validation_status=tuple(int(s) for s in data.get("validation_status", (400, 422))),
            extra={k: v for k, v in data.items() if k not in known},
        )


_ORDER = (
    "digitalocean",
    "docker-engine",
    "docker-hub",
    "docker-dvp",
    "discourse",
    "dnd5e",
    "nookipedia",
    "digitalnz",
    "dracoon",
    "drchrono",
    "dweet",
    "ebay-browse",
    "ebay-deal",
)


def bundled_names() -> tuple[str, ...]:
    """The thirteen bundled twins, in the order `apitwin list` prints them."""
    return _ORDER


@cache
def bundled_profile(name: str) -> Profile:
    if name not in _ORDER:
        raise KeyError(name)
    data = resources.files(_PACKAGE).joinpath("profiles", f"{name}.json").read_bytes()
    return Profile.from_mapping(orjson.loads(data))


def spec_path(profile: Profile) -> Path:
    """The vendored document of a bundled twin."""
    return Path(str(resources.files(_PACKAGE).joinpath("specs", profile.spec)))


def generic_profile(name: str, spec: str, port: int) -> Profile:
    """A profile for any document a user hands over: generic conventions only."""
    return Profile(name=name, spec=spec, port=port, title=name)
