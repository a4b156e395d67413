"""Networks: the default bridge, host and none, user networks, and the endpoints that
join containers to them.

A container names its networks in ``NetworkSettings.Networks``; that is the one record
of a connection. A network's ``Containers`` is computed from it: as on the daemon, only
running containers have an endpoint (an address on the network's subnet), and a network
with endpoints cannot be removed.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from apitwin.behaviours.base import json_reply, reject
from apitwin.behaviours.docker_engine.daemon import (
    CONTAINERS,
    NETWORKS,
    Daemon,
    Session,
    as_dict,
    body_of,
    go_time,
    public,
    stable_hex,
)
from apitwin.behaviours.docker_engine.filters import labels_match, parse_filters
from apitwin.engine.context import Handler, Reply, RequestContext

__all__ = ["PREDEFINED", "Networks", "attach_endpoints", "endpoint", "release_endpoints"]

_DAEMON_STARTED = 1_735_689_600.0  # the built-in networks exist since the daemon started


def _builtin(name: str, driver: str, subnet: str | None) -> dict[str, Any]:
    ipam: list[dict[str, str]] = []
    if subnet:
        ipam = [{"Subnet": subnet, "Gateway": str(ipaddress.ip_network(subnet)[1])}]
    return {
        "Name": name,
        "Id": stable_hex("network", name),
        "Created": go_time(_DAEMON_STARTED),
        "Scope": "local",
        "Driver": driver,
        "EnableIPv6": False,
        "IPAM": {"Driver": "default", "Options": None, "Config": ipam},
        "Internal": False,
        "Attachable": False,
        "Ingress": False,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": False,
        "Options": {"com.docker.network.bridge.default_bridge": "true"} if name == "bridge" else {},
        "Labels": {},
    }


PREDEFINED = {
    "bridge": _builtin("bridge", "bridge", "172.17.0.0/16"),
    "host": _builtin("host", "host", None),
    "none": _builtin("none", "null", None),
}


def all_networks(session: Session) -> list[dict[str, Any]]:
    return list(PREDEFINED.values()) + session.tx.list(NETWORKS).items


def find_network(session: Session, ref: str) -> dict[str, Any]:
    """A network by name, full id or unique id prefix; 404 in the daemon's words."""
    networks = all_networks(session)
    for network in networks:
        if network["Name"] == ref or network["Id"] == ref:
            return network
    matches = [n for n in networks if ref and n["Id"].startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    raise reject(404, f"network {ref} not found")


def endpoint(network: dict[str, Any], aliases: list[str] | None = None) -> dict[str, Any]:
    """A container's settings on a network before it has an address."""
    return {
        "IPAMConfig": None,
        "Links": None,
        "Aliases": aliases,
        "NetworkID": network["Id"],
        "EndpointID": "",
        "Gateway": "",
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "MacAddress": "",
        "DriverOpts": None,
    }


def _running(container: dict[str, Any]) -> bool:
    return bool(container["State"]["Running"])


def _assign(session: Session, container: dict[str, Any], name: str) -> None:
    """Give a running container an address on one network (the lowest free one)."""
    settings = container["NetworkSettings"]["Networks"][name]
    network = find_network(session, name)
    config = network["IPAM"]["Config"]
    if network["Driver"] in ("host", "null") or not config:
        settings["EndpointID"] = stable_hex("endpoint", container["Id"], name)
        return
    subnet = ipaddress.ip_network(config[0]["Subnet"], strict=False)
    gateway = config[0].get("Gateway") or str(subnet[1])
    taken = {gateway}
    for other in session.tx.list(CONTAINERS).items:
        if other["Id"] != container["Id"] and _running(other):
            theirs = other["NetworkSettings"]["Networks"].get(name)
            if theirs and theirs["IPAddress"]:
                taken.add(theirs["IPAddress"])
    address = next(str(host) for host in subnet.hosts() if str(host) not in taken)
    packed = ipaddress.ip_address(address).packed
    settings.update(
        EndpointID=stable_hex("endpoint", container["Id"], name, container["State"]["StartedAt"]),
        Gateway=gateway,
        IPAddress=address,
        IPPrefixLen=subnet.prefixlen,
        MacAddress="02:42:" + ":".join(f"{b:02x}" for b in packed),
    )


def _mirror_bridge(container: dict[str, Any]) -> None:
    """The top-level NetworkSettings fields describe the default bridge endpoint."""
    settings = container["NetworkSettings"]
    bridge = settings["Networks"].get("bridge") or {}
    for field in ("EndpointID", "Gateway", "IPAddress", "IPPrefixLen", "MacAddress"):
        settings[field] = bridge.get(field, "" if field != "IPPrefixLen" else 0)


def attach_endpoints(session: Session, container: dict[str, Any]) -> None:
    """On start: an address on every network the container is connected to."""
    for name in container["NetworkSettings"]["Networks"]:
        _assign(session, container, name)
    _mirror_bridge(container)
    sandbox = stable_hex("sandbox", container["Id"], container["State"]["StartedAt"])
    container["NetworkSettings"]["SandboxID"] = sandbox
    container["NetworkSettings"]["SandboxKey"] = f"/var/run/docker/netns/{sandbox[:12]}"


def release_endpoints(container: dict[str, Any]) -> None:
    """On exit: the addresses go back to their networks."""
    for settings in container["NetworkSettings"]["Networks"].values():
        settings.update(EndpointID="", Gateway="", IPAddress="", IPPrefixLen=0, MacAddress="")
    _mirror_bridge(container)
    container["NetworkSettings"]["SandboxID"] = ""
    container["NetworkSettings"]["SandboxKey"] = ""


def _members(session: Session, network: dict[str, Any]) -> dict[str, Any]:
    members: dict[str, Any] = {}
    for container in session.tx.list(CONTAINERS).items:
        settings = container["NetworkSettings"]["Networks"].get(network["Name"])
        if settings is None or not _running(container):
            continue
        address = settings["IPAddress"]
        members[container["Id"]] = {
            "Name": container["Name"].lstrip("/"),
            "EndpointID": settings["EndpointID"],
            "MacAddress": settings["MacAddress"],
            "IPv4Address": f"{address}/{settings['IPPrefixLen']}" if address else "",
            "IPv6Address": "",
        }
    return members


class Networks:
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    def handlers(self) -> dict[str, Handler]:
        return {
            "NetworkList": self.listing,
            "NetworkCreate": self.create,
            "NetworkInspect": self.inspect,
            "NetworkDelete": self.delete,
            "NetworkConnect": self.connect,
            "NetworkDisconnect": self.disconnect,
            "NetworkPrune": self.prune,
        }

    def listing(self, context: RequestContext) -> Reply:
        filters = parse_filters(
            context.params.get("filters"),
            ("driver", "id", "label", "name", "scope", "type", "dangling"),
        )
        with self.daemon.session(write=False) as session:
            result = []
            for network in all_networks(session):
                if not _network_matches(session, network, filters):
                    continue
                result.append({**public(network), "Containers": {}})
        return json_reply(result)

    def inspect(self, context: RequestContext) -> Reply:
        with self.daemon.session(write=False) as session:
            network = find_network(session, context.params["id"])
            return json_reply({**public(network), "Containers": _members(session, network)})

    def create(self, context: RequestContext) -> Reply:
        body = body_of(context)
        name = body.get("Name")
        if not isinstance(name, str) or not name:
            raise reject(400, "network name must be a non-empty string")
        if name in PREDEFINED:
            raise reject(403, f"operation is not permitted on predefined {name} network ")
        with self.daemon.session() as session:
            for network in all_networks(session):
                if network["Name"] == name:
                    raise reject(409, f"network with name {name} already exists")
            network_id, serial = self.daemon.new_id(session.tx, "network")
            ipam = as_dict(body.get("IPAM"))
            configs = [c for c in ipam.get("Config") or [] if isinstance(c, dict)]
            if configs and configs[0].get("Subnet"):
                try:
                    subnet = ipaddress.ip_network(configs[0]["Subnet"], strict=False)
                except ValueError:
                    raise reject(400, f"invalid subnet {configs[0]['Subnet']}") from None
                config = [
                    {"Subnet": str(subnet), "Gateway": configs[0].get("Gateway") or str(subnet[1])}
                ]
            else:
                subnet = ipaddress.ip_network(f"172.{17 + serial % 200}.0.0/16")
                config = [{"Subnet": str(subnet), "Gateway": str(subnet[1])}]
            driver = body.get("Driver") or "bridge"
            network = {
                "Name": name,
                "Id": network_id,
                "Created": go_time(session.now),
                "Scope": "local",
                "Driver": driver,
                "EnableIPv6": bool(body.get("EnableIPv6")),
                "IPAM": {
                    "Driver": ipam.get("Driver") or "default",
                    "Options": ipam.get("Options") or {},
                    "Config": config,
                },
                "Internal": bool(body.get("Internal")),
                "Attachable": bool(body.get("Attachable")),
                "Ingress": bool(body.get("Ingress")),
                "ConfigFrom": {"Network": ""},
                "ConfigOnly": False,
                "Options": body.get("Options") or {},
                "Labels": body.get("Labels") or {},
            }
            session.save(NETWORKS, network_id, network)
            session.event("network", "create", network_id, {"name": name, "type": driver})
        return json_reply({"Id": network_id, "Warning": ""}, 201)

    def delete(self, context: RequestContext) -> Reply:
        with self.daemon.session() as session:
            network = find_network(session, context.params["id"])
            name = network["Name"]
            if name in PREDEFINED:
                raise reject(403, f"{name} is a pre-defined network and cannot be removed")
            if _members(session, network):
                raise reject(
                    403,
                    f"error while removing network: network {name} id {network['Id']} has "
                    "active endpoints",
                )
            self._forget(session, network)
        return Reply(204)

    def _forget(self, session: Session, network: dict[str, Any]) -> None:
        for container in session.tx.list(CONTAINERS).items:
            if container["NetworkSettings"]["Networks"].pop(network["Name"], None) is not None:
                session.save(CONTAINERS, container["Id"], container)
        session.tx.delete(NETWORKS, network["Id"])
        session.event(
            "network",
            "destroy",
            network["Id"],
            {"name": network["Name"], "type": network["Driver"]},
        )

    def connect(self, context: RequestContext) -> Reply:
        body = body_of(context)
        with self.daemon.session() as session:
            network = find_network(session, context.params["id"])
            container = session.container(str(body.get("Container") or ""))
            name = network["Name"]
            networks = container["NetworkSettings"]["Networks"]
            if network["Driver"] in ("host", "null") or "host" in networks or "none" in networks:
                raise reject(
                    400,
                    "container cannot be disconnected from host network or connected to "
                    "host network",
                )
            if name in networks:
                raise reject(
                    403,
                    f"endpoint with name {container['Name'].lstrip('/')} already exists in "
                    f"network {name}",
                )
            config = as_dict(body.get("EndpointConfig"))
            aliases = [a for a in config.get("Aliases") or [] if isinstance(a, str)]
            networks[name] = endpoint(
                network, aliases + [container["Id"][:12]] if name != "bridge" else None
            )
            if container["State"]["Running"]:
                _assign(session, container, name)
                _mirror_bridge(container)
            session.save(CONTAINERS, container["Id"], container)
            session.event(
                "network",
                "connect",
                network["Id"],
                {"container": container["Id"], "name": name, "type": network["Driver"]},
            )
        return Reply(200)

    def disconnect(self, context: RequestContext) -> Reply:
        body = body_of(context)
        with self.daemon.session() as session:
            network = find_network(session, context.params["id"])
            container = session.container(str(body.get("Container") or ""))
            name = network["Name"]
            if name not in container["NetworkSettings"]["Networks"]:
                raise reject(
                    403,
                    f"container {container['Id']} is not connected to network {name}",
                )
            del container["NetworkSettings"]["Networks"][name]
            _mirror_bridge(container)
            session.save(CONTAINERS, container["Id"], container)
            session.event(
                "network",
                "disconnect",
                network["Id"],
                {"container": container["Id"], "name": name, "type": network["Driver"]},
            )
        return Reply(200)

    def prune(self, context: RequestContext) -> Reply:
        filters = parse_filters(context.params.get("filters"), ("until", "label"))
        deleted: list[str] = []
        with self.daemon.session() as session:
            for network in session.tx.list(NETWORKS).items:
                if "label" in filters and not labels_match(network["Labels"], filters["label"]):
                    continue
                if _members(session, network):
                    continue
                self._forget(session, network)
                deleted.append(network["Name"])
        return json_reply({"NetworksDeleted": deleted or None})


def _network_matches(
    session: Session, network: dict[str, Any], filters: dict[str, list[str]]
) -> bool:
    if "driver" in filters and network["Driver"] not in filters["driver"]:
        return False
    if "id" in filters and not any(network["Id"].startswith(v) for v in filters["id"]):
        return False
    if "name" in filters and not any(v in network["Name"] for v in filters["name"]):
        return False
    if "label" in filters and not labels_match(network["Labels"], filters["label"]):
        return False
    if "scope" in filters and network["Scope"] not in filters["scope"]:
        return False
    if "type" in filters:
        kind = "builtin" if network["Name"] in PREDEFINED else "custom"
        if kind not in filters["type"]:
            return False
    if "dangling" in filters:
        dangling = filters["dangling"][0] in ("true", "1")
        used = network["Name"] in PREDEFINED or any(
            network["Name"] in c["NetworkSettings"]["Networks"]
            for c in session.tx.list(CONTAINERS).items
        )
        if dangling == used:
            return False
    return True
