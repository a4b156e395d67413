"""What a profile's ``webhooks`` key declares: events, what triggers them, and how the
real service signs, verifies and retries.

The events of an API are data, not code: "PATIENT_CREATE fires when a patient is
created" is ``{"family": "patients", "on": "create"}``. A trigger may wait for a field to
change (``"when": {"field": "clinical_note.locked", "becomes": true}``) and may send a
related object instead of the changed one (a task note changes, the task is sent:
``"object": {"family": "tasks", "key_field": "task"}``). Parsed once at start-up; a
malformed entry is a profile defect reported with the twin's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KINDS", "Related", "Trigger", "WebhookConfig", "WebhookConfigError"]

KINDS = ("create", "modify", "delete")
_MISSING = object()


class WebhookConfigError(ValueError):
    """A profile's ``webhooks`` entry that cannot be understood."""


@dataclass(frozen=True)
class Related:
    """Send the item of ``family`` whose key is the changed item's ``key_field``."""

    family: str
    key_field: str


@dataclass(frozen=True)
class Trigger:
    event: str
    family: str
    kinds: frozenset[str]
    field_path: tuple[str, ...] = ()  # "when": a field that must change ...
    becomes: Any = None  # ... to this value
    was: Any = _MISSING  # ... from this one (any other value when not given)
    related: Related | None = None

    def matches(self, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> bool:
        """Whether a change from ``before`` to ``after`` fires this trigger's event."""
        if not self.field_path:
            return True
        new = _dig(after, self.field_path)
        if new is _MISSING or new != self.becomes:
            return False
        old = _dig(before, self.field_path)
        return old == self.was if self.was is not _MISSING else old != new


def _dig(item: Mapping[str, Any] | None, path: tuple[str, ...]) -> Any:
    value: Any = item
    for name in path:
        if not isinstance(value, Mapping) or name not in value:
            return _MISSING
        value = value[name]
    return value


@dataclass(frozen=True)
class WebhookConfig:
    """Everything a twin's webhooks do that differs between APIs."""

    events: tuple[str, ...]
    triggers: dict[tuple[str, str], list[Trigger]] = field(default_factory=dict)
    event_header: str = "X-Webhook-Event"
    signature_header: str = "X-Webhook-Signature"
    delivery_header: str = "X-Webhook-Delivery"
    signature: str = "hmac-sha256"  # or "secret": the secret token itself (drchrono)
    verification: str = "hmac-challenge"  # or "none": verified when registered
    challenge_param: str = "msg"
    challenge_answer: str = "secret_token"
    retry_after: tuple[float, ...] = (3600.0, 10800.0, 25200.0)
    retry_from: str = "event"  # "event": delays count from the event; "attempt": from the last try
    ping_event: str = "PING"
    timeout: float = 10.0

    def triggers_for(self, family: str, kind: str) -> list[Trigger]:
        return self.triggers.get((family, kind), [])

    def families(self) -> set[str]:
        return {family for family, _ in self.triggers}


def parse_config(raw: Any) -> WebhookConfig:
    """The profile's ``webhooks`` entry, checked."""
    if not isinstance(raw, Mapping):
        raise WebhookConfigError("'webhooks' must be an object")
    events_raw = raw.get("events")
    if not isinstance(events_raw, Mapping) or not events_raw:
        raise WebhookConfigError("'webhooks.events' must map event names to triggers")
    triggers: dict[tuple[str, str], list[Trigger]] = {}
    for event, spec in events_raw.items():
        for one in spec if isinstance(spec, list) else [spec]:
            trigger = _trigger(str(event), one)
            for kind in trigger.kinds:
                triggers.setdefault((trigger.family, kind), []).append(trigger)
    headers = raw.get("headers") or {}
    retry = raw.get("retry_after", [3600, 10800, 25200])
    if not isinstance(retry, list) or not all(
        isinstance(s, int | float) and not isinstance(s, bool) and s >= 0 for s in retry
    ):
        raise WebhookConfigError("'webhooks.retry_after' must be a list of seconds")
    challenge = raw.get("verification") or {}
    if not isinstance(headers, Mapping) or not isinstance(challenge, Mapping):
        raise WebhookConfigError("'webhooks.headers' and 'verification' must be objects")
    config = WebhookConfig(
        events=tuple(str(e) for e in events_raw),
        triggers=triggers,
        event_header=str(headers.get("event", "X-Webhook-Event")),
        signature_header=str(headers.get("signature", "X-Webhook-Signature")),
        delivery_header=str(headers.get("delivery", "X-Webhook-Delivery")),
        signature=str(raw.get("signature", "hmac-sha256")),
        verification=str(challenge.get("style", "hmac-challenge")),
        challenge_param=str(challenge.get("param", "msg")),
        challenge_answer=str(challenge.get("answer", "secret_token")),
        retry_after=tuple(float(s) for s in retry),
        retry_from=str(raw.get("retry_from", "event")),
        ping_event=str(raw.get("ping_event", "PING")),
        timeout=float(raw.get("timeout", 10.0)),
    )
    if config.signature not in ("hmac-sha256", "secret"):
        raise WebhookConfigError("'webhooks.signature' must be 'hmac-sha256' or 'secret'")
    if config.verification not in ("hmac-challenge", "none"):
        raise WebhookConfigError("'webhooks.verification.style' must be 'hmac-challenge' or 'none'")
    if config.retry_from not in ("event", "attempt"):
        raise WebhookConfigError("'webhooks.retry_from' must be 'event' or 'attempt'")
    return config


def _trigger(event: str, spec: Any) -> Trigger:
    if not isinstance(spec, Mapping) or not isinstance(spec.get("family"), str):
        raise WebhookConfigError(f"event {event}: a trigger needs a 'family'")
    on = spec.get("on", "create")
    kinds = frozenset([on] if isinstance(on, str) else on if isinstance(on, list) else [])
    if not kinds or not kinds <= set(KINDS):
        raise WebhookConfigError(f"event {event}: 'on' must be one or more of {', '.join(KINDS)}")
    path: tuple[str, ...] = ()
    becomes: Any = None
    was: Any = _MISSING
    when = spec.get("when")
    if when is not None:
        if not isinstance(when, Mapping) or not isinstance(when.get("field"), str):
            raise WebhookConfigError(f"event {event}: 'when' needs a 'field' and 'becomes'")
        path = tuple(when["field"].split("."))
        becomes = when.get("becomes")
        was = when.get("was", _MISSING)
    related = None
    obj = spec.get("object")
    if obj is not None:
        if not isinstance(obj, Mapping) or not all(
            isinstance(obj.get(k), str) for k in ("family", "key_field")
        ):
            raise WebhookConfigError(f"event {event}: 'object' needs 'family' and 'key_field'")
        related = Related(obj["family"], obj["key_field"])
    return Trigger(event, spec["family"], kinds, path, becomes, was, related)
