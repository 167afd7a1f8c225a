"""A Camunda-style external task driven end to end over HTTP with a worker's bearer token: fetch and lock by topic,
lock expiry and refetch by a second worker, complete with variables, failure with retries down to an incident, and
a BPMN error caught by a boundary event."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine import FrozenClock, Runtime
from engine.models import AuditEvent, HumanTask
from processes.customers import create_customer
from tests.engine.helpers import enrich_model
from web.accounts import users

API = "/api/v1/external-tasks"


@pytest.fixture
def worker(app: Flask, runtime: Runtime, people: dict[str, int]) -> FlaskClient:
    token = users.create_token(runtime, people["sam"], "crm-worker", actor="test")
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


@pytest.fixture
def instance(runtime: Runtime, clock: FrozenClock) -> str:
    with runtime.store.session() as session:
        create_customer(session, "C-1", "Customer C-1", now=clock.now(), accesses=())
        session.commit()
    runtime.deploy({"enrich.bpmn": enrich_model()}, actor="designer")
    return runtime.start("crm_enrich", actor="csm", customer_id="C-1", data={"plan": "gold"})


def fetch(client: FlaskClient, worker_id: str, lock_ms: int = 60_000, **topic: Any) -> list[dict[str, Any]]:
    body = {
        "worker_id": worker_id,
        "max_tasks": 5,
        "topics": [{"topic_name": "crm.enrich", "lock_duration": lock_ms, **topic}],
    }
    r = client.post(f"{API}/fetch-and-lock", json=body)
    assert r.status_code == 200, r.get_json()
    tasks: list[dict[str, Any]] = r.get_json()["tasks"]
    return tasks


def ready(runtime: Runtime, instance_id: str) -> list[str]:
    with runtime.store.session() as s:
        rows = s.execute(select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.state == "ready"))
        return [row.element_id for row in rows.scalars()]


def test_fetch_lock_expiry_refetch_and_complete_with_variables(
    worker: FlaskClient, runtime: Runtime, clock: FrozenClock, instance: str
) -> None:
    listed = worker.get(f"{API}?topic=crm.enrich").get_json()["tasks"]
    assert [(t["instance_id"], t["element_id"], t["worker_id"]) for t in listed] == [(instance, "enrich", None)]

    [task] = fetch(worker, "w1")
    assert task["worker_id"] == "w1" and task["variables"]["plan"] == "gold"
    assert fetch(worker, "w2") == []  # w1 holds the lock
    clock.advance(timedelta(seconds=61))
    [again] = fetch(worker, "w2", variables=["plan"])
    assert (again["id"], again["variables"]) == (task["id"], {"plan": "gold"})

    late = worker.post(f"{API}/{task['id']}/complete", json={"worker_id": "w1", "variables": {"score": 1}})
    assert late.status_code == 409 and "locked by worker 'w2'" in late.get_json()["message"]
    r = worker.post(f"{API}/{task['id']}/complete", json={"worker_id": "w2", "variables": {"score": 87}})
    assert r.status_code == 200 and r.get_json() == {"id": task["id"], "instance_status": "running"}
    [review] = [row for row in ready(runtime, instance)]
    assert review == "review"
    with runtime.store.session() as s:
        row = s.execute(select(HumanTask).where(HumanTask.instance_id == instance)).scalar_one()
    assert runtime.task_view(row.id).data["score"] == 87
    assert worker.get(API).get_json()["tasks"] == []
    with runtime.store.session() as s:
        done = s.execute(select(AuditEvent).where(AuditEvent.action == "external_task_completed")).scalar_one()
    assert done.actor == "sam" and done.instance_id == instance


def test_failure_with_retries_down_to_an_incident(
    worker: FlaskClient, runtime: Runtime, clock: FrozenClock, instance: str
) -> None:
    [task] = fetch(worker, "w1")
    failed = {"worker_id": "w1", "error_message": "CRM down", "retries": 1, "retry_timeout": 10_000}
    r = worker.post(f"{API}/{task['id']}/failure", json=failed)
    assert r.status_code == 200 and r.get_json()["instance_status"] == "waiting"
    assert fetch(worker, "w1") == []  # the retry timeout runs
    clock.advance(timedelta(seconds=10))
    [task] = fetch(worker, "w1")
    assert task["retries"] == 1 and task["error_message"] == "CRM down"
    r = worker.post(f"{API}/{task['id']}/failure", json={**failed, "retries": 0, "error_message": "CRM gone"})
    assert r.get_json()["instance_status"] == "incident"
    incident = runtime.instance_view(instance).instance.incident
    assert incident is not None and "topic 'crm.enrich'" in incident and "CRM gone" in incident


def test_a_bpmn_error_is_caught_by_the_boundary_event(worker: FlaskClient, runtime: Runtime, instance: str) -> None:
    [task] = fetch(worker, "w1")
    thrown = {"worker_id": "w1", "error_code": "NOT_FOUND", "variables": {"crm_error": "no account"}}
    r = worker.post(f"{API}/{task['id']}/bpmn-error", json=thrown)
    assert r.status_code == 200 and r.get_json()["instance_status"] == "running"
    assert ready(runtime, instance) == ["fix"]


def test_lock_extension_unlock_and_refusals(worker: FlaskClient, clock: FrozenClock, instance: str) -> None:
    [task] = fetch(worker, "w1")
    r = worker.post(f"{API}/{task['id']}/extend-lock", json={"worker_id": "w1", "new_duration": 120_000})
    assert r.status_code == 200
    assert r.get_json()["lock_expires_at"] == (clock.now() + timedelta(minutes=2)).isoformat()
    assert (
        worker.post(f"{API}/{task['id']}/extend-lock", json={"worker_id": "w2", "new_duration": 1}).status_code == 409
    )
    assert worker.post(f"{API}/{task['id']}/unlock").status_code == 200
    assert worker.post(f"{API}/999/complete", json={"worker_id": "w1"}).status_code == 404
    bad = worker.post(f"{API}/{task['id']}/failure", json={"worker_id": "w1", "error_message": "x", "retries": -1})
    assert bad.status_code == 422 and "retries" in bad.get_json()["fields"]
    assert [t["worker_id"] for t in fetch(worker, "w2")] == ["w2"]


def test_a_worker_needs_a_token_of_staff_or_above(app: Flask, runtime: Runtime, people: dict[str, int]) -> None:
    designer = users.create_token(runtime, people["dan"], "not-a-worker", actor="test")
    r = app.test_client().post(
        f"{API}/fetch-and-lock",
        json={"worker_id": "w", "max_tasks": 1, "topics": [{"topic_name": "t", "lock_duration": 1}]},
        headers={"Authorization": f"Bearer {designer}"},
    )
    assert r.status_code == 403
    assert app.test_client().post(f"{API}/fetch-and-lock", json={}).status_code == 401
