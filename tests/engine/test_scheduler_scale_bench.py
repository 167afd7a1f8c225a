"""bench/scheduler_scale.py, the acceptance check of the scheduler tick at scale, runs at tiny sizes: it fills the
tables, fires the due timers and raises the due alerts on each tick, and prints its figures and verdict."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.helpers import backend

BENCH = Path(__file__).resolve().parents[2] / "bench" / "scheduler_scale.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_scheduler_scale", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_bench_ticks_at_two_sizes_and_prints_times_statements_per_alert_and_the_verdict(
    bench: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--sizes", "400,800", "--due", "15", "--timers", "2", "--runs", "1", "--db", backend()]
    results = bench.run(argv)
    out = capsys.readouterr().out
    assert [(r.rows, r.alerts, r.timers) for r in results] == [(400, 15, 2), (800, 15, 2)]
    assert all(0 < r.statements_per_alert <= 3 for r in results), results
    assert re.search(r"400 rows: tick +[\d.]+ ms \(15 alerts, 2 timers\), [\d.]+ statements per alert", out), out
    assert re.search(r"tick at 800 ÷ tick at 400 rows = [\d.]+ \(goal <= 1.5\) (OK|OVER)", out), out


def test_a_size_too_small_for_its_due_sets_is_refused_with_the_reason(bench: ModuleType) -> None:
    with pytest.raises(SystemExit, match="100 rows cannot hold 6 ticks of 1,000 due tasks"):
        bench.run(["--sizes", "100", "--db", "sqlite"])
