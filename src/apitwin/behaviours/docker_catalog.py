"""The images the Docker twins know, and the pulls that happened.

One catalogue ties the three Docker twins together: the Engine can pull what the Hub
lists, the Hub seeds its repositories from it, and DVP's pull analytics are computed
from the pulls the Engine recorded. Sizes and descriptions are plausible figures of the
official images; digests are derived from the name and tag so they never change.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from apitwin.state.store import Store

__all__ = [
    "CATALOG",
    "PULLS_FAMILY",
    "PULLS_TWIN",
    "CatalogImage",
    "digest_of",
    "find_image",
    "record_pull",
    "recorded_pulls",
    "split_reference",
]

# Pulls are kept in the Hub's state: the registry is where a pull happens.
PULLS_TWIN = "docker-hub"
PULLS_FAMILY = "__pulls__"


@dataclass(frozen=True)
class CatalogImage:
    namespace: str
    name: str
    description: str
    tags: tuple[str, ...]
    size: int  # bytes of the latest tag, uncompressed
    star_count: int
    pull_count: int
    cmd: tuple[str, ...]

    @property
    def repository(self) -> str:
        """``library/busybox`` is ``busybox`` to a client; others keep their namespace."""
        return self.name if self.namespace == "library" else f"{self.namespace}/{self.name}"


CATALOG: tuple[CatalogImage, ...] = (
    CatalogImage(
        "library",
        "busybox",
        "Busybox base image.",
        ("latest", "1.36", "1.37"),
        4_261_550,
        3_300,
        5_000_000_000,
        ("sh",),
    ),
    CatalogImage(
        "library",
        "alpine",
        "A minimal Docker image based on Alpine Linux.",
        ("latest", "3.19", "3.20", "3.21"),
        7_797_760,
        11_000,
        9_000_000_000,
        ("/bin/sh",),
    ),
    CatalogImage(
        "library",
        "hello-world",
        "Hello World! (an example of minimal Dockerization)",
        ("latest",),
        13_256,
        2_300,
        4_000_000_000,
        ("/hello",),
    ),
    CatalogImage(
        "library",
        "nginx",
        "Official build of Nginx.",
        ("latest", "1.27", "alpine"),
        187_694_648,
        20_000,
        11_000_000_000,
        ("nginx", "-g", "daemon off;"),
    ),
    CatalogImage(
        "library",
        "postgres",
        "The PostgreSQL object-relational database system.",
        ("latest", "16", "17", "alpine"),
        438_000_000,
        14_000,
        9_000_000_000,
        ("postgres",),
    ),
    CatalogImage(
        "library",
        "redis",
        "Redis is the world's fastest data platform.",
        ("latest", "7", "7.4", "alpine"),
        117_000_000,
        13_000,
        8_000_000_000,
        ("redis-server",),
    ),
    CatalogImage(
        "library",
        "ubuntu",
        "Ubuntu is a Debian-based Linux operating system.",
        ("latest", "22.04", "24.04"),
        78_100_000,
        17_000,
        10_000_000_000,
        ("/bin/bash",),
    ),
    CatalogImage(
        "library",
        "debian",
        "Debian is a Linux distribution.",
        ("latest", "bookworm", "bookworm-slim"),
        117_000_000,
        5_000,
        1_000_000_000,
        ("bash",),
    ),
    CatalogImage(
        "library",
        "python",
        "Python is an interpreted, interactive language.",
        ("latest", "3.12", "3.13", "3.13-slim"),
        1_020_000_000,
        9_000,
        1_000_000_000,
        ("python3",),
    ),
    CatalogImage(
        "library",
        "node",
        "Node.js is a JavaScript-based platform.",
        ("latest", "20", "22", "22-alpine"),
        1_100_000_000,
        13_000,
        1_000_000_000,
        ("node",),
    ),
    CatalogImage(
        "library",
        "httpd",
        "The Apache HTTP Server Project.",
        ("latest", "2.4"),
        148_000_000,
        4_800,
        1_000_000_000,
        ("httpd-foreground",),
    ),
    CatalogImage(
        "library",
        "mysql",
        "MySQL is a widely used, open-source RDBMS.",
        ("latest", "8.4", "9.1"),
        586_000_000,
        15_000,
        1_000_000_000,
        ("mysqld",),
    ),
    CatalogImage(
        "library",
        "memcached",
        "Free & open source, high-performance memory cache.",
        ("latest", "1.6"),
        84_000_000,
        2_300,
        100_000_000,
        ("memcached",),
    ),
    CatalogImage(
        "traefik",
        "whoami",
        "Tiny Go webserver that prints OS information.",
        ("latest", "v1.10"),
        6_700_000,
        120,
        100_000_000,
        ("/whoami",),
    ),
)

_BY_REPOSITORY = {image.repository: image for image in CATALOG}
_BY_REPOSITORY.update({f"{i.namespace}/{i.name}": i for i in CATALOG})


def split_reference(reference: str) -> tuple[str, str]:
    """``nginx:1.27`` -> (``nginx``, ``1.27``); a registry host and digest are dropped."""
    name = reference.split("@", 1)[0]
    for host in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        if name.startswith(host):
            name = name[len(host) :]
    repository, _, tag = name.rpartition(":")
    if not repository or "/" in tag:
        repository, tag = name, "latest"
    return repository, tag or "latest"


def find_image(reference: str) -> tuple[CatalogImage, str] | None:
    """The catalogue image and tag a reference names, or None when the Hub has no such
    repository or tag (``docker pull`` then fails as against the real registry)."""
    repository, tag = split_reference(reference)
    image = _BY_REPOSITORY.get(repository)
    if image is None or tag not in image.tags:
        return None
    return image, tag


def digest_of(image: CatalogImage, tag: str) -> str:
    """A stable ``sha256:`` digest for one tag of one image."""
    text = f"{image.namespace}/{image.name}:{tag}".encode()
    return "sha256:" + hashlib.sha256(text).hexdigest()


def record_pull(store: Store, image: CatalogImage, tag: str, when: str, **extra: Any) -> None:
    """Remember one pull (in the Hub's state) for DVP's analytics. ``when`` is an ISO
    timestamp read from the twin clock; ``extra`` may carry the user agent or IP."""
    with store.transaction(PULLS_TWIN) as tx:
        number = tx.next_id(PULLS_FAMILY)
        pull = {
            "id": number,
            "namespace": image.namespace,
            "repository": image.name,
            "tag": tag,
            "digest": digest_of(image, tag),
            "time": when,
            **extra,
        }
        tx.put(PULLS_FAMILY, str(number), pull)


def recorded_pulls(store: Store, namespace: str | None = None) -> list[dict[str, Any]]:
    """Every recorded pull in order, optionally of one namespace."""
    filters = {"namespace": namespace} if namespace else None
    with store.transaction(PULLS_TWIN, write=False) as tx:
        return tx.list(PULLS_FAMILY, filters=filters).items
