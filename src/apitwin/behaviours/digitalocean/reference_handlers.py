"""Serving the reference data: regions, sizes, and the account itself."""

from __future__ import annotations

from apitwin.behaviours.digitalocean.context import DigitalOcean
from apitwin.behaviours.digitalocean.reference import REGIONS, SIZES, region_object, size_object
from apitwin.engine.context import Reply, RequestContext

__all__ = ["Reference"]


class Reference(DigitalOcean):
    def install(self) -> None:
        self.bind_all({"regions_list": self.regions, "sizes_list": self.sizes})

    def regions(self, ctx: RequestContext) -> Reply:
        return self.page(ctx, "regions", [region_object(r["slug"]) for r in REGIONS])

    def sizes(self, ctx: RequestContext) -> Reply:
        return self.page(ctx, "sizes", [size_object(s["slug"]) for s in SIZES])
