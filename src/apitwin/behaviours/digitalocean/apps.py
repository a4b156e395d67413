"""App Platform: apps and their deployments. Creating an app, changing its spec or asking
for a deployment starts one that walks its phases on the twin clock (PENDING_BUILD,
BUILDING, PENDING_DEPLOY, DEPLOYING, ACTIVE); the new active deployment supersedes the
previous one and the app gets its live URL. A deployment in progress can be cancelled;
a newer one supersedes it."""

from __future__ import annotations

import hashlib
from typing import Any

from apitwin.behaviours.digitalocean.account import OWNER_UUID, assign, new_uuid, unassign
from apitwin.behaviours.digitalocean.context import (
    DigitalOcean,
    Session,
    not_found,
    timer,
    unprocessable,
)
from apitwin.engine.context import Reply, RequestContext
from apitwin.state.store import Transaction

__all__ = ["APP_REGIONS", "Apps"]

FAMILY = "apps"
DEPLOYMENTS = "apps.deployments"
# slug, label, flag, continent, data centers (from the reference regions)
APP_REGIONS: tuple[dict[str, Any], ...] = tuple(
    {"slug": slug, "label": label, "flag": flag, "continent": continent, "data_centers": dcs}
    for slug, label, flag, continent, dcs in (
        ("ams", "Amsterdam", "netherlands", "Europe", ["ams3"]),
        ("nyc", "New York", "usa", "North America", ["nyc1", "nyc3"]),
        ("fra", "Frankfurt", "germany", "Europe", ["fra1"]),
        ("sfo", "San Francisco", "usa", "North America", ["sfo2", "sfo3"]),
        ("sgp", "Singapore", "singapore", "Asia", ["sgp1"]),
        ("blr", "Bangalore", "india", "Asia", ["blr1"]),
        ("tor", "Toronto", "canada", "North America", ["tor1"]),
        ("lon", "London", "uk", "Europe", ["lon1"]),
    )
)
_BY_SLUG = {r["slug"]: r for r in APP_REGIONS}
# phase -> (the next phase, the delay before it: a key of the profile's action_seconds)
_NEXT = {
    "PENDING_BUILD": ("BUILDING", "app_queue"),
    "BUILDING": ("PENDING_DEPLOY", "app_build"),
    "PENDING_DEPLOY": ("DEPLOYING", "app_queue"),
    "DEPLOYING": ("ACTIVE", "app_deploy"),
}
_DONE = ("ACTIVE", "SUPERSEDED", "ERROR", "CANCELED")
_COMPONENTS = ("services", "static_sites", "workers", "jobs", "functions")


def _spec(body: dict[str, Any]) -> dict[str, Any]:
    spec = body.get("spec")
    if not isinstance(spec, dict) or not spec.get("name"):
        raise unprocessable("spec.name is required")
    region = spec.get("region", "nyc")
    if region not in _BY_SLUG:
        raise unprocessable(f"invalid region: {region}")
    names = [
        c.get("name") for kind in _COMPONENTS for c in spec.get(kind) or [] if isinstance(c, dict)
    ]
    if len(names) != len(set(names)):
        raise unprocessable("component names must be unique within an app")
    return {**spec, "region": region}


def _progress(phase: str) -> dict[str, Any]:
    order = ["PENDING_BUILD", "BUILDING", "PENDING_DEPLOY", "DEPLOYING", "ACTIVE"]
    done = order.index(phase) if phase in order else 0
    steps = [{"name": "build"}, {"name": "deploy"}]
    success = min(2, done // 2) if phase != "ACTIVE" else 2
    running = 0 if phase in _DONE else 1
    return {
        "success_steps": success,
        "total_steps": 2,
        "pending_steps": 2 - success - running,
        "running_steps": running,
        "error_steps": 0,
        "steps": steps,
    }


class Apps(DigitalOcean):
    def install(self) -> None:
        self.bind_all(
            {
                "apps_create": self.create,
                "apps_list": self.list,
                "apps_get": self.get,
                "apps_update": self.update,
                "apps_delete": self.delete,
                "apps_list_regions": self.regions,
                "apps_list_deployments": self.deployments,
                "apps_create_deployment": self.deploy,
                "apps_get_deployment": self.get_deployment,
                "apps_cancel_deployment": self.cancel,
            }
        )
        self.shared.effects["app:phase"] = self._advance
        self.semantics.seeders[FAMILY] = self._seed

    def _seed(self, tx: Transaction, runtime: Any) -> None:
        """Seed data: a live app with one service, its first deployment active."""
        s = self.session_in(tx)
        spec = {"name": "sample-app", "region": "nyc", "services": [{"name": "web"}]}
        app = self._new(s, {"spec": spec})
        deployment = s.tx.get(DEPLOYMENTS, app["in_progress_deployment"]["id"])
        assert deployment is not None
        self._set_phase(s, deployment, "ACTIVE")

    def regions(self, ctx: RequestContext) -> Reply:
        regions = [{**r, "default": r["slug"] == "nyc", "disabled": False} for r in APP_REGIONS]
        return self.reply(ctx, {"regions": regions})

    # -- deployments ------------------------------------------------------------------------

    def _start(self, s: Session, app: dict[str, Any], cause: str) -> dict[str, Any]:
        """A new deployment of the app's spec; one still in progress is superseded."""
        for old in s.tx.list(DEPLOYMENTS, parent=app["id"]).items:
            if old["phase"] not in _DONE:
                self._set_phase(s, old, "SUPERSEDED")
        ident = new_uuid(s, DEPLOYMENTS)
        spec = app["spec"]
        commit = hashlib.sha1(f"{ident}".encode()).hexdigest()
        deployment: dict[str, Any] = {
            "id": ident,
            "spec": spec,
            "cause": cause,
            "phase": "PENDING_BUILD",
            "phase_last_updated_at": s.stamp,
            "created_at": s.stamp,
            "updated_at": s.stamp,
            "progress": _progress("PENDING_BUILD"),
            "tier_slug": "basic",
            "__app": app["id"],
            **{
                kind: [
                    {"name": c.get("name", ""), "source_commit_hash": commit}
                    for c in spec.get(kind) or []
                    if isinstance(c, dict)
                ]
                for kind in _COMPONENTS
            },
        }
        s.tx.put(DEPLOYMENTS, ident, deployment, parent=app["id"])
        app["in_progress_deployment"] = deployment
        app["last_deployment_created_at"] = s.stamp
        app["updated_at"] = s.stamp
        s.tx.put(FAMILY, app["id"], app)
        self._schedule(s, app["id"], deployment)
        return deployment

    def _schedule(self, s: Session, app_id: str, deployment: dict[str, Any]) -> None:
        step = _NEXT.get(deployment["phase"])
        if step is not None:
            params = {"app": app_id, "from": deployment["phase"]}
            timer(s, s.settings.delay(step[1]), "app:phase", deployment["id"], params)

    def _set_phase(self, s: Session, deployment: dict[str, Any], phase: str) -> None:
        app_id = self._app_of(s, deployment)
        deployment.update(
            phase=phase,
            phase_last_updated_at=s.stamp,
            updated_at=s.stamp,
            progress=_progress(phase),
        )
        s.tx.put(DEPLOYMENTS, deployment["id"], deployment, parent=app_id)
        app = s.tx.get(FAMILY, app_id)
        if app is None:
            return
        if phase == "ACTIVE":
            previous = app.get("active_deployment")
            if previous and previous["id"] != deployment["id"]:
                old = s.tx.get(DEPLOYMENTS, previous["id"])
                if old is not None:
                    old.update(phase="SUPERSEDED", phase_last_updated_at=s.stamp)
                    s.tx.put(DEPLOYMENTS, old["id"], old, parent=app_id)
            app["active_deployment"] = deployment
            app["last_deployment_active_at"] = s.stamp
            app["live_url"] = app["default_ingress"]
            app["live_url_base"] = app["default_ingress"]
            app["live_domain"] = app["default_ingress"].removeprefix("https://")
        if app.get("in_progress_deployment", {}).get("id") == deployment["id"]:
            if phase in _DONE:
                app.pop("in_progress_deployment", None)
            else:
                app["in_progress_deployment"] = deployment
        s.tx.put(FAMILY, app_id, app)

    @staticmethod
    def _app_of(s: Session, deployment: dict[str, Any]) -> str:
        return str(deployment.get("__app") or "")

    def _advance(self, s: Session, key: str, params: dict[str, Any]) -> None:
        deployment = s.tx.get(DEPLOYMENTS, key)
        if deployment is None or deployment["phase"] != params.get("from"):
            return  # cancelled or superseded meanwhile
        deployment["__app"] = params["app"]
        moment = float(params.get("due", s.now))
        at = Session(s.tx, moment, s.settings)
        self._set_phase(at, deployment, _NEXT[params["from"]][0])
        self._schedule(at, params["app"], deployment)

    # -- apps -------------------------------------------------------------------------------

    @staticmethod
    def _view(item: dict[str, Any]) -> dict[str, Any]:
        return _strip(item)

    def _new(self, s: Session, body: dict[str, Any]) -> dict[str, Any]:
        spec = _spec(body)
        ident = new_uuid(s, FAMILY)
        region = _BY_SLUG[spec["region"]]
        host = f"{spec['name']}-{hashlib.sha1(ident.encode()).hexdigest()[:5]}"
        app: dict[str, Any] = {
            "id": ident,
            "owner_uuid": OWNER_UUID,
            "spec": spec,
            "default_ingress": f"https://{host}.ondigitalocean.app",
            "created_at": s.stamp,
            "updated_at": s.stamp,
            "region": region,
            "tier_slug": "basic",
            "project_id": "",
        }
        app["project_id"] = assign(s, f"do:app:{ident}", body.get("project_id"))["project_id"]
        s.tx.put(FAMILY, ident, app)
        self._start(s, app, "initial deployment")
        return s.tx.get(FAMILY, ident) or app

    def create(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        _spec(body)
        with self.session() as s:
            app = self._new(s, body)
        return self.reply(ctx, {"app": self._view(app)})

    def list(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            items = [self._view(a) for a in s.tx.list(FAMILY, parent=None).items]
        if not ctx.params.get("with_projects"):
            items = [{k: v for k, v in a.items() if k != "project_id"} for a in items]
        return self.page(ctx, "apps", items)

    def _load(self, s: Session, ctx: RequestContext, param: str) -> dict[str, Any]:
        app = s.tx.get(FAMILY, str(ctx.params.get(param)))
        if app is None:
            raise not_found()
        return app

    def get(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            app = self._load(s, ctx, "id")
        return self.reply(ctx, {"app": self._view(app)})

    def update(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        spec = _spec(body)
        with self.session() as s:
            app = self._load(s, ctx, "id")
            if spec["region"] != app["spec"].get("region"):
                raise unprocessable("an app's region cannot be changed")
            app["spec"] = spec
            s.tx.put(FAMILY, app["id"], app)
            self._start(s, app, "app spec updated")
            app = s.tx.get(FAMILY, app["id"]) or app
        return self.reply(ctx, {"app": self._view(app)})

    def delete(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            app = self._load(s, ctx, "id")
            for deployment in s.tx.list(DEPLOYMENTS, parent=app["id"]).items:
                s.tx.delete(DEPLOYMENTS, deployment["id"])
            s.tx.delete(FAMILY, app["id"])
            unassign(s, f"do:app:{app['id']}")
        return self.reply(ctx, {"id": app["id"]})

    def deployments(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            app = self._load(s, ctx, "app_id")
            items = s.tx.list(DEPLOYMENTS, parent=app["id"]).items
        return self.page(ctx, "deployments", [_strip(d) for d in reversed(items)])

    def deploy(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            app = self._load(s, ctx, "app_id")
            cause = "manual" + (" (force build)" if body.get("force_build") else "")
            deployment = self._start(s, app, cause)
        return self.reply(ctx, {"deployment": _strip(deployment)})

    def _deployment(self, s: Session, ctx: RequestContext) -> tuple[dict, dict]:
        app = self._load(s, ctx, "app_id")
        deployment = s.tx.get(DEPLOYMENTS, str(ctx.params.get("deployment_id")))
        if deployment is None or deployment.get("__app", app["id"]) != app["id"]:
            raise not_found()
        listed = s.tx.list(DEPLOYMENTS, parent=app["id"], filters={"id": deployment["id"]})
        if not listed.items:
            raise not_found()
        return app, deployment

    def get_deployment(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            _, deployment = self._deployment(s, ctx)
        return self.reply(ctx, {"deployment": _strip(deployment)})

    def cancel(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            app, deployment = self._deployment(s, ctx)
            if deployment["phase"] in _DONE:
                raise unprocessable(f"the deployment is already {deployment['phase']}")
            deployment["__app"] = app["id"]
            self._set_phase(s, deployment, "CANCELED")
        return self.reply(ctx, {"deployment": _strip(deployment)})


def _strip(item: dict[str, Any]) -> dict[str, Any]:
    """Without the twin's own bookkeeping (``__app``), also in nested deployments."""
    out = {k: v for k, v in item.items() if not k.startswith("__")}
    for key in ("active_deployment", "in_progress_deployment", "pending_deployment"):
        if isinstance(out.get(key), dict):
            out[key] = _strip(out[key])
    return out
