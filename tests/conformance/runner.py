"""Run schemathesis against a served twin and read its per-operation verdicts.

Used by the conformance tests and by ``python -m tests.conformance.report``, which writes
docs/conformance.md. Every request goes to the twin on 127.0.0.1.

The stateless runs read schemathesis's JUnit report (one test case per operation). The
stateful run reads its NDJSON event stream instead: there the JUnit report files every
stateful step under one "Stateful tests" case, while each event names the operation of
every request and the verdict of every check on it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "src" / "apitwin" / "twins" / "specs"

POSITIVE_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
NEGATIVE_CHECKS = ("not_a_server_error", "negative_data_rejection")

# What a user of an API with bearer or OAuth2 security sends: any well-formed token is
# accepted by a twin in its default (open) auth mode.
CREDENTIALS = "Authorization: Bearer conformance-token"


@dataclass
class Verdicts:
    """Operations schemathesis tested, and the failure text of those that failed."""

    passed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    output: str = ""

    @property
    def total(self) -> int:
        return len(self.passed) + len(self.failed)

    @property
    def rate(self) -> float:
        return len(self.passed) / self.total if self.total else 0.0


def _command(
    spec: Path,
    base_url: str,
    *,
    mode: str,
    checks: tuple[str, ...] | str,
    max_examples: int,
    seed: int,
    phases: str,
    headers: tuple[str, ...],
    config: Path | None = None,
) -> list[str]:
    command = [sys.executable, "-m", "schemathesis.cli"]
    if config is not None:
        command += ["--config-file", str(config)]
    command += [
        "run",
        str(spec),
        "--url",
        base_url,
        "--mode",
        mode,
        "--checks",
        checks if isinstance(checks, str) else ",".join(checks),
        "--max-examples",
        str(max_examples),
        "--phases",
        phases,
        "--seed",
        str(seed),
        # No example database: examples a previous run found (in .hypothesis/) would be
        # replayed first, so a run would depend on the runs before it on this machine.
        "--generation-database",
        "none",
        "--no-shrink",
        # One worker: the generator is not thread-safe and fails at random with more.
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--suppress-health-check",
        "all",
        "--warnings",
        "off",
    ]
    for header in headers:
        command += ["--header", header]
    return command


def _execute(command: list[str], timeout: float) -> str:
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.conformance.hooks",
        "PYTHONPATH": str(ROOT),
    }
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False, env=env
    )
    return completed.stdout + completed.stderr


def run_schemathesis(
    spec: Path,
    base_url: str,
    *,
    mode: str,
    checks: tuple[str, ...],
    max_examples: int,
    seed: int = 1,
    phases: str = "examples,fuzzing",
    timeout: float = 900.0,
    headers: tuple[str, ...] = (CREDENTIALS,),
) -> Verdicts:
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "junit.xml"
        command = _command(
            spec,
            base_url,
            mode=mode,
            checks=checks,
            max_examples=max_examples,
            seed=seed,
            phases=phases,
            headers=headers,
        )
        command += ["--report", "junit", "--report-junit-path", str(junit)]
        verdicts = Verdicts(output=_execute(command, timeout))
        if not junit.exists():
            raise RuntimeError(f"schemathesis wrote no report:\n{verdicts.output[-4000:]}")
        for case in ET.parse(junit).getroot().iter("testcase"):
            name = case.get("name", "?")
            problems = [
                (element.get("message") or "") + "\n" + (element.text or "")
                for element in case
                if element.tag in ("failure", "error")
            ]
            if problems:
                verdicts.failed[name] = "\n".join(problems).strip()
            elif case.find("skipped") is None:
                verdicts.passed.append(name)
        return verdicts


def run_stateful(
    spec: Path,
    base_url: str,
    *,
    max_examples: int,
    max_steps: int,
    seed: int = 1,
    mode: str = "positive",
    phases: str = "examples,fuzzing,stateful",
    timeout: float = 900.0,
    headers: tuple[str, ...] = (CREDENTIALS,),
    config: str = "",
) -> Verdicts:
    """Every check (``--checks all``) over the given phases, stateful included: an
    operation passes when every check on every request schemathesis sent to it passed,
    in whichever phase. ``max_steps`` bounds each stateful scenario; ``config`` is more
    schemathesis configuration (TOML), such as per-operation expected statuses."""
    with tempfile.TemporaryDirectory() as tmp:
        events = Path(tmp) / "events.ndjson"
        settings = Path(tmp) / "schemathesis.toml"
        settings.write_text(f"[phases.stateful]\nmax-steps = {max_steps}\n\n{config}")
        command = _command(
            spec,
            base_url,
            mode=mode,
            checks="all",
            max_examples=max_examples,
            seed=seed,
            phases=phases,
            headers=headers,
            config=settings,
        )
        command += ["--report", "ndjson", "--report-ndjson-path", str(events)]
        output = _execute(command, timeout)
        if not events.exists():
            raise RuntimeError(f"schemathesis wrote no report:\n{output[-4000:]}")
        return read_events(events, output)


def read_events(path: Path, output: str = "") -> Verdicts:
    """Per-operation verdicts from an NDJSON event stream: every request is filed under
    its operation ("GET /path"), with the failed checks' titles and messages."""
    tested: set[str] = set()
    problems: dict[str, list[str]] = {}
    with path.open() as stream:
        for line in stream:
            event = json.loads(line)
            if "ScenarioFinished" in event:
                recorder = event["ScenarioFinished"].get("recorder") or {}
                labels = {
                    case_id: f"{case['value']['method']} {case['value']['path']}"
                    for case_id, case in (recorder.get("cases") or {}).items()
                }
                tested.update(labels.values())
                for case_id, results in (recorder.get("checks") or {}).items():
                    for result in results:
                        if result.get("status") == "success":
                            continue
                        failure = (result.get("failure_info") or {}).get("failure") or {}
                        label = failure.get("operation") or labels.get(case_id, "?")
                        text = f"{result['name']}: {failure.get('title', '')}\n" + str(
                            failure.get("message", "")
                        )
                        found = problems.setdefault(label, [])
                        if text not in found:
                            found.append(text)
            elif "NonFatalError" in event:
                error = event["NonFatalError"]
                label = error.get("label") or "?"
                if error.get("related_to_operation"):
                    text = f"error: {json.dumps(error.get('info') or error)[:1500]}"
                    problems.setdefault(label, []).append(text)
    verdicts = Verdicts(output=output)
    for label in sorted(tested | set(problems)):
        if label in problems:
            verdicts.failed[label] = "\n\n".join(problems[label])
        else:
            verdicts.passed.append(label)
    return verdicts
