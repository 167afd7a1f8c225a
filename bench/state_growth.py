"""S1: state growth of long-lived instances. For every shipped process (bpmn/*.bpmn), the size of its instance's
engine state after 3 simulated years ÷ after 1 month. Goal: <= 1.5 for every process.

Each process is started for its own customer the way the product starts it (the journey for a won customer, a
support ticket with its subject, an expansion with its signal, ...) on a fresh temporary SQLite database and driven
on an injected clock, one simulated day per step: timers that are due fire, and simulated staff complete every human
task that has been open for ``--task-days`` days with form-valid answers chosen to keep the instance looping as long
as the model allows (training not completed, keep pursuing the first win, credentials not received, exam failed,
...), re-entering each loop of the model. A task listed in ``WAIT_OUT`` is left open so that its timer fires instead
(the 30-day quick-wins window, the payment reminders and escalation of collections). Size = ``len(state_json)`` of
the largest instance of the customer (a process that starts others is measured by its largest), read from the
database at day 30 and at the end; load = the best of 7 milliseconds to rebuild that instance's workflow from its
JSON (spec cached, as the engine does). A process whose instances have all ended before day 30 prints its final size
and "ends after N steps" (ratio 1.0), one that ends later "ends on day N"; one that still runs but took no step in
its last 60 days says since when (it waits for a message or a far timer, or lost its open tasks); one that fell into
an incident prints INCIDENT and the reason. Exit status 0 when every process is OK.

Usage: python bench/state_growth.py [--years 3] [--process training --process quick_wins] [--task-days 2]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402
from sqlalchemy import select  # noqa: E402

from engine import FrozenClock, Runtime, Store, load_config  # noqa: E402
from engine import _specs as specs  # noqa: E402
from engine.models import HumanTask, ProcessInstance  # noqa: E402
from processes import build_registry  # noqa: E402
from processes.customers import Contact, Invoice, create_customer  # noqa: E402
from processes.demo import fill  # noqa: E402

BPMN_DIR = ROOT / "bpmn"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
GOAL = 1.5
MONTH_DAYS = 30
IDLE_DAYS = 60  # a running process with no step in its last IDLE_DAYS days is flagged (waiting, or lost its tasks)
FINAL = ("completed", "cancelled")

# How the product starts each process: the data its start needs (the rest start with the customer alone).
START_DATA: dict[str, dict[str, Any]] = {
    "support": {"subject": "Report export fails", "severity": "high", "channel": "email"},
    "expansion": {"signal": "seats", "new_mrr": 1500},
    "referrals": {"nps": 10},
}
# Answers that keep a process in its loop as long as the model allows, by element id (every process)...
ANSWERS: dict[str, dict[str, Any]] = {
    "record_training_completion": {"training_completed": False},
    "hold_training_session": {"attended": False},
    "escalate_missing_first_win": {"continue_pursuit": True},
    "confirm_credentials_received": {"credentials_received": False},
    "record_exam_result": {"exam_result": "fail"},
    "confirm_access_revoked": {"all_access_revoked": False},
    "deliver_export": {"delivered": False},
    "confirm_deletion_agreement": {"retention_days": 7},  # a week kept, as the demo agrees (the form allows ten years)
}
# ... and per process where the whole journey must get past a phase to reach the next loop.
ANSWERS_IN: dict[str, dict[str, dict[str, Any]]] = {
    "customer_journey": {
        "record_training_completion": {"training_completed": True},
        "confirm_credentials_received": {"credentials_received": True, "licences_activated": 25},
    },
}
# Tasks staff leave open so that their timer path (and its loop) runs instead: the 30-day quick-wins window, the
# weekly payment reminders and the 30-day escalation of collections.
WAIT_OUT = frozenset({"confirm_first_win", "contact_customer_about_balance"})


@dataclass
class Measure:
    size: int  # bytes of state_json
    load_ms: float
    incident: str | None = None  # the first incident among the customer's instances: the run no longer loops


@dataclass
class Result:
    process: str
    month: Measure
    end: Measure
    ended_after: int | None  # operations until every instance ended, when that happened before a month
    idle_since: int | None = None  # the day of the last operation, when nothing happened for IDLE_DAYS at the end
    ended_on: int | None = None  # the day every instance had ended, when that happened after the first month

    @property
    def ratio(self) -> float:
        return 1.0 if self.ended_after is not None else self.end.size / max(1, self.month.size)

    @property
    def ok(self) -> bool:
        return self.ratio <= GOAL and self.end.incident is None


def process_ids(bpmn_dir: Path = BPMN_DIR) -> list[str]:
    """The executable process of every shipped model, in file order."""
    found = []
    for path in sorted(bpmn_dir.glob("*.bpmn")):
        root = etree.fromstring(path.read_bytes())
        found.extend(root.xpath("//bpmn:process[@isExecutable='true']/@id", namespaces=NS))
    return found


class Simulation:
    """One process driven for one customer on its own database."""

    def __init__(self, runtime: Runtime, clock: FrozenClock, process_id: str, task_days: float, seed: int = 7) -> None:
        self.runtime, self.clock, self.store = runtime, clock, runtime.store
        self.runtime.deploy({p.name: p.read_bytes() for p in sorted(BPMN_DIR.glob("*.bpmn"))}, actor="bench")
        self.process_id = process_id
        self.customer_id = f"C-{process_id}"
        self.task_days = task_days
        self.rng = random.Random(seed)
        self.operations = 0
        with self.runtime.unit() as u:
            create_customer(
                u.session,
                self.customer_id,
                "Acme",
                now=u.now,
                email="cs@acme.example",
                mrr=900.0,
                csm_owner="ana",
                contract_start=u.now.date(),
                renewal_date=u.now.date() + timedelta(days=365),
            )
            u.session.add(Invoice(customer_id=self.customer_id, amount=450.0, due_at=u.now - timedelta(days=10)))
            u.session.add(
                Contact(
                    customer_id=self.customer_id,
                    name="Acme admin",
                    email="admin@acme.example",
                    role="admin",
                    language="en",
                    created_at=u.now,
                )
            )

    def start(self) -> str:
        data = START_DATA.get(self.process_id, {})
        return self.runtime.start(self.process_id, actor="bench", customer_id=self.customer_id, data=data)

    def instances(self) -> list[ProcessInstance]:
        with self.store.session() as s:
            query = select(ProcessInstance).where(ProcessInstance.customer_id == self.customer_id)
            return list(s.execute(query).scalars())

    def running(self) -> bool:
        return any(i.status not in FINAL for i in self.instances())

    def answers(self, element_id: str) -> dict[str, Any]:
        return {**ANSWERS.get(element_id, {}), **ANSWERS_IN.get(self.process_id, {}).get(element_id, {})}

    def work(self) -> None:
        """Complete every open task of the customer that has waited ``task_days`` (but those left to time out)."""
        now = self.clock.now()
        with self.store.session() as s:
            rows = list(
                s.execute(
                    select(HumanTask)
                    .where(HumanTask.customer_id == self.customer_id, HumanTask.state.in_(("ready", "claimed")))
                    .order_by(HumanTask.id)
                ).scalars()
            )
        for row in rows:
            if row.element_id in WAIT_OUT or now - row.created_at < timedelta(days=self.task_days):
                continue
            fields = [f for f in self.runtime.task_view(row.id).fields if not f.readonly]
            data = {f.id: fill(f, self.rng, now.date()) for f in fields}
            data.update({k: v for k, v in self.answers(row.element_id).items() if k in data})
            self.runtime.complete(row.id, actor="staff", data=data)
            self.operations += 1

    def day(self) -> bool:
        """One simulated day; True when something happened."""
        before = self.operations
        self.clock.advance(days=1)
        while fired := self.runtime.fire_due_timers():
            self.operations += fired
        self.work()
        return self.operations > before

    def measure(self) -> Measure:
        instances = self.instances()
        largest = max(instances, key=lambda i: len(i.state_json))
        with self.store.session() as s:
            pair = self.runtime._spec_pair(s, largest)  # the engine's own spec cache, as a load uses it
        incident = next((f"{i.process_id}: {i.incident}" for i in instances if i.status == "incident"), None)
        return Measure(len(largest.state_json), load_ms(largest.state_json, pair), incident)


def load_ms(state_json: str, pair: specs.SpecPair, repeat: int = 7) -> float:
    """Milliseconds to rebuild the workflow from its JSON, best of ``repeat`` (other work on the machine only adds)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        specs.load(state_json, pair)
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


def open_runtime(folder: Path, process_id: str) -> tuple[Runtime, FrozenClock]:
    """A runtime on a fresh SQLite database of its own, with the real handlers and an injected clock."""
    url = f"sqlite:///{folder / f'{process_id}.db'}"
    store = Store(url)
    store.create_schema()
    clock = FrozenClock()
    config = load_config({"database_url": url, "data_dir": str(folder)}, environ={})
    return Runtime(store, build_registry(), clock=clock, config=config), clock


def run_process(
    runtime: Runtime,
    clock: FrozenClock,
    process_id: str,
    days: int,
    task_days: float = 2,
    progress: Callable[[str], None] = lambda line: None,
) -> Result:
    """Start ``process_id`` and drive it ``days`` simulated days; sizes at day 30 and at the end."""
    sim = Simulation(runtime, clock, process_id, task_days)
    sim.start()
    sim.operations += 1
    month: Measure | None = None
    ended_after: int | None = None
    last_step = 0
    ended_on: int | None = None
    for day in range(1, days + 1):
        if sim.day():
            last_step = day
        if day == MONTH_DAYS or (month is None and not sim.running()):
            month = sim.measure()
            if not sim.running():
                ended_after = sim.operations
                break
        elif month is not None and last_step == day and not sim.running():
            ended_on = day
            break
        if day % 90 == 0:
            progress(f"  {process_id}: day {day}, {sim.measure().size / 1024:.1f} KB")
    end = month if ended_after is not None and month is not None else sim.measure()
    idle = ended_after is None and ended_on is None and days - last_step >= IDLE_DAYS
    return Result(process_id, month or end, end, ended_after, last_step if idle else None, ended_on)


def table(results: Sequence[Result], years: float) -> list[str]:
    head = f"{'process':<20} {'KB 1 month':>10} {f'KB {years:g} y':>10} {'ratio':>6} {'goal':>5} {'':<8}"
    head += f" {'load ms 1 month':>15} {f'load ms {years:g} y':>14}  note"
    lines = [head, "-" * len(head)]
    for r in results:
        verdict = "OK" if r.ok else "OVER"
        note = f"ends after {r.ended_after} steps" if r.ended_after is not None else ""
        if r.ended_on is not None:
            note = f"ends on day {r.ended_on}"
        if r.idle_since is not None:
            note = f"no step since day {r.idle_since}"
        if r.end.incident is not None:
            verdict, note = "INCIDENT", r.end.incident[:120]
        lines.append(
            f"{r.process:<20} {r.month.size / 1024:>10.1f} {r.end.size / 1024:>10.1f} {r.ratio:>6.2f} {GOAL:>5}"
            f" {verdict:<8} {r.month.load_ms:>15.2f} {r.end.load_ms:>14.2f}  {note}"
        )
    worst = max(results, key=lambda r: r.ratio)
    lines.append(
        f"S1 worst ratio (KB at {years:g} y ÷ KB at 1 month): {worst.ratio:.2f} ({worst.process}), goal <= {GOAL}"
    )
    return lines


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--years", type=float, default=3.0, help="simulated years (default 3)")
    parser.add_argument(
        "--process", action="append", default=None, help="only this process id (repeatable; default: every model)"
    )
    parser.add_argument("--task-days", type=float, default=2, help="days a human task stays open before staff do it")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the size every 90 days")
    args = parser.parse_args(argv)
    known = process_ids()
    chosen = args.process or known
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        parser.error(f"unknown process {', '.join(unknown)}; shipped: {', '.join(known)}")
    days = max(MONTH_DAYS, round(args.years * 365))
    results = []
    with tempfile.TemporaryDirectory(prefix="jornada-growth-") as tmp:
        for process_id in chosen:
            started = time.perf_counter()
            runtime, clock = open_runtime(Path(tmp), process_id)
            try:
                results.append(
                    run_process(runtime, clock, process_id, days, args.task_days, out if args.verbose else _quiet)
                )
            finally:
                runtime.close()
                runtime.store.dispose()
            if args.verbose:
                out(f"  {process_id}: {time.perf_counter() - started:.1f} s")
    for line in table(results, args.years):
        out(line)
    return 0 if all(r.ok for r in results) else 1


def _quiet(line: str) -> None:
    return None


if __name__ == "__main__":
    sys.exit(main())
