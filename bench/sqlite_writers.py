"""How many task completions per second several engine processes get from one SQLite file, without HTTP: the
ceiling of P5 (bench/http_throughput.py), whose HTTP path runs two gunicorn worker processes.

Same model and same work as bench/http_throughput.py: each process starts its own instances of the 10-user-task
model (not timed), then, all released at once, completes every task of them through ``Runtime.complete``, finding
each instance's ready task with the same indexed read. One process and ``--processes`` processes alternate for a few
rounds; each side's best round counts. It prints both rates and their ratio: what two writers of one SQLite file
lose to each other (they take turns at the writers' lock, and a transaction that follows another process's commit
starts with SQLite's page cache dropped), before any HTTP.
Usage: python bench/sqlite_writers.py [--processes 2] [--instances 60] [--rounds 5]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sqlite3
import sys
import tempfile
import time
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.http_throughput import CUSTOMERS, PROCESS, setup, work_through  # noqa: E402


def writer(url: str, folder: str, instances: int, gate: Barrier, results: Any) -> None:
    """One engine process: start ``instances`` instances, wait for the others, complete every task of them."""
    from engine import Runtime, Store, load_config
    from processes import build_registry

    config = load_config({"database_url": url, "data_dir": folder}, environ={})
    runtime = Runtime(Store(url), build_registry(), config=config)
    try:
        started = [runtime.start(PROCESS, actor="bench", customer_id=f"F-{n % CUSTOMERS}") for n in range(instances)]
        gate.wait()
        began = time.perf_counter()
        tasks = work_through(Path(folder) / "bench.db", started, complete_with(runtime))
        results.put((tasks, began, time.perf_counter()))
    finally:
        runtime.close()


def complete_with(runtime: Any) -> Any:
    def complete(task_id: int) -> None:
        runtime.complete(task_id, actor="bench", data={"note": "done"})

    return complete


def round_of(processes: int, url: str, folder: Path, instances: int) -> float:
    """Tasks per second of ``processes`` engine processes writing at once, from the release to the last one's end."""
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no connection inherited across a fork
    gate, results = context.Barrier(processes), context.Queue()
    workers = [
        context.Process(target=writer, args=(url, str(folder), instances, gate, results)) for _ in range(processes)
    ]
    for process in workers:
        process.start()
    done = [results.get(timeout=600) for _ in workers]
    for process in workers:
        process.join(60)
        if process.exitcode != 0:
            raise SystemExit(f"an engine process failed (exit code {process.exitcode})")
    tasks = sum(found[0] for found in done)
    return tasks / (max(found[2] for found in done) - min(found[1] for found in done))


def main(argv: list[str] | None = None) -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--processes", type=int, default=2, help="engine processes writing at once")
    args.add_argument("--instances", type=int, default=60, help="instances per process and round (10 tasks each)")
    args.add_argument("--rounds", type=int, default=5, help="alternating rounds; each side's best round counts")
    ns = args.parse_args(argv)
    one: list[float] = []
    several: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        runtime, url, _token = setup(folder)
        runtime.close()
        for _ in range(ns.rounds):
            one.append(round_of(1, url, folder, ns.instances))
            several.append(round_of(ns.processes, url, folder, ns.instances))
        with sqlite3.connect(folder / "bench.db") as db:
            completed = db.execute("SELECT count(*) FROM task_kpi").fetchone()[0]
        expected = ns.rounds * (1 + ns.processes) * ns.instances * 10
        assert completed == expected, (completed, expected)
    print(f"model: 10 user tasks in a row; per process and round: {ns.instances} instances, {ns.instances * 10} tasks")
    print(f"1 engine process:      {max(one):8.1f} tasks/s  (rounds: {', '.join(f'{r:.0f}' for r in one)})")
    print(
        f"{ns.processes} engine processes:    {max(several):8.1f} tasks/s  "
        f"(rounds: {', '.join(f'{r:.0f}' for r in several)})"
    )
    print(f"best of {ns.rounds} alternating rounds each; one SQLite file (WAL), no HTTP")
    ratio = max(several) / max(one)
    print(f"{ns.processes} processes / 1 process = {ratio:.2f}  (the ceiling of P5 for as many workers)")


if __name__ == "__main__":
    main()
