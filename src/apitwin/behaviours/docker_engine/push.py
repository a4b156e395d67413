"""``docker push``: a local image's tag goes to the Hub's state, where a pull finds it.

The push writes through ``docker_registry.push_tag`` (the repository is created as on
the Hub), so ``docker push moby/app:v1`` followed by ``docker rmi`` and ``docker pull``
brings the image back, and the Hub twin lists the tag. The daemon answers 200 and
reports the outcome in the progress stream, refusals included (``denied: requested
access to the resource is denied``), as the CLI expects.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from apitwin.behaviours.base import reject
from apitwin.behaviours.docker_engine.credentials import RegistryCredentials
from apitwin.behaviours.docker_engine.daemon import IMAGES, Daemon
from apitwin.behaviours.docker_engine.images import Images, familiar
from apitwin.behaviours.docker_engine.streams import json_lines, ndjson_reply
from apitwin.behaviours.docker_registry import push_tag
from apitwin.engine.context import Handler, Reply, RequestContext

__all__ = ["Push"]

DENIED = "denied: requested access to the resource is denied"


def _error(message: str) -> dict[str, Any]:
    return {"errorDetail": {"message": message}, "error": message}


class Push:
    def __init__(self, daemon: Daemon, images: Images, credentials: RegistryCredentials) -> None:
        self.daemon = daemon
        self.images = images
        self.credentials = credentials

    def handlers(self) -> dict[str, Handler]:
        return {"ImagePush": self.push}

    def push(self, context: RequestContext) -> Reply:
        auth = self.credentials.of(context)
        name = str(context.params["name"]).split("@", 1)[0]
        repository = familiar(name).rsplit(":", 1)[0]
        wanted = str(context.params.get("tag") or "")
        with self.daemon.session(write=False) as session:
            images = session.tx.list(IMAGES).items
        tags = [
            (image, tag)
            for image in images
            for tag in image["RepoTags"]
            if tag.rsplit(":", 1)[0] == repository
            and (not wanted or tag.rsplit(":", 1)[1] == wanted)
        ]
        if not tags:
            shown = f"{repository}:{wanted}" if wanted else repository
            raise reject(404, f"An image does not exist locally with the tag: {shown}")
        path = repository if "/" in repository else f"library/{repository}"
        namespace, _, short = path.partition("/")
        lines: list[dict[str, Any]] = [
            {"status": f"The push refers to repository [docker.io/{path}]"}
        ]
        if not self.credentials.may_push(auth, namespace):
            layers = tags[0][0]["RootFS"]["Layers"]
            lines += [
                {"status": "Preparing", "progressDetail": {}, "id": layer[7:19]} for layer in layers
            ]
            lines.append(_error(DENIED))
            return ndjson_reply(_lines(lines))
        for image, tag in tags:
            lines += self._push_one(image, tag, namespace, short)
        return ndjson_reply(_lines(lines))

    def _push_one(
        self, image: dict[str, Any], tag: str, namespace: str, short: str
    ) -> list[dict[str, Any]]:
        label = tag.rsplit(":", 1)[1]
        layers = image["RootFS"]["Layers"]
        lines: list[dict[str, Any]] = []
        for layer in layers:
            lines.append({"status": "Preparing", "progressDetail": {}, "id": layer[7:19]})
        for layer in layers:
            lines.append({"status": "Pushed", "progressDetail": {}, "id": layer[7:19]})
        record = push_tag(self.daemon.store, namespace, short, label, size=int(image["Size"]))
        digest = str(record["images"]["digest"])
        size = 528 + 100 * len(layers)  # the manifest's length, as the registry reports it
        lines.append({"status": f"{label}: digest: {digest} size: {size}"})
        lines.append({"progressDetail": {}, "aux": {"Tag": label, "Digest": digest, "Size": size}})
        with self.daemon.session() as session:
            current = session.tx.get(IMAGES, image["Id"][7:])
            if current is not None:
                repo_digest = f"{tag.rsplit(':', 1)[0]}@{digest}"
                if repo_digest not in current["RepoDigests"]:
                    current["RepoDigests"].append(repo_digest)
                    session.save(IMAGES, image["Id"][7:], current)
                session.event("image", "push", tag, {"name": tag})
        return lines


async def _lines(lines: list[dict[str, Any]]) -> AsyncIterator[bytes]:
    for line in lines:
        yield json_lines([line])
