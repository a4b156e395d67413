"""Images: pull from the shared catalogue, list, inspect, history, tag, remove, search,
prune.

An image is kept under its id (hex, without ``sha256:``) with the tags that point at it.
A pull is recorded with :func:`record_pull` so the Docker Hub and DVP twins can count it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from typing import Any

from apitwin.behaviours.base import json_reply, reject
from apitwin.behaviours.docker_catalog import CatalogImage, digest_of, record_pull
from apitwin.behaviours.docker_engine.credentials import RegistryCredentials
from apitwin.behaviours.docker_engine.daemon import (
    CONTAINERS,
    IMAGES,
    Daemon,
    Session,
    go_time,
    public,
    registry_user_agent,
    stable_hex,
)
from apitwin.behaviours.docker_engine.filters import labels_match, parse_filters
from apitwin.behaviours.docker_engine.streams import json_lines, ndjson_reply
from apitwin.behaviours.docker_registry import lookup, search
from apitwin.conventions.clock import iso
from apitwin.engine.context import Handler, Reply, RequestContext

__all__ = ["Images", "familiar"]

_REFERENCE = re.compile(
    r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$"
)
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_HEX = re.compile(r"^(sha256:)?[0-9a-f]{1,64}$")
_BUILT = 1_717_200_000  # images of the catalogue were built around June 2024


def familiar(reference: str) -> str:
    """``docker.io/library/busybox`` -> ``busybox:latest``: the form ``docker images``
    shows, with the tag filled in (digest references are kept as they are)."""
    name = reference
    for host in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        if name.startswith(host):
            name = name[len(host) :]
    if name.startswith("library/") and name.count("/") == 1:
        name = name[len("library/") :]
    if "@" in name:
        return name
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


def _repository(tag: str) -> str:
    name = tag.split("@", 1)[0]
    head, sep, last = name.rpartition("/")
    return f"{head}{sep}{last.split(':', 1)[0]}"


class Images:
    def __init__(self, daemon: Daemon, credentials: RegistryCredentials) -> None:
        self.daemon = daemon
        self.credentials = credentials

    def handlers(self) -> dict[str, Handler]:
        return {
            "ImageCreate": self.pull,
            "ImageList": self.listing,
            "ImageInspect": self.inspect,
            "ImageHistory": self.history,
            "ImageTag": self.tag,
            "ImageDelete": self.delete,
            "ImageSearch": self.search,
            "ImagePrune": self.prune,
        }

    # -- lookups --------------------------------------------------------------------------

    @staticmethod
    def find(session: Session, reference: str) -> dict[str, Any] | None:
        """An image by tag, digest reference, id or unique id prefix."""
        images = session.tx.list(IMAGES).items
        wanted = familiar(reference)
        for image in images:
            if wanted in image["RepoTags"] or wanted in image["RepoDigests"]:
                return image
        if _HEX.match(reference):
            hex_part = reference.removeprefix("sha256:")
            matches = [i for i in images if i["Id"][7:].startswith(hex_part)]
            if len(matches) == 1:
                return matches[0]
        return None

    def require(self, session: Session, reference: str) -> dict[str, Any]:
        image = self.find(session, reference)
        if image is None:
            raise reject(404, f"No such image: {reference}")
        return image

    @staticmethod
    def users(session: Session, image_id: str) -> list[dict[str, Any]]:
        return [c for c in session.containers() if c["Image"] == image_id]

    # -- pull -----------------------------------------------------------------------------

    def pull(self, context: RequestContext) -> Reply:
        params = context.params
        source = params.get("fromImage")
        if not source:
            return self._import(context)
        auth = self.credentials.of(context)
        tag = params.get("tag") or ""
        reference = f"{source}@{tag}" if tag.startswith("sha256:") else source
        if tag and not tag.startswith("sha256:"):
            reference = f"{source}:{tag}"
        found = lookup(self.daemon.store, reference)
        repository = familiar(reference.split("@", 1)[0]).rsplit(":", 1)[0]
        namespace = found.repository.split("/", 1)[0]
        if not found.exists or not self.credentials.may_read(auth, namespace, found.private):
            raise reject(
                404,
                f"pull access denied for {repository}, repository does not exist or may "
                "require 'docker login': denied: requested access to the resource is denied",
            )
        if found.found is None:
            wanted = tag or familiar(reference).rsplit(":", 1)[1]
            raise reject(404, f"manifest for {repository}:{wanted} not found: manifest unknown")
        catalog, catalog_tag = found.found
        with self.daemon.session() as session:
            lines, when, fresh = self._store_pull(session, catalog, catalog_tag)
        by_digest = "@" in reference
        record_pull(
            self.daemon.store,
            catalog,
            catalog_tag,
            iso(when),
            user_agent=registry_user_agent(context.parts.headers.get("user-agent", "")),
            ip=context.client,
            # An image already here costs the registry a manifest HEAD only: DVP counts
            # that as a version check; anything else is a pull by tag or by digest.
            action="pull_by_digest" if by_digest else "pull_by_tag" if fresh else "version_check",
            http_method="GET" if fresh or by_digest else "HEAD",
            reference=reference.split("@", 1)[1] if by_digest else catalog_tag,
        )

        async def progress() -> AsyncIterator[bytes]:
            for line in lines:
                yield json_lines([line])

        return ndjson_reply(progress())

    def _import(self, context: RequestContext) -> Reply:
        """``docker import``: ``fromSrc=-`` makes an image of the uploaded archive. A URL
        would be fetched by the daemon; the twin has no network, so the answer is the
        daemon's fetch error in the stream (the daemon answers 200 before it fetches)."""
        params = context.params
        source = str(params.get("fromSrc") or "")
        repo, tag = str(params.get("repo") or ""), str(params.get("tag") or "")
        if repo and not _REFERENCE.match(repo.removeprefix("docker.io/")):
            raise reject(
                400, f"invalid reference format: repository name ({repo}) must be lowercase"
            )
        if repo and tag and not _TAG.match(tag):
            raise reject(400, "invalid tag format")
        if source != "-":
            host = source.split("://", 1)[-1].split("/", 1)[0] or source
            message = f'Get "http://{host}": dial tcp: lookup {host}: no such host'
            return ndjson_reply(_once({"errorDetail": {"message": message}, "error": message}))
        body = context.request.body
        data = body if isinstance(body, bytes) else str(body or "").encode()
        archive = CatalogImage("", "import", "", (), len(data), 0, 0, ())
        image_hex = stable_hex("import", hashlib.sha256(data).hexdigest())
        with self.daemon.session() as session:
            image = session.tx.get(IMAGES, image_hex) or _image_document(
                archive, "latest", image_hex, [f"sha256:{stable_hex('layer', image_hex)}"]
            )
            image["_twin"]["built"] = int(session.now)
            image["Created"] = go_time(session.now)
            if repo:
                name = familiar(f"{repo}:{tag or 'latest'}")
                self._untag_elsewhere(session, name, image_hex)
                if name not in image["RepoTags"]:
                    image["RepoTags"].append(name)
            session.save(IMAGES, image_hex, image)
            session.event("image", "import", image["Id"], {"name": image["Id"]})
        return ndjson_reply(_once({"status": image["Id"]}))

    def _store_pull(
        self, session: Session, catalog: CatalogImage, tag: str
    ) -> tuple[list[dict[str, Any]], float, bool]:
        """Progress lines, the time, and whether anything was downloaded."""
        digest = digest_of(catalog, tag)
        name = f"{catalog.repository}:{tag}"
        image_hex = stable_hex("image", digest)
        path = f"{catalog.namespace}/{catalog.name}"
        lines: list[dict[str, Any]] = [{"status": f"Pulling from {path}", "id": tag}]
        existing = session.tx.get(IMAGES, image_hex)
        if existing is not None and name in existing["RepoTags"]:
            lines.append({"status": f"Digest: {digest}"})
            lines.append({"status": f"Status: Image is up to date for {name}"})
            return lines, session.now, False
        layers = _layers(catalog, tag)
        size = catalog.size
        for layer in layers:
            lines.append({"status": "Pulling fs layer", "progressDetail": {}, "id": layer[7:19]})
        share = max(1, size // len(layers))
        for layer in layers:
            short = layer[7:19]
            lines.append(
                {
                    "status": "Downloading",
                    "progressDetail": {"current": share // 2, "total": share},
                    "progress": f"[=========================>                         ]  "
                    f"{_size(share // 2)}/{_size(share)}",
                    "id": short,
                }
            )
            lines.append({"status": "Verifying Checksum", "progressDetail": {}, "id": short})
            lines.append({"status": "Download complete", "progressDetail": {}, "id": short})
            lines.append(
                {
                    "status": "Extracting",
                    "progressDetail": {"current": share, "total": share},
                    "progress": f"[==================================================>]  "
                    f"{_size(share)}/{_size(share)}",
                    "id": short,
                }
            )
            lines.append({"status": "Pull complete", "progressDetail": {}, "id": short})
        lines.append({"status": f"Digest: {digest}"})
        lines.append({"status": f"Status: Downloaded newer image for {name}"})
        self._untag_elsewhere(session, name, image_hex)
        image = existing or _image_document(catalog, tag, image_hex, layers)
        if name not in image["RepoTags"]:
            image["RepoTags"].append(name)
        repo_digest = f"{catalog.repository}@{digest}"
        if repo_digest not in image["RepoDigests"]:
            image["RepoDigests"].append(repo_digest)
        image["Metadata"] = {"LastTagTime": go_time(session.now)}
        session.save(IMAGES, image_hex, image)
        session.event("image", "pull", name, {"name": name})
        return lines, session.now, True

    @staticmethod
    def _untag_elsewhere(session: Session, name: str, keep: str) -> None:
        """A tag names one image: moving it leaves the previous image without it."""
        for other in session.tx.list(IMAGES).items:
            if other["Id"][7:] != keep and name in other["RepoTags"]:
                other["RepoTags"].remove(name)
                session.save(IMAGES, other["Id"][7:], other)

    # -- reads ----------------------------------------------------------------------------

    def listing(self, context: RequestContext) -> Reply:
        filters = parse_filters(
            context.params.get("filters"), ("dangling", "label", "before", "since", "reference")
        )
        with self.daemon.session(write=False) as session:
            images = sorted(
                session.tx.list(IMAGES).items, key=lambda i: i["_twin"]["built"], reverse=True
            )
            counts: dict[str, int] = {}
            for container in session.containers():
                counts[container["Image"]] = counts.get(container["Image"], 0) + 1
            bounds = {
                key: self.require(session, filters[key][0])["_twin"]["built"]
                for key in ("before", "since")
                if filters.get(key)
            }
        result = []
        for image in images:
            if not _matches(image, filters, bounds):
                continue
            result.append(summary(image, counts.get(image["Id"], 0)))
        return json_reply(result)

    def inspect(self, context: RequestContext) -> Reply:
        with self.daemon.session(write=False) as session:
            image = self.require(session, context.params["name"])
        return json_reply(public(image))

    def history(self, context: RequestContext) -> Reply:
        with self.daemon.session(write=False) as session:
            image = self.require(session, context.params["name"])
        layers = image["RootFS"]["Layers"]
        built = image["_twin"]["built"]
        cmd = image["Config"].get("Cmd") or []
        entries = [
            {
                "Id": image["Id"],
                "Created": built,
                "CreatedBy": f"/bin/sh -c #(nop)  CMD {_json_list(cmd)}",
                "Tags": image["RepoTags"] or None,
                "Size": 0,
                "Comment": "",
            }
        ]
        share = image["Size"] // max(1, len(layers))
        for number, _layer in enumerate(reversed(layers)):
            entries.append(
                {
                    "Id": "<missing>",
                    "Created": built - 60 * (number + 1),
                    "CreatedBy": f"/bin/sh -c #(nop) ADD file:{stable_hex('file', _layer)[:64]} in / ",
                    "Tags": None,
                    "Size": share,
                    "Comment": "",
                }
            )
        return json_reply(entries)

    def search(self, context: RequestContext) -> Reply:
        params = context.params
        term = str(params.get("term", ""))
        limit = params.get("limit") or 25
        filters = parse_filters(params.get("filters"), ("is-official", "is-automated", "stars"))
        found = []
        for image in search(self.daemon.store, term):
            official = image.namespace == "library"
            if "is-official" in filters and (filters["is-official"][0] == "true") != official:
                continue
            if "is-automated" in filters and filters["is-automated"][0] == "true":
                continue
            if "stars" in filters:
                try:
                    if image.star_count < int(filters["stars"][0]):
                        continue
                except ValueError:
                    raise reject(400, f"Invalid filter 'stars={filters['stars'][0]}'") from None
            found.append(
                {
                    "description": image.description,
                    "is_official": official,
                    "is_automated": False,
                    "name": image.repository,
                    "star_count": image.star_count,
                }
            )
        return json_reply(found[: max(1, min(int(limit), 100))])

    # -- writes ---------------------------------------------------------------------------

    def tag(self, context: RequestContext) -> Reply:
        params = context.params
        repo = params.get("repo") or ""
        tag = params.get("tag") or "latest"
        bare = repo
        for host in ("docker.io/",):
            bare = bare.removeprefix(host)
        if not repo or not _REFERENCE.match(bare) or not _TAG.match(tag):
            raise reject(
                400, f"invalid reference format: repository name ({repo}) must be lowercase"
            )
        with self.daemon.session() as session:
            image = self.require(session, context.params["name"])
            name = familiar(f"{repo}:{tag}")
            self._untag_elsewhere(session, name, image["Id"][7:])
            if name not in image["RepoTags"]:
                image["RepoTags"].append(name)
            image["Metadata"] = {"LastTagTime": go_time(session.now)}
            session.save(IMAGES, image["Id"][7:], image)
            session.event("image", "tag", image["Id"], {"name": name})
        return Reply(201)

    def delete(self, context: RequestContext) -> Reply:
        reference = context.params["name"]
        force = bool(context.params.get("force"))
        with self.daemon.session() as session:
            image = self.require(session, reference)
            return json_reply(self._delete(session, image, reference, force))

    def _delete(
        self, session: Session, image: dict[str, Any], reference: str, force: bool
    ) -> list[dict[str, str]]:
        hex_id = image["Id"][7:]
        by_id = _HEX.match(reference) is not None and familiar(reference) not in image["RepoTags"]
        users = self.users(session, image["Id"])
        if not by_id:
            name = familiar(reference)
            if len(image["RepoTags"]) > 1 or (force and users):
                return self._untag(session, image, name)
            if users and not force:
                raise reject(
                    409,
                    f'conflict: unable to remove repository reference "{reference}" (must '
                    f"force) - container {users[0]['Id'][:12]} is using its referenced image "
                    f"{hex_id[:12]}",
                )
        elif users:
            running = [c for c in users if c["State"]["Running"]]
            if running or not force:
                how = "cannot be forced" if running else "must be forced"
                which = running[0] if running else users[0]
                state = "running" if running else "stopped"
                raise reject(
                    409,
                    f"conflict: unable to delete {hex_id[:12]} ({how}) - image is being used "
                    f"by {state} container {which['Id'][:12]}",
                )
            if len(image["RepoTags"]) > 1 and not force:
                raise reject(
                    409,
                    f"conflict: unable to delete {hex_id[:12]} (must be forced) - image is "
                    "referenced in multiple repositories",
                )
        result: list[dict[str, str]] = []
        for name in list(image["RepoTags"]):
            result.append({"Untagged": name})
            session.event("image", "untag", image["Id"], {"name": name})
        for digest in image["RepoDigests"]:
            result.append({"Untagged": digest})
        if users:  # forced by id while only stopped containers use it: keep it, untagged
            image["RepoTags"], image["RepoDigests"] = [], []
            session.save(IMAGES, hex_id, image)
            return result
        session.tx.delete(IMAGES, hex_id)
        result.append({"Deleted": image["Id"]})
        result.extend({"Deleted": layer} for layer in image["RootFS"]["Layers"])
        session.event("image", "delete", image["Id"], {"name": image["Id"]})
        return result

    @staticmethod
    def _untag(session: Session, image: dict[str, Any], name: str) -> list[dict[str, str]]:
        if name in image["RepoTags"]:
            image["RepoTags"].remove(name)
        repository = _repository(name)
        if not any(_repository(t) == repository for t in image["RepoTags"]):
            image["RepoDigests"] = [d for d in image["RepoDigests"] if _repository(d) != repository]
        session.save(IMAGES, image["Id"][7:], image)
        session.event("image", "untag", image["Id"], {"name": name})
        return [{"Untagged": name}]

    def prune(self, context: RequestContext) -> Reply:
        filters = parse_filters(context.params.get("filters"), ("dangling", "until", "label"))
        only_dangling = filters.get("dangling", ["true"])[0] not in ("false", "0")
        deleted: list[dict[str, str]] = []
        reclaimed = 0
        with self.daemon.session() as session:
            used = {c["Image"] for c in session.containers()}
            for image in session.tx.list(IMAGES).items:
                if image["Id"] in used or (only_dangling and image["RepoTags"]):
                    continue
                if "label" in filters and not labels_match(
                    image["Config"].get("Labels"), filters["label"]
                ):
                    continue
                for name in image["RepoTags"]:
                    deleted.append({"Untagged": name})
                session.tx.delete(IMAGES, image["Id"][7:])
                session.event("image", "delete", image["Id"], {"name": image["Id"]})
                deleted.append({"Deleted": image["Id"]})
                reclaimed += image["Size"]
        return json_reply({"ImagesDeleted": deleted or None, "SpaceReclaimed": reclaimed})


async def _once(line: dict[str, Any]) -> AsyncIterator[bytes]:
    yield json_lines([line])


def summary(image: dict[str, Any], containers: int) -> dict[str, Any]:
    """The ``GET /images/json`` entry of an image."""
    return {
        "Id": image["Id"],
        "ParentId": "",
        "RepoTags": image["RepoTags"] or ["<none>:<none>"],
        "RepoDigests": image["RepoDigests"] or ["<none>@<none>"],
        "Created": image["_twin"]["built"],
        "Size": image["Size"],
        "SharedSize": -1,
        "VirtualSize": image["Size"],
        "Labels": image["Config"].get("Labels") or {},
        "Containers": containers,
    }


def _matches(image: dict[str, Any], filters: dict[str, list[str]], bounds: dict[str, int]) -> bool:
    if "dangling" in filters:
        dangling = filters["dangling"][0] in ("true", "1")
        if dangling != (not image["RepoTags"]):
            return False
    if "label" in filters and not labels_match(image["Config"].get("Labels"), filters["label"]):
        return False
    if "before" in bounds and image["_twin"]["built"] >= bounds["before"]:
        return False
    if "since" in bounds and image["_twin"]["built"] <= bounds["since"]:
        return False
    if "reference" in filters:
        import fnmatch

        names = [t.rsplit(":", 1)[0] for t in image["RepoTags"]] + image["RepoTags"]
        if not any(fnmatch.fnmatch(n, p) for p in filters["reference"] for n in names):
            return False
    return True


def _layers(catalog: CatalogImage, tag: str) -> list[str]:
    count = 1 if catalog.size < 10_000_000 else 3 + int(stable_hex(catalog.name)[:2], 16) % 3
    return [
        f"sha256:{stable_hex('layer', catalog.namespace, catalog.name, tag, n)}"
        for n in range(count)
    ]


def _image_document(
    catalog: CatalogImage, tag: str, image_hex: str, layers: list[str]
) -> dict[str, Any]:
    built = _BUILT + int(stable_hex("built", catalog.name, tag)[:6], 16) % (200 * 86400)
    env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    config: dict[str, Any] = {
        "Hostname": "",
        "Domainname": "",
        "User": "",
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "Tty": False,
        "OpenStdin": False,
        "StdinOnce": False,
        "Env": env,
        "Cmd": list(catalog.cmd),
        "Image": "",
        "Volumes": None,
        "WorkingDir": "",
        "Entrypoint": None,
        "OnBuild": None,
        "Labels": {},
    }
    return {
        "Id": f"sha256:{image_hex}",
        "RepoTags": [],
        "RepoDigests": [],
        "Parent": "",
        "Comment": "",
        "Created": go_time(built),
        "Container": "",
        "ContainerConfig": {
            **config,
            "Cmd": ["/bin/sh", "-c", f"#(nop) CMD {_json_list(list(catalog.cmd))}"],
        },
        "DockerVersion": "17.10.0-ce",
        "Author": "",
        "Config": config,
        "Architecture": "amd64",
        "Os": "linux",
        "Size": catalog.size,
        "VirtualSize": catalog.size,
        "GraphDriver": {
            "Name": "overlay2",
            "Data": {
                "MergedDir": f"/var/lib/docker/overlay2/{image_hex}/merged",
                "UpperDir": f"/var/lib/docker/overlay2/{image_hex}/diff",
                "WorkDir": f"/var/lib/docker/overlay2/{image_hex}/work",
            },
        },
        "RootFS": {"Type": "layers", "Layers": layers},
        "Metadata": {"LastTagTime": ZERO},
        "_twin": {"built": built, "repository": catalog.repository, "tag": tag},
    }


ZERO = "0001-01-01T00:00:00Z"


def _json_list(values: list[str]) -> str:
    return "[" + ",".join(f'"{v}"' for v in values) + "]"


def _size(count: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.3g}{unit}"
    return f"{count}B"


__all__ += ["summary", "CONTAINERS"]
