"""State as a client sees it over HTTP, against real `apitwin serve` processes: state
outlives a restart on SQLite and not in memory, processes sharing a PostgreSQL database
see each other's writes at once, concurrent clients lose no write, failed requests change
nothing, deletes answer 404 in the API's own shape, and lists filter on item fields."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from apitwin.twins.registry import bundled_profile, spec_path
from tests.conftest import ROOT, launch, stop_children
from tests.state.conftest import POSTGRES_DSN

T = TypeVar("T")

BEARER = {"Authorization": "Bearer x"}
CLIENTS = 32
ROUNDS = 3
START_TIMEOUT = 30.0
PUBLIC_KEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC0 user@example.com"


# -- serving ------------------------------------------------------------------------------


@dataclass
class Served:
    """One `apitwin serve` process and a client for the twin it serves."""

    target: str
    process: subprocess.Popen[bytes]
    base_url: str
    client: httpx.Client


def http_client(base_url: str) -> httpx.Client:
    # Plain HTTP on the loopback interface: no TLS, so no CA certificates to load (which
    # takes httpx some 50 ms per client).
    return httpx.Client(base_url=base_url, headers=BEARER, timeout=30.0, verify=False)


def admin_url(served: Served, rest: str) -> str:
    hostport = served.base_url.split("/", 3)[2]
    return f"http://{hostport}/__apitwin__{rest}"


@dataclass
class Launcher:
    """Starts `apitwin serve` processes whose default data directory is a scratch one (so
    a test that leaves out --data-dir still never touches the user's), and stops them."""

    home: Path
    running: list[Served] = field(default_factory=list)
    shared_targets: set[str] = field(default_factory=set)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "HOME": str(self.home),
            "XDG_DATA_HOME": str(self.home / "xdg-data"),
        }

    def start(self, target: str, *args: str) -> Served:
        """`apitwin serve TARGET --port 0 ARGS...`, once it answers."""
        [served] = self.start_all((target, *args))
        return served

    def start_all(self, *commands: tuple[str, ...]) -> list[Served]:
        """Several `apitwin serve` processes, started side by side."""
        logs = self.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        pending = []
        for target, *args in commands:
            stem = uuid.uuid4().hex[:8]
            out_path, err_path = logs / f"{stem}.out", logs / f"{stem}.err"
            with out_path.open("wb") as out, err_path.open("wb") as err:
                process = launch(
                    [sys.executable, "-m", "apitwin", "serve", target, "--port", "0", *args],
                    stdout=out,
                    stderr=err,
                    cwd=ROOT,
                    env=self.env(),
                )
            pending.append((target, process, out_path, err_path))
        deadline = time.monotonic() + START_TIMEOUT
        return [self._wait(*started, deadline) for started in pending]

    def _wait(
        self,
        target: str,
        process: subprocess.Popen[bytes],
        out_path: Path,
        err_path: Path,
        deadline: float,
    ) -> Served:
        base_url = None
        while time.monotonic() < deadline and process.poll() is None:
            found = re.search(r"(http://127\.0\.0\.1:\d+\S*)", out_path.read_text())
            if found:
                base_url = found.group(1)
                break
            time.sleep(0.05)
        if base_url is None:
            stop_children(process)
            raise RuntimeError(f"apitwin serve {target} did not start: {err_path.read_text()}")
        client = http_client(base_url)
        served = Served(target, process, base_url, client)
        self.running.append(served)
        while time.monotonic() < deadline:
            try:
                client.get(admin_url(served, "/"), timeout=1.0)
                return served
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"apitwin serve {target} never answered on {base_url}")

    def stop(self, *servers: Served) -> None:
        """Stop the processes (all at once) and wait until they have ended."""
        for served in servers:
            served.client.close()
            if served in self.running:
                self.running.remove(served)
        stop_children(*(served.process for served in servers))

    def stop_all(self) -> None:
        # State in the shared database is per twin name, and these names are used once:
        # forget it before leaving, through a process still serving it.
        for target in self.shared_targets:
            for served in self.running:
                if served.target == target:
                    served.client.post(admin_url(served, "/reset"))
                    break
        self.stop(*self.running)


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[Launcher]:
    started = Launcher(tmp_path / "home")
    yield started
    started.stop_all()


@pytest.fixture
def postgres_dsn() -> str:
    if POSTGRES_DSN == "skip":
        pytest.skip("APITWIN_TEST_POSTGRES=skip")
    return POSTGRES_DSN


def unique_copy(directory: Path, name: str) -> str:
    """A bundled twin's document under a name used by no one else: state in a shared
    database is kept per twin name, so tests (and test runs) do not meet."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name.replace('-', '_')}_{uuid.uuid4().hex[:10]}.json"
    shutil.copyfile(spec_path(bundled_profile(name)), path)
    return str(path)


def ledger_document(directory: Path, *, families: int = 1, fields: int = CLIENTS) -> str:
    """A small API whose items have `fields` writable string fields f00, f01, ... (no
    bundled document has a PATCH-able resource with that many), one collection per
    family: /t00, /t00/{thing_id}, /t01, ..."""
    directory.mkdir(parents=True, exist_ok=True)
    thing = {
        "type": "object",
        "properties": {
            "id": {"type": "integer", "readOnly": True},
            **{f"f{n:02d}": {"type": "string"} for n in range(fields)},
        },
    }
    ref = {"$ref": "#/components/schemas/Thing"}

    def json_of(schema: Any) -> dict[str, Any]:
        return {"application/json": {"schema": schema}}

    paths: dict[str, Any] = {}
    for n in range(families):
        paths[f"/t{n:02d}"] = {
            "get": {
                "operationId": f"list{n:02d}",
                "parameters": [{"name": "per_page", "in": "query", "schema": {"type": "integer"}}],
                "responses": {
                    "200": {
                        "description": "the things",
                        "content": json_of(
                            {
                                "type": "object",
                                "properties": {"things": {"type": "array", "items": ref}},
                            }
                        ),
                    }
                },
            },
            "post": {
                "operationId": f"create{n:02d}",
                "requestBody": {"required": True, "content": json_of(ref)},
                "responses": {"201": {"description": "created", "content": json_of(ref)}},
            },
        }
        paths[f"/t{n:02d}/{{thing_id}}"] = {
            "parameters": [
                {"name": "thing_id", "in": "path", "required": True, "schema": {"type": "integer"}}
            ],
            "get": {
                "operationId": f"get{n:02d}",
                "responses": {
                    "200": {"description": "the thing", "content": json_of(ref)},
                    "404": {"description": "no such thing"},
                },
            },
            "patch": {
                "operationId": f"update{n:02d}",
                "requestBody": {"required": True, "content": json_of(ref)},
                "responses": {"200": {"description": "updated", "content": json_of(ref)}},
            },
        }
    document = {
        "openapi": "3.0.3",
        "info": {"title": "Ledger", "version": "1"},
        "paths": paths,
        "components": {"schemas": {"Thing": thing}},
    }
    path = directory / f"ledger_{uuid.uuid4().hex[:10]}.json"
    path.write_text(json.dumps(document))
    return str(path)


def run_clients(work: Callable[[int], T]) -> list[T]:
    """Run work(0) ... work(CLIENTS - 1) on as many threads, released at once."""
    barrier = threading.Barrier(CLIENTS)
    results: list[Any] = [None] * CLIENTS
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "clients did not finish"
    if errors:
        raise errors[0]
    return results


def new_clients(servers: list[Served]) -> list[httpx.Client]:
    """One client (one connection) per simulated user, spread over the servers in turn."""
    return [http_client(servers[n % len(servers)].base_url) for n in range(CLIENTS)]


def fresh_public_key() -> str:
    """A key no other call used: DigitalOcean refuses a key already on the account."""
    return "ssh-ed25519 " + base64.b64encode(os.urandom(51)).decode() + " user@example.com"


def create_key(client: httpx.Client, name: str) -> dict[str, Any]:
    response = client.post(
        "/v2/account/keys", json={"name": name, "public_key": fresh_public_key()}
    )
    assert response.status_code == 201, response.text
    key: dict[str, Any] = response.json()["ssh_key"]
    return key


def list_keys(client: httpx.Client) -> list[dict[str, Any]]:
    response = client.get("/v2/account/keys", params={"per_page": 200})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meta"]["total"] == len(body["ssh_keys"])
    keys: list[dict[str, Any]] = body["ssh_keys"]
    return keys


def list_things(client: httpx.Client, family: str = "t00") -> list[dict[str, Any]]:
    response = client.get(f"/{family}", params={"per_page": 500})
    assert response.status_code == 200, response.text
    things: list[dict[str, Any]] = response.json()["things"]
    return things


def state_of(served: Served) -> Any:
    response = served.client.get(admin_url(served, "/state"))
    assert response.status_code == 200
    return response.json()


# -- restarts -----------------------------------------------------------------------------


def test_restart_keeps_sqlite_state_in_the_data_dir_and_forgets_memory_state(
    launcher: Launcher, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    on_disk = ("digitalocean", "--data-dir", str(data_dir))  # SQLite, the default store
    in_memory = ("digitalocean", "--store", "memory")
    first_disk, first_memory = launcher.start_all(on_disk, in_memory)
    before = list_keys(first_disk.client)
    kept = create_key(first_disk.client, "laptop")
    lost = create_key(first_memory.client, "desktop")
    assert first_memory.client.get(f"/v2/account/keys/{lost['id']}").status_code == 200
    launcher.stop(first_disk, first_memory)
    assert any(path.is_file() for path in data_dir.rglob("*")), "no state file in --data-dir"
    assert not (launcher.home / "xdg-data").exists()

    second_disk, second_memory = launcher.start_all(on_disk, in_memory)
    response = second_disk.client.get(f"/v2/account/keys/{kept['id']}")
    assert response.status_code == 200
    assert response.json()["ssh_key"] == kept
    # The seed items are not added a second time: the same keys, in the same order.
    assert list_keys(second_disk.client) == [*before, kept]

    assert second_memory.client.get(f"/v2/account/keys/{lost['id']}").status_code == 404
    assert "desktop" not in [key["name"] for key in list_keys(second_memory.client)]


# -- two processes, one PostgreSQL database -----------------------------------------------


def test_processes_sharing_postgres_see_each_others_writes_at_once(
    launcher: Launcher, tmp_path: Path, postgres_dsn: str
) -> None:
    target = unique_copy(tmp_path / "docs", "digitalocean")
    launcher.shared_targets.add(target)
    a, b = launcher.start_all(*[(target, "--store", postgres_dsn)] * 2)

    created = create_key(a.client, "shared")
    path = f"/v2/account/keys/{created['id']}"
    seen = b.client.get(path)
    assert seen.status_code == 200
    assert seen.json()["ssh_key"] == created
    assert created in list_keys(b.client)

    renamed = b.client.put(path, json={"name": "renamed in b"})
    assert renamed.status_code == 200
    assert a.client.get(path).json()["ssh_key"]["name"] == "renamed in b"
    assert list_keys(a.client) == list_keys(b.client)

    assert a.client.delete(path).status_code == 204
    assert b.client.get(path).status_code == 404
    assert created["id"] not in [key["id"] for key in list_keys(b.client)]


# -- concurrent clients -------------------------------------------------------------------


def shared_servers(
    launcher: Launcher, target: str, kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> list[Served]:
    """Two processes serving `target` from one store: a SQLite file or the PostgreSQL
    database (each process handles one request at a time, so only two processes make
    writes truly concurrent)."""
    if kind == "sqlite":
        store = str(tmp_path / "shared" / "state.sqlite3")
    else:
        store = request.getfixturevalue("postgres_dsn")
        launcher.shared_targets.add(target)
    return launcher.start_all(*[(target, "--store", store)] * 2)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_concurrent_patches_of_different_fields_lose_no_update(
    kind: str, launcher: Launcher, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    target = ledger_document(tmp_path / "docs")
    servers = shared_servers(launcher, target, kind, tmp_path, request)
    initial = {f"f{n:02d}": "initial" for n in range(CLIENTS)}
    response = servers[0].client.post("/t00", json=initial)
    assert response.status_code == 201, response.text
    ident = response.json()["id"]
    clients = new_clients(servers)

    def patch(index: int) -> list[int]:
        name = f"f{index:02d}"
        return [
            clients[index]
            .patch(f"/t00/{ident}", json={name: f"client {index} round {n}"})
            .status_code
            for n in range(ROUNDS)
        ]

    try:
        statuses = run_clients(patch)
    finally:
        for client in clients:
            client.close()
    assert statuses == [[200] * ROUNDS] * CLIENTS
    expected = {
        "id": ident,
        **{f"f{n:02d}": f"client {n} round {ROUNDS - 1}" for n in range(CLIENTS)},
    }
    for server in servers:
        assert server.client.get(f"/t00/{ident}").json() == expected


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_concurrent_creates_get_distinct_ids_and_are_all_listed(
    kind: str, launcher: Launcher, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    target = ledger_document(tmp_path / "docs")
    servers = shared_servers(launcher, target, kind, tmp_path, request)
    before = list_things(servers[0].client)
    clients = new_clients(servers)

    def create(index: int) -> dict[str, Any]:
        response = clients[index].post("/t00", json={"f00": f"client {index}"})
        assert response.status_code == 201, response.text
        thing: dict[str, Any] = response.json()
        return thing

    try:
        created = run_clients(create)
    finally:
        for client in clients:
            client.close()

    ids = [thing["id"] for thing in created]
    assert len(set(ids)) == CLIENTS
    assert not set(ids) & {thing["id"] for thing in before}
    for index, thing in enumerate(created):
        assert thing["f00"] == f"client {index}"
    for server in servers:
        listed = list_things(server.client)
        assert listed[: len(before)] == before
        assert sorted(listed[len(before) :], key=lambda thing: ids.index(thing["id"])) == created


@pytest.mark.timeout(60)
def test_processes_sharing_a_store_seed_each_family_once(
    launcher: Launcher, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    families = 8
    target = ledger_document(tmp_path / "docs", families=families, fields=2)
    servers = shared_servers(launcher, target, "postgres", tmp_path, request)

    def first_use(served: Served, path: str, barrier: threading.Barrier) -> None:
        barrier.wait(timeout=30)
        served.client.get(path)

    for n in range(families):
        # Both processes use family n for the first time at the same moment.
        barrier = threading.Barrier(len(servers))
        threads = [
            threading.Thread(target=first_use, args=(served, f"/t{n:02d}", barrier))
            for served in servers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    counts = [len(list_things(servers[0].client, f"t{n:02d}")) for n in range(families)]
    assert counts == [3] * families


# -- failed requests, deletes, filters ----------------------------------------------------


@pytest.fixture(scope="module")
def module_launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    started = Launcher(tmp_path_factory.mktemp("served") / "home")
    yield started
    started.stop_all()


@pytest.fixture(scope="module")
def digitalocean(module_launcher: Launcher) -> Served:
    """One DigitalOcean twin in memory for the tests below, each on its own resources."""
    return module_launcher.start("digitalocean", "--store", "memory")


@pytest.fixture(scope="module")
def drchrono(module_launcher: Launcher) -> Served:
    return module_launcher.start("drchrono", "--store", "memory")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v2/account/keys", {}),
        ("POST", "/v2/account/keys", {"name": 5, "public_key": PUBLIC_KEY}),
        ("PUT", "/v2/account/keys/{id}", {"name": ["not", "a", "string"]}),
        ("POST", "/v2/droplets", {"name": "no size, no image"}),
        ("POST", "/v2/droplets", {"name": "bad size", "size": 7, "image": "ubuntu-22-04-x64"}),
    ],
)
def test_a_request_that_fails_validation_changes_nothing(
    digitalocean: Served, method: str, path: str, body: dict[str, Any]
) -> None:
    created = create_key(digitalocean.client, "before the bad request")
    before = state_of(digitalocean)
    response = digitalocean.client.request(
        method, path.replace("{id}", str(created["id"])), json=body
    )
    assert response.status_code in (400, 422), response.text
    assert set(response.json()) == {"id", "message", "request_id"}
    assert state_of(digitalocean) == before
    assert digitalocean.client.get(f"/v2/account/keys/{created['id']}").json()["ssh_key"] == created


def test_delete_then_get_is_a_404_in_digitaloceans_error_shape(digitalocean: Served) -> None:
    created = create_key(digitalocean.client, "short-lived")
    path = f"/v2/account/keys/{created['id']}"
    assert digitalocean.client.delete(path).status_code == 204
    response = digitalocean.client.get(path)
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"id", "message", "request_id"}
    assert body["id"] == "not_found" and body["message"]
    assert digitalocean.client.delete(path).status_code == 404
    assert created["id"] not in [key["id"] for key in list_keys(digitalocean.client)]


def test_delete_then_inspect_is_a_404_in_dockers_error_shape(module_launcher: Launcher) -> None:
    docker = module_launcher.start("docker-engine", "--store", "memory")
    created = docker.client.post("/volumes/create", json={"Name": "scratch"})
    assert created.status_code == 201, created.text
    assert docker.client.get("/volumes/scratch").json()["Name"] == "scratch"
    assert docker.client.delete("/volumes/scratch").status_code == 204
    response = docker.client.get("/volumes/scratch")
    assert response.status_code == 404
    assert list(response.json()) == ["message"]
    names = [volume["Name"] for volume in docker.client.get("/volumes").json()["Volumes"]]
    assert "scratch" not in names


def test_a_delete_answers_the_status_its_document_declares(module_launcher: Launcher) -> None:
    """Docker documents 204 for removing a volume and Discourse 200 for deleting a badge:
    the twin answers each as documented, both with no body."""
    docker = module_launcher.start("docker-engine", "--store", "memory")
    assert docker.client.post("/volumes/create", json={"Name": "gone"}).status_code == 201
    removed = docker.client.delete("/volumes/gone")
    assert (removed.status_code, removed.content) == (204, b"")
    discourse = module_launcher.start("discourse", "--store", "memory")
    keys = {"Api-Key": "a" * 64, "Api-Username": "system"}
    created = discourse.client.post(
        "/admin/badges.json", json={"name": "Helper", "badge_type_id": 1}, headers=keys
    )
    assert created.status_code == 200, created.text
    badge = created.json()["badge"]["id"]
    removed = discourse.client.delete(f"/admin/badges/{badge}.json", headers=keys)
    assert (removed.status_code, removed.content) == (200, b"")
    listed = discourse.client.get("/admin/badges.json", headers=keys).json()["badges"]
    assert badge not in [item["id"] for item in listed]


def test_delete_then_get_is_a_404_in_drchronos_error_shape(drchrono: Served) -> None:
    # a patient needs a doctor (one of the seeded practice's) and a gender
    created = drchrono.client.post("/api/patients", json={"doctor": 1, "gender": "Female"})
    assert created.status_code == 201, created.text
    path = f"/api/patients/{created.json()['id']}"
    assert drchrono.client.get(path).status_code == 200
    assert drchrono.client.delete(path).status_code == 204
    response = drchrono.client.get(path)
    assert response.status_code == 404
    assert list(response.json()) == ["detail"]


def test_list_filters_on_a_query_parameter_naming_an_item_field(digitalocean: Served) -> None:
    """GET /v2/droplets declares `name`, and droplets have a `name`."""
    suffix = uuid.uuid4().hex[:8]
    ids: dict[str, list[int]] = {}
    for name in (f"web-{suffix}", f"db-{suffix}", f"web-{suffix}"):
        response = digitalocean.client.post(
            "/v2/droplets",
            json={"name": name, "size": "s-1vcpu-1gb", "image": "ubuntu-22-04-x64"},
        )
        assert response.status_code == 202, response.text
        ids.setdefault(name, []).append(response.json()["droplet"]["id"])
    everything = digitalocean.client.get("/v2/droplets", params={"per_page": 200}).json()
    assert {d["name"] for d in everything["droplets"]} >= {f"web-{suffix}", f"db-{suffix}"}

    for name, expected in ids.items():
        body = digitalocean.client.get("/v2/droplets", params={"name": name}).json()
        assert [droplet["id"] for droplet in body["droplets"]] == expected
        assert body["meta"]["total"] == len(expected)
    nothing = digitalocean.client.get("/v2/droplets", params={"name": f"none-{suffix}"}).json()
    assert (nothing["droplets"], nothing["meta"]["total"]) == ([], 0)


def test_list_filter_compares_integer_parameters_as_integers(drchrono: Served) -> None:
    """GET /api/patients?doctor=N: the query string's "N" matches the integer field."""
    for _ in range(3):
        created = drchrono.client.post("/api/patients", json={"doctor": 3, "gender": "Other"})
        assert created.status_code == 201, created.text
    patients = drchrono.client.get("/api/patients", params={"page_size": 100}).json()["data"]
    assert len(patients) >= 6
    doctor = patients[0]["doctor"]
    assert isinstance(doctor, int)
    expected = [patient["id"] for patient in patients if patient["doctor"] == doctor]
    filtered = drchrono.client.get("/api/patients", params={"doctor": str(doctor)}).json()
    assert [patient["id"] for patient in filtered["data"]] == expected
    assert 0 < len(expected) < len(patients)


def test_drchrono_patient_keeps_the_documented_fields_it_was_created_with(
    drchrono: Served,
) -> None:
    # Doctor 2 is one of the seeded practice's (a doctor that does not exist is a 400).
    fields = {"first_name": "Ada", "last_name": "Lovelace", "gender": "Female", "doctor": "2"}
    response = drchrono.client.post("/api/patients", params=fields)
    assert response.status_code == 201
    patient = drchrono.client.get(f"/api/patients/{response.json()['id']}").json()
    assert {name: str(patient.get(name)) for name in fields} == fields
