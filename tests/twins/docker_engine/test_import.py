"""`POST /images/create` without `fromImage`: `docker import` of an uploaded archive
(`fromSrc=-`), and the daemon's fetch error for a URL (the twin has no network)."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable

from tests.conventions.conftest import TwinClient

E = "/v1.33"


def archive() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = b"hello\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_import_of_an_uploaded_archive_makes_an_image(twin: Callable[..., TwinClient]) -> None:
    engine = twin("docker-engine", empty=True)
    answer = engine.post(
        f"{E}/images/create",
        params={"fromSrc": "-", "repo": "imported/app", "tag": "v1"},
        content=archive(),
        headers={"Content-Type": "application/x-tar"},
    )
    assert answer.status_code == 200, answer.text
    image_id = json.loads(answer.text.splitlines()[0])["status"]
    assert image_id.startswith("sha256:")
    inspected = engine.get(f"{E}/images/imported/app:v1/json")
    assert inspected.status_code == 200 and inspected.json()["Id"] == image_id
    untagged = engine.post(
        f"{E}/images/create",
        params={"fromSrc": "-"},
        content=archive() + b"\0" * 512,
        headers={"Content-Type": "application/x-tar"},
    )
    dangling = engine.get(f"{E}/images/json", params={"filters": '{"dangling":["true"]}'}).json()
    assert [i["Id"] for i in dangling] == [json.loads(untagged.text)["status"]]
    bad = engine.post(f"{E}/images/create", params={"fromSrc": "-", "repo": "Bad Name"})
    assert bad.status_code == 400


def test_import_from_a_url_fails_in_the_stream(twin: Callable[..., TwinClient]) -> None:
    engine = twin("docker-engine", empty=True)
    answer = engine.post(f"{E}/images/create", params={"fromSrc": "http://example.com/a.tar"})
    assert answer.status_code == 200
    line = json.loads(answer.text)
    assert "example.com" in line["error"] and line["errorDetail"]["message"] == line["error"]
    assert engine.get(f"{E}/images/json").json() == []


def test_events_with_only_a_past_until_end_at_once(twin: Callable[..., TwinClient]) -> None:
    engine = twin("docker-engine", empty=True)
    answer = engine.get(f"{E}/events", params={"until": "1600000000"})
    assert answer.status_code == 200 and answer.text == ""
    refused = engine.get(f"{E}/events", params={"since": "1700000000", "until": "1600000000"})
    assert refused.status_code == 400
