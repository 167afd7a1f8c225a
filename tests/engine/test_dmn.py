"""DMN decision tables deployed beside the models (issue 10, item 4): a business rule task that calls a decision
(``camunda:decisionRef``, Zeebe's ``zeebe:calledDecision``) runs its decision table through the sandbox, the
result routes a gateway, and the decision is stored so a restarted engine still runs it. A reference to a
decision that is neither deployed nor uploaded, an unreadable DMN file and a decision table the engine cannot
evaluate are refused naming the file, the decision and the line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from engine import OPEN_TASK_STATES, DeployError, FrozenClock, Runtime, Store
from engine._outbox import LogTransport
from engine._sandbox import Sandbox
from engine.models import (
    AuditEvent,
    DecisionDefinition,
    HumanTask,
    ProcessDecision,
    ProcessDefinition,
    ProcessInstance,
)
from processes import build_registry
from tests.bpmn_builder import HEADER
from tests.engine.helpers import DMN13, dmn, rule

ZEEBE = 'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"'


def model(reference: str = 'camunda:decisionRef="discount"', inner: str = "", header: str = HEADER) -> bytes:
    """collect (csm) -> business rule task "decide" -> discount >= 10 ? approve (csm) : end."""
    return (
        header
        + '<bpmn:process id="pricing" name="Pricing" isExecutable="true">\n'
        + '<bpmn:startEvent id="start"/>\n'
        + '<bpmn:userTask id="collect" name="Collect" camunda:candidateGroups="csm"/>\n'
        + f'<bpmn:businessRuleTask id="decide" name="Decide discount" {reference}>{inner}</bpmn:businessRuleTask>\n'
        + '<bpmn:exclusiveGateway id="big" default="f_small"/>\n'
        + '<bpmn:userTask id="approve" name="Approve" camunda:candidateGroups="csm"/>\n'
        + '<bpmn:endEvent id="end"/>\n<bpmn:endEvent id="end_small"/>\n'
        + '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="collect"/>\n'
        + '<bpmn:sequenceFlow id="f2" sourceRef="collect" targetRef="decide"/>\n'
        + '<bpmn:sequenceFlow id="f3" sourceRef="decide" targetRef="big"/>\n'
        + '<bpmn:sequenceFlow id="f_big" sourceRef="big" targetRef="approve">'
        + '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">discount &gt;= 10</bpmn:conditionExpression>'
        + "</bpmn:sequenceFlow>\n"
        + '<bpmn:sequenceFlow id="f_small" sourceRef="big" targetRef="end_small"/>\n'
        + '<bpmn:sequenceFlow id="f5" sourceRef="approve" targetRef="end"/>\n'
        + "</bpmn:process>\n</bpmn:definitions>\n"
    ).encode()


def ready_step(runtime: Runtime, iid: str) -> HumanTask | None:
    with runtime.store.session() as s:
        return s.execute(
            select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.state.in_(OPEN_TASK_STATES))
        ).scalar_one_or_none()


def instance(runtime: Runtime, iid: str) -> ProcessInstance:
    with runtime.store.session() as s:
        found = s.get(ProcessInstance, iid)
        assert found is not None
        return found


def decide(runtime: Runtime, data: dict, process_id: str = "pricing") -> str:
    """Start an instance, complete "collect" with ``data``: the business rule task and gateway run."""
    iid = runtime.start(process_id, actor="tester", customer_id="C-1")
    step = ready_step(runtime, iid)
    assert step is not None and step.element_id == "collect"
    runtime.complete(step.id, actor="helena", data=data)
    return iid


def refusal(runtime: Runtime, files: dict[str, bytes]) -> list[tuple[str, str | None, int | None, str]]:
    with pytest.raises(DeployError) as refused:
        runtime.deploy(files, actor="designer")
    return [(p.file, p.element_id, p.line, p.message) for p in refused.value.problems if not p.is_warning]


# ---- running ------------------------------------------------------------------------------------------------
def test_a_decision_deployed_with_the_model_decides_and_routes_the_gateway(runtime: Runtime) -> None:
    deployed = runtime.deploy({"pricing.bpmn": model(), "discount.dmn": dmn()}, actor="designer")
    assert [str(d) for d in deployed] == ["decision discount v1 (deployed)", "pricing v1 (deployed)"]

    big = decide(runtime, {"segment": "enterprise", "mrr": 5000})
    assert runtime.instance_view(big).data["discount"] == 15  # rules 1 and 3 match: FIRST takes rule 1
    step = ready_step(runtime, big)
    assert step is not None and step.element_id == "approve"

    small = decide(runtime, {"segment": "smb", "mrr": 5000})
    assert instance(runtime, small).status == "completed"
    assert runtime.instance_view(small).data["discount"] == 5

    with runtime.store.session() as s:
        [row] = s.execute(select(DecisionDefinition)).scalars().all()
        definition = s.execute(select(ProcessDefinition)).scalar_one()
        actions = s.execute(select(AuditEvent.action).order_by(AuditEvent.seq)).scalars().all()
        links = s.execute(select(ProcessDecision.definition_id, ProcessDecision.decision_definition_id)).all()
    assert (row.decision_id, row.version, row.file_name, row.deployed_by) == ("discount", 1, "discount.dmn", "designer")
    assert [tuple(link) for link in links] == [(definition.id, row.id)]
    assert actions[:2] == ["decision_deployed", "definition_deployed"]


def test_a_unique_table_with_a_result_variable_and_ranges(runtime: Runtime) -> None:
    rules = rule("r1", "-", "? &lt; 1000", '"small"') + rule("r2", "-", "1000 &lt;= ? &lt; 10000", '"mid"')
    rules += rule("r3", "-", "&gt;= 10000", '"large"')
    table = dmn(rules, decision_id="tier", hit_policy="UNIQUE")
    reference = 'camunda:decisionRef="tier" camunda:resultVariable="tier" camunda:mapDecisionResult="singleEntry"'
    bpmn = model(reference).replace(b"discount &gt;= 10", b"tier == 'large'")
    runtime.deploy({"pricing.bpmn": bpmn, "tier.dmn": table}, actor="designer")
    mid = decide(runtime, {"segment": "smb", "mrr": 2500})
    assert runtime.instance_view(mid).data["tier"] == "mid"  # singleEntry: the single output's value
    assert "discount" not in runtime.instance_view(mid).data  # under the result variable only
    assert instance(runtime, mid).status == "completed"
    large = decide(runtime, {"segment": "smb", "mrr": 20000})
    step = ready_step(runtime, large)
    assert step is not None and step.element_id == "approve"


def test_a_zeebe_called_decision_puts_its_result_in_the_result_variable(runtime: Runtime) -> None:
    header = HEADER.replace('id="defs"', f'{ZEEBE} id="defs"')
    called = '<bpmn:extensionElements><zeebe:calledDecision decisionId="discount" resultVariable="offer"/>'
    called += "</bpmn:extensionElements>"
    bpmn = model("", called, header).replace(b"discount &gt;= 10", b"offer &gt;= 10")
    runtime.deploy({"pricing.bpmn": bpmn, "discount.dmn": dmn()}, actor="designer")
    iid = decide(runtime, {"segment": "enterprise", "mrr": 5000})
    assert runtime.instance_view(iid).data["offer"] == 15
    step = ready_step(runtime, iid)
    assert step is not None and step.element_id == "approve"


def test_a_decision_deployed_alone_is_stored_and_models_deployed_later_use_it(runtime: Runtime) -> None:
    [alone] = runtime.deploy({"discount.dmn": dmn()}, actor="designer")
    assert (str(alone), alone.kind) == ("decision discount v1 (deployed)", "decision")
    [again] = runtime.deploy({"discount.dmn": dmn()}, actor="designer")
    assert str(again) == "decision discount v1 (unchanged)"
    assert [str(d) for d in runtime.deploy({"pricing.bpmn": model()}, actor="designer")] == ["pricing v1 (deployed)"]
    assert runtime.instance_view(decide(runtime, {"segment": "smb", "mrr": 1})).data["discount"] == 5
    # a new version of the decision, with the same model: a new process version that uses it
    changed = dmn(rule("r1", "-", "-", "12"))
    assert [str(d) for d in runtime.deploy({"pricing.bpmn": model(), "discount.dmn": changed}, actor="d")] == [
        "decision discount v2 (deployed)",
        "pricing v2 (deployed)",
    ]
    assert runtime.instance_view(decide(runtime, {"segment": "smb", "mrr": 1})).data["discount"] == 12


def test_a_restarted_engine_reparses_the_stored_decision(
    runtime: Runtime, store: Store, clock: FrozenClock, config: dict, sandbox: Sandbox, mail: LogTransport
) -> None:
    runtime.deploy({"pricing.bpmn": model(), "discount.dmn": dmn()}, actor="designer")
    iid = runtime.start("pricing", actor="tester", customer_id="C-1")
    restarted = Runtime(store, build_registry(), clock=clock, config=config, transport=mail, sandbox=sandbox)
    step = ready_step(restarted, iid)
    assert step is not None
    restarted.complete(step.id, actor="helena", data={"segment": "enterprise", "mrr": 2000})
    assert restarted.instance_view(iid).data["discount"] == 15
    step = ready_step(restarted, iid)
    assert step is not None and step.element_id == "approve"


def test_a_decision_table_runs_in_the_sandbox(
    runtime: Runtime,
    store: Store,
    clock: FrozenClock,
    config: dict,
    sandbox: Sandbox,
    mail: LogTransport,
    tmp_path: Path,
) -> None:
    """The deploy refuses such an entry (next tests); one stored anyway (an older engine, a hand-edited row) is
    still evaluated by the sandbox, where it makes an incident instead of running."""
    target = tmp_path / "pwned.txt"
    runtime.deploy({"pricing.bpmn": model(), "discount.dmn": dmn()}, actor="designer")
    hostile = dmn(rule("r1", f"open({str(target)!r}, 'w') is None", "-", "1")).decode()
    with store.session() as s:
        s.execute(DecisionDefinition.__table__.update().values(dmn_xml=hostile))
        s.commit()
    fresh = Runtime(store, build_registry(), clock=clock, config=config, transport=mail, sandbox=sandbox)
    iid = decide(fresh, {"segment": "smb", "mrr": 1})
    found = instance(fresh, iid)
    assert found.status == "incident"
    assert "open" in (found.incident or "")
    assert not target.exists()


# ---- refusals -----------------------------------------------------------------------------------------------
def test_a_wrong_decision_reference_is_refused_naming_the_decision(runtime: Runtime) -> None:
    files = {"pricing.bpmn": model('camunda:decisionRef="discont"'), "discount.dmn": dmn()}
    assert refusal(runtime, files) == [
        (
            "pricing.bpmn",
            "decide",
            6,
            "business rule task 'Decide discount' calls decision 'discont', which is neither deployed nor in this "
            "upload: deploy its DMN file with the model (did you mean 'discount'?)",
        )
    ]
    with runtime.store.session() as s:
        assert s.execute(select(DecisionDefinition)).first() is None  # nothing stored


def test_a_business_rule_task_with_neither_decision_nor_topic_is_refused(runtime: Runtime) -> None:
    [(file, element, line, message)] = refusal(runtime, {"pricing.bpmn": model("")})
    assert (file, element, line) == ("pricing.bpmn", "decide", 6)
    assert message.startswith("business rule task 'Decide discount' has neither a decision nor a handler")


@pytest.mark.parametrize(
    ("table", "element", "line", "start"),
    [
        (dmn(hit_policy="RULE ORDER"), "discount", 4, "decision 'discount' has hit policy RULE ORDER, which"),
        (
            dmn(rule("r1", "__import__('os')", "-", "1")),
            "discount",
            8,
            "inputEntry \"__import__('os')\" of decision 'discount' is refused by the sandbox",
        ),
        (
            b'<?xml version="1.0"?>\n<definitions xmlns="' + DMN13.encode() + b'" id="d" name="d" namespace="x">\n'
            b'<decision id="literal" name="L">\n<literalExpression id="e"><text>1</text></literalExpression>\n'
            b"</decision>\n</definitions>\n",
            "literal",
            3,
            "decision 'literal' has no decision table",
        ),
    ],
)
def test_a_decision_the_engine_cannot_evaluate_is_refused_naming_file_decision_and_line(
    runtime: Runtime, table: bytes, element: str, line: int, start: str
) -> None:
    [(file, found_element, found_line, message)] = refusal(runtime, {"pricing.bpmn": model(), "discount.dmn": table})
    assert (file, found_element, found_line) == ("discount.dmn", element, line)
    assert message.startswith(start), message


def test_an_unreadable_dmn_file_is_refused_as_dmn(runtime: Runtime) -> None:
    [(file, _element, line, message)] = refusal(runtime, {"discount.dmn": dmn().replace(b"</decision>", b"")})
    assert (file, line) == ("discount.dmn", 13)  # where </decision> is missing
    assert message.startswith("malformed XML")
    old = dmn(namespace="http://www.omg.org/spec/DMN/20151101/dmn.xsd")
    assert [str(d) for d in runtime.deploy({"discount.dmn": old}, actor="designer")] == [
        "decision discount v1 (deployed)"
    ]
    unknown = dmn(namespace="http://www.omg.org/spec/DMN/20230324/MODEL/")
    [(_file, _element, _line, message)] = refusal(runtime, {"discount.dmn": unknown})
    assert "is not a DMN version the engine reads" in message


def test_jornada_deploy_takes_a_model_and_its_dmn_file(runtime: Runtime, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """``jornada deploy pricing.bpmn discount.dmn`` (the command's body, on this test's database)."""
    from argparse import Namespace

    from engine._cli import cmd_deploy

    (tmp_path / "pricing.bpmn").write_bytes(model())
    (tmp_path / "discount.dmn").write_bytes(dmn())
    files = [str(tmp_path / "pricing.bpmn"), str(tmp_path / "discount.dmn")]
    assert cmd_deploy(runtime, Namespace(files=files, actor="designer")) == 0
    assert capsys.readouterr().out.splitlines() == ["decision discount v1 (deployed)", "pricing v1 (deployed)"]


@pytest.mark.parametrize(
    ("reference", "hit_policy", "expected"),
    [
        ('camunda:decisionRef="discount" camunda:resultVariable="offer"', "FIRST", [{"discount": 15}]),
        (
            'camunda:decisionRef="discount" camunda:resultVariable="offer" camunda:mapDecisionResult="collectEntries"',
            "COLLECT",
            [15, 0],
        ),
        (
            'camunda:decisionRef="discount" camunda:resultVariable="offer" camunda:mapDecisionResult="singleResult"',
            "FIRST",
            {"discount": 15},
        ),
        ('camunda:decisionRef="discount"', "COLLECT", None),  # no result variable: {"discount": [15, 0]} merged
    ],
)
def test_the_result_variable_is_mapped_as_camunda_maps_it(
    runtime: Runtime, reference: str, hit_policy: str, expected: object
) -> None:
    bpmn = model(reference).replace(b"discount &gt;= 10", b"False")
    runtime.deploy({"pricing.bpmn": bpmn, "discount.dmn": dmn(hit_policy=hit_policy)}, actor="designer")
    iid = decide(runtime, {"segment": "enterprise", "mrr": 5000})
    assert instance(runtime, iid).status == "completed", instance(runtime, iid).incident
    data = runtime.instance_view(iid).data
    if expected is None:
        assert data["discount"] == [15, 0]
    else:
        assert data["offer"] == expected
