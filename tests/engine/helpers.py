"""Helpers shared by the tests of tests/engine/.

A test module imports helpers from a helpers module, never from another test module or a conftest.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

from engine import OPEN_TASK_STATES, FrozenClock, Runtime, parse_xml
from engine.models import (
    AuditEvent,
    HumanTask,
    ProcessInstance,
    Timer,
)
from tests.bpmn_builder import flow, process, user_task

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
TEST_TOPIC = "test.echo"
DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"
FIELD = '<camunda:formField id="note" label="Note" type="string"/>'
ERRORS = '<bpmn:error id="err_missing" name="Missing" errorCode="NOT_FOUND"/>\n'
GOAL_FIELD = '<camunda:formField id="goal" label="Goal" type="string"/>'
DONE_FIELD = '<camunda:formField id="done" label="Done" type="boolean"/>'
WEEK = '<bpmn:timerEventDefinition><bpmn:timeDuration>"P7D"</bpmn:timeDuration></bpmn:timerEventDefinition>'
REMINDERS = [("emailService", "SendTask_SendReminderEmail")] * 6


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def rule(rule_id: str, segment: str, mrr: str, discount: str) -> str:
    return (
        f'<rule id="{rule_id}">'
        f'<inputEntry id="{rule_id}_s"><text>{segment}</text></inputEntry>'
        f'<inputEntry id="{rule_id}_m"><text>{mrr}</text></inputEntry>'
        f'<outputEntry id="{rule_id}_d"><text>{discount}</text></outputEntry></rule>\n'
    )


def loop_body(prefix: str = "") -> str:
    """intake (sets ``goal``) -> work -> a week's wait -> done? else work again; at the end a step per goal."""
    return (
        f'<bpmn:startEvent id="{prefix}start"/>'
        + user_task(f"{prefix}intake", "Intake", "csm", GOAL_FIELD)
        + user_task(f"{prefix}work", "Weekly session", "csm", DONE_FIELD)
        + f'<bpmn:intermediateCatchEvent id="{prefix}wait">{WEEK}</bpmn:intermediateCatchEvent>'
        + f'<bpmn:exclusiveGateway id="{prefix}more" default="{prefix}f_again"/>'
        + f'<bpmn:exclusiveGateway id="{prefix}which" default="{prefix}f_other"/>'
        + user_task(f"{prefix}grow", "Plan growth", "csm")
        + user_task(f"{prefix}other", "Plan something else", "csm")
        + f'<bpmn:endEvent id="{prefix}end_grow"/><bpmn:endEvent id="{prefix}end_other"/>'
        + flow(f"{prefix}f1", f"{prefix}start", f"{prefix}intake")
        + flow(f"{prefix}f2", f"{prefix}intake", f"{prefix}work")
        + flow(f"{prefix}f3", f"{prefix}work", f"{prefix}wait")
        + flow(f"{prefix}f4", f"{prefix}wait", f"{prefix}more")
        + flow(f"{prefix}f_again", f"{prefix}more", f"{prefix}work")
        + flow(f"{prefix}f_done", f"{prefix}more", f"{prefix}which", "done")
        + flow(f"{prefix}f_grow", f"{prefix}which", f"{prefix}grow", 'goal == "grow"')
        + flow(f"{prefix}f_other", f"{prefix}which", f"{prefix}other")
        + flow(f"{prefix}f5", f"{prefix}grow", f"{prefix}end_grow")
        + flow(f"{prefix}f6", f"{prefix}other", f"{prefix}end_other")
    )


def open_tasks(runtime: Runtime, instance_id: str) -> list[HumanTask]:
    with runtime.store.session() as s:
        return list(
            s.execute(
                select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.state.in_(OPEN_TASK_STATES))
            ).scalars()
        )


def instance(runtime: Runtime, instance_id: str) -> ProcessInstance:
    with runtime.store.session() as s:
        found = s.get(ProcessInstance, instance_id)
        assert found is not None
        return found


WAIT = process(
    "wait",
    '<bpmn:startEvent id="start"/><bpmn:intermediateCatchEvent id="pause" name="Two days">'
    "<bpmn:timerEventDefinition><bpmn:timeDuration>delay</bpmn:timeDuration></bpmn:timerEventDefinition>"
    "</bpmn:intermediateCatchEvent>"
    + user_task("after", "After the pause")
    + '<bpmn:endEvent id="end"/>'
    + flow("f1", "start", "pause")
    + flow("f2", "pause", "after")
    + flow("f3", "after", "end"),
)


def timers(runtime: Runtime) -> list[tuple[str, str]]:
    with runtime.store.session() as s:
        return [(t.element_id, t.due_at.isoformat()) for t in s.execute(select(Timer).order_by(Timer.due_at)).scalars()]


# "call" (warn P1D, stuck P3D) is cancelled by an interrupting timer after two days, which opens "escalate"
DEADLINE = process(
    "deadline",
    '<bpmn:startEvent id="start"/>'
    + user_task("call", "Call customer", "csm")
    + '<bpmn:boundaryEvent id="late" name="Too late" attachedToRef="call">'
    "<bpmn:timerEventDefinition><bpmn:timeDuration>P2D</bpmn:timeDuration></bpmn:timerEventDefinition>"
    "</bpmn:boundaryEvent>"
    + user_task("escalate", "Escalate", "cs_lead")
    + '<bpmn:endEvent id="end"/><bpmn:endEvent id="end_late"/>'
    + flow("f1", "start", "call")
    + flow("f2", "call", "end")
    + flow("f3", "late", "escalate")
    + flow("f4", "escalate", "end_late"),
)


def scored(script: str) -> bytes:
    """Enter health, a script task running ``script``, review (FAILING's script reads a value no form sets)."""
    return process(
        "scored",
        '<bpmn:startEvent id="start"/>'
        + user_task("enter", "Enter health")
        + f'<bpmn:scriptTask id="score" name="Score account" scriptFormat="python"><bpmn:script>{script}'
        "</bpmn:script></bpmn:scriptTask>"
        + user_task("review", "Review score")
        + '<bpmn:endEvent id="end"/>'
        + flow("f1", "start", "enter")
        + flow("f2", "enter", "score")
        + flow("f3", "score", "review")
        + flow("f4", "review", "end"),
    )


FAILING = scored("score = health * 2")


# -- helpers -------------------------------------------------------------------------------------------------
def tasks(runtime: Runtime, iid: str) -> list[tuple[str, str, str | None]]:
    """(element, state, completed_by) of every human_task row of the instance, oldest first."""
    with runtime.store.session() as s:
        rows = s.execute(select(HumanTask).where(HumanTask.instance_id == iid).order_by(HumanTask.id)).scalars()
        return [(r.element_id, r.state, r.completed_by) for r in rows]


def open_task(runtime: Runtime, iid: str, element: str) -> HumanTask:
    with runtime.store.session() as s:
        return s.execute(
            select(HumanTask).where(
                HumanTask.instance_id == iid, HumanTask.element_id == element, HumanTask.state.in_(OPEN_TASK_STATES)
            )
        ).scalar_one()


def events(runtime: Runtime, iid: str, action: str) -> list[tuple[str, dict]]:
    with runtime.store.session() as s:
        query = select(AuditEvent).where(AuditEvent.instance_id == iid, AuditEvent.action == action)
        rows = s.execute(query.order_by(AuditEvent.seq)).scalars()
        return [(e.actor, json.loads(e.payload)) for e in rows]


def snapshot(runtime: Runtime, iid: str) -> tuple:
    """Everything an operation on ``iid`` could change."""
    row = instance(runtime, iid)
    with runtime.store.session() as s:
        audit_count = s.execute(select(func.count()).select_from(AuditEvent)).scalar()
        timers = s.execute(select(Timer.task_id, Timer.due_at).where(Timer.instance_id == iid)).all()
    return row.version, row.status, row.state_json, tasks(runtime, iid), audit_count, timers


LOOP = process("weekly", loop_body())


def the_task(runtime: Runtime, instance_id: str) -> HumanTask:
    [task] = open_tasks(runtime, instance_id)
    return task


def run_weeks(runtime: Runtime, clock: FrozenClock, instance_id: str, weeks: int, prefix: str = "") -> None:
    """``weeks`` iterations of the loop: the weekly session (not done yet), then its timer firing."""
    for _ in range(weeks):
        task = the_task(runtime, instance_id)
        assert task.element_id == f"{prefix}work"
        runtime.complete(task.id, actor="ana", data={"done": False})
        clock.advance(days=7, seconds=1)
        assert runtime.fire_due_timers() == 1


def without(process_id: str, *names: str) -> bytes:
    """start -> each of ``names`` (user tasks named like linear()'s) -> end."""
    body = '<bpmn:startEvent id="start"/>\n'
    previous = "start"
    for name in names:
        body += user_task(name, f"Step {name[1:]}", "csm", FIELD) + flow(f"f_{name}", previous, name)
        previous = name
    return process(process_id, body + '<bpmn:endEvent id="end"/>\n' + flow("f_end", previous, "end"))


def complete(runtime: Runtime, iid: str, element: str) -> str:
    return runtime.complete(open_task(runtime, iid, element).id, actor="sam", data={"note": element})


def enrich_model(topic: str = 'camunda:type="external" camunda:topic="crm.enrich"') -> bytes:
    """start -> enrich (external, a boundary error NOT_FOUND -> fix) -> review -> end."""
    return process(
        "crm_enrich",
        '<bpmn:startEvent id="start"/>\n'
        f'<bpmn:serviceTask id="enrich" name="Enrich from CRM" {topic}/>\n'
        '<bpmn:boundaryEvent id="missing" attachedToRef="enrich">'
        '<bpmn:errorEventDefinition errorRef="err_missing"/></bpmn:boundaryEvent>\n'
        + user_task("review", "Review", fields='<camunda:formField id="note" label="Note" type="string"/>')
        + user_task("fix", "Fix the CRM record")
        + '<bpmn:endEvent id="end"/>\n<bpmn:endEvent id="end_fix"/>\n'
        + flow("f1", "start", "enrich")
        + flow("f2", "enrich", "review")
        + flow("f3", "review", "end")
        + flow("f4", "missing", "fix")
        + flow("f5", "fix", "end_fix"),
        ERRORS,
    )


def dmn(
    rules: str = "",
    *,
    decision_id: str = "discount",
    hit_policy: str = "FIRST",
    namespace: str = DMN13,
    extra: str = "",
) -> bytes:
    """A "discount" decision table on customer segment and MRR (the first matching rule wins)."""
    rules = rules or (
        rule("r1", '"enterprise"', "&gt;= 1000", "15") + rule("r2", '"smb"', "-", "5") + rule("r3", "-", "-", "0")
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<definitions xmlns="{namespace}" id="pricing" name="Pricing" namespace="http://jornada.test/dmn">\n'
        f'<decision id="{decision_id}" name="Discount">\n'
        f'<decisionTable id="{decision_id}_table" hitPolicy="{hit_policy}">\n'
        '<input id="in_segment" label="Segment"><inputExpression id="ie_segment" typeRef="string">'
        "<text>segment</text></inputExpression></input>\n"
        '<input id="in_mrr" label="MRR"><inputExpression id="ie_mrr" typeRef="number">'
        "<text>mrr</text></inputExpression></input>\n"
        '<output id="out_discount" name="discount" typeRef="number"/>\n'
        + rules
        + "</decisionTable>\n</decision>\n"
        + extra
        + "</definitions>\n"
    ).encode()


MIWG = Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "miwg"


def miwg(name: str) -> bytes:
    path = MIWG / name
    if not path.is_file():
        message = f"the MIWG reference models are missing: {path} (expected at ../shared/conformance/miwg)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path.read_bytes()


# ---- made executable: edits in place, so every line number stays the one of the drawn file ------------------
def made_executable(data: bytes) -> tuple[bytes, set[str]]:
    """The model with every process executable, a role on every human step without one and a topic on every
    handler task without one; returns it and the topics its tasks name."""
    root = parse_xml(data)
    text = data.decode("utf-8")
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    edits: list[tuple[int, int, str]] = []

    def start_tag(el: etree._Element) -> tuple[int, int]:
        qname = f"{el.prefix}:{etree.QName(el).localname}" if el.prefix else etree.QName(el).localname
        begin = text.index(f"<{qname}", starts[el.sourceline - 1])
        return begin + 1 + len(qname), text.index(">", begin)

    def add(el: etree._Element, attribute: str) -> None:
        at, _ = start_tag(el)
        edits.append((at, at, f' xmlns:jc="{CAMUNDA}" jc:{attribute}'))

    ns = {"bpmn": BPMN}
    for process_element in root.iterfind(".//bpmn:process", ns):
        at, end = start_tag(process_element)
        found = re.search(r'\bisExecutable\s*=\s*"[^"]*"', text[at:end])
        if found:
            edits.append((at + found.start(), at + found.end(), 'isExecutable="true"'))
        else:
            edits.append((at, at, ' isExecutable="true"'))
    in_lane = {  # a lane's name is the role of the tasks in it
        ref.text.strip()
        for ref in root.iterfind(".//bpmn:lane/bpmn:flowNodeRef", ns)
        if ref.text and (ref.getparent().get("name") or "").strip()
    }
    for task in root.xpath("//bpmn:userTask | //bpmn:manualTask | //bpmn:task", namespaces=ns):
        if not task.get(f"{{{CAMUNDA}}}candidateGroups") and task.get("id") not in in_lane:
            add(task, 'candidateGroups="staff"')
    topics = set()
    for task in root.xpath("//bpmn:serviceTask | //bpmn:businessRuleTask | //bpmn:sendTask", namespaces=ns):
        topic = task.get(f"{{{CAMUNDA}}}topic")
        sends_message = task.get("messageRef") or task.find(f"{{{BPMN}}}messageEventDefinition") is not None
        if topic:
            topics.add(topic)
        elif not (etree.QName(task).localname == "sendTask" and sends_message):
            add(task, f'topic="{TEST_TOPIC}"')
            topics.add(TEST_TOPIC)
    for begin, end, new in sorted(edits, reverse=True):
        text = text[:begin] + new + text[end:]
    return text.encode("utf-8"), topics


@dataclass(frozen=True)
class Ran:
    status: str
    steps: list[str]  # "task <name>" completed / "timer <element id>" fired, in order
    calls: list[tuple[str, str]]  # (topic, element) of every handler call, in order


# Made executable: refused for what Jornada does not run (non-Python conditions, unconditioned gateway flows,
# implicit splits after a task, empty timers, an empty sub-process), or run to the end.
MADE_EXECUTABLE: dict[str, dict[str, int] | Ran] = {
    # start -> Task 1 -> Task 2 -> Task 3 -> end
    "A.1.0.bpmn": Ran("completed", ["task Task 1", "task Task 2", "task Task 3"], []),
    "A.2.0.bpmn": {"flow without condition": 3},  # 'Gateway (Split Flow)': 3 flows, no default
    # Task 2 and Task 4: a conditional and a default flow each; the split gateway: 2 empty conditions + default
    "A.2.1.bpmn": {"split without gateway": 2, "flow without condition": 2},
    "A.3.0.bpmn": {"empty sub-process": 1},  # 'Collapsed Sub-Process' holds nothing
    "A.4.0.bpmn": {"split without gateway": 1},  # Task 3 -> both expanded sub-processes (implicit parallel split)
    "A.4.1.bpmn": {"split without gateway": 1},
    "B.1.0.bpmn": {"empty timer": 1, "flow without condition": 4},
    # inclusive 1 + exclusive 1 + exclusive 2
    "B.2.0.bpmn": {"flow without condition": 4, "empty timer": 4},
    "C.1.0.bpmn": {"empty timer": 1},  # Team-Assistant pool: a timer without time
    "C.1.1.bpmn": {"condition not Python": 4},
    "C.2.0.bpmn": {"flow without condition": 6},  # 'Retry?', 'Payment accepted?', 'Done Shopping?'
    "C.3.0.bpmn": {"condition not Python": 1, "flow without condition": 6},
    # 'Contract terms accepted ?', 'All necessary data available?'; Employee Details, User Management, Payroll
    "C.4.0.bpmn": {"flow without condition": 4},
    "C.5.0.bpmn": {"flow without condition": 12},  # 6 yes/no gateways
    "C.6.0.bpmn": {"empty timer": 2},
    "C.7.0.bpmn": {"flow without condition": 2},  # 'Advertisement approved?'
    "C.8.0.bpmn": {"condition not Python": 3},
    "C.8.1.bpmn": {"expression not supported": 3},
    "C.9.0.bpmn": {"unknown called process": 1},
    # request document (handler), wait for the answer: a daily reminder (R6/P1D, non-interrupting) six times,
    # after a week (P7D, interrupting) call the customer, end
    "C.9.1.bpmn": Ran(
        "completed",
        [*["timer BoundaryEvent_1"] * 6, "timer BoundaryEvent_2", "task Call customer"],
        [("emailService", "SendTask_RequestDocument"), *REMINDERS],
    ),
    "C.9.2.bpmn": {"multi-instance without collection": 1, "unknown called process": 1},
}
