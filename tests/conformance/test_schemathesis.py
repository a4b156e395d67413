"""Schemathesis against every bundled twin, over real HTTP on 127.0.0.1.

These runs check the engine against the documents (routing, validation, responses), so
the twins answer statelessly here: a generated id that no client created is not a
resource, and a stateful twin rightly answers 404 to it even where the document
declares no 404. The stateful runs live in test_stateful.py.

Positive data must conform (status codes, content types, headers and bodies as
documented) for at least 95% of each twin's operations; negative data must never cause a
5xx and must be rejected with a 4xx. The number of examples per operation is bounded so
the whole run stays within a few minutes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from apitwin.twins.registry import bundled_names
from tests.conformance.corrections import served_spec
from tests.conformance.known import KNOWN_POSITIVE_FAILURES, known_negative_reason
from tests.conformance.runner import (
    NEGATIVE_CHECKS,
    POSITIVE_CHECKS,
    run_schemathesis,
)
from tests.conftest import start_twin, stop_twin

MAX_EXAMPLES = 5
REQUIRED_RATE = 0.95


@pytest.mark.slow
@pytest.mark.parametrize("name", bundled_names())
def test_positive_data_conforms(name: str, tmp_path: Path) -> None:
    twin = start_twin(name, "--stateless")
    try:
        verdicts = run_schemathesis(
            served_spec(name, tmp_path),
            twin.base_url,
            mode="positive",
            checks=POSITIVE_CHECKS,
            max_examples=MAX_EXAMPLES,
        )
    finally:
        stop_twin(twin)
    assert verdicts.total > 0, verdicts.output[-3000:]
    known = KNOWN_POSITIVE_FAILURES.get(name, {})
    unexpected = {op: text for op, text in verdicts.failed.items() if op not in known}
    for operation, text in unexpected.items():
        print(f"{name}: {operation}\n{text[:1500]}\n")
    assert verdicts.rate >= REQUIRED_RATE, (
        f"{name}: {len(verdicts.passed)}/{verdicts.total} operations conform; "
        f"failing: {sorted(verdicts.failed)}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", bundled_names())
def test_negative_data_is_rejected_without_server_errors(name: str, tmp_path: Path) -> None:
    twin = start_twin(name, "--stateless")
    try:
        verdicts = run_schemathesis(
            served_spec(name, tmp_path),
            twin.base_url,
            mode="negative",
            checks=NEGATIVE_CHECKS,
            max_examples=MAX_EXAMPLES,
        )
    finally:
        stop_twin(twin)
    assert verdicts.total > 0, verdicts.output[-3000:]
    server_errors = {op: t for op, t in verdicts.failed.items() if "Server error" in t}
    assert not server_errors, server_errors
    accepted = {
        op: text[:1500]
        for op, text in verdicts.failed.items()
        if known_negative_reason(name, op, text) is None
    }
    assert not accepted, accepted
