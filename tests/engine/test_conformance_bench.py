"""bench/conformance.py, the acceptance check that deploys and runs every model of a folder as drawn: its table
counts what was deployed, refused, completed, and groups the refusal reasons."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.bpmn_builder import flow, process, user_task

BENCH = Path(__file__).resolve().parents[2] / "bench" / "conformance.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_conformance", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def field(field_id: str, kind: str, constraints: str = "", body: str = "") -> str:
    validation = f'<camunda:validation><camunda:constraint name="required"/>{constraints}</camunda:validation>'
    return f'<camunda:formField id="{field_id}" label="{field_id}" type="{kind}">{body}{validation}</camunda:formField>'


def approval() -> bytes:
    """start -> Approve (a form of required fields) -> checked by a gateway -> wait one hour -> end; a form the
    gateway finds wrong leads to a second human task instead."""
    form = (
        field("note", "string", '<camunda:constraint name="minlength" config="3"/>')
        + field("amount", "long", '<camunda:constraint name="min" config="5"/>')
        + field("approved", "boolean")
        + field("plan", "enum", body='<camunda:value id="gold" name="Gold"/><camunda:value id="basic" name="Basic"/>')
        + field("due", "date")
    )
    right = "len(note) >= 3 and amount >= 5 and approved and plan == 'gold' and len(due) == 10"
    body = (
        '<bpmn:startEvent id="start"/>\n'
        + user_task("approve", "Approve", fields=form)
        + '<bpmn:exclusiveGateway id="check" default="to_wrong"/>\n'
        + '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>'
        + '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1H</bpmn:timeDuration>'
        + "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>\n"
        + user_task("wrong", "Form was not valid")
        + '<bpmn:endEvent id="end"/>\n<bpmn:endEvent id="end_wrong"/>\n'
        + flow("f1", "start", "approve")
        + flow("f2", "approve", "check")
        + flow("to_wait", "check", "wait", right)
        + flow("to_wrong", "check", "wrong")
        + flow("f3", "wait", "end")
        + flow("f4", "wrong", "end_wrong")
    )
    return process("approval", body)


def calls_nowhere() -> bytes:
    """A call activity whose called process is in no file: refused."""
    body = (
        '<bpmn:startEvent id="start"/>\n<bpmn:callActivity id="call" calledElement="nowhere_process"/>\n'
        '<bpmn:endEvent id="end"/>\n' + flow("f1", "start", "call") + flow("f2", "call", "end")
    )
    return process("caller", body)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    models = tmp_path / "models"
    models.mkdir()
    (models / "approval.bpmn").write_bytes(approval())
    (models / "caller.bpmn").write_bytes(calls_nowhere())
    (models / "notes.txt").write_text("not a model")
    return models


def run(bench: ModuleType, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = bench.main(list(argv), out=out)
    return code, out.getvalue()


def test_the_table_counts_a_model_that_completes_and_one_that_is_refused(bench: ModuleType, folder: Path) -> None:
    code, text = run(bench, "--no-miwg", str(folder))
    assert code == 0, text
    lines = text.splitlines()
    assert lines[0].split() == [
        "files",
        "deployed",
        "processes",
        "completed",
        "waiting",
        "incident",
        "refused",
        "errors",
    ]
    assert lines[1].split() == ["2", "1", "1", "1", "0", "0", "1", "0"]
    reasons = lines[lines.index("refusal reasons (count, files, reason):") + 1 :]
    assert reasons[0].split()[:2] == ["1", "1"]  # one problem, in one file
    assert "nowhere_process" not in reasons[0]  # grouped by a message with the names blanked
    assert "  models/approval.bpmn: deployed; approval: completed" in lines
    assert "  models/caller.bpmn: refused; 1 problem(s)" in lines


def test_json_output_says_what_each_process_did(bench: ModuleType, folder: Path) -> None:
    code, text = run(bench, "--no-miwg", "--json", str(folder))
    assert code == 0
    report: dict[str, Any] = json.loads(text)
    assert report["totals"] == {
        "files": 2,
        "deployed": 1,
        "processes": 1,
        "completed": 1,
        "waiting": 0,
        "incident": 0,
        "refused": 1,
        "errors": 0,
    }
    approval, caller = report["files"]
    # the form was filled with valid values (the gateway took the timer path), the clock moved past the timer
    assert approval["runs"] == [
        {
            "process_id": "approval",
            "status": "completed",
            "reason": "",
            "group": "",
            "tasks_completed": 1,
            "timers_fired": 1,
        }
    ]
    assert caller["status"] == "refused"
    assert any("nowhere_process" in problem for problem in caller["problems"])
    assert [row["count"] for row in report["refusal_reasons"]] == [1]


def test_a_file_is_deployed_with_the_sibling_that_defines_the_process_it_calls(
    bench: ModuleType, tmp_path: Path
) -> None:
    body = (
        '<bpmn:startEvent id="start"/>\n<bpmn:callActivity id="call" calledElement="approval"/>\n'
        '<bpmn:endEvent id="end"/>\n' + flow("f1", "start", "call") + flow("f2", "call", "end")
    )
    (tmp_path / "main.bpmn").write_bytes(process("main", body))
    (tmp_path / "sub.bpmn").write_bytes(approval())
    code, text = run(bench, "--no-miwg", "--json", str(tmp_path))
    assert code == 0
    report = json.loads(text)
    main, sub = report["files"]
    assert (main["file"], main["siblings"], sub["siblings"]) == ("main.bpmn", ["sub.bpmn"], [])
    assert [r["status"] for r in main["runs"]] == ["completed"]  # its called process ran to the end, too
    assert report["totals"]["completed"] == 2


def test_a_model_that_breaks_the_bench_is_recorded_and_the_others_still_run(
    bench: ModuleType, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy = bench.Runtime.deploy

    def failing(self: Any, files: dict[str, bytes], *, actor: str) -> Any:
        if "approval.bpmn" in files:
            raise RuntimeError("boom")
        return deploy(self, files, actor=actor)

    monkeypatch.setattr(bench.Runtime, "deploy", failing)
    code, text = run(bench, "--no-miwg", "--json", str(folder))
    report = json.loads(text)
    assert code == 0
    assert (report["totals"]["errors"], report["totals"]["refused"]) == (1, 1)
    assert report["files"][0]["problems"][0].startswith("RuntimeError: boom")


def test_missing_reference_models_are_named(bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "MIWG", tmp_path / "absent")
    code, text = run(bench)
    assert code == 2
    assert (
        text
        == f"the MIWG reference models are missing: {tmp_path / 'absent'} (expected at ../shared/conformance/miwg)\n"
    )


def test_a_process_waiting_for_a_message_is_counted_as_waiting_on_it(bench: ModuleType, tmp_path: Path) -> None:
    body = (
        '<bpmn:startEvent id="start"/><bpmn:intermediateCatchEvent id="Event_Answer">'
        '<bpmn:messageEventDefinition messageRef="m_answer"/></bpmn:intermediateCatchEvent><bpmn:endEvent id="end"/>'
        + flow("f1", "start", "Event_Answer")
        + flow("f2", "Event_Answer", "end")
    )
    (tmp_path / "answer.bpmn").write_bytes(process("answer", body, '<bpmn:message id="m_answer" name="answer"/>\n'))
    code, text = run(bench, "--no-miwg", str(tmp_path))
    assert code == 0
    lines = text.splitlines()
    assert lines[1].split() == ["1", "1", "1", "0", "1", "0", "0", "0"]
    reasons = lines[lines.index("waiting reasons (count, files, reason):") + 1]
    assert reasons.split(maxsplit=2) == ["1", "1", "waits on intermediateCatchEvent (message)"]


def test_reasons_are_grouped_without_the_ids_names_and_numbers_of_each_model(bench: ModuleType) -> None:
    ids = bench.ids_of(bench.etree.fromstring(b'<p id="call"><t id="Task_0x1"/><t id="Flow_2"/></p>'))
    assert ids == {"Task_0x1", "Flow_2"}  # a plain word may be an id, but it is also a word of the message
    first = bench.normalise("Task_0x1 (Check order) in p: call activity calls 'Proc_A' at line 12", ids)
    second = bench.normalise('Flow_2 in p: call activity calls "other" at line 7', ids)
    assert first == second == "… in p: call activity calls '…' at line N"
    registered = "handler topic 'x' is not registered; registered topics: a.b, c.d, e.f"
    assert bench.normalise(registered) == "handler topic '…' is not registered; registered topics: …"


def test_a_process_is_driven_for_a_bounded_number_of_rounds(bench: ModuleType, folder: Path) -> None:
    code, text = run(bench, "--no-miwg", "--json", "--rounds", "1", str(folder))
    assert code == 0
    report = json.loads(text)
    [approval] = report["files"][0]["runs"]  # the task was completed; the timer is left for a second round
    assert (approval["status"], approval["reason"]) == ("waiting", "still running after 1 rounds")
    assert (approval["tasks_completed"], approval["timers_fired"]) == (1, 0)
