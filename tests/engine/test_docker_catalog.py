"""The Docker image catalogue: references resolve as docker resolves them, pulls are kept."""

from __future__ import annotations

import pytest

from apitwin.behaviours.docker_catalog import (
    digest_of,
    find_image,
    record_pull,
    recorded_pulls,
    split_reference,
)
from apitwin.state.memory import MemoryStore


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("busybox", ("busybox", "latest")),
        ("nginx:1.27", ("nginx", "1.27")),
        ("docker.io/library/alpine:3.20", ("library/alpine", "3.20")),
        ("localhost:5000/team/app", ("localhost:5000/team/app", "latest")),
        ("redis@sha256:abc", ("redis", "latest")),
    ],
)
def test_references_split_like_docker(reference: str, expected: tuple[str, str]) -> None:
    assert split_reference(reference) == expected


def test_official_images_resolve_with_and_without_library_namespace() -> None:
    short = find_image("alpine:3.20")
    long = find_image("library/alpine:3.20")
    assert short is not None and long is not None and short[0] is long[0]
    assert find_image("alpine:0.0") is None
    assert find_image("no-such-image") is None


def test_digests_are_stable_and_differ_per_tag() -> None:
    found = find_image("busybox")
    assert found is not None
    image, _ = found
    assert digest_of(image, "latest") == digest_of(image, "latest")
    assert digest_of(image, "latest") != digest_of(image, "1.36")
    assert digest_of(image, "latest").startswith("sha256:")


def test_recorded_pulls_come_back_in_order_and_by_namespace() -> None:
    store = MemoryStore()
    busybox = find_image("busybox")
    whoami = find_image("traefik/whoami")
    assert busybox is not None and whoami is not None
    record_pull(store, busybox[0], "latest", "2026-01-01T00:00:00Z", user_agent="docker/28")
    record_pull(store, whoami[0], "latest", "2026-01-01T00:00:01Z")
    pulls = recorded_pulls(store)
    assert [p["repository"] for p in pulls] == ["busybox", "whoami"]
    assert pulls[0]["user_agent"] == "docker/28"
    assert [p["repository"] for p in recorded_pulls(store, "traefik")] == ["whoami"]
