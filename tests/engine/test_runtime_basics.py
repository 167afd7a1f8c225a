from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine import ConflictError, FormValidationError, InstanceStatus, InvalidState, PermissionDenied, Runtime
from engine.models import AuditEvent, TaskKpi
from tests.bpmn_builder import flow, linear, process, user_task
from tests.engine.helpers import instance, open_tasks

FIELDS = (
    '<camunda:formField id="amount" label="Amount" type="long">'
    '<camunda:validation><camunda:constraint name="required"/><camunda:constraint name="min" config="0"/>'
    "</camunda:validation></camunda:formField>"
)

GATEWAY = process(
    "approve",
    '<bpmn:startEvent id="start"/>'
    + user_task("enter", "Enter amount", "finance", FIELDS)
    + '<bpmn:exclusiveGateway id="gw" default="f_small"/>'
    + user_task("review", "Review big amount", "cs_lead")
    + '<bpmn:endEvent id="end_small"/><bpmn:endEvent id="end_big"/>'
    + flow("f1", "start", "enter")
    + flow("f2", "enter", "gw")
    + flow("f_big", "gw", "review", "amount &gt; 100")
    + flow("f_small", "gw", "end_small")
    + flow("f3", "review", "end_big"),
)


def test_a_started_instance_shows_its_first_human_task_in_the_inbox(runtime: Runtime) -> None:
    runtime.deploy({"approve.bpmn": GATEWAY}, actor="designer")
    iid = runtime.start("approve", actor="alice", customer_id="C-1")
    [task] = open_tasks(runtime, iid)
    assert (task.element_id, task.name, task.candidate_groups, task.state) == (
        "enter",
        "Enter amount",
        "finance",
        "ready",
    )
    assert task.due_at is not None and task.warn_at < task.due_at < task.stuck_at


def test_launch_answers_the_status_the_instance_was_saved_with(runtime: Runtime) -> None:
    empty = process("empty", '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>' + flow("f", "s", "e"))
    runtime.deploy({"approve.bpmn": GATEWAY, "empty.bpmn": empty}, actor="designer")
    waiting = runtime.launch("approve", actor="alice", customer_id="C-1")
    done = runtime.launch("empty", actor="alice", customer_id="C-1")
    assert (waiting.status, done.status) == (InstanceStatus.RUNNING, InstanceStatus.COMPLETED)
    assert [instance(runtime, started.id).status for started in (waiting, done)] == [waiting.status, done.status]


def test_completing_with_a_big_amount_takes_the_conditional_branch(runtime: Runtime) -> None:
    runtime.deploy({"approve.bpmn": GATEWAY}, actor="designer")
    iid = runtime.start("approve", actor="alice", customer_id="C-1")
    [task] = open_tasks(runtime, iid)
    assert runtime.complete(task.id, actor="fin", data={"amount": "500"}) == "running"
    [review] = open_tasks(runtime, iid)
    assert review.element_id == "review"
    runtime.complete(review.id, actor="lead")
    assert instance(runtime, iid).status == "completed"


def test_completing_with_a_small_amount_takes_the_default_branch_and_ends(runtime: Runtime) -> None:
    runtime.deploy({"approve.bpmn": GATEWAY}, actor="designer")
    iid = runtime.start("approve", actor="alice", customer_id="C-1")
    [task] = open_tasks(runtime, iid)
    assert runtime.complete(task.id, actor="fin", data={"amount": 5}) == "completed"
    assert open_tasks(runtime, iid) == []


def test_invalid_form_data_is_refused_with_the_field_named_and_nothing_changes(runtime: Runtime) -> None:
    runtime.deploy({"approve.bpmn": GATEWAY}, actor="designer")
    iid = runtime.start("approve", actor="alice", customer_id="C-1")
    [task] = open_tasks(runtime, iid)
    with runtime.store.session() as s:
        audit_before = s.execute(select(AuditEvent.seq)).scalars().all()
    with pytest.raises(FormValidationError) as caught:
        runtime.complete(task.id, actor="fin", data={"amount": "-3", "bogus": 1})
    assert {e.field for e in caught.value.errors} == {"amount", "bogus"}
    assert "amount: must be at least 0" in str(caught.value)
    [still] = open_tasks(runtime, iid)
    assert still.state == "ready"
    with runtime.store.session() as s:
        assert s.execute(select(AuditEvent.seq)).scalars().all() == audit_before


def test_a_completed_task_cannot_be_completed_again(runtime: Runtime) -> None:
    runtime.deploy({"l.bpmn": linear("lin", 2)}, actor="designer")
    iid = runtime.start("lin", actor="alice", customer_id="C-1")
    [task] = open_tasks(runtime, iid)
    runtime.complete(task.id, actor="bob")
    with pytest.raises(ConflictError, match="already completed by bob"):
        runtime.complete(task.id, actor="carol")


def test_the_group_check_lets_in_members_of_any_candidate_group_and_refuses_others(runtime: Runtime) -> None:
    body = '<bpmn:startEvent id="s"/>' + user_task("t", "Two groups", "support,csm") + '<bpmn:endEvent id="e"/>'
    runtime.deploy({"two.bpmn": process("two", body + flow("f1", "s", "t") + flow("f2", "t", "e"))}, actor="d")
    first, second = (runtime.start("two", actor="a", customer_id=f"C-{n}") for n in (1, 2))
    (task,) = open_tasks(runtime, first)
    refusal = f"task {task.id} \\(Two groups\\) belongs to support,csm, not to a group of fin"
    with pytest.raises(PermissionDenied, match=refusal):
        runtime.complete(task.id, actor="fin", groups=["finance"])
    assert [t.state for t in open_tasks(runtime, first)] == ["ready"]
    assert runtime.complete(task.id, actor="cara", groups=["csm"]) == "completed"  # the second group of two
    (other,) = open_tasks(runtime, second)
    runtime.assign(other.id, "fin", actor="lead", groups=None)  # leads pass without a group
    assert runtime.complete(other.id, actor="fin", groups=["finance"]) == "completed"  # the assignee may


def test_claim_then_complete_records_wait_work_and_cycle(runtime: Runtime, clock) -> None:
    runtime.deploy({"l.bpmn": linear("lin", 1)}, actor="designer")
    iid = runtime.start("lin", actor="alice", customer_id="C-1")
    [task] = open_tasks(runtime, iid)
    clock.advance(hours=2)
    runtime.claim(task.id, actor="bob")
    with pytest.raises(ConflictError, match="already claimed by bob"):
        runtime.claim(task.id, actor="carol")
    clock.advance(minutes=30)
    runtime.complete(task.id, actor="bob", data={"note": "done"})
    with runtime.store.session() as s:
        [row] = s.execute(select(TaskKpi)).scalars().all()
    assert (row.wait_seconds, row.work_seconds, row.cycle_seconds) == (7200, 1800, 9000)
    assert row.sla_met is True


def test_cancel_closes_the_open_tasks(runtime: Runtime) -> None:
    runtime.deploy({"l.bpmn": linear("lin", 2)}, actor="designer")
    iid = runtime.start("lin", actor="alice", customer_id="C-1")
    runtime.cancel(iid, actor="lead", reason="customer left")
    assert instance(runtime, iid).status == "cancelled"
    assert open_tasks(runtime, iid) == []
    with pytest.raises(InvalidState):
        runtime.cancel(iid, actor="lead", reason="again")


CALLER = (
    '<bpmn:process id="journey" isExecutable="true"><bpmn:startEvent id="s"/>'
    '<bpmn:callActivity id="call" calledElement="step"/><bpmn:endEvent id="e"/>'
    + flow("c1", "s", "call")
    + flow("c2", "call", "e")
    + "</bpmn:process>"
)


def step_process(name: str) -> str:
    return (
        '<bpmn:process id="step" isExecutable="true"><bpmn:startEvent id="ss"/>'
        + user_task("work", name)
        + '<bpmn:endEvent id="se"/>'
        + flow("s1", "ss", "work")
        + flow("s2", "work", "se")
        + "</bpmn:process>"
    )


def test_a_call_activity_runs_the_latest_version_of_the_called_process_even_from_another_file(
    runtime: Runtime,
) -> None:
    from tests.bpmn_builder import HEADER

    both = (HEADER + CALLER + step_process("Work v1") + "</bpmn:definitions>").encode()
    runtime.deploy({"both.bpmn": both}, actor="designer")
    first = runtime.start("journey", actor="a", customer_id="C-1")
    assert [t.name for t in open_tasks(runtime, first)] == ["Work v1"]
    runtime.deploy({"step.bpmn": (HEADER + step_process("Work v2") + "</bpmn:definitions>").encode()}, actor="d")
    second = runtime.start("journey", actor="a", customer_id="C-2")
    assert [t.name for t in open_tasks(runtime, second)] == ["Work v2"]
    [old] = open_tasks(runtime, first)  # a running instance keeps the version it started with
    assert runtime.complete(old.id, actor="bob") == "completed"


def _drive_to_end(rt: Runtime) -> tuple[str, str]:
    """Start ``approve`` and complete its two tasks; (status after the last completion, final status)."""
    iid = rt.start("approve", actor="alice", customer_id="C-1")
    [task] = open_tasks(rt, iid)
    rt.complete(task.id, actor="fin", data={"amount": "500"})
    [review] = open_tasks(rt, iid)
    return rt.complete(review.id, actor="lead"), instance(rt, iid).status


def test_without_the_live_cache_every_step_rebuilds_the_workflow_from_json_with_the_same_result(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine._specs

    loads: list[str] = []
    real_load = engine._specs.load

    def counting_load(state_json: str, pair: engine._specs.SpecPair) -> object:
        loads.append(state_json)
        return real_load(state_json, pair)

    monkeypatch.setattr(engine._specs, "load", counting_load)
    runtime.deploy({"approve.bpmn": GATEWAY}, actor="designer")
    cached = _drive_to_end(runtime)
    assert loads == []  # the kept workflows served both completions

    uncached_rt = Runtime(
        runtime.store,
        runtime.handlers,
        clock=runtime.clock,
        config=runtime.config,
        sandbox=runtime.sandbox,
        live_cache=False,
    )
    uncached = _drive_to_end(uncached_rt)
    assert uncached == cached == ("completed", "completed")
    assert len(loads) == 2  # one deserialization per completion, nothing kept between them
    assert uncached_rt.live.check_out("any", 0) is None


def test_scrubbing_finished_instances_erases_their_data_keeps_their_path_and_is_audited(runtime: Runtime) -> None:
    runtime.deploy({"approve.bpmn": GATEWAY}, actor="designer")
    iid = runtime.start("approve", actor="alice", customer_id="C-1", data={"secret": "Rua das Flores 12"})
    [task] = open_tasks(runtime, iid)
    runtime.complete(task.id, actor="fin", data={"amount": 5})
    before = json.loads(instance(runtime, iid).state_json)
    still_open = runtime.start("approve", actor="alice", customer_id="C-1", data={"secret": "kept"})

    with runtime.unit() as u:
        runtime.scrub_instances(u, [iid], keep=("customer_id",), actor="dpo")
    with pytest.raises(InvalidState, match="only a finished one is scrubbed"), runtime.unit() as u:
        runtime.scrub_instances(u, [still_open], keep=(), actor="dpo")

    row = instance(runtime, iid)
    after = json.loads(row.state_json)
    assert "Rua das Flores" not in row.state_json and "kept" in instance(runtime, still_open).state_json
    assert {t["state"] for t in after["tasks"].values()} == {t["state"] for t in before["tasks"].values()}
    assert after["tasks"].keys() == before["tasks"].keys()  # the path it took stays
    assert row.status == "completed"
    with runtime.store.session() as s:
        [scrubbed] = s.execute(select(AuditEvent).where(AuditEvent.action == "instance_data_scrubbed")).scalars()
    assert (scrubbed.instance_id, scrubbed.actor, json.loads(scrubbed.payload)) == (
        iid,
        "dpo",
        {"kept": ["customer_id"]},
    )
