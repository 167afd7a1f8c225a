"""Conformance with the OMG BPMN MIWG reference models (../shared/conformance/miwg, CC-BY-3.0, see SOURCES.tsv there).

Every file is deployed as drawn, or refused with problems that each name the file, an element and a line; what the
engine runs differently from what the model may mean (a step with no role, a data store) comes as warnings, which
name them too. Then each
model is "made executable" -- every process isExecutable="true", a role on every human step that has none, a topic
on every service, business-rule or message-less send task that has none, and a test handler for every topic the model
names (its own ones are not registered here) -- and every process deployed that way runs through the facade: start,
complete every open human task with {}, fire timers by moving the clock, until it completes, waits for a message, or
stops in an incident that says why.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import OPEN_TASK_STATES, DeployError, FrozenClock, HandlerContext, HandlerRegistry, Problem, Runtime, Store
from engine._outbox import LogTransport
from engine._sandbox import Sandbox
from engine._specs import parse_xml
from engine.models import AuditEvent, HumanTask, ProcessDefinition, ProcessInstance, Timer
from tests.engine.helpers import (
    MADE_EXECUTABLE,
    MIWG,
    REMINDERS,
    Ran,
    made_executable,
    miwg,
)

STEP_LIMIT = 60


# ---- what each problem is about, so a refusal can be compared with what the model holds ---------------------
REASONS = {
    "not executable": r"is not executable: tick 'Executable'",
    "no role": r"has no role",
    "no handler": r"has no handler",
    "no decision": r"^business rule task '.*' has neither a decision nor a handler",
    "unknown decision": r"^business rule task '.*' calls decision '.*', which is neither deployed nor in this upload",
    "sends nothing": r"sends nothing, so it does nothing",
    "implicitly executable": r"does not say whether it is executable: it is deployed as executable",
    "external task": r"^handler topic '.*' has no in-process handler: it runs as an external task",
    "condition not Python": r"^condition .* is not valid Python",
    "expression not supported": r"^(condition|timer \w+) '.*': .* (is|are) not supported",
    "multi-instance without collection": r"^a multi-instance activity needs a loop cardinality or a collection",
    "unknown called process": r"^call activity calls process '.*', which is neither deployed nor in this upload",
    "flow without condition": r"with no condition and is not its default flow",
    "empty timer": r"^the timer's \w+ is empty$|^timer has no timeDuration",
    "split without gateway": r"outgoing sequence flows \(.*\); split with a gateway",
    "empty sub-process": r"^a sub-process needs exactly one start event inside it; it has 0$",
    "data store": r"^data store '.*' is drawn only",
}


def reason(problem: Problem) -> str:
    return next((name for name, pattern in REASONS.items() if re.search(pattern, problem.message)), problem.message)


def assert_located(problems: list[Problem], name: str, data: bytes) -> None:
    """Every problem names the file, an element of it and a line of that element (its start tag, or the line of
    one of its children: a condition, a timer, a script line, a property)."""
    root = parse_xml(data)
    for problem in problems:
        assert problem.file == name, problem
        assert problem.element_id, problem
        found = root.xpath("//*[@id=$i]", i=problem.element_id)
        assert found, f"{problem}: no element has that id"
        lines = {el.sourceline for el in found} | {el.sourceline for el in found[0].iter() if el is not found[0]}
        assert problem.line in lines, f"{problem}: the element is on line {found[0].sourceline}"


# ---- running -----------------------------------------------------------------------------------------------
@dataclass
class Run:
    status: str
    incident: str | None = None
    waiting_for: list[str] = field(default_factory=list)  # bpmn ids of WAITING events when it stopped
    steps: list[str] = field(default_factory=list)  # "task <name>" / "timer <element id>", in order


INTERNAL = re.compile(r"\.(EndJoin|BoundaryEvent(Split|Join))$|^(Start|End|StartEvent(Split|Join))$")  # not BPMN


def waiting_events(state_json: str) -> list[str]:
    """The BPMN elements (events, receive tasks) an instance waits on."""
    found: list[str] = []

    def walk(workflow: dict) -> None:
        for task in workflow["tasks"].values():
            if task["state"] == TaskState.WAITING and not INTERNAL.search(task["task_spec"]):
                found.append(task["task_spec"])
        for sub in workflow.get("subprocesses", {}).values():
            walk(sub)

    walk(json.loads(state_json))
    return sorted(found)


def drive(runtime: Runtime, clock: FrozenClock, process_id: str) -> Run:
    iid = runtime.start(process_id, actor="tester", customer_id="C-1")
    steps: list[str] = []
    for _ in range(STEP_LIMIT):
        with runtime.store.session() as s:
            instance = s.get(ProcessInstance, iid)
            assert instance is not None
            tasks = s.execute(
                select(HumanTask)
                .where(HumanTask.instance_id == iid, HumanTask.state.in_(OPEN_TASK_STATES))
                .order_by(HumanTask.id)
            ).scalars()
            task = next(iter(tasks), None)
            timer = s.execute(select(Timer).where(Timer.instance_id == iid).order_by(Timer.due_at)).scalars().first()
        if instance.status in ("completed", "incident", "cancelled"):
            break
        if task is not None:
            assert task.candidate_groups, f"human task {task.element_id} has no role"
            steps.append(f"task {task.name}")
            runtime.complete(task.id, actor="tester", data={})
        elif timer is not None:
            steps.append(f"timer {timer.element_id}")
            clock.set(max(clock.now(), timer.due_at))  # a timer fires at its due moment
            assert runtime.fire_due_timers() >= 1
        else:
            break
    else:
        pytest.fail(f"{process_id} still runs after {STEP_LIMIT} steps: {steps}")
    return Run(instance.status, instance.incident, waiting_events(instance.state_json), steps)


class Calls:
    """The test handlers: record which element called which topic; they add nothing to the task data."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def handler(self, topic: str) -> Callable[[HandlerContext], dict[str, object]]:
        def handle(context: HandlerContext) -> dict[str, object]:
            self.seen.append((topic, context.element_id))
            return {}

        return handle


Build = Callable[[set[str]], tuple[Runtime, Calls]]


@pytest.fixture
def build(store: Store, clock: FrozenClock, config: dict, sandbox: Sandbox, mail: LogTransport) -> Iterator[Build]:
    """A runtime like conftest's, whose registry serves ``topics`` with test handlers."""
    made: list[Runtime] = []

    def make(topics: set[str]) -> tuple[Runtime, Calls]:
        calls, registry = Calls(), HandlerRegistry()
        for topic in sorted(topics):
            registry.register(topic, calls.handler(topic))
        made.append(Runtime(store, registry, clock=clock, config=config, transport=mail, sandbox=sandbox))
        return made[-1], calls

    yield make
    for runtime in made:
        runtime.close()


# ---- what each model gets (each entry checked against the model's XML) --------------------------------------
# As drawn: most processes are not executable; the executable ones hold Camunda 7 (JUEL), XPath or FEEL
# conditions, Java delegates / Zeebe job types instead of handler topics (refused), human steps without a role,
# data stores and message-less send tasks (warned about: AS_DRAWN_WARNINGS).
AS_DRAWN: dict[str, dict[str, int]] = {
    "A.1.0.bpmn": {"not executable": 1},
    "A.2.0.bpmn": {"not executable": 1},
    "A.2.1.bpmn": {"not executable": 1},
    "A.3.0.bpmn": {"not executable": 1},
    "A.4.0.bpmn": {"not executable": 2},  # two pools
    "A.4.1.bpmn": {"not executable": 2},
    "B.1.0.bpmn": {"not executable": 4},
    "B.2.0.bpmn": {"not executable": 4},
    # JUEL ${approved} ...; archiveInvoice is a camunda:delegateExpression (Java); its tasks are in named lanes
    "C.1.0.bpmn": {"no handler": 1},
    # XPath bpmn:getDataObject(...); 4 user tasks whose potential owners are bpmn:resources, no lanes; a data store
    "C.1.1.bpmn": {"condition not Python": 4, "no handler": 1},
    "C.2.0.bpmn": {"not executable": 4},
    # "Service Level == 'Premium'"; gateways 'Service type' (3), 'Service level' (1), 'Successful?' (2)
    "C.3.0.bpmn": {"condition not Python": 1, "flow without condition": 6},
    # isExecutable absent (executable, with a warning): 'Contract terms accepted ?', 'All necessary data available?'
    "C.4.0.bpmn": {"flow without condition": 4, "no handler": 1},
    "C.5.0.bpmn": {"flow without condition": 12},  # isExecutable absent; 6 yes/no gateways
    "C.6.0.bpmn": {"no handler": 6, "empty timer": 2},  # isExecutable absent
    # isExecutable absent; 'Select other platforms': a business rule task with no decision
    "C.7.0.bpmn": {"flow without condition": 2, "no handler": 2, "no decision": 1},
    "C.8.0.bpmn": {"not executable": 1},
    # FEEL; 3 service tasks, 1 business rule task and 4 send tasks with Zeebe job types (external tasks); 1 user task
    "C.8.1.bpmn": {"expression not supported": 3},
    # FEEL; 6 service tasks (Zeebe job types: external tasks), 1 business rule task calling decision risk_check
    # (no DMN file); UserTask_HandleTimeout
    "C.9.0.bpmn": {"unknown decision": 1},
    # UserTask_CallCustomer; two send tasks with camunda:topic="emailService", not registered here: external tasks.
    # Nothing refused: it deploys as drawn
    "C.9.1.bpmn": {},
    # '=fraud' (FEEL); 3 user tasks with Zeebe candidate groups (read: no warning); SendTask_NotifyCustomerDelay
    "C.9.2.bpmn": {"multi-instance without collection": 1, "unknown called process": 1},
}
AS_DRAWN_WARNINGS: dict[str, dict[str, int]] = {
    "C.1.1.bpmn": {"no role": 4, "data store": 1},
    "C.3.0.bpmn": {"no role": 4},
    # 9 human steps outside any lane; 6 references to the 3 data stores
    "C.4.0.bpmn": {"implicitly executable": 4, "no role": 9, "data store": 6},
    "C.5.0.bpmn": {"implicitly executable": 2, "no role": 2, "data store": 3},
    "C.6.0.bpmn": {"implicitly executable": 1, "sends nothing": 6},
    "C.7.0.bpmn": {"implicitly executable": 1},
    "C.8.1.bpmn": {"external task": 8},
    "C.9.0.bpmn": {"no role": 1, "external task": 7},  # 6 service tasks and a send task with Zeebe job types
    "C.9.1.bpmn": {"no role": 1, "external task": 2},
    "C.9.2.bpmn": {"external task": 1},  # SendTask_NotifyCustomerDelay: Zeebe job type notifyCustomerDelay
}


# Made executable, warned about: the data stores (Employee Details, User Management, Payroll; Bank System,
# Customer Data) are drawn only.
MADE_EXECUTABLE_WARNINGS: dict[str, dict[str, int]] = {
    "B.1.0.bpmn": {"data store": 1},
    "B.2.0.bpmn": {"data store": 1},
    "C.1.1.bpmn": {"data store": 1},
    "C.4.0.bpmn": {"data store": 6},
    "C.5.0.bpmn": {"data store": 3},
}


def test_the_reference_suite_is_all_here() -> None:
    if not MIWG.is_dir():
        miwg("SOURCES.tsv")  # fails in CI, skips elsewhere
    names = sorted(p.name for p in MIWG.glob("*.bpmn"))
    assert names == sorted(AS_DRAWN) == sorted(MADE_EXECUTABLE)
    sources = (MIWG / "SOURCES.tsv").read_text().splitlines()
    assert sorted(line.split("\t")[0] for line in sources if line.strip()) == names


@pytest.mark.parametrize("name", sorted(AS_DRAWN))
def test_a_model_as_drawn_is_deployed_or_refused_naming_file_element_and_line(runtime: Runtime, name: str) -> None:
    data = miwg(name)
    if not AS_DRAWN[name]:  # nothing to refuse: deployed, with its warnings
        warnings = [w for deployed in runtime.deploy({name: data}, actor="designer") for w in deployed.warnings]
        assert_located(warnings, name, data)
        assert dict(Counter(reason(p) for p in warnings)) == AS_DRAWN_WARNINGS.get(name, {})
        return
    with pytest.raises(DeployError) as caught:
        runtime.deploy({name: data}, actor="designer")
    assert_located(caught.value.problems + caught.value.warnings, name, data)
    assert dict(Counter(reason(p) for p in caught.value.problems)) == AS_DRAWN[name]
    assert dict(Counter(reason(p) for p in caught.value.warnings)) == AS_DRAWN_WARNINGS.get(name, {})
    with runtime.store.session() as s:
        assert s.execute(select(ProcessDefinition)).first() is None


def test_an_xpath_condition_is_refused_naming_its_language_and_what_to_write(runtime: Runtime) -> None:
    with pytest.raises(DeployError) as caught:
        runtime.deploy({"C.1.1.bpmn": miwg("C.1.1.bpmn")}, actor="designer")
    [problem] = [p for p in caught.value.problems if p.element_id == "invoiceApproved"]
    assert problem.message == (
        "condition \"bpmn:getDataObject('approved')\" is not valid Python: invalid syntax; it is written in XPath "
        "(expressionLanguage 'http://www.w3.org/1999/XPath'), which Jornada does not evaluate: write it as a Python, "
        "JUEL ${…} or FEEL =… expression over the process data"
    )


@pytest.mark.parametrize("name", sorted(MADE_EXECUTABLE))
def test_a_model_made_executable_runs_to_its_end_or_is_refused_naming_file_element_and_line(
    build: Build, clock: FrozenClock, name: str
) -> None:
    data, topics = made_executable(miwg(name))
    assert data.count(b"\n") == miwg(name).count(b"\n")
    runtime, calls = build(topics)
    expected = MADE_EXECUTABLE[name]
    if not isinstance(expected, Ran):
        with pytest.raises(DeployError) as caught:
            runtime.deploy({name: data}, actor="designer")
        assert_located(caught.value.problems + caught.value.warnings, name, data)
        assert dict(Counter(reason(p) for p in caught.value.problems)) == expected
        assert dict(Counter(reason(p) for p in caught.value.warnings)) == MADE_EXECUTABLE_WARNINGS.get(name, {})
        return
    for deployed in runtime.deploy({name: data}, actor="designer"):
        run = drive(runtime, clock, deployed.process_id)
        assert Ran(run.status, run.steps, calls.seen) == expected, run
        if run.status == "incident":
            assert run.incident


def test_the_answer_to_c_9_1_reaches_its_receive_task_and_stops_the_reminders(build: Build, clock: FrozenClock) -> None:
    data, topics = made_executable(miwg("C.9.1.bpmn"))
    runtime, calls = build(topics)
    runtime.deploy({"C.9.1.bpmn": data}, actor="designer")
    iid = runtime.start("requestDocument_en", actor="tester", customer_id="C-1")
    for day in (1, 2):  # two daily reminders go out while the request waits
        clock.set(clock.now() + timedelta(days=1))
        assert runtime.fire_due_timers() == 1, f"day {day}"
    with runtime.store.session() as s:
        instance = s.get(ProcessInstance, iid)
        assert instance is not None and instance.status == "waiting"
        assert waiting_events(instance.state_json) == [
            "BoundaryEvent_1",
            "BoundaryEvent_2",
            "ReceiveTask_WaitForDocument",
        ]

    assert runtime.send_message(
        "MESSAGE_documentReceived", {"document": "passport"}, actor="crm", customer_id="C-1"
    ) == [iid]
    with runtime.store.session() as s:
        instance = s.get(ProcessInstance, iid)
        assert instance is not None and instance.status == "completed"
        assert s.execute(select(Timer).where(Timer.instance_id == iid)).first() is None
        received = s.execute(select(AuditEvent).where(AuditEvent.action == "message_received")).scalars().all()
        assert [json.loads(e.payload)["element"] for e in received] == ["ReceiveTask_WaitForDocument"]
    assert calls.seen == [("emailService", "SendTask_RequestDocument"), *REMINDERS[:2]]


def test_the_c_9_models_deployed_together_are_refused_file_by_file(build: Build) -> None:
    """C.9.0 calls ManualCheck (C.9.2), which calls requestDocument_en (C.9.1): one upload, three files."""
    files = {name: made_executable(miwg(name)) for name in ("C.9.0.bpmn", "C.9.1.bpmn", "C.9.2.bpmn")}
    runtime, _ = build(set().union(*(topics for _, topics in files.values())))
    with pytest.raises(DeployError) as caught:
        runtime.deploy({name: data for name, (data, _) in files.items()}, actor="designer")
    by_file = Counter((p.file, reason(p)) for p in caught.value.problems)
    assert by_file == {("C.9.2.bpmn", "multi-instance without collection"): 1}
    for name, (data, _) in files.items():
        assert_located([p for p in caught.value.problems if p.file == name], name, data)
    with runtime.store.session() as s:
        assert s.execute(select(ProcessDefinition)).first() is None
