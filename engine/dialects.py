"""The BPMN dialect Jornada reads (see docs/dialect.md): a CamundaParser that also understands handler topics on
service tasks, candidate groups on user tasks, literal ISO timers and messages whose payload merges into task data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import ReceiveTaskParser, SendTaskParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.specs.defaults import ManualTask, NoneTask, ReceiveTask, SendTask, ServiceTask
from SpiffWorkflow.camunda.parser.CamundaParser import NSMAP, CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import (
    CamundaBoundaryEventParser,
    CamundaEndEventParser,
    CamundaEventDefinitionParser,
    CamundaIntermediateCatchEventParser,
    CamundaIntermediateThrowEventParser,
    CamundaStartEventParser,
)
from SpiffWorkflow.camunda.parser.task_spec import BusinessRuleTaskParser, CamundaTaskParser
from SpiffWorkflow.camunda.parser.task_spec import UserTaskParser as CamundaUserTaskParser
from SpiffWorkflow.camunda.serializer.event_definition import MessageEventDefinitionConverter
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition as CamundaMessage
from SpiffWorkflow.camunda.specs.user_task import UserTask
from SpiffWorkflow.spiff.parser.process import VALIDATOR

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
JORNADA_NSMAP = {**NSMAP, "spiffworkflow": SPIFF_NS}

# Keys under which user-task attributes from the XML node are kept in ``task_spec.extensions``.
CANDIDATE_GROUPS = "camunda:candidateGroups"
ASSIGNEE = "camunda:assignee"
PRIORITY = "camunda:priority"

_ISO_LITERAL = re.compile(
    r"^\s*(R\d*/)?(P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
    r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?"
    r"|\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:?\d\d)?)(/P[0-9YMWDTHS.]+)?\s*$"
)
TIMER_TAGS = ("timeDuration", "timeDate", "timeCycle")


def is_iso_literal(text: str) -> bool:
    """True for texts like ``P3D``, ``R3/P1W`` or ``2027-01-01T00:00:00Z`` that designers type unquoted."""
    return bool(_ISO_LITERAL.match(text))


def quote_timer_literals(root: etree._Element) -> None:
    """Turn literal ISO timer texts into the Python string expressions SpiffWorkflow evaluates."""
    for tag in TIMER_TAGS:
        for node in root.iter(full_tag(tag)):
            if node.text and is_iso_literal(node.text):
                node.text = repr(node.text.strip())


class HandlerServiceTask(ServiceTask):
    """A service task that calls the handler registered under ``topic`` (through the script engine)."""

    def __init__(self, wf_spec: Any, bpmn_id: str, topic: str, **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.topic = topic

    def _execute(self, task: Any) -> bool:
        call_handler: Callable[[Any, str, Mapping[str, str]], Mapping[str, Any] | None] | None
        call_handler = getattr(task.workflow.script_engine, "call_handler", None)
        if call_handler is None:
            raise RuntimeError(f"no handler dispatcher is installed to run service topic {self.topic!r}")
        result = call_handler(task, self.topic, dict(getattr(self, "extensions", {}) or {}))
        if result:
            task.data.update(result)
        return True


class MessageEventDefinition(CamundaMessage):
    """A Camunda message whose payload, when it is a mapping and no result variable is named, merges into data."""

    def update_task_data(self, my_task: Any) -> None:
        event_data = my_task.internal_data.get(self.name) or {}
        payload = event_data.get("payload")
        if event_data.get("result_var") is None and isinstance(payload, dict):
            my_task.data.update(payload)
        else:
            my_task.data[event_data.get("result_var") or self.name] = payload

    def update_internal_data(self, my_task: Any, event: Any) -> None:
        my_task.internal_data[self.name] = event.payload


class ServiceTaskParser(CamundaTaskParser):
    def create_task(self) -> HandlerServiceTask:
        topic = self.node.get(f"{{{NSMAP['camunda']}}}topic")
        if not topic:
            operator = self.xpath(".//spiffworkflow:serviceTaskOperator")
            topic = operator[0].get("id") if operator else None
        if not topic:
            self.raise_validation_exception(
                "Service task has no handler: set Implementation 'External' and a topic (camunda:topic)"
            )
        return HandlerServiceTask(self.spec, self.bpmn_id, topic=topic, **self.bpmn_attributes)


class _RoleMixin:
    """Keeps the role attributes of a human step (user, manual or untyped task) in ``task_spec.extensions``."""

    node: Any

    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        extensions: dict[str, Any] = super().parse_extensions(node)  # type: ignore[misc]
        camunda = NSMAP["camunda"]
        for key, attribute in (
            (CANDIDATE_GROUPS, "candidateGroups"),
            (ASSIGNEE, "assignee"),
            (PRIORITY, "priority"),
        ):
            value = self.node.get(f"{{{camunda}}}{attribute}")
            if value:
                extensions[key] = value.strip()
        return extensions


class UserTaskParser(_RoleMixin, CamundaUserTaskParser):
    pass


class HumanTaskParser(_RoleMixin, CamundaTaskParser):
    """``bpmn:manualTask`` and untyped ``bpmn:task``: SpiffWorkflow waits for a person to complete them."""


class _MessageMixin:
    def parse_message_event(self, message_event: Any) -> MessageEventDefinition:
        parsed = super().parse_message_event(message_event)  # type: ignore[misc]
        return MessageEventDefinition(parsed.name, parsed.correlation_properties, parsed.expression, parsed.result_var)


def _with_messages(base: type) -> type:
    return type(base.__name__.replace("Camunda", "Jornada"), (_MessageMixin, base), {})


class _ExternalMixin:
    """Camunda's "Implementation: External" on a send or business rule task: it runs the topic's handler, like a
    service task. Without a topic a send task throws its message (and a business rule task needs DMN)."""

    node: Any
    spec: Any
    bpmn_id: str
    bpmn_attributes: dict[str, Any]

    def _topic(self) -> str | None:
        return self.node.get(f"{{{NSMAP['camunda']}}}topic") or None

    def create_task(self) -> Any:
        topic = self._topic()
        if topic:
            return HandlerServiceTask(self.spec, self.bpmn_id, topic=topic, **self.bpmn_attributes)
        return super().create_task()  # type: ignore[misc]

    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        if self._topic():
            return CamundaTaskParser.parse_extensions(self, node)  # type: ignore[arg-type]
        extensions: dict[str, Any] = super().parse_extensions(node)  # type: ignore[misc]
        return extensions


class CamundaSendTaskParser(CamundaEventDefinitionParser, SendTaskParser):
    def create_task(self) -> Any:
        return SendTaskParser.create_task(self)


class CamundaReceiveTaskParser(CamundaEventDefinitionParser, ReceiveTaskParser):
    def create_task(self) -> Any:
        return ReceiveTaskParser.create_task(self)


JornadaSendTaskParser = type("JornadaSendTaskParser", (_ExternalMixin, _with_messages(CamundaSendTaskParser)), {})
JornadaBusinessRuleTaskParser = type("JornadaBusinessRuleTaskParser", (_ExternalMixin, BusinessRuleTaskParser), {})


class JornadaParser(CamundaParser):
    """CamundaParser + handler service tasks, roles, literal ISO timers and merging messages; XSD-validating."""

    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (ServiceTaskParser, HandlerServiceTask),
        full_tag("userTask"): (UserTaskParser, UserTask),
        full_tag("manualTask"): (HumanTaskParser, ManualTask),
        full_tag("task"): (HumanTaskParser, NoneTask),
        full_tag("sendTask"): (JornadaSendTaskParser, SendTask),
        full_tag("receiveTask"): (_with_messages(CamundaReceiveTaskParser), ReceiveTask),
        full_tag("businessRuleTask"): (JornadaBusinessRuleTaskParser, BusinessRuleTask),
        **{
            full_tag(tag): (_with_messages(parser), CamundaParser.OVERRIDE_PARSER_CLASSES[full_tag(tag)][1])
            for tag, parser in (
                ("startEvent", CamundaStartEventParser),
                ("endEvent", CamundaEndEventParser),
                ("intermediateCatchEvent", CamundaIntermediateCatchEventParser),
                ("intermediateThrowEvent", CamundaIntermediateThrowEventParser),
                ("boundaryEvent", CamundaBoundaryEventParser),
            )
        },
    }

    def __init__(self, validate: bool = True) -> None:
        super().__init__(namespaces=JORNADA_NSMAP, validator=VALIDATOR if validate else None)

    def add_bpmn_xml(self, bpmn: etree._Element, filename: str | None = None) -> None:
        quote_timer_literals(bpmn)
        super().add_bpmn_xml(bpmn, filename)

    def _find_dependencies(self, process: etree._Element) -> None:
        """Call activities, and the DMN decisions of business rule tasks that name one (a handler topic instead
        of a decision is fine: BpmnDmnParser raises a KeyError on it)."""
        BpmnParser._find_dependencies(self, process)
        for task in process.iterfind(f".//{full_tag('businessRuleTask')}"):
            decision = task.get(f"{{{NSMAP['camunda']}}}decisionRef")
            if decision:
                self.dmn_dependencies.add(decision)


class HandlerServiceTaskConverter(BpmnTaskSpecConverter):
    def to_dict(self, spec: HandlerServiceTask) -> dict[str, Any]:
        dct: dict[str, Any] = self.get_default_attributes(spec)
        dct["topic"] = spec.topic
        return dct


def serializer_config() -> dict[type, type]:
    """The serializer registry config matching JornadaParser's spec classes."""
    from copy import deepcopy

    from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG

    config = deepcopy(CAMUNDA_CONFIG)
    config[HandlerServiceTask] = HandlerServiceTaskConverter
    config[MessageEventDefinition] = MessageEventDefinitionConverter
    return config


__all__ = [
    "ASSIGNEE",
    "CANDIDATE_GROUPS",
    "PRIORITY",
    "HandlerServiceTask",
    "JornadaParser",
    "MessageEventDefinition",
    "ValidationException",
    "is_iso_literal",
    "serializer_config",
]
