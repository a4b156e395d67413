"""Firewalls, load balancers and VPCs, tied to the droplets they protect, balance or hold.
A load balancer is ``new`` until its provisioning delay has passed on the twin clock; one
that balances a tag serves every droplet with that tag, as droplets come and go."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apitwin.behaviours.digitalocean.account import (
    assign,
    default_vpc,
    new_uuid,
    unassign,
)
from apitwin.behaviours.digitalocean.context import (
    DigitalOcean,
    Session,
    integer_id,
    not_found,
    unprocessable,
)
from apitwin.behaviours.digitalocean.reference import find_region, region_object
from apitwin.engine.context import Reply, RequestContext
from apitwin.engine.operation import Rejection

__all__ = ["Firewalls", "LoadBalancers", "Vpcs", "ready"]

_RULE_KEYS = ("inbound_rules", "outbound_rules")


def ready(s: Session, created_at: str, kind: str) -> bool:
    """Whether something created at ``created_at`` has finished provisioning by now."""
    started = datetime.fromisoformat(created_at.replace("Z", "+00:00")).timestamp()
    return s.now >= started + s.settings.delay(kind)


def _droplet_ids(s: Session, value: Any) -> list[int]:
    """Droplet ids of a request; each must be a droplet of the account."""
    out: list[int] = []
    for raw in value or []:
        ident = integer_id(raw)
        if ident is None or s.tx.get("droplets", str(ident)) is None:
            raise unprocessable(f"Droplet {raw} does not exist.")
        if ident not in out:
            out.append(ident)
    return out


def _check_certificates(s: Session, rules: list[Any]) -> None:
    """A forwarding rule's ``certificate_id`` names a certificate of the account."""
    for rule in rules:
        ident = rule.get("certificate_id") if isinstance(rule, dict) else None
        if ident and s.tx.get("certificates", str(ident)) is None:
            raise unprocessable(f"certificate {ident} does not exist.")


def _body(ctx: RequestContext) -> dict[str, Any]:
    return ctx.request.body if isinstance(ctx.request.body, dict) else {}


class Firewalls(DigitalOcean):
    FAMILY = "firewalls"

    def install(self) -> None:
        self.bind_all(
            {
                "firewalls_create": self.create,
                "firewalls_list": self.list,
                "firewalls_get": self.get,
                "firewalls_update": self.update,
                "firewalls_delete": self.delete,
                "firewalls_assign_droplets": lambda c: self.change(c, "droplet_ids", True),
                "firewalls_delete_droplets": lambda c: self.change(c, "droplet_ids", False),
                "firewalls_add_tags": lambda c: self.change(c, "tags", True),
                "firewalls_delete_tags": lambda c: self.change(c, "tags", False),
                "firewalls_add_rules": lambda c: self.change(c, "rules", True),
                "firewalls_delete_rules": lambda c: self.change(c, "rules", False),
            }
        )

    def _fill(self, s: Session, firewall: dict[str, Any], body: dict[str, Any]) -> None:
        if "name" in body:
            firewall["name"] = str(body["name"])
        for key in _RULE_KEYS:
            if key in body:
                firewall[key] = list(body[key] or [])
        if "droplet_ids" in body:
            firewall["droplet_ids"] = _droplet_ids(s, body["droplet_ids"])
        if "tags" in body:
            from apitwin.behaviours.digitalocean.account import ensure_tags

            firewall["tags"] = ensure_tags(s, body["tags"])

    def create(self, ctx: RequestContext) -> Reply:
        body = _body(ctx)
        with self.session() as s:
            ident = new_uuid(s, self.FAMILY)
            firewall = {
                "id": ident,
                "name": "",
                "status": "succeeded",
                "created_at": s.stamp,
                "pending_changes": [],
                "inbound_rules": [],
                "outbound_rules": [],
                "droplet_ids": [],
                "tags": [],
            }
            self._fill(s, firewall, body)
            s.tx.put(self.FAMILY, ident, firewall)
        return self.reply(ctx, {"firewall": firewall})

    def list(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            items = s.tx.list(self.FAMILY, parent=None).items
        return self.page(ctx, "firewalls", items)

    def _load(self, s: Session, ctx: RequestContext) -> dict[str, Any]:
        firewall = s.tx.get(self.FAMILY, str(ctx.params.get("firewall_id")))
        if firewall is None:
            raise not_found()
        return firewall

    def get(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            firewall = self._load(s, ctx)
        return self.reply(ctx, {"firewall": firewall})

    def update(self, ctx: RequestContext) -> Reply:
        """PUT replaces the firewall: rules, droplets and tags left out are emptied."""
        body: dict[str, Any] = {
            "droplet_ids": [],
            "tags": [],
            "inbound_rules": [],
            "outbound_rules": [],
        }
        body.update(_body(ctx))
        with self.session() as s:
            firewall = self._load(s, ctx)
            self._fill(s, firewall, body)
            s.tx.put(self.FAMILY, firewall["id"], firewall)
        return self.reply(ctx, {"firewall": firewall})

    def delete(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            firewall = self._load(s, ctx)
            s.tx.delete(self.FAMILY, firewall["id"])
        return self.no_content(ctx)

    def change(self, ctx: RequestContext, what: str, add: bool) -> Reply:
        body = _body(ctx)
        with self.session() as s:
            firewall = self._load(s, ctx)
            if what == "droplet_ids":
                given = _droplet_ids(s, body.get("droplet_ids"))
                keep = [d for d in firewall["droplet_ids"] if d not in given]
                firewall["droplet_ids"] = keep + given if add else keep
            elif what == "tags":
                from apitwin.behaviours.digitalocean.account import ensure_tags

                given_tags = ensure_tags(s, body.get("tags")) if add else body.get("tags") or []
                kept = [t for t in firewall["tags"] if t not in given_tags]
                firewall["tags"] = kept + list(given_tags) if add else kept
            else:
                for key in _RULE_KEYS:
                    rules = list(body.get(key) or [])
                    current = [r for r in firewall[key] if r not in rules]
                    firewall[key] = current + rules if add else current
            s.tx.put(self.FAMILY, firewall["id"], firewall)
        return self.no_content(ctx)


class LoadBalancers(DigitalOcean):
    FAMILY = "load_balancers"

    def install(self) -> None:
        self.bind_all(
            {
                "loadBalancers_create": self.create,
                "loadBalancers_list": self.list,
                "loadBalancers_get": self.get,
                "loadBalancers_update": self.update,
                "loadBalancers_delete": self.delete,
                "loadBalancers_add_droplets": lambda c: self.change(c, "droplet_ids", True),
                "loadBalancers_remove_droplets": lambda c: self.change(c, "droplet_ids", False),
                "loadBalancers_add_forwardingRules": lambda c: self.change(
                    c, "forwarding_rules", True
                ),
                "loadBalancers_remove_forwardingRules": lambda c: self.change(
                    c, "forwarding_rules", False
                ),
            }
        )

    _SETTINGS = (
        "algorithm",
        "forwarding_rules",
        "health_check",
        "sticky_sessions",
        "redirect_http_to_https",
        "enable_proxy_protocol",
        "enable_backend_keepalive",
        "http_idle_timeout_seconds",
        "disable_lets_encrypt_dns_records",
        "firewall",
        "size",
        "size_unit",
    )

    def _view(self, s: Session, lb: dict[str, Any]) -> dict[str, Any]:
        if lb["status"] == "new" and ready(s, lb["created_at"], "load_balancer"):
            lb["status"] = "active"
            s.tx.put(self.FAMILY, lb["id"], lb)
        view = dict(lb, region=region_object(lb["region"]))
        if lb.get("tag"):
            tagged = s.tx.list("droplets", parent=None, filters={"tags": lb["tag"]}).items
            view["droplet_ids"] = [d["id"] for d in tagged]
        return view

    def _fill(self, s: Session, lb: dict[str, Any], body: dict[str, Any]) -> None:
        if body.get("droplet_ids") and body.get("tag"):
            raise unprocessable("Specify either droplet_ids or tag, not both.")
        for key in self._SETTINGS:
            if key in body:
                lb[key] = body[key]
        _check_certificates(s, lb.get("forwarding_rules") or [])
        if "name" in body:
            lb["name"] = str(body["name"])
        if "droplet_ids" in body:
            lb["droplet_ids"] = _droplet_ids(s, body["droplet_ids"])
            lb["tag"] = ""
        if body.get("tag"):
            lb["tag"] = str(body["tag"])
            lb["droplet_ids"] = []
        for droplet_id in lb["droplet_ids"]:
            droplet = s.tx.get("droplets", str(droplet_id))
            if droplet is not None and droplet["region"]["slug"] != lb["region"]:
                raise unprocessable("Droplets must be in the same region as the load balancer.")

    def create(self, ctx: RequestContext) -> Reply:
        body = _body(ctx)
        region = find_region(body.get("region"))
        if region is None or not region["available"]:
            raise unprocessable("You specified an invalid region for the load balancer.")
        with self.session() as s:
            ident = new_uuid(s, self.FAMILY)
            serial = s.tx.next_id("__do_lb_ips__")
            vpc_uuid = body.get("vpc_uuid") or default_vpc(s, region["slug"])["id"]
            if s.tx.get("vpcs", str(vpc_uuid)) is None:
                raise unprocessable("You specified an invalid VPC for the load balancer.")
            project_id = body.get("project_id")
            lb: dict[str, Any] = {
                "id": ident,
                "name": "",
                "ip": f"174.138.{(serial // 250) % 256}.{serial % 250 + 2}",
                "size_unit": 1,
                "size": "lb-small",
                "algorithm": "round_robin",
                "status": "new",
                "created_at": s.stamp,
                "forwarding_rules": [],
                "health_check": {
                    "protocol": "http",
                    "port": 80,
                    "path": "/",
                    "check_interval_seconds": 10,
                    "response_timeout_seconds": 5,
                    "healthy_threshold": 5,
                    "unhealthy_threshold": 3,
                },
                "sticky_sessions": {"type": "none"},
                "region": region["slug"],
                "tag": "",
                "droplet_ids": [],
                "redirect_http_to_https": False,
                "enable_proxy_protocol": False,
                "enable_backend_keepalive": False,
                "http_idle_timeout_seconds": 60,
                "vpc_uuid": str(vpc_uuid),
                "disable_lets_encrypt_dns_records": False,
            }
            self._fill(s, lb, body)
            record = assign(s, f"do:loadbalancer:{ident}", str(project_id) if project_id else None)
            lb["project_id"] = record["project_id"]
            s.tx.put(self.FAMILY, ident, lb)
            view = self._view(s, lb)
        return self.reply(ctx, {"load_balancer": view})

    def list(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            items = [self._view(s, lb) for lb in s.tx.list(self.FAMILY, parent=None).items]
        return self.page(ctx, "load_balancers", items)

    def _load(self, s: Session, ctx: RequestContext) -> dict[str, Any]:
        lb = s.tx.get(self.FAMILY, str(ctx.params.get("lb_id")))
        if lb is None:
            raise not_found()
        return lb

    def get(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            view = self._view(s, self._load(s, ctx))
        return self.reply(ctx, {"load_balancer": view})

    def update(self, ctx: RequestContext) -> Reply:
        body = _body(ctx)
        with self.session() as s:
            lb = self._load(s, ctx)
            self._fill(s, lb, body)
            s.tx.put(self.FAMILY, lb["id"], lb)
            view = self._view(s, lb)
        return self.reply(ctx, {"load_balancer": view})

    def delete(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            lb = self._load(s, ctx)
            s.tx.delete(self.FAMILY, lb["id"])
            unassign(s, f"do:loadbalancer:{lb['id']}")
        return self.no_content(ctx)

    def change(self, ctx: RequestContext, what: str, add: bool) -> Reply:
        body = _body(ctx)
        with self.session() as s:
            lb = self._load(s, ctx)
            if what == "droplet_ids":
                if lb.get("tag"):
                    raise unprocessable("This load balancer balances a tag, not droplets.")
                given = _droplet_ids(s, body.get("droplet_ids"))
                keep = [d for d in lb["droplet_ids"] if d not in given]
                lb["droplet_ids"] = keep + given if add else keep
                self._fill(s, lb, {})
            else:
                rules = list(body.get("forwarding_rules") or [])
                if add:
                    _check_certificates(s, rules)
                keep_rules = [r for r in lb["forwarding_rules"] if r not in rules]
                lb["forwarding_rules"] = keep_rules + rules if add else keep_rules
            s.tx.put(self.FAMILY, lb["id"], lb)
        return self.no_content(ctx)


class Vpcs(DigitalOcean):
    FAMILY = "vpcs"

    def install(self) -> None:
        self.bind_all(
            {
                "vpcs_create": self.create,
                "vpcs_list": self.list_all,
                "vpcs_get": self.get,
                "vpcs_update": self.update,
                "vpcs_patch": self.update,
                "vpcs_delete": self.delete,
                "vpcs_list_members": self.members,
            }
        )

    def create(self, ctx: RequestContext) -> Reply:
        body = _body(ctx)
        region = find_region(body.get("region"))
        if region is None or not region["available"]:
            raise unprocessable("You specified an invalid region for the VPC.")
        with self.session() as s:
            default = default_vpc(s, region["slug"])
            ident = new_uuid(s, self.FAMILY)
            serial = s.tx.next_id("__do_vpc_ranges__")
            vpc = {
                "id": ident,
                "urn": f"do:vpc:{ident}",
                "name": str(body.get("name", "")),
                "description": str(body.get("description", "")),
                "region": region["slug"],
                "ip_range": str(body.get("ip_range") or f"10.{200 + serial % 50}.0.0/20"),
                "default": False,
                "created_at": s.stamp,
            }
            if (
                any(v["name"] == vpc["name"] for v in s.tx.list(self.FAMILY, parent=None).items)
                or vpc["name"] == default["name"]
            ):
                raise unprocessable("A VPC with this name already exists.")
            s.tx.put(self.FAMILY, ident, vpc)
        return self.reply(ctx, {"vpc": vpc})

    def list_all(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            items = s.tx.list(self.FAMILY, parent=None).items
        return self.page(ctx, "vpcs", items)

    def _load(self, s: Session, ctx: RequestContext) -> dict[str, Any]:
        vpc = s.tx.get(self.FAMILY, str(ctx.params.get("vpc_id")))
        if vpc is None:
            raise not_found()
        return vpc

    def get(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            vpc = self._load(s, ctx)
        return self.reply(ctx, {"vpc": vpc})

    def update(self, ctx: RequestContext) -> Reply:
        body = _body(ctx)
        with self.session() as s:
            vpc = self._load(s, ctx)
            for key in ("name", "description"):
                if isinstance(body.get(key), str):
                    vpc[key] = body[key]
            if body.get("default") is True and not vpc["default"]:
                for other in s.tx.list(
                    self.FAMILY, parent=None, filters={"region": vpc["region"]}
                ).items:
                    if other["default"]:
                        other["default"] = False
                        s.tx.put(self.FAMILY, other["id"], other)
                vpc["default"] = True
            s.tx.put(self.FAMILY, vpc["id"], vpc)
        return self.reply(ctx, {"vpc": vpc})

    def _members(self, s: Session, vpc_id: str) -> list[dict[str, Any]]:
        members = [
            {"urn": f"do:droplet:{d['id']}", "name": d["name"], "created_at": d["created_at"]}
            for d in s.tx.list("droplets", parent=None, filters={"vpc_uuid": vpc_id}).items
        ]
        members += [
            {
                "urn": f"do:loadbalancer:{lb['id']}",
                "name": lb["name"],
                "created_at": lb["created_at"],
            }
            for lb in s.tx.list("load_balancers", parent=None, filters={"vpc_uuid": vpc_id}).items
        ]
        members += [
            {"urn": f"do:kubernetes:{k['id']}", "name": k["name"], "created_at": k["created_at"]}
            for k in s.tx.list(
                "kubernetes_clusters", parent=None, filters={"vpc_uuid": vpc_id}
            ).items
        ]
        return members

    def delete(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            vpc = self._load(s, ctx)
            if vpc["default"]:
                raise Rejection(403, "The default VPC of a region cannot be deleted.")
            if self._members(s, vpc["id"]):
                raise Rejection(403, "A VPC with members cannot be deleted.")
            s.tx.delete(self.FAMILY, vpc["id"])
        return self.no_content(ctx)

    def members(self, ctx: RequestContext) -> Reply:
        wanted = ctx.params.get("resource_type")
        with self.session() as s:
            items = self._members(s, self._load(s, ctx)["id"])
        if wanted:
            items = [m for m in items if m["urn"].split(":")[1] == wanted]
        return self.page(ctx, "members", items)
