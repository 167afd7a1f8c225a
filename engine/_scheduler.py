"""APScheduler wiring: one job fires due BPMN timers, one sweeps stuck steps, one drains the outbox, one signs the
audit trail's head into the anchor file (every ``audit.anchor_interval_seconds``; not part of ``run_once``).

Each job does small units of work, each claimed in the database (optimistic lock on the instance, conditional
UPDATE on the task's alert column, conditional UPDATE on the outbox row), so several scheduler processes against
one PostgreSQL database share the work without doing any of it twice. The scheduler starts only when asked:
``jornada scheduler``, or the web app with ``scheduler.run_in_web = true``.

Plugins add their own periodic jobs with ``HandlerRegistry.every`` (e.g. the CS domain's playbook rules); each
runs after the engine's jobs in ``run_once`` and on its own interval in ``run_forever``, and logs its summary.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

from apscheduler.schedulers.background import BackgroundScheduler

from engine import _anchors as anchors
from engine import _logs as logs
from engine import _metrics as metrics
from engine import _readiness as readiness
from engine._heartbeat import Heartbeat
from engine._outbox import Transport
from engine._runtime import Runtime

log = logging.getLogger(__name__)
T = TypeVar("T")


class CountingTransport:
    """Passes mails on to ``transport`` and counts the ones it accepted."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.sent = 0

    def send(self, recipient: str, subject: str, body: str) -> None:
        self.transport.send(recipient, subject, body)
        self.sent += 1


@contextlib.contextmanager
def counting_mails(runtime: Runtime) -> Iterator[CountingTransport]:
    """Count every mail the runtime's outbox delivers inside the block, whoever drains it: the operations drain the
    outbox right after their commit, so the scheduler's own drain finds only what they left."""
    counter = CountingTransport(runtime.outbox.transport)
    runtime.outbox.transport = counter
    try:
        yield counter
    finally:
        runtime.outbox.transport = counter.transport


def run_once(runtime: Runtime, report: Callable[[str, str], None] | None = None) -> dict[str, int]:
    """One pass of every job, in order; returns what the engine's jobs did (``mails_sent``: every mail delivered
    during the pass, including those the timers' and alerts' transactions sent right after their commit). The
    plugins' periodic jobs run last; each job logs one structured line (engine/_logs.py), a plugin's with its one-line
    summary, which also goes to ``report`` when given; mails their transactions send are counted too. Not thread
    safe: the pass counts through the runtime's outbox, so it must not run beside other work on the same runtime.
    Writes this node's heartbeat first."""
    _guarded("heartbeat", Heartbeat(runtime.store, runtime.clock, runtime.config).beat, timed=False)()  # telemetry
    with counting_mails(runtime) as mails:
        fired = _timed("timers", runtime.fire_due_timers)
        alerts = _timed("stuck-steps", runtime.sweep_stuck_steps)
        _timed("outbox", runtime.outbox.send_pending)
        for periodic in runtime.handlers.periodic:
            summary = _timed(periodic.name, functools.partial(periodic.job, runtime))
            if report is not None:  # else the summary is in the job's log line
                report(periodic.name, summary)
    return {"timers_fired": fired, "alerts_raised": len(alerts), "mails_sent": mails.sent}


def anchor_audit_head(runtime: Runtime) -> None:
    """Sign the audit trail's head into the anchor file and the log (engine/_anchors.py)."""
    with runtime.store.session() as session:
        anchors.anchor(session, runtime.config, runtime.clock.now())


def _timed(name: str, job: Callable[[], T]) -> T:
    """Run a job, logging its structured line (job, items, ms, outcome) and timing it for /metrics."""
    return logs.timed(name, job, metrics.observe_job)


def _guarded(name: str, job: Any, timed: bool = True) -> Any:
    def run() -> None:
        try:
            _timed(name, job) if timed else job()
        except Exception:  # a failing pass must not kill the scheduler; the next pass retries
            log.exception("scheduler job %s failed", name)

    return run


def build_scheduler(runtime: Runtime, heartbeat: Heartbeat | None = None) -> BackgroundScheduler:
    settings = runtime.config["scheduler"]
    scheduler = BackgroundScheduler(timezone="UTC")
    heartbeat = heartbeat or Heartbeat(runtime.store, runtime.clock, runtime.config)
    scheduler.add_job(  # every tick, not logged: /healthz and /metrics read its age
        _guarded("heartbeat", heartbeat.beat, timed=False),
        "interval",
        seconds=float(settings["timer_interval_seconds"]),
        id="heartbeat",
        next_run_time=datetime.now(UTC),  # at once: a restarted scheduler is seen alive before its first interval
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )
    jobs: list[tuple[str, Any, float]] = [
        ("timers", runtime.fire_due_timers, settings["timer_interval_seconds"]),
        ("stuck-steps", runtime.sweep_stuck_steps, settings["sweep_interval_seconds"]),
        ("outbox", runtime.outbox.send_pending, settings["timer_interval_seconds"]),
    ]
    if runtime.config["audit"]["anchor_interval_seconds"] > 0:
        jobs.append(
            ("audit-anchor", lambda: anchor_audit_head(runtime), runtime.config["audit"]["anchor_interval_seconds"])
        )
    for periodic in runtime.handlers.periodic:
        seconds = settings["sweep_interval_seconds"] if periodic.seconds is None else periodic.seconds
        jobs.append((periodic.name, functools.partial(periodic.job, runtime), seconds))  # summary: in its line
    for name, job, seconds in jobs:
        scheduler.add_job(
            _guarded(name, job),
            "interval",
            seconds=float(seconds),
            id=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
    return scheduler


def run_forever(runtime: Runtime) -> None:
    for warning in readiness.multi_node_warnings(runtime.config):
        log.warning(warning)
    heartbeat = Heartbeat(runtime.store, runtime.clock, runtime.config)
    heartbeat.start()
    metrics.serve_scheduler_metrics(runtime.config, runtime.store, runtime.clock)
    scheduler = build_scheduler(runtime, heartbeat)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    scheduler.start()
    print("scheduler running (Ctrl-C to stop)", flush=True)
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
        heartbeat.stop()
