"""Operations: /healthz (database, migrations, scheduler heartbeat), Prometheus /metrics (who may scrape, what it
counts and reads from the database), and the structured log line of every request."""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic.runtime.migration import MigrationContext
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from engine import FrozenClock, Runtime, Store
from engine._errors import EngineError
from engine._heartbeat import Heartbeat
from engine._logs import CHATTY, JsonFormatter, LogfmtFormatter
from engine._readiness import script_directory
from engine._sandbox import Sandbox, SandboxError
from engine.models import Outbox
from tests.bpmn_builder import linear
from tests.engine.helpers import WAIT
from tests.web.helpers import add_customer, open_tasks
from web import create_app

UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:9/nowhere"  # nothing listens on port 9: refused at once


def stamp(store: Store, revision: str = "heads") -> None:
    """What `alembic stamp` does: record ``revision`` as the schema's (the tests build it from the models)."""
    with store.engine.begin() as conn:
        MigrationContext.configure(conn).stamp(script_directory(), revision)


def set_revision(store: Store, revision: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def app_with(runtime: Runtime, config: dict, **web: Any) -> Flask:
    settings = {**config, "web": {**config["web"], "cookie_secure": False, "secret_key": "test-secret", **web}}
    app = create_app(settings, runtime=runtime)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def healthy(runtime: Runtime, clock: FrozenClock, config: dict) -> Heartbeat:
    """A migrated database (stamped at head) and a scheduler that has just beaten."""
    stamp(runtime.store)
    heartbeat = Heartbeat(runtime.store, clock, {**config, "scheduler": {**config["scheduler"], "node_name": "s1"}})
    heartbeat.beat()
    return heartbeat


# -- /healthz --------------------------------------------------------------------------------------------------
def test_healthz_is_200_with_every_check_named_when_the_node_is_healthy(app: Flask, healthy: Heartbeat) -> None:
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        "migrations": "current",
        "scheduler": {"age_seconds": 0.0, "ok": True, "stale_after_seconds": 300},
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_a_stale_scheduler_heartbeat_makes_healthz_503_naming_it(
    app: Flask, healthy: Heartbeat, clock: FrozenClock
) -> None:
    clock.advance(seconds=300)
    assert app.test_client().get("/healthz").status_code == 200  # at the threshold: still fresh
    clock.advance(seconds=1)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unhealthy"
    assert body["scheduler"] == {"age_seconds": 301.0, "ok": False, "stale_after_seconds": 300}
    assert body["errors"] == ["the newest scheduler heartbeat is older than 300 s"]
    healthy.beat()  # the scheduler beats again
    assert app.test_client().get("/healthz").status_code == 200


def test_no_scheduler_at_all_is_unhealthy_unless_the_check_is_turned_off(
    runtime: Runtime, config: dict, app: Flask
) -> None:
    stamp(runtime.store)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["errors"] == ["no scheduler has written a heartbeat"]
    off = {**config, "scheduler": {**config["scheduler"], "heartbeat_stale_seconds": 0}}
    assert app_with(runtime, off).test_client().get("/healthz").status_code == 200


def test_an_unreachable_database_is_503_with_a_clear_body_not_a_trace(
    app: Flask, runtime: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    dead = Store(UNREACHABLE)
    monkeypatch.setattr(runtime, "store", dead)
    try:
        response = app.test_client().get("/healthz")
    finally:
        dead.dispose()
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unhealthy",
        "database": "error",
        "migrations": None,
        "scheduler": None,
        "errors": ["the database is unreachable or failing (OperationalError)"],
    }
    assert "127.0.0.1:9" not in response.get_data(as_text=True)  # the driver's message stays in the server log
    assert any("healthz: the database is unreachable" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("revision", "state", "code"),
    [("0005", "behind", 503), ("f00dfeed", "ahead", 200)],
)
def test_the_schema_revision_is_compared_with_the_codes_head(
    app: Flask, healthy: Heartbeat, revision: str, state: str, code: int
) -> None:
    set_revision(healthy.store, revision)
    response = app.test_client().get("/healthz")
    assert (response.status_code, response.get_json()["migrations"]) == (code, state)


def test_a_schema_without_an_alembic_revision_is_reported_unversioned(app: Flask, runtime: Runtime) -> None:
    response = app.test_client().get("/healthz")  # the test schema is made by create_all: nothing stamped it
    assert response.status_code == 503
    body = response.get_json()
    assert (body["database"], body["migrations"]) == ("ok", "unversioned")
    assert "jornada init-db" in body["errors"][0]


# -- /metrics: who may scrape ----------------------------------------------------------------------------------
def basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"prometheus:{password}".encode()).decode()}


def test_without_a_token_metrics_answer_the_loopback_address_only(app: Flask) -> None:
    assert app.test_client().get("/metrics").status_code == 200
    response = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 403
    assert "web.metrics_token" in response.get_json()["message"]


def test_with_a_token_metrics_need_it_as_the_basic_auth_password_from_anywhere(runtime: Runtime, config: dict) -> None:
    client = app_with(runtime, config, metrics_token="s3cret-scrape").test_client()
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", environ_base=remote).status_code == 401
    assert client.get("/metrics", environ_base=remote, headers=basic("wrong")).status_code == 401
    assert client.get("/metrics").status_code == 401  # loopback too: the token is the rule once set
    assert client.get("/metrics", environ_base=remote, headers=basic("s3cret-scrape")).status_code == 200


def test_behind_a_proxy_the_forwarded_client_address_is_the_one_judged(runtime: Runtime, config: dict) -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    direct = app_with(runtime, config).test_client()
    assert direct.get("/metrics", headers=forwarded).status_code == 200  # no proxy configured: header ignored
    proxied = app_with(runtime, config, proxy_hops=1).test_client()
    assert proxied.get("/metrics", headers=forwarded).status_code == 403  # the proxy on loopback relays a stranger
    assert proxied.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200


# -- /metrics: what it says ------------------------------------------------------------------------------------
def scrape(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_the_database_gauges_equal_the_rows_at_scrape_time(
    app: Flask, runtime: Runtime, clock: FrozenClock, healthy: Heartbeat
) -> None:
    add_customer(runtime)
    runtime.deploy({"two.bpmn": linear("two", 2), "w.bpmn": WAIT}, actor="d")
    first = runtime.start("two", actor="a", customer_id="C-1")
    runtime.start("two", actor="a", customer_id="C-1")
    runtime.start("wait", actor="a", customer_id="C-1", data={"delay": "PT1H"})
    with runtime.unit() as u:
        u.session.add(Outbox(kind="mail", recipient="a@x", subject="s", body="b", created_at=u.now, attempts=0))
        u.session.add(Outbox(kind="mail", recipient="b@x", subject="s", body="b", created_at=u.now, attempts=5))
    client = app.test_client()
    samples = scrape(client)
    assert value(samples, "jornada_database_up") == 1
    assert value(samples, "jornada_open_tasks") == 2
    assert value(samples, "jornada_due_timers") == 0
    assert value(samples, "jornada_open_alerts") == 0
    assert (value(samples, "jornada_outbox_backlog"), value(samples, "jornada_outbox_failed")) == (1, 1)
    assert value(samples, "jornada_scheduler_heartbeat_age_seconds") == 0

    runtime.complete(open_tasks(runtime, first)[0].id, actor="sam", data={"note": "done"})  # its next step opens
    clock.advance(days=1, seconds=1)  # the pause is due; the first steps are behind (warn after P1D)
    samples = scrape(client)
    assert value(samples, "jornada_open_tasks") == 2
    assert value(samples, "jornada_due_timers") == 1
    assert value(samples, "jornada_scheduler_heartbeat_age_seconds") == 86401
    assert runtime.sweep_stuck_steps()
    assert value(scrape(client), "jornada_open_alerts") == 2  # both open steps opened a day ago: both behind


def test_the_counters_count_completions_alerts_raised_and_sandbox_timeouts(
    app: Flask, runtime: Runtime, clock: FrozenClock
) -> None:
    add_customer(runtime)
    runtime.deploy({"two.bpmn": linear("two", 2)}, actor="d")
    iid = runtime.start("two", actor="a", customer_id="C-1")
    client = app.test_client()
    before = scrape(client)
    runtime.complete(open_tasks(runtime, iid)[0].id, actor="sam", data={"note": "done"})
    clock.advance(days=1, seconds=1)
    runtime.sweep_stuck_steps()
    with Sandbox(budget_seconds=0.2) as box, pytest.raises(SandboxError, match="timeout"):
        box.execute("n = 0\nwhile True:\n    n += 1", {}, clock.now())
    after = scrape(client)
    for name in ("jornada_tasks_completed_total", "jornada_alerts_raised_total", "jornada_sandbox_timeouts_total"):
        assert value(after, name) - value(before, name) == 1, name


def test_a_refused_completion_is_not_counted(app: Flask, runtime: Runtime) -> None:
    add_customer(runtime)
    runtime.deploy({"two.bpmn": linear("two", 2)}, actor="d")
    iid = runtime.start("two", actor="a", customer_id="C-1")
    task = open_tasks(runtime, iid)[0].id
    runtime.complete(task, actor="sam", data={"note": "done"})
    client = app.test_client()
    before = value(scrape(client), "jornada_tasks_completed_total")
    with pytest.raises(EngineError):
        runtime.complete(task, actor="sam", data={"note": "again"})  # already completed: refused, rolled back
    assert value(scrape(client), "jornada_tasks_completed_total") == before


def test_request_latency_is_observed_by_route_rule_method_and_status_class(app: Flask) -> None:
    client = app.test_client()
    client.get("/survey/not-a-real-token")
    samples = scrape(client)
    labels = {"route": "/survey/<token>", "method": "GET", "status": "4xx"}
    assert value(samples, "jornada_http_request_duration_seconds_count", **labels) >= 1
    assert not any("not-a-real-token" in str(key) for key in samples)


def test_an_unreadable_database_turns_database_up_to_0_and_the_scrape_still_answers(
    app: Flask, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = Store(UNREACHABLE)
    monkeypatch.setattr(runtime, "store", dead)
    try:
        samples = scrape(app.test_client())
    finally:
        dead.dispose()
    assert value(samples, "jornada_database_up") == 0
    assert ("jornada_open_tasks", ()) not in samples


# -- the request log line --------------------------------------------------------------------------------------
@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture) -> Callable[[], list[Any]]:
    """The fields of the request lines logged so far in the test."""
    caplog.set_level(logging.INFO, logger="jornada.request")
    return lambda: [r for r in caplog.get_records("call") if r.name == "jornada.request"]


def test_each_request_logs_one_structured_line_without_query_string_or_credentials(
    app: Flask, lines: Callable[[], list[Any]]
) -> None:
    response = app.test_client().get(
        "/survey/SECRET-TOKEN-123?answer=9&email=ann@example.com", headers={"X-Request-ID": "edge-42"}
    )
    assert response.headers["X-Request-ID"] == "edge-42"
    [record] = lines()
    fields = record.fields  # type: ignore[attr-defined]
    assert set(fields) == {"method", "path", "route", "status", "ms", "user", "request_id"}
    assert fields["method"] == "GET"
    assert fields["path"] == "/survey/<token>"
    assert fields["route"] == "/survey/<token>"
    assert fields["status"] == response.status_code
    assert isinstance(fields["ms"], float)
    assert (fields["user"], fields["request_id"]) == (None, "edge-42")
    for line in (LogfmtFormatter().format(record), JsonFormatter().format(record)):
        assert "SECRET-TOKEN-123" not in line
        assert "ann@example.com" not in line and "answer=" not in line
    as_json = json.loads(JsonFormatter().format(record))
    assert as_json["logger"] == "jornada.request" and as_json["path"] == "/survey/<token>"


def test_the_line_names_the_signed_in_user_by_id_and_a_bad_request_id_is_replaced(
    client_for: Any, people: dict[str, int], lines: Callable[[], list[Any]]
) -> None:
    client = client_for("sam")
    response = client.get("/inbox/", headers={"X-Request-ID": "bad id with spaces"})
    fields = lines()[-1].fields
    assert fields["user"] == people["sam"]
    assert fields["request_id"] == response.headers["X-Request-ID"] != "bad id with spaces"
    assert len(fields["request_id"]) == 32


def test_a_path_no_route_matches_is_cut_to_its_first_segment(app: Flask, lines: Callable[[], list[Any]]) -> None:
    app.test_client().get("/survey/SECRET-TOKEN-123/typo")
    fields = lines()[-1].fields
    assert (fields["path"], fields["route"], fields["status"]) == ("/survey/…", "<unmatched>", 404)


def test_the_due_timer_gauge_counts_only_timers_due_now(app: Flask, runtime: Runtime, clock: FrozenClock) -> None:
    add_customer(runtime)
    runtime.deploy({"w.bpmn": WAIT}, actor="d")
    runtime.start("wait", actor="a", customer_id="C-1", data={"delay": "PT1H"})
    client = app.test_client()
    clock.advance(minutes=59)
    assert value(scrape(client), "jornada_due_timers") == 0
    clock.advance(minutes=1)
    assert value(scrape(client), "jornada_due_timers") == 1
    runtime.fire_due_timers()
    assert value(scrape(client), "jornada_due_timers") == 0


def test_the_scheduler_gauge_is_absent_until_a_scheduler_beats(app: Flask) -> None:
    samples = scrape(app.test_client())
    assert ("jornada_scheduler_heartbeat_age_seconds", ()) not in samples
    assert value(samples, "jornada_database_up") == 1


def test_serve_replaces_gunicorns_access_log_and_clears_other_processes_metrics_files(
    config: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from web.ops import gunicorn_options

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for name in ("counter_1.db", "histogram_2.db", f"counter_{os.getpid()}.db"):
        (tmp_path / name).write_bytes(b"")
    options = gunicorn_options(config)
    assert options["accesslog"] is None  # gunicorn's line carries the query string; ours does not
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    chatty = {name: logging.getLogger(name).level for name in CHATTY}
    try:
        options["on_starting"](None)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, old_level in chatty.items():
            logging.getLogger(name).setLevel(old_level)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"counter_{os.getpid()}.db"]
