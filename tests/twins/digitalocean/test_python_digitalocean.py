"""python-digitalocean against the twin: Manager, Droplet, Volume, Domain, Tag and SSHKey,
pointed at the twin with its ``end_point`` setting."""

from __future__ import annotations

from typing import Any

import digitalocean
import pytest

from tests.twins.digitalocean.conftest import TOKEN, Account

RSA = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAQQDDHr/jh2Jy4yALcK4JyWbVkPRaWmhck3IgCoeOO3z1e2dBowLh64QAM"
    "+Qb72pxekALga2oi4GvT+TlWNhzPH4V me@host"
)


@pytest.fixture
def settings(account: Account, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Objects the library makes itself (actions, droplets of a multiple create) read the
    end point from DIGITALOCEAN_END_POINT; the ones a test makes get it as an argument."""
    end_point = f"{account.url}/v2/"
    monkeypatch.setenv("DIGITALOCEAN_END_POINT", end_point)
    return {"token": TOKEN, "end_point": end_point}


def _droplet(settings: dict[str, Any], name: str, **extra: Any) -> digitalocean.Droplet:
    droplet = digitalocean.Droplet(
        name=name,
        region="nyc3",
        image="ubuntu-22-04-x64",
        size_slug="s-1vcpu-1gb",
        **settings,
        **extra,
    )
    droplet.create()
    return droplet


def test_manager_sees_the_reference_data(settings: dict[str, Any]) -> None:
    manager = digitalocean.Manager(**settings)
    regions = {r.slug: r for r in manager.get_all_regions()}
    sizes = manager.get_all_sizes()
    assert "nyc3" in regions and regions["nyc3"].available
    for size in sizes:
        for slug in size.regions:
            assert size.slug in regions[slug].sizes
    assert "ubuntu-22-04-x64" in {i.slug for i in manager.get_distro_images()}


def test_droplet_lifecycle(settings: dict[str, Any], account: Account) -> None:
    droplet = _droplet(settings, "web-1", ipv6=True, tags=["web"])
    assert len(droplet.action_ids) == 1
    droplet.load()
    assert droplet.status == "new"
    assert droplet.ip_address and droplet.private_ip_address.startswith("10.")
    assert droplet.ip_v6_address
    account.advance(60)
    droplet.load()
    assert droplet.status == "active"

    action = droplet.power_off(return_dict=False)
    assert action.status == "in-progress"
    account.advance(15)
    action.load()
    assert action.status == "completed"
    droplet.load()
    assert droplet.status == "off"

    droplet.resize("s-2vcpu-4gb")
    account.advance(15)
    droplet.load()
    assert droplet.size_slug == "s-2vcpu-4gb" and droplet.disk == 80

    droplet.take_snapshot("nightly")
    account.advance(120)
    manager = digitalocean.Manager(**settings)
    assert [s.name for s in manager.get_droplet_snapshots()] == ["nightly"]
    assert [a.type for a in droplet.get_actions()] == ["create", "power_off", "resize", "snapshot"]

    listed = manager.get_all_droplets(tag_name="web")
    assert [d.id for d in listed] == [droplet.id]
    droplet.destroy()
    assert manager.get_all_droplets() == []


def test_refused_action_is_a_data_read_error(settings: dict[str, Any], account: Account) -> None:
    droplet = _droplet(settings, "web-1")
    account.advance(60)
    with pytest.raises(digitalocean.DataReadError, match="power it off"):
        droplet.resize("s-2vcpu-4gb")
    with pytest.raises(digitalocean.NotFoundError):
        digitalocean.Droplet.get_object(TOKEN, 42)


def test_many_droplets_at_once(settings: dict[str, Any]) -> None:
    made = digitalocean.Droplet.create_multiple(
        names=["n-1", "n-2"],
        region="fra1",
        image="debian-12-x64",
        size_slug="s-1vcpu-1gb",
        **settings,
    )
    assert [d.name for d in made] == ["n-1", "n-2"]
    assert all(d.region["slug"] == "fra1" for d in made)


def test_ssh_keys(settings: dict[str, Any]) -> None:
    key = digitalocean.SSHKey(name="laptop", public_key=RSA, **settings)
    key.create()
    key.load()
    assert len(key.fingerprint.split(":")) == 16
    by_fingerprint = digitalocean.SSHKey(fingerprint=key.fingerprint, **settings)
    by_fingerprint.load()
    assert by_fingerprint.id == key.id and by_fingerprint.name == "laptop"
    key.name = "desk"
    key.edit()
    manager = digitalocean.Manager(**settings)
    assert [k.name for k in manager.get_all_sshkeys()] == ["desk"]
    droplet = _droplet(settings, "with-key", ssh_keys=[key.fingerprint])
    assert droplet.id
    key.destroy()
    assert manager.get_all_sshkeys() == []


def test_volume_attach_and_detach(settings: dict[str, Any], account: Account) -> None:
    droplet = _droplet(settings, "db-1")
    account.advance(60)
    volume = digitalocean.Volume(name="data", region="nyc3", size_gigabytes=20, **settings)
    volume.create()
    volume.attach(droplet.id, "nyc3")
    account.advance(15)
    volume.load()
    assert volume.droplet_ids == [droplet.id]
    droplet.load()
    assert droplet.volume_ids == [volume.id]
    volume.resize(40, "nyc3")
    account.advance(15)
    volume.detach(droplet.id, "nyc3")
    account.advance(15)
    volume.load()
    assert volume.droplet_ids == [] and volume.size_gigabytes == 40
    volume.destroy()
    assert digitalocean.Manager(**settings).get_all_volumes() == []


def test_domain_and_records(settings: dict[str, Any]) -> None:
    domain = digitalocean.Domain(name="example.com", ip_address="192.0.2.1", **settings)
    domain.create()
    created = domain.create_new_domain_record(type="CNAME", name="www", data="@")
    record_id = created["domain_record"]["id"]
    records = domain.get_records()
    assert {(r.type, r.name) for r in records} >= {
        ("SOA", "@"),
        ("NS", "@"),
        ("A", "@"),
        ("CNAME", "www"),
    }
    domain.update_domain_record(
        domain="example.com", id=record_id, type="CNAME", name="web", data="@"
    )
    assert "web" in {r.name for r in domain.get_records()}
    domain.delete_domain_record(id=record_id)
    assert record_id not in {r.id for r in domain.get_records()}
    assert [d.name for d in digitalocean.Manager(**settings).get_all_domains()] == ["example.com"]
    domain.destroy()
    assert digitalocean.Manager(**settings).get_all_domains() == []


def test_tags(settings: dict[str, Any]) -> None:
    first = _droplet(settings, "t-1")
    second = _droplet(settings, "t-2")
    tag = digitalocean.Tag(name="blue", **settings)
    tag.create()
    tag.add_droplets([first.id, str(second.id)])
    tag.load()
    assert tag.resources["droplets"]["count"] == 2
    tag.remove_droplets([first.id])
    tag.load()
    assert tag.resources["count"] == 1
    manager = digitalocean.Manager(**settings)
    assert [d.id for d in manager.get_all_droplets(tag_name="blue")] == [second.id]
    tag.delete()
    assert manager.get_all_tags() == []
