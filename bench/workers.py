"""One worker process against two: `apitwin serve --workers N` on the DigitalOcean GET.

Usage: python bench/workers.py [--rounds 3] [--duration 5] [--workers 1,2] [--raw DIR]
       [--json PATH]

For each N, ``python -m apitwin serve digitalocean --port P --workers N`` runs with a
fresh temporary ``--data-dir`` (the default SQLite store, which the workers share), and
wrk (2 threads, 32 connections, ``Authorization: Bearer x``, 1 s of warm-up) loads
``GET /v2/droplets/{id}`` of a stored droplet, the peer comparison's first scenario
(bench/peers.py). The servers run side by side and take turns for ``--rounds`` rounds;
the ratio is the median over rounds of req/s with N workers over req/s with the first N.
Also recorded: how the answered requests' CPU time splits over the workers (the kernel
spreads connections over the SO_REUSEPORT sockets by a hash of their addresses), and
each server's memory: the peak RSS of every process and their summed PSS, which counts
pages the forked workers share once.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

from peers import (
    CONNECTIONS,
    THREADS,
    children,
    cpu_seconds,
    free_port,
    measure,
    prepare_apitwin,
    proc_status_kb,
    started,
)

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Measurement:
    workers: int
    round: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: str
    cpu_us: float  # CPU of all the server's processes per answered request
    cpu_shares: list[float]  # each worker's share of that CPU


@dataclass
class Result:
    rounds: int
    duration_s: int
    threads: int
    connections: int
    nproc: int
    workers: list[int]
    measurements: list[Measurement] = field(default_factory=list)
    median_rps: dict[str, float] = field(default_factory=dict)  # str(N) -> req/s
    median_p50_ms: dict[str, float] = field(default_factory=dict)
    median_p99_ms: dict[str, float] = field(default_factory=dict)
    median_cpu_us: dict[str, float] = field(default_factory=dict)
    ratio: dict[str, float] = field(default_factory=dict)  # str(N) -> vs the first N
    peak_rss_mb: dict[str, list[float]] = field(default_factory=dict)  # per process
    pss_mb: dict[str, float] = field(default_factory=dict)  # summed over the processes


def pss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def serving_pids(pid: int, workers: int) -> list[int]:
    """The processes that answer requests: the server itself, or its forked workers."""
    if workers == 1:
        return [pid]
    found = children(pid)
    if len(found) != workers:
        raise RuntimeError(f"expected {workers} workers under {pid}, found {found}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--raw", type=Path, help="keep every wrk output in this directory")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    os.chdir(ROOT)
    if args.raw is not None:
        args.raw.mkdir(parents=True, exist_ok=True)
    result = Result(args.rounds, args.duration, THREADS, CONNECTIONS, os.cpu_count() or 0, counts)
    with ExitStack() as stack:
        servers: dict[int, tuple[str, list[int], int]] = {}
        for n in counts:
            data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="apitwin-bench-"))
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            command = [sys.executable, "-m", "apitwin", "serve", "digitalocean"]
            # One token sends thousands of requests a second: DigitalOcean's 250-a-minute limit would
            # turn the run into 429s. Rate limits are off here; their cost is in docs/conventions.md.
            command += ["--port", str(port), "--data-dir", data_dir, "--workers", str(n)]
            command += ["--rate-limits", "off"]
            print(f"$ {' '.join(command)}", flush=True)
            process, _ = stack.enter_context(
                started(command, f"{base}/__apitwin__/", f"apitwin --workers {n}")
            )
            droplet = prepare_apitwin(base)
            servers[n] = (
                f"{base}/v2/droplets/{droplet}",
                serving_pids(process.pid, n),
                process.pid,
            )
        for round_no in range(1, args.rounds + 1):
            for n in counts:
                url, pids, _ = servers[n]
                before = [cpu_seconds([pid]) for pid in pids]
                figures = measure(
                    url, None, pids, args.duration, args.raw, f"workers-{n}-r{round_no}.txt"
                )
                used = [cpu_seconds([pid]) - b for pid, b in zip(pids, before, strict=True)]
                total = sum(used) or 1.0
                m = Measurement(n, round_no, **figures, cpu_shares=[u / total for u in used])
                result.measurements.append(m)
                shares = " / ".join(f"{s:.0%}" for s in m.cpu_shares)
                print(
                    f"workers {n} round {round_no}: {m.requests_per_s:8.0f} req/s  "
                    f"p50 {m.p50_ms:6.2f} ms  p99 {m.p99_ms:6.2f} ms  "
                    f"CPU/request {m.cpu_us:5.0f} us (split {shares})",
                    flush=True,
                )
        for n, (_, pids, parent) in servers.items():
            processes = sorted({parent, *pids})
            result.peak_rss_mb[str(n)] = [proc_status_kb(p, "VmHWM") / 1024 for p in processes]
            result.pss_mb[str(n)] = sum(pss_kb(p) for p in processes) / 1024
    first = counts[0]
    for n in counts:
        ms = [m for m in result.measurements if m.workers == n]
        result.median_rps[str(n)] = statistics.median(m.requests_per_s for m in ms)
        result.median_p50_ms[str(n)] = statistics.median(m.p50_ms for m in ms)
        result.median_p99_ms[str(n)] = statistics.median(m.p99_ms for m in ms)
        result.median_cpu_us[str(n)] = statistics.median(m.cpu_us for m in ms)
        baseline = {m.round: m for m in result.measurements if m.workers == first}
        result.ratio[str(n)] = statistics.median(
            m.requests_per_s / baseline[m.round].requests_per_s
            for m in ms
            if baseline[m.round].requests_per_s
        )
    print(f"\nmedians over {args.rounds} rounds")
    for n in counts:
        key = str(n)
        print(
            f"workers {n}: {result.median_rps[key]:8.0f} req/s  p50 "
            f"{result.median_p50_ms[key]:6.2f} ms  p99 {result.median_p99_ms[key]:6.2f} ms  "
            f"x{result.ratio[key]:.2f} of {first}  PSS {result.pss_mb[key]:.0f} MB"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(asdict(result), indent=2) + "\n")


if __name__ == "__main__":
    main()
