"""Managed databases: clusters ``creating`` until their delay has passed on the twin
clock, then ``online``; resizes and migrations (202) go ``resizing``/``migrating`` and
back; users, databases, connection pools (PostgreSQL) and trusted sources (firewall rules
naming droplets, Kubernetes clusters, tags, apps or addresses of the account) kept with
the cluster. Engines, versions, regions and sizes agree with ``/v2/databases/options``
and the reference regions."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from typing import Any

from apitwin.behaviours.digitalocean.account import (
    assign,
    default_vpc,
    ensure_tags,
    new_uuid,
    unassign,
)
from apitwin.behaviours.digitalocean.context import (
    DigitalOcean,
    Session,
    integer_id,
    not_found,
    timer,
    unprocessable,
)
from apitwin.behaviours.digitalocean.reference import REGIONS, find_region
from apitwin.engine.context import Reply, RequestContext
from apitwin.state.store import Transaction

__all__ = ["Databases", "OPTIONS"]

FAMILY = "databases"
POOLS = "__do_db_pools__"  # "cluster/pool" -> a connection pool
# engine -> (versions, newest last; port; the default database; users allowed)
ENGINES: dict[str, tuple[tuple[str, ...], int, str | None, bool]] = {
    "pg": (("13", "14", "15", "16"), 25060, "defaultdb", True),
    "mysql": (("8",), 25060, "defaultdb", True),
    "redis": (("7",), 25061, None, False),
    "mongodb": (("6.0", "7.0"), 27017, "admin", True),
}
SIZES = ("db-s-1vcpu-1gb", "db-s-1vcpu-2gb", "db-s-2vcpu-4gb", "db-s-4vcpu-8gb")
REGIONS_WITH_DATABASES = tuple(r["slug"] for r in REGIONS if r["available"])
_LAYOUTS: list[dict[str, Any]] = [
    {"num_nodes": 1, "sizes": list(SIZES)},
    {"num_nodes": 2, "sizes": list(SIZES[1:])},
    {"num_nodes": 3, "sizes": list(SIZES[1:])},
]
OPTIONS = {
    "options": {
        engine: {
            "regions": list(REGIONS_WITH_DATABASES),
            "versions": list(versions),
            "layouts": _LAYOUTS,
        }
        for engine, (versions, _, _, _) in ENGINES.items()
    },
    "version_availability": {
        engine: [
            {
                "version": v,
                "end_of_life": "2028-11-09T00:00:00Z",
                "end_of_availability": "2028-05-09T00:00:00Z",
            }
            for v in versions
        ]
        for engine, (versions, _, _, _) in ENGINES.items()
    },
}
_RULE_TYPES = ("droplet", "k8s", "ip_addr", "tag", "app")
_POOL_MODES = ("transaction", "session", "statement")


def _secret(*parts: str) -> str:
    return "AVNS_" + hashlib.sha256(":".join(parts).encode()).hexdigest()[:20]


def _connection(cluster: dict[str, Any], user: str, database: str | None, private: bool) -> dict:
    engine = cluster["engine"]
    port = ENGINES[engine][1]
    host = ("private-" if private else "") + cluster["__host"]
    password = next((u["password"] for u in cluster["users"] if u["name"] == user), "")
    scheme = {"pg": "postgresql", "mysql": "mysql", "redis": "rediss", "mongodb": "mongodb+srv"}
    path = f"/{database}" if database else ""
    return {
        "protocol": scheme[engine],
        "uri": f"{scheme[engine]}://{user}:{password}@{host}:{port}{path}?sslmode=require",
        "database": database or "",
        "host": host,
        "port": port,
        "user": user,
        "password": password,
        "ssl": True,
    }


def view(cluster: dict[str, Any]) -> dict[str, Any]:
    """The cluster as the API shows it (connection details follow the primary user)."""
    out = {k: v for k, v in cluster.items() if not k.startswith("__")}
    default_db = ENGINES[cluster["engine"]][2]
    out["connection"] = _connection(cluster, "doadmin", default_db, False)
    out["private_connection"] = _connection(cluster, "doadmin", default_db, True)
    return out


def _user(cluster: dict[str, Any], name: str, role: str) -> dict[str, Any]:
    user: dict[str, Any] = {
        "name": name,
        "role": role,
        "password": _secret(cluster["id"], name, str(len(cluster.get("users", [])))),
    }
    if cluster["engine"] == "mysql":
        user["mysql_settings"] = {"auth_plugin": "caching_sha2_password"}
    return user


class Databases(DigitalOcean):
    def install(self) -> None:
        self.bind_all(
            {
                "databases_list_options": self.options,
                "databases_create_cluster": self.create,
                "databases_list_clusters": self.list,
                "databases_get_cluster": self.get,
                "databases_destroy_cluster": self.delete,
                "databases_update_clusterSize": self.resize,
                "databases_update_region": self.migrate,
                "databases_update_maintenanceWindow": self.maintenance,
                "databases_get_ca": self.ca,
                "databases_list_firewall_rules": self.rules,
                "databases_update_firewall_rules": self.set_rules,
                "databases_list_users": self.users,
                "databases_add_user": self.add_user,
                "databases_get_user": self.get_user,
                "databases_delete_user": self.delete_user,
                "databases_reset_auth": self.reset_auth,
                "databases_list": self.dbs,
                "databases_add": self.add_db,
                "databases_get": self.get_db,
                "databases_delete": self.delete_db,
                "databases_list_connectionPools": self.pools,
                "databases_add_connectionPool": self.add_pool,
                "databases_get_connectionPool": self.get_pool,
                "databases_update_connectionPool": self.update_pool,
                "databases_delete_connectionPool": self.delete_pool,
            }
        )
        self.shared.effects["database:online"] = self._online
        self.semantics.seeders[FAMILY] = self._seed

    def _seed(self, tx: Transaction, runtime: Any) -> None:
        s = self.session_in(tx)
        body = {"name": "db-main", "engine": "pg", "region": "nyc3", "num_nodes": 1}
        cluster = self._new(s, {**body, "size": "db-s-1vcpu-1gb", "tags": ["web"]})
        cluster["status"] = "online"
        s.tx.put(FAMILY, cluster["id"], cluster)

    # -- clusters ---------------------------------------------------------------------------

    def options(self, ctx: RequestContext) -> Reply:
        return self.reply(ctx, OPTIONS)

    @staticmethod
    def _layout(size: Any, nodes: Any) -> None:
        layout = next((x for x in _LAYOUTS if x["num_nodes"] == nodes), None)
        if layout is None:
            raise unprocessable("num_nodes must be 1, 2 or 3.")
        if size not in layout["sizes"]:
            raise unprocessable(f"invalid size {size} for a cluster of {nodes} node(s)")

    def _new(self, s: Session, body: dict[str, Any]) -> dict[str, Any]:
        engine = body.get("engine")
        if engine not in ENGINES:
            raise unprocessable(f"invalid engine: {engine}")
        versions = ENGINES[engine][0]
        version = str(body.get("version") or versions[-1])
        if version not in versions:
            raise unprocessable(f"invalid version {version} for engine {engine}")
        region = find_region(body.get("region"))
        if region is None or region["slug"] not in REGIONS_WITH_DATABASES:
            raise unprocessable(f"invalid region: {body.get('region')}")
        self._layout(body.get("size"), body.get("num_nodes"))
        name = str(body.get("name", ""))
        if s.tx.list(FAMILY, parent=None, filters={"name": name}, limit=1).items:
            raise unprocessable(f"a database cluster named {name} already exists")
        vpc = body.get("private_network_uuid") or default_vpc(s, region["slug"])["id"]
        found_vpc = s.tx.get("vpcs", str(vpc))
        if found_vpc is None or found_vpc["region"] != region["slug"]:
            raise unprocessable("private_network_uuid must be a VPC in the cluster's region")
        project_id = body.get("project_id")
        ident = new_uuid(s, FAMILY)
        default_db = ENGINES[engine][2]
        cluster: dict[str, Any] = {
            "id": ident,
            "name": name,
            "engine": engine,
            "version": version,
            "semantic_version": f"{version}.4" if "." not in version else f"{version}.12",
            "num_nodes": body["num_nodes"],
            "size": body["size"],
            "region": region["slug"],
            "status": "creating",
            "created_at": s.stamp,
            "private_network_uuid": str(vpc),
            "tags": ensure_tags(s, body.get("tags")),
            "db_names": [default_db] if default_db else [],
            "maintenance_window": {
                "day": "tuesday",
                "hour": "08:00:00",
                "pending": False,
                "description": [],
            },
            "project_id": "",
            "rules": [],
            "users": [],
            "storage_size_mib": 10240 * body["num_nodes"],
            "__host": f"{name}-do-user-258992-0.{hashlib.sha1(ident.encode()).hexdigest()[:12]}"
            ".db.ondigitalocean.com",
        }
        cluster["users"] = [_user(cluster, "doadmin", "primary")] if ENGINES[engine][3] else []
        cluster["project_id"] = assign(s, f"do:dbaas:{ident}", project_id)["project_id"]
        s.tx.put(FAMILY, ident, cluster)
        timer(s, s.settings.delay("database"), "database:online", ident)
        return cluster

    def _online(self, s: Session, key: str, params: dict[str, Any]) -> None:
        cluster = s.tx.get(FAMILY, key)
        if cluster is None:
            return
        for field in ("size", "num_nodes", "region"):
            if field in params:
                cluster[field] = params[field]
        cluster["status"] = "online"
        s.tx.put(FAMILY, key, cluster)

    def create(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            cluster = self._new(s, body)
        return self.reply(ctx, {"database": view(cluster)})

    def list(self, ctx: RequestContext) -> Reply:
        tag = ctx.params.get("tag_name")
        with self.session() as s:
            items = s.tx.list(FAMILY, parent=None, filters={"tags": tag} if tag else None).items
        return self.reply(ctx, {"databases": [view(c) for c in items]})

    def _load(self, s: Session, ctx: RequestContext) -> dict[str, Any]:
        cluster = s.tx.get(FAMILY, str(ctx.params.get("database_cluster_uuid")))
        if cluster is None:
            raise not_found()
        return cluster

    def get(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            cluster = self._load(s, ctx)
        return self.reply(ctx, {"database": view(cluster)})

    def delete(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            cluster = self._load(s, ctx)
            s.tx.delete(FAMILY, cluster["id"])
            for pool in s.tx.list(POOLS, parent=cluster["id"]).items:
                s.tx.delete(POOLS, f"{cluster['id']}/{pool['name']}")
            unassign(s, f"do:dbaas:{cluster['id']}")
        return self.no_content(ctx)

    def _online_only(self, cluster: dict[str, Any]) -> None:
        if cluster["status"] != "online":
            raise unprocessable(f"the cluster is {cluster['status']}; wait until it is online")

    def resize(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            cluster = self._load(s, ctx)
            self._online_only(cluster)
            self._layout(body.get("size"), body.get("num_nodes"))
            cluster["status"] = "resizing"
            s.tx.put(FAMILY, cluster["id"], cluster)
            params = {"size": body["size"], "num_nodes": body["num_nodes"]}
            timer(s, s.settings.delay("database_resize"), "database:online", cluster["id"], params)
        return self.no_content(ctx)

    def migrate(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            cluster = self._load(s, ctx)
            self._online_only(cluster)
            region = find_region(body.get("region"))
            if region is None or region["slug"] not in REGIONS_WITH_DATABASES:
                raise unprocessable(f"invalid region: {body.get('region')}")
            cluster["status"] = "migrating"
            s.tx.put(FAMILY, cluster["id"], cluster)
            params = {"region": region["slug"]}
            timer(s, s.settings.delay("database_resize"), "database:online", cluster["id"], params)
        return self.no_content(ctx)

    def maintenance(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        day = str(body.get("day", "")).lower()
        if day not in days:
            raise unprocessable(f"invalid day: {body.get('day')}")
        with self.session() as s:
            cluster = self._load(s, ctx)
            cluster["maintenance_window"].update(day=day, hour=str(body.get("hour", "")))
            s.tx.put(FAMILY, cluster["id"], cluster)
        return self.no_content(ctx)

    def ca(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            cluster = self._load(s, ctx)
        digest = hashlib.sha256(f"apitwin:dbca:{cluster['id']}".encode()).hexdigest()
        pem = "-----BEGIN CERTIFICATE-----\n" + digest * 2 + "\n-----END CERTIFICATE-----\n"
        return self.reply(ctx, {"ca": {"certificate": base64.b64encode(pem.encode()).decode()}})

    # -- trusted sources --------------------------------------------------------------------

    def rules(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            cluster = self._load(s, ctx)
        return self.reply(ctx, {"rules": cluster["rules"]})

    def _rule(self, s: Session, cluster: dict[str, Any], raw: Any) -> dict[str, Any]:
        kind = raw.get("type") if isinstance(raw, dict) else None
        value = str(raw.get("value", "")) if isinstance(raw, dict) else ""
        if kind not in _RULE_TYPES:
            raise unprocessable(f"invalid rule type: {kind}")
        if kind == "droplet":
            ident = integer_id(value)
            if ident is None or s.tx.get("droplets", str(ident)) is None:
                raise unprocessable(f"droplet {value} does not exist")
        elif kind == "k8s" and s.tx.get("kubernetes_clusters", value) is None:
            raise unprocessable(f"kubernetes cluster {value} does not exist")
        elif kind == "app" and s.tx.get("apps", value) is None:
            raise unprocessable(f"app {value} does not exist")
        elif kind == "tag":
            ensure_tags(s, [value])
        elif kind == "ip_addr":
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise unprocessable(f"invalid ip address: {value}") from None
        previous = next(
            (r for r in cluster["rules"] if r["type"] == kind and r["value"] == value), None
        )
        return previous or {
            "uuid": new_uuid(s, "__do_db_rules__"),
            "cluster_uuid": cluster["id"],
            "type": kind,
            "value": value,
            "created_at": s.stamp,
        }

    def set_rules(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            cluster = self._load(s, ctx)
            cluster["rules"] = [self._rule(s, cluster, r) for r in body.get("rules") or []]
            s.tx.put(FAMILY, cluster["id"], cluster)
        return self.no_content(ctx)

    # -- users ------------------------------------------------------------------------------

    def users(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            cluster = self._load(s, ctx)
        return self.reply(ctx, {"users": cluster["users"]})

    def _find_user(self, cluster: dict[str, Any], name: Any) -> dict[str, Any]:
        user = next((u for u in cluster["users"] if u["name"] == name), None)
        if user is None:
            raise not_found()
        return user

    def add_user(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            cluster = self._load(s, ctx)
            if not ENGINES[cluster["engine"]][3]:
                raise unprocessable(f"{cluster['engine']} clusters do not support users")
            name = str(body.get("name", ""))
            if any(u["name"] == name for u in cluster["users"]):
                raise unprocessable(f"user {name} already exists")
            user = _user(cluster, name, "normal")
            if cluster["engine"] == "mysql" and isinstance(body.get("mysql_settings"), dict):
                user["mysql_settings"] = body["mysql_settings"]
            cluster["users"].append(user)
            s.tx.put(FAMILY, cluster["id"], cluster)
        return self.reply(ctx, {"user": user})

    def get_user(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            user = self._find_user(self._load(s, ctx), ctx.params.get("username"))
        return self.reply(ctx, {"user": user})

    def delete_user(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            cluster = self._load(s, ctx)
            user = self._find_user(cluster, ctx.params.get("username"))
            if user["role"] == "primary":
                raise unprocessable("the primary user cannot be deleted")
            cluster["users"] = [u for u in cluster["users"] if u["name"] != user["name"]]
            s.tx.put(FAMILY, cluster["id"], cluster)
        return self.no_content(ctx)

    def reset_auth(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            cluster = self._load(s, ctx)
            user = self._find_user(cluster, ctx.params.get("username"))
            user["password"] = _secret(cluster["id"], user["name"], s.stamp, user["password"])
            if cluster["engine"] == "mysql" and isinstance(body.get("mysql_settings"), dict):
                user["mysql_settings"] = body["mysql_settings"]
            s.tx.put(FAMILY, cluster["id"], cluster)
        return self.reply(ctx, {"user": user})

    # -- databases --------------------------------------------------------------------------

    def dbs(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            cluster = self._load(s, ctx)
        return self.reply(ctx, {"dbs": [{"name": n} for n in cluster["db_names"]]})

    def add_db(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        name = str(body.get("name", ""))
        with self.session() as s:
            cluster = self._load(s, ctx)
            if cluster["engine"] == "redis":
                raise unprocessable("redis clusters do not support databases")
            if name in cluster["db_names"]:
                raise unprocessable(f"database {name} already exists")
            cluster["db_names"].append(name)
            s.tx.put(FAMILY, cluster["id"], cluster)
        return self.reply(ctx, {"db": {"name": name}})

    def _find_db(self, cluster: dict[str, Any], name: Any) -> str:
        if name not in cluster["db_names"]:
            raise not_found()
        return str(name)

    def get_db(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            name = self._find_db(self._load(s, ctx), ctx.params.get("database_name"))
        return self.reply(ctx, {"db": {"name": name}})

    def delete_db(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            cluster = self._load(s, ctx)
            name = self._find_db(cluster, ctx.params.get("database_name"))
            pools = s.tx.list(POOLS, parent=cluster["id"], filters={"db": name}).items
            if pools:
                raise unprocessable(
                    f"database {name} is used by connection pool {pools[0]['name']}"
                )
            cluster["db_names"] = [n for n in cluster["db_names"] if n != name]
            s.tx.put(FAMILY, cluster["id"], cluster)
        return self.no_content(ctx)

    # -- connection pools -------------------------------------------------------------------

    def _pool_fields(self, cluster: dict[str, Any], pool: dict[str, Any], body: dict) -> None:
        if body.get("mode") not in _POOL_MODES:
            raise unprocessable(f"invalid mode: {body.get('mode')}")
        size = body.get("size")
        if not isinstance(size, int) or not 1 <= size <= 97:
            raise unprocessable("size must be between 1 and 97")
        db = (
            self._find_db(cluster, body.get("db"))
            if body.get("db") in cluster["db_names"]
            else None
        )
        if db is None:
            raise unprocessable(f"database {body.get('db')} does not exist")
        user = body.get("user") or ""
        if user and not any(u["name"] == user for u in cluster["users"]):
            raise unprocessable(f"user {user} does not exist")
        pool.update(mode=body["mode"], size=size, db=db, user=user)
        connection = _connection(cluster, user or "doadmin", pool["name"], False)
        connection["port"] = 25061
        pool["connection"] = connection
        private = _connection(cluster, user or "doadmin", pool["name"], True)
        private["port"] = 25061
        pool["private_connection"] = private

    def _pg(self, cluster: dict[str, Any]) -> None:
        if cluster["engine"] != "pg":
            raise unprocessable("connection pools are only available for PostgreSQL")

    def pools(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            cluster = self._load(s, ctx)
            items = s.tx.list(POOLS, parent=cluster["id"]).items
        return self.reply(ctx, {"pools": items})

    def add_pool(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            cluster = self._load(s, ctx)
            self._pg(cluster)
            name = str(body.get("name", ""))
            if s.tx.get(POOLS, f"{cluster['id']}/{name}") is not None:
                raise unprocessable(f"connection pool {name} already exists")
            pool: dict[str, Any] = {"name": name}
            self._pool_fields(cluster, pool, body)
            s.tx.put(POOLS, f"{cluster['id']}/{name}", pool, parent=cluster["id"])
        return self.reply(ctx, {"pool": pool})

    def _find_pool(self, s: Session, cluster: dict[str, Any], ctx: RequestContext) -> dict:
        pool = s.tx.get(POOLS, f"{cluster['id']}/{ctx.params.get('pool_name')}")
        if pool is None:
            raise not_found()
        return pool

    def get_pool(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            cluster = self._load(s, ctx)
            pool = self._find_pool(s, cluster, ctx)
        return self.reply(ctx, {"pool": pool})

    def update_pool(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            cluster = self._load(s, ctx)
            pool = self._find_pool(s, cluster, ctx)
            self._pool_fields(cluster, pool, body)
            s.tx.put(POOLS, f"{cluster['id']}/{pool['name']}", pool, parent=cluster["id"])
        return self.no_content(ctx)

    def delete_pool(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            cluster = self._load(s, ctx)
            pool = self._find_pool(s, cluster, ctx)
            s.tx.delete(POOLS, f"{cluster['id']}/{pool['name']}")
        return self.no_content(ctx)
