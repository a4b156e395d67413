"""Cold start and memory of `apitwin serve`: process start until every port answers.

Usage: python bench/startup.py [--runs N] [NAME ...]
Prints one line per run and the median; peak RSS is the kernel's high-water mark
(VmHWM) of the serving process after every twin answered one request.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bundled() -> list[dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-m", "apitwin", "list", "--json"],
        capture_output=True,
        check=True,
        cwd=ROOT,
    )
    return list(json.loads(out.stdout))


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.05) as sock:
            sock.sendall(b"GET /__apitwin__/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return sock.recv(12).startswith(b"HTTP/1.1")
    except OSError:
        return False


def _rss_peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def one_run(names: list[str], ports: list[int]) -> tuple[float, int]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "apitwin", "serve", *names],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        pending = set(ports)
        deadline = started + 30
        while pending and time.perf_counter() < deadline:
            pending = {p for p in pending if not _answers(p)}
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode() if process.stderr else "exited")
        elapsed = time.perf_counter() - started
        if pending:
            raise RuntimeError(f"ports never answered: {sorted(pending)}")
        for row in _bundled_rows(names):
            port = row["port"]
            urllib.request.urlopen(f"http://127.0.0.1:{port}/__apitwin__/", timeout=5).read()
        return elapsed, _rss_peak_kb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


_ROWS: list[dict[str, object]] = []


def _bundled_rows(names: list[str]) -> list[dict[str, object]]:
    global _ROWS
    if not _ROWS:
        _ROWS = _bundled()
    return [r for r in _ROWS if r["name"] in names]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    rows = _bundled()
    names = args.names or [str(r["name"]) for r in rows]
    ports = [int(r["port"]) for r in rows if r["name"] in names]  # type: ignore[call-overload]
    times, peaks = [], []
    for index in range(args.runs):
        elapsed, peak = one_run(names, ports)
        times.append(elapsed)
        peaks.append(peak)
        print(f"run {index + 1}: ready in {elapsed:.3f} s, peak RSS {peak / 1024:.1f} MB")
    print(
        f"median: ready in {statistics.median(times):.3f} s, "
        f"peak RSS {statistics.median(peaks) / 1024:.1f} MB ({len(names)} twins)"
    )


if __name__ == "__main__":
    main()
