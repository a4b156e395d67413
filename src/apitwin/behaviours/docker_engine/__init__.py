"""The Docker Engine twin's behaviour: a daemon the docker CLI and docker-py can drive.

The document describes the daemon's endpoints but not its life: containers that start,
stop and exit, images that are pulled, networks and volumes that containers use, and the
events all that produces. The modules here keep that state in the twin's store:

- ``daemon.py``: sessions (one transaction at one moment of the twin clock), ids, events
- ``containers.py``: the container state machine and what can be read about a container
- ``commands.py``: what a container's command does once started (output, exit, duration)
- ``images.py``: pull (from the Hub twin's state when a Hub is present, else the
  catalogue; ``docker_registry``), import, list, inspect, tag, remove, search, prune
- ``push.py``: push into the Hub's state (``docker_registry.push_tag``)
- ``credentials.py``: ``POST /auth`` and ``X-Registry-Auth`` against the Hub's accounts
- ``networks.py`` / ``volumes.py``: networks with their endpoints, volumes and mounts
- ``execs.py``: exec instances (create, start, inspect)
- ``system.py``: ping, version, info, df, events, the swarm refusals
- ``filters.py`` / ``streams.py``: the JSON ``filters`` parameter; framed and NDJSON bodies

A stateless twin (``--stateless``) has no store: only ``/version`` is served here (so
that it names the API version the twin negotiates); everything else stays the document's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from apitwin.behaviours.base import Behaviour, json_reply
from apitwin.behaviours.docker_engine.containers import Containers
from apitwin.behaviours.docker_engine.credentials import RegistryCredentials
from apitwin.behaviours.docker_engine.daemon import (
    CONTAINERS,
    IMAGES,
    NETWORKS,
    VOLUMES,
    Daemon,
)
from apitwin.behaviours.docker_engine.execs import Execs
from apitwin.behaviours.docker_engine.images import Images
from apitwin.behaviours.docker_engine.networks import Networks
from apitwin.behaviours.docker_engine.push import Push
from apitwin.behaviours.docker_engine.system import System, version_document
from apitwin.behaviours.docker_engine.volumes import Volumes

if TYPE_CHECKING:
    from apitwin.engine.twin import Twin

__all__ = ["DockerEngine", "install"]

# Families inferred from the document that this behaviour serves instead: the generic
# seeding must not fill them with synthesized containers, and the swarm's families answer
# as a daemon outside a swarm does.
OWNED_FAMILIES = (
    CONTAINERS, IMAGES, NETWORKS, VOLUMES, "configs", "nodes", "secrets", "services", "tasks",
)  # fmt: skip


class DockerEngine(Behaviour):
    def __init__(self, twin: Twin) -> None:
        super().__init__(twin)
        semantics, auth = twin.semantics, twin.auth
        if semantics is None or auth is None:
            self._stateless()
            return
        for family in OWNED_FAMILIES:
            semantics.runtimes.pop(family, None)
        daemon = Daemon(twin, semantics.store, auth.clock)
        credentials = RegistryCredentials(daemon)
        images = Images(daemon, credentials)
        containers = Containers(daemon, images)
        for part in (
            images,
            Push(daemon, images, credentials),
            containers,
            Networks(daemon),
            Volumes(daemon),
            Execs(daemon),
            System(daemon, containers, credentials),
        ):
            self.bind_all(part.handlers())

    def _stateless(self) -> None:
        versions = self.twin.profile.extra.get("versions") or {}
        current = str(versions.get("current", "1.33"))
        document = version_document(current, str(versions.get("minimum", current)))
        self.bind("SystemVersion", lambda context: json_reply(document))


def install(twin: Twin) -> None:
    DockerEngine(twin)
