"""Monitoring alert policies and uptime checks with their alerts.

An alert policy watches droplets (``entities``, ids of droplets of the account) or tags;
a droplet's deletion takes it off the policies. An uptime check is ``CHECKING`` in each
of its regions until its first round has run on the twin clock, then ``UP`` (the twin
reaches no target); disabled, it stays as it was. Its alerts are deleted with it."""

from __future__ import annotations

from typing import Any

from apitwin.behaviours.digitalocean.account import ensure_tags, new_uuid
from apitwin.behaviours.digitalocean.context import (
    DigitalOcean,
    Session,
    integer_id,
    not_found,
    unprocessable,
)
from apitwin.behaviours.digitalocean.networking import ready
from apitwin.engine.context import Reply, RequestContext
from apitwin.state.store import Transaction

__all__ = ["Monitoring", "Uptime"]

POLICIES = "monitoring_alerts"
CHECKS = "uptime_checks"
ALERTS = "uptime_checks.alerts"
_POLICY_FIELDS = (
    "alerts",
    "compare",
    "description",
    "enabled",
    "entities",
    "tags",
    "type",
    "value",
    "window",
)
_CHECK_REGIONS = ("us_east", "us_west", "eu_west", "se_asia")


def _body(ctx: RequestContext) -> dict[str, Any]:
    return ctx.request.body if isinstance(ctx.request.body, dict) else {}


class Monitoring(DigitalOcean):
    def install(self) -> None:
        self.bind_all(
            {
                "monitoring_create_alertPolicy": self.create,
                "monitoring_list_alertPolicy": self.list,
                "monitoring_get_alertPolicy": self.get,
                "monitoring_update_alertPolicy": self.update,
                "monitoring_delete_alertPolicy": self.delete,
            }
        )

    def _fill(self, s: Session, policy: dict[str, Any], body: dict[str, Any]) -> None:
        kind = str(body.get("type", ""))
        entities = [str(e) for e in body.get("entities") or []]
        if kind.startswith("v1/insights/droplet/"):
            for entity in entities:
                ident = integer_id(entity)
                if ident is None or s.tx.get("droplets", str(ident)) is None:
                    raise unprocessable(f"entity {entity} is not a droplet of this account")
        elif kind.startswith("v1/insights/lbaas/"):
            for entity in entities:
                if s.tx.get("load_balancers", entity) is None:
                    raise unprocessable(f"entity {entity} is not a load balancer of this account")
        elif kind.startswith("v1/dbaas/"):
            for entity in entities:
                if s.tx.get("databases", entity) is None:
                    raise unprocessable(f"entity {entity} is not a database of this account")
        for field in _POLICY_FIELDS:
            if field in body:
                policy[field] = body[field]
        policy["entities"] = entities
        policy["tags"] = ensure_tags(s, body.get("tags"))

    def create(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            policy: dict[str, Any] = {"uuid": new_uuid(s, POLICIES)}
            self._fill(s, policy, _body(ctx))
            s.tx.put(POLICIES, policy["uuid"], policy)
        return self.reply(ctx, {"policy": policy})

    def list(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            items = s.tx.list(POLICIES, parent=None).items
            for policy in items:
                _forget_deleted(s, policy)
        return self.page(ctx, "policies", items)

    def _load(self, s: Session, ctx: RequestContext) -> dict[str, Any]:
        policy = s.tx.get(POLICIES, str(ctx.params.get("alert_uuid")))
        if policy is None:
            raise not_found()
        _forget_deleted(s, policy)
        return policy

    def get(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            policy = self._load(s, ctx)
        return self.reply(ctx, {"policy": policy})

    def update(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            policy = self._load(s, ctx)
            self._fill(s, policy, _body(ctx))
            s.tx.put(POLICIES, policy["uuid"], policy)
        return self.reply(ctx, {"policy": policy})

    def delete(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            s.tx.delete(POLICIES, self._load(s, ctx)["uuid"])
        return self.no_content(ctx)


class Uptime(DigitalOcean):
    def install(self) -> None:
        self.bind_all(
            {
                "uptime_check_create": self.create,
                "uptime_checks_list": self.list,
                "uptime_check_get": self.get,
                "uptime_check_update": self.update,
                "uptime_check_delete": self.delete,
                "uptime_check_state_get": self.state,
                "uptime_alert_create": self.create_alert,
                "uptime_check_alerts_list": self.list_alerts,
                "uptime_alert_get": self.get_alert,
                "uptime_alert_update": self.update_alert,
                "uptime_alert_delete": self.delete_alert,
            }
        )
        self.semantics.seeders[CHECKS] = self._seed

    def _seed(self, tx: Transaction, runtime: Any) -> None:
        """Seed data: a check of the seeded domain's site, alerting when it is down."""
        s = self.session_in(tx)
        check: dict[str, Any] = {
            "id": new_uuid(s, CHECKS),
            "name": "example.org",
            "type": "https",
            "target": "https://example.org",
            "regions": ["us_east", "eu_west"],
            "enabled": True,
            "__created": s.stamp,
        }
        s.tx.put(CHECKS, check["id"], check)
        alert: dict[str, Any] = {
            "id": new_uuid(s, ALERTS),
            "name": "down",
            "type": "down",
            "period": "2m",
            "notifications": {"email": ["owner@example.com"], "slack": []},
        }
        s.tx.put(ALERTS, alert["id"], alert, parent=check["id"])

    @staticmethod
    def _fill(check: dict[str, Any], body: dict[str, Any]) -> None:
        for field in ("name", "type", "target", "enabled"):
            if field in body:
                check[field] = body[field]
        if "regions" in body:
            regions = [r for r in dict.fromkeys(body["regions"] or []) if r in _CHECK_REGIONS]
            check["regions"] = regions or list(_CHECK_REGIONS[:1])
        target = str(check.get("target", ""))
        if check.get("type") in ("http", "https") and not target.startswith(f"{check['type']}://"):
            raise unprocessable(
                f"the target of a {check['type']} check must be a {check['type']} URL"
            )

    def create(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            check: dict[str, Any] = {
                "id": new_uuid(s, CHECKS),
                "name": "",
                "type": "https",
                "target": "",
                "regions": ["us_east", "eu_west"],
                "enabled": True,
            }
            self._fill(check, _body(ctx))
            check["__created"] = s.stamp
            s.tx.put(CHECKS, check["id"], check)
        return self.reply(ctx, {"check": _public(check)})

    def list(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            items = [_public(c) for c in s.tx.list(CHECKS, parent=None).items]
        return self.page(ctx, "checks", items)

    def _load(self, s: Session, ctx: RequestContext) -> dict[str, Any]:
        check = s.tx.get(CHECKS, str(ctx.params.get("check_id")))
        if check is None:
            raise not_found()
        return check

    def get(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            check = self._load(s, ctx)
        return self.reply(ctx, {"check": _public(check)})

    def update(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            check = self._load(s, ctx)
            self._fill(check, _body(ctx))
            s.tx.put(CHECKS, check["id"], check)
        return self.reply(ctx, {"check": _public(check)})

    def delete(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            check = self._load(s, ctx)
            for alert in s.tx.list(ALERTS, parent=check["id"]).items:
                s.tx.delete(ALERTS, alert["id"])
            s.tx.delete(CHECKS, check["id"])
        return self.no_content(ctx)

    def state(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            check = self._load(s, ctx)
            checked = ready(s, check["__created"], "uptime")
        status = "UP" if checked and check["enabled"] else "CHECKING"
        since = check["__created"]
        regions = {
            region: {
                "status": status,
                "status_changed_at": since,
                "thirty_day_uptime_percentage": 100 if checked else 0,
            }
            for region in check["regions"]
        }
        return self.reply(ctx, {"state": {"regions": regions, "previous_outage": {}}})

    # -- alerts -----------------------------------------------------------------------------

    @staticmethod
    def _fill_alert(check: dict[str, Any], alert: dict[str, Any], body: dict[str, Any]) -> None:
        for field in ("name", "type", "threshold", "comparison", "notifications", "period"):
            if field in body:
                alert[field] = body[field]
        kind = alert.get("type")
        if kind in ("latency", "ssl_expiry") and not isinstance(alert.get("threshold"), int):
            raise unprocessable(f"a {kind} alert needs a threshold")
        if kind == "latency" and alert.get("comparison") not in ("greater_than", "less_than"):
            raise unprocessable("a latency alert needs a comparison")
        if kind == "ssl_expiry" and check["type"] != "https":
            raise unprocessable("ssl_expiry alerts are only for https checks")

    def create_alert(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            check = self._load(s, ctx)
            alert: dict[str, Any] = {"id": new_uuid(s, ALERTS), "period": "2m"}
            self._fill_alert(check, alert, _body(ctx))
            s.tx.put(ALERTS, alert["id"], alert, parent=check["id"])
        return self.reply(ctx, {"alert": alert})

    def list_alerts(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            check = self._load(s, ctx)
            items = s.tx.list(ALERTS, parent=check["id"]).items
        return self.page(ctx, "alerts", items)

    def _alert(self, s: Session, ctx: RequestContext) -> tuple[dict, dict]:
        check = self._load(s, ctx)
        wanted = str(ctx.params.get("alert_id"))
        items = s.tx.list(ALERTS, parent=check["id"], filters={"id": wanted}).items
        if not items:
            raise not_found()
        return check, items[0]

    def get_alert(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            _, alert = self._alert(s, ctx)
        return self.reply(ctx, {"alert": alert})

    def update_alert(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            check, alert = self._alert(s, ctx)
            self._fill_alert(check, alert, _body(ctx))
            s.tx.put(ALERTS, alert["id"], alert, parent=check["id"])
        return self.reply(ctx, {"alert": alert})

    def delete_alert(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            _, alert = self._alert(s, ctx)
            s.tx.delete(ALERTS, alert["id"])
        return self.no_content(ctx)


def _forget_deleted(s: Session, policy: dict[str, Any]) -> None:
    """A deleted droplet is no longer watched by the policies that named it."""
    if str(policy.get("type", "")).startswith("v1/insights/droplet/"):
        policy["entities"] = [
            e for e in policy["entities"] if s.tx.get("droplets", str(e)) is not None
        ]


def _public(check: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in check.items() if not k.startswith("__")}
