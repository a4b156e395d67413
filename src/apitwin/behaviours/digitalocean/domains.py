"""Domains and their records. A new domain gets the records DigitalOcean's DNS gives it
(SOA, three NS, and an A record for its apex when ``ip_address`` is sent); the zone file
is written from the records as they are when it is read."""

from __future__ import annotations

import ipaddress
from typing import Any

from apitwin.behaviours.digitalocean.account import assign, unassign
from apitwin.behaviours.digitalocean.context import DigitalOcean, Session, not_found, unprocessable
from apitwin.engine.context import Reply, RequestContext
from apitwin.state.store import Transaction

__all__ = ["Domains"]

FAMILY = "domains"
RECORDS = "domains.records"
TTL = 1800
NAMESERVERS = ("ns1.digitalocean.com", "ns2.digitalocean.com", "ns3.digitalocean.com")
TYPES = {"A", "AAAA", "CAA", "CNAME", "MX", "NS", "SOA", "SRV", "TXT"}


def _record(s: Session, domain: str, **fields: Any) -> dict[str, Any]:
    ident = 300_000_000 + s.tx.next_id(RECORDS)
    record = {
        "id": ident,
        "type": fields.get("type"),
        "name": fields.get("name", "@"),
        "data": fields.get("data", ""),
        "priority": fields.get("priority"),
        "port": fields.get("port"),
        "ttl": fields.get("ttl") or TTL,
        "weight": fields.get("weight"),
        "flags": fields.get("flags"),
        "tag": fields.get("tag"),
    }
    s.tx.put(RECORDS, f"{domain}/{ident}", record, parent=domain)
    return record


def _zone_file(domain: str, records: list[dict[str, Any]]) -> str:
    lines = [f"$ORIGIN {domain}.", f"$TTL {TTL}"]
    for r in records:
        data = r["data"]
        if r["type"] == "SOA":
            data = f"ns1.digitalocean.com. hostmaster.{domain}. 1 10800 3600 604800 {TTL}"
        elif r["type"] in ("NS", "CNAME", "MX") and not str(data).endswith("."):
            data = f"{data}."
        if r["type"] in ("MX", "SRV") and r.get("priority") is not None:
            data = f"{r['priority']} {data}"
        lines.append(f"{r.get('name', '@')} IN {r.get('ttl', TTL)} {r['type']} {data}")
    return "\n".join(lines) + "\n"


class Domains(DigitalOcean):
    def install(self) -> None:
        self.bind_all(
            {
                "domains_create": self.create,
                "domains_list": self.list,
                "domains_get": self.get,
                "domains_delete": self.delete,
                "domains_create_record": self.create_record,
                "domains_update_record": self.update_record,
                "domains_patch_record": self.update_record,
            }
        )
        self.semantics.seeders[FAMILY] = self._seed

    def _seed(self, tx: Transaction, runtime: Any) -> None:
        self._new(self.session_in(tx), "example.org", "192.0.2.1")

    def _new(self, s: Session, name: str, ip_address: Any) -> dict[str, Any]:
        s.tx.put(FAMILY, name, {"name": name, "ttl": TTL})
        _record(s, name, type="SOA", data="1800")
        for server in NAMESERVERS:
            _record(s, name, type="NS", data=server)
        if ip_address:
            _record(s, name, type="A", data=str(ip_address))
        assign(s, f"do:domain:{name}")
        return self._view(s, name)

    @staticmethod
    def _view(s: Session, name: str) -> dict[str, Any]:
        records = s.tx.list(RECORDS, parent=name).items
        return {"name": name, "ttl": TTL, "zone_file": _zone_file(name, records)}

    def create(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        name = str(body.get("name", "")).strip().rstrip(".").lower()
        if "." not in name:
            raise unprocessable("Name is not a valid domain name.")
        ip_address = body.get("ip_address")
        if ip_address:
            _check_ip(ip_address, 4)
        with self.session() as s:
            if s.tx.get(FAMILY, name) is not None:
                raise unprocessable("Name already exists")
            domain = self._new(s, name, ip_address)
        # The zone file is written a moment later in the service: empty on creation.
        return self.reply(ctx, {"domain": {**domain, "zone_file": None}})

    def list(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            names = [d["name"] for d in s.tx.list(FAMILY, parent=None).items]
            items = [self._view(s, name) for name in names]
        return self.page(ctx, "domains", items)

    def _load(self, s: Session, name: Any) -> str:
        if s.tx.get(FAMILY, str(name)) is None:
            raise not_found()
        return str(name)

    def get(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            domain = self._view(s, self._load(s, ctx.params.get("domain_name")))
        return self.reply(ctx, {"domain": domain})

    def delete(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            name = self._load(s, ctx.params.get("domain_name"))
            for record in s.tx.list(RECORDS, parent=name).items:
                s.tx.delete(RECORDS, f"{name}/{record['id']}")
            s.tx.delete(FAMILY, name)
            unassign(s, f"do:domain:{name}")
        return self.no_content(ctx)

    def create_record(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        kind = body.get("type")
        if kind not in TYPES:
            raise unprocessable(f"Type '{kind}' is not a supported record type.")
        if kind == "SOA":
            raise unprocessable("SOA records are managed by DigitalOcean.")
        if kind == "A":
            _check_ip(body.get("data"), 4)
        elif kind == "AAAA":
            _check_ip(body.get("data"), 6)
        if kind in ("MX", "SRV") and not isinstance(body.get("priority"), int):
            raise unprocessable("Priority is required for MX and SRV records.")
        if kind == "SRV" and not isinstance(body.get("port"), int):
            raise unprocessable("Port is required for SRV records.")
        with self.session() as s:
            name = self._load(s, ctx.params.get("domain_name"))
            record = _record(s, name, **{k: v for k, v in body.items() if k != "id"})
        return self.reply(ctx, {"domain_record": record})

    def update_record(self, ctx: RequestContext) -> Reply:
        """PUT and PATCH both change only the fields sent, as the service does."""
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            name = self._load(s, ctx.params.get("domain_name"))
            key = f"{name}/{ctx.params.get('domain_record_id')}"
            record = s.tx.get(RECORDS, key)
            if record is None:
                raise not_found()
            if "type" in body and body["type"] != record["type"]:
                raise unprocessable("The type of a record cannot be changed.")
            if record["type"] in ("A", "AAAA") and "data" in body:
                _check_ip(body["data"], 4 if record["type"] == "A" else 6)
            for field in ("name", "data", "priority", "port", "ttl", "weight", "flags", "tag"):
                if field in body:
                    record[field] = body[field]
            s.tx.put(RECORDS, key, record, parent=name)
        return self.reply(ctx, {"domain_record": record})


def _check_ip(value: Any, version: int) -> None:
    try:
        address = ipaddress.ip_address(str(value))
    except ValueError:
        address = None
    if address is None or address.version != version:
        kind = "IPv4" if version == 4 else "IPv6"
        raise unprocessable(f"Data needs to be a valid {kind} address.")
