"""A refused model is refused for its real problem: recursion, a missing start event, a repeated id."""

from __future__ import annotations

import pytest

from engine import Runtime
from engine._errors import DeployError, Problem
from engine.models import ProcessDefinition
from tests.bpmn_builder import HEADER, flow, process, user_task


def refused(runtime: Runtime, files: dict[str, bytes]) -> list[Problem]:
    with pytest.raises(DeployError) as caught:
        runtime.deploy(files, actor="designer")
    with runtime.store.session() as s:
        assert s.query(ProcessDefinition).count() == 0  # nothing stored
    return caught.value.problems


def calling(process_id: str, activity: str, called: str) -> str:
    return (
        f'<bpmn:process id="{process_id}" isExecutable="true"><bpmn:startEvent id="{process_id}_s"/>'
        f'<bpmn:callActivity id="{activity}" calledElement="{called}"/><bpmn:endEvent id="{process_id}_e"/>'
        + flow(f"{process_id}_f1", f"{process_id}_s", activity)
        + flow(f"{process_id}_f2", activity, f"{process_id}_e")
        + "</bpmn:process>\n"
    )


def test_a_process_calling_itself_is_refused_naming_the_call_activity_and_the_cycle(runtime: Runtime) -> None:
    data = (HEADER + calling("p", "again", "p") + "</bpmn:definitions>").encode()
    [problem] = refused(runtime, {"self.bpmn": data})
    assert (problem.file, problem.element_id, problem.line) == ("self.bpmn", "again", 3)
    assert "calls its own process (p -> p)" in problem.message and "never end" in problem.message


def test_processes_calling_each_other_are_refused_naming_each_call_activity_and_the_cycle(runtime: Runtime) -> None:
    data = (HEADER + calling("a", "call_b", "b") + calling("b", "call_a", "a") + "</bpmn:definitions>").encode()
    problems = refused(runtime, {"mutual.bpmn": data})
    assert {(p.element_id, p.message.split(":")[0]) for p in problems} == {
        ("call_b", "call activity 'call_b' calls process 'b', which calls back into it (a -> b -> a)"),
        ("call_a", "call activity 'call_a' calls process 'a', which calls back into it (b -> a -> b)"),
    }


def test_a_recursion_through_a_deployed_process_is_refused(runtime: Runtime) -> None:
    leaf = process("b", '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>' + flow("f", "s", "e"))
    runtime.deploy({"b.bpmn": leaf}, actor="d")
    runtime.deploy({"a.bpmn": (HEADER + calling("a", "call_b", "b") + "</bpmn:definitions>").encode()}, actor="d")
    back = (HEADER + calling("b", "call_a", "a") + "</bpmn:definitions>").encode()
    with pytest.raises(DeployError) as caught:
        runtime.deploy({"b.bpmn": back}, actor="d")
    [problem] = caught.value.problems
    assert problem.element_id == "call_a" and "(b -> a -> b)" in problem.message


def test_a_call_chain_without_a_cycle_is_deployed(runtime: Runtime) -> None:
    leaf = '<bpmn:process id="c" isExecutable="true"><bpmn:startEvent id="cs"/><bpmn:endEvent id="ce"/>'
    leaf += flow("cf", "cs", "ce") + "</bpmn:process>"
    data = HEADER + calling("a", "call_b", "b") + calling("b", "call_c", "c") + leaf + "</bpmn:definitions>"
    deployed = runtime.deploy({"chain.bpmn": data.encode()}, actor="d")
    assert sorted(d.process_id for d in deployed) == ["a", "b", "c"]


def test_a_process_without_a_start_event_is_refused_for_that_first(runtime: Runtime) -> None:
    no_role = '<bpmn:userTask id="x" name="X"/><bpmn:endEvent id="e"/>' + flow("f", "x", "e")
    problems = refused(runtime, {"nostart.bpmn": process("p", no_role)})
    assert problems[0].element_id == "p"
    assert problems[0].message == "process 'p' has no start event: add one where the journey begins"


def test_two_processes_with_the_same_id_are_refused_as_a_duplicate_id(runtime: Runtime) -> None:
    one = '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s1"/></bpmn:process>\n'
    two = '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s2"/></bpmn:process>\n'
    [problem] = refused(runtime, {"dup.bpmn": (HEADER + one + two + "</bpmn:definitions>").encode()})
    assert (problem.element_id, problem.line) == ("p", 4)
    assert problem.message == (
        "process id 'p' is used 2 times (bpmn:process on line 3, bpmn:process on line 4); "
        "every id in a file must be unique"
    )
    assert "xs:ID" not in problem.message


def test_an_element_id_used_twice_is_refused_naming_both_elements(runtime: Runtime) -> None:
    body = (
        '<bpmn:startEvent id="start"/>\n'
        + user_task("step", "First")
        + user_task("step", "Second")
        + '<bpmn:endEvent id="end"/>\n'
        + flow("f1", "start", "step")
        + flow("f2", "step", "end")
    )
    [problem] = refused(runtime, {"twice.bpmn": process("p", body)})
    assert problem.element_id == "step"
    assert problem.message.startswith("id 'step' is used 2 times (bpmn:userTask on line 5, bpmn:userTask on line 6)")


def test_an_id_that_is_not_a_valid_xml_id_is_named_as_such(runtime: Runtime) -> None:
    body = '<bpmn:startEvent id="1st"/><bpmn:endEvent id="end"/>' + flow("f", "1st", "end")
    problems = refused(runtime, {"bad_id.bpmn": process("p", body)})
    assert any("id '1st' is not a valid id: start it with a letter or _" in p.message for p in problems), problems


def test_a_repeated_form_field_id_is_not_an_element_id(runtime: Runtime) -> None:
    field = '<camunda:formField id="note" label="Note" type="string"/>'
    body = '<bpmn:startEvent id="s"/>' + user_task("a", "A", fields=field) + user_task("b", "B", fields=field)
    body += '<bpmn:endEvent id="e"/>' + flow("f1", "s", "a") + flow("f2", "a", "b") + flow("f3", "b", "e")
    assert runtime.deploy({"forms.bpmn": process("p", body)}, actor="d")[0].process_id == "p"


def test_a_message_throw_without_a_payload_is_deployed(runtime: Runtime) -> None:
    body = (
        '<bpmn:startEvent id="s"/><bpmn:intermediateThrowEvent id="t">'
        '<bpmn:messageEventDefinition messageRef="m"/></bpmn:intermediateThrowEvent><bpmn:endEvent id="e"/>'
        + flow("f1", "s", "t")
        + flow("f2", "t", "e")
    )
    deployed = runtime.deploy({"m.bpmn": process("thrower", body, '<bpmn:message id="m" name="ping"/>')}, actor="d")
    assert [d.process_id for d in deployed] == ["thrower"]
