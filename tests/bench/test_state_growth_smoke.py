"""bench/state_growth.py, issue 11's state-growth check, kept working: a looping process driven for three simulated
months on the test database keeps looping, stays within the growth goal, and gets its row in the table."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import func, select

from engine import FrozenClock, Runtime
from engine.models import HumanTask, ProcessInstance

BENCH = Path(__file__).resolve().parents[2] / "bench" / "state_growth.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_state_growth", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def completed(runtime: Runtime, element_id: str) -> int:
    with runtime.store.session() as s:
        query = select(func.count()).where(HumanTask.element_id == element_id, HumanTask.state == "completed")
        return int(s.execute(query).scalar_one())


def test_training_loops_for_three_months_and_its_state_stays_within_the_growth_goal(
    bench: ModuleType, runtime: Runtime, clock: FrozenClock
) -> None:
    result = bench.run_process(runtime, clock, "training", days=91)

    with runtime.store.session() as s:
        [status] = s.execute(select(ProcessInstance.status)).scalars().all()
    assert status == "running"  # never recorded completed: it schedules session after session
    assert completed(runtime, "record_training_completion") >= 12  # a round about every week
    assert result.ended_after is None and result.end.incident is None
    assert result.month.size > 0 and result.end.load_ms > 0
    assert result.ratio <= bench.GOAL, f"{result.end.size} B after 3 months vs {result.month.size} B after one"

    head, _rule, row, summary = bench.table([result], 0.25)
    assert head.split()[:5] == ["process", "KB", "1", "month", "KB"]
    assert row.split()[0] == "training" and row.split()[5] == "OK"
    assert float(row.split()[3]) == pytest.approx(result.ratio, abs=0.01)
    assert summary.startswith("S1 worst ratio") and "(training)" in summary


def test_a_process_that_ends_within_a_month_reports_the_steps_it_took_and_a_ratio_of_one(
    bench: ModuleType, runtime: Runtime, clock: FrozenClock
) -> None:
    result = bench.run_process(runtime, clock, "expansion", days=1095)

    assert result.ended_after == 4  # started, qualified, proposal prepared, negotiated
    assert result.ratio == 1.0 and result.month == result.end
    [row] = bench.table([result], 3)[2:3]
    assert row.split()[0] == "expansion" and row.endswith("ends after 4 steps")


def test_the_command_line_prints_the_table_for_the_chosen_process(bench: ModuleType) -> None:
    lines: list[str] = []
    assert bench.main(["--process", "feature_tips", "--years", "0.1"], out=lines.append) == 0
    assert [line.split()[0] for line in lines[2:-1]] == ["feature_tips"]
    assert lines[-1].startswith("S1 worst ratio")


def test_the_command_line_refuses_a_process_that_is_not_shipped(
    bench: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        bench.main(["--process", "no_such_process"])
    assert refused.value.code == 2
    assert "unknown process no_such_process" in capsys.readouterr().err


def test_the_table_flags_an_instance_in_incident_and_one_that_stopped_moving(bench: ModuleType) -> None:
    month = bench.Measure(10 * 1024, 0.3)
    broken = bench.Result("training", month, bench.Measure(11 * 1024, 0.4, "training: maximum recursion depth"), None)
    stalled = bench.Result("data_export", month, bench.Measure(10 * 1024, 0.3), None, idle_since=720)

    _head, _rule, first, second, summary = bench.table([broken, stalled], 3)

    assert first.split()[5] == "INCIDENT" and first.endswith("training: maximum recursion depth")
    assert not broken.ok  # within the size goal, but no longer looping: the bench fails
    assert second.split()[5] == "OK" and second.endswith("no step since day 720")
    assert "1.10 (training)" in summary
