"""In-process use: an ASGI application for one twin, for tests that need no socket.

    import httpx
    from apitwin.app import create_app

    app = create_app("dnd5e")
    with httpx.Client(transport=httpx.ASGITransport(app=app), base_url="http://dnd5e") as client:
        client.get("/api/ability-scores/cha")

``create_app`` also accepts the path of any OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from apitwin.engine.twin import TwinOptions, build_twin
from apitwin.server.app import TwinApp
from apitwin.state.memory import MemoryStore
from apitwin.state.store import Store
from apitwin.twins.registry import bundled_names, bundled_profile, generic_profile, spec_path

__all__ = ["create_app"]


def create_app(
    name_or_path: str | Path,
    *,
    seed: int = 0,
    store: Store | None = None,
    stateful: bool = True,
    empty: bool = False,
    auth: str = "open",
    rate_limits: bool | Mapping[str, Any] = True,
    kept_replies: bool = True,
) -> TwinApp:
    """Build the ASGI app of a bundled twin (by name) or of a document (by path).

    State lives in ``store`` (a fresh in-memory store by default); ``stateful=False``
    answers every operation from the document alone. ``auth="strict"`` accepts only
    credentials the twin issued (see docs/auth.md). ``rate_limits=False`` turns the
    profile's rate limits off; a mapping replaces keys of the policy (docs/conventions.md).
    ``kept_replies=False`` answers every GET afresh instead of with the reply kept while
    the state is unchanged (docs/state.md).
    """
    options = TwinOptions(
        seed=seed, empty=empty, auth=auth, rate_limits=rate_limits, kept_replies=kept_replies
    )
    if stateful and store is None:
        store = MemoryStore()
    chosen = store if stateful else None
    if isinstance(name_or_path, str) and name_or_path in bundled_names():
        profile = bundled_profile(name_or_path)
        return TwinApp(build_twin(profile, spec_path(profile), options, chosen))
    path = Path(name_or_path)
    return TwinApp(build_twin(generic_profile(path.stem, str(path), 0), path, options, chosen))
