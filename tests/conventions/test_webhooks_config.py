"""The generic webhook pieces that need no network: a profile's ``webhooks`` entry, the
callback host policy, and what a twin without webhooks answers."""

from __future__ import annotations

from typing import Any

import pytest

from apitwin.conventions.webhooks.config import WebhookConfigError, parse_config
from apitwin.conventions.webhooks.registry import TargetPolicy, WebhookError
from apitwin.engine.twin import TwinOptions, build_twin
from apitwin.server.admin import admin_request
from apitwin.state.memory import MemoryStore
from apitwin.twins.registry import bundled_profile, spec_path

EVENTS = {
    "NOTE_LOCK": {
        "family": "appointments",
        "on": "modify",
        "when": {"field": "note.locked", "becomes": True},
    },
    "NOTE_UNLOCK": {
        "family": "appointments",
        "on": "modify",
        "when": {"field": "note.locked", "was": True, "becomes": False},
    },
}


def test_when_fires_only_on_the_change_it_names() -> None:
    config = parse_config({"events": EVENTS})
    [lock] = config.triggers_for("appointments", "modify")[:1]
    unlock = config.triggers_for("appointments", "modify")[1]
    locked, unlocked, bare = {"note": {"locked": True}}, {"note": {"locked": False}}, {"note": {}}
    assert lock.matches(unlocked, locked) and lock.matches(bare, locked)
    assert not lock.matches(locked, locked) and not lock.matches(locked, unlocked)
    assert unlock.matches(locked, unlocked)
    assert not unlock.matches(bare, unlocked)  # never locked: nothing was unlocked


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({}, "events"),
        ({"events": {"X": {"on": "create"}}}, "family"),
        ({"events": {"X": {"family": "a", "on": "explode"}}}, "'on'"),
        ({"events": {"X": {"family": "a", "object": {"family": "b"}}}}, "key_field"),
        ({"events": {"X": {"family": "a"}}, "retry_after": ["1h"]}, "retry_after"),
        ({"events": {"X": {"family": "a"}}, "signature": "md5"}, "signature"),
    ],
)
def test_a_malformed_profile_entry_is_refused_naming_the_key(raw: Any, named: str) -> None:
    with pytest.raises(WebhookConfigError, match=named):
        parse_config(raw)


def test_callbacks_go_to_loopback_unless_a_host_is_allowed() -> None:
    loopback = TargetPolicy()
    for url in (
        "http://127.0.0.1:8000/h",
        "http://127.9.9.9/h",
        "http://[::1]:80/h",
        "http://localhost/h",
    ):
        loopback.check(url)
    for url in (
        "http://10.0.0.5/h",
        "http://hooks.example.com/h",
        "ftp://127.0.0.1/h",
        "/relative",
    ):
        with pytest.raises(WebhookError):
            loopback.check(url)
    allowed = TargetPolicy(["Hooks.Example.com"])
    allowed.check("https://hooks.example.com/drchrono")
    with pytest.raises(WebhookError):
        allowed.check("https://other.example.com/drchrono")
    TargetPolicy(["*"]).check("https://anywhere.example.org/")


def test_the_command_line_allow_list_reaches_the_twins_policy() -> None:
    profile = bundled_profile("drchrono")
    options = TwinOptions(webhook_allow=("hooks.internal",))
    twin = build_twin(profile, spec_path(profile), options, MemoryStore())
    assert twin.webhooks is not None
    twin.webhooks.policy.check("http://hooks.internal:9000/cb")


def test_a_twin_without_webhooks_says_so() -> None:
    profile = bundled_profile("dnd5e")
    twin = build_twin(profile, spec_path(profile), TwinOptions(), MemoryStore())
    assert twin.webhooks is None
    status, body = admin_request(twin, "GET", "/webhooks")
    assert status == 404
    assert "no webhooks" in body["message"]
