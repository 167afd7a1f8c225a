"""Moving running instances from one deployed version of a process to another (engine/_versions.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import FrozenClock, NotFound, Runtime, Store
from engine._sandbox import Sandbox
from engine._versions import InvalidMigration
from engine.models import HumanTaskGroup, OpenTaskGroup, ProcessInstance, Timer
from processes import build_registry
from tests.bpmn_builder import flow, linear, process, user_task
from tests.engine.helpers import complete, events, instance, open_task, scored, snapshot, tasks, without


def timed(process_id: str, duration: str, after: str = "") -> bytes:
    """start -> call (with a non-interrupting reminder after ``duration``) [-> after] -> end."""
    body = (
        '<bpmn:startEvent id="start"/>'
        + user_task("call", "Call customer")
        + '<bpmn:boundaryEvent id="remind" attachedToRef="call" cancelActivity="false">'
        f'<bpmn:timerEventDefinition><bpmn:timeDuration>"{duration}"</bpmn:timeDuration></bpmn:timerEventDefinition>'
        "</bpmn:boundaryEvent>"
        + '<bpmn:endEvent id="reminded_end"/><bpmn:endEvent id="end"/>'
        + flow("f1", "start", "call")
        + flow("f3", "remind", "reminded_end")
    )
    if after:
        body += user_task(after, "Follow up") + flow("f2", "call", after) + flow("f4", after, "end")
    else:
        body += flow("f2", "call", "end")
    return process(process_id, body)


def child(step: str = "inner") -> bytes:
    return process(
        "child",
        '<bpmn:startEvent id="c_start"/>'
        + user_task(step, "Inner step")
        + '<bpmn:endEvent id="c_end"/>'
        + flow("c1", "c_start", step)
        + flow("c2", step, "c_end"),
    )


def parent(extra: bool) -> bytes:
    body = (
        '<bpmn:startEvent id="start"/>'
        + user_task("first", "First")
        + '<bpmn:callActivity id="call" name="Run child" calledElement="child"/>'
        + '<bpmn:endEvent id="end"/>'
        + flow("f1", "start", "first")
        + flow("f2", "first", "call")
    )
    if extra:
        body += user_task("wrap_up", "Wrap up") + flow("f3", "call", "wrap_up") + flow("f4", "wrap_up", "end")
    else:
        body += flow("f3", "call", "end")
    return process("parent", body)


def definition_version(runtime: Runtime, iid: str) -> int:
    from engine.models import ProcessDefinition

    with runtime.store.session() as s:
        row = s.get(ProcessInstance, iid)
        assert row is not None
        definition = s.get(ProcessDefinition, row.definition_id)
        assert definition is not None
        return definition.version


@pytest.fixture
def journeys(runtime: Runtime) -> dict[str, str]:
    """Version 1 (t1, t2) with instances at t1, at t2, completed and cancelled; then version 2 adds t3 after t2
    and version 3 drops t2."""
    runtime.deploy({"p.bpmn": linear("p", 2)}, actor="designer")
    found = {name: runtime.start("p", actor="sam", customer_id="C-1") for name in ("at_t1", "at_t2", "done", "gone")}
    for name in ("at_t2", "done"):
        complete(runtime, found[name], "t1")
    complete(runtime, found["done"], "t2")
    runtime.cancel(found["gone"], actor="lea", reason="duplicate")
    found["also_at_t2"] = runtime.start("p", actor="sam", customer_id="C-2")
    complete(runtime, found["also_at_t2"], "t1")
    assert [d.version for d in runtime.deploy({"p.bpmn": linear("p", 3)}, actor="designer")] == [2]
    assert [d.version for d in runtime.deploy({"p.bpmn": without("p", "t1", "t3")}, actor="designer")] == [3]
    return found


# -- preview -------------------------------------------------------------------------------------------------
def test_the_preview_lists_open_instances_with_whether_they_can_move_and_why_not(
    runtime: Runtime, journeys: dict[str, str]
) -> None:
    to_v2 = runtime.migration_preview("p", 1, 2)
    listed = {c.instance_id: c for c in to_v2.candidates}
    assert set(listed) == {journeys["at_t1"], journeys["at_t2"], journeys["also_at_t2"]}  # not done nor gone
    assert all(c.movable for c in to_v2.candidates) and to_v2.total == 3
    assert [(s.element_id, s.name, s.state) for s in listed[journeys["at_t2"]].steps] == [("t2", "Step 2", "READY")]

    to_v3 = {c.instance_id: c for c in runtime.migration_preview("p", 1, 3).candidates}
    assert to_v3[journeys["at_t1"]].reasons == []
    assert to_v3[journeys["at_t2"]].reasons == ["it is ready at 'Step 2' (t2), which version 3 does not have"]


def test_the_preview_names_a_step_already_passed_that_the_target_no_longer_has(
    runtime: Runtime, journeys: dict[str, str]
) -> None:
    runtime.migrate_instances("p", 1, 2, [journeys["at_t2"]], actor="lea")
    complete(runtime, journeys["at_t2"], "t2")  # now at t3, having passed t2
    [candidate] = runtime.migration_preview("p", 2, 3).candidates
    assert candidate.reasons == ["it already passed 'Step 2' (t2), which version 3 no longer has"]


def test_the_preview_changes_nothing(runtime: Runtime, journeys: dict[str, str]) -> None:
    before = snapshot(runtime, journeys["at_t1"])
    runtime.migration_preview("p", 1, 2)
    assert snapshot(runtime, journeys["at_t1"]) == before


# -- migrate -------------------------------------------------------------------------------------------------
def test_migrated_instances_run_the_new_version_and_the_others_keep_the_old_one(
    runtime: Runtime, journeys: dict[str, str]
) -> None:
    at_t1, at_t2, stays = journeys["at_t1"], journeys["at_t2"], journeys["also_at_t2"]
    open_before = open_task(runtime, at_t2, "t2").id
    outcome = runtime.migrate_instances("p", 1, 2, [at_t1, at_t2], actor="lea")
    assert (outcome.moved, outcome.refused) == ([at_t1, at_t2], {})
    assert (definition_version(runtime, at_t1), definition_version(runtime, stays)) == (2, 1)
    assert open_task(runtime, at_t2, "t2").id == open_before  # the open task keeps its inbox row

    assert complete(runtime, at_t2, "t2") == "running"  # version 2's new step t3 comes after t2
    assert complete(runtime, at_t2, "t3") == "completed"
    assert [e for e, _, _ in tasks(runtime, at_t2)] == ["t1", "t2", "t3"]
    assert complete(runtime, stays, "t2") == "completed"  # not moved: version 1 ends after t2
    assert [e for e, _, _ in tasks(runtime, stays)] == ["t1", "t2"]


def test_a_migrated_instance_reloaded_from_its_saved_state_runs_the_new_version(
    runtime: Runtime, journeys: dict[str, str], store: Store, clock: FrozenClock, config: dict, sandbox: Sandbox
) -> None:
    runtime.migrate_instances("p", 1, 2, [journeys["at_t1"]], actor="lea")
    restarted = Runtime(store, build_registry(), clock=clock, config=config, sandbox=sandbox)  # empty caches
    try:
        for element in ("t1", "t2"):
            assert complete(restarted, journeys["at_t1"], element) == "running"
        assert complete(restarted, journeys["at_t1"], "t3") == "completed"
    finally:
        restarted.store = Store(store.url)  # close() disposes the store: leave the fixture's one open
        restarted.close()


def test_each_moved_instance_has_an_audit_entry_with_the_versions(runtime: Runtime, journeys: dict[str, str]) -> None:
    runtime.migrate_instances("p", 1, 2, [journeys["at_t2"]], actor="lea")
    [(actor, payload)] = events(runtime, journeys["at_t2"], "instance_migrated")
    assert actor == "lea"
    assert (payload["before"]["version"], payload["after"]["version"], payload["steps"]) == (1, 2, ["t2"])
    assert events(runtime, journeys["at_t1"], "instance_migrated") == []


def test_an_instance_that_cannot_move_is_refused_with_its_reason_and_left_unchanged(
    runtime: Runtime, journeys: dict[str, str]
) -> None:
    at_t1, at_t2 = journeys["at_t1"], journeys["at_t2"]
    before = snapshot(runtime, at_t2)
    outcome = runtime.migrate_instances("p", 1, 3, [at_t2, at_t1], actor="lea")
    assert outcome.moved == [at_t1]
    assert outcome.refused == {at_t2: ["it is ready at 'Step 2' (t2), which version 3 does not have"]}
    after = snapshot(runtime, at_t2)
    assert after[:4] == before[:4] and after[5:] == before[5:]  # only the other instance's audit entry was added
    assert after[4] == before[4] + 1
    assert complete(runtime, at_t2, "t2") == "completed"  # still on version 1


def test_an_instance_no_longer_on_the_source_version_is_refused(runtime: Runtime, journeys: dict[str, str]) -> None:
    runtime.migrate_instances("p", 1, 2, [journeys["at_t1"]], actor="lea")
    outcome = runtime.migrate_instances("p", 1, 3, [journeys["at_t1"]], actor="lea")
    assert outcome.refused == {journeys["at_t1"]: ["it is on version 2 now, not on version 1"]}


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("p", 1, 1), InvalidMigration, "from and to are the same version (1)"),
        (("p", 1, 9), NotFound, "process 'p' has no version 9"),
        (("nope", 1, 2), NotFound, "process 'nope' is not deployed"),
    ],
)
def test_bad_versions_are_refused_with_a_clear_message(
    runtime: Runtime, journeys: dict[str, str], args: tuple, error: type, message: str
) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        runtime.migration_preview(*args)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        runtime.migrate_instances(*args, [journeys["at_t1"]], actor="lea")


def test_an_instance_of_another_process_refuses_the_whole_request(runtime: Runtime, journeys: dict[str, str]) -> None:
    runtime.deploy({"q.bpmn": linear("q", 1)}, actor="designer")
    other = runtime.start("q", actor="sam", customer_id="C-1")
    before = snapshot(runtime, journeys["at_t1"])
    with pytest.raises(InvalidMigration, match=f"{other} \\(of 'q'\\) are not instances of process 'p'"):
        runtime.migrate_instances("p", 1, 2, [journeys["at_t1"], other], actor="lea")
    assert snapshot(runtime, journeys["at_t1"]) == before
    with pytest.raises(InvalidMigration, match="choose at least one instance"):
        runtime.migrate_instances("p", 1, 2, [], actor="lea")
    with pytest.raises(NotFound, match="no-such-id"):
        runtime.migrate_instances("p", 1, 2, ["no-such-id"], actor="lea")


# -- what follows the new version ----------------------------------------------------------------------------
def test_an_open_task_follows_its_changed_element_in_the_inbox(runtime: Runtime, clock: FrozenClock) -> None:
    runtime.deploy({"p.bpmn": linear("p", 2)}, actor="designer")
    iid = runtime.start("p", actor="sam", customer_id="C-1")
    created = clock.now()
    clock.advance(hours=5)
    changed = linear("p", 2).replace(
        b'name="Step 1" camunda:candidateGroups="csm"', b'name="Kickoff" camunda:candidateGroups="support"'
    )
    changed = changed.replace(b'"sla_stuck" value="P3D"', b'"sla_stuck" value="P10D"', 1)
    runtime.deploy({"p.bpmn": changed}, actor="designer")
    row_id = open_task(runtime, iid, "t1").id
    runtime.migrate_instances("p", 1, 2, [iid], actor="lea")
    row = open_task(runtime, iid, "t1")
    assert (row.id, row.name, row.candidate_groups) == (row_id, "Kickoff", "support")
    assert row.stuck_at is not None and row.stuck_at - created == timedelta(days=10)
    with runtime.store.session() as s:
        assert s.execute(
            select(HumanTaskGroup.group_name).where(HumanTaskGroup.human_task_id == row_id)
        ).scalars().all() == ["support"]
        assert s.execute(
            select(OpenTaskGroup.group_name).where(OpenTaskGroup.human_task_id == row_id)
        ).scalars().all() == ["support"]
    [(_, payload)] = events(runtime, iid, "instance_migrated")
    assert payload["tasks"][0]["before"]["name"] == "Step 1" and payload["tasks"][0]["after"]["name"] == "Kickoff"


def test_an_unchanged_timer_keeps_its_due_time_and_a_changed_one_refuses_the_move(
    runtime: Runtime, clock: FrozenClock
) -> None:
    runtime.deploy({"r.bpmn": timed("r", "P2D")}, actor="designer")
    iid = runtime.start("r", actor="sam", customer_id="C-1")
    with runtime.store.session() as s:
        due = s.execute(select(Timer.due_at).where(Timer.instance_id == iid)).scalar_one()
    clock.advance(days=1)
    runtime.deploy({"r.bpmn": timed("r", "P2D", after="follow_up")}, actor="designer")
    runtime.deploy({"r.bpmn": timed("r", "P5D", after="follow_up")}, actor="designer")
    [candidate] = runtime.migration_preview("r", 1, 3).candidates
    assert candidate.reasons == ["it waits on the timer 'remind', whose definition changed in version 3"]
    assert runtime.migrate_instances("r", 1, 2, [iid], actor="lea").moved == [iid]
    with runtime.store.session() as s:
        assert s.execute(select(Timer.due_at).where(Timer.instance_id == iid)).scalar_one() == due
    clock.advance(days=1, seconds=1)
    assert runtime.fire_due_timers() == 1
    assert complete(runtime, iid, "call") == "running"
    assert complete(runtime, iid, "follow_up") == "completed"


def test_an_instance_in_a_called_process_moves_and_gets_the_new_step_after_the_call(runtime: Runtime) -> None:
    runtime.deploy({"child.bpmn": child(), "parent.bpmn": parent(extra=False)}, actor="designer")
    iid = runtime.start("parent", actor="sam", customer_id="C-1")
    complete(runtime, iid, "first")
    runtime.deploy({"parent.bpmn": parent(extra=True)}, actor="designer")
    assert runtime.migrate_instances("parent", 1, 2, [iid], actor="lea").moved == [iid]
    assert complete(runtime, iid, "inner") == "running"
    assert complete(runtime, iid, "wrap_up") == "completed"


def test_a_step_inside_a_called_process_the_new_version_does_not_call_refuses_the_move(runtime: Runtime) -> None:
    runtime.deploy({"child.bpmn": child(), "parent.bpmn": parent(extra=False)}, actor="designer")
    iid = runtime.start("parent", actor="sam", customer_id="C-1")
    complete(runtime, iid, "first")
    runtime.deploy({"parent.bpmn": without("parent", "first")}, actor="designer")
    [candidate] = runtime.migration_preview("parent", 1, 2).candidates
    assert "it is inside sub-process 'child', which version 2 does not have" in candidate.reasons


def test_an_incident_moves_to_the_fixed_version_and_a_retry_runs_the_fix(runtime: Runtime) -> None:
    runtime.deploy({"scored.bpmn": scored("score = health * 2")}, actor="designer")
    iid = runtime.start("scored", actor="sam", customer_id="C-1")
    complete(runtime, iid, "enter")
    assert instance(runtime, iid).status == "incident"
    runtime.deploy({"scored.bpmn": scored("score = 1")}, actor="designer")
    [candidate] = runtime.migration_preview("scored", 1, 2).candidates
    assert (candidate.status, candidate.movable) == ("incident", True)
    runtime.migrate_instances("scored", 1, 2, [iid], actor="lea")
    assert runtime.retry(iid, actor="lea", reason="fixed in version 2") == "running"
    assert complete(runtime, iid, "review") == "completed"


def parallel(process_id: str, after: str = "") -> bytes:
    """start -> fork -> (a | b) -> join [-> after] -> end."""
    body = (
        '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="fork"/><bpmn:parallelGateway id="join"/>'
        + user_task("a", "Branch A")
        + user_task("b", "Branch B")
        + '<bpmn:endEvent id="end"/>'
        + flow("f0", "start", "fork")
        + flow("fa", "fork", "a")
        + flow("fb", "fork", "b")
        + flow("ja", "a", "join")
        + flow("jb", "b", "join")
    )
    if after:
        body += user_task(after, "After join") + flow("f1", "join", after) + flow("f2", after, "end")
    else:
        body += flow("f1", "join", "end")
    return process(process_id, body)


def test_an_instance_waiting_at_a_join_moves_and_gets_the_step_added_after_it(runtime: Runtime) -> None:
    runtime.deploy({"par.bpmn": parallel("par")}, actor="designer")
    iid = runtime.start("par", actor="sam", customer_id="C-1")
    complete(runtime, iid, "a")  # b is open, a's branch waits at the join
    runtime.deploy({"par.bpmn": parallel("par", after="after")}, actor="designer")
    assert runtime.migrate_instances("par", 1, 2, [iid], actor="lea").moved == [iid]
    assert complete(runtime, iid, "b") == "running"
    assert complete(runtime, iid, "after") == "completed"


def test_a_boundary_event_added_to_the_open_step_refuses_the_move(runtime: Runtime) -> None:
    runtime.deploy({"r.bpmn": without("r", "call")}, actor="designer")
    iid = runtime.start("r", actor="sam", customer_id="C-1")
    runtime.deploy({"r.bpmn": timed("r", "P2D")}, actor="designer")
    [candidate] = runtime.migration_preview("r", 1, 2).candidates
    assert "the events attached to 'Step all' (call) changed in version 2 while the step is open" in candidate.reasons
    assert runtime.migrate_instances("r", 1, 2, [iid], actor="lea").refused == {iid: candidate.reasons}


def test_a_multi_instance_step_in_progress_refuses_the_move(runtime: Runtime) -> None:
    looped = linear("m", 1).replace(
        b"</bpmn:extensionElements></bpmn:userTask>",
        b'</bpmn:extensionElements><bpmn:multiInstanceLoopCharacteristics isSequential="true">'
        b"<bpmn:loopCardinality>2</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>",
    )
    runtime.deploy({"m.bpmn": looped}, actor="designer")
    iid = runtime.start("m", actor="sam", customer_id="C-1")
    runtime.deploy({"m.bpmn": looped.replace(b'name="Step 1"', b'name="First step"')}, actor="designer")
    [candidate] = runtime.migration_preview("m", 1, 2).candidates
    assert candidate.reasons == [
        "the multi-instance or loop step 't1' is in progress; move the instance once it has finished"
    ]
    assert runtime.migrate_instances("m", 1, 2, [iid], actor="lea").refused == {iid: candidate.reasons}


def test_a_moved_instance_keeps_the_version_of_the_process_it_calls(runtime: Runtime) -> None:
    runtime.deploy({"child.bpmn": child(), "parent.bpmn": parent(extra=False)}, actor="designer")
    iid = runtime.start("parent", actor="sam", customer_id="C-1")
    called = instance(runtime, iid).called_definitions
    runtime.deploy({"child.bpmn": child("renamed_inner")}, actor="designer")  # child v2
    runtime.deploy({"parent.bpmn": parent(extra=True)}, actor="designer")
    assert runtime.migrate_instances("parent", 1, 2, [iid], actor="lea").moved == [iid]
    assert instance(runtime, iid).called_definitions == called
    complete(runtime, iid, "first")
    assert open_task(runtime, iid, "inner").name == "Inner step"  # child v1's step, not v2's renamed one


def test_the_move_checks_the_instance_again_as_it_is_when_it_moves(runtime: Runtime, journeys: dict[str, str]) -> None:
    at_t2 = journeys["at_t2"]
    assert {c.instance_id for c in runtime.migration_preview("p", 1, 2).movable} >= {at_t2}
    complete(runtime, at_t2, "t2")  # finished on version 1 after the preview
    outcome = runtime.migrate_instances("p", 1, 2, [at_t2], actor="lea")
    assert outcome.refused == {at_t2: ["it is completed"]}
    assert events(runtime, at_t2, "instance_migrated") == []
