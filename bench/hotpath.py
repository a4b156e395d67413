"""What one request of each peer scenario costs apitwin itself, without sockets or a server.

Usage: python bench/hotpath.py [--requests 2000] [--store sqlite|memory] [--only NAME,...]
       [--instructions] [--fresh] [--json PATH]

Builds the scenarios' twins in one process as ``apitwin serve`` does (one SQLite store in
a temporary directory, or ``--store memory``; rate limits off, as in bench/peers.py),
then drives each twin's ASGI app directly with the scenario's request (the headers wrk
sends), ``--requests`` times after a warm-up, and prints the CPU time per request.
Repeated GETs are answered from kept replies while nothing is written
(engine/reply_cache.py), as they are when served; ``--fresh`` turns that off, to measure
what each GET costs when the state changes between requests.

``--instructions`` runs the same under ``valgrind --tool=callgrind`` and reports the
instructions executed per request instead: a count that other work on the machine does
not disturb, so two commits can be compared on a busy machine (valgrind runs the process
about 50 times slower; 300 requests per scenario are plenty). Each scenario is delimited
by a call to ``os.getppid()``, on which callgrind writes its counts so far.

This is a tool for profiling by hand (py-spy, pyinstrument, callgrind_annotate on the
kept callgrind.out files); never part of ``make bench``, and the figures leave out the
ASGI server, which bench/peers.py and bench/servers.py measure.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from peers import CONTAINERS, DROPLET, RUN_ORDER, SCENARIOS, WORK, Scenario, write_bodies

ROOT = Path(__file__).resolve().parent.parent
HEADERS = [(b"host", b"127.0.0.1"), (b"authorization", b"Bearer x")]
WARMUP = 200
App = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


class Driver:
    """Sends one scenario's request to an ASGI app, as an HTTP server would."""

    def __init__(self, app: App, scenario: Scenario, path: str, body: bytes) -> None:
        self.app = app
        self.method = scenario.method
        raw_path, _, query = path.partition("?")
        self.path = raw_path
        self.query = query.encode()
        headers = list(HEADERS)
        if body:
            headers += [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
        self.headers = headers
        self.body = body
        self.status = 0
        self.size = 0

    async def once(self) -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 40000),
            "scheme": "http",
            "method": self.method,
            "root_path": "",
            "path": self.path,
            "raw_path": self.path.encode(),
            "query_string": self.query,
            "headers": self.headers,
        }
        body = self.body

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
            else:
                self.size += len(message.get("body", b""))

        self.size = 0
        await self.app(scope, receive, send)

    async def many(self, count: int) -> None:
        for _ in range(count):
            await self.once()


def build(
    store_kind: str, data_dir: str, twins: list[str], kept_replies: bool = True
) -> dict[str, App]:
    from apitwin.app import create_app
    from apitwin.state.memory import MemoryStore
    from apitwin.state.sqlite import SQLiteStore
    from apitwin.state.store import Store

    store: Store = (
        MemoryStore() if store_kind == "memory" else SQLiteStore(Path(data_dir) / "state.db")
    )
    apps: dict[str, App] = {
        name: create_app(name, store=store, rate_limits=False, kept_replies=kept_replies)
        for name in twins
    }
    gc.collect()
    gc.freeze()  # as apitwin serve does before serving
    return apps


async def prepare(apps: dict[str, App]) -> str:
    """What bench/peers.py prepares: a full first page of 20 droplets (the id of the first
    is returned) and three running containers."""
    import httpx

    droplet = ""
    if "digitalocean" in apps:
        transport = httpx.ASGITransport(app=apps["digitalocean"])
        async with httpx.AsyncClient(transport=transport, base_url="http://do") as client:
            auth = {"Authorization": "Bearer x"}
            page = (await client.get("/v2/droplets?per_page=20", headers=auth)).json()
            for _ in range(max(0, 20 - len(page["droplets"]))):
                created = await client.post("/v2/droplets", json=DROPLET, headers=auth)
                created.raise_for_status()
            droplet = str(page["droplets"][0]["id"])
    if "docker-engine" in apps:
        transport = httpx.ASGITransport(app=apps["docker-engine"])
        async with httpx.AsyncClient(transport=transport, base_url="http://d") as client:
            (
                await client.post("/v1.33/images/create?fromImage=nginx&tag=latest")
            ).raise_for_status()
            for index in range(CONTAINERS):
                created = await client.post(
                    f"/v1.33/containers/create?name=bench-{index + 1}", json={"Image": "nginx"}
                )
                created.raise_for_status()
                ident = created.json()["Id"]
                (await client.post(f"/v1.33/containers/{ident}/start")).raise_for_status()
    return droplet


def twin_path(scenario: Scenario, droplet: str) -> str:
    prefix = "/v1.33" if scenario.twin == "docker-engine" else ""
    return prefix + scenario.path.replace("{droplet}", droplet)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Measure in this process. Around each scenario's measured requests (after its
    warm-up) this calls os.getppid(), on which callgrind dumps its counts with
    ``--instructions``: dumps alternate between set-up and warm-up, and a scenario."""
    wanted = [name for name in args.only.split(",") if name] or list(RUN_ORDER)
    known = {s.name: s for s in SCENARIOS}
    chosen = [known[name] for name in RUN_ORDER if name in wanted]
    write_bodies()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="apitwin-hotpath-") as data_dir:
        twins = list(dict.fromkeys(s.twin for s in chosen))
        apps = build(args.store, data_dir, twins, kept_replies=not args.fresh)
        loop = asyncio.new_event_loop()
        droplet = loop.run_until_complete(prepare(apps))
        for scenario in chosen:
            body = (WORK / scenario.body).read_bytes() if scenario.body else b""
            driver = Driver(apps[scenario.twin], scenario, twin_path(scenario, droplet), body)
            loop.run_until_complete(driver.many(args.warmup))
            os.getppid()  # callgrind: set-up and warm-up end here
            started = time.process_time()
            loop.run_until_complete(driver.many(args.requests))
            used = time.process_time() - started
            os.getppid()  # callgrind: this scenario
            results[scenario.name] = {
                "status": driver.status,
                "bytes": driver.size,
                "cpu_us": used / args.requests * 1e6,
            }
        loop.close()
    return results


def count_instructions(args: argparse.Namespace) -> dict[str, Any]:
    """Run this script under callgrind; instructions per request per scenario."""
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    out_dir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="apitwin-cg-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("callgrind.out*"):
        old.unlink()
    inner = out_dir / "inner.json"
    command = [
        "valgrind",
        "--tool=callgrind",
        "--dump-before=os_getppid",
        f"--callgrind-out-file={out_dir}/callgrind.out",
        sys.executable,
        __file__,
        "--requests",
        str(args.requests),
        "--warmup",
        str(args.warmup),
        "--store",
        args.store,
        "--json",
        str(inner),
        *(["--fresh"] if args.fresh else []),
    ]
    if args.only:
        command += ["--only", args.only]
    env = {**os.environ, "PYTHONMALLOC": "malloc"} if args.system_malloc else None
    subprocess.run(command, check=True, capture_output=True, env=env)
    inner_results = json.loads(inner.read_text())
    # Dumps: set-up and warm-up, then the scenario, for every scenario in turn.
    dumps = sorted(
        out_dir.glob("callgrind.out.*"), key=lambda p: int(p.name.rsplit(".", 1)[1] or 0)
    )
    totals = []
    for dump in dumps:
        match = re.search(r"^summary:\s+(\d+)", dump.read_text(errors="replace"), re.M)
        if match is None:
            match = re.search(r"^totals:\s+(\d+)", dump.read_text(errors="replace"), re.M)
        totals.append(int(match.group(1)) if match else 0)
    names = list(inner_results)
    results = {}
    for index, name in enumerate(names):
        ir = totals[2 * index + 1] if 2 * index + 1 < len(totals) else 0
        results[name] = {**inner_results[name], "instructions": ir / args.requests}
    print(f"callgrind outputs: {out_dir}", file=sys.stderr)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=WARMUP)
    parser.add_argument("--store", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--instructions", action="store_true", help="count with callgrind")
    parser.add_argument("--keep", help="with --instructions: keep callgrind outputs here")
    parser.add_argument(
        "--system-malloc", action="store_true", help="with --instructions: PYTHONMALLOC=malloc"
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="answer every GET afresh, without the kept replies (engine/reply_cache.py)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    os.chdir(ROOT)
    results = count_instructions(args) if args.instructions else run(args)
    for name, figures in results.items():
        line = f"{name:<17} {figures['status']} ({figures['bytes']:>6} B)"
        line += f"  CPU {figures['cpu_us']:7.1f} us/request"
        if "instructions" in figures:
            line += f"  {figures['instructions']:>10,.0f} instructions/request"
        print(line, flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
