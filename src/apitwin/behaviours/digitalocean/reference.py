"""The account's reference data: regions, sizes, public images and kernels, with the real
slugs and availability kept consistent (every size lists the regions that list it, every
public image is in every available region). Constant: a twin started empty has them too."""

from __future__ import annotations

from typing import Any

__all__ = [
    "DISTRIBUTIONS",
    "KERNELS",
    "REGIONS",
    "SIZES",
    "find_image",
    "find_region",
    "find_size",
    "region_object",
    "size_object",
]

_CREATED = "2024-04-23T20:17:46Z"
_FEATURES = [
    "backups",
    "ipv6",
    "metadata",
    "install_agent",
    "storage",
    "image_transfer",
]

# slug, name, available
_REGIONS: tuple[tuple[str, str, bool], ...] = (
    ("nyc1", "New York 1", True),
    ("nyc2", "New York 2", False),
    ("nyc3", "New York 3", True),
    ("sfo1", "San Francisco 1", False),
    ("sfo2", "San Francisco 2", True),
    ("sfo3", "San Francisco 3", True),
    ("ams2", "Amsterdam 2", False),
    ("ams3", "Amsterdam 3", True),
    ("sgp1", "Singapore 1", True),
    ("lon1", "London 1", True),
    ("fra1", "Frankfurt 1", True),
    ("tor1", "Toronto 1", True),
    ("blr1", "Bangalore 1", True),
)
_AVAILABLE = tuple(slug for slug, _, up in _REGIONS if up)

# slug, memory MB, vcpus, disk GB, transfer TB, price monthly, description
_SIZES: tuple[tuple[str, int, int, int, float, float, str], ...] = (
    ("s-1vcpu-512mb-10gb", 512, 1, 10, 0.5, 4.0, "Basic"),
    ("s-1vcpu-1gb", 1024, 1, 25, 1.0, 6.0, "Basic"),
    ("s-1vcpu-2gb", 2048, 1, 50, 2.0, 12.0, "Basic"),
    ("s-2vcpu-2gb", 2048, 2, 60, 3.0, 18.0, "Basic"),
    ("s-2vcpu-4gb", 4096, 2, 80, 4.0, 24.0, "Basic"),
    ("s-4vcpu-8gb", 8192, 4, 160, 5.0, 48.0, "Basic"),
    ("s-8vcpu-16gb", 16384, 8, 320, 6.0, 96.0, "Basic"),
    ("c-2", 4096, 2, 25, 4.0, 42.0, "CPU-Optimized"),
    ("c-4", 8192, 4, 50, 5.0, 84.0, "CPU-Optimized"),
    ("g-2vcpu-8gb", 8192, 2, 25, 4.0, 63.0, "General Purpose"),
    ("m-2vcpu-16gb", 16384, 2, 50, 4.0, 84.0, "Memory-Optimized"),
)
# Sizes a region does not offer (the smallest plan is not sold in the older regions).
_NOT_IN = {"s-1vcpu-512mb-10gb": {"nyc1", "sfo2", "ams3", "tor1", "blr1", "syd1"}}


def _size_regions(slug: str) -> list[str]:
    return [r for r in _AVAILABLE if r not in _NOT_IN.get(slug, set())]


SIZES: tuple[dict[str, Any], ...] = tuple(
    {
        "slug": slug,
        "memory": memory,
        "vcpus": vcpus,
        "disk": disk,
        "transfer": transfer,
        "price_monthly": monthly,
        "price_hourly": round(monthly / 672, 5),
        "regions": _size_regions(slug),
        "available": True,
        "description": description,
    }
    for slug, memory, vcpus, disk, transfer, monthly, description in _SIZES
)

REGIONS: tuple[dict[str, Any], ...] = tuple(
    {
        "slug": slug,
        "name": name,
        "features": list(_FEATURES),
        "available": available,
        "sizes": [s["slug"] for s in SIZES if slug in s["regions"]] if available else [],
    }
    for slug, name, available in _REGIONS
)

# id, slug, distribution, name, min disk, size GB
_IMAGES: tuple[tuple[int, str, str, str, int, float], ...] = (
    (155_349_364, "ubuntu-24-04-x64", "Ubuntu", "24.04 (LTS) x64", 7, 2.44),
    (129_211_873, "ubuntu-22-04-x64", "Ubuntu", "22.04 (LTS) x64", 7, 2.17),
    (63_663_980, "ubuntu-20-04-x64", "Ubuntu", "20.04 (LTS) x64", 7, 2.36),
    (133_902_101, "debian-12-x64", "Debian", "12 x64", 10, 0.98),
    (106_569_146, "debian-11-x64", "Debian", "11 x64", 10, 0.86),
    (154_710_924, "fedora-40-x64", "Fedora", "40 x64", 7, 1.62),
    (113_646_474, "centos-stream-9-x64", "CentOS", "Stream 9 x64", 10, 1.09),
    (128_999_383, "rockylinux-9-x64", "Rocky Linux", "9 x64", 10, 0.82),
    (128_999_401, "freebsd-14-x64-zfs", "FreeBSD", "14.1 zfs x64", 20, 1.71),
    (112_929_408, "docker-20-04", "Ubuntu", "Docker on Ubuntu 22.04", 25, 3.43),
)

DISTRIBUTIONS: tuple[dict[str, Any], ...] = tuple(
    {
        "id": ident,
        "name": name,
        "distribution": distribution,
        "slug": slug,
        "public": True,
        "regions": list(_AVAILABLE),
        "created_at": _CREATED,
        "min_disk_size": min_disk,
        "type": "base",
        "size_gigabytes": size,
        "description": f"{distribution} {name}",
        "tags": [],
        "status": "available",
        "error_message": "",
    }
    for ident, slug, distribution, name, min_disk, size in _IMAGES
)

KERNELS: tuple[dict[str, Any], ...] = (
    {
        "id": 7515,
        "name": "DigitalOcean GrubLoader v0.2 (20160714)",
        "version": "2016.07.13-DigitalOcean_loader_Ubuntu",
    },
    {
        "id": 8539,
        "name": "Ubuntu 22.04 x64 vmlinuz-5.15.0-91-generic",
        "version": "5.15.0-91-generic",
    },
    {
        "id": 9004,
        "name": "Ubuntu 24.04 x64 vmlinuz-6.8.0-31-generic",
        "version": "6.8.0-31-generic",
    },
)

_REGION_BY_SLUG = {r["slug"]: r for r in REGIONS}
_SIZE_BY_SLUG = {s["slug"]: s for s in SIZES}
_IMAGE_BY_KEY: dict[Any, dict[str, Any]] = {}
for _image in DISTRIBUTIONS:
    _IMAGE_BY_KEY[_image["slug"]] = _image
    _IMAGE_BY_KEY[_image["id"]] = _image


def find_region(slug: Any) -> dict[str, Any] | None:
    """A region by slug; a prefix (``nyc``) picks its first available datacenter."""
    if not isinstance(slug, str):
        return None
    if slug in _REGION_BY_SLUG:
        return _REGION_BY_SLUG[slug]
    for region in REGIONS:
        if region["available"] and region["slug"].rstrip("0123456789") == slug:
            return region
    return None


def find_size(slug: Any) -> dict[str, Any] | None:
    return _SIZE_BY_SLUG.get(slug) if isinstance(slug, str) else None


def find_image(key: Any) -> dict[str, Any] | None:
    """A public image by slug or id."""
    if isinstance(key, str) and key.isdigit():
        key = int(key)
    return _IMAGE_BY_KEY.get(key)


def region_object(slug: str) -> dict[str, Any]:
    region = _REGION_BY_SLUG[slug]
    return {**region, "features": list(region["features"]), "sizes": list(region["sizes"])}


def size_object(slug: str) -> dict[str, Any]:
    size = _SIZE_BY_SLUG[slug]
    return {**size, "regions": list(size["regions"])}
