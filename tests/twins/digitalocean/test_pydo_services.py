"""pydo through the families beyond compute: certificates and CDN endpoints, snapshots,
account and billing, databases, apps, monitoring, uptime checks and the registry."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pydo
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.pipeline.policies import HeadersPolicy
from azure.core.rest import HttpRequest

from tests.conftest import start_twin, stop_twin
from tests.twins.digitalocean.conftest import TOKEN, Account

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"
DROPLET = {"name": "web-1", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-22-04-x64"}


@pytest.fixture
def do(account: Account) -> pydo.Client:
    bearer = HeadersPolicy({"Authorization": f"Bearer {TOKEN}"})
    return pydo.Client(token=TOKEN, endpoint=account.url, authentication_policy=bearer)


def _refused(call: Any, status: int = 422) -> dict[str, Any]:
    with pytest.raises(HttpResponseError) as raised:
        call()
    assert raised.value.status_code == status
    body: dict[str, Any] = raised.value.response.json()
    return body


def test_lets_encrypt_certificate_for_a_managed_domain(do: pydo.Client, account: Account) -> None:
    body = _refused(
        lambda: do.certificates.create(
            body={"name": "le", "type": "lets_encrypt", "dns_names": ["www.example.com"]}
        )
    )
    assert body["id"] == "unprocessable_entity" and "DigitalOcean DNS" in body["message"]
    do.domains.create(body={"name": "example.com"})
    cert = do.certificates.create(
        body={"name": "le", "type": "lets_encrypt", "dns_names": ["www.example.com"]}
    )["certificate"]
    assert cert["state"] == "pending" and cert["type"] == "lets_encrypt"
    account.advance(60)
    got = do.certificates.get(cert["id"])["certificate"]
    assert got["state"] == "verified" and got["not_after"] > got["created_at"]
    assert [c["id"] for c in do.certificates.list()["certificates"]] == [cert["id"]]


def test_certificate_in_use_by_a_load_balancer_cannot_be_deleted(do: pydo.Client) -> None:
    cert = do.certificates.create(
        body={"name": "mine", "type": "custom", "leaf_certificate": PEM, "private_key": KEY}
    )["certificate"]
    assert cert["state"] == "verified" and len(cert["sha1_fingerprint"]) == 40
    rule = {
        "entry_protocol": "https",
        "entry_port": 443,
        "target_protocol": "http",
        "target_port": 80,
        "certificate_id": cert["id"],
    }
    lb = do.load_balancers.create(
        body={"name": "lb", "region": "nyc3", "tag": "web", "forwarding_rules": [rule]}
    )["load_balancer"]
    assert "in use" in _refused(lambda: do.certificates.delete(cert["id"]))["message"]
    do.load_balancers.delete(lb["id"])
    do.certificates.delete(cert["id"])
    assert do.certificates.get(cert["id"])["id"] == "not_found"
    bad = {**rule, "certificate_id": "0c5e4b1c-8f6b-4b0a-9a4e-1a2b3c4d5e6f"}
    _refused(
        lambda: do.load_balancers.create(
            body={"name": "lb2", "region": "nyc3", "tag": "web", "forwarding_rules": [bad]}
        )
    )


def test_cdn_endpoint_on_a_spaces_origin_with_a_custom_domain(
    do: pydo.Client, account: Account
) -> None:
    _refused(lambda: do.cdn.create_endpoint(body={"origin": "static.example.com"}))
    endpoint = do.cdn.create_endpoint(
        body={"origin": "assets.nyc3.digitaloceanspaces.com", "ttl": 600}
    )["endpoint"]
    assert endpoint["endpoint"] == "assets.nyc3.cdn.digitaloceanspaces.com"
    assert endpoint["ttl"] == 600 and endpoint["custom_domain"] == ""
    do.domains.create(body={"name": "example.com"})
    cert = do.certificates.create(
        body={"name": "cdn", "type": "lets_encrypt", "dns_names": ["cdn.example.com"]}
    )["certificate"]
    pending = {"custom_domain": "cdn.example.com", "certificate_id": cert["id"]}
    assert (
        "not verified"
        in _refused(lambda: do.cdn.update_endpoints(endpoint["id"], body=pending))["message"]
    )
    account.advance(60)
    _refused(
        lambda: do.cdn.update_endpoints(endpoint["id"], body={"custom_domain": "cdn.example.com"})
    )
    updated = do.cdn.update_endpoints(
        endpoint["id"], body={"custom_domain": "cdn.example.com", "certificate_id": cert["id"]}
    )["endpoint"]
    assert updated["custom_domain"] == "cdn.example.com"
    assert "in use" in _refused(lambda: do.certificates.delete(cert["id"]))["message"]
    do.cdn.purge_cache(endpoint["id"], body={"files": ["css/*"]})
    do.cdn.delete_endpoint(endpoint["id"])
    assert do.cdn.list_endpoints()["endpoints"] == []


def test_volume_snapshots_are_listed_with_droplet_snapshots(
    do: pydo.Client, account: Account
) -> None:
    droplet = do.droplets.create(body=DROPLET)["droplet"]
    account.advance(60)
    do.droplet_actions.post(droplet["id"], body={"type": "snapshot", "name": "d-snap"})
    volume = do.volumes.create(body={"name": "vol", "region": "nyc3", "size_gigabytes": 20})[
        "volume"
    ]
    snap = do.volume_snapshots.create(volume["id"], body={"name": "v-snap", "tags": ["keep"]})[
        "snapshot"
    ]
    assert snap["resource_type"] == "volume" and snap["min_disk_size"] == 20
    account.advance(120)
    every = {s["name"]: s for s in do.snapshots.list()["snapshots"]}
    assert set(every) == {"d-snap", "v-snap"}
    assert [s["name"] for s in do.snapshots.list(resource_type="volume")["snapshots"]] == ["v-snap"]
    assert do.volume_snapshots.list(volume["id"])["snapshots"][0]["id"] == snap["id"]
    assert do.tags.get("keep")["tag"]["resources"]["volume_snapshots"]["count"] == 1
    # a volume made from the snapshot: at least as large, in its region
    _refused(
        lambda: do.volumes.create(
            body={
                "name": "small",
                "region": "nyc3",
                "size_gigabytes": 10,
                "snapshot_id": snap["id"],
            }
        )
    )
    restored = do.volumes.create(
        body={"name": "restored", "region": "nyc3", "size_gigabytes": 20, "snapshot_id": snap["id"]}
    )["volume"]
    assert restored["region"]["slug"] == "nyc3"
    do.volume_snapshots.delete_by_id(snap["id"])
    assert do.volume_snapshots.get_by_id(snap["id"])["id"] == "not_found"


def test_account_balance_and_invoices(do: pydo.Client, account: Account) -> None:
    assert do.account.get()["account"]["status"] == "active"
    assert do.invoices.list()["invoices"] == []  # a new account
    do.droplets.create(body=DROPLET)
    account.advance(10 * 3600)
    balance = do.balance.get()
    assert float(balance["month_to_date_usage"]) > 0
    preview = do.invoices.list()["invoice_preview"]
    assert preview["amount"] == balance["month_to_date_usage"]
    items = do.invoices.get_by_uuid(preview["invoice_uuid"])["invoice_items"]
    assert [i["product"] for i in items] == ["Droplets"]
    summary = do.invoices.get_summary_by_uuid(preview["invoice_uuid"])
    assert summary["amount"] == preview["amount"]
    pdf = b"".join(do.invoices.get_pdf_by_uuid(preview["invoice_uuid"]))
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    # pydo decodes every answer as JSON, so the CSV is read through its pipeline raw
    response = do.send_request(
        HttpRequest("GET", f"/v2/customers/my/invoices/{preview['invoice_uuid']}/csv")
    )
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    lines = response.text().splitlines()
    assert lines[0].startswith("product,group_description,description,hours")
    assert lines[1].startswith("Droplets,,web-1 (s-1vcpu-1gb)")


def test_database_cluster_lifecycle(do: pydo.Client, account: Account) -> None:
    options = do.databases.list_options()["options"]
    assert "nyc3" in options["pg"]["regions"]
    cluster = do.databases.create_cluster(
        body={
            "name": "db-1",
            "engine": "pg",
            "region": "nyc3",
            "size": "db-s-1vcpu-1gb",
            "num_nodes": 1,
        }
    )["database"]
    assert cluster["status"] == "creating" and cluster["version"] == options["pg"]["versions"][-1]
    assert cluster["connection"]["port"] == 25060 and cluster["users"][0]["name"] == "doadmin"
    _refused(
        lambda: do.databases.create_cluster(
            body={"name": "x", "engine": "pg", "region": "nyc3", "size": "huge", "num_nodes": 1}
        )
    )
    ident = cluster["id"]
    account.advance(300)
    assert do.databases.get_cluster(ident)["database"]["status"] == "online"

    user = do.databases.add_user(ident, body={"name": "app"})["user"]
    assert user["role"] == "normal" and user["password"]
    reset = do.databases.reset_auth(ident, "app", body={})["user"]
    assert reset["password"] != user["password"]
    do.databases.add(ident, body={"name": "shop"})
    assert [d["name"] for d in do.databases.list(ident)["dbs"]] == ["defaultdb", "shop"]
    pool = do.databases.add_connection_pool(
        ident, body={"name": "p1", "mode": "transaction", "size": 10, "db": "shop", "user": "app"}
    )["pool"]
    assert pool["connection"]["database"] == "p1" and pool["connection"]["port"] == 25061
    _refused(lambda: do.databases.delete(ident, "shop"))  # the pool uses it
    do.databases.update_connection_pool(
        ident, "p1", body={"mode": "session", "size": 5, "db": "shop"}
    )
    assert do.databases.get_connection_pool(ident, "p1")["pool"]["mode"] == "session"

    droplet = do.droplets.create(body=DROPLET)["droplet"]
    do.databases.update_firewall_rules(
        ident,
        body={
            "rules": [
                {"type": "droplet", "value": str(droplet["id"])},
                {"type": "ip_addr", "value": "192.0.2.0/24"},
            ]
        },
    )
    rules = do.databases.list_firewall_rules(ident)["rules"]
    assert {r["type"] for r in rules} == {"droplet", "ip_addr"}
    assert all(r["cluster_uuid"] == ident for r in rules)
    _refused(
        lambda: do.databases.update_firewall_rules(
            ident, body={"rules": [{"type": "droplet", "value": "999"}]}
        )
    )

    do.databases.update_cluster_size(ident, body={"size": "db-s-2vcpu-4gb", "num_nodes": 2})
    assert do.databases.get_cluster(ident)["database"]["status"] == "resizing"
    account.advance(120)
    resized = do.databases.get_cluster(ident)["database"]
    assert (resized["status"], resized["size"], resized["num_nodes"]) == (
        "online",
        "db-s-2vcpu-4gb",
        2,
    )
    urns = {r["urn"] for r in do.projects.list_resources_default()["resources"]}
    assert f"do:dbaas:{ident}" in urns
    do.databases.destroy_cluster(ident)
    assert do.databases.list_clusters()["databases"] == []


def test_app_deployment_walks_its_phases(do: pydo.Client, account: Account) -> None:
    spec = {
        "name": "web",
        "region": "ams",
        "services": [{"name": "api", "git": {"repo_clone_url": "https://example.com/r.git"}}],
    }
    app = do.apps.create(body={"spec": spec})["app"]
    assert app["region"]["slug"] == "ams"
    first = app["in_progress_deployment"]
    assert first["phase"] == "PENDING_BUILD" and first["cause"] == "initial deployment"
    account.advance(10)
    assert do.apps.get_deployment(app["id"], first["id"])["deployment"]["phase"] == "BUILDING"
    account.advance(200)
    live = do.apps.get(app["id"])["app"]
    assert live["active_deployment"]["id"] == first["id"]
    assert live["active_deployment"]["phase"] == "ACTIVE"
    assert live["live_url"].endswith(".ondigitalocean.app")

    second = do.apps.create_deployment(app["id"], body={"force_build": True})["deployment"]
    cancelled = do.apps.cancel_deployment(app["id"], second["id"])["deployment"]
    assert cancelled["phase"] == "CANCELED"
    _refused(lambda: do.apps.cancel_deployment(app["id"], second["id"]))
    third = do.apps.update(app["id"], body={"spec": {**spec, "services": []}})["app"]
    third_id = third["in_progress_deployment"]["id"]
    account.advance(200)
    phases = {d["id"]: d["phase"] for d in do.apps.list_deployments(app["id"])["deployments"]}
    assert phases == {first["id"]: "SUPERSEDED", second["id"]: "CANCELED", third_id: "ACTIVE"}
    assert do.apps.delete(app["id"]) == {"id": app["id"]}
    assert do.apps.list()["apps"] == []


def test_alert_policies_watch_droplets_of_the_account(do: pydo.Client, account: Account) -> None:
    droplet = do.droplets.create(body=DROPLET)["droplet"]
    body = {
        "alerts": {"email": ["owner@example.com"], "slack": []},
        "compare": "GreaterThan",
        "description": "CPU high",
        "enabled": True,
        "entities": [str(droplet["id"])],
        "tags": ["web"],
        "type": "v1/insights/droplet/cpu",
        "value": 80,
        "window": "5m",
    }
    policy = do.monitoring.create_alert_policy(body=body)["policy"]
    assert policy["entities"] == [str(droplet["id"])]
    _refused(lambda: do.monitoring.create_alert_policy(body={**body, "entities": ["42"]}))
    updated = do.monitoring.update_alert_policy(policy["uuid"], body={**body, "value": 90})
    assert updated["policy"]["value"] == 90
    do.droplets.destroy(droplet["id"])
    assert do.monitoring.get_alert_policy(policy["uuid"])["policy"]["entities"] == []
    do.monitoring.delete_alert_policy(policy["uuid"])
    assert do.monitoring.list_alert_policy()["policies"] == []


def test_uptime_check_with_alerts(do: pydo.Client, account: Account) -> None:
    check = do.uptime.create_check(
        body={
            "name": "site",
            "method": "GET",  # listed as required by the document, though no property
            "type": "https",
            "target": "https://example.com",
            "regions": ["us_east", "eu_west"],
            "enabled": True,
        }
    )["check"]
    state = do.uptime.get_check_state(check["id"])["state"]["regions"]
    assert {r["status"] for r in state.values()} == {"CHECKING"}
    account.advance(120)
    state = do.uptime.get_check_state(check["id"])["state"]["regions"]
    assert set(state) == {"us_east", "eu_west"} and {r["status"] for r in state.values()} == {"UP"}
    alert = do.uptime.create_alert(
        check["id"],
        body={
            "name": "slow",
            "type": "latency",
            "threshold": 300,
            "comparison": "greater_than",
            "notifications": {"email": ["owner@example.com"], "slack": []},
            "period": "2m",
        },
    )["alert"]
    _refused(
        lambda: do.uptime.create_alert(
            check["id"],
            body={"name": "x", "type": "latency", "notifications": {"email": [], "slack": []}},
        )
    )
    assert do.uptime.list_alerts(check["id"])["alerts"][0]["id"] == alert["id"]
    do.uptime.delete_check(check["id"])
    assert do.uptime.get_alert(check["id"], alert["id"])["id"] == "not_found"


def test_registry_repositories_tags_and_garbage_collection() -> None:
    bearer = HeadersPolicy({"Authorization": f"Bearer {TOKEN}"})
    twin = start_twin("digitalocean")  # a seeded account has a registry
    try:
        do = pydo.Client(token=TOKEN, endpoint=twin.base_url, authentication_policy=bearer)
        registry = do.registry.get()["registry"]
        name = registry["name"]
        auth = do.registry.get_docker_credentials()["auths"]["registry.digitalocean.com"]["auth"]
        assert base64.b64decode(auth).decode() == f"{TOKEN}:{TOKEN}"
        repos = do.registry.list_repositories_v2(name)["repositories"]
        assert [(r["name"], r["tag_count"], r["manifest_count"]) for r in repos] == [("web", 3, 2)]

        # pydo asks for tags and manifests under /repositories/{name}/, a path newer than
        # the bundled document's /v2/registry/{registry}/{repository}/tags: read them raw
        def raw(path: str) -> Any:
            return do.send_request(HttpRequest("GET", f"/v2/registry/{name}/web/{path}")).json()

        tags = {t["tag"] for t in raw("tags")["tags"]}
        assert tags == {"v1.0", "v1.1", "latest"}
        deleted = do.send_request(HttpRequest("DELETE", f"/v2/registry/{name}/web/tags/v1.0"))
        assert deleted.status_code == 204
        assert len(raw("digests")["manifests"]) == 2
        gc = do.registry.run_garbage_collection(name)["garbage_collection"]
        assert gc["status"] == "requested"
        assert do.registry.get_garbage_collection(name)["garbage_collection"]["uuid"] == gc["uuid"]
        httpx.post(f"{twin.base_url}/__apitwin__/clock", json={"advance": 60}).raise_for_status()
        done = do.registry.list_garbage_collections(name)["garbage_collections"][0]
        assert done["status"] == "succeeded" and done["freed_bytes"] > 0
        assert len(raw("digests")["manifests"]) == 1
        _refused(
            lambda: do.registry.create(body={"name": "other", "subscription_tier_slug": "basic"}),
            409,
        )
        do.registry.delete()
        with pytest.raises(ResourceNotFoundError):
            do.registry.get()
        created = do.registry.create(
            body={"name": "fresh", "subscription_tier_slug": "starter", "region": "fra1"}
        )["registry"]
        assert created["subscription"]["tier"]["slug"] == "starter"
    finally:
        stop_twin(twin)
