"""Cold start and memory of `apitwin serve`: process start until every twin answers.

Usage: python bench/startup.py [--runs N] [--store sqlite|memory] [--json PATH] [NAME ...]

Each run starts a fresh `python -m apitwin serve NAME...` on the bundled ports, with
``--store memory`` or the default SQLite store in a fresh temporary ``--data-dir`` (never
the user's data directory), and measures:

- ready: from just before the process is started until every port answers
  ``GET /__apitwin__/``, and the CPU time (user + system) the process used until then;
- first answers: until, in addition, one documented operation of every twin has answered
  (one real GET each, see ``PROBES``; stateful twins seed their state on this request);
- peak RSS: the kernel's high-water mark (VmHWM) of the serving process after that.

Prints one line per run and the medians; ``--json`` also writes them for bench/run.py.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STARTUP_DEADLINE_S = 60.0
REQUEST_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.005

BEARER = {"Authorization": "Bearer x"}

# One documented operation per bundled twin: a path under the twin's base URL and the
# headers the document requires for it.
PROBES: dict[str, tuple[str, dict[str, str]]] = {
    "digitalocean": ("/v2/account", BEARER),
    "docker-engine": ("/_ping", {}),
    "docker-hub": ("/v2/scim/2.0/ServiceProviderConfig", BEARER),
    "docker-dvp": ("/", BEARER),
    "discourse": ("/site.json", {}),
    "dnd5e": ("/api/ability-scores/cha", {}),
    "nookipedia": (
        "/villagers",
        {"X-API-KEY": "2b6e7a5e-1d7a-4d0e-9b1a-3f0e2c1d4a5b", "Accept-Version": "1.0.0"},
    ),
    "digitalnz": ("/records.json?api_key=x", {}),
    "dracoon": ("/v4/public/software/version", {}),
    "drchrono": ("/api/doctors", BEARER),
    "dweet": ("/get/latest/dweet/for/bench", {}),
    "ebay-browse": ("/item_summary/search?q=phone", BEARER),
    "ebay-deal": ("/event", {**BEARER, "X-EBAY-C-MARKETPLACE-ID": "EBAY_US"}),
}


@dataclass
class Twin:
    name: str
    port: int
    base_url: str


@dataclass
class Run:
    ready_s: float
    answered_s: float
    peak_rss_kb: int
    cpu_s: float  # user + system CPU of the serving process when every port answered
    failed_probes: dict[str, str] = field(default_factory=dict)  # twin -> status or error


@dataclass
class Summary:
    twins: list[str]
    store: str
    runs: list[Run]
    median_ready_s: float
    median_answered_s: float
    median_peak_rss_mb: float
    median_cpu_s: float


def bundled() -> list[Twin]:
    """The bundled twins as `apitwin list --json` prints them."""
    out = subprocess.run(
        [sys.executable, "-m", "apitwin", "list", "--json"],
        capture_output=True,
        check=True,
        cwd=ROOT,
    )
    return [
        Twin(str(r["name"]), int(r["port"]), str(r["base_url"])) for r in json.loads(out.stdout)
    ]


def busy_ports(ports: list[int]) -> list[int]:
    """Ports someone already listens on: a run there would measure the wrong server."""
    busy = []
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                busy.append(port)
    return busy


def _answers(port: int, deadline: float) -> bool:
    """True once the port serves HTTP. A bound port accepts connections before the
    server loop runs, so the reply is awaited (up to the deadline) rather than polled."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.05) as sock:
            sock.settimeout(max(0.05, deadline - time.perf_counter()))
            sock.sendall(b"GET /__apitwin__/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return sock.recv(12).startswith(b"HTTP/1.1")
    except OSError:
        return False


def _probe(twin: Twin) -> str | None:
    """Send the twin's documented GET; None when it answered 2xx, else what went wrong."""
    path, headers = PROBES.get(twin.name, ("/__apitwin__/", {}))
    request = urllib.request.Request(twin.base_url.rstrip("/") + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            response.read()
            return None if 200 <= response.status < 300 else str(response.status)
    except urllib.error.HTTPError as exc:
        return f"{exc.code} {exc.read()[:200]!r}"
    except OSError as exc:
        return f"error: {exc}"


def rss_peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (robust to a busy machine, where
    wall time also counts waiting for a CPU)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def one_run(twins: list[Twin], store: str) -> Run:
    with tempfile.TemporaryDirectory(prefix="apitwin-bench-") as data_dir:
        command = [sys.executable, "-m", "apitwin", "serve", *(t.name for t in twins)]
        if store == "memory":
            command += ["--store", "memory"]
        else:
            command += ["--store", "sqlite", "--data-dir", data_dir]
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT
        )
        try:
            pending = {t.port for t in twins}
            deadline = started + STARTUP_DEADLINE_S
            while pending and time.perf_counter() < deadline:
                pending = {p for p in pending if not _answers(p, deadline)}
                if process.poll() is not None:
                    stderr = process.stderr.read().decode() if process.stderr else ""
                    raise RuntimeError(f"apitwin serve exited: {stderr.strip()}")
                if pending:
                    time.sleep(POLL_INTERVAL_S)
            ready = time.perf_counter() - started
            if pending:
                raise RuntimeError(f"ports never answered: {sorted(pending)}")
            cpu = cpu_seconds(process.pid)
            failed = {t.name: err for t in twins if (err := _probe(t)) is not None}
            answered = time.perf_counter() - started
            return Run(ready, answered, rss_peak_kb(process.pid), cpu, failed)
        finally:
            _stop(process)


def measure(names: list[str], runs: int, store: str, *, echo: bool = True) -> Summary:
    known = bundled()
    unknown = sorted(set(names) - {t.name for t in known})
    if unknown:
        raise SystemExit(f"unknown twins: {', '.join(unknown)}")
    twins = [t for t in known if not names or t.name in names]
    busy = busy_ports([t.port for t in twins])
    if busy:
        raise SystemExit(f"ports already in use, stop what listens there first: {busy}")
    results = []
    for index in range(runs):
        run = one_run(twins, store)
        results.append(run)
        if echo:
            failed = f", failed probes: {run.failed_probes}" if run.failed_probes else ""
            print(
                f"run {index + 1}: ready in {run.ready_s:.3f} s ({run.cpu_s:.2f} s CPU), "
                f"first answers in "
                f"{run.answered_s:.3f} s, peak RSS {run.peak_rss_kb / 1024:.1f} MB{failed}",
                flush=True,
            )
    summary = Summary(
        twins=[t.name for t in twins],
        store=store,
        runs=results,
        median_ready_s=statistics.median(r.ready_s for r in results),
        median_answered_s=statistics.median(r.answered_s for r in results),
        median_peak_rss_mb=statistics.median(r.peak_rss_kb for r in results) / 1024,
        median_cpu_s=statistics.median(r.cpu_s for r in results),
    )
    if echo:
        print(
            f"median: ready in {summary.median_ready_s:.3f} s ({summary.median_cpu_s:.2f} s CPU), "
            f"first answers in "
            f"{summary.median_answered_s:.3f} s, peak RSS {summary.median_peak_rss_mb:.1f} MB "
            f"({len(twins)} twins, --store {store})",
            flush=True,
        )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--store", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("names", nargs="*", help="twins to serve (default: all bundled)")
    args = parser.parse_args()
    os.chdir(ROOT)
    summary = measure(args.names, args.runs, args.store)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(asdict(summary), indent=2) + "\n")


if __name__ == "__main__":
    main()
