"""bench/sqlite_writers.py, the ceiling of P5, kept working: at a tiny size it runs one and two engine processes on
one SQLite file, checks every completion landed once, and prints lines that parse."""

from __future__ import annotations

import re

from tests.bench.helpers import run_bench


def test_one_and_two_engine_processes_print_their_rates_and_the_ratio() -> None:
    printed = run_bench("sqlite_writers.py", "--instances", "2", "--rounds", "1")
    assert "per process and round: 2 instances, 20 tasks" in printed, printed
    for processes in ("1 engine process:", "2 engine processes:"):
        assert re.search(rf"^{processes} +[\d.]+ tasks/s  \(rounds: \d+\)$", printed, re.M), printed
    found = re.search(r"^2 processes / 1 process = ([\d.]+)  \(the ceiling of P5 for as many workers\)$", printed, re.M)
    assert found and float(found.group(1)) > 0, printed
