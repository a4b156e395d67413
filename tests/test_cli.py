"""The `apitwin` command as a user runs it: `python -m apitwin ...` in a subprocess."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, ServedTwin, launch, stop_children

NAMES = (
    "digitalocean",
    "docker-engine",
    "docker-hub",
    "docker-dvp",
    "discourse",
    "dnd5e",
    "nookipedia",
    "digitalnz",
    "dracoon",
    "drchrono",
    "dweet",
    "ebay-browse",
    "ebay-deal",
)

ServeTwin = Callable[..., ServedTwin]


def run_cli(*args: str, cwd: Path = ROOT, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apitwin", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *mentions: str) -> str:
    """Exit status 2 and exactly one line on stderr that mentions every given text."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stderr.endswith("\n")
    for text in mentions:
        assert text in lines[0]
    assert result.stdout == ""
    return lines[0]


# -- list -----------------------------------------------------------------------------


def test_list_prints_the_thirteen_twins_with_their_base_urls() -> None:
    result = run_cli("list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 13
    assert [line.split()[0] for line in lines] == list(NAMES)
    assert "docker-engine  http://127.0.0.1:2375/v1.33" in lines[1]
    for line in lines:
        assert re.search(r"http://127\.0\.0\.1:\d+\S*$", line)


def test_list_json_is_machine_readable() -> None:
    result = run_cli("list", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert isinstance(rows, list) and len(rows) == 13
    assert [row["name"] for row in rows] == list(NAMES)
    for row in rows:
        assert set(row) == {"name", "port", "base_url", "spec"}
        assert isinstance(row["port"], int)
        assert row["base_url"].startswith(f"http://127.0.0.1:{row['port']}")
        assert Path(row["spec"]).is_file(), row["spec"]
        assert json.loads(Path(row["spec"]).read_bytes())["paths"]
    by_name = {row["name"]: row for row in rows}
    assert by_name["docker-engine"]["port"] == 2375
    assert by_name["docker-engine"]["base_url"] == "http://127.0.0.1:2375/v1.33"
    assert by_name["dracoon"]["base_url"].endswith("/api")
    assert by_name["ebay-browse"]["base_url"].endswith("/buy/browse/v1")
    assert len({row["port"] for row in rows}) == 13


# -- serve: errors on the command line -------------------------------------------------


def test_serve_unknown_twin(tmp_path: Path) -> None:
    line = assert_one_line_error(run_cli("serve", "dnd6e", cwd=tmp_path), "dnd6e")
    assert "dnd5e" in line  # the bundled names are listed


def test_serve_missing_file(tmp_path: Path) -> None:
    assert_one_line_error(
        run_cli("serve", "./missing-openapi.yaml", cwd=tmp_path), "missing-openapi.yaml"
    )


@pytest.mark.parametrize(
    ("filename", "text", "pointer"),
    [
        ("broken.json", '{"openapi": "3.0.3", "info": {"title": "t",', "/"),
        ("broken.yaml", "openapi: 3.0.3\ninfo: [title, \npaths: {}\n", "/"),
        (
            "future.json",
            '{"openapi": "4.0.0", "info": {"title": "t", "version": "1"}, "paths": {}}',
            "/openapi",
        ),
        ("ancient.yaml", "swagger: '1.2'\ninfo: {title: t, version: '1'}\npaths: {}\n", "/swagger"),
        ("list.yaml", "- openapi\n- 3.0.3\n", "/"),
    ],
)
def test_serve_document_it_cannot_serve(
    tmp_path: Path, filename: str, text: str, pointer: str
) -> None:
    (tmp_path / filename).write_text(text)
    line = assert_one_line_error(
        run_cli("serve", f"./{filename}", "--port", "0", cwd=tmp_path), filename
    )
    assert f": {pointer}: " in line


def test_check_of_a_document_with_an_unsupported_version(tmp_path: Path) -> None:
    path = tmp_path / "future.yaml"
    path.write_text("openapi: 4.0.0\ninfo: {title: t, version: '1'}\npaths: {}\n")
    line = assert_one_line_error(run_cli("check", str(path)), "future.yaml", "/openapi")
    assert "4.0.0" in line


def test_serve_on_a_port_in_use() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = run_cli("serve", "dnd5e", "--port", str(port))
    assert_one_line_error(result, str(port), "dnd5e")


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_serve_on_a_port_out_of_range(port: str) -> None:
    assert_one_line_error(run_cli("serve", "dnd5e", "--port", port), "--port", port)


def test_port_option_needs_exactly_one_twin() -> None:
    # (--port 0 gives every twin a free port: tests/twins/test_docker_together.py)
    assert_one_line_error(run_cli("serve", "dnd5e", "dweet", "--port", "9000"), "--port")


# -- serve: documents of the user over real HTTP ----------------------------------------

SMALL_OPENAPI = """\
openapi: 3.0.3
info: {title: pets, version: '1'}
servers: [{url: 'https://pets.example.com/v1'}]
paths:
  /pets:
    get:
      parameters:
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 50}}
      responses:
        '200':
          description: the pets
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Pet'}}
              example: [{id: 1, name: Rex}, {id: 2, name: Tom, tag: cat}]
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Pet'}
      responses:
        '201':
          description: created
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Pet'}
  /pets/{petId}:
    parameters:
      - {name: petId, in: path, required: true, schema: {type: integer}}
    get:
      responses:
        '200':
          description: one pet
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Pet'}
    delete:
      responses:
        '204': {description: deleted}
components:
  schemas:
    Pet:
      type: object
      required: [id, name]
      properties:
        id: {type: integer}
        name: {type: string}
        tag: {type: string}
"""

SMALL_SWAGGER = {
    "swagger": "2.0",
    "info": {"title": "notes", "version": "1"},
    "basePath": "/api",
    "consumes": ["application/json"],
    "produces": ["application/json"],
    "paths": {
        "/notes": {
            "post": {
                "parameters": [
                    {
                        "name": "body",
                        "in": "body",
                        "required": True,
                        "schema": {"$ref": "#/definitions/Note"},
                    }
                ],
                "responses": {
                    "201": {"description": "created", "schema": {"$ref": "#/definitions/Note"}}
                },
            }
        },
        "/notes/{id}": {
            "get": {
                "parameters": [{"name": "id", "in": "path", "required": True, "type": "integer"}],
                "responses": {
                    "200": {
                        "description": "a note",
                        "schema": {"$ref": "#/definitions/Note"},
                        "examples": {"application/json": {"id": 7, "text": "buy milk"}},
                    }
                },
            }
        },
    },
    "definitions": {
        "Note": {
            "type": "object",
            "required": ["id", "text"],
            "properties": {"id": {"type": "integer"}, "text": {"type": "string"}},
        }
    },
}


def test_serve_a_small_yaml_openapi_document(tmp_path: Path, serve_twin: ServeTwin) -> None:
    path = tmp_path / "small-openapi.yaml"
    path.write_text(SMALL_OPENAPI)
    served = serve_twin(str(path), "--stateless")
    assert served.base_url == f"http://127.0.0.1:{served.port}/v1"
    with httpx.Client(base_url=served.base_url, timeout=5.0) as client:
        listing = client.get("/pets")
        assert listing.status_code == 200
        assert listing.json() == [{"id": 1, "name": "Rex"}, {"id": 2, "name": "Tom", "tag": "cat"}]
        one = client.get("/pets/3")
        assert one.status_code == 200
        assert isinstance(one.json()["id"], int) and isinstance(one.json()["name"], str)
        assert client.delete("/pets/3").status_code == 204
        assert client.post("/pets", json={"id": 3, "name": "Kit"}).status_code == 201
        refused = client.post("/pets", json={"id": 3})
        assert refused.status_code == 400
        assert "name" in refused.json()["message"]
        assert client.get("/pets?limit=51").status_code == 400
        assert client.get("/pets/abc").status_code == 400
        assert client.get("/cats").status_code == 404
        assert client.put("/pets").status_code == 405


def test_serve_a_small_swagger_2_json_document(tmp_path: Path, serve_twin: ServeTwin) -> None:
    path = tmp_path / "notes.json"
    path.write_text(json.dumps(SMALL_SWAGGER))
    served = serve_twin(str(path), "--stateless")
    assert served.base_url.endswith("/api")
    with httpx.Client(base_url=served.base_url, timeout=5.0) as client:
        note = client.get("/notes/7")
        assert note.status_code == 200
        assert note.json() == {"id": 7, "text": "buy milk"}
        assert client.get("/notes/seven").status_code == 400
        created = client.post("/notes", json={"id": 8, "text": "call mum"})
        assert created.status_code == 201
        refused = client.post("/notes", json={"id": "8", "text": "call mum"})
        assert refused.status_code == 400
        assert "$.id" in refused.json()["message"]


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


@contextlib.contextmanager
def _serving(*args: str) -> Iterator[subprocess.Popen[str]]:
    process = launch(
        [sys.executable, "-m", "apitwin", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        yield process
    finally:
        stop_children(process)


def test_serve_two_bundled_twins_prints_both_base_urls() -> None:
    if not (_port_is_free(8005) and _port_is_free(8010)):
        pytest.skip("the default ports of dnd5e and dweet are taken on this machine")
    with _serving("dnd5e", "dweet") as process:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 20
        while len(lines) < 3 and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
        if len(lines) < 3 and process.poll() is not None and process.stderr is not None:
            error = process.stderr.read()
            if "cannot listen" in error:
                pytest.skip(f"a default port was taken meanwhile: {error}")
        assert len(lines) == 3, lines
        assert lines[0].split()[:3] == ["twin", "base", "URL"]
        assert lines[1].split()[:2] == ["dnd5e", "http://127.0.0.1:8005"]
        assert lines[2].split()[:2] == ["dweet", "http://127.0.0.1:8010"]
        # the columns line up
        assert lines[1].index("http://") == lines[2].index("http://") == lines[0].index("base URL")
        response = httpx.get("http://127.0.0.1:8005/api/ability-scores/cha", timeout=5.0)
        assert response.status_code == 200
        assert response.json()["index"] == "cha"


# -- check ----------------------------------------------------------------------------

FLAWED = """\
openapi: 3.0.3
info: {title: flawed, version: '1'}
paths:
  /pets/{petId}:
    get:
      operationId: getPet
      responses:
        '200':
          description: a pet
          content:
            application/json: {}
  /pets:
    get:
      operationId: getPet
      responses:
        '200': {description: ok}
"""


def test_check_prints_each_defect_with_its_json_pointer(tmp_path: Path) -> None:
    path = tmp_path / "flawed.yaml"
    path.write_text(FLAWED)
    result = run_cli("check", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    warnings = [line for line in lines if line.startswith("warning: ")]
    pointers = {line.split(": ")[2] for line in warnings}
    assert "/paths/~1pets~1{petId}" in pointers  # petId is not declared
    assert "/paths/~1pets~1{petId}/get/responses/200/content/application~1json" in pointers
    assert "/paths/~1pets/get/operationId" in pointers  # getPet used twice
    for line in warnings:
        assert line.startswith(f"warning: {path}: /")
    assert re.fullmatch(
        rf"{re.escape(str(path))}: 2 operations, {len(warnings)} warnings", lines[-1]
    )


def test_check_of_a_clean_document_has_no_warnings(tmp_path: Path) -> None:
    path = tmp_path / "small-openapi.yaml"
    path.write_text(SMALL_OPENAPI)
    result = run_cli("check", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{path}: 4 operations, 0 warnings"]


def test_check_missing_file(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("check", "nowhere.json", cwd=tmp_path), "nowhere.json")


def test_inspect_names_the_operations_a_behaviour_module_serves() -> None:
    """Docker Hub's login is code, not an inferred family: inspect says so instead of
    calling it answered from the spec alone."""
    result = run_cli("inspect", "docker-hub")
    assert result.returncode == 0, result.stderr
    served, _, unmapped = result.stdout.partition("Unmapped operations")
    assert "Served by the twin's behaviour module" in served
    assert "PostUsersLogin" in served.split("Served by the twin's behaviour module")[1]
    assert "PostUsersLogin" not in unmapped
    assert "AuditLogs_GetAuditLogs" in unmapped
