"""What the clients rely on without showing it: nulls read as absent, refusals that
change nothing, paging in DigitalOcean's style, the account's seed data agreeing with
the reference data."""

from __future__ import annotations

import httpx

from tests.conftest import start_twin, stop_twin
from tests.twins.digitalocean.conftest import TOKEN, Account

BODY = {"name": "n", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-22-04-x64"}


def test_null_members_are_read_as_not_sent(account: Account) -> None:
    response = account.http.post(
        "/v2/droplets", json={**BODY, "vpc_uuid": None, "volumes": None, "tags": None}
    )
    assert response.status_code == 202, response.text
    droplet = response.json()["droplet"]
    assert droplet["tags"] == [] and droplet["vpc_uuid"]


def test_a_refused_create_changes_nothing(account: Account) -> None:
    response = account.http.post("/v2/droplets", json={**BODY, "image": "no-such-image"})
    assert response.status_code == 422
    assert response.json()["id"] == "unprocessable_entity"
    state = account.http.get("/__apitwin__/state").json()
    assert not state.get("droplets") and not state.get("actions")


def test_droplets_page_with_links(account: Account) -> None:
    account.http.post(
        "/v2/droplets",
        json={
            **{k: v for k, v in BODY.items() if k != "name"},
            "names": [f"p-{i}" for i in range(5)],
        },
    )
    page = account.http.get("/v2/droplets", params={"per_page": 2, "page": 2}).json()
    assert [d["name"] for d in page["droplets"]] == ["p-2", "p-3"]
    assert page["meta"]["total"] == 5
    assert set(page["links"]["pages"]) == {"first", "prev", "next", "last"}


def test_seeded_account_agrees_with_the_reference_data() -> None:
    twin = start_twin("digitalocean")
    try:
        with httpx.Client(
            base_url=twin.base_url, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as http:
            every = http.get("/v2/droplets").json()["droplets"]
            regions = {r["slug"]: r for r in http.get("/v2/regions").json()["regions"]}
            sizes = {s["slug"] for s in http.get("/v2/sizes").json()["sizes"]}
            for droplet in every:
                assert droplet["size_slug"] in regions[droplet["region"]["slug"]]["sizes"]
                assert droplet["size_slug"] in sizes
            droplets = [d for d in every if "web" in d["tags"]]
            assert [d["status"] for d in droplets] == ["active", "active"]
            # The seeded cluster's two nodes are droplets too, booting with the cluster.
            (cluster,) = http.get("/v2/kubernetes/clusters").json()["kubernetes_clusters"]
            nodes = {n["droplet_id"] for n in cluster["node_pools"][0]["nodes"]}
            workers = [d for d in every if f"k8s:{cluster['id']}" in d["tags"]]
            assert {str(d["id"]) for d in workers} == nodes and len(nodes) == 2
            assert len(every) == 4
            volumes = http.get("/v2/volumes").json()["volumes"]
            assert volumes[0]["droplet_ids"] == [droplets[0]["id"]]
            tag = http.get("/v2/tags/web").json()["tag"]
            assert tag["resources"]["droplets"]["count"] == 2
            urns = {
                r["urn"] for r in http.get("/v2/projects/default/resources").json()["resources"]
            }
            assert {f"do:droplet:{d['id']}" for d in droplets} <= urns
    finally:
        stop_twin(twin)
