"""pydo, DigitalOcean's official client, against the twin: only its endpoint changes."""

from __future__ import annotations

from typing import Any

import pydo
import pytest
import yaml
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.policies import HeadersPolicy
from azure.core.rest import HttpRequest

from tests.twins.digitalocean.conftest import TOKEN, Account

ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZ4c2VjcmV0a2V5Zm9ydGVzdGluZ3B1cnBvc2VzMTIz me@host"


@pytest.fixture
def do(account: Account) -> pydo.Client:
    """pydo's bearer policy refuses plain http; the twin listens on http, so the token
    goes in a plain header policy instead (docs/twins/digitalocean.md)."""
    bearer = HeadersPolicy({"Authorization": f"Bearer {TOKEN}"})
    return pydo.Client(token=TOKEN, endpoint=account.url, authentication_policy=bearer)


def _droplet(do: pydo.Client, name: str = "web-1", **extra: Any) -> dict[str, Any]:
    body = {"name": name, "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-22-04-x64"}
    return do.droplets.create(body={**body, **extra})["droplet"]


def _running(do: pydo.Client, account: Account, name: str = "web-1", **extra: Any) -> int:
    droplet = _droplet(do, name, **extra)
    account.advance(60)
    return int(droplet["id"])


def test_reference_data_is_consistent(do: pydo.Client) -> None:
    regions = do.regions.list(per_page=200)["regions"]
    sizes = do.sizes.list(per_page=200)["sizes"]
    images = do.images.list(type="distribution", per_page=200)["images"]
    by_slug = {r["slug"]: r for r in regions}
    assert {"nyc3", "ams3", "fra1"} <= set(by_slug)
    assert "ubuntu-22-04-x64" in {i["slug"] for i in images}
    for size in sizes:
        for slug in size["regions"]:
            assert size["slug"] in by_slug[slug]["sizes"]
    for image in images:
        assert set(image["regions"]) <= {r["slug"] for r in regions if r["available"]}


def test_droplet_is_new_then_active_on_the_twin_clock(do: pydo.Client, account: Account) -> None:
    created = do.droplets.create(
        body={
            "name": "web-1",
            "region": "nyc3",
            "size": "s-1vcpu-1gb",
            "image": "ubuntu-22-04-x64",
            "ipv6": True,
            "tags": ["web"],
        }
    )
    droplet = created["droplet"]
    assert droplet["status"] == "new"
    assert droplet["region"]["slug"] == "nyc3"
    assert droplet["size"]["memory"] == 1024 and droplet["size_slug"] == "s-1vcpu-1gb"
    assert droplet["image"]["slug"] == "ubuntu-22-04-x64"
    public = [n for n in droplet["networks"]["v4"] if n["type"] == "public"]
    private = [n for n in droplet["networks"]["v4"] if n["type"] == "private"]
    assert public and private and droplet["networks"]["v6"]
    assert private[0]["ip_address"].startswith("10.")
    action_id = created["links"]["actions"][0]["id"]
    assert do.actions.get(action_id)["action"]["status"] == "in-progress"
    regions = {r["slug"] for r in do.regions.list()["regions"]}
    assert droplet["region"]["slug"] in regions

    account.advance(60)
    assert do.droplets.get(droplet["id"])["droplet"]["status"] == "active"
    action = do.actions.get(action_id)["action"]
    assert action["status"] == "completed" and action["type"] == "create"
    vpc = do.vpcs.get(droplet["vpc_uuid"])["vpc"]
    assert vpc["default"] is True and vpc["region"] == "nyc3"


def test_many_names_create_many_droplets(do: pydo.Client) -> None:
    created = do.droplets.create(
        body={
            "names": ["a-1", "a-2", "a-3"],
            "region": "ams3",
            "size": "s-1vcpu-1gb",
            "image": "debian-12-x64",
        }
    )
    assert [d["name"] for d in created["droplets"]] == ["a-1", "a-2", "a-3"]
    assert len({d["id"] for d in created["droplets"]}) == 3
    listed = do.droplets.list()
    assert listed["meta"]["total"] == 3


def test_create_refuses_what_does_not_exist(do: pydo.Client) -> None:
    body = {"name": "x", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-22-04-x64"}
    for change in ({"size": "huge"}, {"region": "mars1"}, {"image": "windows-95"}):
        with pytest.raises(HttpResponseError) as refused:
            do.droplets.create(body={**body, **change})
        assert refused.value.status_code == 422
    assert do.droplets.list()["droplets"] == []


def test_droplet_lifecycle_with_actions(do: pydo.Client, account: Account) -> None:
    droplet_id = _running(do, account, tags=["web"])

    off = do.droplet_actions.post(droplet_id, body={"type": "power_off"})["action"]
    assert off["status"] == "in-progress" and off["resource_id"] == droplet_id
    with pytest.raises(HttpResponseError) as busy:
        do.droplet_actions.post(droplet_id, body={"type": "power_on"})
    assert busy.value.status_code == 422
    assert "pending event" in busy.value.response.json()["message"]
    account.advance(15)
    assert do.droplets.get(droplet_id)["droplet"]["status"] == "off"
    assert do.droplet_actions.get(droplet_id, off["id"])["action"]["status"] == "completed"

    with pytest.raises(HttpResponseError) as again:
        do.droplet_actions.post(droplet_id, body={"type": "power_off"})
    assert again.value.status_code == 422

    do.droplet_actions.post(
        droplet_id, body={"type": "resize", "size": "s-2vcpu-4gb", "disk": True}
    )
    account.advance(15)
    resized = do.droplets.get(droplet_id)["droplet"]
    assert resized["size_slug"] == "s-2vcpu-4gb" and resized["memory"] == 4096
    assert resized["disk"] == 80

    do.droplet_actions.post(droplet_id, body={"type": "snapshot", "name": "before-upgrade"})
    account.advance(120)
    snapshots = do.droplets.list_snapshots(droplet_id)["snapshots"]
    assert [s["name"] for s in snapshots] == ["before-upgrade"]
    image = do.images.get(snapshots[0]["id"])["image"]
    assert image["type"] == "snapshot" and image["public"] is False
    listed = do.snapshots.list(resource_type="droplet")["snapshots"]
    assert listed[0]["resource_id"] == str(droplet_id)

    do.droplet_actions.post(droplet_id, body={"type": "rename", "name": "web-renamed"})
    do.droplet_actions.post  # noqa: B018 - the next action waits for this one
    account.advance(15)
    assert do.droplets.get(droplet_id)["droplet"]["name"] == "web-renamed"

    types = [a["type"] for a in do.droplet_actions.list(droplet_id)["actions"]]
    assert types == ["create", "power_off", "resize", "snapshot", "rename"]
    assert {a["id"] for a in do.actions.list(per_page=200)["actions"]} >= {off["id"]}


def test_resize_of_a_running_droplet_is_refused(do: pydo.Client, account: Account) -> None:
    droplet_id = _running(do, account)
    with pytest.raises(HttpResponseError) as refused:
        do.droplet_actions.post(droplet_id, body={"type": "resize", "size": "s-2vcpu-4gb"})
    assert refused.value.status_code == 422
    assert refused.value.response.json()["id"] == "unprocessable_entity"


def test_tags_count_and_delete_by_tag(do: pydo.Client, account: Account) -> None:
    do.tags.create(body={"name": "frontend"})
    first = _running(do, account, "fe-1")
    second = _running(do, account, "fe-2")
    keep = _running(do, account, "db-1")
    do.tags.assign_resources(
        "frontend",
        body={
            "resources": [
                {"resource_id": str(first), "resource_type": "droplet"},
                {"resource_id": str(second), "resource_type": "droplet"},
            ]
        },
    )
    tag = do.tags.get("frontend")["tag"]
    assert tag["resources"]["count"] == 2
    assert tag["resources"]["droplets"]["count"] == 2
    tagged = do.droplets.list(tag_name="frontend")["droplets"]
    assert sorted(d["id"] for d in tagged) == sorted([first, second])

    do.droplet_actions.post_by_tag(tag_name="frontend", body={"type": "power_off"})
    account.advance(15)
    assert {do.droplets.get(i)["droplet"]["status"] for i in (first, second)} == {"off"}

    do.droplets.destroy_by_tag(tag_name="frontend")
    assert [d["id"] for d in do.droplets.list()["droplets"]] == [keep]
    assert do.tags.get("frontend")["tag"]["resources"]["count"] == 0
    gone = do.droplets.get(first)
    assert gone["id"] == "not_found"


def test_missing_resources_are_404(do: pydo.Client) -> None:
    """pydo returns the error body of a 404 its document declares (every one here)
    rather than raising ResourceNotFoundError."""
    assert do.droplets.get(123)["id"] == "not_found"
    assert do.droplets.destroy(123)["id"] == "not_found"
    assert do.droplet_actions.post(123, body={"type": "reboot"})["id"] == "not_found"
    assert do.tags.get("nothing")["id"] == "not_found"
    assert do.ssh_keys.get("00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff")["id"] == "not_found"
    missing = do.volume_actions.post(
        body={"type": "detach", "volume_name": "none", "region": "nyc3", "droplet_id": 1}
    )
    assert missing["id"] == "not_found"


def test_ssh_keys_by_id_and_fingerprint(do: pydo.Client) -> None:
    key = do.ssh_keys.create(body={"name": "laptop", "public_key": ED25519})["ssh_key"]
    assert len(key["fingerprint"].split(":")) == 16
    assert do.ssh_keys.get(key["fingerprint"])["ssh_key"]["id"] == key["id"]
    do.ssh_keys.update(key["id"], body={"name": "desk"})
    assert do.ssh_keys.get(key["id"])["ssh_key"]["name"] == "desk"
    with pytest.raises(HttpResponseError) as invalid:
        do.ssh_keys.create(body={"name": "bad", "public_key": "not a key"})
    assert invalid.value.status_code == 422
    droplet = _droplet(do, ssh_keys=[key["fingerprint"]])
    assert droplet["status"] == "new"
    do.ssh_keys.delete(key["fingerprint"])
    assert do.ssh_keys.list()["ssh_keys"] == []


def test_volume_attach_and_detach(do: pydo.Client, account: Account) -> None:
    droplet_id = _running(do, account)
    volume = do.volumes.create(body={"name": "data", "size_gigabytes": 10, "region": "nyc3"})[
        "volume"
    ]
    attach = do.volume_actions.post_by_id(
        volume["id"], body={"type": "attach", "droplet_id": droplet_id, "region": "nyc3"}
    )["action"]
    assert attach["status"] == "in-progress"
    account.advance(15)
    assert do.volumes.get(volume["id"])["volume"]["droplet_ids"] == [droplet_id]
    assert do.droplets.get(droplet_id)["droplet"]["volume_ids"] == [volume["id"]]

    with pytest.raises(HttpResponseError) as twice:
        do.volume_actions.post_by_id(
            volume["id"], body={"type": "attach", "droplet_id": droplet_id, "region": "nyc3"}
        )
    assert twice.value.status_code == 422

    do.volume_actions.post(
        body={"type": "detach", "volume_name": "data", "region": "nyc3", "droplet_id": droplet_id}
    )
    account.advance(15)
    assert do.volumes.get(volume["id"])["volume"]["droplet_ids"] == []
    assert do.droplets.get(droplet_id)["droplet"]["volume_ids"] == []
    kinds = [a["type"] for a in do.volume_actions.list(volume["id"])["actions"]]
    assert kinds == ["attach", "detach"]
    do.volumes.delete(volume["id"])
    assert do.volumes.list()["volumes"] == []


def test_domains_and_records(do: pydo.Client) -> None:
    do.domains.create(body={"name": "example.com", "ip_address": "192.0.2.10"})
    records = do.domains.list_records("example.com")["domain_records"]
    assert [r["type"] for r in records].count("NS") == 3
    assert {r["type"] for r in records} == {"SOA", "NS", "A"}
    www = do.domains.create_record(
        "example.com", body={"type": "A", "name": "www", "data": "192.0.2.11", "ttl": 600}
    )["domain_record"]
    assert do.domains.get_record("example.com", www["id"])["domain_record"]["data"] == "192.0.2.11"
    do.domains.update_record("example.com", www["id"], body={"type": "A", "data": "192.0.2.12"})
    assert do.domains.get_record("example.com", www["id"])["domain_record"]["data"] == "192.0.2.12"
    assert "www IN 600 A 192.0.2.12" in do.domains.get("example.com")["domain"]["zone_file"]
    with pytest.raises(HttpResponseError) as bad:
        do.domains.create_record("example.com", body={"type": "A", "name": "x", "data": "nope"})
    assert bad.value.status_code == 422
    do.domains.delete("example.com")
    assert do.domains.get("example.com")["id"] == "not_found"


def test_reserved_ip_assigned_to_a_droplet(do: pydo.Client, account: Account) -> None:
    droplet_id = _running(do, account)
    ip = do.reserved_ips.create(body={"region": "nyc3"})["reserved_ip"]
    assert ip["droplet"] is None
    do.reserved_ips_actions.post(ip["ip"], body={"type": "assign", "droplet_id": droplet_id})
    account.advance(15)
    assert do.reserved_ips.get(ip["ip"])["reserved_ip"]["droplet"]["id"] == droplet_id
    do.droplets.destroy(droplet_id)
    assert do.reserved_ips.get(ip["ip"])["reserved_ip"]["droplet"] is None


def test_firewalls_follow_droplets_and_tags(do: pydo.Client, account: Account) -> None:
    droplet_id = _running(do, account, tags=["web"])
    firewall = do.firewalls.create(
        body={
            "name": "web-fw",
            "inbound_rules": [
                {"protocol": "tcp", "ports": "22", "sources": {"addresses": ["0.0.0.0/0"]}}
            ],
            "outbound_rules": [
                {"protocol": "tcp", "ports": "all", "destinations": {"addresses": ["0.0.0.0/0"]}}
            ],
        }
    )["firewall"]
    do.firewalls.add_tags(firewall["id"], body={"tags": ["web"]})
    assert [f["id"] for f in do.droplets.list_firewalls(droplet_id)["firewalls"]] == [
        firewall["id"]
    ]
    do.firewalls.assign_droplets(firewall["id"], body={"droplet_ids": [droplet_id]})
    do.firewalls.add_rules(
        firewall["id"],
        body={
            "inbound_rules": [
                {"protocol": "tcp", "ports": "443", "sources": {"addresses": ["0.0.0.0/0"]}}
            ]
        },
    )
    got = do.firewalls.get(firewall["id"])["firewall"]
    assert got["droplet_ids"] == [droplet_id] and got["tags"] == ["web"]
    assert [r["ports"] for r in got["inbound_rules"]] == ["22", "443"]
    with pytest.raises(HttpResponseError) as unknown:
        do.firewalls.assign_droplets(firewall["id"], body={"droplet_ids": [99]})
    assert unknown.value.status_code == 422


def test_load_balancer_provisions_and_balances(do: pydo.Client, account: Account) -> None:
    first = _running(do, account, "lb-1")
    second = _running(do, account, "lb-2")
    lb = do.load_balancers.create(
        body={
            "name": "front",
            "region": "nyc3",
            "forwarding_rules": [
                {
                    "entry_protocol": "http",
                    "entry_port": 80,
                    "target_protocol": "http",
                    "target_port": 8080,
                }
            ],
            "droplet_ids": [first],
        }
    )["load_balancer"]
    assert lb["status"] == "new" and lb["ip"]
    account.advance(120)
    do.load_balancers.add_droplets(lb["id"], body={"droplet_ids": [second]})
    got = do.load_balancers.get(lb["id"])["load_balancer"]
    assert got["status"] == "active"
    assert got["droplet_ids"] == [first, second]
    do.droplets.destroy(first)
    assert do.load_balancers.get(lb["id"])["load_balancer"]["droplet_ids"] == [second]


def test_vpcs_and_members(do: pydo.Client, account: Account) -> None:
    vpc = do.vpcs.create(
        body={"name": "private-net", "region": "nyc3", "ip_range": "10.20.0.0/20"}
    )["vpc"]
    droplet_id = _running(do, account, vpc_uuid=vpc["id"])
    members = do.vpcs.list_members(vpc["id"])["members"]
    assert [m["urn"] for m in members] == [f"do:droplet:{droplet_id}"]
    with pytest.raises(HttpResponseError) as in_use:
        do.vpcs.delete(vpc["id"])
    assert in_use.value.status_code == 403
    do.vpcs.patch(vpc["id"], body={"description": "for the databases"})
    assert do.vpcs.get(vpc["id"])["vpc"]["description"] == "for the databases"
    do.droplets.destroy(droplet_id)
    do.vpcs.delete(vpc["id"])
    assert do.vpcs.get(vpc["id"])["id"] == "not_found"


def test_projects_hold_new_resources(do: pydo.Client, account: Account) -> None:
    droplet_id = _running(do, account)
    default = do.projects.get_default()["project"]
    assert default["is_default"] is True
    urns = [r["urn"] for r in do.projects.list_resources_default()["resources"]]
    assert urns == [f"do:droplet:{droplet_id}"]
    project = do.projects.create(
        body={"name": "shop", "purpose": "Web Application", "environment": "Production"}
    )["project"]
    assigned = do.projects.assign_resources(
        project["id"], body={"resources": [f"do:droplet:{droplet_id}"]}
    )["resources"]
    assert assigned[0]["status"] == "assigned"
    assert do.projects.list_resources_default()["resources"] == []
    refused = do.projects.delete(project["id"])
    assert refused["id"] == "precondition_failed"
    do.droplets.destroy(droplet_id)
    do.projects.delete(project["id"])
    assert [p["name"] for p in do.projects.list()["projects"]] == [default["name"]]


def test_kubernetes_cluster_and_kubeconfig(do: pydo.Client, account: Account) -> None:
    cluster = do.kubernetes.create_cluster(
        body={
            "name": "prod",
            "region": "nyc3",
            "version": "latest",
            "node_pools": [{"name": "workers", "size": "s-2vcpu-4gb", "count": 2}],
        }
    )["kubernetes_cluster"]
    assert cluster["status"]["state"] == "provisioning"
    assert len(cluster["node_pools"][0]["nodes"]) == 2
    account.advance(600)
    running = do.kubernetes.get_cluster(cluster["id"])["kubernetes_cluster"]
    assert running["status"]["state"] == "running" and running["endpoint"].startswith("https://")
    # pydo's get_kubeconfig cannot decode an application/yaml body (azure-core only
    # decodes JSON, XML and text/*), so the download goes through its raw request API, streamed.
    download = do.send_request(
        HttpRequest("GET", f"/v2/kubernetes/clusters/{cluster['id']}/kubeconfig"), stream=True
    )
    download.read()
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/yaml"
    config = yaml.safe_load(download.text())
    assert config["clusters"][0]["cluster"]["server"] == running["endpoint"]
    assert config["current-context"] == config["contexts"][0]["name"]
    pool = do.kubernetes.add_node_pool(
        cluster["id"], body={"name": "extra", "size": "s-1vcpu-2gb", "count": 1}
    )["node_pool"]
    names = [p["name"] for p in do.kubernetes.list_node_pools(cluster["id"])["node_pools"]]
    assert names == ["workers", "extra"]
    do.kubernetes.delete_node_pool(cluster["id"], pool["id"])
    with pytest.raises(HttpResponseError) as bad_version:
        do.kubernetes.create_cluster(
            body={
                "name": "old",
                "region": "nyc3",
                "version": "1.2.3",
                "node_pools": [{"name": "w", "size": "s-1vcpu-2gb", "count": 1}],
            }
        )
    assert bad_version.value.status_code == 422
    do.kubernetes.delete_cluster(cluster["id"])
    assert do.kubernetes.get_cluster(cluster["id"])["id"] == "not_found"
