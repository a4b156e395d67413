"""Headers and envelopes across the families the twin serves from state: the documented
success status of each operation (201 creates, 202 for async ones, 204 empty deletes),
the singular root key of one resource and the plural one of a list with ``meta.total``
and ``links`` (``pages`` only when there is more than one page), and ``ratelimit-*`` on
every response, refusals included.

The operations are a representative set: one create, get, list and delete (or the
family's async action) of every family with its own behaviour, read against the
document's own success status for that operation, so a wrong status cannot pass."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from apitwin.twins.registry import bundled_profile, spec_path
from tests.conftest import ServedTwin, start_twin, stop_twin

RATELIMIT = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZ4c2VjcmV0a2V5Zm9ydGVzdGluZ3B1cnBvc2VzMTIz me@host"


def _resolve(doc: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = doc
        for part in node["$ref"][2:].split("/"):
            part = unquote(part.replace("~1", "/").replace("~0", "~"))
            target = target[int(part)] if isinstance(target, list) else target[part]
        node = target
    return node


def _top_properties(doc: dict[str, Any], response: Any) -> set[str]:
    """The top-level property names of a response's JSON schema (through allOf)."""
    content = _resolve(doc, response).get("content", {}).get("application/json", {})
    pending, names = [content.get("schema", {})], set()
    while pending:
        schema = _resolve(doc, pending.pop())
        if isinstance(schema, dict):
            names |= set(schema.get("properties", {}))
            pending += schema.get("allOf", [])
    return names


def _documented() -> tuple[dict[tuple[str, str], int], set[tuple[str, str]]]:
    """(method, path template) -> the lowest 2xx status the document gives; and the
    operations whose success answer documents ``meta`` (the paged lists)."""
    doc = json.loads(spec_path(bundled_profile("digitalocean")).read_text())
    statuses: dict[tuple[str, str], int] = {}
    paged: set[tuple[str, str]] = set()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "responses" in op:
                codes = sorted(c for c in op["responses"] if c.startswith("2"))
                if codes:
                    statuses[(method.upper(), path)] = int(codes[0])
                    if "meta" in _top_properties(doc, op["responses"][codes[0]]):
                        paged.add((method.upper(), path))
    return statuses, paged


DOCUMENTED, PAGED = _documented()


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    twin: ServedTwin = start_twin("digitalocean")  # seeded: a registry, a cluster, ...
    with httpx.Client(base_url=twin.base_url, headers={"Authorization": "Bearer t"}) as client:
        yield client
    stop_twin(twin)


class Checker:
    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.seen: set[tuple[str, str]] = set()

    def call(
        self, method: str, template: str, key: str | None, json_body: Any = None, **ids: Any
    ) -> Any:
        path = template.format(**ids)
        response = self.http.request(method, path, json=json_body)
        expected = DOCUMENTED[(method, template)]
        assert response.status_code == expected, (method, path, response.text)
        for header in RATELIMIT:
            assert response.headers.get(header, "").isdigit(), (method, path, header)
        self.seen.add((method, template))
        if expected == 204 or (expected == 202 and not response.content):
            assert response.content == b"", (method, path)
            return None
        body = response.json()
        if key is None:
            return body
        assert key in body, (method, path, list(body))
        value = body[key]
        if isinstance(value, list) and (method, template) not in PAGED:
            assert "meta" not in body and "links" not in body, (method, path)
        elif isinstance(value, list):
            assert body["meta"]["total"] >= len(value), (method, path)
            links = body.get("links", {})
            if body["meta"]["total"] <= len(value):
                assert "pages" not in links, (method, path)
        else:
            assert isinstance(value, dict), (method, path)
        return value


def test_statuses_root_keys_and_headers(http: httpx.Client) -> None:
    c = Checker(http)
    body = {"name": "env-1", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-22-04-x64"}
    droplet = c.call("POST", "/v2/droplets", "droplet", body)
    c.call("GET", "/v2/droplets", "droplets")
    c.call("GET", "/v2/droplets/{droplet_id}", "droplet", droplet_id=droplet["id"])
    http.post("/__apitwin__/clock", json={"advance": 60})
    action = c.call(
        "POST",
        "/v2/droplets/{droplet_id}/actions",
        "action",
        {"type": "reboot"},
        droplet_id=droplet["id"],
    )
    c.call("GET", "/v2/droplets/{droplet_id}/actions", "actions", droplet_id=droplet["id"])
    c.call("GET", "/v2/actions", "actions")
    c.call("GET", "/v2/actions/{action_id}", "action", action_id=action["id"])
    c.call("GET", "/v2/regions", "regions")
    c.call("GET", "/v2/sizes", "sizes")
    c.call("GET", "/v2/images", "images")
    c.call("GET", "/v2/snapshots", "snapshots")

    volume = c.call(
        "POST", "/v2/volumes", "volume", {"name": "env-v", "region": "nyc3", "size_gigabytes": 10}
    )
    c.call("GET", "/v2/volumes", "volumes")
    snapshot = c.call(
        "POST",
        "/v2/volumes/{volume_id}/snapshots",
        "snapshot",
        {"name": "s"},
        volume_id=volume["id"],
    )
    c.call("GET", "/v2/volumes/{volume_id}/snapshots", "snapshots", volume_id=volume["id"])
    c.call("GET", "/v2/volumes/snapshots/{snapshot_id}", "snapshot", snapshot_id=snapshot["id"])
    c.call(
        "POST",
        "/v2/volumes/{volume_id}/actions",
        "action",
        {"type": "attach", "droplet_id": droplet["id"]},
        volume_id=volume["id"],
    )
    c.call("DELETE", "/v2/volumes/snapshots/{snapshot_id}", None, snapshot_id=snapshot["id"])

    c.call("POST", "/v2/tags", "tag", {"name": "env"})
    c.call("GET", "/v2/tags", "tags")
    c.call("GET", "/v2/tags/{tag_id}", "tag", tag_id="env")
    c.call("DELETE", "/v2/tags/{tag_id}", None, tag_id="env")
    key = c.call("POST", "/v2/account/keys", "ssh_key", {"name": "k", "public_key": ED25519})
    c.call("GET", "/v2/account/keys", "ssh_keys")
    c.call("DELETE", "/v2/account/keys/{ssh_key_identifier}", None, ssh_key_identifier=key["id"])
    c.call("POST", "/v2/domains", "domain", {"name": "env.example"})
    c.call("GET", "/v2/domains/{domain_name}/records", "domain_records", domain_name="env.example")
    c.call("DELETE", "/v2/domains/{domain_name}", None, domain_name="env.example")
    ip = c.call("POST", "/v2/reserved_ips", "reserved_ip", {"region": "nyc3"})
    c.call("GET", "/v2/reserved_ips", "reserved_ips")
    c.call("DELETE", "/v2/reserved_ips/{reserved_ip}", None, reserved_ip=ip["ip"])
    fw = c.call(
        "POST",
        "/v2/firewalls",
        "firewall",
        {
            "name": "fw",
            "droplet_ids": [droplet["id"]],
            "inbound_rules": [
                {"protocol": "tcp", "ports": "22", "sources": {"addresses": ["0.0.0.0/0"]}}
            ],
        },
    )
    c.call("GET", "/v2/firewalls/{firewall_id}", "firewall", firewall_id=fw["id"])
    c.call("DELETE", "/v2/firewalls/{firewall_id}", None, firewall_id=fw["id"])
    lb = c.call(
        "POST",
        "/v2/load_balancers",
        "load_balancer",
        {
            "name": "lb",
            "region": "nyc3",
            "tag": "web",
            "forwarding_rules": [
                {
                    "entry_protocol": "http",
                    "entry_port": 80,
                    "target_protocol": "http",
                    "target_port": 80,
                }
            ],
        },
    )
    c.call("GET", "/v2/load_balancers", "load_balancers")
    c.call("DELETE", "/v2/load_balancers/{lb_id}", None, lb_id=lb["id"])
    vpc = c.call("POST", "/v2/vpcs", "vpc", {"name": "net", "region": "ams3"})
    c.call("GET", "/v2/vpcs/{vpc_id}/members", "members", vpc_id=vpc["id"])
    c.call("DELETE", "/v2/vpcs/{vpc_id}", None, vpc_id=vpc["id"])
    project = c.call("POST", "/v2/projects", "project", {"name": "p", "purpose": "testing"})
    c.call("GET", "/v2/projects/{project_id}/resources", "resources", project_id=project["id"])
    c.call("DELETE", "/v2/projects/{project_id}", None, project_id=project["id"])
    c.call("GET", "/v2/kubernetes/clusters", "kubernetes_clusters")

    cert = c.call(
        "POST",
        "/v2/certificates",
        "certificate",
        {"name": "c", "type": "lets_encrypt", "dns_names": ["example.org"]},
    )
    c.call("GET", "/v2/certificates/{certificate_id}", "certificate", certificate_id=cert["id"])
    c.call("DELETE", "/v2/certificates/{certificate_id}", None, certificate_id=cert["id"])
    cdn = c.call(
        "POST", "/v2/cdn/endpoints", "endpoint", {"origin": "bkt.ams3.digitaloceanspaces.com"}
    )
    c.call("GET", "/v2/cdn/endpoints", "endpoints")
    c.call("DELETE", "/v2/cdn/endpoints/{cdn_id}", None, cdn_id=cdn["id"])

    db = c.call(
        "POST",
        "/v2/databases",
        "database",
        {
            "name": "d",
            "engine": "mysql",
            "region": "nyc3",
            "size": "db-s-1vcpu-1gb",
            "num_nodes": 1,
        },
    )
    c.call("GET", "/v2/databases", "databases")
    c.call(
        "GET",
        "/v2/databases/{database_cluster_uuid}/users",
        "users",
        database_cluster_uuid=db["id"],
    )
    http.post("/__apitwin__/clock", json={"advance": 600})
    c.call(
        "PUT",
        "/v2/databases/{database_cluster_uuid}/resize",
        None,
        {"size": "db-s-1vcpu-2gb", "num_nodes": 1},
        database_cluster_uuid=db["id"],
    )
    c.call("DELETE", "/v2/databases/{database_cluster_uuid}", None, database_cluster_uuid=db["id"])
    app = c.call("POST", "/v2/apps", "app", {"spec": {"name": "app-a", "region": "nyc"}})
    c.call("GET", "/v2/apps/{app_id}/deployments", "deployments", app_id=app["id"])
    c.call("GET", "/v2/apps", "apps")
    check = c.call(
        "POST",
        "/v2/uptime/checks",
        "check",
        {
            "name": "u",
            "method": "GET",
            "type": "ping",
            "target": "https://example.org",
            "regions": ["us_east"],
            "enabled": True,
        },
    )
    c.call("GET", "/v2/uptime/checks", "checks")
    c.call("DELETE", "/v2/uptime/checks/{check_id}", None, check_id=check["id"])
    c.call("GET", "/v2/monitoring/alerts", "policies")
    c.call("GET", "/v2/registry", "registry")
    c.call("GET", "/v2/customers/my/invoices", "invoices")
    c.call("GET", "/v2/customers/my/billing_history", "billing_history")
    c.call("GET", "/v2/account", "account")
    c.call("DELETE", "/v2/droplets/{droplet_id}", None, droplet_id=droplet["id"])
    assert len(c.seen) >= 65  # operations checked


def test_links_pages_only_when_there_is_more_than_one(http: httpx.Client) -> None:
    for n in range(25):
        http.post("/v2/tags", json={"name": f"page-{n:02d}"}).raise_for_status()
    first = http.get("/v2/tags", params={"per_page": 20}).json()
    total = first["meta"]["total"]
    assert total >= 25 and len(first["tags"]) == 20
    assert set(first["links"]["pages"]) == {"next", "last"}
    last_page = -(-total // 20)
    last = http.get("/v2/tags", params={"per_page": 20, "page": last_page}).json()
    assert set(last["links"]["pages"]) == {"first", "prev"}
    everything = http.get("/v2/tags", params={"per_page": 200}).json()
    assert everything["links"] == {} and len(everything["tags"]) == total


def test_refusals_carry_rate_limit_headers_and_the_error_shape(http: httpx.Client) -> None:
    for response in (
        http.get("/v2/droplets/999999"),
        http.post(
            "/v2/droplets", json={"name": "x", "region": "nyc3", "size": "no", "image": "no"}
        ),
        httpx.get(f"{http.base_url}/v2/droplets"),  # no token
    ):
        assert response.status_code in (401, 404, 422)
        assert set(response.json()) >= {"id", "message"}
        for header in RATELIMIT:
            assert header in response.headers
