"""Per-twin behaviour that a document cannot express.

Most of a twin comes from its document and profile. Where a real service does more than
its document says (Docker's container state machine, DigitalOcean's actions, drchrono's
webhooks, login endpoints), the profile names a module here under ``"behaviour"``, and
that module's ``install(twin)`` replaces or wraps the handlers of chosen operations.
Everything else keeps the generic engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apitwin.engine.twin import Twin

__all__ = ["install_behaviour"]


def install_behaviour(twin: Twin) -> None:
    """Run the ``install`` of the module the twin's profile names, if it names one."""
    names = twin.profile.extra.get("behaviour")
    if not names:
        return
    for name in [names] if isinstance(names, str) else list(names):
        module = importlib.import_module(f"{__name__}.{name}")
        module.install(twin)
