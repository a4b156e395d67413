"""Run every benchmark and write bench/RESULTS.md: `make bench`.

Usage: python bench/run.py [--only startup,state_growth] [--runs 5] [--rounds 3]
       [--duration 5] [--dsn DSN]

Steps, in order (each a script of its own that also runs by hand):

1. bench/startup.py: cold start and peak RSS of `apitwin serve`, all 13 bundled twins and
   dnd5e alone, with the default SQLite store (fresh temporary --data-dir) and with
   --store memory.
2. bench/state_growth.py: GET by id and a list page at N = 100 and N = 100,000 stored
   droplets, SQLite and PostgreSQL, loaded with wrk.
3. Peer comparison (Prism and others): not written yet; see ``peer_comparison``.

Everything a step prints, and its JSON, is kept under bench/raw/ (emptied at the start of
a run); RESULTS.md is built from those files (``--render-only`` rebuilds it without
measuring). Needs wrk on PATH and, for the PostgreSQL
half of step 2, a reachable server (default DSN below).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
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
PACKAGES = ("apitwin", "uvicorn", "jsonschema-rs", "psycopg", "orjson", "uvloop", "httptools")

STARTUP_TARGET_S = 1.5  # all 13 twins answer within
STARTUP_TARGET_MB = 150.0  # peak RSS of the process serving all 13
GROWTH_TARGET = 0.8  # N = 100,000 keeps at least this share of the N = 100 throughput

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


def peer_comparison(args: argparse.Namespace) -> dict[str, Any] | None:
    """The comparison with peers (Prism first) goes here: the same operations of the same
    documents, served by each tool on 127.0.0.1 and loaded with the same wrk settings as
    state_growth.py. It should return its figures as a dict, keep its raw outputs under
    RAW, and get a section in ``render``. Until then there is nothing to run."""
    return None


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


def _command_output(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired):
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
    commit = _command_output(["git", "rev-parse", "--short", "HEAD"])
    changed = _command_output(
        ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"]
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


def render(env: dict[str, Any], steps: dict[str, Any]) -> str:
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
    if "startup" in steps:
        lines += _render_startup(steps["startup"])
    if "state_growth" in steps:
        lines += _render_growth(steps["state_growth"])
        lines.append("")
    lines += ["## Peer comparison", ""]
    if steps.get("peers") is None:
        lines.append(
            "Not measured yet: the comparison with Prism (and other mock servers) on the "
            "same operations and wrk settings belongs here (`peer_comparison` in "
            "bench/run.py)."
        )
    lines += [
        "",
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
    busiest = max(float(env["load_before"].split()[0]), float(env["load_after"].split()[0]))
    if busiest > 0.5:
        found.append(
            f"Other work was running (1-minute load average up to {busiest:.2f} before or "
            "after): absolute figures are noisier than on an idle machine; the A/B ratios "
            "are measured round by round to stay comparable."
        )
    return found


STEPS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "startup": startup,
    "state_growth": state_growth,
    "peers": peer_comparison,
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
    if (RAW / "state_growth.json").is_file():
        steps["state_growth"] = json.loads((RAW / "state_growth.json").read_text())
    return env, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(STEPS), help="comma-separated steps")
    parser.add_argument("--runs", type=int, default=5, help="runs per cold-start case")
    parser.add_argument("--rounds", type=int, default=3, help="A/B rounds of state growth")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk measurement")
    parser.add_argument("--dsn", default=DEFAULT_DSN, help="PostgreSQL for state growth")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="measure nothing: rebuild RESULTS.md from what bench/raw/ holds",
    )
    args = parser.parse_args()
    if args.render_only:
        RESULTS.write_text(render(*load_raw()))
        print(f"wrote {RESULTS.relative_to(ROOT)} from {RAW.relative_to(ROOT)}/")
        return
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(chosen) - set(STEPS)
    if unknown:
        raise SystemExit(f"unknown steps {sorted(unknown)}; known: {', '.join(STEPS)}")
    if "state_growth" in chosen and shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    os.chdir(ROOT)
    if RAW.exists():
        shutil.rmtree(RAW)
    RAW.mkdir(parents=True)
    env = environment(args.dsn)
    steps: dict[str, Any] = {}
    for name in chosen:
        steps[name] = STEPS[name](args)
    env["load_after"] = _load()
    env["notes"] = notes(env)
    (RAW / "environment.json").write_text(json.dumps(env, indent=2) + "\n")
    RESULTS.write_text(render(env, steps))
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
