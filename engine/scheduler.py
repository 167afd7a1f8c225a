"""APScheduler wiring: one job fires due BPMN timers, one sweeps stuck steps, one drains the outbox.

Each job does small units of work, each claimed in the database (optimistic lock on the instance, conditional
UPDATE on the task's alert column, conditional UPDATE on the outbox row), so several scheduler processes against
one PostgreSQL database share the work without doing any of it twice. The scheduler starts only when asked:
``jornada scheduler``, or the web app with ``scheduler.run_in_web = true``.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from engine.runtime import Runtime

log = logging.getLogger(__name__)


def run_once(runtime: Runtime) -> dict[str, int]:
    """One pass of every job, in order; returns what each did."""
    fired = runtime.fire_due_timers()
    alerts = runtime.sweep_stuck_steps()
    sent = runtime.outbox.send_pending()
    return {"timers_fired": fired, "alerts_raised": len(alerts), "mails_sent": sent}


def _guarded(name: str, job: Any) -> Any:
    def run() -> None:
        try:
            job()
        except Exception:  # a failing pass must not kill the scheduler; the next pass retries
            log.exception("scheduler job %s failed", name)

    return run


def build_scheduler(runtime: Runtime) -> BackgroundScheduler:
    settings = runtime.config["scheduler"]
    scheduler = BackgroundScheduler(timezone="UTC")
    jobs = (
        ("timers", runtime.fire_due_timers, settings["timer_interval_seconds"]),
        ("stuck-steps", runtime.sweep_stuck_steps, settings["sweep_interval_seconds"]),
        ("outbox", runtime.outbox.send_pending, settings["timer_interval_seconds"]),
    )
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
    scheduler = build_scheduler(runtime)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    scheduler.start()
    print("scheduler running (Ctrl-C to stop)", flush=True)
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
