"""The designer's upload refuses each bad file for its own problem; "no diagram layout" only when the layout is
really missing (and then after the engine's findings, which come first)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from engine import Runtime
from tests.bpmn_builder import HEADER, flow, process, user_task
from tests.web.helpers import drafts, upload

LAYOUT = "no diagram layout"
DI = (
    '<bpmndi:BPMNDiagram xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" id="diagram">'
    '<bpmndi:BPMNPlane id="plane" bpmnElement="p"/></bpmndi:BPMNDiagram>\n'
)
GOOD = '<bpmn:startEvent id="start"/>' + user_task("work", "Work") + '<bpmn:endEvent id="end"/>'
GOOD += flow("f1", "start", "work") + flow("f2", "work", "end")


def with_layout(data: bytes) -> bytes:
    return data.replace(b"</bpmn:definitions>", DI.encode() + b"</bpmn:definitions>")


SCRIPT = '<bpmn:startEvent id="start"/><bpmn:scriptTask id="calc" scriptFormat="python">'
SCRIPT += "<bpmn:script>x = = 1</bpmn:script></bpmn:scriptTask>"
SCRIPT += '<bpmn:endEvent id="end"/>' + flow("f1", "start", "calc") + flow("f2", "calc", "end")
RECURSIVE = '<bpmn:startEvent id="start"/><bpmn:callActivity id="again" calledElement="p"/><bpmn:endEvent id="end"/>'
RECURSIVE += flow("f1", "start", "again") + flow("f2", "again", "end")
NO_START = user_task("work", "Work") + '<bpmn:endEvent id="end"/>' + flow("f1", "work", "end")
TWICE = '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s1"/></bpmn:process>\n'

# file -> (the upload, a phrase the first problem's message holds, the element it names)
BAD: dict[str, tuple[bytes, str, str | None]] = {
    "malformed.bpmn": (process("p", GOOD).replace(b"</bpmn:userTask>", b"</bpmn:usertask>"), "malformed XML", None),
    "not_bpmn.bpmn": (b'<?xml version="1.0"?>\n<html><body/></html>\n', "the root element is 'html'", None),
    "no_process.bpmn": (with_layout((HEADER + "</bpmn:definitions>\n").encode()), "the file has no process", None),
    "no_start.bpmn": (process("p", NO_START), "process 'p' has no start event", "p"),
    "no_start_drawn.bpmn": (with_layout(process("p", NO_START)), "process 'p' has no start event", "p"),
    "script_syntax.bpmn": (process("p", SCRIPT), "script is not valid Python", "calc"),
    "recursive.bpmn": (process("p", RECURSIVE), "call activity 'again' calls its own process (p -> p)", "again"),
    "duplicate_process.bpmn": (
        (HEADER + TWICE + TWICE.replace("s1", "s2") + "</bpmn:definitions>\n").encode(),
        "process id 'p' is used 2 times",
        "p",
    ),
    "no_role.bpmn": (process("p", GOOD.replace(' camunda:candidateGroups="csm"', "")), "has no role", "work"),
    "flat.bpmn": (process("p", GOOD), LAYOUT, "defs"),
}


@pytest.fixture
def designer(client_for: Callable[[str], FlaskClient]) -> FlaskClient:
    return client_for("dan")


@pytest.mark.parametrize("name", BAD)
def test_each_bad_upload_gets_its_own_message(designer: FlaskClient, runtime: Runtime, name: str) -> None:
    data, phrase, element = BAD[name]
    response = upload(designer, name, data, json=True).get_json()
    first = response["problems"][0]
    assert phrase in first["message"] and first["file"] == name, response["problems"]
    assert first["element"] == element
    layout_missing = b"BPMNDiagram" not in data
    # a file the engine cannot read as a BPMN model (XML, schema, ids) is refused for that alone
    unreadable = ("malformed XML", "the root element is 'html'", "the file has no process", "is used 2 times")
    readable = not any(word in phrase for word in unreadable)
    said_layout = [p for p in response["problems"] if LAYOUT in p["message"]]
    assert len(said_layout) == (1 if layout_missing and readable else 0), response["problems"]
    if response["ok"] is False:
        assert response["message"] == f"{name} was refused." and drafts(runtime) == []
    else:  # drawn: it becomes a draft, the engine's problems are for the editor
        assert layout_missing is False and drafts(runtime) == [("p", "dan")]


def test_an_upload_refused_in_the_page_lists_the_real_problem(designer: FlaskClient, runtime: Runtime) -> None:
    page = upload(designer, "script_syntax.bpmn", BAD["script_syntax.bpmn"][0])
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "script is not valid Python" in html and "element calc" in html
