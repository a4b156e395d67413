"""Where a twin spends its time on one peer scenario: py-spy samples under wrk load.

Usage: python bench/profile.py SCENARIO [--store sqlite|memory] [--seconds 8] [--top 30]
       [--out PATH]

Serves the scenario's twin alone (``apitwin serve TWIN --port P``, a fresh temporary
``--data-dir`` or ``--store memory``), loads it with the scenario's request as
bench/peers.py does (wrk, 2 threads, 32 connections), records it with ``py-spy record``
(500 samples a second, only while the process runs) and prints the functions with
the largest inclusive and self shares. py-spy is not a dependency of apitwin: install it
by hand (``.venv/bin/pip install py-spy``). Never part of ``make bench``.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from peers import (
    SCENARIOS,
    WORK,
    free_port,
    prepare_apitwin,
    run_wrk,
    started,
    write_bodies,
)

ROOT = Path(__file__).resolve().parent.parent
RATE = 500  # samples per second


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    return found


def summarize(collapsed: Path, top: int) -> str:
    """Inclusive and self shares of the frames in py-spy's collapsed (raw) output."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = stack.split(";")
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    lines = [f"{total} samples"]
    for title, counter in (("inclusive", inclusive), ("self", own)):
        lines.append(f"-- {title}")
        lines += [f"{n / max(1, total):6.1%}  {frame}" for frame, n in counter.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    known = {s.name: s for s in SCENARIOS}
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=sorted(known))
    parser.add_argument("--store", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--out", type=Path, help="keep py-spy's collapsed stacks here")
    args = parser.parse_args()
    os.chdir(ROOT)
    spy = py_spy()
    scenario = known[args.scenario]
    write_bodies()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="apitwin-bench-") as data_dir:
        # One token sends thousands of requests a second: DigitalOcean's 250-a-minute limit would
        # turn the run into 429s. Rate limits are off here; their cost is in docs/conventions.md.
        command = [sys.executable, "-m", "apitwin", "serve", scenario.twin, "--port", str(port)]
        command += ["--rate-limits", "off"]
        command += ["--store", "memory"] if args.store == "memory" else ["--data-dir", data_dir]
        with started(command, f"{base}/__apitwin__/", "apitwin serve") as (process, _):
            droplet = prepare_apitwin(base) if scenario.twin == "digitalocean" else ""
            prefix = "/v1.33" if scenario.twin == "docker-engine" else ""
            url = base + prefix + scenario.path.replace("{droplet}", droplet)
            body = WORK / scenario.body if scenario.body else None
            run_wrk(url, 2, body)  # warm-up: seeding, first-use caches
            out = args.out or Path(data_dir) / "profile.txt"
            load = threading.Thread(target=run_wrk, args=(url, args.seconds + 2, body))
            load.start()
            subprocess.run(
                [spy, "record", "-p", str(process.pid), "-d", str(args.seconds)]
                + ["-r", str(RATE), "-f", "raw", "-o", str(out)],
                check=True,
                capture_output=True,
                timeout=args.seconds + 60,
            )
            load.join(timeout=args.seconds + 60)
            print(f"{scenario.title}, --store {args.store}")
            print(summarize(out, args.top))


if __name__ == "__main__":
    main()
