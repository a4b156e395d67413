"""Schemathesis with every check and its stateful phase, against twins that keep state.

Each twin is served with state (memory store) and checked with ``--checks all`` over the
examples, fuzzing and stateful phases: the stateful phase chains operations through the
links schemathesis infers from the document (a create's id into the get, update and
delete of that item), so use_after_free (a deleted item must be gone) and
ensure_resource_availability (a created item must be there) check the twin's memory, and
ignored_auth checks that credentials are enforced. Valid data only: invalid data is the
negative run's (test_schemathesis.py).

Twins whose security is one bearer or OAuth2 scheme run in strict auth mode with a
credential issued through ``POST /__apitwin__/credentials``: in open mode any
well-formed token is accepted, so a made-up one would rightly pass and ignored_auth
would fail.

The checker reads each document with the corrections of corrections.py (where the
document says less than the service does, such as an undeclared 404 for an unknown id).
An operation passes when every check on every request sent to it passed; at least 95%
of each twin's operations must. Few examples and short scenarios keep all thirteen runs
within a few minutes.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from apitwin.twins.registry import bundled_names
from tests.conformance.corrections import corrected_document, stateful_config
from tests.conformance.known import KNOWN_STATEFUL_FAILURES, STATEFUL_SHORTFALLS
from tests.conformance.runner import Verdicts, run_stateful
from tests.conftest import start_twin, stop_twin

MAX_EXAMPLES = 3
MAX_STEPS = 6
REQUIRED_RATE = 0.95
TOKEN = "conformance-token"  # what runner.CREDENTIALS sends
# Twins whose only security scheme is a bearer token or OAuth2: strict mode, one token.
STRICT_AUTH = frozenset({"digitalocean", "docker-dvp", "dracoon", "drchrono", "ebay-deal"})


def run_twin(name: str, workdir: Path) -> Verdicts:
    """Serve ``name`` with state and run the stateful checks against its corrected
    document (also used by report.py)."""
    document = workdir / f"{name}.json"
    document.write_text(json.dumps(corrected_document(name)))
    strict = name in STRICT_AUTH
    twin = start_twin(name, "--store", "memory", *(("--auth", "strict") if strict else ()))
    try:
        if strict:
            issued = httpx.post(
                f"http://127.0.0.1:{twin.port}/__apitwin__/credentials", json={"value": TOKEN}
            )
            assert issued.status_code == 201, issued.text
        return run_stateful(
            document,
            twin.base_url,
            max_examples=MAX_EXAMPLES,
            max_steps=MAX_STEPS,
            config=stateful_config(name),
        )
    finally:
        stop_twin(twin)


def _cases() -> list[object]:
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=STATEFUL_SHORTFALLS[name]))
        if name in STATEFUL_SHORTFALLS
        else name
        for name in bundled_names()
    ]


@pytest.mark.slow
@pytest.mark.parametrize("name", _cases())
def test_every_check_and_the_stateful_phase_pass(name: str, tmp_path: Path) -> None:
    verdicts = run_twin(name, tmp_path)
    assert verdicts.total > 0, verdicts.output[-3000:]
    assert "Stateful" in verdicts.output, verdicts.output[-3000:]
    known = KNOWN_STATEFUL_FAILURES.get(name, {})
    for operation, text in verdicts.failed.items():
        if operation not in known:
            print(f"{name}: {operation}\n{text[:1500]}\n")
    assert verdicts.rate >= REQUIRED_RATE, (
        f"{name}: {len(verdicts.passed)}/{verdicts.total} operations pass every check; "
        f"failing: {sorted(verdicts.failed)}"
    )
