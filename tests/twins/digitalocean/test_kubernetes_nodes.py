"""Kubernetes nodes are droplets of the account, as in the service: listed and found by
tag in /v2/droplets, booting on the twin clock with their cluster, following resizes and
deletes of their node, pool and cluster."""

from __future__ import annotations

from typing import Any

import pydo
from azure.core.pipeline.policies import HeadersPolicy

from tests.twins.digitalocean.conftest import TOKEN, Account

CLUSTER = {
    "name": "prod",
    "region": "fra1",
    "version": "latest",
    "node_pools": [{"name": "workers", "size": "s-2vcpu-4gb", "count": 2, "tags": ["team-a"]}],
}


def _cluster(account: Account) -> dict[str, Any]:
    response = account.http.post("/v2/kubernetes/clusters", json=CLUSTER)
    assert response.status_code == 201, response.text
    cluster: dict[str, Any] = response.json()["kubernetes_cluster"]
    return cluster


def _get(account: Account, cluster_id: str) -> dict[str, Any]:
    response = account.http.get(f"/v2/kubernetes/clusters/{cluster_id}")
    assert response.status_code == 200, response.text
    cluster: dict[str, Any] = response.json()["kubernetes_cluster"]
    return cluster


def _droplets(account: Account, **params: Any) -> list[dict[str, Any]]:
    response = account.http.get("/v2/droplets", params={"per_page": 200, **params})
    assert response.status_code == 200, response.text
    droplets: list[dict[str, Any]] = response.json()["droplets"]
    return droplets


def _ids(droplets: list[dict[str, Any]]) -> set[str]:
    return {str(d["id"]) for d in droplets}


def _node_ids(pool: dict[str, Any]) -> set[str]:
    return {n["droplet_id"] for n in pool["nodes"]}


def _resize(account: Account, cluster_id: str, pool_id: str, count: int) -> dict[str, Any]:
    response = account.http.put(
        f"/v2/kubernetes/clusters/{cluster_id}/node_pools/{pool_id}",
        json={"name": "workers", "count": count},
    )
    assert response.status_code == 202, response.text
    pool: dict[str, Any] = response.json()["node_pool"]
    return pool


def test_a_clusters_nodes_are_droplets_that_boot_with_it(account: Account) -> None:
    cluster = _cluster(account)
    (pool,) = cluster["node_pools"]
    droplets = _droplets(account)
    assert _ids(droplets) == _node_ids(pool) and len(droplets) == 2
    names = {n["droplet_id"]: n["name"] for n in pool["nodes"]}
    for droplet in droplets:
        assert droplet["name"] == names[str(droplet["id"])]
        assert {"k8s", f"k8s:{cluster['id']}", "k8s:worker", "team-a"} == set(droplet["tags"])
        assert droplet["size_slug"] == "s-2vcpu-4gb" and droplet["region"]["slug"] == "fra1"
        assert droplet["vpc_uuid"] == cluster["vpc_uuid"]
        assert droplet["status"] == "new"
    assert _ids(_droplets(account, tag_name=f"k8s:{cluster['id']}")) == _node_ids(pool)
    assert _ids(_droplets(account, tag_name="k8s:worker")) == _node_ids(pool)
    tag = account.http.get(f"/v2/tags/k8s:{cluster['id']}").json()["tag"]
    assert tag["resources"]["droplets"]["count"] == 2
    assert {n["status"]["state"] for n in pool["nodes"]} == {"provisioning"}

    account.advance(299)
    assert {d["status"] for d in _droplets(account)} == {"new"}
    account.advance(1)
    assert {d["status"] for d in _droplets(account)} == {"active"}
    running = _get(account, cluster["id"])
    assert running["status"]["state"] == "running"
    assert {n["status"]["state"] for n in running["node_pools"][0]["nodes"]} == {"running"}
    for ident in _node_ids(pool):
        (action,) = account.http.get(f"/v2/droplets/{ident}/actions").json()["actions"]
        assert action["type"] == "create" and action["status"] == "completed"


def test_the_droplet_list_follows_pool_resizes(account: Account) -> None:
    cluster = _cluster(account)
    pool_id = cluster["node_pools"][0]["id"]
    account.advance(300)
    assert len(_droplets(account)) == 2  # an answer the twin may keep until a write

    grown = _resize(account, cluster["id"], pool_id, 3)
    assert len(grown["nodes"]) == 3
    droplets = _droplets(account)
    assert _ids(droplets) == _node_ids(grown)
    (added,) = [n for n in grown["nodes"] if n["status"]["state"] == "provisioning"]
    assert {d["status"] for d in droplets if str(d["id"]) == added["droplet_id"]} == {"new"}
    account.advance(30)  # a node added to a running cluster boots like any droplet
    pool = _get(account, cluster["id"])["node_pools"][0]
    assert {n["status"]["state"] for n in pool["nodes"]} == {"running"}
    assert {d["status"] for d in _droplets(account)} == {"active"}

    shrunk = _resize(account, cluster["id"], pool_id, 1)
    assert len(shrunk["nodes"]) == 1 and shrunk["count"] == 1
    assert _ids(_droplets(account)) == _node_ids(shrunk)
    for gone in _node_ids(grown) - _node_ids(shrunk):
        assert account.http.get(f"/v2/droplets/{gone}").status_code == 404


def test_deleting_a_node_deletes_its_droplet(account: Account) -> None:
    cluster = _cluster(account)
    pool = cluster["node_pools"][0]
    first, second = pool["nodes"]
    base = f"/v2/kubernetes/clusters/{cluster['id']}/node_pools/{pool['id']}/nodes"
    assert account.http.delete(f"{base}/{first['id']}").status_code == 202
    assert account.http.get(f"/v2/droplets/{first['droplet_id']}").status_code == 404
    assert _ids(_droplets(account)) == {second["droplet_id"]}
    after = _get(account, cluster["id"])["node_pools"][0]
    assert after["count"] == 1 and [n["id"] for n in after["nodes"]] == [second["id"]]
    assert account.http.delete(f"{base}/{first['id']}").status_code == 404

    # replace=1: a new node with a new droplet takes the deleted one's place
    assert account.http.delete(f"{base}/{second['id']}?replace=1").status_code == 202
    replaced = _get(account, cluster["id"])["node_pools"][0]
    (node,) = replaced["nodes"]
    assert replaced["count"] == 1 and node["id"] != second["id"]
    assert _ids(_droplets(account)) == {node["droplet_id"]} != {second["droplet_id"]}


def test_deleting_a_pool_or_the_cluster_deletes_their_droplets(account: Account) -> None:
    cluster = _cluster(account)
    other = account.http.post(
        "/v2/droplets",
        json={"name": "db", "region": "fra1", "size": "s-1vcpu-1gb", "image": "debian-12-x64"},
    ).json()["droplet"]
    added = account.http.post(
        f"/v2/kubernetes/clusters/{cluster['id']}/node_pools",
        json={"name": "extra", "size": "s-1vcpu-2gb", "count": 2},
    ).json()["node_pool"]
    workers = _node_ids(cluster["node_pools"][0])
    assert _ids(_droplets(account)) == workers | _node_ids(added) | {str(other["id"])}

    pool_path = f"/v2/kubernetes/clusters/{cluster['id']}/node_pools/{added['id']}"
    assert account.http.delete(pool_path).status_code == 204
    assert _ids(_droplets(account)) == workers | {str(other["id"])}

    assert account.http.delete(f"/v2/kubernetes/clusters/{cluster['id']}").status_code == 204
    assert _ids(_droplets(account)) == {str(other["id"])}
    assert _droplets(account, tag_name=f"k8s:{cluster['id']}") == []
    # their create actions, due later, end errored: the droplets went first
    account.advance(300)
    every = account.http.get("/v2/actions", params={"per_page": 200}).json()["actions"]
    ended = {str(a["resource_id"]): a["status"] for a in every}
    assert {ended[i] for i in workers | _node_ids(added)} == {"errored"}
    assert ended[str(other["id"])] == "completed"


def test_deleting_a_nodes_droplet_replaces_the_node(account: Account) -> None:
    cluster = _cluster(account)
    account.advance(300)
    pool = cluster["node_pools"][0]
    doomed, kept = pool["nodes"]
    response = account.http.delete(f"/v2/droplets/{doomed['droplet_id']}")
    assert response.status_code == 204
    assert account.http.get(f"/v2/droplets/{doomed['droplet_id']}").status_code == 404
    after = _get(account, cluster["id"])["node_pools"][0]
    assert after["count"] == 2 and after["nodes"][1] == {
        **kept,
        "status": {"state": "running"},
        "updated_at": after["nodes"][1]["updated_at"],
    }
    new = after["nodes"][0]
    assert new["id"] != doomed["id"] and new["status"]["state"] == "provisioning"
    droplets = _droplets(account, tag_name=f"k8s:{cluster['id']}")
    assert _ids(droplets) == _node_ids(after)
    account.advance(30)
    assert _get(account, cluster["id"])["node_pools"][0]["nodes"][0]["status"] == {
        "state": "running"
    }

    # deleting every node's droplet by tag replaces each of them once
    tagged = f"/v2/droplets?tag_name=k8s:{cluster['id']}"
    assert account.http.delete(tagged).status_code == 204
    renewed = _get(account, cluster["id"])["node_pools"][0]
    assert len(renewed["nodes"]) == 2 and not _node_ids(renewed) & _node_ids(after)
    assert _ids(_droplets(account)) == _node_ids(renewed)


def test_nodes_are_billed_and_held_with_their_cluster(account: Account) -> None:
    cluster = _cluster(account)
    account.advance(3600)
    preview = account.http.get("/v2/customers/my/invoices").json()["invoice_preview"]
    items = account.http.get(f"/v2/customers/my/invoices/{preview['invoice_uuid']}").json()
    assert [i["product"] for i in items["invoice_items"]] == ["Kubernetes"]
    resources = account.http.get("/v2/projects/default/resources").json()["resources"]
    assert [r["urn"] for r in resources] == [f"do:kubernetes:{cluster['id']}"]


def test_pydo_sees_the_nodes_as_droplets(account: Account) -> None:
    bearer = HeadersPolicy({"Authorization": f"Bearer {TOKEN}"})
    do = pydo.Client(token=TOKEN, endpoint=account.url, authentication_policy=bearer)
    cluster = do.kubernetes.create_cluster(body=CLUSTER)["kubernetes_cluster"]
    pool = cluster["node_pools"][0]
    tag = f"k8s:{cluster['id']}"
    assert _ids(do.droplets.list(tag_name=tag)["droplets"]) == _node_ids(pool)
    grown = do.kubernetes.update_node_pool(
        cluster["id"], pool["id"], body={"name": "workers", "count": 3}
    )["node_pool"]
    assert _ids(do.droplets.list(tag_name=tag)["droplets"]) == _node_ids(grown)
    node = grown["nodes"][0]
    do.kubernetes.delete_node(cluster["id"], pool["id"], node["id"], skip_drain=1)
    left = _ids(do.droplets.list(tag_name=tag)["droplets"])
    assert len(left) == 2 and node["droplet_id"] not in left
    do.kubernetes.destroy_associated_resources_dangerous(cluster["id"])
    assert do.droplets.list()["droplets"] == []
    assert do.kubernetes.list_clusters()["kubernetes_clusters"] == []


def test_a_cluster_in_another_regions_vpc_is_refused(account: Account) -> None:
    vpc = account.http.post("/v2/vpcs", json={"name": "elsewhere", "region": "nyc1"})
    assert vpc.status_code == 201, vpc.text
    response = account.http.post(
        "/v2/kubernetes/clusters", json={**CLUSTER, "vpc_uuid": vpc.json()["vpc"]["id"]}
    )
    assert response.status_code == 422
    assert response.json()["message"] == "validation error: invalid VPC"
    assert _droplets(account) == []
    assert account.http.get("/v2/kubernetes/clusters").json()["kubernetes_clusters"] == []


def test_nodes_past_the_droplet_limit_are_refused_and_nothing_is_made(account: Account) -> None:
    """A cluster's nodes count against the account's droplet limit (25): a create or a
    resize past it is a 422 at once, however large the count, and makes no droplet."""
    huge = {**CLUSTER, "node_pools": [{**CLUSTER["node_pools"][0], "count": 10**9}]}
    refused = account.http.post("/v2/kubernetes/clusters", json=huge)
    assert refused.status_code == 422, refused.text
    assert refused.json()["id"] == "unprocessable_entity"
    assert "droplet limit" in refused.json()["message"]
    assert _droplets(account) == []
    assert account.http.get("/v2/kubernetes/clusters").json()["kubernetes_clusters"] == []

    cluster = _cluster(account)
    pool_id = cluster["node_pools"][0]["id"]
    grown = account.http.put(
        f"/v2/kubernetes/clusters/{cluster['id']}/node_pools/{pool_id}",
        json={"name": "workers", "count": 26},
    )
    assert grown.status_code == 422, grown.text
    added = account.http.post(
        f"/v2/kubernetes/clusters/{cluster['id']}/node_pools",
        json={"name": "more", "size": "s-2vcpu-4gb", "count": 24},
    )
    assert added.status_code == 422, added.text
    assert len(_droplets(account)) == 2
    assert _resize(account, cluster["id"], pool_id, 25)["count"] == 25


def test_a_pool_tag_no_tag_may_have_is_refused(account: Account) -> None:
    bad = {**CLUSTER, "node_pools": [{**CLUSTER["node_pools"][0], "tags": ["no spaces"]}]}
    refused = account.http.post("/v2/kubernetes/clusters", json=bad)
    assert refused.status_code == 422, refused.text
    assert "invalid tag name" in refused.json()["message"]
    names = {tag["name"] for tag in account.http.get("/v2/tags").json()["tags"]}
    assert "no spaces" not in names
    assert _droplets(account) == []
