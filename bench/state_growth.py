"""Does a twin slow down as its state grows? N = 100 versus N = 100,000 stored droplets.

Usage: python bench/state_growth.py [--backends sqlite,postgres] [--rounds 3]
       [--duration 5] [--dsn DSN] [--raw DIR] [--json PATH]

For each backend the DigitalOcean twin's ``droplets`` collection is filled through the
store API (``open_store``, ``tx.put("droplets", str(id), droplet)``, ids 1..N, the seed
marker set so lazy seeding leaves the collection alone), then ``apitwin serve
digitalocean --store ... --port P`` is loaded with wrk (32 connections, 2 threads,
``--latency``, ``Authorization: Bearer x``) on:

- get:  ``GET /v2/droplets/{id}``, the id drawn at random from 1..N per request;
- list: ``GET /v2/droplets?per_page=20`` (the first page);
- deep: ``GET /v2/droplets?per_page=20&page=N/20`` (the last page; informational, an
  offset page costs what it skips), with one connection: a slow page would otherwise
  queue 32 requests behind each other in the twin's one event loop and the backlog would
  outlast the measurement.

The twin runs with ``--kept-replies off``: every request reads the store, which is what
grows (kept replies would answer N = 100's hundred ids from memory and few of
N = 100,000's). N = 100 and N = 100,000 alternate (A B A B ...) for ``--rounds`` rounds so that drift on
a busy machine hits both alike. SQLite keeps one file per N (in bench/.cache/); the
PostgreSQL twin has one namespace, so it is cleared and refilled before every server
start, then VACUUM ANALYZE'd so both sizes are measured in a steady state. The
PostgreSQL state of the twin is reset at the end (`apitwin reset digitalocean --store
DSN`): point --dsn only at a database whose DigitalOcean twin state may be lost.

Target: at N = 100,000 each of get and list keeps at least 80% of its N = 100
throughput. Because req/s on a shared machine also measures everything else running,
each measurement also records the CPU time the twin (and, for PostgreSQL, its database
backend) spent per answered request; its N = 100,000 / N = 100 ratio shows growth in
the work itself.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache" / "state_growth"
TWIN = "digitalocean"
FAMILY = "droplets"
# Families whose seed items bring droplets of their own (a cluster's nodes).
DROPLET_MAKERS = ("kubernetes_clusters", "kubernetes_clusters.node_pools")
HEADER = "Authorization: Bearer x"
SIZES = (100, 100_000)
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
CONNECTIONS = 32
THREADS = 2
WARMUP_S = 1
BATCH = 5_000
TARGET_RATIO = 0.8  # N = 100,000 keeps at least 80% of the N = 100 throughput
ENDPOINTS = ("get", "list", "deep")
LOAD = {"get": (THREADS, CONNECTIONS), "list": (THREADS, CONNECTIONS), "deep": (1, 1)}
TARGETED = ("get", "list")
WRK_TIMEOUT_S = 60
SERVER_START_S = 60

GET_SCRIPT = """\
-- random droplet ids 1..{n}, a different sequence per wrk thread
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end
function init(args)
  math.randomseed(7919 * seed)
end
function request()
  return wrk.format("GET", "/v2/droplets/" .. math.random(1, {n}))
end
"""


@dataclass
class Measurement:
    backend: str
    n: int
    endpoint: str
    round: int
    connections: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: str
    # CPU (user + system) per answered request: of the twin's process, and of the
    # PostgreSQL backends serving its connection. Unlike req/s this barely moves when
    # other work competes for the CPUs.
    twin_cpu_us: float = 0.0
    db_cpu_us: float = 0.0


@dataclass
class Case:
    backend: str
    n: int
    endpoint: str
    median_rps: float
    median_p50_ms: float
    median_p99_ms: float
    median_cpu_us: float  # twin + database CPU per request


@dataclass
class Result:
    sizes: list[int]
    rounds: int
    duration_s: int
    connections: int
    threads: int
    measurements: list[Measurement] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    # backend -> endpoint -> median over rounds of rps(N large) / rps(N small), same round
    ratios: dict[str, dict[str, float]] = field(default_factory=dict)
    # backend -> endpoint -> median over rounds of CPU per request, N large / N small
    cpu_ratios: dict[str, dict[str, float]] = field(default_factory=dict)
    populate_s: dict[str, dict[str, float]] = field(default_factory=dict)
    server_peak_rss_mb: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# -- helpers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": "Bearer x"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _with_application_name(dsn: str, name: str) -> str:
    """The DSN naming its connections, so that their server processes can be found."""
    return f"{dsn}{'&' if '?' in dsn else '?'}application_name={name}"


def postgres_backends(dsn: str, application_name: str) -> list[int]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (application_name,)
        ).fetchall()
    return [int(row[0]) for row in rows]


def rss_peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def serving(store: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """`apitwin serve digitalocean --store STORE` on ``port`` until the block ends (the
    stores used here, memory, a named SQLite file or a DSN, need no --data-dir)."""
    command = [sys.executable, "-m", "apitwin", "serve", TWIN, "--store", store]
    # One token sends thousands of requests a second: DigitalOcean's 250-a-minute limit would
    # turn the run into 429s. Rate limits are off here; their cost is in docs/conventions.md.
    command += ["--port", str(port), "--rate-limits", "off"]
    # What is measured is the store's work as it grows: kept replies would answer the
    # hundred ids of N = 100 without reading the store, and few of the 100,000.
    command += ["--kept-replies", "off"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if process.poll() is not None:
                stderr = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"apitwin serve exited: {stderr.strip()}")
            try:
                status, _ = http_get(f"http://127.0.0.1:{port}/__apitwin__/", timeout=2)
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"apitwin serve did not answer on port {port}")
            time.sleep(0.05)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


# -- the droplet body ------------------------------------------------------------------------


def sample_droplet() -> dict[str, Any]:
    """One droplet as the twin itself serves it (its seed item, from the document's
    example), fetched from a short-lived in-memory twin."""
    port = free_port()
    with serving("memory", port):
        status, body = http_get(f"http://127.0.0.1:{port}/v2/droplets?per_page=1")
    if status != 200:
        raise RuntimeError(f"GET /v2/droplets answered {status}: {body[:200]!r}")
    droplets = json.loads(body)["droplets"]
    if not droplets:
        raise RuntimeError("the twin served no droplet to copy")
    return dict(droplets[0])


# -- filling the store -----------------------------------------------------------------------


def populate(store_spec: str, data_dir: Path, n: int, droplet: dict[str, Any]) -> float:
    """Empty the twin's state and store droplets 1..n; seconds taken."""
    from apitwin.state import semantics
    from apitwin.state.stores import open_store

    # The twin seeds a family on first use unless its state says the family was seeded:
    # a row of the bookkeeping family where the twin keeps one, else a store meta marker.
    # The seeded Kubernetes cluster's nodes are droplets too: that family stays unseeded,
    # so that the collection holds exactly the n droplets written here.
    meta_family: str | None = getattr(semantics, "META_FAMILY", None)
    markers = [f"seeded:{name}" for name in (FAMILY, *DROPLET_MAKERS)]
    started = time.perf_counter()
    store = open_store(store_spec, data_dir)
    try:
        store.clear(TWIN)
        for first in range(1, n + 1, BATCH):
            with store.transaction(TWIN) as tx:
                for ident in range(first, min(first + BATCH, n + 1)):
                    body = copy.copy(droplet)
                    body["id"] = ident
                    body["name"] = f"droplet-{ident}.example.com"
                    tx.put(FAMILY, str(ident), body)
        for marker in markers:
            if meta_family is not None:
                with store.transaction(TWIN) as tx:
                    tx.put(meta_family, marker, {"seed": 0})
            else:
                store.set_meta(TWIN, marker, "0")
    finally:
        store.close()
    return time.perf_counter() - started


def vacuum_postgres(dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in ("resources", "counts", "totals", "meta"):
            conn.execute(f"VACUUM (ANALYZE) apitwin.{table}")


def check_twin(port: int, n: int) -> None:
    """The served collection is the stored one: item n exists and the list counts n."""
    base = f"http://127.0.0.1:{port}"
    status, body = http_get(f"{base}/v2/droplets/{n}")
    if status != 200:
        raise RuntimeError(f"GET /v2/droplets/{n} answered {status}: {body[:200]!r}")
    status, body = http_get(f"{base}/v2/droplets?per_page=20")
    page = json.loads(body)
    total = page.get("meta", {}).get("total")
    if status != 200 or total != n or len(page.get("droplets", ())) != min(20, n):
        raise RuntimeError(
            f"list answered {status} with total {total}, expected {n}: did the twin seed "
            "the collection anyway (see populate)?"
        )


# -- wrk -------------------------------------------------------------------------------------

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _duration_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unreadable wrk duration {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> dict[str, Any]:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    total = re.search(r"(\d+) requests in", output)
    if not (rps and p50 and p99 and total):
        raise RuntimeError(f"unreadable wrk output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:\s+(.*)", output)
    return {
        "requests_per_s": float(rps.group(1)),
        "p50_ms": _duration_ms(p50.group(1)),
        "p99_ms": _duration_ms(p99.group(1)),
        "requests": int(total.group(1)),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
    }


def wrk(url: str, seconds: int, load: tuple[int, int], script: Path | None = None) -> str:
    threads, connections = load
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "5s",
        "-H",
        HEADER,
    ]
    if script is not None:
        command += ["-s", str(script)]
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=seconds + WRK_TIMEOUT_S
    )
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed: {out.stderr.strip()}")
    return out.stdout


# -- the benchmark ---------------------------------------------------------------------------


def _targets(port: int, n: int) -> dict[str, tuple[str, Path | None]]:
    script = CACHE / f"get-{n}.lua"
    script.write_text(GET_SCRIPT.replace("{n}", str(n)))
    base = f"http://127.0.0.1:{port}"
    last_page = max(1, (n + 19) // 20)
    return {
        "get": (f"{base}/v2/droplets/1", script),
        "list": (f"{base}/v2/droplets?per_page=20", None),
        "deep": (f"{base}/v2/droplets?per_page=20&page={last_page}", None),
    }


def run_backend(
    backend: str, store_spec: dict[int, str], args: argparse.Namespace, result: Result
) -> None:
    droplet = args.droplet
    data_dir = CACHE / "data"
    raw: Path | None = args.raw
    fills = result.populate_s.setdefault(backend, {})
    peaks = result.server_peak_rss_mb.setdefault(backend, {})
    if backend == "sqlite":
        for n in args.sizes:
            Path(store_spec[n]).unlink(missing_ok=True)
            for suffix in ("-wal", "-shm"):
                Path(store_spec[n] + suffix).unlink(missing_ok=True)
            fills[str(n)] = populate(store_spec[n], data_dir, n, droplet)
            print(f"{backend}: stored {n} droplets in {fills[str(n)]:.1f} s", flush=True)
    for round_no in range(1, args.rounds + 1):
        for n in args.sizes:
            if backend == "postgres":
                seconds = populate(store_spec[n], data_dir, n, droplet)
                vacuum_postgres(store_spec[n])
                fills[str(n)] = max(fills.get(str(n), 0.0), seconds)
                print(f"{backend}: stored {n} droplets in {seconds:.1f} s", flush=True)
            port = free_port()
            spec, db_pids = store_spec[n], []
            if backend == "postgres":
                label = f"apitwin-bench-{os.getpid()}"
                spec = _with_application_name(spec, label)
            with serving(spec, port) as process:
                check_twin(port, n)
                if backend == "postgres":
                    db_pids = postgres_backends(store_spec[n], label)
                for endpoint, (url, script) in _targets(port, n).items():
                    wrk(url, WARMUP_S, LOAD[endpoint], script)
                    twin_before = cpu_seconds(process.pid)
                    db_before = sum(cpu_seconds(pid) for pid in db_pids)
                    output = wrk(url, args.duration, LOAD[endpoint], script)
                    twin_cpu = cpu_seconds(process.pid) - twin_before
                    db_cpu = sum(cpu_seconds(pid) for pid in db_pids) - db_before
                    if raw is not None:
                        name = f"state_growth-{backend}-n{n}-{endpoint}-r{round_no}.txt"
                        (raw / name).write_text(output)
                    figures = parse_wrk(output)
                    m = Measurement(backend, n, endpoint, round_no, LOAD[endpoint][1], **figures)
                    answered = max(1, m.requests)
                    m.twin_cpu_us = twin_cpu / answered * 1e6
                    m.db_cpu_us = db_cpu / answered * 1e6
                    result.measurements.append(m)
                    bad = f", {m.non_2xx} non-2xx" if m.non_2xx else ""
                    print(
                        f"{backend} N={n:<6} {endpoint:<4} round {round_no}: "
                        f"{m.requests_per_s:8.0f} req/s  p50 {m.p50_ms:6.2f} ms  "
                        f"p99 {m.p99_ms:6.2f} ms  CPU/request {m.twin_cpu_us:5.0f} us twin "
                        f"+ {m.db_cpu_us:4.0f} us db{bad}",
                        flush=True,
                    )
                peaks[str(n)] = max(peaks.get(str(n), 0.0), rss_peak_mb(process.pid))


def summarize(result: Result) -> None:
    backends = sorted({m.backend for m in result.measurements})
    small, large = min(result.sizes), max(result.sizes)
    for backend in backends:
        for endpoint in ENDPOINTS:
            for n in result.sizes:
                ms = [
                    m
                    for m in result.measurements
                    if (m.backend, m.endpoint, m.n) == (backend, endpoint, n)
                ]
                if not ms:
                    continue
                result.cases.append(
                    Case(
                        backend,
                        n,
                        endpoint,
                        statistics.median(m.requests_per_s for m in ms),
                        statistics.median(m.p50_ms for m in ms),
                        statistics.median(m.p99_ms for m in ms),
                        statistics.median(m.twin_cpu_us + m.db_cpu_us for m in ms),
                    )
                )
            by_round: dict[int, dict[int, Measurement]] = {}
            for m in result.measurements:
                if (m.backend, m.endpoint) == (backend, endpoint):
                    by_round.setdefault(m.round, {})[m.n] = m
            pairs = [(r[small], r[large]) for r in by_round.values() if small in r and large in r]
            if not pairs:
                continue
            result.ratios.setdefault(backend, {})[endpoint] = statistics.median(
                b.requests_per_s / a.requests_per_s if a.requests_per_s else 0.0 for a, b in pairs
            )
            result.cpu_ratios.setdefault(backend, {})[endpoint] = statistics.median(
                (b.twin_cpu_us + b.db_cpu_us) / (a.twin_cpu_us + a.db_cpu_us)
                if a.twin_cpu_us + a.db_cpu_us
                else 0.0
                for a, b in pairs
            )
    if any(m.non_2xx for m in result.measurements):
        result.notes.append("some measurements saw non-2xx answers: see the raw wrk outputs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--sizes", default=",".join(str(n) for n in SIZES))
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--raw", type=Path, help="keep every wrk output in this directory")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",")]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "postgres"}
    if unknown:
        raise SystemExit(f"unknown backends: {sorted(unknown)}")
    os.chdir(ROOT)
    CACHE.mkdir(parents=True, exist_ok=True)
    if args.raw is not None:
        args.raw.mkdir(parents=True, exist_ok=True)
    args.droplet = sample_droplet()
    result = Result(args.sizes, args.rounds, args.duration, CONNECTIONS, THREADS)
    sqlite_files = {n: str(CACHE / f"droplets-{n}.sqlite3") for n in args.sizes}
    try:
        for backend in backends:
            specs = sqlite_files if backend == "sqlite" else dict.fromkeys(args.sizes, args.dsn)
            run_backend(backend, specs, args, result)
    finally:
        if "postgres" in backends:
            reset = subprocess.run(
                [sys.executable, "-m", "apitwin", "reset", TWIN, "--store", args.dsn],
                capture_output=True,
                text=True,
            )
            print(f"postgres: {reset.stdout.strip() or reset.stderr.strip()}", flush=True)
        for path in CACHE.glob("droplets-*.sqlite3*"):
            path.unlink()
    summarize(result)
    small, large = min(args.sizes), max(args.sizes)
    print(f"\nmedians over {args.rounds} rounds; ratio = rps(N={large}) / rps(N={small})")
    for case in result.cases:
        print(
            f"{case.backend:<8} {case.endpoint:<4} N={case.n:<6} {case.median_rps:8.0f} req/s  "
            f"p50 {case.median_p50_ms:6.2f} ms  p99 {case.median_p99_ms:6.2f} ms  "
            f"CPU/request {case.median_cpu_us:6.0f} us"
        )
    for backend, ratios in result.ratios.items():
        for endpoint, ratio in ratios.items():
            verdict = (
                ""
                if endpoint not in TARGETED
                else ("  meets target" if ratio >= TARGET_RATIO else "  MISSES target")
            )
            cpu = result.cpu_ratios[backend][endpoint]
            print(f"{backend:<8} {endpoint:<4} ratio {ratio:.2f}{verdict} (CPU/request x{cpu:.2f})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(asdict(result), indent=2) + "\n")


if __name__ == "__main__":
    main()
