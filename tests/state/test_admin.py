"""Looking at and resetting state: the admin endpoints under /__apitwin__/, `--empty`,
`apitwin reset`, `apitwin inspect`, and how a bad `--store` is reported."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.state.conftest import POSTGRES_DSN
from tests.state.test_served_state import (
    Launcher,
    Served,
    admin_url,
    create_key,
    list_keys,
    state_of,
    unique_copy,
)

EXAMPLE_KEY_ID = 512189  # the id in DigitalOcean's documented SSH key example


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[Launcher]:
    started = Launcher(tmp_path / "home")
    yield started
    started.stop_all()


@pytest.fixture(scope="module")
def module_launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    started = Launcher(tmp_path_factory.mktemp("admin") / "home")
    yield started
    started.stop_all()


@pytest.fixture(scope="module")
def digitalocean_twin(module_launcher: Launcher) -> Served:
    return module_launcher.start("digitalocean", "--store", "memory")


@pytest.fixture
def digitalocean(digitalocean_twin: Served) -> Served:
    """The module's DigitalOcean twin, reset: no state, no family used yet."""
    reset(digitalocean_twin)
    assert state_of(digitalocean_twin) == {}
    return digitalocean_twin


def reset(served: Served) -> None:
    response = served.client.post(admin_url(served, "/reset"))
    assert response.status_code == 200
    assert response.json() == {"reset": Path(served.target).stem}


def seed(served: Served) -> None:
    response = served.client.post(admin_url(served, "/seed"))
    assert response.status_code == 200
    assert response.json() == {"seeded": Path(served.target).stem}


def run_cli(launcher: Launcher, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apitwin", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=launcher.env(),
        timeout=60,
    )


def ability_scores(served: Served) -> dict[str, Any]:
    response = served.client.get("/api/ability-scores")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert body["count"] == len(body["results"])
    return body


# -- GET state, POST reset, POST seed -----------------------------------------------------


def test_state_shows_the_families_in_use_with_their_resources(digitalocean: Served) -> None:
    key = create_key(digitalocean.client, "laptop")
    droplet = digitalocean.client.post(
        "/v2/droplets", json={"name": "web", "size": "s-1vcpu-1gb", "image": "ubuntu-22-04-x64"}
    )
    assert droplet.status_code == 202, droplet.text
    created_droplet = droplet.json()["droplet"]

    state = state_of(digitalocean)
    # The families used so far, each with its seed items and what was created (the
    # DigitalOcean behaviour seeds the rest of the account along with them).
    assert {"account_keys", "droplets"} <= set(state)
    assert "monitoring_alerts" not in state
    assert state["account_keys"] == list_keys(digitalocean.client)
    assert state["account_keys"][-1] == key
    droplets = digitalocean.client.get("/v2/droplets", params={"per_page": 200}).json()
    assert state["droplets"] == droplets["droplets"]
    assert state["droplets"][-1] == created_droplet


def test_reset_forgets_everything_and_seed_data_returns_on_next_use(digitalocean: Served) -> None:
    seeded = list_keys(digitalocean.client)
    assert len(seeded) == 3
    assert seeded[0]["id"] == EXAMPLE_KEY_ID
    created = create_key(digitalocean.client, "laptop")
    renamed = digitalocean.client.put(f"/v2/account/keys/{EXAMPLE_KEY_ID}", json={"name": "x"})
    assert renamed.status_code == 200

    reset(digitalocean)
    assert state_of(digitalocean) == {}
    assert digitalocean.client.get(f"/v2/account/keys/{created['id']}").status_code == 404
    # The same seed items as before, the renamed one with its documented name again.
    assert list_keys(digitalocean.client) == seeded


def test_seed_fills_every_family_now(launcher: Launcher) -> None:
    dnd5e = launcher.start("dnd5e", "--store", "memory")
    assert state_of(dnd5e) == {}
    seed(dnd5e)
    state = state_of(dnd5e)
    assert {"ability-scores", "classes", "monsters", "spells"} <= set(state)
    assert all(state.values()), [family for family, items in state.items() if not items]
    assert [item["index"] for item in ability_scores(dnd5e)["results"]] == [
        item["index"] for item in state["ability-scores"]
    ]
    cha = dnd5e.client.get("/api/ability-scores/cha")
    assert cha.status_code == 200
    assert cha.json() in state["ability-scores"]


def test_an_update_before_any_read_finds_the_seed_item(digitalocean: Served) -> None:
    path = f"/v2/account/keys/{EXAMPLE_KEY_ID}"
    response = digitalocean.client.put(path, json={"name": "renamed first"})
    assert response.status_code == 200, response.text
    assert digitalocean.client.get(path).json()["ssh_key"]["name"] == "renamed first"


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_after_a_reset_through_one_process_seed_data_returns_in_another(
    launcher: Launcher, tmp_path: Path, backend: str
) -> None:
    if backend == "postgresql" and POSTGRES_DSN == "skip":
        pytest.skip("APITWIN_TEST_POSTGRES=skip")
    store = POSTGRES_DSN if backend == "postgresql" else str(tmp_path / "shared.sqlite3")
    target = unique_copy(tmp_path / "docs", "digitalocean")
    launcher.shared_targets.add(target)
    a, b = launcher.start_all(*[(target, "--store", store)] * 2)
    seeded = list_keys(a.client)
    assert list_keys(b.client) == seeded
    create_key(b.client, "laptop")

    reset(a)
    assert list_keys(b.client) == seeded
    # Twice, and with something created in between: every reset is seen, not the first.
    create_key(a.client, "desktop")
    reset(a)
    assert list_keys(b.client) == seeded
    assert list_keys(a.client) == seeded


# -- --empty ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def empty_dnd5e(module_launcher: Launcher) -> Served:
    return module_launcher.start("dnd5e", "--store", "memory", "--empty")


def test_empty_starts_without_seed_data(empty_dnd5e: Served) -> None:
    reset(empty_dnd5e)
    assert ability_scores(empty_dnd5e) == {"count": 0, "results": []}
    assert empty_dnd5e.client.get("/api/ability-scores/cha").status_code == 404
    assert state_of(empty_dnd5e) == {}


def test_seed_fills_the_families_of_a_twin_started_empty(empty_dnd5e: Served) -> None:
    reset(empty_dnd5e)
    seed(empty_dnd5e)
    assert ability_scores(empty_dnd5e)["count"] == 3
    assert empty_dnd5e.client.get("/api/ability-scores/cha").status_code == 200


# -- apitwin reset ------------------------------------------------------------------------


def test_cli_reset_empties_the_sqlite_state_of_the_named_twin_only(
    launcher: Launcher, tmp_path: Path
) -> None:
    data_dir = str(tmp_path / "data")
    commands = [("digitalocean", "--data-dir", data_dir), ("docker-engine", "--data-dir", data_dir)]
    digitalocean, docker = launcher.start_all(*commands)
    seeded = list_keys(digitalocean.client)
    created = create_key(digitalocean.client, "laptop")
    volume = docker.client.post("/volumes/create", json={"Name": "kept"})
    assert volume.status_code == 201
    launcher.stop(digitalocean, docker)

    result = run_cli(launcher, "reset", "digitalocean", "--data-dir", data_dir)
    assert (result.returncode, result.stdout, result.stderr) == (0, "reset digitalocean\n", "")

    digitalocean, docker = launcher.start_all(*commands)
    assert state_of(digitalocean) == {}
    assert digitalocean.client.get(f"/v2/account/keys/{created['id']}").status_code == 404
    assert list_keys(digitalocean.client) == seeded
    assert docker.client.get("/volumes/kept").json() == volume.json()


# -- apitwin inspect ----------------------------------------------------------------------


def test_inspect_prints_families_with_their_roles(launcher: Launcher) -> None:
    result = run_cli(launcher, "inspect", "digitalocean")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("digitalocean: ")
    assert "resource families" in lines[0]

    def block(family: str) -> list[list[str]]:
        start = next(n for n, line in enumerate(lines) if line.split()[:1] == [family])
        rows = [lines[start].split()]
        for line in lines[start + 1 :]:
            if not line.startswith(" "):
                break
            rows.append(line.split())
        return rows

    droplets = block("droplets")
    assert droplets[0] == [
        "droplets",
        "collection",
        "/v2/droplets",
        "/v2/droplets/{droplet_id}",
        "id",
        "(integer)",
        "droplets",
        "droplet",
    ]
    assert {tuple(row) for row in droplets[1:]} >= {
        ("list", "GET", "/v2/droplets", "droplets_list"),
        ("create", "POST", "/v2/droplets", "droplets_create"),
        ("get", "GET", "/v2/droplets/{droplet_id}", "droplets_get"),
        ("delete", "DELETE", "/v2/droplets/{droplet_id}", "droplets_destroy"),
    }
    actions = block("droplets.actions")
    assert ["parent:", "droplets", "via", "droplet_id"] in actions
    assert ["create", "POST", "/v2/droplets/{droplet_id}/actions", "dropletActions_post"] in actions
    keys = block("account_keys")
    assert ["replace", "PUT", "/v2/account/keys/{ssh_key_identifier}", "sshKeys_update"] in keys


# -- bad --store --------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["serve", "reset"])
@pytest.mark.parametrize(
    ("store", "shown"),
    [
        ("nosuch://x", "nosuch://x"),
        ("postgresql://postgres@127.0.0.1:1/x", "postgresql://postgres@127.0.0.1:1/x"),
        ("postgresql://postgres:s3cret@127.0.0.1:1/x", "postgresql://postgres@127.0.0.1:1/x"),
    ],
)
def test_a_bad_store_is_one_line_on_stderr_and_exit_status_2(
    launcher: Launcher, command: str, store: str, shown: str
) -> None:
    args = [command, "digitalocean", "--store", store]
    if command == "serve":
        args += ["--port", "0"]
    result = run_cli(launcher, *args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("apitwin: error: ")
    assert shown in lines[0]
    assert "s3cret" not in result.stderr
