"""The container registry: one per account, with a subscription tier; its repositories,
manifests and tags (a seeded account has one repository with two tags; pushes are not
part of this API, so more come through the admin state, family ``__do_registry_manifests__``);
deleting a tag leaves its manifest untagged until a garbage collection, which runs on the
twin clock, removes it; Docker credentials for ``registry.digitalocean.com``."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from apitwin.behaviours.digitalocean.account import new_uuid
from apitwin.behaviours.digitalocean.context import (
    DigitalOcean,
    Session,
    not_found,
    timer,
    unprocessable,
)
from apitwin.engine.context import Reply, RequestContext
from apitwin.engine.operation import Rejection
from apitwin.state.store import Transaction

__all__ = ["Registry", "TIERS"]

REGISTRY = "registry"  # the singleton, key "registry"
MANIFESTS = "__do_registry_manifests__"  # "repository@digest" -> a manifest with its tags
COLLECTIONS = "__do_registry_gc__"
HOST = "registry.digitalocean.com"
REGISTRY_REGIONS = ("nyc3", "sfo3", "ams3", "sgp1", "fra1")
_NAME = re.compile(r"^[a-z0-9-]{1,63}$")
_GB = 1024**3
TIERS: dict[str, dict[str, Any]] = {
    slug: {
        "slug": slug,
        "name": name,
        "included_repositories": repos,
        "included_storage_bytes": storage,
        "allow_storage_overage": slug != "starter",
        "included_bandwidth_bytes": bandwidth,
        "monthly_price_in_cents": price,
        "storage_overage_price_in_cents": 0 if slug == "starter" else 2,
    }
    for slug, name, repos, storage, bandwidth, price in (
        ("starter", "Starter", 1, _GB // 2, _GB // 2, 0),
        ("basic", "Basic", 5, 5 * _GB, 5 * _GB, 500),
        ("professional", "Professional", 0, 100 * _GB, 100 * _GB, 2000),
    )
}
_GC_DONE = ("succeeded", "cancelled", "failed")


def _digest(*parts: str) -> str:
    return "sha256:" + hashlib.sha256(":".join(parts).encode()).hexdigest()


def conflict(message: str) -> Rejection:
    return Rejection(409, message, [], "conflict")


class Registry(DigitalOcean):
    def install(self) -> None:
        self.bind_all(
            {
                "registry_get": self.get,
                "registry_create": self.create,
                "registry_delete": self.delete,
                "registry_get_subscription": self.subscription,
                "registry_update_subscription": self.update_subscription,
                "registry_get_options": self.options,
                "registry_validate_name": self.validate_name,
                "registry_get_dockerCredentials": self.credentials,
                "registry_list_repositories": lambda c: self.repositories(c, False),
                "registry_list_repositoriesV2": lambda c: self.repositories(c, True),
                "registry_list_repositoryTags": self.tags,
                "registry_list_repositoryManifests": self.manifests,
                "registry_delete_repositoryTag": self.delete_tag,
                "registry_delete_repositoryManifest": self.delete_manifest,
                "registry_run_garbageCollection": self.collect,
                "registry_get_garbageCollection": self.active_collection,
                "registry_list_garbageCollections": self.collections,
                "registry_update_garbageCollection": self.cancel_collection,
            }
        )
        self.shared.effects["registry:gc"] = self._collected
        self.semantics.seeders[REGISTRY] = self._seed

    def _seed(self, tx: Transaction, runtime: Any) -> None:
        s = self.session_in(tx)
        self._new(s, "twin-registry", "basic", "nyc3")
        for version, tags in (("1", ["v1.0"]), ("2", ["v1.1", "latest"])):
            self.push(s, "twin-registry", "web", version, tags)

    # -- state ------------------------------------------------------------------------------

    def _new(self, s: Session, name: str, tier: str, region: str) -> dict[str, Any]:
        registry = {
            "name": name,
            "created_at": s.stamp,
            "region": region,
            "storage_usage_bytes": 0,
            "storage_usage_bytes_updated_at": s.stamp,
            "subscription": {"tier": TIERS[tier], "created_at": s.stamp, "updated_at": s.stamp},
        }
        s.tx.put(REGISTRY, REGISTRY, registry)
        return registry

    @staticmethod
    def push(s: Session, registry: str, repository: str, content: str, tags: list[str]) -> dict:
        """A manifest as a push leaves it (tags move from older manifests to this one)."""
        for other in s.tx.list(MANIFESTS, parent=repository).items:
            if set(other["tags"]) & set(tags):
                other["tags"] = [t for t in other["tags"] if t not in tags]
                s.tx.put(MANIFESTS, f"{repository}@{other['digest']}", other, parent=repository)
        digest = _digest(registry, repository, content)
        size = 28_000_000 + int(digest[7:13], 16) % 4_000_000
        manifest = {
            "digest": digest,
            "registry_name": registry,
            "repository": repository,
            "compressed_size_bytes": size,
            "size_bytes": size * 3,
            "updated_at": s.stamp,
            "tags": tags,
            "blobs": [
                {"digest": _digest(digest, "config"), "compressed_size_bytes": 1_500},
                {"digest": _digest(digest, "layer"), "compressed_size_bytes": size - 1_500},
            ],
        }
        s.tx.put(MANIFESTS, f"{repository}@{digest}", manifest, parent=repository)
        return manifest

    def _registry(self, s: Session) -> dict[str, Any]:
        registry = s.tx.get(REGISTRY, REGISTRY)
        if registry is None:
            raise not_found("no container registry exists for this account")
        manifests = s.tx.list(MANIFESTS, parent=None).items
        registry["storage_usage_bytes"] = sum(m["compressed_size_bytes"] for m in manifests)
        return registry

    def _named(self, s: Session, ctx: RequestContext) -> dict[str, Any]:
        registry = self._registry(s)
        if registry["name"] != ctx.params.get("registry_name"):
            raise not_found()
        return registry

    # -- the registry -----------------------------------------------------------------------

    def get(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            registry = self._registry(s)
        return self.reply(ctx, {"registry": registry})

    def create(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        name = str(body.get("name", ""))
        if not _NAME.match(name):
            raise unprocessable("name must be 1-63 lowercase letters, digits or dashes")
        tier = body.get("subscription_tier_slug")
        if tier not in TIERS:
            raise unprocessable(f"invalid subscription tier: {tier}")
        region = body.get("region") or "nyc3"
        if region not in REGISTRY_REGIONS:
            raise unprocessable(f"invalid region: {region}")
        with self.session() as s:
            if s.tx.get(REGISTRY, REGISTRY) is not None:
                raise conflict("this account already has a container registry")
            registry = self._new(s, name, str(tier), str(region))
        return self.reply(ctx, {"registry": registry})

    def delete(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            self._registry(s)
            s.tx.delete(REGISTRY, REGISTRY)
            for manifest in s.tx.list(MANIFESTS, parent=None).items:
                s.tx.delete(MANIFESTS, f"{manifest['repository']}@{manifest['digest']}")
        return self.no_content(ctx)

    def subscription(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            registry = s.tx.get(REGISTRY, REGISTRY)
        if registry is None:
            starter = {"tier": TIERS["starter"], "created_at": "", "updated_at": ""}
            return self.reply(ctx, {"subscription": starter})
        return self.reply(ctx, {"subscription": registry["subscription"]})

    def update_subscription(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        tier = body.get("tier_slug")
        if tier not in TIERS:
            raise unprocessable(f"invalid subscription tier: {tier}")
        with self.session() as s:
            registry = self._registry(s)
            repositories = {m["repository"] for m in s.tx.list(MANIFESTS, parent=None).items}
            allowed = TIERS[str(tier)]["included_repositories"]
            if allowed and len(repositories) > allowed:
                raise unprocessable(
                    f"the {tier} tier allows {allowed} repositories; the registry has "
                    f"{len(repositories)}"
                )
            registry["subscription"] = {
                "tier": TIERS[str(tier)],
                "created_at": registry["subscription"]["created_at"],
                "updated_at": s.stamp,
            }
            s.tx.put(REGISTRY, REGISTRY, registry)
        return self.reply(ctx, {"subscription": registry["subscription"]})

    def options(self, ctx: RequestContext) -> Reply:
        tiers = [{**tier, "eligible": True, "eligibility_reasons": []} for tier in TIERS.values()]
        options = {"available_regions": list(REGISTRY_REGIONS), "subscription_tiers": tiers}
        return self.reply(ctx, {"options": options})

    def validate_name(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        name = str(body.get("name", ""))
        if not _NAME.match(name):
            raise unprocessable("name must be 1-63 lowercase letters, digits or dashes")
        with self.session() as s:
            registry = s.tx.get(REGISTRY, REGISTRY)
        if registry is not None and registry["name"] == name:
            raise conflict(f"the registry name {name} is not available")
        return self.no_content(ctx)

    def credentials(self, ctx: RequestContext) -> Reply:
        """The request's own token as registry password, as the service's ``doctl registry
        login`` uses one (the twin keeps one token for both)."""
        token = ctx.parts.headers.get("authorization", "").partition(" ")[2].strip()
        auth = base64.b64encode(f"{token}:{token}".encode()).decode()
        return self.reply(ctx, {"auths": {HOST: {"auth": auth}}})

    # -- repositories -----------------------------------------------------------------------

    def repositories(self, ctx: RequestContext, v2: bool) -> Reply:
        with self.session() as s:
            registry = self._named(s, ctx)
            manifests = s.tx.list(MANIFESTS, parent=None).items
        by_repo: dict[str, list[dict[str, Any]]] = {}
        for manifest in manifests:
            by_repo.setdefault(manifest["repository"], []).append(manifest)
        items = []
        for name, found in by_repo.items():
            latest = max(found, key=lambda m: m["updated_at"])
            tags = sum(len(m["tags"]) for m in found)
            entry: dict[str, Any] = {
                "registry_name": registry["name"],
                "name": name,
                "tag_count": tags,
            }
            if v2:
                entry["manifest_count"] = len(found)
                entry["latest_manifest"] = latest
            else:
                tagged = [t for t in _tags_of(registry["name"], found)]
                entry["latest_tag"] = tagged[-1] if tagged else None
            items.append(entry)
        return self.page(ctx, "repositories", items)

    def _repository(self, s: Session, ctx: RequestContext) -> list[dict[str, Any]]:
        registry = self._named(s, ctx)
        found = s.tx.list(MANIFESTS, parent=str(ctx.params.get("repository_name"))).items
        if not found:
            raise not_found()
        assert registry
        return found

    def tags(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            found = self._repository(s, ctx)
        return self.page(ctx, "tags", _tags_of(str(ctx.params.get("registry_name")), found))

    def manifests(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            found = self._repository(s, ctx)
        return self.page(ctx, "manifests", list(reversed(found)))

    def delete_tag(self, ctx: RequestContext) -> Reply:
        wanted = ctx.params.get("repository_tag")
        with self.session() as s:
            found = self._repository(s, ctx)
            manifest = next((m for m in found if wanted in m["tags"]), None)
            if manifest is None:
                raise not_found()
            manifest["tags"] = [t for t in manifest["tags"] if t != wanted]
            key = f"{manifest['repository']}@{manifest['digest']}"
            s.tx.put(MANIFESTS, key, manifest, parent=manifest["repository"])
        return self.no_content(ctx)

    def delete_manifest(self, ctx: RequestContext) -> Reply:
        wanted = ctx.params.get("manifest_digest")
        with self.session() as s:
            found = self._repository(s, ctx)
            manifest = next((m for m in found if m["digest"] == wanted), None)
            if manifest is None:
                raise not_found()
            s.tx.delete(MANIFESTS, f"{manifest['repository']}@{manifest['digest']}")
        return self.no_content(ctx)

    # -- garbage collection -----------------------------------------------------------------

    def collect(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            registry = self._named(s, ctx)
            running = [
                g for g in s.tx.list(COLLECTIONS, parent=None).items if g["status"] not in _GC_DONE
            ]
            if running:
                raise conflict("a garbage collection is already running")
            ident = new_uuid(s, COLLECTIONS)
            collection = {
                "uuid": ident,
                "registry_name": registry["name"],
                "status": "requested",
                "created_at": s.stamp,
                "updated_at": s.stamp,
                "blobs_deleted": 0,
                "freed_bytes": 0,
            }
            s.tx.put(COLLECTIONS, ident, collection)
            timer(s, s.settings.delay("registry_gc"), "registry:gc", ident)
        return self.reply(ctx, {"garbage_collection": collection})

    def _collected(self, s: Session, key: str, params: dict[str, Any]) -> None:
        collection = s.tx.get(COLLECTIONS, key)
        if collection is None or collection["status"] in _GC_DONE:
            return
        freed = blobs = 0
        for manifest in s.tx.list(MANIFESTS, parent=None).items:
            if not manifest["tags"]:
                freed += manifest["compressed_size_bytes"]
                blobs += len(manifest["blobs"])
                s.tx.delete(MANIFESTS, f"{manifest['repository']}@{manifest['digest']}")
        collection.update(status="succeeded", blobs_deleted=blobs, freed_bytes=freed)
        collection["updated_at"] = s.stamp
        s.tx.put(COLLECTIONS, key, collection)

    def active_collection(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            self._named(s, ctx)
            running = [
                g for g in s.tx.list(COLLECTIONS, parent=None).items if g["status"] not in _GC_DONE
            ]
        if not running:
            raise not_found("no garbage collection is running")
        return self.reply(ctx, {"garbage_collection": running[-1]})

    def collections(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            self._named(s, ctx)
            items = list(reversed(s.tx.list(COLLECTIONS, parent=None).items))
        return self.page(ctx, "garbage_collections", items)

    def cancel_collection(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            self._named(s, ctx)
            collection = s.tx.get(COLLECTIONS, str(ctx.params.get("garbage_collection_uuid")))
            if collection is None:
                raise not_found()
            if body.get("cancel") and collection["status"] not in _GC_DONE:
                collection.update(status="cancelled", updated_at=s.stamp)
                s.tx.put(COLLECTIONS, collection["uuid"], collection)
        return self.reply(ctx, {"garbage_collection": collection})


def _tags_of(registry: str, manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "registry_name": registry,
            "repository": m["repository"],
            "tag": tag,
            "manifest_digest": m["digest"],
            "compressed_size_bytes": m["compressed_size_bytes"],
            "size_bytes": m["size_bytes"],
            "updated_at": m["updated_at"],
        }
        for m in manifests
        for tag in m["tags"]
    ]
