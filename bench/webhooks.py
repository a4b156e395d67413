"""Do webhook deliveries slow the API down? 1,000 drchrono writes in a burst, with and
without a subscribed receiver.

Usage: python bench/webhooks.py [--rounds 3] [--patients 100] [--versions 10]
       [--clients 20] [--store memory|sqlite] [--src PATH] [--json PATH]

``apitwin serve drchrono`` runs in its own process; a receiver (its own process too, so
that it competes with the bench client for nothing but the CPUs) answers the HMAC
verification and records every delivery. Each round writes twice, once with no webhook
registered (*off*) and once with a verified webhook subscribed to PATIENT_CREATE and
PATIENT_MODIFY (*on*), alternating which goes first:

- ``--clients`` threads each own ``--patients / --clients`` patients; a thread creates its
  patients (``first_name=v0``), then patches them round-robin up to ``--versions``
  (``first_name=v1`` ...), so every patient's writes are sequential while patients run
  concurrently: 100 x 10 = 1,000 writes;
- every write's latency is measured by the client (httpx, keep-alive);
- in the *on* run the bench then waits (bounded) until the receiver holds one delivery
  per write and checks that each patient's deliveries arrived as v0, v1, ..., in order.

Reported per round: p50/p99/max of write latency off and on, their p99 difference, the
time until the last delivery arrived after the last write, the order check, and the CPU
time the twin's process used per write (user + system, from /proc, from the first write
until the last delivery was logged): on a shared machine latency percentiles move with
other people's work, while CPU time per write mostly does not. The target (issue #9):
delivery adds no more than 5 ms to the API's p99.

``--src PATH`` serves the twin from another source tree (``git archive REV src | tar -x
-C DIR``, then ``--src DIR/src``) to compare two revisions on the same machine.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret"


def _receiver(port_out: Any) -> None:
    """The receiver process: answers verification, records deliveries, serves them."""
    log: list[tuple[int, str, str]] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            return

        def do_GET(self) -> None:  # noqa: N802
            if self.path.startswith("/log"):
                with lock:
                    self._answer({"log": log})
                return
            msg = parse_qs(urlsplit(self.path).query).get("msg", [""])[0]
            token = hmac.new(SECRET.encode(), msg.encode(), hashlib.sha256).hexdigest()
            self._answer({"secret_token": token})

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            obj = body["object"]
            with lock:
                log.append((obj["id"], obj["first_name"], self.headers["x-drchrono-event"]))
            self._answer({})

        def do_DELETE(self) -> None:  # noqa: N802
            with lock:
                log.clear()
            self._answer({})

        def _answer(self, value: Any) -> None:
            payload = json.dumps(value).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    class Server(ThreadingHTTPServer):
        request_queue_size = 256  # 32 lanes connect at once; the default backlog is 5

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_out.put(server.server_address[1])
    server.serve_forever()


def start_twin(
    store: str, data_dir: str, src: Path | None = None
) -> tuple[subprocess.Popen[str], str]:
    args = [sys.executable, "-m", "apitwin", "serve", "drchrono", "--port", "0"]
    args += ["--store", "memory"] if store == "memory" else ["--data-dir", data_dir]
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=env
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"http://127\.0\.0\.1:(\d+)", process.stdout.readline())
        if found:
            base = f"http://127.0.0.1:{found.group(1)}"
            while time.monotonic() < deadline:
                try:
                    httpx.get(f"{base}/__apitwin__/", timeout=1)
                    threading.Thread(target=process.stdout.read, daemon=True).start()
                    return process, base
                except httpx.TransportError:
                    time.sleep(0.05)
    process.kill()
    raise SystemExit("the twin did not start")


def burst(base: str, patients: int, versions: int, clients: int) -> tuple[list[float], float]:
    """All writes; returns their latencies (ms) and when the last one answered."""
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[str] = []

    def client(share: int) -> None:
        mine: list[float] = []
        with httpx.Client(base_url=base, headers={"Authorization": "Bearer x"}) as http:
            ids: list[int] = []
            for _ in range(share):
                started = time.perf_counter()
                response = http.post("/api/patients", json={"first_name": "v0"})
                mine.append((time.perf_counter() - started) * 1000)
                if response.status_code != 201:
                    errors.append(response.text)
                    return
                ids.append(response.json()["id"])
            for version in range(1, versions):
                for ident in ids:
                    started = time.perf_counter()
                    response = http.patch(
                        f"/api/patients/{ident}", json={"first_name": f"v{version}"}
                    )
                    mine.append((time.perf_counter() - started) * 1000)
                    if response.status_code != 204:
                        errors.append(response.text)
        with lock:
            latencies.extend(mine)

    shares = [patients // clients + (1 if i < patients % clients else 0) for i in range(clients)]
    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"a write failed: {errors[0][:200]}")
    return latencies, time.monotonic()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_once(
    base: str, receiver: str, deliver: bool, args: argparse.Namespace, pid: int
) -> dict[str, Any]:
    admin = httpx.Client(base_url=f"{base}/__apitwin__", timeout=30)
    for hook in admin.get("/webhooks").json():
        admin.delete(f"/webhooks/{hook['id']}")
    httpx.delete(f"{receiver}/log")
    if deliver:
        hook = admin.post(
            "/webhooks",
            json={
                "callback_url": f"{receiver}/hook",
                "secret_token": SECRET,
                "events": ["PATIENT_CREATE", "PATIENT_MODIFY"],
            },
        ).json()
        assert hook["verified"], hook
    cpu_before = cpu_seconds(pid)
    latencies, finished = burst(base, args.patients, args.versions, args.clients)
    writes = len(latencies)
    result: dict[str, Any] = {
        "deliver": deliver,
        "writes": writes,
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies), 2),
        "mean_ms": round(statistics.fmean(latencies), 2),
    }
    if deliver:
        deadline = time.monotonic() + 120
        log: list[list[Any]] = []
        while time.monotonic() < deadline:
            log = httpx.get(f"{receiver}/log").json()["log"]
            if len(log) >= writes:
                break
            time.sleep(0.05)
        cpu_after = cpu_seconds(pid)  # before the log is read back, which costs the twin too
        result["delivered"] = len(log)
        result["drain_s"] = round(time.monotonic() - finished, 2)
        per_patient: dict[int, list[str]] = {}
        for ident, name, _event in log:
            per_patient.setdefault(ident, []).append(name)
        expected = [f"v{n}" for n in range(args.versions)]
        result["in_order"] = (
            all(names == expected for names in per_patient.values())
            and len(per_patient) == args.patients
        )
        states: dict[str, int] = {}
        errors: dict[str, int] = {}
        records: list[dict[str, Any]] = []
        for _ in range(100):  # the log is written in batches just after the answers
            records = admin.get(f"/webhooks/{hook['id']}/deliveries").json()
            if all(r["state"] not in ("pending", "sending") for r in records):
                break
            time.sleep(0.05)
        for record in records:
            states[record["state"]] = states.get(record["state"], 0) + 1
            for attempt in record["history"]:
                if attempt["error"] or attempt["status"] != 200:
                    reason = str(attempt["error"] or attempt["status"])[:80]
                    errors[reason] = errors.get(reason, 0) + 1
        result["states"] = states
        result["failed_attempts"] = errors
    else:
        cpu_after = cpu_seconds(pid)
    result["cpu_ms_per_write"] = round((cpu_after - cpu_before) * 1000 / writes, 3)
    admin.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--versions", type=int, default=10)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--store", choices=("memory", "sqlite"), default="memory")
    parser.add_argument("--src", type=Path, help="serve the twin from this source tree")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    ports: Any = multiprocessing.Queue()
    receiver_process = multiprocessing.Process(target=_receiver, args=(ports,), daemon=True)
    receiver_process.start()
    receiver = f"http://127.0.0.1:{ports.get(timeout=10)}"
    rounds: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as data_dir:
        process, base = start_twin(args.store, data_dir, args.src)
        pid = process.pid
        try:
            run_once(base, receiver, True, args, pid)  # warm-up: seeds, templates, connections
            for index in range(args.rounds):
                order = (False, True) if index % 2 == 0 else (True, False)
                pair = {deliver: run_once(base, receiver, deliver, args, pid) for deliver in order}
                row = {
                    "round": index + 1,
                    "off": pair[False],
                    "on": pair[True],
                    "p99_added_ms": round(pair[True]["p99_ms"] - pair[False]["p99_ms"], 2),
                    "cpu_ms_added_per_write": round(
                        pair[True]["cpu_ms_per_write"] - pair[False]["cpu_ms_per_write"], 3
                    ),
                }
                rounds.append(row)
                print(json.dumps(row))
        finally:
            process.terminate()
            process.wait(timeout=10)
            receiver_process.terminate()
    summary = {
        "store": args.store,
        "writes_per_run": args.patients * args.versions,
        "clients": args.clients,
        "src": str(args.src) if args.src else "this tree",
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "median_p99_off_ms": statistics.median(r["off"]["p99_ms"] for r in rounds),
        "median_p99_on_ms": statistics.median(r["on"]["p99_ms"] for r in rounds),
        "median_p99_added_ms": statistics.median(r["p99_added_ms"] for r in rounds),
        "median_cpu_ms_per_write_off": statistics.median(
            r["off"]["cpu_ms_per_write"] for r in rounds
        ),
        "median_cpu_ms_per_write_on": statistics.median(
            r["on"]["cpu_ms_per_write"] for r in rounds
        ),
        "all_delivered_in_order": all(
            r["on"]["in_order"] and r["on"]["delivered"] == r["on"]["writes"] for r in rounds
        ),
        "rounds": rounds,
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "rounds"}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
