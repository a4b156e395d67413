"""Certificates: Let's Encrypt ones for domains the account manages (``pending`` until
issued on the twin clock, then ``verified``, valid 90 days) and custom ones uploaded as
PEM (verified at once). Load balancers and CDN endpoints refer to them by id; one in
use cannot be deleted."""

from __future__ import annotations

import hashlib
from typing import Any

from apitwin.behaviours.digitalocean.account import new_uuid
from apitwin.behaviours.digitalocean.context import (
    DigitalOcean,
    Session,
    not_found,
    timer,
    unprocessable,
)
from apitwin.conventions.clock import iso
from apitwin.engine.context import Reply, RequestContext

__all__ = ["Certificates", "covers", "find_certificate"]

FAMILY = "certificates"
_DAY = 86400.0
_PEM = "-----BEGIN CERTIFICATE-----"
_KEY = "PRIVATE KEY-----"


def find_certificate(s: Session, ident: Any) -> dict[str, Any] | None:
    return s.tx.get(FAMILY, str(ident)) if ident else None


def covers(certificate: dict[str, Any], host: str) -> bool:
    """Whether the certificate's names include ``host`` (exactly or by a wildcard)."""
    for name in certificate.get("dns_names") or []:
        if name == host or (name.startswith("*.") and host.split(".", 1)[-1] == name[2:]):
            return True
    return False


def _managed(s: Session, host: str) -> bool:
    """A name in a domain of the account (Let's Encrypt needs DigitalOcean's DNS)."""
    host = host[2:] if host.startswith("*.") else host
    labels = host.split(".")
    return any(s.tx.get("domains", ".".join(labels[i:])) for i in range(len(labels) - 1))


def in_use(s: Session, ident: str) -> str | None:
    """What uses the certificate: a load balancer's forwarding rule or a CDN endpoint."""
    for lb in s.tx.list("load_balancers", parent=None).items:
        if any(r.get("certificate_id") == ident for r in lb.get("forwarding_rules") or []):
            return "load balancer"
    if s.tx.list("cdn_endpoints", parent=None, filters={"certificate_id": ident}, limit=1).items:
        return "CDN endpoint"
    return None


class Certificates(DigitalOcean):
    def install(self) -> None:
        self.bind_all(
            {
                "certificates_create": self.create,
                "certificates_list": self.list,
                "certificates_get": self.get,
                "certificates_delete": self.delete,
            }
        )
        self.shared.effects["certificate:issued"] = self._issued

    def create(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        kind = body.get("type") or ("custom" if body.get("leaf_certificate") else "lets_encrypt")
        name = str(body.get("name", ""))
        with self.session() as s:
            if s.tx.list(FAMILY, parent=None, filters={"name": name}, limit=1).items:
                raise unprocessable(f"A certificate with the name {name} already exists.")
            ident = new_uuid(s, FAMILY)
            certificate: dict[str, Any] = {
                "id": ident,
                "name": name,
                "not_after": "",
                "sha1_fingerprint": "",
                "created_at": s.stamp,
                "dns_names": [],
                "state": "pending",
                "type": kind,
            }
            if kind == "lets_encrypt":
                names = [str(n) for n in body.get("dns_names") or []]
                if not names:
                    raise unprocessable("dns_names must name at least one domain.")
                unmanaged = [n for n in names if not _managed(s, n.lower())]
                if unmanaged:
                    raise unprocessable(
                        "The domain(s) "
                        + ", ".join(unmanaged)
                        + " must be managed by DigitalOcean DNS to issue a Let's Encrypt "
                        "certificate."
                    )
                certificate["dns_names"] = names
                timer(s, s.settings.delay("certificate"), "certificate:issued", ident)
            else:
                leaf = str(body.get("leaf_certificate", ""))
                key = str(body.get("private_key", ""))
                if _PEM not in leaf or _KEY not in key:
                    raise unprocessable("The certificate or private key is not valid PEM.")
                certificate.update(
                    dns_names=[str(n) for n in body.get("dns_names") or []],
                    state="verified",
                    not_after=iso(s.now + 365 * _DAY),
                    sha1_fingerprint=hashlib.sha1(leaf.encode(), usedforsecurity=False).hexdigest(),
                )
            s.tx.put(FAMILY, ident, certificate)
        return self.reply(ctx, {"certificate": certificate})

    def _issued(self, s: Session, key: str, params: dict[str, Any]) -> None:
        certificate = s.tx.get(FAMILY, key)
        if certificate is None or certificate["state"] != "pending":
            return
        issued = float(params.get("due", s.now))
        digest = hashlib.sha1(f"{key}:{issued}".encode(), usedforsecurity=False).hexdigest()
        certificate.update(
            state="verified", not_after=iso(issued + 90 * _DAY), sha1_fingerprint=digest
        )
        s.tx.put(FAMILY, key, certificate)

    def list(self, ctx: RequestContext) -> Reply:
        name = ctx.params.get("name")
        with self.session() as s:
            items = s.tx.list(FAMILY, parent=None, filters={"name": name} if name else None).items
        return self.page(ctx, "certificates", items)

    def _load(self, s: Session, ctx: RequestContext) -> dict[str, Any]:
        certificate = find_certificate(s, ctx.params.get("certificate_id"))
        if certificate is None:
            raise not_found()
        return certificate

    def get(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            certificate = self._load(s, ctx)
        return self.reply(ctx, {"certificate": certificate})

    def delete(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            certificate = self._load(s, ctx)
            user = in_use(s, certificate["id"])
            if user is not None:
                raise unprocessable(f"The certificate is in use by a {user}.")
            s.tx.delete(FAMILY, certificate["id"])
        return self.no_content(ctx)
