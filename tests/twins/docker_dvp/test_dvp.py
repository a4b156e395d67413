"""DVP pull analytics: login, and CSV exports computed from the pulls the Engine twin
records (through docker_catalog.record_pull, as the Engine calls it), for complete weeks
and months on the twin clock."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from apitwin.behaviours.docker_catalog import digest_of, find_image, record_pull
from apitwin.state.memory import MemoryStore
from apitwin.state.stores import open_store
from tests.conftest import start_twin, stop_twin
from tests.conventions.conftest import TwinClient
from tests.state.conftest import POSTGRES_DSN
from tests.twins.conftest import DVP_BASE, MOBY, advance, login

MODES = ("open", "strict")
EXPORTS = f"{DVP_BASE}/namespaces/library/pulls/exports/years"


def pull(store: MemoryStore, reference: str, when: datetime, **extra: str) -> None:
    """One pull recorded the way the Engine twin records it."""
    found = find_image(reference)
    assert found is not None
    stamp = when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    record_pull(store, found[0], found[1], stamp, **extra)


def rows(client: TwinClient, url: str) -> list[dict[str, str]]:
    link = urlsplit(url)
    response = client.get(f"{link.path}?{link.query}" if link.query else link.path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def now_of(client: TwinClient) -> datetime:
    return datetime.fromtimestamp(client.get("/__apitwin__/clock").json()["now"], UTC)


@pytest.mark.parametrize("mode", MODES)
def test_login_outside_the_base_path(twin: Callable[..., TwinClient], mode: str) -> None:
    dvp = twin("docker-dvp", auth=mode)
    header = login(dvp)  # at /v2/users/login: the document's path-level server
    assert dvp.get(f"{DVP_BASE}/", headers=header).status_code == 200
    missing = dvp.get(f"{DVP_BASE}/")
    assert missing.status_code == 401
    assert missing.json() == {"detail": "Authentication credentials were not provided."}
    wrong = dvp.post("/v2/users/login", json={"username": "moby", "password": "x"})
    assert wrong.status_code == 401 and wrong.json()["detail"]
    if mode == "strict":
        forged = {"Authorization": "Bearer not-issued"}
        assert dvp.get(f"{DVP_BASE}/", headers=forged).status_code == 401


@pytest.mark.parametrize("mode", MODES)
def test_tokens_from_a_pat_are_refused(twin: Callable[..., TwinClient], mode: str) -> None:
    store = MemoryStore()
    hub = twin("docker-hub", auth=mode, store=store)
    dvp = twin("docker-dvp", auth=mode, store=store)
    created = hub.post(
        "/v2/access-tokens",
        json={"token_label": "dvp", "scopes": ["repo:read"]},
        headers=login(hub),
    ).json()
    header = login(dvp, {"username": "moby", "password": created["token"]})
    response = dvp.get(f"{DVP_BASE}/", headers=header)
    assert response.status_code == 403
    assert "PAT" in response.json()["detail"]


def test_hub_login_works_on_dvp_in_strict_mode(twin: Callable[..., TwinClient]) -> None:
    store = MemoryStore()
    hub = twin("docker-hub", auth="strict", store=store)
    dvp = twin("docker-dvp", auth="strict", store=store)
    header = login(hub)
    namespaces = dvp.get(f"{DVP_BASE}/", headers=header).json()["namespaces"]
    assert "library" in namespaces and "traefik" in namespaces


def test_a_pull_shows_up_in_the_raw_csv_of_its_week(twin: Callable[..., TwinClient]) -> None:
    store = MemoryStore()
    dvp = twin("docker-dvp", auth="strict", store=store)
    header = login(dvp)
    now = now_of(dvp)
    pull(store, "alpine:3.20", now, user_agent="docker/28.0.1 go/go1.23", ip="10.1.1.1")
    year, week, _ = now.isocalendar()
    period = f"{EXPORTS}/{year}/weeks/{week}"
    # the week is not over: no data yet
    assert dvp.get(period, headers=header).status_code == 404
    assert dvp.get(f"{period}/raw", headers=header).status_code == 404
    assert {"week": week} not in dvp.get(f"{EXPORTS}/{year}/weeks", headers=header).json()["weeks"]
    advance(dvp, 8 * 24 * 3600)  # past the Sunday of that week
    assert dvp.get(period, headers=header).json() == {"week": week}
    assert {"week": week} in dvp.get(f"{EXPORTS}/{year}/weeks", headers=header).json()["weeks"]
    assert {"year": year} in dvp.get(EXPORTS, headers=header).json()["years"]
    data = dvp.get(f"{period}/raw", headers=header).json()["data"]
    assert len(data) == 1
    lines = rows(dvp, data[0]["url"])
    alpine = find_image("alpine:3.20")
    assert alpine is not None
    assert lines == [
        {
            "type": "",
            "host": "",
            "country": "",
            "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "namespace": "library",
            "repository": "alpine",
            "reference": "3.20",
            "digest": digest_of(*alpine),
            "tag": "3.20",
            "http_method": "GET",
            "action": "pull_by_tag",
            "user_agent": "docker/28.0.1 go/go1.23",
        }
    ]
    link = urlsplit(data[0]["url"])
    assert data[0]["size"] == len(dvp.get(link.path).content)


def test_summaries_count_pulls_and_unique_ips(twin: Callable[..., TwinClient]) -> None:
    store = MemoryStore()
    dvp = twin("docker-dvp", store=store)
    header = login(dvp)
    monday = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # ISO week 10 of 2025
    pull(store, "nginx:1.27", monday, ip="10.0.0.1")
    pull(store, "nginx:1.27", monday + timedelta(days=2), ip="10.0.0.2")
    pull(store, "nginx:latest", monday + timedelta(days=6, hours=14), ip="10.0.0.1")
    pull(store, "nginx:latest", monday + timedelta(days=7), ip="10.0.0.3")  # week 11
    pull(store, "redis:7", monday, ip="10.0.0.9", action="pull_by_digest")
    summary = dvp.get(f"{EXPORTS}/2025/weeks/10/summary", headers=header).json()["data"][0]
    by_ref = {(r["repository"], r["reference"]): r for r in rows(dvp, summary["url"])}
    assert by_ref[("nginx", "1.27")]["pull_by_tag"] == "2"
    assert by_ref[("nginx", "1.27")]["unique_ip_count"] == "2"
    assert by_ref[("nginx", "latest")]["pull_by_tag"] == "1"
    redis = find_image("redis:7")
    assert redis is not None
    assert by_ref[("redis", digest_of(*redis))]["pull_by_digest"] == "1"
    repo = dvp.get(f"{EXPORTS}/2025/weeks/10/repo-summary", headers=header).json()["data"][0]
    by_repo = {r["repository"]: r for r in rows(dvp, repo["url"])}
    assert by_repo["nginx"]["pull_by_tag"] == "3" and by_repo["nginx"]["unique_ip_count"] == "2"
    month = dvp.get(f"{EXPORTS}/2025/months/3/repo-summary", headers=header).json()["data"][0]
    assert {r["repository"]: r for r in rows(dvp, month["url"])}["nginx"]["pull_by_tag"] == "4"
    assert dvp.get(f"{EXPORTS}/2025/months", headers=header).json() == {"months": [{"month": 3}]}


def test_unknown_periods_and_namespaces_are_404(twin: Callable[..., TwinClient]) -> None:
    store = MemoryStore()
    dvp = twin("docker-dvp", store=store)
    header = login(dvp)
    pull(store, "busybox", datetime(2025, 3, 3, tzinfo=UTC))
    for path in (
        f"{EXPORTS}/2025/weeks/54",
        f"{EXPORTS}/2025/months/13",
        f"{EXPORTS}/2025/weeks/11",  # complete, but no pulls
        f"{DVP_BASE}/namespaces/nobody-here/pulls/exports/years",
    ):
        response = dvp.get(path, headers=header)
        assert response.status_code == 404, path
        assert response.json() == {"detail": "Not found."}
    bad = dvp.get(f"{EXPORTS}/2025/days/3", headers=header)
    assert bad.status_code == 400


def test_a_user_sees_only_their_namespaces(twin: Callable[..., TwinClient]) -> None:
    store = MemoryStore()
    hub = twin("docker-hub", store=store)
    dvp = twin("docker-dvp", store=store)
    someone = {"username": "someone42", "password": "pw"}
    hub.post(
        "/v2/namespaces/someone42/repositories", json={"name": "app"}, headers=login(hub, someone)
    )
    header = login(dvp, someone)
    assert dvp.get(f"{DVP_BASE}/", headers=header).json() == {"namespaces": ["someone42"]}
    meta = dvp.get(f"{DVP_BASE}/namespaces/someone42", headers=header).json()
    assert meta["namespace"] == "someone42" and meta["datasets"][0]["name"] == "pulls"
    assert set(meta["datasets"][0]["views"]) == {"raw", "summary", "repo-summary"}
    refused = dvp.get(f"{DVP_BASE}/namespaces/library", headers=header)
    assert refused.status_code == 403
    moby = dvp.get(f"{DVP_BASE}/", headers=login(dvp, MOBY)).json()["namespaces"]
    assert "library" in moby and "someone42" not in moby


def test_stateless_dvp_answers_from_the_document(twin: Callable[..., TwinClient]) -> None:
    dvp = twin("docker-dvp", stateful=False)
    response = dvp.get(f"{DVP_BASE}/", headers={"Authorization": "Bearer x"})
    assert response.status_code == 200 and "namespaces" in response.json()


def test_served_hub_and_dvp_share_pulls_through_postgresql() -> None:
    dsn = POSTGRES_DSN
    hub = start_twin("docker-hub", "--store", dsn, "--auth", "strict")
    dvp = start_twin("docker-dvp", "--store", dsn, "--auth", "strict")
    store = open_store(dsn, Path("."))
    try:
        httpx.post(f"{hub.base_url}/__apitwin__/reset")
        token = httpx.post(
            f"{dvp.base_url.split('/api/')[0]}/v2/users/login",
            json={"username": "moby", "password": "moby-password"},
        ).json()["token"]
        header = {"Authorization": f"Bearer {token}"}
        found = find_image("hello-world")
        assert found is not None
        record_pull(store, found[0], found[1], "2024-02-07T12:00:00Z", user_agent="docker/27")
        base = dvp.base_url.rstrip("/")
        url = f"{base}/namespaces/library/pulls/exports/years/2024/weeks/6/raw"
        data = httpx.get(url, headers=header)
        assert data.status_code == 200, data.text
        csv_text = httpx.get(data.json()["data"][0]["url"]).text
        assert "hello-world" in csv_text and "docker/27" in csv_text
    finally:
        store.close()
        stop_twin(hub)
        stop_twin(dvp)
