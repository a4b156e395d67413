"""In-process use: an ASGI application for one twin, for tests that need no socket.

    import httpx
    from apitwin.app import create_app

    app = create_app("dnd5e")
    with httpx.Client(transport=httpx.ASGITransport(app=app), base_url="http://dnd5e") as client:
        client.get("/api/ability-scores/cha")

``create_app`` also accepts the path of any OpenAPI document.
"""

from __future__ import annotations

from pathlib import Path

from apitwin.engine.twin import TwinOptions, build_twin
from apitwin.server.app import TwinApp
from apitwin.twins.registry import bundled_names, bundled_profile, generic_profile, spec_path

__all__ = ["create_app"]


def create_app(name_or_path: str | Path, *, seed: int = 0) -> TwinApp:
    """Build the ASGI app of a bundled twin (by name) or of a document (by path)."""
    options = TwinOptions(seed=seed)
    if isinstance(name_or_path, str) and name_or_path in bundled_names():
        profile = bundled_profile(name_or_path)
        return TwinApp(build_twin(profile, spec_path(profile), options))
    path = Path(name_or_path)
    return TwinApp(build_twin(generic_profile(path.stem, str(path), 0), path, options))
