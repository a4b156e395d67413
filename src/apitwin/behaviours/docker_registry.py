"""The Hub's repositories and tags, kept in the Hub twin's state.

Seeded from the shared catalogue (official images under ``library``, plus
``traefik/whoami``) the first time the Hub is used, so that its tags carry the digests
the Engine twin pulls. Repositories clients create, and tags pushed into them, live
beside the seeded ones. Any twin sharing the store can read them (``hub_image`` for the
Engine's pulls); they are written only through the Hub twin or ``push_tag``.

Whether the Engine pulls from this state or from the catalogue alone depends on whether
a Hub is there (:func:`hub_present`): a Hub twin built in this process on the same store
(registered by the Hub behaviour), or the Hub's seed or pushed tags already in the store
(a Hub served by another process on a shared SQLite file or PostgreSQL database).
"""

from __future__ import annotations

import hashlib
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from apitwin.behaviours.docker_catalog import (
    CATALOG,
    PULLS_FAMILY,
    PULLS_TWIN,
    CatalogImage,
    digest_of,
    split_reference,
)
from apitwin.conventions.clock import TwinClock
from apitwin.state.store import Store, Transaction

if TYPE_CHECKING:
    from apitwin.engine.twin import Twin

__all__ = [
    "REPOSITORIES",
    "TAGS",
    "Lookup",
    "catalog_seeded",
    "ensure_catalog",
    "hub_image",
    "hub_present",
    "lookup",
    "register_hub",
    "search",
    "image_of",
    "new_repository",
    "pull_count",
    "push_tag",
]

HUB = PULLS_TWIN
REPOSITORIES = "repositories"  # key "namespace/name", parent "namespace"
TAGS = "tags"  # key "namespace/name/tag", parent "namespace/name"
_META = "__apitwin__"  # the semantics' bookkeeping family: cleared by a reset
_SEEDED = "seeded:catalog"
_DAY = 86400.0
# The official images' maintainer account, as the Hub shows it on their tags.
_OFFICIAL_UPDATER = "doijanky"
_INDEX = "application/vnd.oci.image.index.v1+json"


def stamp(moment: float) -> str:
    """An ISO timestamp as the Hub writes them (microseconds, ``Z``)."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _spread(text: str, low: float, high: float) -> float:
    """A stable number in [low, high) drawn from ``text``: seeded dates that look real
    and do not change between runs."""
    value = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") / 2**32
    return low + (high - low) * value


def catalog_seeded(tx: Transaction) -> bool:
    return tx.get(_META, _SEEDED) is not None


def ensure_catalog(store: Store) -> None:
    """Seed the catalogue's repositories and tags once per state (again after a reset).
    Writing the marker row first serializes processes that seed at the same moment."""
    with store.transaction(HUB, write=False) as tx:
        if catalog_seeded(tx):
            return
    with store.transaction(HUB) as tx:
        tx.put(_META, "seeding", {"catalog": True})
        if catalog_seeded(tx):
            return
        now = TwinClock(store, HUB).now_in(tx)
        for image in CATALOG:
            repository = _catalog_repository(tx, image, now)
            for tag in image.tags:
                _put_tag(tx, repository, image, tag, now, seeded=True)
        tx.put(_META, _SEEDED, {"catalog": True})


def _catalog_repository(tx: Transaction, image: CatalogImage, now: float) -> dict[str, Any]:
    name = f"{image.namespace}/{image.name}"
    registered = now - _spread(name + ":registered", 3 * 365, 10 * 365) * _DAY
    updated = now - _spread(name + ":updated", 1, 14) * _DAY
    record = _repository(
        tx,
        image.namespace,
        image.name,
        description=image.description,
        is_private=False,
        registered=registered,
        updated=updated,
    )
    record.update(
        star_count=image.star_count,
        base_pull_count=image.pull_count,
        storage_size=image.size * len(image.tags),
    )
    tx.put(REPOSITORIES, name, record, parent=image.namespace)
    return record


def _repository(
    tx: Transaction,
    namespace: str,
    name: str,
    *,
    description: str,
    is_private: bool,
    registered: float,
    updated: float | None,
    full_description: str = "",
) -> dict[str, Any]:
    return {
        "id": tx.next_id(REPOSITORIES),
        "user": namespace,
        "namespace": namespace,
        "name": name,
        "repository_type": "image",
        "status": 1,
        "status_description": "active",
        "description": description,
        "full_description": full_description,
        "is_private": is_private,
        "is_automated": False,
        "star_count": 0,
        "pull_count": 0,
        "base_pull_count": 0,
        "last_updated": stamp(updated) if updated is not None else None,
        "last_modified": stamp(updated if updated is not None else registered),
        "date_registered": stamp(registered),
        "affiliation": "",
        "media_types": [_INDEX] if updated is not None else [],
        "content_types": ["image"] if updated is not None else [],
        "categories": [],
        "storage_size": 0,
    }


def new_repository(
    tx: Transaction,
    namespace: str,
    name: str,
    now: float,
    *,
    description: str = "",
    full_description: str = "",
    is_private: bool = False,
) -> dict[str, Any]:
    """A repository a client created: empty until something is pushed into it."""
    record = _repository(
        tx,
        namespace,
        name,
        description=description,
        full_description=full_description,
        is_private=is_private,
        registered=now,
        updated=None,
    )
    tx.put(REPOSITORIES, f"{namespace}/{name}", record, parent=namespace)
    return record


def image_of(repository: dict[str, Any], tags: tuple[str, ...] = ()) -> CatalogImage:
    """A repository as a catalogue image (what ``digest_of`` and ``record_pull`` take)."""
    namespace, name = str(repository["namespace"]), str(repository["name"])
    for image in CATALOG:
        if image.namespace == namespace and image.name == name:
            return image
    return CatalogImage(
        namespace,
        name,
        str(repository.get("description") or ""),
        tags,
        int(repository.get("storage_size") or 0),
        int(repository.get("star_count") or 0),
        int(repository.get("base_pull_count") or 0),
        ("sh",),
    )


def _put_tag(
    tx: Transaction,
    repository: dict[str, Any],
    image: CatalogImage,
    tag: str,
    now: float,
    *,
    seeded: bool,
) -> dict[str, Any]:
    name = f"{image.namespace}/{image.name}"
    pushed = now - _spread(f"{name}:{tag}:pushed", 1, 30) * _DAY if seeded else now
    pulled = now - _spread(f"{name}:{tag}:pulled", 0, 1) * _DAY if seeded else None
    size = int(image.size * _spread(f"{name}:{tag}:size", 0.85, 1.15)) if image.size else 0
    digest = digest_of(image, tag)
    official = image.namespace == "library"
    record = {
        "id": tx.next_id(TAGS),
        "name": tag,
        "creator": 7 if official else int(repository["id"]),
        "last_updater": 7 if official else int(repository["id"]),
        "last_updater_username": _OFFICIAL_UPDATER if official else image.namespace,
        "full_size": size * 2 // 5,  # compressed layers
        "repository": int(repository["id"]),
        "status": "active",
        "last_updated": stamp(pushed),
        "tag_last_pushed": stamp(pushed),
        "tag_last_pulled": stamp(pulled) if pulled is not None else None,
        "images": {
            "architecture": "amd64",
            "features": "",
            "variant": None,
            "digest": digest,
            "os": "linux",
            "os_features": "",
            "os_version": None,
            "size": size * 2 // 5,
            "status": "active",
            "last_pulled": stamp(pulled) if pulled is not None else None,
            "last_pushed": stamp(pushed),
            "layers": [
                {"digest": digest, "size": size * 2 // 5, "instruction": "ADD rootfs / "},
            ],
        },
    }
    tx.put(TAGS, f"{name}/{tag}", record, parent=name)
    return record


def push_tag(store: Store, namespace: str, name: str, tag: str, *, size: int = 0) -> dict[str, Any]:
    """A tag pushed into the Hub (creating the repository as ``docker push`` does); the
    Engine twin's push calls this. Returns the tag as the Hub lists it."""
    ensure_catalog(store)
    with store.transaction(HUB) as tx:
        now = TwinClock(store, HUB).now_in(tx)
        key = f"{namespace}/{name}"
        repository = tx.get(REPOSITORIES, key, for_update=True)
        if repository is None:
            repository = new_repository(tx, namespace, name, now)
        repository.update(
            last_updated=stamp(now),
            last_modified=stamp(now),
            media_types=[_INDEX],
            content_types=["image"],
            storage_size=int(repository.get("storage_size") or 0) + size,
        )
        tx.put(REPOSITORIES, key, repository, parent=namespace)
        old = tx.get(TAGS, f"{key}/{tag}")
        image = image_of(repository, (tag,))
        image = CatalogImage(
            image.namespace,
            image.name,
            image.description,
            image.tags,
            size or image.size,
            image.star_count,
            image.pull_count,
            image.cmd,
        )
        record = _put_tag(tx, repository, image, tag, now, seeded=False)
        if old is not None:
            record["id"] = old["id"]
            tx.put(TAGS, f"{key}/{tag}", record, parent=key)
    return record


def pull_count(tx_pulls: Transaction, repository: dict[str, Any]) -> int:
    """The repository's pull count: its seeded figure plus the pulls recorded since."""
    recorded = tx_pulls.list(
        PULLS_FAMILY,
        filters={"namespace": repository["namespace"], "repository": repository["name"]},
        limit=0,
    ).total
    return int(repository.get("base_pull_count") or 0) + recorded


def hub_image(store: Store, reference: str) -> tuple[CatalogImage, str] | None:
    """What a pull of ``reference`` finds: the image and tag, or None (see :func:`lookup`,
    which also tells an unknown repository from an unknown tag, and a private one)."""
    return lookup(store, reference).found


# -- whether a Hub is there -------------------------------------------------------------

# Hub twins built in this process. Weak: a twin that is dropped (tests build many) must
# not keep its store alive or count as present.
_HUB_TWINS: list[weakref.ref[Twin]] = []


def register_hub(twin: Twin) -> None:
    """Called by the Hub behaviour: this twin's store now holds a Hub."""
    _HUB_TWINS[:] = [ref for ref in _HUB_TWINS if ref() is not None]
    _HUB_TWINS.append(weakref.ref(twin))


def _hub_twin(store: Store) -> Twin | None:
    """The Hub twin of this process that keeps its state in ``store``, if any. The store
    is read per call: a forked worker gives every twin a new one."""
    for ref in _HUB_TWINS:
        twin = ref()
        if twin is not None and twin.semantics is not None and twin.semantics.store is store:
            return twin
    return None


def hub_present(store: Store) -> bool:
    """Whether pulls go to the Hub's state rather than the catalogue alone: a Hub twin in
    this process on this store, or Hub state already in the store (seeded by a Hub twin
    elsewhere, or a tag pushed through the Engine)."""
    if _hub_twin(store) is not None:
        return True
    with store.transaction(HUB, write=False) as tx:
        return catalog_seeded(tx)


def _prepared(store: Store) -> bool:
    """Seed the Hub's state when a Hub twin that seeds is here (as its own first request
    would); whether the Hub's state is what counts."""
    twin = _hub_twin(store)
    if twin is not None:
        assert twin.semantics is not None
        if twin.semantics.seeding_enabled:
            ensure_catalog(store)
        return True
    with store.transaction(HUB, write=False) as tx:
        return catalog_seeded(tx)


@dataclass(frozen=True)
class Lookup:
    """What a pull of one reference finds: whether the repository exists (and is private),
    and the image and tag when the tag (or digest) does too."""

    repository: str  # namespace/name
    exists: bool
    private: bool = False
    found: tuple[CatalogImage, str] | None = None


def _parts(reference: str) -> tuple[str, str, str | None]:
    """``moby/app:v1`` -> (``moby/app``, ``v1``, None); ``x@sha256:..`` -> (.., .., digest)."""
    digest = reference.split("@", 1)[1] if "@" in reference else None
    repository_name, tag = split_reference(reference)
    namespace, _, name = repository_name.rpartition("/")
    return f"{namespace or 'library'}/{name}", tag, digest


def lookup(store: Store, reference: str) -> Lookup:
    """Resolve a pull: in the Hub's state when a Hub is present, else in the catalogue."""
    key, tag, digest = _parts(reference)
    if not _prepared(store):
        return _catalog_lookup(key, tag, digest)
    with store.transaction(HUB, write=False) as tx:
        repository = tx.get(REPOSITORIES, key)
        if repository is None:
            return Lookup(key, False)
        private = bool(repository.get("is_private"))
        if digest is None:
            record = tx.get(TAGS, f"{key}/{tag}")
        else:
            record = next(
                (
                    t
                    for t in tx.list(TAGS, parent=key).items
                    if (t.get("images") or {}).get("digest") == digest
                ),
                None,
            )
    if record is None:
        return Lookup(key, True, private)
    found_tag = str(record["name"])
    return Lookup(key, True, private, (image_of(repository, (found_tag,)), found_tag))


def _catalog_lookup(key: str, tag: str, digest: str | None) -> Lookup:
    namespace, name = key.split("/", 1)
    image = next((i for i in CATALOG if i.namespace == namespace and i.name == name), None)
    if image is None:
        return Lookup(key, False)
    if digest is not None:
        tag = next((t for t in image.tags if digest_of(image, t) == digest), "")
    if tag not in image.tags:
        return Lookup(key, True)
    return Lookup(key, True, False, (image, tag))


def search(store: Store, term: str) -> list[CatalogImage]:
    """Public repositories whose name or description holds ``term``: the Hub's state when
    a Hub is present, else the catalogue (``docker search`` never shows private ones)."""
    needle = term.lower()
    if not _prepared(store):
        candidates = list(CATALOG)
    else:
        with store.transaction(HUB, write=False) as tx:
            repositories = tx.list(REPOSITORIES, parent=None).items
        candidates = [image_of(r) for r in repositories if not r.get("is_private")]
    return [
        image
        for image in candidates
        if needle in image.repository.lower() or needle in image.description.lower()
    ]
