"""docker-py, the official Python client, against the twin: with the version it
negotiates (``auto``) and with the document's own (``1.33``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import docker
import docker.errors
import pytest

from tests.conftest import ServedTwin

VERSIONS = ["auto", "1.33"]


@pytest.fixture(params=VERSIONS)
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def suffix(version: str) -> str:
    """Names unique to one client version, so both runs share one twin."""
    return version.replace(".", "")


@pytest.fixture
def client(version: str, served: ServedTwin) -> Iterator[docker.DockerClient]:
    connection = docker.DockerClient(
        base_url=f"tcp://127.0.0.1:{served.port}", version=version, timeout=30
    )
    yield connection
    connection.close()


def test_version_is_negotiated(client: docker.DockerClient) -> None:
    assert client.api.api_version == "1.33"
    assert client.version()["ApiVersion"] == "1.33"
    assert client.ping() is True


def test_run_detached_wait_and_logs(client: docker.DockerClient, suffix: str) -> None:
    image = client.images.pull("busybox", tag="latest")
    assert "busybox:latest" in image.tags
    container = client.containers.run(
        "busybox", ["echo", "hello", "from", suffix], detach=True, name=f"hello-{suffix}"
    )
    assert container.wait() == {"StatusCode": 0}
    assert container.logs() == f"hello from {suffix}\n".encode()
    container.reload()
    assert container.status == "exited"
    assert container.image.id == image.id
    container.remove()
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(f"hello-{suffix}")


def test_lifecycle_with_labels_and_filters(client: docker.DockerClient, suffix: str) -> None:
    client.images.pull("busybox", tag="latest")
    labels = {"suite": suffix, "tier": "web"}
    web = client.containers.run(
        "busybox", "sleep 3600", detach=True, name=f"web-{suffix}", labels=labels
    )
    job = client.containers.run(
        "busybox", "true", detach=True, name=f"job-{suffix}", labels={"suite": suffix}
    )
    assert job.wait()["StatusCode"] == 0
    web.reload()
    assert web.status == "running" and web.labels == labels
    assert web.attrs["State"]["Pid"] > 0

    running = client.containers.list(filters={"label": f"suite={suffix}"})
    assert [c.name for c in running] == [f"web-{suffix}"]
    every = client.containers.list(all=True, filters={"label": f"suite={suffix}"})
    assert {c.name for c in every} == {f"web-{suffix}", f"job-{suffix}"}
    exited = client.containers.list(
        all=True, filters={"label": f"suite={suffix}", "status": "exited"}
    )
    assert [c.name for c in exited] == [f"job-{suffix}"]
    tiers = client.containers.list(all=True, filters={"label": ["tier=web", f"suite={suffix}"]})
    assert [c.name for c in tiers] == [f"web-{suffix}"]

    web.pause()
    web.reload()
    assert web.status == "paused"
    web.unpause()
    web.stop()
    assert web.wait() == {"StatusCode": 137}
    web.reload()
    assert web.status == "exited" and web.attrs["State"]["FinishedAt"].startswith("20")
    web.start()
    web.reload()
    assert web.status == "running"
    web.remove(force=True)
    job.remove()
    assert client.containers.list(all=True, filters={"label": f"suite={suffix}"}) == []


def test_wait_blocks_until_the_container_exits(client: docker.DockerClient, suffix: str) -> None:
    client.images.pull("busybox", tag="latest")
    container = client.containers.run("busybox", "sleep 3600", detach=True, name=f"waited-{suffix}")
    outcome: dict[str, object] = {}
    waiter = threading.Thread(target=lambda: outcome.update(container.wait()))
    waiter.start()
    waiter.join(timeout=0.3)
    assert waiter.is_alive()  # still waiting: the container runs until stopped
    container.kill()
    waiter.join(timeout=20)
    assert outcome == {"StatusCode": 137}
    container.remove()


def test_errors_are_the_daemons(client: docker.DockerClient, suffix: str) -> None:
    client.images.pull("busybox", tag="latest")
    with pytest.raises(docker.errors.ImageNotFound):
        client.containers.create("no-such-image-here:1")
    client.containers.create("busybox", name=f"dup-{suffix}")
    with pytest.raises(docker.errors.APIError) as conflict:
        client.containers.create("busybox", name=f"dup-{suffix}")
    assert conflict.value.status_code == 409
    assert f'The container name "/dup-{suffix}" is already in use' in str(
        conflict.value.explanation
    )
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(f"missing-{suffix}")
    client.containers.get(f"dup-{suffix}").remove()


def test_networks_and_volumes(client: docker.DockerClient, suffix: str) -> None:
    client.images.pull("busybox", tag="latest")
    network = client.networks.create(f"net-{suffix}", labels={"suite": suffix})
    volume = client.volumes.create(f"vol-{suffix}", labels={"suite": suffix})
    container = client.containers.run(
        "busybox", "sleep 3600", detach=True, name=f"member-{suffix}",
        volumes={volume.name: {"bind": "/data", "mode": "rw"}},
    )  # fmt: skip
    network.connect(container)
    network.reload()
    assert [c.name for c in network.containers] == [f"member-{suffix}"]
    container.reload()
    assert network.name in container.attrs["NetworkSettings"]["Networks"]
    assert [m["Name"] for m in container.attrs["Mounts"]] == [volume.name]
    found = client.networks.list(filters={"label": f"suite={suffix}"})
    assert [n.name for n in found] == [network.name]
    assert [v.name for v in client.volumes.list(filters={"label": f"suite={suffix}"})] == [
        volume.name
    ]
    with pytest.raises(docker.errors.APIError) as in_use:
        volume.remove()
    assert in_use.value.status_code == 409
    network.disconnect(container)
    network.reload()
    assert network.containers == []
    container.remove(force=True)
    volume.remove()
    network.remove()
    assert client.networks.list(names=[network.name]) == []


def test_images_tag_and_remove(client: docker.DockerClient, suffix: str) -> None:
    image = client.images.pull("alpine", tag="3.21")
    assert image.tag(f"local/alpine-{suffix}", "v1") is True
    tagged = client.images.get(f"local/alpine-{suffix}:v1")
    assert tagged.id == image.id
    client.images.remove(f"local/alpine-{suffix}:v1")
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get(f"local/alpine-{suffix}:v1")
    assert client.images.get("alpine:3.21").id == image.id
    assert any(r["name"] == "alpine" for r in client.images.search("alpine"))
