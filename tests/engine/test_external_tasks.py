"""External tasks at the engine's level (engine/_external.py): a topic with no in-process handler waits for a worker
that fetches and locks it, completes it, reports failures or throws a BPMN error; the clock is injected."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import FrozenClock, Runtime
from engine._errors import ConflictError, DeployError, FormValidationError, NotFound
from engine._external import BadExternalTaskRequest, TopicRequest
from engine.models import AuditEvent, ExternalTask, HumanTask
from tests.engine.helpers import enrich_model

ENRICH = TopicRequest("crm.enrich", lock_duration_ms=60_000)


@pytest.fixture
def started(runtime: Runtime) -> str:
    [deployed] = runtime.deploy({"enrich.bpmn": enrich_model()}, actor="designer")
    [warning] = deployed.warnings
    assert warning.element_id == "enrich"
    assert warning.message.startswith("handler topic 'crm.enrich' has no in-process handler: it runs as an external")
    return runtime.start("crm_enrich", actor="csm", customer_id="C-1", data={"plan": "gold"})


def status(runtime: Runtime, instance_id: str) -> tuple[str, str | None]:
    view = runtime.instance_view(instance_id)
    return view.instance.status, view.instance.incident


def open_tasks(runtime: Runtime, instance_id: str) -> dict[str, HumanTask]:
    with runtime.store.session() as s:
        rows = s.execute(select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.state == "ready"))
        return {row.element_id: row for row in rows.scalars()}


def actions(runtime: Runtime) -> list[str]:
    with runtime.store.session() as s:
        return list(s.execute(select(AuditEvent.action).order_by(AuditEvent.seq)).scalars())


def test_a_topic_with_no_handler_waits_for_a_worker_with_its_row(runtime: Runtime, started: str) -> None:
    assert status(runtime, started) == ("waiting", None)
    [row] = runtime.external.waiting(topic="crm.enrich")
    assert (row.instance_id, row.element_id, row.process_id, row.customer_id) == (
        started,
        "enrich",
        "crm_enrich",
        "C-1",
    )
    assert (row.worker_id, row.lock_expires_at, row.retries) == (None, None, None)
    assert runtime.external.waiting(topic="other") == []


def test_fetch_lock_expiry_refetch_by_another_worker_and_complete(
    runtime: Runtime, clock: FrozenClock, started: str
) -> None:
    [locked] = runtime.external.fetch_and_lock("w1", [ENRICH], max_tasks=5, actor="worker")
    assert locked.worker_id == "w1" and locked.lock_expires_at == clock.now() + timedelta(minutes=1)
    assert locked.variables is not None and locked.variables["plan"] == "gold"
    assert runtime.external.fetch_and_lock("w2", [ENRICH], max_tasks=5, actor="worker") == []  # w1 holds it

    clock.advance(timedelta(seconds=61))  # w1's lock expired: w2 may take it
    [again] = runtime.external.fetch_and_lock(
        "w2", [TopicRequest("crm.enrich", 30_000, variables=["plan"])], max_tasks=5, actor="worker"
    )
    assert (again.id, again.worker_id, again.variables) == (locked.id, "w2", {"plan": "gold"})
    with pytest.raises(ConflictError, match="locked by worker 'w2', not 'w1'"):
        runtime.external.complete(locked.id, "w1", {"score": 1}, actor="worker")

    assert runtime.external.complete(locked.id, "w2", {"score": 87}, actor="worker") == "running"  # review ready
    review = open_tasks(runtime, started)["review"]
    assert runtime.task_view(review.id).data["score"] == 87  # the process went on with the worker's variables
    assert runtime.external.waiting() == []
    with pytest.raises(NotFound):
        runtime.external.complete(locked.id, "w2", {}, actor="worker")
    assert [a for a in actions(runtime) if a.startswith("external_task")] == [
        "external_task_locked",
        "external_task_locked",
        "external_task_completed",
    ]


def test_failures_count_retries_down_to_an_incident_that_retry_reopens(
    runtime: Runtime, clock: FrozenClock, started: str
) -> None:
    [task] = runtime.external.fetch_and_lock("w1", [ENRICH], max_tasks=1, actor="worker")
    assert (
        runtime.external.failure(task.id, "w1", "CRM down", retries=1, retry_timeout_ms=5_000, actor="w") == "waiting"
    )
    [row] = runtime.external.waiting()
    assert (row.worker_id, row.retries, row.error_message) == (None, 1, "CRM down")
    assert runtime.external.fetch_and_lock("w1", [ENRICH], max_tasks=1, actor="worker") == []  # retry timeout
    clock.advance(timedelta(seconds=5))
    [task] = runtime.external.fetch_and_lock("w1", [ENRICH], max_tasks=1, actor="worker")

    assert runtime.external.failure(task.id, "w1", "CRM still down", retries=0, retry_timeout_ms=0, actor="w") == (
        "incident"
    )
    state, incident = status(runtime, started)
    assert state == "incident"
    assert incident is not None and "topic 'crm.enrich'" in incident and "CRM still down" in incident
    assert runtime.external.waiting() == []  # nothing to fetch while the incident stands

    assert runtime.retry(started, actor="lead", reason="CRM is back") == "waiting"
    [fresh] = runtime.external.waiting()
    assert (fresh.retries, fresh.error_message, fresh.worker_id) == (None, None, None)
    [task] = runtime.external.fetch_and_lock("w1", [ENRICH], max_tasks=1, actor="worker")
    assert runtime.external.complete(task.id, "w1", {}, actor="worker") == "running"
    assert "external_task_failed" in actions(runtime)


def test_a_bpmn_error_is_caught_by_the_boundary_error_event(runtime: Runtime, started: str) -> None:
    [task] = runtime.external.fetch_and_lock("w1", [ENRICH], max_tasks=1, actor="worker")
    status_after = runtime.external.bpmn_error(
        task.id, "w1", "NOT_FOUND", error_message="no such account", variables={"crm_error": "404"}, actor="worker"
    )
    assert status_after == "running"
    tasks = open_tasks(runtime, started)
    assert list(tasks) == ["fix"]
    assert runtime.task_view(tasks["fix"].id).data["crm_error"] == "404"
    assert runtime.external.waiting() == []
    with runtime.store.session() as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "external_task_error_thrown")).scalar_one()
    assert json.loads(event.payload)["code"] == "NOT_FOUND"


def test_a_bpmn_error_no_boundary_event_catches_is_an_incident(runtime: Runtime, started: str) -> None:
    [task] = runtime.external.fetch_and_lock("w1", [ENRICH], max_tasks=1, actor="worker")
    assert runtime.external.bpmn_error(task.id, "w1", "OTHER", actor="worker") == "incident"
    incident = status(runtime, started)[1]
    assert (
        incident is not None and "BPMN error 'OTHER'" in incident and "no boundary error event catches it" in incident
    )


def test_lock_rules(runtime: Runtime, clock: FrozenClock, started: str) -> None:
    [row] = runtime.external.waiting()
    with pytest.raises(ConflictError, match="is not locked: fetch and lock it first"):
        runtime.external.complete(row.id, "w1", {}, actor="worker")
    [task] = runtime.external.fetch_and_lock("w1", [ENRICH], max_tasks=1, actor="worker")
    until = runtime.external.extend_lock(task.id, "w1", 120_000, actor="worker")
    assert until == clock.now() + timedelta(minutes=2)
    with pytest.raises(ConflictError, match="locked by worker 'w1', not 'w2'"):
        runtime.external.extend_lock(task.id, "w2", 1_000, actor="worker")
    clock.advance(timedelta(minutes=3))
    with pytest.raises(ConflictError, match="has expired"):
        runtime.external.extend_lock(task.id, "w1", 1_000, actor="worker")
    runtime.external.unlock(task.id, actor="lead")
    assert runtime.external.waiting()[0].worker_id is None
    with pytest.raises(BadExternalTaskRequest, match="retries must be 0 or more"):
        runtime.external.failure(task.id, "w1", "x", retries=-1, retry_timeout_ms=0, actor="w")
    with runtime.store.session() as s:
        locked_again = s.execute(select(ExternalTask.worker_id)).scalar_one()
    assert locked_again is None  # the refused failure changed nothing
    assert {"external_task_lock_extended", "external_task_unlocked"} <= set(actions(runtime))


def test_a_zeebe_job_type_is_the_topic(runtime: Runtime) -> None:
    zeebe = (
        '<bpmn:extensionElements><zeebe:taskDefinition xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
        'type="crm.enrich" retries="3"/></bpmn:extensionElements>'
    )
    data = enrich_model("").replace(
        b'name="Enrich from CRM" />', f'name="Enrich from CRM">{zeebe}</bpmn:serviceTask>'.encode()
    )
    runtime.deploy({"enrich.bpmn": data}, actor="designer")
    runtime.start("crm_enrich", actor="csm", customer_id="C-1")
    [task] = runtime.external.fetch_and_lock("w1", [ENRICH], max_tasks=1, actor="worker")
    assert task.element_id == "enrich"


def test_a_service_task_with_no_implementation_is_refused_saying_what_to_add(runtime: Runtime) -> None:
    with pytest.raises(DeployError) as caught:
        runtime.deploy({"enrich.bpmn": enrich_model("")}, actor="designer")
    [problem] = caught.value.problems
    assert problem.element_id == "enrich"
    assert problem.message == "service task has no handler: set Implementation 'External' and a topic"


def test_a_registered_topic_still_runs_in_process(runtime: Runtime) -> None:
    topic = next(iter(runtime.handlers))
    assert topic in runtime.handlers
    data = enrich_model(f'camunda:type="external" camunda:topic="{topic}"')
    [deployed] = runtime.deploy({"enrich.bpmn": data}, actor="designer")
    assert not [w for w in deployed.warnings if "external task" in w.message]


def test_a_cancelled_instance_leaves_nothing_to_fetch(runtime: Runtime, started: str) -> None:
    [task] = runtime.external.fetch_and_lock("w1", [ENRICH], max_tasks=1, actor="worker")
    runtime.cancel(started, actor="lead", reason="customer left")
    assert runtime.external.waiting() == []
    with pytest.raises(NotFound, match="no longer waiting for a worker"):
        runtime.external.complete(task.id, "w1", {}, actor="worker")


def test_variables_beyond_what_task_data_holds_are_refused_and_nothing_changes(runtime: Runtime, started: str) -> None:
    [task] = runtime.external.fetch_and_lock("w1", [ENRICH], max_tasks=1, actor="worker")
    with pytest.raises(FormValidationError, match="notes: is longer than 20000 characters"):
        runtime.external.complete(task.id, "w1", {"notes": "x" * 20_001}, actor="worker")
    assert status(runtime, started) == ("waiting", None)
    assert [row.worker_id for row in runtime.external.waiting()] == ["w1"]
    assert "external_task_completed" not in actions(runtime)
