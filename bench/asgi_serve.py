"""Serve one ASGI app on one server, for bench/servers.py.

Usage: python bench/asgi_serve.py --server uvicorn|granian --port P
       (--twin NAME [--data-dir DIR] | --ceiling BYTES [--status 200])

*uvicorn*: the way ``apitwin serve`` runs (src/apitwin/server/runner.py: httptools,
uvloop, no lifespan, no access log, no server header, a date header, the heap frozen
before serving). *granian*: Granian's ASGI interface without lifespan (``asginl``), one
worker, one runtime thread, uvloop, HTTP/1 only, no access log, no websockets. The app
is a bundled twin built as ``apitwin serve NAME --rate-limits off`` builds it (SQLite
state in ``--data-dir``), or bench/ceiling.py's fixed answer of ``--ceiling`` bytes.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ENV = "APITWIN_BENCH_APP"  # what the granian worker builds: twin:NAME:DIR or ceiling:SIZE:STATUS


def build(spec: str) -> Any:
    """The ASGI app ``spec`` names (see ``ENV``)."""
    kind, _, rest = spec.partition(":")
    if kind == "ceiling":
        sys.path.insert(0, str(BENCH))
        from ceiling import Ceiling, fixed_body

        size, _, status = rest.partition(":")
        return Ceiling(fixed_body(int(size)), int(status or 200))
    from apitwin.engine.twin import TwinOptions, build_twin
    from apitwin.server.app import TwinApp
    from apitwin.state.sqlite import SQLiteStore
    from apitwin.twins.registry import bundled_profile, spec_path

    name, _, data_dir = rest.partition(":")
    profile = bundled_profile(name)
    store = SQLiteStore(Path(data_dir) / "state.db")
    twin = build_twin(profile, spec_path(profile), TwinOptions(rate_limits=False), store)
    return TwinApp(twin)


def app_from_env() -> Any:
    """Granian's factory: build in the worker, then freeze the heap as apitwin does."""
    app = build(os.environ[ENV])
    gc.collect()
    gc.freeze()
    return app


def serve_uvicorn(spec: str, port: int) -> None:
    from apitwin.server.runner import bind, serve_forever

    app = build(spec)
    if hasattr(app, "twin"):
        serve_forever([bind(app.twin, "127.0.0.1", port)])
        return
    import uvicorn

    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http="httptools",
        loop="uvloop",
        lifespan="off",
        access_log=False,
        log_level="warning",
        server_header=False,
        date_header=True,
    )
    uvicorn.Server(config).run()


def serve_granian(spec: str, port: int) -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.log import LogLevels

    os.environ[ENV] = spec
    Granian(
        "asgi_serve:app_from_env",
        address="127.0.0.1",
        port=port,
        interface=Interfaces.ASGINL,
        workers=1,
        runtime_threads=1,
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        websockets=False,
        backlog=2048,
        log_level=LogLevels.warning,
        log_access=False,
        factory=True,
        working_dir=BENCH,
    ).serve()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=("uvicorn", "granian"), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--twin")
    parser.add_argument("--data-dir", default=".")
    parser.add_argument("--ceiling", type=int, help="bytes of the ceiling's fixed body")
    parser.add_argument("--status", type=int, default=200)
    args = parser.parse_args()
    if args.twin:
        spec = f"twin:{args.twin}:{Path(args.data_dir).resolve()}"
    elif args.ceiling is not None:
        spec = f"ceiling:{args.ceiling}:{args.status}"
    else:
        raise SystemExit("name a --twin or a --ceiling size")
    (serve_uvicorn if args.server == "uvicorn" else serve_granian)(spec, args.port)


if __name__ == "__main__":
    main()
