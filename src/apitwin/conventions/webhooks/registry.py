"""Registered webhooks: callback URL, secret token, events, and whether the callback
proved it is under the subscriber's control.

Webhooks are configuration, like OAuth clients: they live in the twin's store (reserved
family ``__webhooks__``), so every process serving the twin sends to the same receivers,
and a reset of API state keeps them. Only loopback callbacks are accepted unless the
twin was started with ``--webhook-allow HOST``: a twin must not become a way to make
requests to arbitrary hosts.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from apitwin.conventions.clock import iso
from apitwin.conventions.webhooks.config import WebhookConfig

__all__ = ["WEBHOOKS_FAMILY", "TargetPolicy", "WebhookError", "check_fields", "verify_callback"]

WEBHOOKS_FAMILY = "__webhooks__"
_FIELDS = ("callback_url", "secret_token", "events", "active")


class WebhookError(ValueError):
    """A webhook request the admin prefix refuses, with its HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class TargetPolicy:
    """Which hosts deliveries may go to: loopback, plus the hosts named on the command line
    (``*`` allows any)."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        self.allowed = frozenset(host.lower().strip("[]") for host in allowed)

    def check(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise WebhookError(f"callback_url must be an absolute http(s) URL, not {url!r}")
        host = parts.hostname.lower()
        if "*" in self.allowed or host in self.allowed or _is_loopback(host):
            return
        raise WebhookError(
            f"callback host {host} is not a loopback address; start the twin with "
            f"--webhook-allow {host} to deliver there"
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_fields(
    config: WebhookConfig, policy: TargetPolicy, payload: Any, *, partial: bool
) -> dict[str, Any]:
    """The fields of a register (all required, as drchrono's setup page says) or change
    request, checked; raises WebhookError naming the field."""
    if not isinstance(payload, Mapping):
        raise WebhookError("the body must be a JSON object")
    unknown = sorted(set(payload) - set(_FIELDS))
    if unknown:
        raise WebhookError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(_FIELDS)}")
    fields: dict[str, Any] = {}
    for name in ("callback_url", "secret_token", "events"):
        if name not in payload:
            if not partial:
                raise WebhookError(f"'{name}' is required")
            continue
        fields[name] = payload[name]
    if "callback_url" in fields:
        if not isinstance(fields["callback_url"], str):
            raise WebhookError("'callback_url' must be a string")
        policy.check(fields["callback_url"])
    if "secret_token" in fields and (
        not isinstance(fields["secret_token"], str) or not fields["secret_token"]
    ):
        raise WebhookError("'secret_token' must be a non-empty string")
    if "events" in fields:
        events = fields["events"]
        if (
            not isinstance(events, list)
            or not events
            or not all(isinstance(e, str) for e in events)
        ):
            raise WebhookError("'events' must be a non-empty list of event names")
        unknown_events = [e for e in events if e not in config.events]
        if unknown_events:
            raise WebhookError(
                f"unknown event(s) {', '.join(unknown_events)}; known: {', '.join(config.events)}"
            )
        fields["events"] = list(dict.fromkeys(events))
    if "active" in payload:
        if not isinstance(payload["active"], bool):
            raise WebhookError("'active' must be true or false")
        fields["active"] = payload["active"]
    return fields


def new_record(fields: dict[str, Any], now: float) -> dict[str, Any]:
    ident = uuid.uuid4().hex[:12]
    return {
        "key": ident,
        "id": ident,
        "callback_url": fields["callback_url"],
        "secret_token": fields["secret_token"],
        "events": fields["events"],
        "active": fields.get("active", True),
        "verified": False,
        "verification": None,
        "created_at": iso(now),
    }


def receiver_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """The webhook as deliveries describe it (``receiver``): never the secret, which the
    receiver already knows."""
    return {
        "id": record["id"],
        "callback_url": record["callback_url"],
        "events": record["events"],
        "active": record.get("active", True),
        "verified": record.get("verified", False),
    }


def signature_of(config: WebhookConfig, secret: str, body: bytes) -> str:
    if config.signature == "secret":
        return secret
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_callback(
    config: WebhookConfig, policy: TargetPolicy, url: str, secret: str, now: float
) -> dict[str, Any]:
    """Ask the callback to prove it knows the secret (drchrono's verification): ``GET
    url?msg=RANDOM`` must answer 200 JSON whose ``secret_token`` is the hex HMAC-SHA256
    of ``msg`` keyed with the secret. Returns the outcome, never raises for the
    receiver's faults."""
    outcome: dict[str, Any] = {"at": iso(now), "verified": False, "status": None, "error": None}
    if config.verification == "none":
        outcome["verified"] = True
        return outcome
    policy.check(url)
    msg = secrets.token_hex(16)
    expected = hmac.new(secret.encode(), msg.encode(), hashlib.sha256).hexdigest()
    try:
        response = httpx.get(
            url,
            params={config.challenge_param: msg},
            timeout=config.timeout,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        outcome["error"] = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return outcome
    outcome["status"] = response.status_code
    if response.status_code != 200:
        outcome["error"] = f"the callback answered {response.status_code}, not 200"
        return outcome
    try:
        answer = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        outcome["error"] = "the callback's answer is not JSON"
        return outcome
    token = answer.get(config.challenge_answer) if isinstance(answer, dict) else None
    if not isinstance(token, str) or not hmac.compare_digest(token, expected):
        outcome["error"] = (
            f"'{config.challenge_answer}' in the answer is not the HMAC-SHA256 of "
            f"'{config.challenge_param}' keyed with the secret token"
        )
        return outcome
    outcome["verified"] = True
    return outcome
