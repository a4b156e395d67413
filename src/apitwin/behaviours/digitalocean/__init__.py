"""The DigitalOcean twin's behaviour: a cloud account that pydo and python-digitalocean
can manage. One module per concern; each binds the operations it serves and shares the
account's state with the others through the store (see docs/twins/digitalocean.md).

A stateless twin (``--stateless``) keeps the document's canned answers.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from apitwin.behaviours.digitalocean.actions import Actions
from apitwin.behaviours.digitalocean.apps import Apps
from apitwin.behaviours.digitalocean.billing import Billing
from apitwin.behaviours.digitalocean.cdn import Cdn
from apitwin.behaviours.digitalocean.certificates import Certificates
from apitwin.behaviours.digitalocean.context import OWNED, DigitalOcean, Settings, Shared
from apitwin.behaviours.digitalocean.databases import Databases
from apitwin.behaviours.digitalocean.domains import Domains
from apitwin.behaviours.digitalocean.droplet_actions import DropletActions
from apitwin.behaviours.digitalocean.droplets import Droplets
from apitwin.behaviours.digitalocean.images import Images
from apitwin.behaviours.digitalocean.ips import ReservedIPs
from apitwin.behaviours.digitalocean.keys import Keys
from apitwin.behaviours.digitalocean.kubernetes import Kubernetes
from apitwin.behaviours.digitalocean.monitoring import Monitoring, Uptime
from apitwin.behaviours.digitalocean.networking import Firewalls, LoadBalancers, Vpcs
from apitwin.behaviours.digitalocean.projects import Projects
from apitwin.behaviours.digitalocean.reference_handlers import Reference
from apitwin.behaviours.digitalocean.registry import Registry
from apitwin.behaviours.digitalocean.tags import Tags
from apitwin.behaviours.digitalocean.volumes import Volumes

if TYPE_CHECKING:
    from apitwin.engine.twin import Twin

__all__ = ["install"]

MODULES: tuple[type[DigitalOcean], ...] = (
    Actions,
    Reference,
    Droplets,
    DropletActions,
    Images,
    Tags,
    Keys,
    Volumes,
    Domains,
    ReservedIPs,
    Firewalls,
    LoadBalancers,
    Vpcs,
    Projects,
    Kubernetes,
    Certificates,
    Cdn,
    Databases,
    Apps,
    Monitoring,
    Uptime,
    Registry,
    Billing,
)


# Families served whole by this package, every operation bound (docs/state.md: the
# generic walk leaves such families to the twin's own tests).
TAKEN = (
    "volumes.snapshots",
    "volumes_snapshots",
    "certificates",
    "cdn_endpoints",
    "databases",
    "databases.dbs",
    "databases.users",
    "databases.pools",
    "apps",
    "apps.deployments",
    "monitoring_alerts",
    "uptime_checks",
    "uptime_checks.alerts",
    "registry",
    "account",
)

# Families whose document examples make good seed items (the documented SSH key).
SEEDED_GENERICALLY = frozenset({"account_keys"})


def _nothing(tx: Any, runtime: Any) -> None:
    """Families that start empty, as in a new account (their items come from others)."""


def install(twin: Twin) -> None:
    if twin.semantics is None:
        return
    settings = Settings.from_profile(twin.profile.extra.get("digitalocean"))
    tags = twin.semantics.runtimes.get("tags")
    if tags is not None:
        settings = replace(settings, tag_name=tags.field_validators.get("name"))
    shared = Shared(settings)
    for family in OWNED:
        if family not in SEEDED_GENERICALLY:
            twin.semantics.seeders.setdefault(family, _nothing)
    for module in MODULES:
        module(twin, shared).install()
    for family in TAKEN:
        runtime = twin.semantics.runtimes.pop(family, None)
        if runtime is not None:
            shared.taken[family] = runtime
