"""Task form data is bounded and patterns from models run in linear time (RE2): completing a task never stalls or
crashes on what a client sends, and a pattern RE2 cannot run is named at deploy."""

from __future__ import annotations

import time
from html import escape

import pytest
from lxml import etree
from sqlalchemy import select

from engine import DeployError, FormValidationError, Runtime
from engine import _forms as forms
from engine.models import HumanTask
from tests.bpmn_builder import flow, process, user_task
from tests.helpers import BPMN_DIR


def field(field_id: str, *constraints: tuple[str, str]) -> str:
    rules = "".join(f'<camunda:constraint name="{name}" config="{escape(config)}"/>' for name, config in constraints)
    return (
        f'<camunda:formField id="{field_id}" label="{field_id}" type="string">'
        f"<camunda:validation>{rules}</camunda:validation></camunda:formField>"
    )


def one_task(fields: str = "") -> bytes:
    return process(
        "form",
        '<bpmn:startEvent id="start"/>'
        + user_task("fill", "Fill in", "csm", fields)
        + '<bpmn:endEvent id="end"/>'
        + flow("f1", "start", "fill")
        + flow("f2", "fill", "end"),
    )


def start(runtime: Runtime, fields: str = "") -> int:
    runtime.deploy({"form.bpmn": one_task(fields)}, actor="designer")
    runtime.start("form", actor="alice", customer_id="C-1")
    with runtime.store.session() as s:
        return s.execute(select(HumanTask.id)).scalar_one()


def refusal(runtime: Runtime, task_id: int, data: dict) -> dict[str, str]:
    with pytest.raises(FormValidationError) as caught:
        runtime.complete(task_id, actor="sam", data=data)
    with runtime.store.session() as s:
        assert s.execute(select(HumanTask.state)).scalar_one() == "ready"  # nothing changed
    return {e.field: e.message for e in caught.value.errors}


def test_a_catastrophic_pattern_from_a_model_answers_at_once() -> None:
    """``(a+)+b`` took 8 s on 29 characters with Python's re (exponential backtracking); RE2 is linear."""
    spec = etree.fromstring(one_task(field("code", ("pattern", "(a+)+b"))))
    node = spec.find(".//{*}userTask")
    assert node is not None and forms.form_problems(node) == []  # RE2 runs it, so deploy accepts it
    began = time.perf_counter()
    problem = forms._constraint_error(
        forms.Field("code", "code", "string", "", (), {"pattern": "(a+)+b"}), "a" * 29 + "c"
    )
    assert time.perf_counter() - began < 0.5
    assert problem == "must match the pattern (a+)+b"


def test_a_catastrophic_pattern_refuses_a_completion_at_once(runtime: Runtime) -> None:
    task_id = start(runtime, field("code", ("pattern", "(a+)+b")))
    began = time.perf_counter()
    assert refusal(runtime, task_id, {"code": "a" * 29 + "c"}) == {"code": "must match the pattern (a+)+b"}
    assert time.perf_counter() - began < 2
    assert runtime.complete(task_id, actor="sam", data={"code": "aaab"}) == "completed"


@pytest.mark.parametrize(
    ("pattern", "why"),
    [(r"(a)\1", "invalid escape sequence"), ("(?=a)a", "invalid perl operator"), ("(?<!x)a", "invalid perl operator")],
)
def test_a_pattern_re2_cannot_run_is_a_deploy_problem_naming_the_field(pattern: str, why: str) -> None:
    xml = one_task(field("ok", ("pattern", "[a-z]+")) + field("code", ("pattern", pattern)))
    node = etree.fromstring(xml).find(".//{*}userTask")
    assert node is not None
    [problem] = forms.form_problems(node)
    assert problem.startswith("form field 'code': pattern ")
    assert why in problem and "no backreferences or lookaround" in problem


def test_a_numeric_constraint_that_is_not_a_number_is_a_deploy_problem() -> None:
    node = etree.fromstring(one_task(field("note", ("maxlength", "lots")))).find(".//{*}userTask")
    assert node is not None
    assert forms.form_problems(node) == ["form field 'note': constraint maxlength needs a number, not 'lots'"]


def test_every_pattern_of_the_shipped_models_runs_on_re2() -> None:
    for path in sorted(BPMN_DIR.glob("*.bpmn")):
        root = etree.fromstring(path.read_bytes())
        for task in root.iter("{*}userTask"):
            assert forms.form_problems(task) == [], (path.name, task.get("id"))


def test_a_deployed_pattern_re2_cannot_run_refuses_the_field_instead_of_failing() -> None:
    """Models deployed before the deploy check may hold one: the value is refused, naming why."""
    code = forms.Field("code", "code", "string", "", (), {"pattern": r"(a)\1"})
    problem = forms._constraint_error(code, "aa")
    assert problem is not None and problem.startswith(
        "cannot be checked: the form's pattern '(a)\\\\1' is not supported"
    )


def test_task_data_nested_too_deeply_is_refused_naming_the_field(runtime: Runtime) -> None:
    task_id = start(runtime)  # no form: any JSON object, within bounds
    deep: object = "x"
    for _ in range(40):
        deep = [deep]
    errors = refusal(runtime, task_id, {"items": deep})
    assert list(errors) == ["items"]
    assert errors["items"].startswith("at items[0]") and "is nested deeper than 32 levels" in errors["items"]


def test_task_data_with_a_huge_text_is_refused(runtime: Runtime) -> None:
    task_id = start(runtime)
    assert refusal(runtime, task_id, {"notes": "x" * 20_001}) == {"notes": "is longer than 20000 characters"}


def test_task_data_with_too_many_values_is_refused(runtime: Runtime) -> None:
    task_id = start(runtime)
    assert refusal(runtime, task_id, {"ids": list(range(6000))}) == {"data": "holds more than 5000 values"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("C-\x00", "contains a NUL character (\\u0000) at position 3, which text may not hold"),
        ("C-\ud800", "contains a lone surrogate (\\ud800) at position 3, which is not valid Unicode text"),
    ],
)
def test_task_data_with_text_the_database_cannot_keep_is_refused(runtime: Runtime, text: str, message: str) -> None:
    task_id = start(runtime, field("code"))
    assert refusal(runtime, task_id, {"code": text}) == {"code": message}


def test_task_data_within_bounds_completes(runtime: Runtime) -> None:
    task_id = start(runtime)
    nested: object = "ok"
    for _ in range(20):
        nested = {"level": nested}
    assert runtime.complete(task_id, actor="sam", data={"tree": nested, "notes": "é" * 20_000}) == "completed"


@pytest.mark.parametrize("pattern", [r"(a)\1", "(?=a)a"])
def test_deploying_a_pattern_re2_cannot_run_is_refused_naming_the_field_and_task(
    runtime: Runtime, pattern: str
) -> None:
    with pytest.raises(DeployError) as caught:
        runtime.deploy({"form.bpmn": one_task(field("code", ("pattern", pattern)))}, actor="designer")
    [problem] = caught.value.problems
    assert problem.element_id == "fill" and problem.message.startswith("form field 'code': pattern ")
