"""Run every benchmark and write bench/RESULTS.md: `make bench`.

Usage: python bench/run.py [--only startup,state_growth,peers,servers,workers] [--runs 5]
       [--rounds 3] [--duration 5] [--dsn DSN] [--render-only]

Steps, in order (each a script of its own that also runs by hand):

1. bench/startup.py: cold start and peak RSS of `apitwin serve`, all 13 bundled twins and
   dnd5e alone, with the default SQLite store (fresh temporary --data-dir) and with
   --store memory.
2. bench/state_growth.py: GET by id and a list page at N = 100 and N = 100,000 stored
   droplets, SQLite and PostgreSQL, loaded with wrk.
3. bench/peers.py: apitwin (all 13 twins in one process) against Stoplight Prism
   (installed into bench/.cache/ with npm when missing) and the bare ASGI ceiling
   (bench/ceiling.py) on the same requests, taking turns round by round; peak RSS of both.
4. bench/servers.py: the ASGI server, uvicorn (httptools, uvloop) against granian, each
   serving the twin of every scenario of step 3 and the bare ceiling app, taking turns.
5. bench/workers.py: `apitwin serve --workers 1` against `--workers 2` on the
   DigitalOcean GET of step 3.

Everything a step prints, and its JSON, is kept under bench/raw/. A full run replaces
the files of every step first (other files there, kept by hand, stay);
``--only`` replaces the files of the chosen steps and keeps the others, so that
RESULTS.md still shows every step (the partial run's date, commit and load are noted
beside the full run's). RESULTS.md is built from those files (``--render-only`` rebuilds it without
measuring), keeping its hand-written sections (``KEPT_SECTIONS``). wrk is installed with
apt-get when it is missing; the PostgreSQL half of step 2 needs a reachable server
(default DSN below).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RAW = BENCH / "raw"
RESULTS = BENCH / "RESULTS.md"
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
PACKAGES = (
    "apitwin",
    "uvicorn",
    "jsonschema-rs",
    "psycopg",
    "orjson",
    "uvloop",
    "httptools",
    "granian",
)

STARTUP_TARGET_S = 1.5  # all 13 twins answer within
STARTUP_TARGET_MB = 150.0  # peak RSS of the process serving all 13
GROWTH_TARGET = 0.8  # N = 100,000 keeps at least this share of the N = 100 throughput
# Peer comparison targets by scenario kind: apitwin req/s over Prism's, apitwin req/s over
# the ceiling's, apitwin's p99 in ms (None: no target).
PEER_TARGETS: dict[str, tuple[float | None, float | None, float | None]] = {
    "get": (10.0, 0.40, 5.0),
    "create": (8.0, None, 10.0),
    "reject": (None, None, None),
}
RSS_AFTER_LOAD_TARGET_MB = 150.0  # apitwin serving all 13, after the peer comparison
WRK_STEPS = ("state_growth", "peers", "servers", "workers")
# Sections of RESULTS.md written by hand (a profile, say), carried over when it is rebuilt.
KEPT_SECTIONS = ("## Profile", "## Webhook delivery", "## Hot path")

# (raw file stem, twins (empty: all bundled), store)
STARTUP_CASES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("startup-all-sqlite", (), "sqlite"),
    ("startup-dnd5e-sqlite", ("dnd5e",), "sqlite"),
    ("startup-all-memory", (), "memory"),
    ("startup-dnd5e-memory", ("dnd5e",), "memory"),
)


# -- running the steps -----------------------------------------------------------------------


def run_step(stem: str, command: list[str], timeout_s: float) -> dict[str, Any]:
    """Run one benchmark script, echoing and keeping its output; its JSON result."""
    json_path = RAW / f"{stem}.json"
    print(f"$ {' '.join(command)}", flush=True)
    started = time.monotonic()
    with (RAW / f"{stem}.txt").open("w") as log:
        process = subprocess.Popen(
            [*command, "--json", str(json_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            log.write(line)
            if time.monotonic() - started > timeout_s:
                process.kill()
                break
        code = process.wait(timeout=60)
    if code != 0:
        raise SystemExit(f"{stem} failed (exit status {code}); see {RAW / (stem + '.txt')}")
    return dict(json.loads(json_path.read_text()))


def startup(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    results = {}
    for stem, twins, store in STARTUP_CASES:
        command = [sys.executable, "bench/startup.py", "--runs", str(args.runs), "--store", store]
        results[stem] = run_step(stem, [*command, *twins], timeout_s=600)
    return results


def state_growth(args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        "bench/state_growth.py",
        "--rounds",
        str(args.rounds),
        "--duration",
        str(args.duration),
        "--dsn",
        args.dsn,
        "--raw",
        str(RAW / "wrk"),
    ]
    return run_step("state_growth", command, timeout_s=3600)


def peer_comparison(args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        "bench/peers.py",
        "--rounds",
        str(args.rounds),
        "--duration",
        str(args.duration),
        "--raw",
        str(RAW / "wrk"),
    ]
    return run_step("peers", command, timeout_s=3600)


def servers(args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        "bench/servers.py",
        "--rounds",
        str(args.rounds),
        "--duration",
        str(args.duration),
        "--raw",
        str(RAW / "wrk"),
    ]
    return run_step("servers", command, timeout_s=2400)


def workers(args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        "bench/workers.py",
        "--rounds",
        str(args.rounds),
        "--duration",
        str(args.duration),
        "--raw",
        str(RAW / "wrk"),
    ]
    return run_step("workers", command, timeout_s=1800)


def ensure_wrk() -> None:
    """Install wrk with apt-get (Debian, Ubuntu) when it is not on PATH."""
    if shutil.which("wrk") is not None:
        return
    apt = shutil.which("apt-get")
    if apt is None:
        raise SystemExit("wrk is not installed and there is no apt-get to install it with")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    print("installing wrk with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*sudo, apt, "install", "-y", "--no-install-recommends", "wrk"]
    if subprocess.run(install, env=env, timeout=600).returncode != 0:
        subprocess.run([*sudo, apt, "update"], env=env, timeout=600, check=True)
        subprocess.run(install, env=env, timeout=600, check=True)
    if shutil.which("wrk") is None:
        raise SystemExit("apt-get did not install wrk")


# -- the machine and the software ------------------------------------------------------------


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _command_output(command: list[str], *, check: bool = False) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    if check and out.returncode != 0:  # not a git checkout, say: the report says "unknown"
        return ""
    return (out.stdout or out.stderr).strip()


def _postgres_version(dsn: str) -> str:
    try:
        import psycopg

        with psycopg.connect(dsn, connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else "unknown"
    except Exception as exc:  # the report says why, the benchmark step fails on its own
        return f"unreachable ({type(exc).__name__})"


def environment(dsn: str) -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    commit = _command_output(["git", "rev-parse", "--short", "HEAD"], check=True)
    changed = _command_output(
        ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],
        check=True,
    )
    wrk = _command_output(["wrk", "--version"]).splitlines()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gib": round(_memory_gib(), 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": versions,
        "sqlite": sqlite3.sqlite_version,
        "postgresql": _postgres_version(dsn),
        "wrk": wrk[0].split(" [")[0] if wrk else "not installed",
        "commit": f"{commit}{' with local changes' if changed else ''}" if commit else "unknown",
        "load_before": _load(),
    }


# -- RESULTS.md ------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "meets" if ok else "**misses**"


def _render_startup(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "## Cold start",
        "",
        "`python -m apitwin serve [NAME]` from process start until every port answers "
        "`GET /__apitwin__/` (*ready*), then until one documented GET per twin has answered "
        "(*first answers*; stateful twins seed their state there); peak RSS is the "
        "process's VmHWM after those requests. SQLite runs get a fresh temporary "
        "`--data-dir` each. *CPU until ready* is the process's user + system time at "
        "*ready*: on a busy machine wall time also counts waiting for a CPU. Medians of "
        f"{next(iter(results.values()))['runs'].__len__()} runs; targets for all 13 twins: "
        f"ready < {STARTUP_TARGET_S} s, peak RSS < {STARTUP_TARGET_MB:.0f} MB.",
        "",
        "| twins | store | ready | CPU until ready | first answers | peak RSS "
        "| runs (ready, s) | target |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for summary in results.values():
        count = len(summary["twins"])
        label = f"all {count}" if count > 1 else summary["twins"][0]
        ready = summary["median_ready_s"]
        rss = summary["median_peak_rss_mb"]
        runs = ", ".join(f"{r['ready_s']:.2f}" for r in summary["runs"])
        if count > 1:
            target = (
                f"time {_verdict(ready < STARTUP_TARGET_S)}, "
                f"RSS {_verdict(rss < STARTUP_TARGET_MB)}"
            )
        else:
            target = "none"
        lines.append(
            f"| {label} | {summary['store']} | {ready:.2f} s | {summary['median_cpu_s']:.2f} s | "
            f"{summary['median_answered_s']:.2f} s | {rss:.0f} MB | {runs} | {target} |"
        )
    failed = {
        f"{summary['store']}/{name}": status
        for summary in results.values()
        for run in summary["runs"]
        for name, status in run["failed_probes"].items()
    }
    if failed:
        lines += ["", f"Probes that did not answer 2xx: {failed}."]
    return [*lines, ""]


def _render_growth(result: dict[str, Any]) -> list[str]:
    small, large = min(result["sizes"]), max(result["sizes"])
    cpu_limit = 1 / GROWTH_TARGET
    lines = [
        "## State growth",
        "",
        f"The DigitalOcean twin with N stored droplets (filled through the store API), "
        f"served with `--kept-replies off` so that every request reads the store, "
        f"loaded with wrk ({result['threads']} threads, {result['connections']} connections, "
        f"{result['duration_s']} s per measurement after 1 s of warm-up, "
        f"`Authorization: Bearer x`). *get*: `GET /v2/droplets/{{id}}` with a random id "
        f"1..N per request; *list*: `GET /v2/droplets?per_page=20`; *deep*: the last page "
        f"of 20 (`&page=N/20`, informational, 1 thread and 1 connection so that slow "
        f"pages do not queue up behind each other). N = {small} and N = {large:,} alternate "
        f"over {result['rounds']} rounds (A B A B ...); figures are medians over the rounds. "
        f"*CPU* is the user + system time per answered request of the twin process plus, "
        f"for PostgreSQL, of the database backend serving it. The *ratios* are medians over "
        f"rounds of N = {large:,} against N = {small} in the same round. Target for get and "
        f"list: req/s ratio >= {GROWTH_TARGET:.2f}; the CPU ratio (<= {cpu_limit:.2f} for "
        "the same 20%) is the reading that other work on the machine disturbs least. "
        "PostgreSQL is refilled and VACUUM ANALYZE'd before every server start.",
        "",
        f"| store | request | N = {small}: req/s | p50 | p99 | CPU | N = {large:,}: req/s "
        "| p50 | p99 | CPU | req/s ratio | CPU ratio | target (req/s, CPU) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    cases = {(c["backend"], c["endpoint"], c["n"]): c for c in result["cases"]}
    for backend, ratios in result["ratios"].items():
        for endpoint, ratio in ratios.items():
            a, b = cases[(backend, endpoint, small)], cases[(backend, endpoint, large)]
            cpu_ratio = result["cpu_ratios"][backend][endpoint]
            target = (
                f"{_verdict(ratio >= GROWTH_TARGET)}, {_verdict(cpu_ratio <= cpu_limit)}"
                if endpoint != "deep"
                else "none"
            )
            cells = [backend, endpoint]
            for case in (a, b):
                cells += [
                    f"{case['median_rps']:,.0f}",
                    f"{case['median_p50_ms']:.1f} ms",
                    f"{case['median_p99_ms']:.1f} ms",
                    f"{case['median_cpu_us']:,.0f} us",
                ]
            cells += [f"{ratio:.2f}", f"{cpu_ratio:.2f}", target]
            lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Per round, N = {small} / N = {large:,}: req/s, and CPU per request in us "
        "(twin + database):",
        "",
    ]
    rounds: dict[tuple[str, str], dict[int, dict[int, dict[str, Any]]]] = {}
    for m in result["measurements"]:
        rounds.setdefault((m["backend"], m["endpoint"]), {}).setdefault(m["round"], {})[m["n"]] = m
    for (backend, endpoint), by_round in rounds.items():
        cells = []
        for _, by_n in sorted(by_round.items()):
            a, b = by_n.get(small), by_n.get(large)
            if a is None or b is None:
                continue
            cells.append(
                f"{a['requests_per_s']:,.0f} / {b['requests_per_s']:,.0f} req/s, "
                f"{a['twin_cpu_us'] + a['db_cpu_us']:,.0f} / "
                f"{b['twin_cpu_us'] + b['db_cpu_us']:,.0f} us"
            )
        lines.append(f"- {backend} {endpoint}: {'; '.join(cells)}")
    fills = result["populate_s"]
    peaks = result["server_peak_rss_mb"]
    lines += [
        "",
        f"| store | filling N = {large:,} through the store API | twin peak RSS, N = {small} "
        f"| N = {large:,} |",
        "|---|---:|---:|---:|",
    ]
    for backend in fills:
        lines.append(
            f"| {backend} | {fills[backend].get(str(large), 0):.1f} s | "
            f"{peaks.get(backend, {}).get(str(small), 0):.0f} MB | "
            f"{peaks.get(backend, {}).get(str(large), 0):.0f} MB |"
        )
    if result.get("notes"):
        lines += ["", *(f"Note: {note}" for note in result["notes"])]
    return lines


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"


def _peer_verdicts(kind: str, ratio_prism: float, ratio_ceiling: float, p99: float) -> list[str]:
    """The issue's targets for one scenario, each met or missed and by how much."""
    want_prism, want_ceiling, want_p99 = PEER_TARGETS.get(kind, (None, None, None))
    found = []
    if want_prism is not None:
        ok = ratio_prism >= want_prism
        found.append(
            f"x Prism >= {want_prism:.0f}: "
            + ("meets" if ok else f"**misses** ({1 - ratio_prism / want_prism:.0%} short)")
        )
    if want_ceiling is not None:
        ok = ratio_ceiling >= want_ceiling
        found.append(
            f"ceiling >= {want_ceiling:.0%}: "
            + ("meets" if ok else f"**misses** ({(want_ceiling - ratio_ceiling) * 100:.0f} points)")
        )
    if want_p99 is not None:
        ok = p99 < want_p99
        found.append(
            f"p99 < {want_p99:.0f} ms: "
            + ("meets" if ok else f"**misses** (x{p99 / want_p99:.1f} the limit)")
        )
    return found or ["none"]


def _render_peers(result: dict[str, Any]) -> list[str]:
    scenarios = {s["name"]: s for s in result["scenarios"]}
    summary = {(s["scenario"], s["target"]): s for s in result["summaries"]}
    order = [name for name in scenarios if name in result["ratio_prism"]]
    store = (
        "the default SQLite store in a fresh temporary `--data-dir`"
        if result["store"] == "sqlite"
        else "`--store memory`"
    )
    lines = [
        "## Peer comparison",
        "",
        f"bench/peers.py. *apitwin*: one `python -m apitwin serve` process serving all 13 "
        f"bundled twins on their ports, with {store}, running through every scenario. "
        f"*Prism*: Stoplight Prism {result['prism_version']} (Node {result['node_version']}), "
        "`prism mock src/apitwin/twins/specs/<name>.json -p PORT -h 127.0.0.1` (its default "
        "settings, request logging included), one process per document; Prism routes "
        "without the document's server base path, so Docker Engine's "
        "`/v1.33/containers/json` is `/containers/json` there. *ceiling*: bench/ceiling.py, "
        "a bare ASGI app on the server apitwin uses (uvicorn, httptools, uvloop, the same "
        "settings) answering a fixed body of the size and status apitwin answers the "
        f"scenario with. wrk: {result['threads']} threads, {result['connections']} "
        f"connections, {result['duration_s']} s per measurement after 1 s of warm-up, "
        "`Authorization: Bearer x`, POST bodies through bench/post.lua. Within a scenario "
        f"the three take turns (apitwin, Prism, ceiling) for {result['rounds']} rounds; "
        "figures are medians over rounds, and the ratios medians over rounds of apitwin's "
        "req/s over the other's in the same round.",
        "",
        "| scenario | apitwin req/s | p50 | p99 | Prism req/s | p50 | p99 "
        "| ceiling req/s | p50 | p99 | apitwin / Prism | apitwin / ceiling | targets |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name in order:
        cells = [scenarios[name]["title"]]
        for target in ("apitwin", "prism", "ceiling"):
            s = summary[(name, target)]
            cells += [
                f"{s['median_rps']:,.0f}",
                _ms(s["median_p50_ms"]),
                _ms(s["median_p99_ms"]),
            ]
        ratio_prism, ratio_ceiling = result["ratio_prism"][name], result["ratio_ceiling"][name]
        verdicts = _peer_verdicts(
            scenarios[name]["kind"],
            ratio_prism,
            ratio_ceiling,
            summary[(name, "apitwin")]["median_p99_ms"],
        )
        cells += [f"x{ratio_prism:.1f}", f"{ratio_ceiling:.0%}", "; ".join(verdicts)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "What each server answered (status, body bytes), and the CPU time (user + system) "
        "each server process spent per answered request, medians over rounds:",
        "",
        "| scenario | apitwin | Prism | ceiling | CPU per request: apitwin | Prism | ceiling |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    for name in order:
        probes = result["probes"][name]
        cells = [name]
        cells += [
            f"{probes[t]['status']} ({probes[t]['bytes']:,} B)"
            for t in ("apitwin", "prism", "ceiling")
        ]
        cells += [
            f"{summary[(name, t)]['median_cpu_us']:,.0f} us"
            for t in ("apitwin", "prism", "ceiling")
        ]
        lines.append("| " + " | ".join(cells) + " |")
    unloaded = {(u["scenario"], u["target"]): u for u in result.get("unloaded", [])}
    if unloaded:
        lines += [
            "",
            "One connection at a time (wrk, 1 thread, 1 connection, once per server after "
            "the rounds; informational): the latency of a request that never waits behind "
            "another.",
            "",
            "| scenario | apitwin req/s | p50 | p99 | Prism req/s | p50 | p99 "
            "| ceiling req/s | p50 | p99 |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name in order:
            cells = [name]
            for target in ("apitwin", "prism", "ceiling"):
                u = unloaded.get((name, target))
                cells += (
                    [f"{u['requests_per_s']:,.0f}", _ms(u["p50_ms"]), _ms(u["p99_ms"])]
                    if u
                    else ["", "", ""]
                )
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Per round, req/s of apitwin / Prism / ceiling:", ""]
    rounds: dict[str, dict[int, dict[str, float]]] = {}
    for m in result["measurements"]:
        rounds.setdefault(m["scenario"], {}).setdefault(m["round"], {})[m["target"]] = m[
            "requests_per_s"
        ]
    for name in order:
        cells = [
            " / ".join(f"{by_target.get(t, 0):,.0f}" for t in ("apitwin", "prism", "ceiling"))
            for _, by_target in sorted(rounds.get(name, {}).items())
        ]
        lines.append(f"- {name}: {'; '.join(cells)}")
    peak = result["apitwin_peak_rss_mb"]
    lines += [
        "",
        "| server | serving | peak RSS (VmHWM) | target |",
        "|---|---|---:|---|",
        f"| apitwin | all 13 twins, after every load run above (RSS at the end: "
        f"{result['apitwin_rss_mb']:.0f} MB) | {peak:.0f} MB | < "
        f"{RSS_AFTER_LOAD_TARGET_MB:.0f} MB: {_verdict(peak < RSS_AFTER_LOAD_TARGET_MB)} |",
    ]
    for document, mb in result["prism_peak_rss_mb"].items():
        started = result["prism_start_s"].get(document)
        note = f", first answer {started:.1f} s after start" if started is not None else ""
        lines.append(f"| Prism (node) | the {document} document{note} | {mb:.0f} MB | none |")
    if result.get("notes"):
        lines += ["", *(f"Note: {note}" for note in result["notes"])]
    return [*lines, ""]


def _render_servers(result: dict[str, Any]) -> list[str]:
    titles = {s["name"]: s["title"] for s in result["scenarios"]}
    summary = {(s["scenario"], s["target"]): s for s in result["summaries"]}
    versions = result["versions"]
    lines = [
        "## ASGI server",
        "",
        "bench/servers.py: each scenario's twin built as `apitwin serve NAME --rate-limits "
        "off` builds it (fresh SQLite store, prepared as in the peer comparison) and the "
        "ceiling app (the same size and status), each on uvicorn "
        f"{versions['uvicorn']} (httptools {versions['httptools']}, uvloop "
        f"{versions['uvloop']}; apitwin's runner and settings) and on granian "
        f"{versions['granian']} (ASGI without lifespan, 1 worker, 1 runtime thread, uvloop, "
        "HTTP/1, no access log): four servers (bench/asgi_serve.py) taking turns for "
        f"{result['rounds']} rounds, wrk {result['threads']} threads, "
        f"{result['connections']} connections, {result['duration_s']} s after 1 s of "
        "warm-up. *CPU* is the user + system time of all the server's processes and "
        "threads per answered request. *granian / uvicorn* is the median over rounds of "
        "the req/s ratio in the same round.",
        "",
        "| scenario | apitwin on uvicorn: req/s | p99 | CPU | apitwin on granian: req/s | p99 "
        "| CPU | granian / uvicorn | ceiling on uvicorn: req/s | CPU | ceiling on granian: "
        "req/s | CPU | granian / uvicorn | apitwin / ceiling: uvicorn | granian |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, ratios in result["ratio_granian"].items():
        cells = [titles.get(name, name)]
        for app in ("apitwin", "ceiling"):
            for server in ("uvicorn", "granian"):
                s = summary[(name, f"{app}-{server}")]
                cells.append(f"{s['median_rps']:,.0f}")
                if app == "apitwin":
                    cells.append(_ms(s["median_p99_ms"]))
                cells.append(f"{s['median_cpu_us']:,.0f} us")
            cells.append(f"x{ratios[app]:.2f}")
        shares = result["share_of_ceiling"][name]
        cells += [f"{shares['uvicorn']:.0%}", f"{shares['granian']:.0%}"]
        lines.append("| " + " | ".join(cells) + " |")
    per_round: dict[str, dict[int, dict[str, float]]] = {}
    for m in result["measurements"]:
        per_round.setdefault(m["scenario"], {}).setdefault(m["round"], {})[m["target"]] = m[
            "requests_per_s"
        ]
    targets = ("apitwin-uvicorn", "apitwin-granian", "ceiling-uvicorn", "ceiling-granian")
    lines += ["", "Per round, req/s of " + " / ".join(targets) + ":", ""]
    for name, rounds in per_round.items():
        cells = [
            " / ".join(f"{by.get(t, 0):,.0f}" for t in targets) for _, by in sorted(rounds.items())
        ]
        lines.append(f"- {name}: {'; '.join(cells)}")
    if result.get("notes"):
        lines += ["", *(f"Note: {note}" for note in result["notes"])]
    return [*lines, ""]


def _render_workers(result: dict[str, Any]) -> list[str]:
    first = str(result["workers"][0])
    lines = [
        "## Workers",
        "",
        "bench/workers.py: `apitwin serve digitalocean --workers N` (each worker with its "
        "own SO_REUSEPORT socket, sharing a fresh SQLite store) on the peer comparison's "
        f"DigitalOcean `GET /v2/droplets/{{id}}`, same wrk settings; the servers take turns "
        f"for {result['rounds']} rounds, the ratio is the median over rounds against "
        f"{first} worker(s) in the same round. *CPU split*: each worker's share of the "
        "server's CPU time, medians over rounds (how evenly the kernel spread the 32 "
        f"connections). The machine has {result['nproc']} CPUs, which wrk's "
        f"{result['threads']} threads share.",
        "",
        "| workers | req/s | p50 | p99 | CPU per request | vs " + first + " | CPU split "
        "| peak RSS per process | PSS, all processes |",
        "|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for n in result["workers"]:
        key = str(n)
        ms = [m for m in result["measurements"] if m["workers"] == n]
        shares = [
            statistics.median(m["cpu_shares"][i] for m in ms)
            for i in range(len(ms[0]["cpu_shares"]))
        ]
        peaks = ", ".join(f"{mb:.0f}" for mb in result["peak_rss_mb"][key])
        lines.append(
            f"| {n} | {result['median_rps'][key]:,.0f} | {_ms(result['median_p50_ms'][key])} | "
            f"{_ms(result['median_p99_ms'][key])} | {result['median_cpu_us'][key]:,.0f} us | "
            f"x{result['ratio'][key]:.2f} | {' / '.join(f'{s:.0%}' for s in shares)} | "
            f"{peaks} MB | {result['pss_mb'][key]:.0f} MB |"
        )
    per_round: dict[int, list[str]] = {}
    for m in result["measurements"]:
        per_round.setdefault(m["workers"], []).append(f"{m['requests_per_s']:,.0f}")
    lines += [
        "",
        *(f"- {n} worker(s), req/s per round: {', '.join(v)}" for n, v in per_round.items()),
    ]
    return [*lines, ""]


def _render_targets(steps: dict[str, Any]) -> list[str]:
    """Every target of the performance issue in one table."""
    rows: list[tuple[str, str, str]] = []
    for summary in steps.get("startup", {}).values():
        if len(summary["twins"]) > 1:
            ready = summary["median_ready_s"]
            verdict = _verdict(ready < STARTUP_TARGET_S)
            if ready >= STARTUP_TARGET_S:
                verdict += f" (x{ready / STARTUP_TARGET_S:.1f} the limit)"
            rows.append(
                (
                    f"cold start, all 13 ({summary['store']}) < {STARTUP_TARGET_S} s",
                    f"{ready:.2f} s",
                    verdict,
                )
            )
    peers = steps.get("peers")
    if peers:
        peak = peers["apitwin_peak_rss_mb"]
        rows.append(
            (
                f"peak RSS, all 13 after the load runs < {RSS_AFTER_LOAD_TARGET_MB:.0f} MB",
                f"{peak:.0f} MB",
                _verdict(peak < RSS_AFTER_LOAD_TARGET_MB),
            )
        )
        kinds = {s["name"]: s["kind"] for s in peers["scenarios"]}
        p99, ceiling_p99 = (
            {s["scenario"]: s["median_p99_ms"] for s in peers["summaries"] if s["target"] == t}
            for t in ("apitwin", "ceiling")
        )
        for name in kinds:
            if name not in peers["ratio_prism"]:
                continue
            ratio = peers["ratio_prism"][name]
            want_prism, want_ceiling, want_p99 = PEER_TARGETS.get(kinds[name], (None,) * 3)
            measured = [f"x{ratio:.1f} Prism"]
            if want_ceiling is not None:
                measured.append(f"{peers['ratio_ceiling'][name]:.0%} of ceiling")
            if want_p99 is not None:
                measured.append(f"p99 {_ms(p99[name])} (the ceiling's: {_ms(ceiling_p99[name])})")
            if want_prism is None and want_ceiling is None and want_p99 is None:
                continue
            rows.append(
                (
                    name,
                    ", ".join(measured),
                    "; ".join(
                        _peer_verdicts(kinds[name], ratio, peers["ratio_ceiling"][name], p99[name])
                    ),
                )
            )
    if not rows:
        return []
    lines = ["## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return [*lines, ""]


def render(env: dict[str, Any], steps: dict[str, Any], kept: list[str]) -> str:
    packages = ", ".join(f"{name} {version}" for name, version in env["packages"].items())
    lines = [
        "# Benchmark results",
        "",
        f"Measured {env['date']} with `make bench` (bench/run.py) at commit {env['commit']}. "
        "Raw outputs: bench/raw/. Benchmarks run by hand, never as part of `make test`.",
        "",
        "## Machine and software",
        "",
        "| | |",
        "|---|---|",
        f"| CPUs (nproc) | {env['nproc']} |",
        f"| CPU | {env['cpu']} |",
        f"| memory | {env['memory_gib']} GiB |",
        f"| kernel | {env['kernel']} |",
        f"| load average (1, 5, 15 min) before / after | {env['load_before']} / "
        f"{env.get('load_after', '?')} |",
        f"| Python | {env['python']} |",
        f"| packages | {packages} |",
        f"| SQLite | {env['sqlite']} |",
        f"| PostgreSQL server | {env['postgresql']} |",
        f"| load generator | {env['wrk']} |",
        "",
    ]
    renderers: dict[str, Callable[[Any], list[str]]] = {
        "startup": _render_startup,
        "state_growth": _render_growth,
        "peers": _render_peers,
        "servers": _render_servers,
        "workers": _render_workers,
    }
    for step, renderer in renderers.items():
        if step not in steps:
            if step == "peers":
                lines += ["## Peer comparison", "", "Not measured in this run.", ""]
            continue
        section = renderer(steps[step])
        alone = env.get("alone", {}).get(step)
        if alone:  # after the heading and its blank line
            section[2:2] = [alone, ""]
        lines += section
        if section[-1] != "":
            lines.append("")
    lines += _render_targets(steps)
    lines += kept
    lines += [
        "## Notes",
        "",
        *(f"- {note}" for note in env.get("notes", [])),
    ]
    return "\n".join(line.rstrip() for line in lines).rstrip() + "\n"


def notes(env: dict[str, Any]) -> list[str]:
    """What a reader needs to weigh the figures."""
    found = [
        f"{env['nproc']} CPUs are shared by wrk ({2} threads), the twin (one process, one "
        "event loop) and, for PostgreSQL, the database server."
    ]
    # The load after a run is mostly the run's own (wrk keeps both CPUs busy to the end):
    # only the load before it tells whether other work shared the machine.
    before = float(env["load_before"].split()[0])
    after = float(env["load_after"].split()[0])
    if before > 0.5:
        found.append(
            f"Other work was running (1-minute load average {before:.2f} before the run, "
            f"{after:.2f} after it, which includes the run's own load): absolute figures "
            "are noisier than on an idle machine; the A/B ratios are measured round by "
            "round to stay comparable."
        )
    else:
        found.append(
            f"The machine was otherwise idle: 1-minute load average {before:.2f} before the "
            f"run ({after:.2f} after it is the run's own load)."
        )
    return found


STEPS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "startup": startup,
    "state_growth": state_growth,
    "peers": peer_comparison,
    "servers": servers,
    "workers": workers,
}


def load_raw() -> tuple[dict[str, Any], dict[str, Any]]:
    """The environment and step results a previous run kept under RAW."""
    if not (RAW / "environment.json").is_file():
        raise SystemExit(f"nothing to render: {RAW / 'environment.json'} is missing")
    env = json.loads((RAW / "environment.json").read_text())
    steps: dict[str, Any] = {}
    startup_results = {
        stem: json.loads((RAW / f"{stem}.json").read_text())
        for stem, _, _ in STARTUP_CASES
        if (RAW / f"{stem}.json").is_file()
    }
    if startup_results:
        steps["startup"] = startup_results
    for name in ("state_growth", "peers", "servers", "workers"):
        if (RAW / f"{name}.json").is_file():
            steps[name] = json.loads((RAW / f"{name}.json").read_text())
    # Steps measured again on their own (--only): their sections say when, at which
    # commit and under what load (``env["alone"]``); the notes carry the rest.
    env["notes"] = list(env.get("notes", []))
    env["alone"] = {}
    for path in sorted(RAW.glob("environment-*.json")):
        step = path.stem.removeprefix("environment-")
        if step not in steps:
            continue
        again = json.loads(path.read_text())
        env["alone"][step] = measured_alone(step, again)
        env["notes"] += [note for note in again.get("notes", []) if note not in env["notes"]]
    return env, steps


BUSY_LOAD = 1.0  # a 1-minute load average above this before a step is a busy machine


def measured_alone(step: str, env: dict[str, Any]) -> str:
    """The paragraph that opens the section of a step measured again on its own."""
    loads = [env.get("load_before", ""), env.get("load_after", "")]
    load = f"{loads[0]} before / {loads[1]} after" if loads[1] else f"{loads[0]} before"
    text = (
        f"Measured again on its own (`bench/run.py --only {step}`) on {env['date']} at commit "
        f"{env['commit']}, load average {load}; the other sections come from the full run "
        "named at the top."
    )
    # The load after a step is mostly the step's own (wrk keeps both CPUs busy to the
    # end): the load before it tells whether other work shared the machine.
    before = loads[0]
    if before and before[0].isdigit() and float(before.split()[0]) > BUSY_LOAD:
        text += (
            f" **The machine was busy** (1-minute load average {float(before.split()[0]):.2f} "
            f"before the step on {env.get('nproc', '?')} CPUs): the figures are provisional."
        )
    if env.get("remark"):
        text += f" {env['remark']}"
    return text


def kept_sections(path: Path) -> list[str]:
    """The hand-written sections (``KEPT_SECTIONS``) of an existing RESULTS.md, as lines."""
    if not path.is_file():
        return []
    kept: list[str] = []
    keeping = False
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            keeping = line.startswith(KEPT_SECTIONS)
        if keeping:
            kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    return [*kept, ""] if kept else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(STEPS), help="comma-separated steps")
    parser.add_argument("--runs", type=int, default=5, help="runs per cold-start case")
    parser.add_argument(
        "--rounds", type=int, default=3, help="A/B rounds of state growth, peers, workers"
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk measurement")
    parser.add_argument("--dsn", default=DEFAULT_DSN, help="PostgreSQL for state growth")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="measure nothing: rebuild RESULTS.md from what bench/raw/ holds",
    )
    args = parser.parse_args()
    if args.render_only:
        RESULTS.write_text(render(*load_raw(), kept_sections(RESULTS)))
        print(f"wrote {RESULTS.relative_to(ROOT)} from {RAW.relative_to(ROOT)}/")
        return
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(chosen) - set(STEPS)
    if unknown:
        raise SystemExit(f"unknown steps {sorted(unknown)}; known: {', '.join(STEPS)}")
    os.chdir(ROOT)
    if set(chosen) & set(WRK_STEPS):
        ensure_wrk()
    kept = kept_sections(RESULTS)
    partial = set(chosen) != set(STEPS) and (RAW / "environment.json").is_file()
    RAW.mkdir(parents=True, exist_ok=True)
    if partial:
        forget_raw(chosen)
    else:
        forget_raw(list(STEPS))
        for path in RAW.glob("environment*.json"):
            path.unlink()
    env = environment(args.dsn)
    for name in chosen:
        STEPS[name](args)
    env["load_after"] = _load()
    env["notes"] = notes(env)
    if partial:
        env["steps"] = chosen
        for name in chosen:
            (RAW / f"environment-{name}.json").write_text(json.dumps(env, indent=2) + "\n")
    else:
        (RAW / "environment.json").write_text(json.dumps(env, indent=2) + "\n")
    RESULTS.write_text(render(*load_raw(), kept))
    print(f"wrote {RESULTS.relative_to(ROOT)}")


def raw_files(step: str) -> list[Path]:
    """What a step keeps under RAW: its JSON and log, and its wrk outputs."""
    stems = [stem for stem, _, _ in STARTUP_CASES] if step == "startup" else [step]
    files = [RAW / f"{stem}{suffix}" for stem in stems for suffix in (".json", ".txt")]
    files.append(RAW / f"environment-{step}.json")
    if (RAW / "wrk").is_dir():
        files += sorted((RAW / "wrk").glob(f"{step}-*"))
    return files


def forget_raw(steps: list[str]) -> None:
    """Remove the raw files of the steps about to run again, and nothing else."""
    for step in steps:
        for path in raw_files(step):
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
