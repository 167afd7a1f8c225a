"""POST /api/v1/events: one event or a batch, stored all or nothing, delivered to waiting instances, playbooks
started from the rules; every field checked, errors naming the event's index and field; answers match the
OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from engine import Runtime
from engine.models import AuditEvent
from processes.customers import create_customer
from processes.events import PlaybookRun, ProductEvent
from tests.web.helpers import PREFIX, Api
from web.accounts import users

RULES = [{"name": "first_use_tips", "on_event": "first_use", "process": "feature_tips"}]


@pytest.fixture
def config(config: dict) -> dict:
    config["playbooks"] = {"cooldown_days": 30, "rules": RULES}
    return config


@pytest.fixture
def api(app: Flask, runtime: Runtime, people: dict[str, int], deployed: None) -> Callable[[str | None], Api]:
    """api("sam") -> a client with sam's token that checks each answer against the OpenAPI document."""
    doc = app.test_client().get(PREFIX + "/openapi.json").get_json()
    tokens = {name: users.create_token(runtime, uid, "tests", actor="root") for name, uid in people.items()}
    with runtime.unit() as u:
        create_customer(u.session, "C-1", "Acme", now=u.now, email="cs@acme.example")
    return lambda name: Api(app.test_client(), tokens[name] if name else None, doc)


def stored(runtime: Runtime) -> int:
    with runtime.store.session() as s:
        return int(s.execute(select(func.count()).select_from(ProductEvent)).scalar_one())


def batch(n: int) -> dict[str, Any]:
    return {"events": [{"customer_id": "C-1", "name": "report_viewed", "properties": {"n": i}} for i in range(n)]}


def test_one_event_is_stored_and_starts_the_configured_playbook(api: Any, runtime: Runtime) -> None:
    body = api("sam").post("/events", {"customer_id": "C-1", "name": "first_use", "properties": {"feature": "x"}}, 201)
    assert body["stored"] == 1 and body["delivered"] == [] and len(body["playbooks_started"]) == 1
    again = api("sam").post("/events", {"customer_id": "C-1", "name": "first_use"}, 201)
    assert again["playbooks_started"] == []  # within the cooldown
    assert stored(runtime) == 2


def test_an_event_reaches_the_instance_waiting_for_it(api: Any, runtime: Runtime) -> None:
    iid = runtime.start("welcome", actor="test", customer_id="C-1")
    [task] = api("sam").get(f"/tasks?view=group&instance={iid}")["tasks"]
    form = {"kickoff_date": "2026-01-05", "attendees": 3, "goals_summary": "Go live"}
    api("sam").post(f"/tasks/{task['id']}/complete", {"data": form})
    body = api("lea").post(
        "/events",
        {"events": [{"customer_id": "C-1", "name": "login"}, {"customer_id": "C-1", "name": "first_use"}]},
        201,
    )
    assert body["stored"] == 2
    assert body["delivered"] == [{"index": 1, "instances": [iid]}] and body["playbooks_started"] == []


def test_a_batch_of_100_is_stored_in_one_go(api: Any, runtime: Runtime) -> None:
    body = api("root").post("/events", batch(100), 201)
    assert body == {"stored": 100, "delivered": [], "playbooks_started": []}
    assert stored(runtime) == 100
    with runtime.store.session() as s:  # the batch is audited once, in its transaction
        [(actor, payload)] = s.execute(
            select(AuditEvent.actor, AuditEvent.payload).where(AuditEvent.action == "events_received")
        ).all()
    assert actor == "root" and json.loads(payload)["count"] == 100


def test_one_bad_event_in_a_batch_stores_nothing_and_names_its_index_and_field(api: Any, runtime: Runtime) -> None:
    events = batch(5)["events"]
    events[3]["customer_id"] = "NOPE"
    events[4]["properties"] = ["not", "an", "object"]
    events[1]["at"] = "yesterday"
    events[2]["colour"] = "red"
    body = api("sam").post("/events", {"events": events}, 422)
    assert body["fields"] == {
        "events[1].at": "must be an ISO 8601 date (YYYY-MM-DD) or date-time",
        "events[2].colour": "is not a known field",
        "events[4].properties": "must be a JSON object, not an array",
    }
    events[1]["at"], events[4]["properties"] = "2026-01-02T10:00:00Z", {}
    del events[2]["colour"]
    body = api("sam").post("/events", {"events": events}, 422)
    assert body["fields"] == {"events[3].customer_id": "customer 'NOPE' does not exist"}
    assert stored(runtime) == 0
    with runtime.store.session() as s:
        assert s.execute(select(func.count()).select_from(PlaybookRun)).scalar_one() == 0


def test_single_event_errors_name_the_field(api: Any, runtime: Runtime) -> None:
    body = api("sam").post("/events", {"customer_id": "NOPE", "name": "x"}, 422)
    assert body["fields"] == {"customer_id": "customer 'NOPE' does not exist"}
    body = api("sam").post("/events", {"name": "bad name!", "properties": 3, "at": "2999-01-01"}, 422)
    assert set(body["fields"]) == {"customer_id", "name", "properties", "at"}
    assert body["fields"]["at"] == "must not be in the future"
    assert stored(runtime) == 0


def test_a_batch_too_big_empty_or_mixed_is_refused(api: Any, runtime: Runtime) -> None:
    assert api("sam").post("/events", batch(1001), 422)["fields"] == {
        "events": "must hold at most 1000 items, not 1001"
    }
    assert "events" in api("sam").post("/events", {"events": []}, 422)["fields"]
    assert "events" in api("sam").post("/events", {"events": {"a": 1}}, 422)["fields"]
    assert "name" in api("sam").post("/events", {**batch(1), "name": "x"}, 422)["fields"]
    assert api("sam").post("/events", {"events": [1]}, 422)["fields"] == {
        "events[0]": "must be a JSON object, not a number"
    }
    assert api("sam").post("/events", data="[1]", status=400, content_type="application/json")["error"]
    assert stored(runtime) == 0


def test_only_task_workers_may_post_events(api: Any, runtime: Runtime) -> None:
    assert api(None).post("/events", batch(1), 401)["error"] == "Unauthorized"
    api("ada").post("/events", batch(1), 403)
    api("dan").post("/events", batch(1), 403)
    assert stored(runtime) == 0


def test_events_of_a_purged_customer_are_refused(api: Any, runtime: Runtime) -> None:
    with runtime.unit() as u:
        create_customer(u.session, "P-1", "Purged", now=u.now).purged_at = u.now
    body = api("sam").post("/events", {"customer_id": "P-1", "name": "login"}, 422)
    assert body["fields"] == {"customer_id": "customer 'P-1' was purged"}
