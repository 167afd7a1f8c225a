"""bench/http_throughput.py, issue 13's acceptance check, kept working: at tiny sizes it starts a real gunicorn, runs
both paths, checks every start and completion landed exactly once, and prints lines that parse.

The bench runs as a subprocess (it starts gunicorn and works on a SQLite file of its own, whatever the test
database kind); the two runs take about 13 s."""

from __future__ import annotations

import re

from tests.bench import helpers

RATE = r"[\d.]+/s  median +[\d.]+ ms  p90 +[\d.]+ ms  \(rounds: \d+\)"


def run_bench(*argv: str) -> str:
    return helpers.run_bench("http_throughput.py", "--instances", "2", "--rounds", "1", *argv, timeout=180)


def ratio(line: str, printed: str) -> float:
    found = re.search(rf"^{line} = ([\d.]+)  \(goal >= ([\d.]+)\)$", printed, re.M)
    assert found, f"no {line!r} line in:\n{printed}"
    return float(found.group(1))


def test_one_worker_and_one_client_print_both_paths_for_completions_and_starts() -> None:
    printed = run_bench("--workers", "1", "--clients", "1")
    assert "per path and round: 2 instances, 20 tasks" in printed, printed
    assert "gunicorn 1 worker x 4 threads, 1 sequential keep-alive client;" in printed, printed
    for kind, facade_path, http_path in (
        ("completions", "Runtime.complete", "POST /api/v1/tasks/<id>/complete"),
        ("starts", "Runtime.start", "POST /api/v1/instances"),
    ):
        for path, operation in (("facade", facade_path), ("HTTP", http_path)):
            line = rf"^{kind} +{path} +{re.escape(operation)} +{RATE}$"
            assert re.search(line, printed, re.M), f"no {kind} line for {path} in:\n{printed}"
        assert re.search(rf"^{kind} +HTTP / facade = [\d.]+  \(goal >= 0\.5\)$", printed, re.M), printed
        assert ratio(rf"{kind} +HTTP / facade", printed) > 0


def test_the_default_two_workers_print_the_p5_line() -> None:
    printed = run_bench()
    assert "per path and round: 2 instances, 20 tasks" in printed, printed
    assert re.search(r"^engine facade \(Runtime\.complete .*: +[\d.]+ tasks/s  \(rounds: \d+\)$", printed, re.M)
    assert "gunicorn 2 workers x 4 threads; clients per worker 1 + 1" in printed, printed
    assert re.search(r"^ +[\d.]+ tasks/s  \(rounds: \d+\)$", printed, re.M), printed
    assert "best of 1 alternating rounds each" in printed, printed
    assert re.search(r"^P5 = http / facade = [\d.]+  \(goal >= 0\.8\)$", printed, re.M), printed
    assert ratio("P5 = http / facade", printed) > 0
