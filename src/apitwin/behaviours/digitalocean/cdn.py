"""CDN endpoints: the origin is a Spaces bucket (``<bucket>.<region>.digitaloceanspaces.com``
in a region with Spaces), the endpoint its ``.cdn.`` twin; a custom domain needs a
verified certificate that covers it; the cache is purged by file paths."""

from __future__ import annotations

import re
from typing import Any

from apitwin.behaviours.digitalocean.account import new_uuid
from apitwin.behaviours.digitalocean.certificates import covers, find_certificate
from apitwin.behaviours.digitalocean.context import (
    DigitalOcean,
    Session,
    not_found,
    unprocessable,
)
from apitwin.engine.context import Reply, RequestContext

__all__ = ["SPACES_REGIONS", "Cdn"]

FAMILY = "cdn_endpoints"
SPACES_REGIONS = ("nyc3", "sfo2", "sfo3", "ams3", "sgp1", "fra1", "syd1", "blr1")
ORIGIN = re.compile(
    r"^(?P<bucket>[a-z0-9][a-z0-9-]{1,61}[a-z0-9])\.(?P<region>"
    + "|".join(SPACES_REGIONS)
    + r")\.digitaloceanspaces\.com$"
)
MAX_PURGE_FILES = 50


def _custom_domain(s: Session, endpoint: dict[str, Any], body: dict[str, Any]) -> None:
    """Apply ``custom_domain`` and ``certificate_id``: a domain needs a certificate,
    verified, covering it."""
    domain = body.get("custom_domain", endpoint.get("custom_domain", ""))
    certificate_id = body.get("certificate_id", endpoint.get("certificate_id", ""))
    if not domain:
        endpoint["custom_domain"], endpoint["certificate_id"] = "", ""
        return
    if not certificate_id:
        raise unprocessable("certificate_id is required when a custom_domain is set.")
    certificate = find_certificate(s, certificate_id)
    if certificate is None:
        raise unprocessable(f"certificate {certificate_id} does not exist.")
    if certificate["state"] != "verified":
        raise unprocessable("The certificate is not verified yet.")
    if not covers(certificate, str(domain)):
        raise unprocessable(f"The certificate does not cover {domain}.")
    endpoint["custom_domain"], endpoint["certificate_id"] = str(domain), str(certificate_id)


class Cdn(DigitalOcean):
    def install(self) -> None:
        self.bind_all(
            {
                "cdn_create_endpoint": self.create,
                "cdn_list_endpoints": self.list,
                "cdn_get_endpoint": self.get,
                "cdn_update_endpoints": self.update,
                "cdn_delete_endpoint": self.delete,
                "cdn_purge_cache": self.purge,
            }
        )

    def create(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        origin = str(body.get("origin", "")).lower()
        match = ORIGIN.match(origin)
        if match is None:
            raise unprocessable(
                "The origin must be a Spaces bucket: <bucket>.<region>.digitaloceanspaces.com"
            )
        with self.session() as s:
            if s.tx.list(FAMILY, parent=None, filters={"origin": origin}, limit=1).items:
                raise unprocessable(f"A CDN endpoint for {origin} already exists.")
            ident = new_uuid(s, FAMILY)
            endpoint: dict[str, Any] = {
                "id": ident,
                "origin": origin,
                "endpoint": f"{match['bucket']}.{match['region']}.cdn.digitaloceanspaces.com",
                "created_at": s.stamp,
                "ttl": int(body.get("ttl") or 3600),
                "certificate_id": "",
                "custom_domain": "",
            }
            _custom_domain(s, endpoint, body)
            s.tx.put(FAMILY, ident, endpoint)
        return self.reply(ctx, {"endpoint": endpoint})

    def list(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            items = s.tx.list(FAMILY, parent=None).items
        return self.page(ctx, "endpoints", items)

    def _load(self, s: Session, ctx: RequestContext) -> dict[str, Any]:
        endpoint = s.tx.get(FAMILY, str(ctx.params.get("cdn_id")))
        if endpoint is None:
            raise not_found()
        return endpoint

    def get(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            endpoint = self._load(s, ctx)
        return self.reply(ctx, {"endpoint": endpoint})

    def update(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            endpoint = self._load(s, ctx)
            if body.get("ttl"):
                endpoint["ttl"] = int(body["ttl"])
            _custom_domain(s, endpoint, body)
            s.tx.put(FAMILY, endpoint["id"], endpoint)
        return self.reply(ctx, {"endpoint": endpoint})

    def delete(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            s.tx.delete(FAMILY, self._load(s, ctx)["id"])
        return self.no_content(ctx)

    def purge(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        files = body.get("files") or []
        if len(files) > MAX_PURGE_FILES:
            raise unprocessable(f"At most {MAX_PURGE_FILES} files may be purged at once.")
        with self.session() as s:
            self._load(s, ctx)
        return self.no_content(ctx)
