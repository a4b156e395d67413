"""apitwin next to Stoplight Prism and the bare ASGI ceiling, on the same requests.

Usage: python bench/peers.py [--rounds 3] [--duration 5] [--store sqlite|memory]
       [--only NAME,...] [--raw DIR] [--json PATH]

Three servers answer each scenario on 127.0.0.1:

- apitwin: one ``python -m apitwin serve`` process serving all 13 bundled twins on their
  bundled ports, with a fresh temporary ``--data-dir`` (the default SQLite store) or
  ``--store memory``; it runs for the whole benchmark, so its peak RSS is read after
  every load run.
- Prism: ``prism mock <vendored document> -p PORT -h 127.0.0.1`` (installed into
  bench/.cache/ with npm when missing), one process per document, started before the
  document's scenarios and stopped after them. Prism routes the document's paths without
  the server base path (``/containers/json``, where apitwin serves
  ``/v1.33/containers/json``); each scenario names the path Prism answers with a 2xx.
- ceiling: bench/ceiling.py, a bare ASGI app on uvicorn + httptools + uvloop (apitwin's
  server settings) answering a fixed body of the size and status apitwin answers the
  scenario with: the most any application on this stack can do.

Each measurement is wrk (2 threads, 32 connections, ``--latency``, ``Authorization:
Bearer x``, 1 s of warm-up, then ``--duration`` seconds; POST bodies through
bench/post.lua). Within a scenario the three servers take turns (apitwin, Prism,
ceiling) for ``--rounds`` rounds, so drift on a busy machine hits all alike; the ratios
are medians over rounds of the ratios within one round. Every server's CPU time (user +
system) per answered request is recorded too: on a shared machine it moves less than
req/s. After the rounds, each server is also measured with one connection (1 thread):
the latency of a request that never waits behind others, which 32 connections
saturating a server on a small machine mostly hide behind queueing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from startup import Twin, bundled, busy_ports
from state_growth import parse_wrk

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
CACHE = BENCH / ".cache"
WORK = CACHE / "peers"
PRISM = CACHE / "node_modules" / ".bin" / "prism"
PRISM_PACKAGE = "@stoplight/prism-cli"
SPECS = ROOT / "src" / "apitwin" / "twins" / "specs"
POST_LUA = BENCH / "post.lua"
HEADERS = {"Authorization": "Bearer x"}
THREADS = 2
CONNECTIONS = 32
WARMUP_S = 1
WRK_TIMEOUT_S = 60
START_TIMEOUT_S = 180.0  # Prism checks every operation of a document before it listens
NPM_TIMEOUT_S = 900
TARGETS = ("apitwin", "prism", "ceiling")

# The body of a droplet create request: the document's "Single Droplet Create Request"
# without its ssh_keys and vpc_uuid, which name keys and a VPC the account does not hold
# (the twin, like DigitalOcean, answers 422 "You specified an invalid SSH key").
DROPLET = {
    "name": "example.com",
    "region": "nyc3",
    "size": "s-1vcpu-1gb",
    "image": "ubuntu-20-04-x64",
    "backups": True,
    "ipv6": True,
    "monitoring": True,
    "tags": ["env:prod", "web"],
    "user_data": "#cloud-config\nruncmd:\n  - touch /test.txt\n",
}
REJECT_BYTES = 1024


def invalid_ssh_key() -> bytes:
    """A 1 KB ``POST /v2/account/keys`` body that the document's schema rejects: ``name``
    must be a string. The rest is a plausible RSA public key."""
    head = b'{"name":42,"public_key":"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAACAQ'
    tail = b' bench@example.com"}'
    filler = REJECT_BYTES - len(head) - len(tail)
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    key = bytes(alphabet[(i * 7 + 3) % len(alphabet)] for i in range(filler))
    return head + key + tail


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    twin: str  # the bundled twin, and the document Prism serves
    method: str
    path: str  # under the twin's base URL; {droplet} is a stored droplet's id
    prism_path: str  # the same operation as Prism routes it
    body: str = ""  # a file under WORK, for POST
    kind: str = "get"  # get | create | reject
    targets: str = ""  # what the issue asks of it, for the report


SCENARIOS = (
    Scenario(
        "do-get",
        "DigitalOcean `GET /v2/droplets/{id}` (a stored droplet)",
        "digitalocean",
        "GET",
        "/v2/droplets/{droplet}",
        "/v2/droplets/{droplet}",
    ),
    Scenario(
        "do-list",
        "DigitalOcean `GET /v2/droplets?per_page=20` (a page of 20)",
        "digitalocean",
        "GET",
        "/v2/droplets?per_page=20",
        "/v2/droplets?per_page=20",
    ),
    Scenario(
        "do-create",
        "DigitalOcean `POST /v2/droplets` (create one droplet)",
        "digitalocean",
        "POST",
        "/v2/droplets",
        "/v2/droplets",
        body="droplet-create.json",
        kind="create",
    ),
    Scenario(
        "docker-containers",
        "Docker Engine `GET /v1.33/containers/json`, 3 running (Prism: `/containers/json`)",
        "docker-engine",
        "GET",
        "/containers/json",
        "/containers/json",
    ),
    Scenario(
        "dnd5e-cha",
        "dnd5e `GET /api/ability-scores/cha`",
        "dnd5e",
        "GET",
        "/api/ability-scores/cha",
        "/api/ability-scores/cha",
    ),
    Scenario(
        "do-reject",
        "DigitalOcean `POST /v2/account/keys`, 1 KB body, `name` not a string (rejected)",
        "digitalocean",
        "POST",
        "/v2/account/keys",
        "/v2/account/keys",
        body="ssh-key-invalid.json",
        kind="reject",
    ),
)
# The order the servers meet them in: creates last, so that the lists before them see the
# same 20 droplets they were prepared with.
RUN_ORDER = ("do-get", "do-list", "do-reject", "do-create", "docker-containers", "dnd5e-cha")


@dataclass
class Measurement:
    scenario: str
    target: str
    round: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: str
    cpu_us: float  # server CPU (user + system) per answered request


@dataclass
class Unloaded:
    """One connection at a time: the latency of a request that never queues."""

    scenario: str
    target: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float


@dataclass
class Probe:
    status: int
    bytes: int


@dataclass
class Summary:
    scenario: str
    target: str
    median_rps: float
    median_p50_ms: float
    median_p99_ms: float
    median_cpu_us: float


@dataclass
class Result:
    rounds: int
    duration_s: int
    threads: int
    connections: int
    store: str
    prism_version: str
    node_version: str
    scenarios: list[dict[str, Any]] = field(default_factory=list)
    probes: dict[str, dict[str, Probe]] = field(default_factory=dict)  # scenario -> target
    measurements: list[Measurement] = field(default_factory=list)
    unloaded: list[Unloaded] = field(default_factory=list)
    summaries: list[Summary] = field(default_factory=list)
    # scenario -> median over rounds of apitwin req/s over the peer's, same round
    ratio_prism: dict[str, float] = field(default_factory=dict)
    ratio_ceiling: dict[str, float] = field(default_factory=dict)
    apitwin_peak_rss_mb: float = 0.0  # VmHWM of the process serving all 13, after the runs
    apitwin_rss_mb: float = 0.0  # VmRSS at the end
    prism_peak_rss_mb: dict[str, float] = field(default_factory=dict)  # document -> VmHWM
    prism_start_s: dict[str, float] = field(default_factory=dict)  # until it answered
    notes: list[str] = field(default_factory=list)


# -- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of processes so far."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def node_pid(pid: int) -> int:
    """The node process behind a started Prism: the process itself when the launcher
    exec'ed node, else its first node child."""
    for candidate in [pid, *children(pid)]:
        with contextlib.suppress(OSError):
            if Path(f"/proc/{candidate}/comm").read_text().strip() == "node":
                return candidate
    return pid


def request(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, bytes]:
    headers = dict(HEADERS)
    if body is not None:
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait_until_answers(process: subprocess.Popen[bytes], url: str, what: str) -> float:
    """Seconds from now until ``url`` answers at all (any HTTP status)."""
    started = time.monotonic()
    while time.monotonic() - started < START_TIMEOUT_S:
        if process.poll() is not None:
            stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"{what} exited with status {process.returncode}: {stderr[-500:]}")
        try:
            request(url)
            return time.monotonic() - started
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer {url} within {START_TIMEOUT_S:.0f} s")


@contextlib.contextmanager
def started(
    command: list[str], url: str, what: str
) -> Iterator[tuple[subprocess.Popen[bytes], float]]:
    """A server process, once ``url`` answers, and how long that took."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        yield process, wait_until_answers(process, url, what)
    finally:
        stop(process)


def ensure_prism() -> None:
    """Install Prism into bench/.cache/ (git-ignored) unless it is there."""
    if PRISM.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is not installed; Prism cannot be installed (needs Node 18+)")
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"installing {PRISM_PACKAGE} into {CACHE.relative_to(ROOT)}/", flush=True)
    subprocess.run(
        [npm, "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", PRISM_PACKAGE],
        check=True,
        timeout=NPM_TIMEOUT_S,
    )
    if not PRISM.exists():
        raise SystemExit(f"npm install did not provide {PRISM}")


def prism_version() -> str:
    package = CACHE / "node_modules" / "@stoplight" / "prism-cli" / "package.json"
    return str(json.loads(package.read_text()).get("version", "unknown"))


def node_version() -> str:
    out = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30)
    return out.stdout.strip() or "unknown"


# -- wrk -------------------------------------------------------------------------------------


def run_wrk(
    url: str, seconds: int, body_file: Path | None, load: tuple[int, int] = (THREADS, CONNECTIONS)
) -> str:
    threads, connections = load
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "5s",
        *(arg for name, value in HEADERS.items() for arg in ("-H", f"{name}: {value}")),
    ]
    if body_file is not None:
        command += ["-s", str(POST_LUA), url, "--", str(body_file)]
    else:
        command.append(url)
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + WRK_TIMEOUT_S)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed: {out.stderr.strip()}")
    return out.stdout


def measure(
    url: str,
    body_file: Path | None,
    pids: list[int],
    seconds: int,
    raw: Path | None,
    raw_name: str,
    load: tuple[int, int] = (THREADS, CONNECTIONS),
) -> dict[str, Any]:
    """Warm up, then one wrk run; its figures and the servers' CPU per request."""
    run_wrk(url, WARMUP_S, body_file, load)
    before = cpu_seconds(pids)
    output = run_wrk(url, seconds, body_file, load)
    used = cpu_seconds(pids) - before
    if raw is not None:
        (raw / raw_name).write_text(output)
    figures = parse_wrk(output)
    figures["cpu_us"] = used / max(1, figures["requests"]) * 1e6
    return figures


# -- the benchmark ---------------------------------------------------------------------------


def _expected(kind: str, status: int) -> bool:
    return 400 <= status < 500 if kind == "reject" else 200 <= status < 300


def prepare_apitwin(base: str) -> str:
    """A stored droplet's id, after making sure the first page of 20 is full."""
    status, body = request(f"{base}/v2/droplets?per_page=20")
    if status != 200:
        raise RuntimeError(f"apitwin GET /v2/droplets answered {status}: {body[:200]!r}")
    page = json.loads(body)
    missing = 20 - len(page["droplets"])
    for _ in range(max(0, missing)):
        status, body = request(f"{base}/v2/droplets", "POST", json.dumps(DROPLET).encode())
        if status != 202:
            raise RuntimeError(f"apitwin POST /v2/droplets answered {status}: {body[:200]!r}")
    return str(page["droplets"][0]["id"])


# Running containers the Docker list shows: the twin starts with none (a fresh daemon), and
# an empty list would measure little. Three nginx containers answer about as many bytes
# as Prism's example list.
CONTAINERS = 3


def prepare_docker(base: str) -> None:
    """Pull nginx and run ``CONTAINERS`` containers, unless that many already run.
    ``base`` is the twin's base URL with its API version (``.../v1.33``)."""
    status, body = request(f"{base}/containers/json")
    if status != 200:
        raise RuntimeError(f"apitwin GET /containers/json answered {status}: {body[:200]!r}")
    running = len(json.loads(body))
    if running >= CONTAINERS:
        return
    status, body = request(f"{base}/images/create?fromImage=nginx&tag=latest", "POST", b"")
    if status != 200:
        raise RuntimeError(f"apitwin image pull answered {status}: {body[:200]!r}")
    for index in range(running, CONTAINERS):
        config = json.dumps({"Image": "nginx:latest"}).encode()
        status, body = request(f"{base}/containers/create?name=bench-{index + 1}", "POST", config)
        if status != 201:
            raise RuntimeError(f"apitwin container create answered {status}: {body[:200]!r}")
        ident = json.loads(body)["Id"]
        status, body = request(f"{base}/containers/{ident}/start", "POST", b"")
        if status != 204:
            raise RuntimeError(f"apitwin container start answered {status}: {body[:200]!r}")


def write_bodies() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "droplet-create.json").write_bytes(json.dumps(DROPLET).encode())
    (WORK / "ssh-key-invalid.json").write_bytes(invalid_ssh_key())


def run_scenario(
    scenario: Scenario,
    urls: dict[str, str],
    pids: dict[str, list[int]],
    args: argparse.Namespace,
    result: Result,
) -> None:
    body_file = WORK / scenario.body if scenario.body else None
    for round_no in range(1, args.rounds + 1):
        for target in TARGETS:
            raw_name = f"peers-{scenario.name}-{target}-r{round_no}.txt"
            figures = measure(
                urls[target], body_file, pids[target], args.duration, args.raw, raw_name
            )
            m = Measurement(scenario.name, target, round_no, **figures)
            result.measurements.append(m)
            print(
                f"{scenario.name:<17} {target:<7} round {round_no}: "
                f"{m.requests_per_s:8.0f} req/s  p50 {m.p50_ms:7.2f} ms  p99 {m.p99_ms:7.2f} ms"
                f"  CPU/request {m.cpu_us:6.0f} us"
                f"{f'  non-2xx {m.non_2xx}' if m.non_2xx else ''}"
                f"{f'  socket errors: {m.socket_errors}' if m.socket_errors else ''}",
                flush=True,
            )
    for target in TARGETS:
        raw_name = f"peers-{scenario.name}-{target}-1conn.txt"
        figures = measure(
            urls[target], body_file, pids[target], args.duration, args.raw, raw_name, (1, 1)
        )
        u = Unloaded(
            scenario.name, target, figures["requests_per_s"], figures["p50_ms"], figures["p99_ms"]
        )
        result.unloaded.append(u)
        print(
            f"{scenario.name:<17} {target:<7} 1 connection: {u.requests_per_s:8.0f} req/s  "
            f"p50 {u.p50_ms:7.2f} ms  p99 {u.p99_ms:7.2f} ms",
            flush=True,
        )


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def probe(url: str, scenario: Scenario) -> Probe:
    body = (WORK / scenario.body).read_bytes() if scenario.body else None
    status, payload = request(url, scenario.method, body)
    return Probe(status, len(payload))


def run_document(
    twin: str,
    scenarios: list[Scenario],
    twins: dict[str, Twin],
    apitwin_pid: int,
    droplet: str,
    args: argparse.Namespace,
    result: Result,
) -> None:
    """Prism for one document, then every scenario of that document."""
    port = free_port()
    prism = f"http://127.0.0.1:{port}"
    spec = SPECS / f"{twin}.json"
    command = [str(PRISM), "mock", str(spec.relative_to(ROOT)), "-p", str(port), "-h", "127.0.0.1"]
    first = scenarios[0].prism_path.replace("{droplet}", droplet)
    print(f"$ {' '.join(command)}", flush=True)
    with started(command, prism + first, f"prism ({twin})") as (process, seconds):
        result.prism_start_s[twin] = seconds
        node = node_pid(process.pid)
        for scenario in scenarios:
            urls = {
                "apitwin": twins[twin].base_url.rstrip("/") + scenario.path,
                "prism": prism + scenario.prism_path,
            }
            urls = {k: v.replace("{droplet}", droplet) for k, v in urls.items()}
            probes = {target: probe(url, scenario) for target, url in urls.items()}
            for target, seen in probes.items():
                if not _expected(scenario.kind, seen.status):
                    raise RuntimeError(
                        f"{scenario.name}: {target} answered {seen.status} on {urls[target]}"
                    )
            ours = probes["apitwin"]
            ceiling_port = free_port()
            urls["ceiling"] = f"http://127.0.0.1:{ceiling_port}{_path_of(urls['apitwin'])}"
            ceiling_cmd = [
                sys.executable,
                str(BENCH / "ceiling.py"),
                "--port",
                str(ceiling_port),
                "--size",
                str(ours.bytes),
                "--status",
                str(ours.status),
            ]
            with started(ceiling_cmd, urls["ceiling"], "ceiling") as (ceiling, _):
                probes["ceiling"] = probe(urls["ceiling"], scenario)
                result.probes[scenario.name] = probes
                print(
                    f"{scenario.name}: "
                    + ", ".join(f"{t} {p.status} ({p.bytes} bytes)" for t, p in probes.items()),
                    flush=True,
                )
                pids = {"apitwin": [apitwin_pid], "prism": [node], "ceiling": [ceiling.pid]}
                run_scenario(scenario, urls, pids, args, result)
        result.prism_peak_rss_mb[twin] = proc_status_kb(node, "VmHWM") / 1024


def rounds_of(measurements: list[Measurement], scenario: str) -> dict[int, dict[str, Measurement]]:
    """One scenario's measurements by round, then by target."""
    rounds: dict[int, dict[str, Measurement]] = {}
    for m in measurements:
        if m.scenario == scenario:
            rounds.setdefault(m.round, {})[m.target] = m
    return rounds


def medians(
    scenario: str, rounds: dict[int, dict[str, Measurement]], targets: Iterable[str]
) -> list[Summary]:
    """Per target, the medians over rounds (the figures the tables show)."""
    summaries = []
    for target in targets:
        ms = [r[target] for r in rounds.values() if target in r]
        summaries.append(
            Summary(
                scenario,
                target,
                statistics.median(m.requests_per_s for m in ms),
                statistics.median(m.p50_ms for m in ms),
                statistics.median(m.p99_ms for m in ms),
                statistics.median(m.cpu_us for m in ms),
            )
        )
    return summaries


def summarize(result: Result) -> None:
    for scenario in RUN_ORDER:
        rounds = rounds_of(result.measurements, scenario)
        if not rounds:
            continue
        result.summaries.extend(medians(scenario, rounds, TARGETS))
        for peer, ratios in (("prism", result.ratio_prism), ("ceiling", result.ratio_ceiling)):
            ratios[scenario] = statistics.median(
                r["apitwin"].requests_per_s / r[peer].requests_per_s
                for r in rounds.values()
                if r[peer].requests_per_s
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--store", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--raw", type=Path, help="keep every wrk output in this directory")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    os.chdir(ROOT)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    chosen = [s.strip() for s in args.only.split(",") if s.strip()] or list(RUN_ORDER)
    known = {s.name: s for s in SCENARIOS}
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise SystemExit(f"unknown scenarios {unknown}; known: {', '.join(RUN_ORDER)}")
    ensure_prism()
    write_bodies()
    if args.raw is not None:
        args.raw.mkdir(parents=True, exist_ok=True)
    twins = {t.name: t for t in bundled()}
    busy = busy_ports([t.port for t in twins.values()])
    if busy:
        raise SystemExit(f"ports already in use, stop what listens there first: {busy}")
    result = Result(
        args.rounds,
        args.duration,
        THREADS,
        CONNECTIONS,
        args.store,
        prism_version(),
        node_version(),
        scenarios=[asdict(s) for s in SCENARIOS if s.name in chosen],
    )
    with tempfile.TemporaryDirectory(prefix="apitwin-bench-") as data_dir:
        # One token sends thousands of requests a second: DigitalOcean's 250-a-minute limit would
        # turn the run into 429s. Rate limits are off here; their cost is in docs/conventions.md.
        command = [sys.executable, "-m", "apitwin", "serve", "--rate-limits", "off"]
        command += ["--store", "memory"] if args.store == "memory" else ["--data-dir", data_dir]
        admin = f"http://127.0.0.1:{twins['dnd5e'].port}/__apitwin__/"
        print(f"$ {' '.join(command)}", flush=True)
        with started(command, admin, "apitwin serve") as (apitwin, _):
            for name in ("digitalocean", "docker-engine", "dnd5e"):
                wait_until_answers(apitwin, twins[name].base_url.rstrip("/") + "/", name)
            droplet = prepare_apitwin(twins["digitalocean"].base_url.rstrip("/"))
            prepare_docker(twins["docker-engine"].base_url.rstrip("/"))
            order = [known[name] for name in RUN_ORDER if name in chosen]
            for twin in dict.fromkeys(s.twin for s in order):
                run_document(
                    twin,
                    [s for s in order if s.twin == twin],
                    twins,
                    apitwin.pid,
                    droplet,
                    args,
                    result,
                )
            result.apitwin_peak_rss_mb = proc_status_kb(apitwin.pid, "VmHWM") / 1024
            result.apitwin_rss_mb = proc_status_kb(apitwin.pid, "VmRSS") / 1024
    summarize(result)
    print(f"\nmedians over {args.rounds} rounds; ratios: apitwin req/s over the other's, per round")
    for s in result.summaries:
        print(
            f"{s.scenario:<17} {s.target:<7} {s.median_rps:8.0f} req/s  "
            f"p50 {s.median_p50_ms:7.2f} ms  p99 {s.median_p99_ms:7.2f} ms  "
            f"CPU/request {s.median_cpu_us:6.0f} us"
        )
    for name in result.ratio_prism:
        print(
            f"{name:<17} apitwin/prism x{result.ratio_prism[name]:.1f}  "
            f"apitwin/ceiling {result.ratio_ceiling[name]:.0%}"
        )
    print(
        f"peak RSS: apitwin (all 13) {result.apitwin_peak_rss_mb:.0f} MB "
        f"(now {result.apitwin_rss_mb:.0f} MB); Prism "
        + ", ".join(f"{k} {v:.0f} MB" for k, v in result.prism_peak_rss_mb.items())
    )
    if any(m.socket_errors for m in result.measurements):
        result.notes.append("some measurements saw socket errors: see the raw wrk outputs")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(asdict(result), indent=2) + "\n")


if __name__ == "__main__":
    main()
