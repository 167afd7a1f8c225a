"""Message routing helpers: catching a named message in a loaded instance, and which deployed processes a
message starts (read from each definition's XML once; definitions never change)."""

from __future__ import annotations

import threading
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import _specs as specs
from engine._dialects import MessageEventDefinition
from engine._enums import AuditAction
from engine._execution import Execution
from engine.models import ProcessDefinition

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}


def catch(ex: Execution, name: str, payload: Any) -> bool:
    """Deliver message ``name`` to the first waiting event of ``ex`` that catches it; False if none does."""
    for task in ex.workflow.get_tasks(state=TaskState.WAITING):
        outer = getattr(task.task_spec, "event_definition", None)
        # an event-based gateway waits on one combined definition holding each branch's
        for definition in [outer, *getattr(outer, "event_definitions", [])]:
            if not (isinstance(definition, MessageEventDefinition) and definition.name == name):
                continue
            ex.record(
                AuditAction.MESSAGE_RECEIVED, {"message": name, "element": task.task_spec.bpmn_id, "payload": payload}
            )
            with ex.guard():  # taking the payload in may fail (a data output, what follows): an incident
                ex.workflow.catch(BpmnEvent(definition, {"payload": payload, "result_var": definition.result_var}))
            return True
    return False


def _start_messages(process_id: str, xml: str) -> frozenset[str]:
    root = specs.parse_xml(xml.encode("utf-8"))
    refs = root.xpath(
        "//bpmn:process[@id=$p]/bpmn:startEvent/bpmn:messageEventDefinition/@messageRef", namespaces=NS, p=process_id
    )
    return frozenset(m.get("name") for ref in refs for m in root.xpath("//bpmn:message[@id=$r]", namespaces=NS, r=ref))


class MessageStarts:
    """Which latest process definitions have a message start event for a given message name."""

    def __init__(self) -> None:
        self._names: dict[int, frozenset[str]] = {}
        self._lock = threading.Lock()

    def processes(self, session: Session, name: str) -> list[str]:
        latest = session.execute(
            select(ProcessDefinition.process_id, func.max(ProcessDefinition.id)).group_by(ProcessDefinition.process_id)
        ).all()
        found = []
        for process_id, definition_id in sorted(latest):
            names = self._names.get(definition_id)
            if names is None:
                xml = session.execute(
                    select(ProcessDefinition.bpmn_xml).where(ProcessDefinition.id == definition_id)
                ).scalar_one()
                names = _start_messages(process_id, xml)
                with self._lock:
                    self._names[definition_id] = names
            if name in names:
                found.append(process_id)
        return found
