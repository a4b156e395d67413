"""Addresses a droplet gets: a public IPv4 from its region's ranges, a private IPv4 from
its VPC's range, and an IPv6 address when asked for. Derived from the droplet's serial
number, so they are stable and never collide."""

from __future__ import annotations

import ipaddress
from typing import Any

__all__ = ["droplet_networks", "ipv6_network", "public_ipv4"]

# First two octets of public addresses per region family (ranges DigitalOcean announces).
_PUBLIC = {
    "nyc": (167, 99),
    "sfo": (137, 184),
    "ams": (188, 166),
    "sgp": (128, 199),
    "lon": (178, 62),
    "fra": (46, 101),
    "tor": (159, 203),
    "blr": (139, 59),
    "syd": (170, 64),
}
_V6 = {
    "nyc": "2604:a880:800:10",
    "sfo": "2604:a880:4:1d0",
    "ams": "2a03:b0c0:2:d0",
    "sgp": "2400:6180:0:d0",
    "lon": "2a03:b0c0:1:d0",
    "fra": "2a03:b0c0:3:d0",
    "tor": "2604:a880:cad:d0",
    "blr": "2400:6180:100:d0",
    "syd": "2400:6180:10:200",
}


def _family(region: str) -> str:
    return region.rstrip("0123456789")


def public_ipv4(region: str, serial: int) -> str:
    first, second = _PUBLIC.get(_family(region), (104, 131))
    return f"{first}.{second}.{(serial // 250) % 256}.{serial % 250 + 2}"


def ipv6_network(region: str, serial: int) -> dict[str, Any]:
    prefix = _V6.get(_family(region), "2604:a880:800:10")
    return {
        "ip_address": f"{prefix}::{serial:x}:1000",
        "netmask": 64,
        "gateway": f"{prefix}::1",
        "type": "public",
    }


def droplet_networks(region: str, serial: int, ip_range: str, ipv6: bool) -> dict[str, Any]:
    public = public_ipv4(region, serial)
    network = ipaddress.ip_network(ip_range, strict=False)
    private = network.network_address + 2 + serial % (network.num_addresses - 3)
    return {
        "v4": [
            {
                "ip_address": str(private),
                "netmask": str(network.netmask),
                "gateway": "nil",
                "type": "private",
            },
            {
                "ip_address": public,
                "netmask": "255.255.240.0",
                "gateway": public.rsplit(".", 1)[0] + ".1",
                "type": "public",
            },
        ],
        "v6": [ipv6_network(region, serial)] if ipv6 else [],
    }
