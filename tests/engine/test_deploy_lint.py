"""Deploying BPMN: hostile and broken files are refused with the file, the element and the line named, in words a
designer can act on, and nothing is stored; good files become versions.

The corpus is in tests/engine/hostile/ (one mistake per file; line numbers below are 1-based lines of those files).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import DeployError, NotFound, Problem, Runtime
from engine.models import AuditEvent, ProcessDefinition, ProcessInstance
from tests.bpmn_builder import HEADER, flow, linear, process, user_task

HOSTILE = Path(__file__).resolve().parent / "hostile"
GOOD = linear("good", 1)


@dataclass(frozen=True)
class Refusal:
    file: str
    element: str | None  # None: a problem of the whole file (bytes, encoding, XML syntax), not of an element
    line: int
    message: str  # a regular expression the message must match

    def __str__(self) -> str:
        return self.file


CORPUS = [
    Refusal("malformed.bpmn", None, 7, r"^malformed XML: Opening and ending tag mismatch: userTask line 5 and process"),
    Refusal("xsd_invalid.bpmn", "bogus", 6, r"^not valid BPMN 2\.0: bpmn:notAnElement is not allowed here$"),
    Refusal("xxe.bpmn", None, 2, r"^the file declares a DOCTYPE or entities, which are refused for security"),
    Refusal("billion_laughs.bpmn", None, 2, r"DOCTYPE or entities.*entity expansion.*remove the <!DOCTYPE …> block$"),
    Refusal("empty.bpmn", None, 1, r"^the file is empty$"),
    Refusal("binary.bpmn", None, 3, r"^the file is binary \(an image or an archive\?\), not BPMN XML$"),
    Refusal("latin1.bpmn", "revision", 5, r"^the file is not UTF-8 text \(byte 0xE9 on line 5\); save it as UTF-8$"),
    Refusal("script_syntax.bpmn", "score", 7, r"^script is not valid Python: expected ':' \(line 2 of the script\)$"),
    Refusal(
        "script_import.bpmn",
        "snoop",
        7,
        r"^script is refused by the sandbox: import statements are not allowed \(line 2 of the script\)$",
    ),
    Refusal("condition_syntax.bpmn", "f_big", 10, r"^condition 'amount =< 100' is not valid Python: invalid syntax$"),
    Refusal(
        "timer_duration.bpmn",
        "wait",
        7,
        r"^timer timeDuration 'P3X' is not a valid ISO-8601 value: expected a duration such as P3D or PT4H$",
    ),
    Refusal(
        "timer_cycle.bpmn",
        "remind",
        8,
        r"^timer timeCycle 'R3/PXD' is not a valid ISO-8601 value: expected a repeating interval such as R3/P1W$",
    ),
    Refusal("no_topic.bpmn", "sync", 6, r"^service task has no handler: set Implementation 'External' and a topic$"),
    Refusal(
        "dangling_flow.bpmn", "f2", 8, r"^sequence flow targetRef points to 'finish', which is not an element of this"
    ),
    Refusal(
        "gateway_no_condition.bpmn",
        "f_yes",
        9,
        r"^flow 'yes' leaves exclusive gateway 'Big deal\?' with no condition and is not its default flow: give it",
    ),
    Refusal("complex_gateway.bpmn", "vote", 5, r"^bpmn:complexGateway is not supported by Jornada's engine$"),
    Refusal(
        "missing_call.bpmn",
        "onboard",
        5,
        r"^call activity calls process 'ghost_process', which is neither deployed nor in this upload$",
    ),
    Refusal(
        "sla_not_duration.bpmn",
        "review",
        8,
        r"^SLA property sla_warn: 'two days' is not an ISO-8601 duration such as P2D or PT4H$",
    ),
    Refusal(
        "not_executable.bpmn",
        "not_executable",
        3,
        r"^process 'Not executable' is not executable: tick 'Executable' in the properties panel",
    ),
    Refusal(
        "task_two_outgoing.bpmn",
        "review",
        5,
        r"^userTask 'Review' has 2 outgoing sequence flows \('f2', 'f3'\); split with a gateway instead",
    ),
]


# Files of the corpus the engine runs as drawn: accepted, with a warning naming what it does instead.
WARNED = [
    Refusal(
        "no_role.bpmn",
        "kickoff",
        5,
        r"^user task 'Kick-off call' has no role: it is offered to the default queue 'cs_lead' "
        r"\(\[engine\] default_group\); set candidate groups or put it in a lane to choose the role$",
    ),
    Refusal(
        "unknown_topic.bpmn",
        "welcome",
        5,
        r"^handler topic 'mail\.sned' has no in-process handler: it runs as an external task; a worker must fetch "
        r"topic 'mail\.sned'; did you mean 'mail\.send'\?$",
    ),
]


def stored(runtime: Runtime) -> tuple[list[tuple[int, str, int]], list[int]]:
    """Every stored definition (id, process, version) and every audit event sequence number."""
    with runtime.store.session() as s:
        definitions = [
            (row.id, row.process_id, row.version)
            for row in s.execute(select(ProcessDefinition).order_by(ProcessDefinition.id)).scalars()
        ]
        events = list(s.execute(select(AuditEvent.seq).order_by(AuditEvent.seq)).scalars())
    return definitions, events


def refused(runtime: Runtime, files: dict[str, bytes]) -> list[Problem]:
    """Deploy ``files``, expect a refusal, and check that nothing was stored."""
    before = stored(runtime)
    with pytest.raises(DeployError) as caught:
        runtime.deploy(files, actor="designer")
    assert stored(runtime) == before, "a refused deploy stored something"
    return caught.value.problems


def assert_readable(problem: Problem) -> None:
    """What a designer reads: no Python exception names, namespace URIs, reprs of library objects or tracebacks."""
    for jargon in ("{http", "Exception", "Error(", "Traceback", "SpiffWorkflow", "task spec", "<Element", "None"):
        assert jargon not in problem.message, f"{jargon!r} in {problem.message!r}"
    assert problem.message == problem.message.strip() and not problem.message.endswith(".")


@pytest.fixture
def deployed_good(runtime: Runtime) -> Runtime:
    """A runtime with one good definition, so "nothing stored" compares non-empty tables."""
    runtime.deploy({"good.bpmn": GOOD}, actor="designer")
    assert stored(runtime)[0] == [(1, "good", 1)]
    return runtime


@pytest.mark.parametrize("case", CORPUS, ids=str)
def test_a_hostile_file_is_refused_naming_file_element_and_line_and_nothing_is_stored(
    deployed_good: Runtime, case: Refusal
) -> None:
    problems = refused(deployed_good, {case.file: (HOSTILE / case.file).read_bytes()})
    assert len(problems) == 1, problems
    [problem] = problems
    assert (problem.file, problem.element_id, problem.line) == (case.file, case.element, case.line), problem
    assert re.search(case.message, problem.message), problem.message
    assert_readable(problem)


@pytest.mark.parametrize("case", WARNED, ids=str)
def test_a_corpus_file_the_engine_can_run_deploys_with_a_warning_naming_file_element_and_line(
    runtime: Runtime, case: Refusal
) -> None:
    deployed = runtime.deploy({case.file: (HOSTILE / case.file).read_bytes()}, actor="designer")
    [warning] = [w for d in deployed for w in d.warnings]
    assert (warning.file, warning.element_id, warning.line, warning.severity) == (
        case.file,
        case.element,
        case.line,
        "warning",
    )
    assert re.search(case.message, warning.message), warning.message
    assert_readable(warning)


def test_the_corpus_has_a_case_for_every_file() -> None:
    assert sorted(p.name for p in HOSTILE.glob("*.bpmn")) == sorted(c.file for c in CORPUS + WARNED)


def test_an_external_entity_is_never_read_and_entities_are_never_expanded(deployed_good: Runtime) -> None:
    for name in ("xxe.bpmn", "billion_laughs.bpmn"):
        [problem] = refused(deployed_good, {name: (HOSTILE / name).read_bytes()})
        assert "root:" not in problem.message and "lol" not in problem.message


def test_the_error_text_lists_each_problem_as_file_line_element(deployed_good: Runtime) -> None:
    with pytest.raises(DeployError) as caught:
        deployed_good.deploy({"no_topic.bpmn": (HOSTILE / "no_topic.bpmn").read_bytes()}, actor="designer")
    assert str(caught.value) == (
        "deploy refused:\n  no_topic.bpmn:6 (element 'sync'): service task has no handler: set Implementation"
        " 'External' and a topic"
    )


# ---- more refusals, built inline ---------------------------------------------------------------------------
def one_task(body: str) -> bytes:
    """start -> <body, whose element id is "x"> -> end; the body is on line 5."""
    xml = process("p", '<bpmn:startEvent id="start"/>\n' + body + "\n" + '<bpmn:endEvent id="end"/>\n')
    return xml.replace(
        b"</bpmn:process>", (flow("f1", "start", "x") + flow("f2", "x", "end")).encode() + b"</bpmn:process>"
    )


INLINE = {
    "SLA durations out of order": (
        one_task(
            '<bpmn:userTask id="x" camunda:candidateGroups="csm"><bpmn:extensionElements><camunda:properties>'
            '<camunda:property name="sla_warn" value="P3D"/><camunda:property name="sla_stuck" value="P2D"/>'
            "</camunda:properties></bpmn:extensionElements></bpmn:userTask>"
        ),
        "x",
        5,
        r"^SLA properties out of order: sla_warn \(P3D\) is longer than sla_stuck \(P2D\); the durations must be",
    ),
    "whitespace only": (b"  \n\t\n", None, 1, r"^the file is empty$"),
    "UTF-16": ("<?xml version='1.0' encoding='UTF-16'?>".encode("utf-16"), None, 1, r"UTF-16 text; save it as UTF-8"),
    "not BPMN at all": (b'<?xml version="1.0"?>\n<svg id="pic"/>\n', "pic", 2, r"^the root element is 'svg', not"),
    "schema: bad attribute value": (
        one_task('<bpmn:userTask id="x" camunda:candidateGroups="csm" isForCompensation="maybe"/>'),
        "x",
        5,
        r"^not valid BPMN 2\.0: Element 'bpmn:userTask', attribute 'isForCompensation': 'maybe' is not a valid",
    ),
    "quoted timer literal that is not ISO": (
        one_task(
            '<bpmn:intermediateCatchEvent id="x"><bpmn:timerEventDefinition>'
            "<bpmn:timeDuration>'P3X'</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
        ),
        "x",
        5,
        r"^timer timeDuration 'P3X' is not a valid ISO-8601 value",
    ),
    "timer expression that is not Python": (
        one_task(
            '<bpmn:intermediateCatchEvent id="x"><bpmn:timerEventDefinition>'
            "<bpmn:timeDuration>three days</bpmn:timeDuration></bpmn:timerEventDefinition>"
            "</bpmn:intermediateCatchEvent>"
        ),
        "x",
        5,
        r"^timer timeDuration 'three days' is not valid Python: invalid syntax; write a duration such as P3D or "
        r"PT4H, or a Python expression over the task data$",
    ),
    "timeDate that is not a date": (
        one_task(
            '<bpmn:intermediateCatchEvent id="x"><bpmn:timerEventDefinition>'
            "<bpmn:timeDate>2027-13-45T09:00:00Z</bpmn:timeDate></bpmn:timerEventDefinition>"
            "</bpmn:intermediateCatchEvent>"
        ),
        "x",
        5,
        r"^timer timeDate '2027-13-45T09:00:00Z' is not a valid ISO-8601 value: expected a date-time such as",
    ),
    "script task without a script": (
        one_task('<bpmn:scriptTask id="x" scriptFormat="python"/>'),
        "x",
        5,
        r"^script task has no script$",
    ),
    "script with a dunder escape": (
        one_task('<bpmn:scriptTask id="x"><bpmn:script>y = ().__class__</bpmn:script></bpmn:scriptTask>'),
        "x",
        5,
        r'^script is refused by the sandbox: "__class__" is an invalid attribute name because it starts with "_"',
    ),
    "business rule task calling a decision not deployed": (
        one_task('<bpmn:businessRuleTask id="x" camunda:decisionRef="pricing"/>'),
        "x",
        5,
        r"^business rule task 'x' calls decision 'pricing', which is neither deployed nor in this upload: "
        "deploy its DMN file with the model$",
    ),
    "business rule task with neither decision nor topic": (
        one_task('<bpmn:businessRuleTask id="x"/>'),
        "x",
        5,
        r"^business rule task 'x' has neither a decision nor a handler: set a called decision",
    ),
    "process without a start event": (
        process("p", '<bpmn:userTask id="x" camunda:candidateGroups="csm"/>\n'),
        "p",
        3,
        r"^process 'p' has no start event: add one where the journey begins$",
    ),
    "collapsed sub-process without content": (
        one_task('<bpmn:subProcess id="x" name="Empty"/>'),
        "x",
        5,
        r"^a sub-process needs exactly one start event inside it; it has 0$",
    ),
    "data input that is not a data object": (
        one_task(
            '<bpmn:userTask id="x" camunda:candidateGroups="csm"><bpmn:dataInputAssociation id="a">'
            "<bpmn:sourceRef>nothing</bpmn:sourceRef><bpmn:targetRef>x</bpmn:targetRef>"
            "</bpmn:dataInputAssociation></bpmn:userTask>"
        ),
        "x",
        5,
        r"^a data input of this element is not a data object of its process; only data objects can be read$",
    ),
    "multi-instance without cardinality or collection": (
        one_task(
            '<bpmn:userTask id="x" camunda:candidateGroups="csm">'
            "<bpmn:multiInstanceLoopCharacteristics/></bpmn:userTask>"
        ),
        "x",
        5,
        r"^a multi-instance activity needs a loop cardinality or a collection \(camunda:collection\)$",
    ),
    "file without any process": (
        (HEADER + '<bpmn:message id="m" name="hello"/>\n</bpmn:definitions>\n').encode(),
        "defs",
        2,
        r"^the file has no process to deploy$",
    ),
}


# Drawn as designers draw them: accepted, with one warning naming the element, its line and what the engine does.
WARNED_INLINE = {
    "manual task without a role": (
        one_task('<bpmn:manualTask id="x" name="Post the contract"/>'),
        "x",
        5,
        r"^manual task 'Post the contract' has no role: it is offered to the default queue 'cs_lead' \(\[engine\] "
        r"default_group\); set candidate groups or put it in a lane to choose the role$",
    ),
    "untyped task without a role": (
        one_task('<bpmn:task id="x" name="Call the customer"/>'),
        "x",
        5,
        r"^task 'Call the customer' has no role \(and no type, so a person completes it\): it is offered to the "
        r"default queue 'cs_lead'",
    ),
    "assignee expression beyond a variable or property path": (
        one_task('<bpmn:userTask id="x" camunda:candidateGroups="csm" camunda:assignee="${vip ? boss : csm}"/>'),
        "x",
        5,
        r"^user task 'x': assignee '\$\{vip \? boss : csm\}' is an expression the engine does not evaluate "
        r"\(only a variable or property path such as \$\{csm_owner\} or \$\{customer\.csm\}\): the task is "
        r"offered to group\(s\) 'csm'$",
    ),
    "send task with a topic no in-process handler serves": (
        one_task('<bpmn:sendTask id="x" camunda:type="external" camunda:topic="sms.send"/>'),
        "x",
        5,
        r"^handler topic 'sms\.send' has no in-process handler: it runs as an external task; a worker must fetch "
        r"topic 'sms\.send'",
    ),
    "Zeebe service task whose job type no in-process handler serves": (
        one_task(
            '<bpmn:serviceTask id="x"><bpmn:extensionElements>'
            '<zeebe:taskDefinition xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" type="crm.enrich"/>'
            "</bpmn:extensionElements></bpmn:serviceTask>"
        ),
        "x",
        5,
        r"^handler topic 'crm\.enrich' has no in-process handler: it runs as an external task; a worker must fetch "
        r"topic 'crm\.enrich'$",
    ),
    "send task that sends nothing": (
        one_task('<bpmn:sendTask id="x" name="Notify"/>'),
        "x",
        5,
        r"^send task 'Notify' sends nothing, so it does nothing and the process goes on: set Implementation "
        r"'External' and a topic, or a message$",
    ),
    "data store": (
        process(
            "p",
            '<bpmn:startEvent id="start"/>\n<bpmn:endEvent id="end"/>\n' + flow("f1", "start", "end"),
            '<bpmn:dataStore id="crm" name="CRM"/>\n',
        ),
        "crm",
        3,
        r"^data store 'CRM' is drawn only: Jornada keeps no data store, so what the model reads from or writes to "
        r"it does nothing$",
    ),
}


@pytest.mark.parametrize("name", WARNED_INLINE)
def test_what_the_engine_can_run_deploys_with_a_warning_naming_element_and_line(runtime: Runtime, name: str) -> None:
    data, element, line, message = WARNED_INLINE[name]
    [deployed] = runtime.deploy({"inline.bpmn": data}, actor="designer")
    [warning] = deployed.warnings
    assert (warning.file, warning.element_id, warning.line, warning.severity) == (
        "inline.bpmn",
        element,
        line,
        "warning",
    )
    assert re.search(message, warning.message), warning.message
    assert_readable(warning)
    with runtime.store.session() as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "definition_deployed")).scalar_one()
    assert json.loads(event.payload)["warnings"] == [{"element": element, "line": line, "message": warning.message}]


@pytest.mark.parametrize("name", INLINE)
def test_more_mistakes_are_refused_naming_file_element_and_line(deployed_good: Runtime, name: str) -> None:
    data, element, line, message = INLINE[name]
    [problem] = refused(deployed_good, {"inline.bpmn": data})
    assert (problem.file, problem.element_id, problem.line) == ("inline.bpmn", element, line), problem
    assert re.search(message, problem.message), problem.message
    assert_readable(problem)


def test_send_and_business_rule_tasks_with_a_registered_topic_deploy(runtime: Runtime) -> None:
    for kind in ("sendTask", "businessRuleTask", "serviceTask"):
        task = f'<bpmn:{kind} id="x" camunda:type="external" camunda:topic="mail.send"/>'
        [deployed] = runtime.deploy({f"{kind}.bpmn": one_task(task).replace(b'"p"', f'"{kind}"'.encode())}, actor="d")
        assert str(deployed) == f"{kind} v1 (deployed)"


def test_every_problem_of_a_file_is_reported_at_once(deployed_good: Runtime) -> None:
    body = (
        '<bpmn:startEvent id="start"/>\n'
        '<bpmn:userTask id="a"/>\n'
        '<bpmn:serviceTask id="b"/>\n'
        '<bpmn:endEvent id="end"/>\n' + flow("f1", "start", "a") + flow("f2", "a", "b") + flow("f3", "b", "gone")
    )
    problems = refused(deployed_good, {"many.bpmn": process("many", body)})
    assert [(p.element_id, p.line) for p in problems] == [("f3", 10), ("b", 6)]  # a's missing role: a warning


def test_a_duplicate_process_id_across_files_is_refused(deployed_good: Runtime) -> None:
    [problem] = refused(deployed_good, {"one.bpmn": linear("twin", 1), "two.bpmn": linear("twin", 2)})
    assert (problem.file, problem.element_id, problem.line) == ("two.bpmn", "twin", 3)
    assert problem.message == "another process of this upload has the same id 'twin'"
    assert_readable(problem)


# ---- all or nothing ----------------------------------------------------------------------------------------
def test_a_multi_file_deploy_with_one_bad_file_stores_none_of_them(deployed_good: Runtime) -> None:
    files = {
        "first.bpmn": linear("first", 1),
        "bad.bpmn": (HOSTILE / "dangling_flow.bpmn").read_bytes(),
        "second.bpmn": linear("second", 2),
    }
    problems = refused(deployed_good, files)
    assert [(p.file, p.element_id, p.line) for p in problems] == [("bad.bpmn", "f2", 8)]
    for process_id in ("first", "second"):
        with pytest.raises(NotFound):
            deployed_good.start(process_id, actor="alice")


def test_a_file_that_fails_only_when_the_engine_parses_it_keeps_its_siblings_out_too(deployed_good: Runtime) -> None:
    files = {"first.bpmn": linear("first", 1), "bad.bpmn": (HOSTILE / "complex_gateway.bpmn").read_bytes()}
    [problem] = refused(deployed_good, files)
    assert (problem.file, problem.element_id) == ("bad.bpmn", "vote")


# ---- versions ----------------------------------------------------------------------------------------------
def deployed_events(runtime: Runtime) -> list[AuditEvent]:
    with runtime.store.session() as s:
        return list(
            s.execute(select(AuditEvent).where(AuditEvent.action == "definition_deployed").order_by(AuditEvent.seq))
            .scalars()
            .all()
        )


def test_a_good_file_is_v1_the_same_bytes_are_unchanged_and_a_changed_file_is_v2(runtime: Runtime) -> None:
    [first] = runtime.deploy({"lin.bpmn": linear("lin", 1)}, actor="designer")
    assert (first.process_id, first.version, first.changed, str(first)) == ("lin", 1, True, "lin v1 (deployed)")
    old = runtime.start("lin", actor="alice", customer_id="C-1")

    [again] = runtime.deploy({"renamed.bpmn": linear("lin", 1)}, actor="designer")
    assert (again.version, again.changed, again.definition_id, str(again)) == (
        1,
        False,
        first.definition_id,
        "lin v1 (unchanged)",
    )
    assert len(deployed_events(runtime)) == 1

    [second] = runtime.deploy({"lin.bpmn": linear("lin", 2)}, actor="designer")
    assert (second.version, second.changed, str(second)) == (2, True, "lin v2 (deployed)")
    assert stored(runtime)[0] == [(first.definition_id, "lin", 1), (second.definition_id, "lin", 2)]
    [_, event] = deployed_events(runtime)
    assert (event.actor, event.process_id) == ("designer", "lin")
    assert {k: v for k, v in json.loads(event.payload).items() if k != "sha256"} == {
        "file": "lin.bpmn",
        "previous_version": 1,
        "version": 2,
    }

    new = runtime.start("lin", actor="alice", customer_id="C-2")
    with runtime.store.session() as s:
        old_row, new_row = s.get(ProcessInstance, old), s.get(ProcessInstance, new)
        assert old_row is not None and new_row is not None
        assert (old_row.definition_id, new_row.definition_id) == (first.definition_id, second.definition_id)


def two_processes(second_executable: str = "true") -> bytes:
    def body(prefix: str) -> str:
        return (
            f'<bpmn:startEvent id="{prefix}_start"/>\n'
            + user_task(f"{prefix}_task")
            + f'<bpmn:endEvent id="{prefix}_end"/>\n'
            + flow(f"{prefix}_f1", f"{prefix}_start", f"{prefix}_task")
            + flow(f"{prefix}_f2", f"{prefix}_task", f"{prefix}_end")
        )

    return (
        HEADER
        + '<bpmn:process id="renewal" name="Renewal" isExecutable="true">\n'
        + body("r")
        + "</bpmn:process>\n"
        + f'<bpmn:process id="upsell" name="Upsell" isExecutable="{second_executable}">\n'
        + body("u")
        + "</bpmn:process>\n</bpmn:definitions>\n"
    ).encode()


def test_a_file_with_two_executable_processes_deploys_both(runtime: Runtime) -> None:
    result = runtime.deploy({"pair.bpmn": two_processes()}, actor="designer")
    assert [str(d) for d in result] == ["renewal v1 (deployed)", "upsell v1 (deployed)"]
    with runtime.store.session() as s:
        rows = s.execute(select(ProcessDefinition).order_by(ProcessDefinition.process_id)).scalars().all()
        assert [(r.process_id, r.name, r.file_name) for r in rows] == [
            ("renewal", "Renewal", "pair.bpmn"),
            ("upsell", "Upsell", "pair.bpmn"),
        ]
    for process_id in ("renewal", "upsell"):
        runtime.start(process_id, actor="alice", customer_id="C-1")
    assert [str(d) for d in runtime.deploy({"pair.bpmn": two_processes()}, actor="designer")] == [
        "renewal v1 (unchanged)",
        "upsell v1 (unchanged)",
    ]


def test_a_non_executable_pool_next_to_an_executable_process_is_ignored(runtime: Runtime) -> None:
    assert [str(d) for d in runtime.deploy({"pair.bpmn": two_processes("false")}, actor="designer")] == [
        "renewal v1 (deployed)"
    ]
    with pytest.raises(NotFound):
        runtime.start("upsell", actor="alice")


def test_a_call_activity_may_call_a_process_of_the_same_upload_or_one_already_deployed(runtime: Runtime) -> None:
    caller = process(
        "journey",
        '<bpmn:startEvent id="start"/>\n<bpmn:callActivity id="call" calledElement="step"/>\n'
        '<bpmn:endEvent id="end"/>\n' + flow("f1", "start", "call") + flow("f2", "call", "end"),
    )
    assert [str(d) for d in runtime.deploy({"j.bpmn": caller, "s.bpmn": linear("step", 1)}, actor="d")] == [
        "journey v1 (deployed)",
        "step v1 (deployed)",
    ]
    assert [str(d) for d in runtime.deploy({"j.bpmn": caller.replace(b"journey", b"journey2")}, actor="d")] == [
        "journey2 v1 (deployed)"
    ]


def test_a_call_to_a_deployed_process_whose_file_holds_a_process_of_the_upload_is_refused(runtime: Runtime) -> None:
    """journey.bpmn holds "journey" and "step"; a new upload defines "step" again and calls "journey"."""
    runtime.deploy({"journey.bpmn": two_processes().replace(b"upsell", b"step")}, actor="d")
    caller = process(
        "campaign",
        '<bpmn:startEvent id="start"/>\n<bpmn:callActivity id="call" calledElement="renewal"/>\n'
        '<bpmn:endEvent id="end"/>\n' + flow("f1", "start", "call") + flow("f2", "call", "end"),
    )
    [problem] = refused(runtime, {"campaign.bpmn": caller, "step.bpmn": linear("step", 1)})
    assert (problem.file, problem.element_id, problem.line) == ("campaign.bpmn", "call", 5)
    assert problem.message == (
        "call activity calls the deployed process 'renewal', whose file also defines 'step', which this upload "
        "defines again: deploy 'renewal' with it"
    )
