"""The scheduler's operational side: its heartbeat row (on the injected clock), one structured log line per job,
and the log formats."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine import FrozenClock, Runtime
from engine._config import ConfigError, load_config
from engine._heartbeat import Heartbeat, release, scheduler_state
from engine._logs import CHATTY, JsonFormatter, LogfmtFormatter, configure, timed
from engine._scheduler import build_scheduler, run_once
from engine.models import SchedulerHeartbeat
from tests.engine.helpers import WAIT


def heartbeats(runtime: Runtime) -> list[tuple[str, Any, Any, str]]:
    with runtime.store.session() as s:
        rows = s.execute(select(SchedulerHeartbeat).order_by(SchedulerHeartbeat.node)).scalars()
        return [(r.node, r.started_at, r.beat_at, r.version) for r in rows]


def named(runtime: Runtime, name: str) -> dict[str, Any]:
    return {**runtime.config, "scheduler": {**runtime.config["scheduler"], "node_name": name}}


@pytest.fixture
def job_lines(caplog: pytest.LogCaptureFixture) -> Callable[[], list[dict[str, Any]]]:
    caplog.set_level(logging.INFO, logger="jornada.scheduler.job")
    return lambda: [r.fields for r in caplog.get_records("call") if r.name == "jornada.scheduler.job"]  # type: ignore[attr-defined]


def test_run_once_writes_the_heartbeat_of_its_node_on_the_injected_clock(runtime: Runtime, clock: FrozenClock) -> None:
    runtime.config["scheduler"]["node_name"] = "sched-a"
    run_once(runtime)
    assert heartbeats(runtime) == [("sched-a", clock.now(), clock.now(), release())]
    clock.advance(seconds=10)
    run_once(runtime)
    [(_node, _started, beat_at, _version)] = heartbeats(runtime)
    assert beat_at == clock.now()  # one row per node, moved forward
    with runtime.store.reading() as conn:
        state = scheduler_state(conn, clock.now() + timedelta(seconds=301), runtime.config)
    assert (state.age_seconds, state.ok) == (301.0, False)


def test_a_scheduler_without_a_configured_name_beats_as_host_and_pid(runtime: Runtime) -> None:
    import os
    import socket

    run_once(runtime)
    assert [row[0] for row in heartbeats(runtime)] == [f"{socket.gethostname()}:{os.getpid()}"]


def test_the_heartbeat_is_a_job_of_every_tick_and_a_stopping_scheduler_removes_its_row(
    runtime: Runtime, clock: FrozenClock
) -> None:
    gone = Heartbeat(runtime.store, clock, named(runtime, "gone-for-a-week"))
    gone.beat()
    clock.advance(days=7, seconds=1)
    heartbeat = Heartbeat(runtime.store, clock, named(runtime, "sched-b"))
    scheduler = build_scheduler(runtime, heartbeat)
    job = scheduler.get_job("heartbeat")
    assert job.trigger.interval == timedelta(seconds=runtime.config["scheduler"]["timer_interval_seconds"])
    heartbeat.start()  # what run_forever does first: forget week-old nodes, beat
    assert [row[0] for row in heartbeats(runtime)] == ["sched-b"]
    clock.advance(seconds=10)
    job.func()
    assert heartbeats(runtime)[0][2] == clock.now()
    heartbeat.stop()
    assert heartbeats(runtime) == []


def test_each_scheduler_job_logs_one_line_with_its_items_duration_and_outcome(
    runtime: Runtime, clock: FrozenClock, job_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    runtime.deploy({"w.bpmn": WAIT}, actor="d")
    runtime.start("wait", actor="a", customer_id="C-1", data={"delay": "PT1H"})
    clock.advance(hours=1)
    run_once(runtime)
    lines = job_lines()
    names = [line["job"] for line in lines]
    assert names[:3] == ["timers", "stuck-steps", "outbox"]
    assert names[3:] == [periodic.name for periodic in runtime.handlers.periodic]
    timers = lines[0]
    assert set(timers) == {"job", "items", "ms", "outcome"}
    assert (timers["items"], timers["outcome"]) == (1, "ok")
    assert isinstance(timers["ms"], float)
    assert lines[1]["items"] == 0  # no alert raised
    plugin = lines[3]
    assert plugin["items"] is None and isinstance(plugin["summary"], str)  # a plugin job reports a summary


def test_a_failing_job_logs_its_line_with_outcome_error_and_the_error_goes_on(
    job_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    seen: list[tuple[str, str]] = []

    def broken() -> int:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        timed("timers", broken, lambda job, outcome, _s: seen.append((job, outcome)))
    [line] = job_lines()
    assert (line["job"], line["items"], line["outcome"]) == ("timers", None, "error")
    assert seen == [("timers", "error")]


def test_the_formats_write_one_line_per_record_with_the_fields(job_lines: Any) -> None:
    record = logging.LogRecord("jornada.scheduler.job", logging.INFO, __file__, 1, "job", None, None)
    record.fields = {"job": "outbox", "items": 3, "ms": 12.25, "outcome": "ok", "summary": 'a "b" c'}
    as_json = json.loads(JsonFormatter().format(record))
    assert {key: as_json[key] for key in ("level", "logger", "msg", "job", "items", "ms", "outcome")} == {
        "level": "info",
        "logger": "jornada.scheduler.job",
        "msg": "job",
        "job": "outbox",
        "items": 3,
        "ms": 12.25,
        "outcome": "ok",
    }
    assert as_json["ts"].endswith("Z")
    logfmt = LogfmtFormatter().format(record)
    assert "\n" not in logfmt
    assert logfmt.split(" ", 1)[1].startswith("level=info logger=jornada.scheduler.job msg=job job=outbox items=3 ")
    assert 'ms=12.2 outcome=ok summary="a \\"b\\" c"' in logfmt


def test_a_bad_log_format_or_level_fails_loudly_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"logging\.format"):
        configure(load_config({"logging": {"format": "xml"}}, environ={}))
    with pytest.raises(ConfigError, match=r"logging\.level"):
        configure(load_config({"logging": {"level": "chatty"}}, environ={}))


def test_configure_installs_one_handler_with_the_chosen_format() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    chatty = {name: logging.getLogger(name).level for name in CHATTY}
    try:
        configure(load_config({"logging": {"format": "json"}}, environ={}))
        configure(load_config({"logging": {"format": "json"}}, environ={}))
        added = [h for h in root.handlers if h not in before]
        assert len(added) == 1 and isinstance(added[0].formatter, JsonFormatter)
        assert logging.getLogger("apscheduler").getEffectiveLevel() == logging.WARNING  # no line per job run
    finally:
        for name, old_level in chatty.items():
            logging.getLogger(name).setLevel(old_level)
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)
        for handler in before:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)


def test_a_postgresql_node_without_shared_keys_is_warned_at_start() -> None:
    from engine._readiness import multi_node_warnings

    pg = {"database_url": "postgresql+psycopg://db/jornada"}
    bare = load_config(pg, environ={})
    warnings = multi_node_warnings(bare)
    assert [w.split(" ", 1)[0] for w in warnings] == ["web.secret_key", "audit.anchor_key"]
    shared = load_config({**pg, "web": {"secret_key": "k"}, "audit": {"anchor_key": "a"}}, environ={})
    assert multi_node_warnings(shared) == []
    assert multi_node_warnings(load_config({}, environ={})) == []  # SQLite: one host by nature


def test_a_heartbeat_that_cannot_be_written_does_not_stop_the_pass(
    runtime: Runtime, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    SchedulerHeartbeat.__table__.drop(runtime.store.engine)  # type: ignore[attr-defined]
    runtime.deploy({"w.bpmn": WAIT}, actor="d")
    runtime.start("wait", actor="a", customer_id="C-1", data={"delay": "PT1H"})
    clock.advance(hours=1)
    assert run_once(runtime)["timers_fired"] == 1  # the work is done all the same
    assert any("scheduler job heartbeat failed" in r.getMessage() for r in caplog.records)
