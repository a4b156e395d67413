"""Reserved IPs, also served under their former name, floating IPs: created in a region
or for a droplet, assigned and unassigned through actions. The droplet a reserved IP
shows is read afresh, so it is never a stale copy or a deleted droplet."""

from __future__ import annotations

from typing import Any

from apitwin.behaviours.digitalocean import actions
from apitwin.behaviours.digitalocean.account import assign, unassign
from apitwin.behaviours.digitalocean.context import (
    DigitalOcean,
    Session,
    integer_id,
    not_found,
    unprocessable,
)
from apitwin.behaviours.digitalocean.reference import find_region, region_object
from apitwin.engine.context import Handler, Reply, RequestContext
from apitwin.state.store import Transaction

__all__ = ["ReservedIPs"]

FAMILY = "reserved_ips"


def _address(serial: int) -> str:
    return f"45.55.{(serial // 250) % 256}.{serial % 250 + 2}"


def _view(s: Session, ip: dict[str, Any]) -> dict[str, Any]:
    droplet_id = ip.get("droplet_id")
    droplet = s.tx.get("droplets", str(droplet_id)) if droplet_id is not None else None
    return {
        "ip": ip["ip"],
        "region": region_object(ip["region"]),
        "droplet": droplet,
        "locked": actions.busy(s, "reserved_ip", ip["ip"]),
        "project_id": ip["project_id"],
    }


class ReservedIPs(DigitalOcean):
    def install(self) -> None:
        for prefix, key, actions_prefix in (
            ("reservedIPs", "reserved_ip", "reservedIPsActions"),
            ("floatingIPs", "floating_ip", "floatingIPsAction"),
        ):
            self.bind_all(
                {
                    f"{prefix}_create": self._creator(key),
                    f"{prefix}_list": self._lister(key),
                    f"{prefix}_get": self._getter(key),
                    f"{prefix}_delete": self._deleter(key),
                    f"{actions_prefix}_post": self._actor(key),
                }
            )
        self.shared.effects["reserved_ip:assign_ip"] = self._assigned
        self.shared.effects["reserved_ip:unassign_ip"] = self._unassigned
        self.semantics.seeders[FAMILY] = self._seed

    def _seed(self, tx: Transaction, runtime: Any) -> None:
        s = self.session_in(tx)
        droplets = s.tx.list("droplets", parent=None, limit=1).items
        self._new(s, "nyc3", droplets[0]["id"] if droplets else None, None)

    def _new(
        self, s: Session, region: str, droplet_id: int | None, project_id: str | None
    ) -> dict[str, Any]:
        address = _address(s.tx.next_id(FAMILY))
        record = assign(s, f"do:floatingip:{address}", project_id)
        ip = {
            "ip": address,
            "region": region,
            "droplet_id": droplet_id,
            "project_id": record["project_id"],
        }
        s.tx.put(FAMILY, address, ip)
        return ip

    def _load(self, s: Session, address: Any) -> dict[str, Any]:
        ip = s.tx.get(FAMILY, str(address))
        if ip is None:
            raise not_found()
        return ip

    def _creator(self, key: str) -> Handler:
        def create(ctx: RequestContext) -> Reply:
            body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
            links: dict[str, Any] = {}
            with self.session() as s:
                droplet_id = integer_id(body.get("droplet_id"))
                if "droplet_id" in body:
                    droplet = s.tx.get("droplets", str(droplet_id))
                    if droplet is None:
                        raise unprocessable("You specified an invalid Droplet.")
                    ip = self._new(s, droplet["region"]["slug"], droplet_id, None)
                    action = actions.completed(
                        s, "assign_ip", "reserved_ip", ip["ip"], ip["region"]
                    )
                    links = {
                        "droplets": [
                            {
                                "id": droplet_id,
                                "rel": "droplet",
                                "href": f"{ctx.origin}/v2/droplets/{droplet_id}",
                            }
                        ],
                        "actions": [
                            {
                                "id": action["id"],
                                "rel": "assign_ip",
                                "href": f"{ctx.origin}/v2/actions/{action['id']}",
                            }
                        ],
                    }
                else:
                    region = find_region(body.get("region"))
                    if region is None or not region["available"]:
                        raise unprocessable("You specified an invalid region.")
                    project_id = body.get("project_id")
                    ip = self._new(s, region["slug"], None, str(project_id) if project_id else None)
                view = _view(s, ip)
            return self.reply(ctx, {key: view, "links": links})

        return create

    def _lister(self, key: str) -> Handler:
        def list_(ctx: RequestContext) -> Reply:
            with self.session() as s:
                items = [_view(s, ip) for ip in s.tx.list(FAMILY, parent=None).items]
            return self.page(ctx, f"{key}s", items)

        return list_

    def _getter(self, key: str) -> Handler:
        def get(ctx: RequestContext) -> Reply:
            with self.session() as s:
                view = _view(s, self._load(s, ctx.params.get(key)))
            return self.reply(ctx, {key: view})

        return get

    def _deleter(self, key: str) -> Handler:
        def delete(ctx: RequestContext) -> Reply:
            with self.session() as s:
                ip = self._load(s, ctx.params.get(key))
                s.tx.delete(FAMILY, ip["ip"])
                unassign(s, f"do:floatingip:{ip['ip']}")
            return self.no_content(ctx)

        return delete

    def _actor(self, key: str) -> Handler:
        def act(ctx: RequestContext) -> Reply:
            body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
            kind = body.get("type")
            with self.session() as s:
                ip = self._load(s, ctx.params.get(key))
                if actions.busy(s, "reserved_ip", ip["ip"]):
                    raise unprocessable("The reserved IP already has a pending event.")
                params: dict[str, Any] = {}
                if kind == "assign":
                    droplet_id = integer_id(body.get("droplet_id"))
                    droplet = s.tx.get("droplets", str(droplet_id))
                    if droplet is None:
                        raise unprocessable("You specified an invalid Droplet.")
                    if droplet["region"]["slug"] != ip["region"]:
                        raise unprocessable(
                            "The Droplet and the reserved IP must be in the same region."
                        )
                    params = {"droplet_id": droplet_id}
                elif kind == "unassign":
                    if ip["droplet_id"] is None:
                        raise unprocessable("The reserved IP is not assigned to a Droplet.")
                else:
                    raise unprocessable(f"'{kind}' is not an action for reserved IPs.")
                resource = int.from_bytes(bytes(int(p) for p in ip["ip"].split(".")), "big")
                action = actions.start(
                    s,
                    f"{kind}_ip",
                    "reserved_ip",
                    ip["ip"],
                    ip["region"],
                    params,
                    resource_id=resource,
                    delay=str(kind),
                )
            return self.reply(ctx, {"action": action})

        return act

    def _assigned(self, s: Session, key: str, params: dict[str, Any]) -> bool:
        ip = s.tx.get(FAMILY, key)
        if ip is None or s.tx.get("droplets", str(params["droplet_id"])) is None:
            return False
        ip["droplet_id"] = params["droplet_id"]
        s.tx.put(FAMILY, key, ip)
        return True

    def _unassigned(self, s: Session, key: str, params: dict[str, Any]) -> bool:
        ip = s.tx.get(FAMILY, key)
        if ip is None:
            return False
        ip["droplet_id"] = None
        s.tx.put(FAMILY, key, ip)
        return True
