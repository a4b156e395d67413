"""Webhooks, generically: a twin's profile declares its events and what triggers them,
the engine keeps a registry of callbacks, verifies them, and delivers events off the
request path with the real service's headers and retry schedule (docs/webhooks.md).

- ``config.py``   the profile's ``webhooks`` key: events, triggers, headers, schedule
- ``registry.py`` callback rules (loopback only unless allowed), verification, signatures
- ``hub.py``      one twin's webhooks: registry, events, delivery log, retries
- ``delivery.py`` the worker that sends on the serving event loop, in order per object
- ``http.py``     the small HTTP/1.1 client it sends with
- ``triggers.py`` events from the API's own writes
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from apitwin.conventions.webhooks.config import WebhookConfigError, parse_config
from apitwin.conventions.webhooks.hub import DELIVERIES_FAMILY, WebhookHub
from apitwin.conventions.webhooks.registry import WEBHOOKS_FAMILY, TargetPolicy, WebhookError
from apitwin.conventions.webhooks.triggers import install_triggers

if TYPE_CHECKING:
    from apitwin.engine.twin import Twin

__all__ = [
    "DELIVERIES_FAMILY",
    "WEBHOOKS_FAMILY",
    "WebhookConfigError",
    "WebhookError",
    "WebhookHub",
    "install_webhooks",
]


def install_webhooks(twin: Twin) -> WebhookHub | None:
    """The twin's webhook hub when its profile declares webhooks and it keeps state;
    raises WebhookConfigError for a profile entry it cannot use."""
    raw = twin.profile.extra.get("webhooks")
    if raw is None or twin.semantics is None:
        return None
    config = parse_config(raw)
    hub = WebhookHub(twin, config, TargetPolicy(twin.options.webhook_allow))
    try:
        install_triggers(twin, hub)
    except ValueError as exc:
        raise WebhookConfigError(str(exc)) from None
    return hub
