"""Every inferred family of every bundled twin walked through its lifecycle over HTTP,
with no per-API code: at least 90% of the families must pass, and the ones that do not
are those listed (with the reason) in docs/state.md."""

from __future__ import annotations

import pytest

from apitwin.twins.registry import bundled_names
from tests.state.crud_walk import WalkResult, walk

# Families the walk cannot complete from the document alone; docs/state.md says why.
KNOWN = {
    ("discourse", "posts"),
    ("dracoon", "system_config_oauth_clients"),
    ("digitalnz", "records"),
    # DigitalOcean's behaviour refuses, as the service does, creates that name resources
    # the account does not have (a synthesized image id, droplet ids, project, snapshot,
    # Kubernetes version) and deleting a region's default VPC (docs/state.md).
    ("digitalocean", "droplets"),
    ("digitalocean", "firewalls"),
    ("digitalocean", "floating_ips"),
    ("digitalocean", "floating_ips.actions"),
    ("digitalocean", "images.actions"),
    ("digitalocean", "kubernetes_clusters"),
    ("digitalocean", "load_balancers"),
    ("digitalocean", "reserved_ips"),
    ("digitalocean", "reserved_ips.actions"),
    ("digitalocean", "volumes"),
    ("digitalocean", "volumes.actions"),
    ("digitalocean", "vpcs"),
}


@pytest.fixture(scope="module")
def results() -> dict[str, list[WalkResult]]:
    return {name: walk(name) for name in bundled_names()}


def test_at_least_90_percent_of_families_complete_their_lifecycle(
    results: dict[str, list[WalkResult]],
) -> None:
    walked = [r for rs in results.values() for r in rs]
    passed = [r for r in walked if r.passed]
    assert len(walked) > 150
    assert len(passed) / len(walked) >= 0.9, [(r.family, r.failure) for r in walked if not r.passed]


def test_only_the_documented_families_fail(results: dict[str, list[WalkResult]]) -> None:
    failing = {(name, r.family) for name, rs in results.items() for r in rs if not r.passed}
    details = {
        (name, r.family): r.failure for name, rs in results.items() for r in rs if not r.passed
    }
    assert failing <= KNOWN, {k: details[k] for k in failing - KNOWN}


@pytest.mark.parametrize(
    ("twin", "family", "steps"),
    [
        ("digitalocean", "account_keys", ["create", "get", "list", "replace", "delete", "404"]),
        ("digitalocean", "domains.records", ["create", "get", "list", "update", "delete", "404"]),
        ("drchrono", "patients", ["create", "get", "list", "update", "delete", "404"]),
        ("dnd5e", "ability-scores", ["list", "get"]),
    ],
)
def test_walks_take_every_step_the_family_has(
    results: dict[str, list[WalkResult]], twin: str, family: str, steps: list[str]
) -> None:
    [result] = [r for r in results[twin] if r.family == family]
    assert result.passed, result.failure
    assert result.steps == steps
