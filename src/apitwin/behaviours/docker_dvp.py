"""Docker DVP pull analytics, computed from the pulls that really happened.

Every pull the Engine twin serves is recorded in the Hub's state (docker_catalog's
``record_pull``); this module reads them back and serves DVP's navigation (namespaces ->
years -> weeks or months -> data views) and the CSV files its leaves link to. As the
service documents, data exists only for complete periods: a week (Monday to Sunday, ISO
weeks) once it has ended, a month from the first day of the next one, measured on this
twin's clock, so a test moves the clock forward to see this week's pulls.

Login is the Hub's (same accounts, same JWTs, served at ``/v2/users/login`` on this
twin's port as the document's path-level server says); tokens minted from a personal
access token are refused, as the document says PATs are not supported here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from apitwin.behaviours.base import Behaviour, json_reply, reject
from apitwin.behaviours.docker_accounts import (
    Accounts,
    DockerAuthCheck,
    Identity,
    identity_of,
)
from apitwin.behaviours.docker_catalog import CATALOG, recorded_pulls
from apitwin.behaviours.docker_registry import HUB, REPOSITORIES
from apitwin.engine.context import Reply, RequestContext
from apitwin.twins.registry import bundled_profile

if TYPE_CHECKING:
    from apitwin.engine.twin import Twin

__all__ = ["Period", "install", "period_of", "render_csv"]

VIEWS = ("raw", "summary", "repo-summary")
RAW_COLUMNS = (
    "type",
    "host",
    "country",
    "timestamp",
    "namespace",
    "repository",
    "reference",
    "digest",
    "tag",
    "http_method",
    "action",
    "user_agent",
)
COUNTS = ("unique_ip_count", "pull_by_tag", "pull_by_digest", "version_check")
SUMMARY_COLUMNS = ("namespace", "repository", "reference", "tag", "digest", *COUNTS)
REPO_SUMMARY_COLUMNS = ("namespace", "repository", *COUNTS)
NOT_FOUND = "Not found."


def install(twin: Twin) -> None:
    if twin.semantics is None or twin.auth is None:
        return  # stateless: the document's answers
    DvpBehaviour(twin)


@dataclass(frozen=True, order=True)
class Period:
    """A week (ISO year and week) or a month (year and month)."""

    kind: str  # weeks | months
    year: int
    number: int

    @property
    def start(self) -> date:
        if self.kind == "weeks":
            return date.fromisocalendar(self.year, self.number, 1)
        return date(self.year, self.number, 1)

    @property
    def end(self) -> date:
        """The first day after the period."""
        if self.kind == "weeks":
            return self.start + timedelta(days=7)
        if self.number == 12:
            return date(self.year + 1, 1, 1)
        return date(self.year, self.number + 1, 1)

    def complete_at(self, now: datetime) -> bool:
        return now.date() >= self.end


def period_of(kind: str, moment: datetime) -> Period:
    if kind == "weeks":
        iso = moment.isocalendar()
        return Period(kind, iso.year, iso.week)
    return Period(kind, moment.year, moment.month)


def _moment(pull: dict[str, Any]) -> datetime | None:
    text = str(pull.get("time", ""))
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _action(pull: dict[str, Any]) -> str:
    action = str(pull.get("action") or "")
    if action in ("pull_by_tag", "pull_by_digest", "version_check"):
        return action
    if str(pull.get("reference", "")).startswith("sha256:") or pull.get("by_digest"):
        return "pull_by_digest"
    return "pull_by_tag"


def _raw_row(pull: dict[str, Any], moment: datetime) -> dict[str, str]:
    action = _action(pull)
    tag = "" if action == "pull_by_digest" else str(pull.get("tag") or "")
    digest = str(pull.get("digest") or "")
    return {
        "type": str(pull.get("type") or ""),
        "host": str(pull.get("host") or ""),
        "country": str(pull.get("country") or ""),
        "timestamp": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "namespace": str(pull.get("namespace") or ""),
        "repository": str(pull.get("repository") or ""),
        "reference": tag or digest,
        "digest": digest,
        "tag": tag,
        "http_method": str(pull.get("http_method") or "GET"),
        "action": action,
        "user_agent": str(pull.get("user_agent") or ""),
    }


def _summarize(
    pulls: Iterable[dict[str, Any]], keys: tuple[str, ...]
) -> list[dict[str, str | int]]:
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for pull in pulls:
        row = _raw_row(pull, _moment(pull) or datetime.now(UTC))
        group = tuple(row[k] for k in keys)
        entry = groups.setdefault(
            group, {**{k: row[k] for k in keys}, "ips": set(), **dict.fromkeys(COUNTS[1:], 0)}
        )
        entry["ips"].add(str(pull.get("ip") or pull.get("remote_addr") or "unknown"))
        entry[row["action"]] += 1
    rows: list[dict[str, str | int]] = []
    for group in sorted(groups):
        entry = groups[group]
        ips = entry.pop("ips")
        rows.append({**entry, "unique_ip_count": len(ips)})
    return rows


def render_csv(view: str, pulls: list[dict[str, Any]]) -> bytes:
    """The CSV file of one data view over the pulls of one period."""
    out = io.StringIO()
    rows: list[dict[str, Any]]
    if view == "raw":
        columns: tuple[str, ...] = RAW_COLUMNS
        dated = [(m, p) for p in pulls if (m := _moment(p)) is not None]
        rows = [_raw_row(p, m) for m, p in sorted(dated, key=lambda pair: pair[0])]
    elif view == "summary":
        columns = SUMMARY_COLUMNS
        rows = _summarize(pulls, ("namespace", "repository", "reference", "tag", "digest"))
    else:
        columns = REPO_SUMMARY_COLUMNS
        rows = _summarize(pulls, ("namespace", "repository"))
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


class DvpBehaviour(Behaviour):
    def __init__(self, twin: Twin) -> None:
        super().__init__(twin)
        config = twin.profile.extra.get("accounts") or {}
        if isinstance(config, str):  # the accounts of another twin's profile (the Hub)
            config = bundled_profile(config).extra.get("accounts") or {}
        self.accounts = Accounts(twin, dict(config))
        check = DockerAuthCheck(self.accounts, refuse_pat=True)
        for op in self.operations.values():
            if op.auth is not None:
                op.auth = check
        self.bind_all(
            {
                "PostUsersLogin": self.accounts.login,
                "PostUsers2FALogin": self.accounts.second_factor,
                "getNamespaces": self.namespaces,
                "getNamespace": self.namespace,
                "getNamespaceYears": self.years,
                "getNamespaceTimespans": self.timespans,
                "getNamespaceTimespanMetadata": self.timespan,
                "getNamespaceDataByTimespan": self.data,
                "getNamespaceExportFile": self.export_file,
            }
        )

    # -- what the caller may see ------------------------------------------------------------

    def _now(self) -> datetime:
        assert self.twin.auth is not None
        return datetime.fromtimestamp(self.twin.auth.clock.now(), UTC)

    def _known_namespaces(self) -> set[str]:
        """Namespaces of the catalogue, of the Hub's repositories and of recorded pulls."""
        assert self.twin.auth is not None
        store = self.twin.auth.store
        names = {image.namespace for image in CATALOG}
        with store.transaction(HUB, write=False) as tx:
            names.update(str(r["namespace"]) for r in tx.list(REPOSITORIES, parent=None).items)
        names.update(str(p.get("namespace")) for p in recorded_pulls(store))
        return names

    @staticmethod
    def _allowed(who: Identity | None, namespace: str) -> bool:
        return who is None or who.username is None or who.may_write(namespace)

    def _namespace(self, ctx: RequestContext) -> str:
        namespace = str(ctx.params["namespace"])
        if namespace not in self._known_namespaces():
            raise reject(404, NOT_FOUND)
        if not self._allowed(identity_of(self.accounts, ctx.parts), namespace):
            raise reject(403, "You do not have permission to perform this action.")
        return namespace

    def _periods(self, namespace: str, kind: str) -> dict[Period, list[dict[str, Any]]]:
        """Complete periods of one kind that hold pulls of the namespace, with the pulls."""
        assert self.twin.auth is not None
        now = self._now()
        periods: dict[Period, list[dict[str, Any]]] = {}
        for pull in recorded_pulls(self.twin.auth.store, namespace):
            moment = _moment(pull)
            if moment is None:
                continue
            period = period_of(kind, moment)
            if period.complete_at(now):
                periods.setdefault(period, []).append(pull)
        return periods

    def _period(self, ctx: RequestContext) -> tuple[str, Period, list[dict[str, Any]]]:
        namespace = self._namespace(ctx)
        kind = str(ctx.params["timespantype"])
        try:
            period = Period(kind, int(ctx.params["year"]), int(ctx.params["timespan"]))
            period.start  # noqa: B018 - raises for week 54 or month 13
        except (ValueError, OverflowError):
            raise reject(404, NOT_FOUND) from None
        pulls = self._periods(namespace, kind).get(period)
        if pulls is None:
            raise reject(404, NOT_FOUND)
        return namespace, period, pulls

    # -- handlers -------------------------------------------------------------------------

    def namespaces(self, ctx: RequestContext) -> Reply:
        who = identity_of(self.accounts, ctx.parts)
        names = sorted(n for n in self._known_namespaces() if self._allowed(who, n))
        return json_reply({"namespaces": names})

    def namespace(self, ctx: RequestContext) -> Reply:
        namespace = self._namespace(ctx)
        return json_reply(
            {
                "namespace": namespace,
                "extraRepos": [],
                "datasets": [
                    {"name": "pulls", "views": list(VIEWS), "timespans": ["months", "weeks"]}
                ],
            }
        )

    def years(self, ctx: RequestContext) -> Reply:
        namespace = self._namespace(ctx)
        years: set[int] = set()
        for kind in ("weeks", "months"):
            years.update(period.year for period in self._periods(namespace, kind))
        return json_reply({"years": [{"year": y} for y in sorted(years)]})

    def timespans(self, ctx: RequestContext) -> Reply:
        namespace = self._namespace(ctx)
        kind, year = str(ctx.params["timespantype"]), int(ctx.params["year"])
        numbers = sorted(p.number for p in self._periods(namespace, kind) if p.year == year)
        field = "week" if kind == "weeks" else "month"
        return json_reply({kind: [{field: n} for n in numbers]})

    def timespan(self, ctx: RequestContext) -> Reply:
        _, period, _ = self._period(ctx)
        return json_reply({"week" if period.kind == "weeks" else "month": period.number})

    def data(self, ctx: RequestContext) -> Reply:
        _, period, pulls = self._period(ctx)
        view = str(ctx.params["dataview"])
        body = render_csv(view, pulls)
        url = f"{ctx.origin}{ctx.path.split('?', 1)[0].rstrip('/')}/{view}.csv"
        return json_reply({"data": [{"url": url, "size": len(body)}]})

    def export_file(self, ctx: RequestContext) -> Reply:
        _, _, pulls = self._period(ctx)
        view = str(ctx.params["dataview"])
        if ctx.params.get("file") != f"{view}.csv":
            raise reject(404, NOT_FOUND)
        return Reply(200, [(b"content-type", b"text/csv; charset=utf-8")], render_csv(view, pulls))
