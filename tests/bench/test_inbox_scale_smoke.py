"""bench/inbox_scale.py, issue 11's acceptance check, kept working: at tiny sizes on the test database kind it
builds both shapes and prints a line for every inbox figure."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.helpers import PG_ADMIN_URL, backend

BENCH = Path(__file__).resolve().parents[2] / "bench" / "inbox_scale.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_inbox_scale", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def printed(bench: ModuleType) -> str:
    """What one tiny run prints: 300 and 600 task rows, both shapes, a backlog of 40, one timed run a figure."""
    argv = ["--sizes", "300,600", "--shapes", "share,backlog", "--db", backend(), "--runs", "1", "--backlog", "40"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert bench.main([*argv, "--pg-url", PG_ADMIN_URL]) == 0
    return out.getvalue()


def test_the_bench_prints_a_line_for_every_figure_of_both_shapes(bench: ModuleType, printed: str) -> None:
    for shape in ("share", "backlog"):
        for what in bench.WHAT:
            numbers = r" +[\d.]+" * 3
            line = rf"^{shape} +{backend()} +{re.escape(what)}{numbers} +<= [\d.]+ +(OK|OVER)$"
            assert re.search(line, printed, re.M), f"no line for {shape} / {what} in:\n{printed}"


def test_the_loaded_rows_have_the_planned_shape_and_the_inbox_sees_them(printed: str) -> None:
    """14 % open for the share shape, the backlog held for the other; the lead's "all" view holds every open task
    (so the rows' timestamps and states are as the app writes them), the staff member's groups queue is not empty."""
    kind = backend()
    share = re.search(rf"^{kind} share 600: .*$", printed, re.M)
    backlog = re.search(rf"^{kind} backlog 600: .*$", printed, re.M)
    assert share and backlog, printed
    assert "human_task 600 (84 open)" in share.group(0) and "all 84," in share.group(0)
    assert "human_task 600 (40 open)" in backlog.group(0) and "all 40," in backlog.group(0)
    for line in (share.group(0), backlog.group(0)):
        groups = re.search(r", groups ([\d,]+),", line)
        assert groups and int(groups.group(1).replace(",", "")) > 0, line
