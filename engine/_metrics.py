"""Prometheus metrics (the standard ``prometheus_client``).

Counted by each process, as things happen: tasks completed, alerts raised, sandbox timeouts, scheduler job
durations (and the web layer's request latency, web/ops.py). Read from the database at scrape time by
``DatabaseCollector``, so every node answers the same: open tasks, due timers, open alerts, the outbox backlog and
the age of the newest scheduler heartbeat.

Several processes: a gunicorn worker counts its own requests and completions. With the environment variable
``PROMETHEUS_MULTIPROC_DIR`` set (to an empty directory, before the processes start) prometheus_client's
multiprocess mode keeps every process's samples in files there and /metrics sums them (``exposition``); without
it each scrape sees the worker that answered. docs/deployment.md says how to run either.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from engine._clock import Clock
from engine._store import Store

TASKS_COMPLETED = Counter("jornada_tasks_completed", "Human tasks completed (committed) by this process")
ALERTS_RAISED = Counter("jornada_alerts_raised", "Behind/stuck alerts raised by this process's sweeps")
SANDBOX_TIMEOUTS = Counter(
    "jornada_sandbox_timeouts", "BPMN scripts or expressions stopped for exceeding sandbox.budget_seconds"
)
JOB_SECONDS = Histogram(
    "jornada_scheduler_job_duration_seconds",
    "Duration of one scheduler job run, by job and outcome (ok | error)",
    ["job", "outcome"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300),
)


def observe_job(job: str, outcome: str, seconds: float) -> None:
    JOB_SECONDS.labels(job=job, outcome=outcome).observe(seconds)


class DatabaseCollector(Collector):
    """Gauges read from the database at each scrape, five counts over indexed conditions and one max()."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store, self.clock = store, clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("jornada_database_up", "1 when the scrape could read the database, else 0")
        try:
            values = self._read()
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        for name, help_text, value in values:
            if value is not None:
                yield GaugeMetricFamily(name, help_text, value=value)

    def _read(self) -> list[tuple[str, str, float | None]]:
        from engine._heartbeat import newest_beat
        from engine._outbox import MAX_ATTEMPTS
        from engine.models import OPEN_ALERT, OPEN_TASK_SQL, Alert, HumanTask, Outbox, Timer

        now = self.clock.now()
        with self.store.reading() as conn:

            def count(model: Any, *where: Any) -> float:
                return float(conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one())

            beat = newest_beat(conn)
            unsent = Outbox.sent_at.is_(None)
            return [
                (
                    "jornada_open_tasks",
                    "Human tasks ready or claimed",
                    count(HumanTask, text(OPEN_TASK_SQL)),
                ),
                ("jornada_due_timers", "BPMN timers due now and not yet fired", count(Timer, Timer.due_at <= now)),
                ("jornada_open_alerts", "Alerts neither acknowledged nor resolved", count(Alert, OPEN_ALERT)),
                (
                    "jornada_outbox_backlog",
                    "Outbox messages not sent yet and still to be tried",
                    count(Outbox, unsent, Outbox.attempts < MAX_ATTEMPTS),
                ),
                (
                    "jornada_outbox_failed",
                    "Outbox messages given up after the last attempt",
                    count(Outbox, unsent, Outbox.attempts >= MAX_ATTEMPTS),
                ),
                (
                    "jornada_scheduler_heartbeat_age_seconds",
                    "Seconds since the newest beat of any scheduler (absent: none ever beat)",
                    None if beat is None else max((now - beat).total_seconds(), 0.0),
                ),
            ]


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition(store: Store, clock: Clock) -> bytes:
    """The text exposition of every metric: this process's (or, in multiprocess mode, every process's) counters
    and histograms, then the database gauges."""
    if multiprocess_dir():
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)  # type: ignore[no-untyped-call]
    else:
        counted = REGISTRY
    gauges = CollectorRegistry(auto_describe=False)
    gauges.register(DatabaseCollector(store, clock))
    return generate_latest(counted) + generate_latest(gauges)


def serve_scheduler_metrics(config: Mapping[str, Any], store: Store, clock: Clock) -> int:
    """``scheduler.metrics_port`` > 0: serve this scheduler process's counters (every process's, in multiprocess
    mode) and the database gauges on 127.0.0.1:<port> from a daemon thread; returns the port (0: off)."""
    from prometheus_client import start_http_server

    port = int(config["scheduler"]["metrics_port"])
    if not port:
        return 0
    registry = REGISTRY
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    registry.register(DatabaseCollector(store, clock))
    start_http_server(port, addr="127.0.0.1", registry=registry)
    return port
