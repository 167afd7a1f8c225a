"""bench/sqlite_writers.py, the ceiling of P5, kept working: at a tiny size it runs one and two engine processes on
one SQLite file, checks every completion landed once, and prints lines that parse."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_one_and_two_engine_processes_print_their_rates_and_the_ratio() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sqlite_writers.py"), "--instances", "2", "--rounds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    printed = done.stdout
    assert "per process and round: 2 instances, 20 tasks" in printed, printed
    for processes in ("1 engine process:", "2 engine processes:"):
        assert re.search(rf"^{processes} +[\d.]+ tasks/s  \(rounds: \d+\)$", printed, re.M), printed
    found = re.search(r"^2 processes / 1 process = ([\d.]+)  \(the ceiling of P5 for as many workers\)$", printed, re.M)
    assert found and float(found.group(1)) > 0, printed
