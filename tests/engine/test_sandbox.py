"""The script sandbox: what BPMN authors' code may do, what it may not, and how refusals read."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.util.task import TaskState

from engine._sandbox import Sandbox, SandboxedEnvironment, SandboxedScriptEngine, SandboxError, check

NOW = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
BUDGET = 0.3


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(budget_seconds=BUDGET) as box:
        box.start()
        yield box


def refusal(sandbox: Sandbox, script: str, mode: str = "exec") -> SandboxError:
    with pytest.raises(SandboxError) as caught:
        if mode == "exec":
            sandbox.execute(script, {"x": 1}, NOW)
        else:
            sandbox.evaluate(script, {"x": 1}, NOW)
    return caught.value


# ---- benign code works ----------------------------------------------------------------------------------


def test_expressions_compute_arithmetic_comparisons_and_collections(sandbox: Sandbox) -> None:
    context = {"health": 42, "plan": "gold", "seats": [3, 9, 4], "owner": {"name": "Ana"}}
    assert sandbox.evaluate("health * 2 + 1", context, NOW) == 85
    assert sandbox.evaluate("health < 50 and plan == 'gold'", context, NOW) is True
    assert sandbox.evaluate("max(seats) - min(seats)", context, NOW) == 6
    assert sandbox.evaluate("sorted(seats)[-1] + sum(seats) + len(seats)", context, NOW) == 28
    assert sandbox.evaluate("owner['name'].upper()", context, NOW) == "ANA"
    assert sandbox.evaluate("  {k: v for k, v in zip('ab', range(2))}  ", context, NOW) == {"a": 0, "b": 1}


def test_a_script_returns_the_variables_it_set_changed_or_kept(sandbox: Sandbox) -> None:
    script = """
    score = health * 2
    tags.append('risky')
    counts = {'calls': 1}
    counts['calls'] += 2
    n = 0
    for i, seat in enumerate(seats):
        n += seat * i
    del temp
    """
    context = {"health": 30, "tags": [], "seats": [5, 6], "temp": 1, "untouched": "yes"}
    result = sandbox.execute(script, context, NOW)
    assert result["score"] == 60
    assert result["tags"] == ["risky"]
    assert result["counts"] == {"calls": 3}
    assert result["n"] == 6
    assert result["untouched"] == "yes"
    assert "temp" not in result


def test_functions_private_names_and_helpers_do_not_leak_into_the_result(sandbox: Sandbox) -> None:
    script = "def double(v):\n    return v * 2\nvalue = double(x)\nsquare = lambda v: v * v\nprint(value)"
    assert sandbox.execute(script, {"x": 4, "_internal": "kept out"}, NOW) == {"x": 4, "value": 8}


def test_results_are_plain_data_with_dates_kept(sandbox: Sandbox) -> None:
    result = sandbox.execute("pair = (1, 2)\nids = {3, 1, 2}\nwhen = now()", {}, NOW)
    assert result == {"pair": [1, 2], "ids": [1, 2, 3], "when": NOW}


def test_now_returns_the_injected_clock_not_the_wall_clock(sandbox: Sandbox) -> None:
    assert sandbox.evaluate("now()", {}, NOW) == NOW
    assert sandbox.evaluate("today()", {}, NOW) == date(2026, 1, 5)
    refused = refusal(sandbox, "datetime.now()", "eval")
    assert refused.kind == "forbidden"
    assert "wall clock" in refused.message


def test_date_helpers_do_calendar_arithmetic(sandbox: Sandbox) -> None:
    context = {"signed": "2025-12-01", "renewal": "2026-01-31T12:00:00+00:00"}
    assert sandbox.evaluate("add_days(signed, 30)", context, NOW) == date(2025, 12, 31)
    assert sandbox.evaluate("add_days(now(), -1)", context, NOW) == NOW - timedelta(days=1)
    assert sandbox.evaluate("days_between(signed, today())", context, NOW) == 35
    assert sandbox.evaluate("days_between(now(), renewal)", context, NOW) == 26
    assert sandbox.evaluate("parse_date(renewal) > now()", context, NOW) is True
    assert sandbox.evaluate("iso(add_days(signed, 1))", context, NOW) == "2025-12-02"
    assert sandbox.evaluate("now() + duration('P3DT4H')", context, NOW) == NOW + timedelta(days=3, hours=4)
    assert sandbox.evaluate("duration('PT90M') == timedelta(minutes=90)", context, NOW) is True
    assert sandbox.evaluate("duration('P1M')", context, NOW) == timedelta(days=31)  # a calendar month, like a timer
    bad = refusal(sandbox, "duration('P3X')", "eval")
    assert bad.kind == "runtime"
    assert "not an ISO-8601 duration" in bad.message


# ---- escapes are refused ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("import os", "import statements are not allowed"),
        ("from os import system", "import statements are not allowed"),
        ("__import__('os').system('id')", '"__import__" is an invalid variable name'),
        ("().__class__.__base__.__subclasses__()", '"__subclasses__" is an invalid attribute name'),
        ("getattr(x, '__class__')", "calling getattr() is not allowed"),
        ("open('/etc/passwd').read()", "calling open() is not allowed"),
        ("exec('import os')", "calling exec() is not allowed"),
        ("eval('1')", "calling eval() is not allowed"),
        ("compile('1', 'f', 'eval')", "calling compile() is not allowed"),
        ("class Evil:\n    pass", "class definitions are not allowed"),
    ],
)
def test_escape_attempts_are_refused_with_an_understandable_message(sandbox: Sandbox, code: str, says: str) -> None:
    refused = refusal(sandbox, code)
    assert refused.kind == "forbidden"
    assert refused.line == 1
    assert says in str(refused)


def test_dangerous_builtins_are_simply_absent_at_run_time(sandbox: Sandbox) -> None:
    refused = refusal(sandbox, "fn = open\nfn('/etc/passwd')")
    assert refused.kind == "runtime"
    assert refused.message == "NameError: name 'open' is not defined"
    assert refused.line == 1


def test_refusals_read_as_one_line_naming_kind_and_line() -> None:
    assert str(SandboxError("forbidden", "import statements are not allowed", 1)) == (
        "forbidden (line 1): import statements are not allowed"
    )
    assert str(SandboxError("timeout", "script exceeded its 1.0 s budget")) == (
        "timeout: script exceeded its 1.0 s budget"
    )


# ---- errors carry a kind and a line ------------------------------------------------------------------------


def test_a_runtime_error_names_the_exception_and_its_line(sandbox: Sandbox) -> None:
    refused = refusal(sandbox, "a = 1\nb = a + missing\n")
    assert (refused.kind, refused.line) == ("runtime", 2)
    assert refused.message == "NameError: name 'missing' is not defined"
    assert str(refused) == "runtime (line 2): NameError: name 'missing' is not defined"


def test_a_syntax_error_reports_its_line(sandbox: Sandbox) -> None:
    refused = refusal(sandbox, "a = 1\nif a >:\n    b = 2\n")
    assert (refused.kind, refused.line) == ("syntax", 2)


def test_check_refuses_forbidden_and_broken_code_at_deploy_time() -> None:
    check("total = sum(amounts)\nok = total > 10", "exec")
    check("health < 30 and plan == 'gold'", "eval")
    with pytest.raises(SandboxError) as forbidden:
        check("x = 1\nimport subprocess", "exec")
    assert (forbidden.value.kind, forbidden.value.line) == ("forbidden", 2)
    with pytest.raises(SandboxError) as broken:
        check("health <", "eval")
    assert (broken.value.kind, broken.value.line) == ("syntax", 1)
    with pytest.raises(SandboxError) as statement:
        check("x = 1", "eval")
    assert statement.value.kind == "syntax"


# ---- time and memory --------------------------------------------------------------------------------------


def test_an_endless_loop_is_stopped_and_the_next_call_works(sandbox: Sandbox) -> None:
    started = time.monotonic()
    refused = refusal(sandbox, "while True:\n    pass")
    elapsed = time.monotonic() - started
    assert refused.kind == "timeout"
    assert "0.3 s budget" in str(refused)
    assert elapsed < BUDGET * 4
    assert sandbox.evaluate("x + 1", {"x": 1}, NOW) == 2


@pytest.mark.parametrize(
    "bomb",
    [
        "s = 'a' * 10**10",
        "s = [0] * 10**9",
        "n = 10 ** 10 ** 10",
        "n = 1 << 10**10",
        "n = pow(7, 10**9)",
        "s = 'a'.ljust(10**10)",
        "x = []\nwhile True:\n    x.append('a' * 10**6)",
        "x = []\nwhile True:\n    x.append(1)",
    ],
)
def test_memory_bombs_are_stopped_and_the_sandbox_keeps_working(sandbox: Sandbox, bomb: str) -> None:
    started = time.monotonic()
    refused = refusal(sandbox, bomb)
    assert refused.kind in ("memory", "timeout")
    assert time.monotonic() - started < BUDGET * 4
    assert sandbox.evaluate("x + 1", {"x": 1}, NOW) == 2


def test_size_guards_refuse_big_operands_before_computing(sandbox: Sandbox) -> None:
    started = time.monotonic()
    refused = refusal(sandbox, "n = 10 ** 10 ** 10")
    assert refused.kind == "memory"
    assert "size limit" in refused.message
    assert time.monotonic() - started < BUDGET


def test_a_worker_killed_by_the_os_is_reported_and_replaced() -> None:
    with Sandbox(budget_seconds=5) as box:
        box.start()
        assert box._process is not None
        threading.Timer(0.3, os.kill, (box._process.pid, signal.SIGKILL)).start()
        with pytest.raises(SandboxError) as caught:
            box.execute("while True:\n    pass", {}, NOW)
        assert caught.value.kind == "memory"
        assert box.evaluate("1 + 1", {}, NOW) == 2


def test_concurrent_callers_each_get_their_own_answer(sandbox: Sandbox) -> None:
    answers: dict[int, list[int]] = {}

    def worker(n: int) -> None:
        answers[n] = [sandbox.evaluate("n * 10 + i", {"n": n, "i": i}, NOW) for i in range(20)]

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == {n: [n * 10 + i for i in range(20)] for n in range(4)}


# ---- SpiffWorkflow integration ----------------------------------------------------------------------------

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="http://jornada.test">
  <bpmn:process id="renewal" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="score" />
    <bpmn:scriptTask id="score" name="Score account" scriptFormat="python">
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="score" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" name="At risk?" default="f_ok" />
    <bpmn:sequenceFlow id="f_risk" sourceRef="gw" targetRef="escalate">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_ok" sourceRef="gw" targetRef="relax" />
    <bpmn:scriptTask id="escalate" name="Escalate"><bpmn:script>route = 'escalate'</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="relax" name="Relax"><bpmn:script>route = 'relax'</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="escalate" targetRef="end" />
    <bpmn:sequenceFlow id="f4" sourceRef="relax" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_the_environment_updates_task_data_in_place(sandbox: Sandbox) -> None:
    data = {"health": 30, "temp": "scratch", "_private": "kept"}
    environment = SandboxedEnvironment(sandbox, clock=lambda: NOW)
    assert environment.execute("score = health * 2\ndel temp", data) is True
    assert data == {"health": 30, "score": 60, "_private": "kept"}
    assert environment.evaluate("score > health", data) is True


def run_workflow(
    engine: PythonScriptEngine, health: int, script: str = "score = health * 2", condition: str = "score &lt; 100"
) -> BpmnWorkflow:
    parser = CamundaParser()
    parser.add_bpmn_str(BPMN.format(script=script, condition=condition).encode())
    workflow = BpmnWorkflow(parser.get_spec("renewal"), script_engine=engine)
    workflow.get_next_task(state=TaskState.READY).data.update({"health": health})
    workflow.do_engine_steps()
    return workflow


def plain_engine(sandbox: Sandbox) -> PythonScriptEngine:
    return PythonScriptEngine(environment=SandboxedEnvironment(sandbox, clock=lambda: NOW))


def sandboxed_engine(sandbox: Sandbox) -> SandboxedScriptEngine:
    return SandboxedScriptEngine(environment=SandboxedEnvironment(sandbox, clock=lambda: NOW))


def test_script_task_results_land_in_task_data_and_the_condition_picks_the_branch(sandbox: Sandbox) -> None:
    at_risk = run_workflow(plain_engine(sandbox), health=30)
    assert at_risk.is_completed()
    assert at_risk.data["score"] == 60
    assert at_risk.data["route"] == "escalate"
    healthy = run_workflow(plain_engine(sandbox), health=80)
    assert healthy.data == {"health": 80, "score": 160, "route": "relax"}


def test_a_script_may_use_the_injected_clock_inside_a_workflow(sandbox: Sandbox) -> None:
    workflow = run_workflow(plain_engine(sandbox), health=30, script="score = 1\nchecked = iso(now())")
    assert workflow.data["checked"] == NOW.isoformat()


def test_a_malicious_script_task_errors_with_the_refusal_in_the_message(sandbox: Sandbox) -> None:
    with pytest.raises(WorkflowTaskException) as caught:
        run_workflow(plain_engine(sandbox), health=30, script="import os\nos.system('id')")
    assert "forbidden (line 1): import statements are not allowed" in str(caught.value)
    assert caught.value.task.state == TaskState.ERROR


def test_a_malicious_condition_puts_the_gateway_in_error_with_the_refusal(sandbox: Sandbox) -> None:
    with pytest.raises(WorkflowTaskException) as caught:
        run_workflow(sandboxed_engine(sandbox), health=30, condition="__import__('os').system('id') == 0")
    assert "Error evaluating expression" in str(caught.value)
    assert '"__import__" is an invalid variable name' in str(caught.value)
    assert caught.value.task.task_spec.bpmn_id == "gw"
    assert caught.value.line_number == 1
    assert caught.value.task.state == TaskState.ERROR


def test_with_the_plain_engine_a_refused_condition_keeps_the_reason_as_its_cause(sandbox: Sandbox) -> None:
    with pytest.raises(WorkflowTaskException) as caught:
        run_workflow(plain_engine(sandbox), health=30, condition="().__class__.__base__")
    assert caught.value.error_type == "SandboxError"
    assert isinstance(caught.value.__context__, SandboxError)
    assert caught.value.__context__.kind == "forbidden"


def test_the_sandboxed_engine_reports_the_failing_script_line(sandbox: Sandbox) -> None:
    with pytest.raises(WorkflowTaskException) as caught:
        run_workflow(sandboxed_engine(sandbox), health=30, script="score = 1\nscore = score + nope")
    assert caught.value.line_number == 2
    assert caught.value.error_line == "score = score + nope"
    assert "NameError: name 'nope' is not defined" in str(caught.value)
