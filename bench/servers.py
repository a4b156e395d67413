"""Which ASGI server: uvicorn (httptools, uvloop) against granian, on the peer scenarios.

Usage: python bench/servers.py [--rounds 3] [--duration 5] [--only NAME,...] [--raw DIR]
       [--json PATH]

For every scenario of bench/peers.py, four servers answer on 127.0.0.1, each started by
bench/asgi_serve.py:

- *apitwin on uvicorn*: the scenario's twin as ``apitwin serve NAME --rate-limits off``
  runs it today (src/apitwin/server/runner.py), with a fresh SQLite store;
- *apitwin on granian*: the same twin, built the same way, with a fresh SQLite store,
  on granian's ASGI interface (one worker, one runtime thread, uvloop);
- *ceiling on uvicorn* and *ceiling on granian*: bench/ceiling.py's bare app answering a
  fixed body of the size and status apitwin answers the scenario with.

Both apitwin servers are prepared alike (20 droplets, 3 running containers, as
bench/peers.py does). wrk loads each server in turn (2 threads, 32 connections,
``Authorization: Bearer x``, 1 s of warm-up, then ``--duration`` seconds), apitwin on
uvicorn, apitwin on granian, ceiling on uvicorn, ceiling on granian, for ``--rounds``
rounds. Recorded per measurement: req/s, p50, p99, and the CPU time (user + system) of
the server's processes per answered request (granian serves from a worker process and
Rust threads: all are counted). The ratios are medians over rounds of granian's req/s
over uvicorn's in the same round.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from peers import (
    CONNECTIONS,
    RUN_ORDER,
    SCENARIOS,
    THREADS,
    WORK,
    Measurement,
    Scenario,
    Summary,
    children,
    free_port,
    measure,
    medians,
    prepare_apitwin,
    prepare_docker,
    probe,
    rounds_of,
    started,
    write_bodies,
)
from startup import bundled

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SERVERS = ("uvicorn", "granian")
APPS = ("apitwin", "ceiling")
TARGETS = tuple(f"{app}-{server}" for app in APPS for server in SERVERS)


@dataclass
class Result:
    rounds: int
    duration_s: int
    threads: int
    connections: int
    versions: dict[str, str]
    scenarios: list[dict[str, Any]] = field(default_factory=list)
    probes: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # [status, bytes]
    measurements: list[Measurement] = field(default_factory=list)
    summaries: list[Summary] = field(default_factory=list)
    # scenario -> app -> median over rounds of granian's req/s over uvicorn's
    ratio_granian: dict[str, dict[str, float]] = field(default_factory=dict)
    # scenario -> server -> median over rounds of apitwin's req/s over the ceiling's
    share_of_ceiling: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def versions() -> dict[str, str]:
    found = {}
    for name in ("uvicorn", "httptools", "uvloop", "granian"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def serve_command(server: str, port: int, *app: str) -> list[str]:
    return [
        sys.executable,
        str(BENCH / "asgi_serve.py"),
        "--server",
        server,
        "--port",
        str(port),
    ] + [*app]


def tree(pid: int) -> list[int]:
    """A server process and its children (granian's worker)."""
    return [pid, *children(pid)]


def run_twin(
    twin: str,
    base_path: str,
    scenarios: list[Scenario],
    args: argparse.Namespace,
    result: Result,
) -> None:
    """Both apitwin servers for one twin, then each of its scenarios with both ceilings."""
    with ExitStack() as stack:
        bases: dict[str, str] = {}
        droplets: dict[str, str] = {}
        pids: dict[str, list[int]] = {}
        for server in SERVERS:
            data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="apitwin-bench-"))
            port = free_port()
            base = f"http://127.0.0.1:{port}{base_path}"
            command = serve_command(server, port, "--twin", twin, "--data-dir", data_dir)
            print(f"$ {' '.join(command)}", flush=True)
            process, _ = stack.enter_context(
                started(command, f"http://127.0.0.1:{port}/__apitwin__/", f"apitwin on {server}")
            )
            pids[f"apitwin-{server}"] = tree(process.pid)
            bases[server] = base
            droplets[server] = prepare_apitwin(base) if twin == "digitalocean" else ""
            if twin == "docker-engine":
                prepare_docker(base)
        for scenario in scenarios:
            run_scenario(scenario, bases, pids, droplets, args, result)


def run_scenario(
    scenario: Scenario,
    bases: dict[str, str],
    twin_pids: dict[str, list[int]],
    droplets: dict[str, str],
    args: argparse.Namespace,
    result: Result,
) -> None:
    body_file = WORK / scenario.body if scenario.body else None
    urls = {
        f"apitwin-{server}": bases[server] + scenario.path.replace("{droplet}", droplets[server])
        for server in SERVERS
    }
    probes = {target: probe(url, scenario) for target, url in urls.items()}
    ours = probes["apitwin-uvicorn"]
    with ExitStack() as stack:
        pids = dict(twin_pids)
        for server in SERVERS:
            port = free_port()
            command = serve_command(
                server, port, "--ceiling", str(ours.bytes), "--status", str(ours.status)
            )
            url = f"http://127.0.0.1:{port}{urlsplit(urls['apitwin-uvicorn']).path}"
            query = urlsplit(urls["apitwin-uvicorn"]).query
            url += f"?{query}" if query else ""
            process, _ = stack.enter_context(started(command, url, f"ceiling on {server}"))
            urls[f"ceiling-{server}"] = url
            pids[f"ceiling-{server}"] = tree(process.pid)
            probes[f"ceiling-{server}"] = probe(url, scenario)
        result.probes[scenario.name] = {t: [p.status, p.bytes] for t, p in probes.items()}
        print(
            f"{scenario.name}: "
            + ", ".join(f"{t} {p.status} ({p.bytes} bytes)" for t, p in probes.items()),
            flush=True,
        )
        for round_no in range(1, args.rounds + 1):
            for target in TARGETS:
                raw_name = f"servers-{scenario.name}-{target}-r{round_no}.txt"
                figures = measure(
                    urls[target], body_file, pids[target], args.duration, args.raw, raw_name
                )
                m = Measurement(scenario.name, target, round_no, **figures)
                result.measurements.append(m)
                print(
                    f"{scenario.name:<17} {target:<15} round {round_no}: "
                    f"{m.requests_per_s:8.0f} req/s  p50 {m.p50_ms:7.2f} ms  "
                    f"p99 {m.p99_ms:7.2f} ms  CPU/request {m.cpu_us:6.0f} us"
                    f"{f'  non-2xx {m.non_2xx}' if m.non_2xx else ''}"
                    f"{f'  socket errors: {m.socket_errors}' if m.socket_errors else ''}",
                    flush=True,
                )


def summarize(result: Result) -> None:
    for scenario in RUN_ORDER:
        rounds = rounds_of(result.measurements, scenario)
        if not rounds:
            continue
        result.summaries.extend(medians(scenario, rounds, TARGETS))
        result.ratio_granian[scenario] = {
            app: statistics.median(
                r[f"{app}-granian"].requests_per_s / r[f"{app}-uvicorn"].requests_per_s
                for r in rounds.values()
                if r[f"{app}-uvicorn"].requests_per_s
            )
            for app in APPS
        }
        result.share_of_ceiling[scenario] = {
            server: statistics.median(
                r[f"apitwin-{server}"].requests_per_s / r[f"ceiling-{server}"].requests_per_s
                for r in rounds.values()
                if r[f"ceiling-{server}"].requests_per_s
            )
            for server in SERVERS
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--raw", type=Path, help="keep every wrk output in this directory")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    os.chdir(ROOT)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    found = versions()
    if found["granian"] == "not installed":
        raise SystemExit("granian is not installed: .venv/bin/pip install -e '.[bench]'")
    chosen = [s.strip() for s in args.only.split(",") if s.strip()] or list(RUN_ORDER)
    known = {s.name: s for s in SCENARIOS}
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise SystemExit(f"unknown scenarios {unknown}; known: {', '.join(RUN_ORDER)}")
    write_bodies()
    if args.raw is not None:
        args.raw.mkdir(parents=True, exist_ok=True)
    base_paths = {t.name: urlsplit(t.base_url).path.rstrip("/") for t in bundled()}
    result = Result(
        args.rounds,
        args.duration,
        THREADS,
        CONNECTIONS,
        found,
        scenarios=[asdict(s) for s in SCENARIOS if s.name in chosen],
    )
    order = [known[name] for name in RUN_ORDER if name in chosen]
    for twin in dict.fromkeys(s.twin for s in order):
        run_twin(twin, base_paths[twin], [s for s in order if s.twin == twin], args, result)
    summarize(result)
    print(f"\nmedians over {args.rounds} rounds")
    for s in result.summaries:
        print(
            f"{s.scenario:<17} {s.target:<15} {s.median_rps:8.0f} req/s  "
            f"p50 {s.median_p50_ms:7.2f} ms  p99 {s.median_p99_ms:7.2f} ms  "
            f"CPU/request {s.median_cpu_us:6.0f} us"
        )
    for name, ratios in result.ratio_granian.items():
        shares = result.share_of_ceiling[name]
        print(
            f"{name:<17} granian/uvicorn: apitwin x{ratios['apitwin']:.2f}, "
            f"ceiling x{ratios['ceiling']:.2f}; apitwin/ceiling: uvicorn "
            f"{shares['uvicorn']:.0%}, granian {shares['granian']:.0%}"
        )
    if any(m.socket_errors for m in result.measurements):
        result.notes.append("some measurements saw socket errors: see the raw wrk outputs")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(asdict(result), indent=2) + "\n")


if __name__ == "__main__":
    main()
