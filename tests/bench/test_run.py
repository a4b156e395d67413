"""bench/run.py's bookkeeping (no benchmark runs): a step measured again alone replaces
its own raw files only, and its section says when and under what load."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

RUN = Path(__file__).resolve().parents[2] / "bench" / "run.py"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", RUN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "RAW", tmp_path)
    return module


def test_forgetting_a_step_keeps_every_other_file(run: ModuleType, tmp_path: Path) -> None:
    names = [
        "environment.json",
        "environment-peers.json",
        "peers.json",
        "peers.txt",
        "servers.json",
        "servers.txt",
        "state_growth.json",
        "startup-all-sqlite.json",
        "webhooks-e729040.json",
        "wrk/peers-do-get-apitwin-r1.txt",
        "wrk/servers-do-get-apitwin-uvicorn-r1.txt",
        "wrk/state_growth-sqlite-get-100-r1.txt",
    ]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    run.forget_raw(["peers"])
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    gone = {"environment-peers.json", "peers.json", "peers.txt", "wrk/peers-do-get-apitwin-r1.txt"}
    assert left == sorted(set(names) - gone)


def test_a_step_measured_alone_on_a_busy_machine_says_so(run: ModuleType) -> None:
    env = {
        "date": "2026-11-28 00:27 UTC",
        "commit": "abc1234",
        "load_before": "4.77 3.90 3.75",
        "load_after": "13.71 10.62 6.91",
        "nproc": 2,
    }
    text = run.measured_alone("servers", env)
    assert "`bench/run.py --only servers`" in text and "abc1234" in text
    assert "4.77 3.90 3.75 before / 13.71 10.62 6.91 after" in text
    assert "**The machine was busy**" in text and "13.71" in text
    quiet = run.measured_alone("servers", {**env, "load_before": "0.1", "load_after": "0.3"})
    assert "busy" not in quiet
    # The load after a step is the step's own: it does not make the machine busy.
    own = run.measured_alone("servers", {**env, "load_before": "0.16", "load_after": "1.09"})
    assert "busy" not in own
