"""Tiny BPMN documents for engine tests (the shipped models live in bpmn/)."""

from __future__ import annotations

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://jornada.test">\n'
)


def user_task(task_id: str, name: str = "", group: str = "csm", fields: str = "", sla: str = "") -> str:
    props = sla or (
        '<camunda:properties><camunda:property name="sla_warn" value="P1D"/>'
        '<camunda:property name="sla_due" value="P2D"/><camunda:property name="sla_stuck" value="P3D"/>'
        "</camunda:properties>"
    )
    form = f"<camunda:formData>{fields}</camunda:formData>" if fields else ""
    return (
        f'<bpmn:userTask id="{task_id}" name="{name or task_id}" camunda:candidateGroups="{group}">'
        f"<bpmn:extensionElements>{form}{props}</bpmn:extensionElements></bpmn:userTask>\n"
    )


def flow(flow_id: str, source: str, target: str, condition: str = "") -> str:
    if condition:
        return (
            f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
            f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>'
            "</bpmn:sequenceFlow>\n"
        )
    return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>\n'


def process(process_id: str, body: str, extra: str = "") -> bytes:
    return (
        HEADER
        + extra
        + f'<bpmn:process id="{process_id}" name="{process_id}" isExecutable="true">\n'
        + body
        + "</bpmn:process>\n</bpmn:definitions>\n"
    ).encode()


def linear(process_id: str, tasks: int, group: str = "csm") -> bytes:
    """start -> t1 -> ... -> tN -> end, each a user task with one required text field."""
    body = '<bpmn:startEvent id="start"/>\n'
    previous = "start"
    for i in range(1, tasks + 1):
        body += user_task(f"t{i}", f"Step {i}", group, '<camunda:formField id="note" label="Note" type="string"/>')
        body += flow(f"f{i}", previous, f"t{i}")
        previous = f"t{i}"
    body += '<bpmn:endEvent id="end"/>\n' + flow("f_end", previous, "end")
    return process(process_id, body)
