"""Kubernetes clusters: provisioning until their delay has passed on the twin clock, then
running with an endpoint; node pools inside the cluster as the service returns them; a
kubeconfig (YAML) and credentials for the cluster.

Every node is a droplet of the account, as in the service: made through the droplets'
own create path (tagged ``k8s``, ``k8s:<cluster id>``, ``k8s:worker``), ``new`` with a
create action on the twin clock, and deleted with its node, pool or cluster. A node is
``provisioning`` until its droplet's create action completes. A client deleting a node's
droplet gets the node replaced by a new one with a new droplet."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from apitwin.behaviours.digitalocean import actions
from apitwin.behaviours.digitalocean.account import (
    assign,
    default_vpc,
    ensure_tags,
    new_uuid,
    unassign,
)
from apitwin.behaviours.digitalocean.billing import DROPLET_LIMIT
from apitwin.behaviours.digitalocean.context import (
    DigitalOcean,
    Session,
    not_found,
    unprocessable,
)
from apitwin.behaviours.digitalocean.droplets import (
    build_droplet,
    plan_create,
    remove_droplet,
)
from apitwin.behaviours.digitalocean.networking import ready
from apitwin.behaviours.digitalocean.reference import find_region, find_size
from apitwin.conventions.clock import iso
from apitwin.engine.context import Reply, RequestContext
from apitwin.state.store import Transaction

__all__ = ["Kubernetes", "VERSIONS"]

FAMILY = "kubernetes_clusters"
VERSIONS = ("1.31.1-do.5", "1.30.5-do.5", "1.29.9-do.5")
NODE_IMAGE = "debian-12-x64"  # the service's node images are Debian too


def _version(slug: Any) -> str:
    if slug == "latest":
        return VERSIONS[0]
    if slug in VERSIONS:
        return str(slug)
    raise unprocessable(f"validation error: invalid version slug: {slug}")


def _nodes(
    s: Session, cluster: dict[str, Any], pool: dict[str, Any], count: int
) -> list[dict[str, Any]]:
    """``count`` new nodes for ``pool``, each with its droplet made as ``POST
    /v2/droplets`` makes one and booting on the twin clock: with the cluster while it
    is provisioning, like any new droplet once it runs."""
    custom = [t for t in pool["tags"] if t not in ("k8s", "k8s:worker")]
    body = {
        "size": pool["size"],
        "region": cluster["region"],
        "image": NODE_IMAGE,
        "vpc_uuid": cluster["vpc_uuid"],
        "tags": ["k8s", f"k8s:{cluster['id']}", "k8s:worker", *custom],
    }
    plan = plan_create(s, body)
    delay = "kubernetes" if cluster["status"]["state"] == "provisioning" else "create"
    out = []
    for _ in range(count):
        ident = new_uuid(s, "__do_k8s_nodes__")
        name = f"{pool['name']}-{hashlib.sha1(ident.encode()).hexdigest()[:5]}"
        droplet = build_droplet(s, name, body, plan, project=False)
        key = str(droplet["id"])
        params = {"cluster": cluster["id"]}
        actions.start(s, "create", "droplet", key, cluster["region"], params, delay=delay)
        out.append(
            {
                "id": ident,
                "name": name,
                "status": {"state": "provisioning"},
                "droplet_id": key,
                "created_at": s.stamp,
                "updated_at": s.stamp,
            }
        )
    return out


def _within_droplet_limit(nodes: int) -> None:
    """A cluster's nodes are droplets, so a cluster may have no more of them than the
    account may have droplets (its ``droplet_limit``): refused as the service refuses a
    create past the limit, before any droplet is made."""
    if nodes > DROPLET_LIMIT:
        raise unprocessable("creating this/these droplet(s) will exceed your droplet limit")


def _node_count(cluster: dict[str, Any]) -> int:
    return sum(len(pool.get("nodes") or []) for pool in cluster["node_pools"])


def _drop(s: Session, nodes: list[dict[str, Any]]) -> None:
    """The droplets of nodes that are gone go too."""
    for node in nodes:
        droplet = s.tx.get("droplets", str(node["droplet_id"]))
        if droplet is not None:
            remove_droplet(s, droplet)


class Kubernetes(DigitalOcean):
    def install(self) -> None:
        self.bind_all(
            {
                "kubernetes_create_cluster": self.create,
                "kubernetes_list_clusters": self.list,
                "kubernetes_get_cluster": self.get,
                "kubernetes_update_cluster": self.update,
                "kubernetes_delete_cluster": self.delete,
                "kubernetes_get_kubeconfig": self.kubeconfig,
                "kubernetes_get_credentials": self.credentials,
                "kubernetes_list_nodePools": self.list_pools,
                "kubernetes_get_nodePool": self.get_pool,
                "kubernetes_add_nodePool": self.add_pool,
                "kubernetes_update_nodePool": self.update_pool,
                "kubernetes_delete_nodePool": self.delete_pool,
                "kubernetes_delete_node": self.delete_node,
                "kubernetes_destroy_associatedResourcesDangerous": self.delete,
            }
        )
        self.semantics.seeders[FAMILY] = self._seed
        effects = self.shared.effects
        booted = effects["droplet:create"]

        def created(s: Session, key: str, params: dict[str, Any]) -> bool | None:
            done = booted(s, key, params)
            if done is not False and params.get("cluster"):
                self._node_running(s, str(params["cluster"]), key)
            return done

        effects["droplet:create"] = created
        self.shared.on_destroy.append(self._replace_node)

    def _seed(self, tx: Transaction, runtime: Any) -> None:
        body = {
            "name": "seed-cluster",
            "region": "nyc3",
            "version": VERSIONS[0],
            "node_pools": [{"name": "pool-1", "size": "s-2vcpu-4gb", "count": 2}],
        }
        self._new(self.session_in(tx), body)

    # -- building ---------------------------------------------------------------------------

    def _pool(self, s: Session, cluster: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        size = find_size(body.get("size"))
        if size is None or cluster["region"] not in size["regions"]:
            raise unprocessable(f"validation error: invalid size: {body.get('size')}")
        count = body.get("count")
        if not isinstance(count, int) or count < 1:
            raise unprocessable("validation error: a node pool needs at least one node")
        _within_droplet_limit(_node_count(cluster) + count)
        ident = new_uuid(s, "__do_k8s_pools__")
        name = str(body.get("name") or f"pool-{ident[:5]}")
        pool: dict[str, Any] = {
            "id": ident,
            "name": name,
            "size": size["slug"],
            "count": count,
            "tags": [
                "k8s",
                "k8s:worker",
                *[t for t in body.get("tags") or [] if isinstance(t, str)],
            ],
            "labels": body.get("labels") or {},
            "taints": body.get("taints") or [],
            "auto_scale": bool(body.get("auto_scale", False)),
            "min_nodes": int(body.get("min_nodes") or 0),
            "max_nodes": int(body.get("max_nodes") or 0),
        }
        pool["nodes"] = _nodes(s, cluster, pool, count)
        return pool

    def _new(self, s: Session, body: dict[str, Any]) -> dict[str, Any]:
        region = find_region(body.get("region"))
        if region is None or not region["available"]:
            raise unprocessable("validation error: invalid region")
        version = _version(body.get("version"))
        pools = body.get("node_pools")
        if not isinstance(pools, list) or not pools:
            raise unprocessable("validation error: a cluster needs at least one node pool")
        vpc_uuid = body.get("vpc_uuid") or default_vpc(s, region["slug"])["id"]
        vpc = s.tx.get("vpcs", str(vpc_uuid))
        if vpc is None or vpc.get("region") != region["slug"]:
            raise unprocessable("validation error: invalid VPC")
        ident = new_uuid(s, FAMILY)
        cluster = {
            "id": ident,
            "name": str(body.get("name", "")),
            "region": region["slug"],
            "version": version,
            "cluster_subnet": "10.244.0.0/16",
            "service_subnet": "10.245.0.0/16",
            "vpc_uuid": str(vpc_uuid),
            "ipv4": "",
            "endpoint": "",
            "tags": ["k8s", f"k8s:{ident}", *ensure_tags(s, body.get("tags"))],
            "node_pools": [],
            "maintenance_policy": {"start_time": "00:00", "duration": "4h0m0s", "day": "any"},
            "auto_upgrade": bool(body.get("auto_upgrade", False)),
            "status": {"state": "provisioning", "message": "provisioning"},
            "created_at": s.stamp,
            "updated_at": s.stamp,
            "surge_upgrade": bool(body.get("surge_upgrade", False)),
            "registry_enabled": False,
            "ha": bool(body.get("ha", False)),
        }
        for p in pools:
            cluster["node_pools"].append(self._pool(s, cluster, p if isinstance(p, dict) else {}))
        s.tx.put(FAMILY, ident, cluster)
        assign(s, f"do:kubernetes:{ident}")
        return cluster

    def _view(self, s: Session, cluster: dict[str, Any]) -> dict[str, Any]:
        """A provisioning cluster becomes running once its delay has passed."""
        if cluster["status"]["state"] == "provisioning" and ready(
            s, cluster["created_at"], "kubernetes"
        ):
            serial = int(cluster["id"][:6], 16) % 250
            cluster["status"] = {"state": "running", "message": "Cluster is running"}
            cluster["endpoint"] = f"https://{cluster['id']}.k8s.ondigitalocean.com"
            cluster["ipv4"] = f"164.90.{serial}.{serial % 200 + 10}"
            s.tx.put(FAMILY, cluster["id"], cluster)
        return cluster

    def _node_running(self, s: Session, cluster_id: str, droplet_id: str) -> None:
        """A node whose droplet has booted is running."""
        cluster = s.tx.get(FAMILY, cluster_id)
        if cluster is None:
            return
        for pool in cluster["node_pools"]:
            for node in pool["nodes"]:
                if node["droplet_id"] == droplet_id:
                    node["status"] = {"state": "running"}
                    node["updated_at"] = s.stamp
                    s.tx.put(FAMILY, cluster_id, cluster)
                    return

    def _replace_node(self, s: Session, droplet: dict[str, Any]) -> None:
        """A client deleted a node's droplet: the cluster replaces the node with a new
        one (a new droplet), and the pool keeps its count."""
        key = str(droplet["id"])
        for tag in droplet.get("tags", []):
            found = s.tx.get(FAMILY, tag[4:]) if tag.startswith("k8s:") else None
            if found is None:
                continue
            cluster = self._view(s, found)
            for pool in cluster["node_pools"]:
                for i, node in enumerate(pool["nodes"]):
                    if node["droplet_id"] == key:
                        pool["nodes"][i] = _nodes(s, cluster, pool, 1)[0]
                        s.tx.put(FAMILY, cluster["id"], cluster)
                        return

    def _load(self, s: Session, ctx: RequestContext) -> dict[str, Any]:
        cluster = s.tx.get(FAMILY, str(ctx.params.get("cluster_id")))
        if cluster is None:
            raise not_found()
        return self._view(s, cluster)

    # -- clusters ---------------------------------------------------------------------------

    def create(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            cluster = self._new(s, body)
        return self.reply(ctx, {"kubernetes_cluster": cluster})

    def list(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            items = [self._view(s, c) for c in s.tx.list(FAMILY, parent=None).items]
        return self.page(ctx, "kubernetes_clusters", items)

    def get(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            cluster = self._load(s, ctx)
        return self.reply(ctx, {"kubernetes_cluster": cluster})

    def update(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            cluster = self._load(s, ctx)
            if isinstance(body.get("name"), str):
                cluster["name"] = body["name"]
            for flag in ("auto_upgrade", "surge_upgrade", "ha"):
                if isinstance(body.get(flag), bool):
                    cluster[flag] = body[flag]
            if "tags" in body:
                cluster["tags"] = ["k8s", f"k8s:{cluster['id']}", *ensure_tags(s, body["tags"])]
            cluster["updated_at"] = s.stamp
            s.tx.put(FAMILY, cluster["id"], cluster)
        return self.reply(ctx, {"kubernetes_cluster": cluster})

    def delete(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            cluster = self._load(s, ctx)
            for pool in cluster["node_pools"]:
                _drop(s, pool["nodes"])
            s.tx.delete(FAMILY, cluster["id"])
            unassign(s, f"do:kubernetes:{cluster['id']}")
        return self.no_content(ctx)

    def _secrets(self, cluster: dict[str, Any]) -> tuple[str, str]:
        digest = hashlib.sha256(f"apitwin:k8s:{cluster['id']}".encode()).hexdigest()
        pem = (
            "-----BEGIN CERTIFICATE-----\n"
            + base64.b64encode(digest.encode() * 8).decode()
            + "\n-----END CERTIFICATE-----\n"
        )
        return base64.b64encode(pem.encode()).decode(), f"dop_v1_{digest}"

    def kubeconfig(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            cluster = self._load(s, ctx)
        ca, token = self._secrets(cluster)
        name = f"do-{cluster['region']}-{cluster['name']}"
        server = cluster["endpoint"] or f"https://{cluster['id']}.k8s.ondigitalocean.com"
        text = (
            "apiVersion: v1\n"
            "kind: Config\n"
            "clusters:\n"
            f"- cluster:\n    certificate-authority-data: {ca}\n    server: {server}\n"
            f"  name: {name}\n"
            "contexts:\n"
            f"- context:\n    cluster: {name}\n    user: {name}-admin\n  name: {name}\n"
            f"current-context: {name}\n"
            "preferences: {}\n"
            "users:\n"
            f"- name: {name}-admin\n  user:\n    token: {token}\n"
        )
        status, headers, _ = ctx.operation.responder.reply_json(None)
        kept = [(k, v) for k, v in headers if k.lower() != b"content-type"]
        return Reply(200, [*kept, (b"content-type", b"application/yaml")], text.encode())

    def credentials(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            cluster = self._load(s, ctx)
            expires = iso(s.now + 7 * 24 * 3600)
        ca, token = self._secrets(cluster)
        return self.reply(
            ctx,
            {
                "server": cluster["endpoint"] or f"https://{cluster['id']}.k8s.ondigitalocean.com",
                "certificate_authority_data": ca,
                "client_certificate_data": None,
                "client_key_data": None,
                "token": token,
                "expires_at": expires,
            },
        )

    # -- node pools -------------------------------------------------------------------------

    def _find_pool(self, cluster: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        wanted = str(ctx.params.get("node_pool_id"))
        pool = next((p for p in cluster["node_pools"] if p["id"] == wanted), None)
        if pool is None:
            raise not_found()
        return pool

    def list_pools(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            cluster = self._load(s, ctx)
        return self.page(ctx, "node_pools", cluster["node_pools"])

    def get_pool(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            pool = self._find_pool(self._load(s, ctx), ctx)
        return self.reply(ctx, {"node_pool": pool})

    def add_pool(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            cluster = self._load(s, ctx)
            pool = self._pool(s, cluster, body)
            cluster["node_pools"].append(pool)
            s.tx.put(FAMILY, cluster["id"], cluster)
        return self.reply(ctx, {"node_pool": pool})

    def update_pool(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            cluster = self._load(s, ctx)
            pool = self._find_pool(cluster, ctx)
            if isinstance(body.get("name"), str):
                pool["name"] = body["name"]
            count = body.get("count")
            if isinstance(count, int) and count >= 1 and count != pool["count"]:
                _within_droplet_limit(_node_count(cluster) - len(pool["nodes"]) + count)
                if count < len(pool["nodes"]):
                    _drop(s, pool["nodes"][count:])
                    pool["nodes"] = pool["nodes"][:count]
                else:
                    pool["nodes"] += _nodes(s, cluster, pool, count - len(pool["nodes"]))
                pool["count"] = count
            for key in ("labels", "taints", "auto_scale", "min_nodes", "max_nodes"):
                if key in body:
                    pool[key] = body[key]
            s.tx.put(FAMILY, cluster["id"], cluster)
        return self.reply(ctx, {"node_pool": pool})

    def delete_pool(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            cluster = self._load(s, ctx)
            pool = self._find_pool(cluster, ctx)
            _drop(s, pool["nodes"])
            cluster["node_pools"] = [p for p in cluster["node_pools"] if p["id"] != pool["id"]]
            s.tx.put(FAMILY, cluster["id"], cluster)
        return self.no_content(ctx)

    def delete_node(self, ctx: RequestContext) -> Reply:
        """The node and its droplet go; with ``replace=1`` a new node takes its place,
        else the pool has one node fewer."""
        replace = str(ctx.params.get("replace", 0)) == "1"
        wanted = str(ctx.params.get("node_id"))
        with self.session() as s:
            cluster = self._load(s, ctx)
            pool = self._find_pool(cluster, ctx)
            nodes = pool["nodes"]
            index = next((i for i, n in enumerate(nodes) if n["id"] == wanted), None)
            if index is None:
                raise not_found()
            _drop(s, [nodes.pop(index)])
            if replace:
                nodes.insert(index, _nodes(s, cluster, pool, 1)[0])
            pool["count"] = len(nodes)
            s.tx.put(FAMILY, cluster["id"], cluster)
        return self.no_content(ctx)
