"""Run schemathesis against a served twin and read its per-operation verdicts.

Used by the conformance tests and by ``python -m tests.conformance.report``, which writes
docs/conformance.md. Every request goes to the twin on 127.0.0.1.
"""

from __future__ import annotations

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
        command = [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            str(spec),
            "--url",
            base_url,
            "--mode",
            mode,
            "--checks",
            ",".join(checks),
            "--max-examples",
            str(max_examples),
            "--phases",
            phases,
            "--seed",
            str(seed),
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
            "--report",
            "junit",
            "--report-junit-path",
            str(junit),
        ]
        for header in headers:
            command += ["--header", header]
        env = {
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.conformance.hooks",
            "PYTHONPATH": str(ROOT),
        }
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False, env=env
        )
        verdicts = Verdicts(output=completed.stdout + completed.stderr)
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
