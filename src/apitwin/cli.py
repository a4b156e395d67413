"""The `apitwin` command: serve twins, list the bundled ones.

Every error a user can cause on the command line (unknown twin, port in use, a spec that
cannot be read or served) is one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from apitwin import __version__
from apitwin.state.store import Store
from apitwin.twins.registry import (
    Profile,
    bundled_names,
    bundled_profile,
    generic_profile,
    spec_path,
)

if TYPE_CHECKING:
    from apitwin.server.runner import Binding

__all__ = ["main"]

USER_SPEC_FIRST_PORT = 8100


class UsageError(Exception):
    """A command-line mistake: printed as one line, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="apitwin", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"apitwin {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve twins (all bundled ones by default)")
    serve.add_argument(
        "targets", nargs="*", help="bundled twin names or paths of OpenAPI documents"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=int, help="port, when serving a single twin; 0: a free port for each twin"
    )
    serve.add_argument("--seed", type=int, default=0, help="seed of synthesized data (default 0)")
    serve.add_argument("--verbose", "-v", action="store_true", help="print spec warnings")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes serving the same ports, sharing state through the store (default 1)",
    )
    _state_arguments(serve)
    serve.add_argument("--empty", action="store_true", help="start without seed data")
    serve.add_argument(
        "--auth",
        choices=("open", "strict"),
        default="open",
        help="open (default): any well-formed credential; strict: only credentials the twin "
        "issued (POST /__apitwin__/credentials, the OAuth endpoints)",
    )
    serve.add_argument(
        "--webhook-allow",
        action="append",
        default=[],
        metavar="HOST",
        help="also deliver webhooks to HOST (repeatable; '*' for any); loopback only otherwise",
    )
    serve.add_argument(
        "--rate-limits",
        action="append",
        default=[],
        metavar="on|off|TWIN=on|off",
        help="the rate limits twins declare (DigitalOcean, Docker Hub): on (default) or off, "
        "for every twin or for one (repeatable)",
    )
    serve.add_argument(
        "--kept-replies",
        choices=("on", "off"),
        default="on",
        help="on (default): a GET repeated while nothing was written is answered with the "
        "reply kept from the last time (docs/state.md); off: every request is answered afresh",
    )
    serve.add_argument(
        "--stateless",
        action="store_true",
        help="answer every operation from the document alone, remembering nothing",
    )

    reset = commands.add_parser("reset", help="forget the state of twins (all by default)")
    reset.add_argument("targets", nargs="*", help="bundled twin names or document paths")
    _state_arguments(reset)

    inspect = commands.add_parser(
        "inspect", help="print the resource families inferred from a twin's document"
    )
    inspect.add_argument("target", help="a bundled twin name or a document path")

    listing = commands.add_parser("list", help="list the bundled twins")
    listing.add_argument("--json", action="store_true", help="machine-readable output")

    check = commands.add_parser(
        "check", help="load a document and print what the loader worked around"
    )
    check.add_argument("spec", help="path of an OpenAPI document")
    return parser


def _state_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        default="sqlite",
        help="sqlite (default, a file in --data-dir), memory, FILE.sqlite3, or postgresql://...",
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="where the SQLite state lives")


def _open_store(args: argparse.Namespace) -> Store:
    from apitwin.state.stores import default_data_dir, open_store

    try:
        return open_store(args.store, args.data_dir or default_data_dir())
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _resolve_targets(targets: Sequence[str], port: int | None) -> list[tuple[Profile, Path]]:
    chosen: list[tuple[Profile, Path]] = []
    next_user_port = USER_SPEC_FIRST_PORT
    for target in targets or bundled_names():
        if target in bundled_names():
            profile = bundled_profile(target)
            chosen.append((profile, spec_path(profile)))
            continue
        path = Path(target)
        if path.suffix.lower() in (".json", ".yaml", ".yml") or path.exists():
            if not path.is_file():
                raise UsageError(f"{target}: no such file")
            chosen.append((generic_profile(path.stem, str(path), next_user_port), path))
            next_user_port += 1
            continue
        known = ", ".join(bundled_names())
        raise UsageError(f"unknown twin {target!r}; bundled twins are: {known}")
    if port is not None:
        if not 0 <= port <= 65535:
            raise UsageError(f"--port must be between 0 and 65535, got {port}")
        if len(chosen) != 1 and port != 0:
            raise UsageError("--port needs exactly one twin to serve (or 0: free ports for all)")
        chosen = [(replace(profile, port=port), path) for profile, path in chosen]
    return chosen


def _client_hint(profile: Profile, url: str, host: str, port: int) -> str:
    return profile.client.replace("{url}", url).replace("{hostport}", f"{host}:{port}")


def _serve(args: argparse.Namespace) -> int:
    from apitwin.engine.audit import audit_examples
    from apitwin.engine.twin import TwinOptions, build_twin
    from apitwin.server.runner import BindError, bind, serve_forever, serve_workers
    from apitwin.spec.document import SpecError

    options = TwinOptions(
        seed=args.seed,
        empty=args.empty,
        auth=args.auth,
        webhook_allow=tuple(args.webhook_allow),
        kept_replies=args.kept_replies == "on",
    )
    default_limits, twin_limits = _rate_limit_choices(args.rate_limits)
    targets = _resolve_targets(args.targets, args.port)
    _check_workers(args)
    store = None if args.stateless else _open_store(args)
    bindings: list[Binding] = []
    # Building creates hundreds of thousands of long-lived objects; collecting while they
    # are made only costs start-up time (the heap is frozen before serving).
    gc.disable()
    try:
        for profile, path in targets:
            try:
                limits = twin_limits.get(profile.name, default_limits)
                twin = build_twin(profile, path, replace(options, rate_limits=limits), store)
            except SpecError as exc:
                raise UsageError(str(exc)) from None
            if args.verbose:
                audit_examples(twin)
                for warning in twin.doc.warnings:
                    print(f"warning: {warning}", file=sys.stderr)
            bindings.append(bind(twin, args.host, profile.port, args.workers))
    except BindError as exc:
        for binding in bindings:
            for sock in (binding.sock, *binding.more_socks):
                sock.close()
        raise UsageError(str(exc)) from None
    finally:
        gc.enable()
    width = max(len(b.twin.name) for b in bindings)
    url_width = max(len(b.base_url) for b in bindings)
    print(f"{'twin':<{width}}  {'base URL':<{url_width}}  point your client at it")
    for b in bindings:
        hint = _client_hint(b.twin.profile, b.base_url, b.host, b.port)
        print(f"{b.twin.name:<{width}}  {b.base_url:<{url_width}}  {hint}")
    _print_oauth_clients(bindings, args.auth)
    sys.stdout.flush()
    if args.workers > 1:
        if store is not None:
            store.close()  # every worker opens its own: a connection must not cross a fork
        return serve_workers(bindings, args.workers, lambda: _reopen_store(args, bindings))
    with contextlib.suppress(KeyboardInterrupt):
        serve_forever(bindings)
    return 0


def _rate_limit_choices(values: Sequence[str]) -> tuple[bool, dict[str, bool]]:
    """``--rate-limits off`` for every twin, ``--rate-limits digitalocean=off`` for one."""
    default = True
    per_twin: dict[str, bool] = {}
    for value in values:
        name, _, choice = value.rpartition("=")
        if choice not in ("on", "off"):
            raise UsageError(f"--rate-limits: expected on, off or TWIN=on|off, got {value!r}")
        if name:
            per_twin[name] = choice == "on"
        else:
            default = choice == "on"
    return default, per_twin


def _print_oauth_clients(bindings: Sequence[Binding], mode: str) -> None:
    """The default OAuth client of every twin that has an authorization server: its
    secret is random per store (per data directory), so it is printed at every start."""
    lines = []
    for b in bindings:
        oauth = b.twin.auth.oauth if b.twin.auth is not None else None
        if oauth is None:
            continue
        client = oauth.ensure_default_client()
        origin = b.base_url[: len(b.base_url) - len(b.twin.base_path)]
        token = ", ".join(origin + path for path in oauth.paths["token"])
        lines.append(
            f"{b.twin.name}: OAuth client_id {client['client_id']}, "
            f"client_secret {client['client_secret']}, token endpoint {token}"
        )
    if lines:
        print(f"\nauth mode: {mode}")
        for line in lines:
            print(line)


def _check_workers(args: argparse.Namespace) -> None:
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    if args.workers > 1 and not args.stateless and args.store.strip().lower() == "memory":
        raise UsageError(
            "--workers needs a store the processes share; --store memory keeps state in "
            "each process: use sqlite (the default), a .sqlite3 file or a postgresql:// URL"
        )


def _reopen_store(args: argparse.Namespace, bindings: Sequence[Binding]) -> None:
    """In a forked worker: a store of its own for every twin that keeps state."""
    if args.stateless:
        return
    try:
        store = _open_store(args)
    except UsageError as exc:
        print(f"apitwin: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    for binding in bindings:
        if binding.twin.semantics is not None:
            binding.twin.semantics.store = store
            if binding.twin.auth is not None:
                binding.twin.auth.use_store(store)


def _reset(args: argparse.Namespace) -> int:
    from apitwin.engine.twin import build_twin
    from apitwin.server.admin import reset_twin
    from apitwin.spec.document import SpecError

    targets = _resolve_targets(args.targets, None)
    store = _open_store(args)
    try:
        for profile, path in targets:
            try:
                twin = build_twin(profile, path, store=store)
            except SpecError as exc:
                raise UsageError(str(exc)) from None
            reset_twin(twin)
            print(f"reset {twin.name}")
    finally:
        store.close()
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from apitwin.engine.twin import build_twin
    from apitwin.spec.document import SpecError
    from apitwin.state.inspect import format_inspection
    from apitwin.state.memory import MemoryStore

    [(profile, path)] = _resolve_targets([args.target], None)
    try:
        # A throwaway store, so the behaviour module installs as when serving.
        twin = build_twin(profile, path, store=MemoryStore())
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    operations = [compiled.operation for compiled in twin.operations]
    generic = twin.semantics.handlers if twin.semantics is not None else {}
    behaviour = [
        compiled.operation_id
        for compiled in twin.operations
        if compiled.handler is not None
        and compiled.handler is not generic.get(compiled.operation_id)
    ]
    print(format_inspection(twin.name, twin.families, twin.unmapped, operations, behaviour))
    return 0


def _list(args: argparse.Namespace) -> int:
    rows = []
    for name in bundled_names():
        profile = bundled_profile(name)
        base = _bundled_base_path(profile)
        rows.append(
            {
                "name": name,
                "port": profile.port,
                "base_url": f"http://127.0.0.1:{profile.port}{base}",
                "spec": str(spec_path(profile)),
            }
        )
    if args.json:
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        for row in rows:
            print(f"{row['name']:<14} {row['base_url']}")
    return 0


def _bundled_base_path(profile: Profile) -> str:
    from apitwin.engine.twin import base_path_of
    from apitwin.spec.loader import load_document

    return base_path_of(load_document(spec_path(profile)))


def _check(args: argparse.Namespace) -> int:
    from apitwin.engine.audit import audit_examples
    from apitwin.engine.twin import build_twin
    from apitwin.spec.document import SpecError

    path = Path(args.spec)
    if not path.is_file():
        raise UsageError(f"{args.spec}: no such file")
    try:
        twin = build_twin(generic_profile(path.stem, str(path), 0), path)
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    audit_examples(twin)
    for warning in twin.doc.warnings:
        print(f"warning: {warning}")
    print(f"{path}: {len(twin.operations)} operations, {len(twin.doc.warnings)} warnings")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    handlers = {
        "serve": _serve,
        "list": _list,
        "check": _check,
        "reset": _reset,
        "inspect": _inspect,
    }
    try:
        return handlers[args.command](args)
    except UsageError as exc:
        print(f"apitwin: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
