"""Models as designers draw them (issue 10): what the engine can run is deployed with a warning naming the element,
its line and what the engine does, and runs to its end through the facade; what it cannot run is refused naming
the element, the line and what to change.

Human steps: no role -> the default queue ([engine] default_group); a literal, ``${var}`` or ``${obj.prop}``
assignee (read from the instance data when the step becomes ready); candidate users; Zeebe's
assignmentDefinition; BPMN's potentialOwner. Processes: no isExecutable attribute; standard multi-instance
(loopDataInputRef / inputDataItem); data stores and data objects; send tasks that send nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import OPEN_TASK_STATES, DeployError, FrozenClock, Problem, Runtime, Store
from engine._outbox import LogTransport
from engine._sandbox import Sandbox
from engine.models import AuditEvent, HumanTask, HumanTaskGroup, ProcessInstance
from processes import build_registry
from tests.bpmn_builder import HEADER, flow

ZEEBE = 'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"'


def model(body: str, *, process_id: str = "drawn", attributes: str = 'isExecutable="true"', extra: str = "") -> bytes:
    """start -> each element of ``body`` (ids s1, s2, ... in order) -> end. The first element starts on line 5."""
    ids = [f"s{i}" for i in range(1, body.count('id="s') + 1)]
    chain = ["start", *ids, "end"]
    flows = "".join(flow(f"f{i}", a, b) for i, (a, b) in enumerate(pairwise(chain)))
    return (
        HEADER
        + extra
        + f'<bpmn:process id="{process_id}" name="Drawn" {attributes}>\n'
        + '<bpmn:startEvent id="start"/>\n'
        + body
        + '<bpmn:endEvent id="end"/>\n'
        + flows
        + "</bpmn:process>\n</bpmn:definitions>\n"
    ).encode()


@dataclass(frozen=True)
class Step:
    element: str
    groups: str
    assignee: str | None
    state: str


def run_to_end(runtime: Runtime, process_id: str = "drawn", data: dict | None = None) -> list[Step]:
    """Start an instance and complete its human steps as they come (as a lead); the steps as each became ready."""
    iid = runtime.start(process_id, actor="tester", customer_id="C-1", data=data or {})
    seen: list[Step] = []
    for _ in range(20):
        with runtime.store.session() as s:
            instance = s.get(ProcessInstance, iid)
            assert instance is not None
            rows = s.execute(
                select(HumanTask)
                .where(HumanTask.instance_id == iid, HumanTask.state.in_(OPEN_TASK_STATES))
                .order_by(HumanTask.id)
            ).scalars()
            task = next(iter(rows), None)
            if task is not None:
                groups = s.execute(
                    select(HumanTaskGroup.group_name).where(HumanTaskGroup.human_task_id == task.id)
                ).scalars()
                assert ",".join(sorted(groups)) == ",".join(sorted(task.candidate_groups.split(",")))
        if instance.status != "running" and instance.status != "waiting":
            break
        assert task is not None, f"the instance waits with no human step: {instance.status} {instance.incident}"
        seen.append(Step(task.element_id, task.candidate_groups, task.assignee, task.state))
        runtime.complete(task.id, actor=task.assignee or "helena", data={})
    assert instance.status == "completed", instance.incident
    return seen


def deploy(runtime: Runtime, data: bytes, name: str = "drawn.bpmn") -> list[Problem]:
    """Deploy one file; its warnings (the deploy must succeed)."""
    return [w for deployed in runtime.deploy({name: data}, actor="designer") for w in deployed.warnings]


def user_task(attributes: str = "", inner: str = "", task_id: str = "s1", name: str = "Review") -> str:
    return f'<bpmn:userTask id="{task_id}" name="{name}" {attributes}>{inner}</bpmn:userTask>\n'


# ---- roles -------------------------------------------------------------------------------------------------
def test_a_human_step_without_a_role_goes_to_the_default_queue_with_a_warning(runtime: Runtime) -> None:
    data = model(
        user_task()
        + '<bpmn:manualTask id="s2" name="Post the contract"/>\n'
        + '<bpmn:task id="s3" name="Call the customer"/>\n'
    )
    warnings = deploy(runtime, data)
    assert [(w.element_id, w.line, w.severity) for w in warnings] == [
        ("s1", 5, "warning"),
        ("s2", 6, "warning"),
        ("s3", 7, "warning"),
    ]
    assert warnings[0].message == (
        "user task 'Review' has no role: it is offered to the default queue 'cs_lead' ([engine] default_group); "
        "set candidate groups or put it in a lane to choose the role"
    )
    assert str(warnings[1]).startswith("drawn.bpmn:6 (element 's2'): warning: manual task 'Post the contract' has")
    assert run_to_end(runtime) == [
        Step("s1", "cs_lead", None, "ready"),
        Step("s2", "cs_lead", None, "ready"),
        Step("s3", "cs_lead", None, "ready"),
    ]
    with runtime.store.session() as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "definition_deployed")).scalar_one()
    assert [w["element"] for w in json.loads(event.payload)["warnings"]] == ["s1", "s2", "s3"]


def test_the_default_queue_is_configured(
    store: Store, clock: FrozenClock, config: dict, sandbox: Sandbox, mail: LogTransport
) -> None:
    assert config["engine"]["default_group"] == "cs_lead"
    changed = {**config, "engine": {**config["engine"], "default_group": "support"}}
    runtime = Runtime(store, build_registry(), clock=clock, config=changed, transport=mail, sandbox=sandbox)
    try:
        [warning] = deploy(runtime, model(user_task()))
        assert "the default queue 'support'" in warning.message
        assert run_to_end(runtime) == [Step("s1", "support", None, "ready")]
    finally:
        runtime.close()


def test_a_lane_or_candidate_groups_is_the_role_and_no_warning(runtime: Runtime) -> None:
    lanes = (
        '<bpmn:laneSet id="ls"><bpmn:lane id="l1" name="support"><bpmn:flowNodeRef>s2</bpmn:flowNodeRef>'
        "</bpmn:lane></bpmn:laneSet>\n"
    )
    data = model(lanes + user_task('camunda:candidateGroups="csm, finance"') + user_task(task_id="s2", name="Fix"))
    assert deploy(runtime, data) == []
    assert run_to_end(runtime) == [Step("s1", "csm,finance", None, "ready"), Step("s2", "support", None, "ready")]


# ---- assignees ---------------------------------------------------------------------------------------------
def test_a_literal_assignee_gets_the_step(runtime: Runtime) -> None:
    assert deploy(runtime, model(user_task('camunda:candidateGroups="csm" camunda:assignee="ana"'))) == []
    assert run_to_end(runtime) == [Step("s1", "csm", "ana", "claimed")]


@pytest.mark.parametrize(
    ("assignee", "data", "expected"),
    [
        ("${csm}", {"csm": "bruno"}, "bruno"),
        ("${customer.csm_owner}", {"customer": {"csm_owner": "ana"}}, "ana"),
        ("#{csm}", {"csm": "bruno"}, "bruno"),
        ("${csm}", {}, None),  # resolves to nothing: ready in its groups, not an error
        ("${csm}", {"csm": ""}, None),
        ("${customer.csm_owner}", {"customer": "acme"}, None),
    ],
)
def test_an_assignee_expression_is_read_from_the_instance_data(
    runtime: Runtime, assignee: str, data: dict, expected: str | None
) -> None:
    assert deploy(runtime, model(user_task(f'camunda:candidateGroups="csm" camunda:assignee="{assignee}"'))) == []
    state = "claimed" if expected else "ready"
    assert run_to_end(runtime, data=data) == [Step("s1", "csm", expected, state)]


def test_an_assignee_is_read_when_the_step_becomes_ready(runtime: Runtime) -> None:
    """A script before the step sets who does it: the assignee is the value at that moment, not at start."""
    script = (
        '<bpmn:scriptTask id="s1" scriptFormat="python"><bpmn:script>owner = "carla"</bpmn:script></bpmn:scriptTask>\n'
    )
    deploy(runtime, model(script + user_task('camunda:assignee="${owner}"', task_id="s2")))
    assert run_to_end(runtime, data={"owner": "ana"}) == [Step("s2", "cs_lead", "carla", "claimed")]


def test_an_assignee_expression_beyond_a_path_is_a_warning_and_the_step_is_ready_in_its_groups(
    runtime: Runtime,
) -> None:
    [warning] = deploy(
        runtime, model(user_task('camunda:candidateGroups="csm" camunda:assignee="${vip ? boss : csm}"'))
    )
    assert (warning.element_id, warning.line) == ("s1", 5)
    assert "is an expression the engine does not evaluate" in warning.message
    assert run_to_end(runtime, data={"vip": True, "boss": "helena"}) == [Step("s1", "csm", None, "ready")]


# ---- candidate users ---------------------------------------------------------------------------------------
def test_one_candidate_user_gets_the_step(runtime: Runtime) -> None:
    assert deploy(runtime, model(user_task('camunda:candidateGroups="csm" camunda:candidateUsers="ana"'))) == []
    assert run_to_end(runtime) == [Step("s1", "csm", "ana", "claimed")]


def test_several_candidate_users_are_a_warning_and_the_step_is_in_the_queue(runtime: Runtime) -> None:
    warnings = deploy(runtime, model(user_task('camunda:candidateUsers="ana, bruno"')))
    assert [(w.element_id, w.line) for w in warnings] == [("s1", 5), ("s1", 5)]
    assert warnings[0].message == (
        "user task 'Review': candidate users ana, bruno are not offered one by one: the task is offered to the "
        "default queue 'cs_lead' ([engine] default_group), where any of them can claim it; name one assignee, or a "
        "group, to choose who does it"
    )
    assert "has no role" in warnings[1].message
    assert run_to_end(runtime) == [Step("s1", "cs_lead", None, "ready")]


# ---- Zeebe and plain BPMN roles ----------------------------------------------------------------------------
def test_a_zeebe_assignment_definition_is_read(runtime: Runtime) -> None:
    zeebe = (
        f'<bpmn:extensionElements><zeebe:assignmentDefinition {ZEEBE} assignee="=customer.csm" '
        'candidateGroups="support, csm"/></bpmn:extensionElements>'
    )
    feel_list = (
        f'<bpmn:extensionElements><zeebe:assignmentDefinition {ZEEBE} candidateGroups="=[&quot;finance&quot;]" '
        'candidateUsers="fabio"/></bpmn:extensionElements>'
    )
    data = model(user_task(inner=zeebe) + user_task(inner=feel_list, task_id="s2", name="Invoice"))
    assert deploy(runtime, data) == []
    assert run_to_end(runtime, data={"customer": {"csm": "ana"}}) == [
        Step("s1", "support,csm", "ana", "claimed"),
        Step("s2", "finance", "fabio", "claimed"),
    ]


def test_a_potential_owner_is_read(runtime: Runtime) -> None:
    def owner(text: str) -> str:
        return (
            '<bpmn:potentialOwner id="po_{0}"><bpmn:resourceAssignmentExpression id="rae_{0}">'
            "<bpmn:formalExpression>{1}</bpmn:formalExpression></bpmn:resourceAssignmentExpression>"
            "</bpmn:potentialOwner>"
        ).format(len(text), text)

    data = model(
        user_task(inner=owner("finance"))
        + user_task(inner=owner("group(security), user(gabi)"), task_id="s2", name="Audit")
    )
    assert deploy(runtime, data) == []
    assert run_to_end(runtime) == [Step("s1", "finance", None, "ready"), Step("s2", "security", "gabi", "claimed")]


# ---- processes ---------------------------------------------------------------------------------------------
def test_a_process_without_is_executable_runs_with_a_warning(runtime: Runtime) -> None:
    [warning] = deploy(runtime, model(user_task('camunda:candidateGroups="csm"'), attributes=""))
    assert (warning.element_id, warning.line) == ("drawn", 3)
    assert warning.message == (
        "process 'Drawn' does not say whether it is executable: it is deployed as executable; tick 'Executable' in "
        'the properties panel (isExecutable="true") to say so'
    )
    assert run_to_end(runtime) == [Step("s1", "csm", None, "ready")]


def test_a_process_marked_not_executable_is_refused_saying_what_to_set(runtime: Runtime) -> None:
    with pytest.raises(DeployError) as caught:
        runtime.deploy({"drawn.bpmn": model(user_task(), attributes='isExecutable="false"')}, actor="designer")
    [problem] = caught.value.problems
    assert (problem.element_id, problem.line) == ("drawn", 3)
    assert problem.message.startswith("process 'Drawn' is not executable: tick 'Executable'")
    assert 'isExecutable="true"' in problem.message


def test_next_to_a_process_marked_executable_one_without_the_attribute_is_a_pool_that_is_not_run(
    runtime: Runtime,
) -> None:
    pool = (
        '<bpmn:process id="customer_pool" name="Customer">\n<bpmn:startEvent id="c_start"/>\n'
        '<bpmn:endEvent id="c_end"/>\n' + flow("cf", "c_start", "c_end") + "</bpmn:process>\n"
    )
    deployed = runtime.deploy({"drawn.bpmn": model(user_task('camunda:candidateGroups="csm"'), extra=pool)}, actor="d")
    assert [(d.process_id, d.warnings) for d in deployed] == [("drawn", [])]


def test_a_standard_multi_instance_step_runs_once_per_item_each_assigned_to_its_item(runtime: Runtime) -> None:
    loop = (
        "<bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>reviewers</bpmn:loopDataInputRef>"
        '<bpmn:inputDataItem id="reviewer" name="reviewer"/></bpmn:multiInstanceLoopCharacteristics>'
    )
    assert deploy(runtime, model(user_task('camunda:candidateGroups="csm" camunda:assignee="${reviewer}"', loop))) == []
    steps = run_to_end(runtime, data={"reviewers": ["ana", "bruno"]})
    assert sorted((s.element, s.assignee) for s in steps) == [("s1", "ana"), ("s1", "bruno")]


def test_a_data_store_is_drawn_only_and_a_data_object_is_written(runtime: Runtime) -> None:
    extra = '<bpmn:dataStore id="crm" name="CRM"/>\n'
    body = (
        '<bpmn:dataStoreReference id="crm_ref" name="CRM" dataStoreRef="crm"/>\n'
        '<bpmn:dataObject id="notes"/>\n'  # the data object's id is the variable's name
        '<bpmn:dataObjectReference id="notes_ref" name="Notes" dataObjectRef="notes"/>\n'
        '<bpmn:scriptTask id="s1" scriptFormat="python">'
        '<bpmn:property id="placeholder" name="__targetRef_placeholder"/>'  # as the Camunda Modeler writes it
        '<bpmn:dataInputAssociation id="read_crm"><bpmn:sourceRef>crm_ref</bpmn:sourceRef>'
        "<bpmn:targetRef>placeholder</bpmn:targetRef></bpmn:dataInputAssociation>"
        '<bpmn:dataOutputAssociation id="write_notes"><bpmn:targetRef>notes_ref</bpmn:targetRef>'
        "</bpmn:dataOutputAssociation>"
        '<bpmn:script>notes = "called"</bpmn:script></bpmn:scriptTask>\n'
        + user_task('camunda:candidateGroups="csm"', task_id="s2")
    )
    [warning] = deploy(runtime, model(body, extra=extra))
    assert (warning.element_id, warning.line) == ("crm_ref", 6)
    assert warning.message.startswith("data store 'CRM' is drawn only: Jornada keeps no data store")
    assert run_to_end(runtime) == [Step("s2", "csm", None, "ready")]


def test_a_send_task_that_sends_nothing_passes_with_a_warning(runtime: Runtime) -> None:
    body = '<bpmn:sendTask id="s1" name="Notify"/>\n' + user_task('camunda:candidateGroups="csm"', task_id="s2")
    [warning] = deploy(runtime, model(body))
    assert (warning.element_id, warning.line) == ("s1", 5)
    assert "sends nothing, so it does nothing and the process goes on" in warning.message
    assert run_to_end(runtime) == [Step("s2", "csm", None, "ready")]


def test_a_refusal_still_carries_the_warnings_of_the_file(runtime: Runtime) -> None:
    body = user_task() + '<bpmn:serviceTask id="s2" name="Sync"/>\n'
    with pytest.raises(DeployError) as caught:
        runtime.deploy({"drawn.bpmn": model(body)}, actor="designer")
    assert [(p.element_id, p.line, p.severity) for p in caught.value.problems] == [("s2", 6, "error")]
    assert [(p.element_id, p.line, p.severity) for p in caught.value.warnings] == [("s1", 5, "warning")]
    assert "warning" not in str(caught.value)


# ---- the command line --------------------------------------------------------------------------------------
@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("JORNADA_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("JORNADA_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    yield


@pytest.mark.usefixtures("cli")
def test_jornada_deploy_prints_the_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from engine._cli import main

    path = tmp_path / "drawn.bpmn"
    path.write_bytes(model(user_task()))
    assert main(["init-db"]) == 0
    capsys.readouterr()
    assert main(["deploy", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "drawn v1 (deployed)",
        f"  {path}:5 (element 's1'): warning: user task 'Review' has no role: it is offered to the default queue "
        "'cs_lead' ([engine] default_group); set candidate groups or put it in a lane to choose the role",
    ]
