"""bench/webhooks.py runs through on a small burst (no figure is judged here: that is the
benchmark's job, by hand): every write is answered and every delivery arrives in order."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_small_burst_delivers_every_write_in_order(tmp_path: Path) -> None:
    out = tmp_path / "webhooks.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "webhooks.py"),
            "--rounds",
            "1",
            "--patients",
            "8",
            "--versions",
            "2",
            "--clients",
            "2",
            "--resamples",
            "50",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["all_delivered_in_order"] is True
    assert result["pooled_off"]["writes"] == result["pooled_on"]["writes"] == 16
