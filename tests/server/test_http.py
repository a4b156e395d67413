"""A twin served by `apitwin serve` over real TCP on 127.0.0.1: what the socket path adds
to the in-process app (raw paths, HEAD, early refusal of oversized bodies)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ServedTwin, start_twin, stop_twin


@pytest.fixture(scope="module")
def docker() -> Iterator[ServedTwin]:
    served = start_twin("docker-engine", "--stateless")
    yield served
    stop_twin(served)


@pytest.fixture
def client(docker: ServedTwin) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=docker.base_url, timeout=5.0) as http:
        yield http


def test_base_url_is_the_documented_one(docker: ServedTwin) -> None:
    assert docker.base_url == f"http://127.0.0.1:{docker.port}/v1.33"


def test_encoded_slash_reaches_the_parameter_over_tcp(client: httpx.Client) -> None:
    response = client.get("/images/library%2Fubuntu/json")
    assert response.status_code == 200
    assert "Id" in response.json()  # the image inspect operation, not a 404


def test_unknown_path_and_method_over_tcp(client: httpx.Client) -> None:
    missing = client.get("/no-such-thing")
    assert missing.status_code == 404
    assert set(missing.json()) == {"message"}
    wrong = client.delete("/_ping")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET"
    assert set(wrong.json()) == {"message"}


def test_head_over_tcp_sends_headers_only(client: httpx.Client) -> None:
    get = client.get("/_ping")
    head = client.head("/_ping")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(get.content)) == "2"
    # the connection stays usable after a body-less answer
    assert client.get("/_ping").text == "OK"


def test_declared_oversized_body_is_refused_before_it_is_sent(docker: ServedTwin) -> None:
    with socket.create_connection(("127.0.0.1", docker.port), timeout=5) as conn:
        conn.sendall(
            b"POST /v1.33/containers/create HTTP/1.1\r\n"
            b"Host: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: 999999999\r\n\r\n{"
        )
        head = conn.recv(4096)
    assert head.startswith(b"HTTP/1.1 413 ")
