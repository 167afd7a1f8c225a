"""The BPMN dialect Jornada reads (see docs/dialect.md): a CamundaParser that also understands handler topics on
service tasks, candidate groups on user tasks, literal ISO timers and messages whose payload merges into task data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import ReceiveTaskParser, SendTaskParser
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
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
from SpiffWorkflow.camunda.parser.task_spec import (
    BusinessRuleTaskParser,
    CallActivityParser,
    CamundaTaskParser,
    ScriptTaskParser,
    SubWorkflowParser,
)
from SpiffWorkflow.camunda.parser.task_spec import UserTaskParser as CamundaUserTaskParser
from SpiffWorkflow.camunda.serializer.event_definition import MessageEventDefinitionConverter
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition as CamundaMessage
from SpiffWorkflow.camunda.specs.user_task import UserTask
from SpiffWorkflow.dmn.serializer.task_spec import BaseBusinessRuleTaskConverter
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from engine._expressions import rewrite_expressions

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
JORNADA_NSMAP = {**NSMAP, "spiffworkflow": SPIFF_NS}

ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

# Keys under which user-task attributes from the XML node are kept in ``task_spec.extensions``: the Camunda 7
# attributes, or else Zeebe's assignmentDefinition, or else BPMN's potentialOwner / humanPerformer.
CANDIDATE_GROUPS = "camunda:candidateGroups"
CANDIDATE_USERS = "camunda:candidateUsers"
ASSIGNEE = "camunda:assignee"
PRIORITY = "camunda:priority"
# The group a human step with no role (no candidate groups, no lane) is offered to: config [engine] default_group.
DEFAULT_GROUP = "cs_lead"

_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_EXPRESSION = re.compile(r"^\s*(?:[$#]\{(?P<juel>.*)\}|=(?P<feel>.*))\s*$", re.DOTALL)
_RESOURCE = re.compile(r"^(user|group)\((.*)\)$")
_QUOTED = re.compile(r'"([^"]*)"')


def expression_of(value: str) -> str | None:
    """The expression inside ``${…}``, ``#{…}`` (JUEL) or after ``=`` (FEEL), or None for a literal."""
    found = _EXPRESSION.match(value)
    if found is None:
        return None
    return (found["juel"] if found["juel"] is not None else found["feel"] or "").strip()


def data_path(value: str) -> list[str] | None:
    """``${csm}`` / ``${customer.csm}`` / ``=customer.csm`` -> ["customer", "csm"]; None for anything else."""
    expression = expression_of(value)
    if expression is None or not _PATH.match(expression):
        return None
    return expression.split(".")


def resolve_assignee(value: str | None, data: Mapping[str, Any]) -> str | None:
    """The user a task's assignee names: a literal user, or a variable/property path read from ``data`` (the task
    data when it becomes ready). Anything that resolves to no user name (missing, empty, not text, another kind of
    expression) is None: the task is then ready in its groups."""
    if not value or not value.strip():
        return None
    if expression_of(value) is None:
        return value.strip()[:100]
    path = data_path(value)
    if path is None:
        return None
    found: Any = data
    for key in path:
        if not isinstance(found, Mapping) or key not in found:
            return None
        found = found[key]
    if isinstance(found, bool) or not isinstance(found, str | int):
        return None
    name = str(found).strip()
    return name if name and len(name) <= 100 else None


def static_names(value: str) -> list[str] | None:
    """Comma-separated names (``csm, support``) or a FEEL list of strings (``=["csm", "support"]``); None when the
    value is another expression, which the engine does not evaluate."""
    expression = expression_of(value)
    if expression is None:
        return [name.strip() for name in value.split(",") if name.strip()]
    if expression.startswith("[") and expression.endswith("]"):
        names = _QUOTED.findall(expression)
        if _QUOTED.sub("", expression[1:-1]).replace(",", "").strip() == "":
            return [name.strip() for name in names if name.strip()]
    return None


def role_attributes(node: etree._Element) -> dict[str, str]:
    """{CANDIDATE_GROUPS, CANDIDATE_USERS, ASSIGNEE: text} as the human step ``node`` declares them, each from the
    first of: the camunda: attributes, zeebe:assignmentDefinition, bpmn:potentialOwner / bpmn:humanPerformer."""
    camunda = NSMAP["camunda"]
    found: dict[str, str] = {}
    for key, attribute in (
        (CANDIDATE_GROUPS, "candidateGroups"),
        (CANDIDATE_USERS, "candidateUsers"),
        (ASSIGNEE, "assignee"),
    ):
        value = (node.get(f"{{{camunda}}}{attribute}") or "").strip()
        if value:
            found[key] = value
    for zeebe in node.iterfind(f"{{{BPMN_NS}}}extensionElements/{{{ZEEBE_NS}}}assignmentDefinition"):
        for key, attribute in (
            (CANDIDATE_GROUPS, "candidateGroups"),
            (CANDIDATE_USERS, "candidateUsers"),
            (ASSIGNEE, "assignee"),
        ):
            value = (zeebe.get(attribute) or "").strip()
            if value:
                found.setdefault(key, value)
    groups: list[str] = []
    users: list[str] = []
    for tag in ("potentialOwner", "humanPerformer", "performer"):
        expression = f"{{{BPMN_NS}}}{tag}/{{{BPMN_NS}}}resourceAssignmentExpression/{{{BPMN_NS}}}formalExpression"
        for formal in node.iterfind(expression):  # a resourceRef names a bpmn:resource, which is no group
            for text in formal.itertext():
                for part in (p.strip() for p in text.split(",")):
                    kind = _RESOURCE.match(part)
                    if kind and kind[2].strip():
                        (users if kind[1] == "user" else groups).append(kind[2].strip())
                    elif part:
                        (users if tag != "potentialOwner" else groups).append(part)
    if groups:
        found.setdefault(CANDIDATE_GROUPS, ",".join(dict.fromkeys(groups)))
    if users:
        found.setdefault(CANDIDATE_USERS, ",".join(dict.fromkeys(users)))
    return found


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


class _StandardLoopMixin:
    """Multi-instance the BPMN standard way (``loopDataInputRef`` / ``inputDataItem``, as bpmn.io's plain editor,
    spiff-arena and Zeebe-exported files write it) besides Camunda 7's ``camunda:collection``: the Camunda parser
    reads only the latter."""

    def _add_multiinstance_task(self, loop_characteristics: Any) -> None:
        standard = loop_characteristics.find(f"{{{BPMN_NS}}}loopDataInputRef") is not None
        if standard and loop_characteristics.get(f"{{{NSMAP['camunda']}}}collection") is None:
            TaskParser._add_multiinstance_task(self, loop_characteristics)
        else:
            super()._add_multiinstance_task(loop_characteristics)  # type: ignore[misc]


def drop_data_stores(root: etree._Element) -> None:
    """Data stores are drawn, not run: the engine keeps no store behind them. Remove the stores and the data
    associations that read or write one (the library refuses a store it has no implementation of); the deploy
    lint warns about each."""
    stores = {ref.get("id") for ref in root.iter(full_tag("dataStoreReference"))}
    for tag, end in (("dataInputAssociation", "sourceRef"), ("dataOutputAssociation", "targetRef")):
        for association in list(root.iter(full_tag(tag))):
            refs = {(ref.text or "").strip() for ref in association.iterfind(full_tag(end))}
            if refs & stores:
                association.getparent().remove(association)
    for store in list(root.iter(full_tag("dataStore"))):
        store.getparent().remove(store)


class HandlerServiceTask(ServiceTask):
    """A service task that calls the handler registered under ``topic`` (through the script engine)."""

    def __init__(self, wf_spec: Any, bpmn_id: str, topic: str, **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.topic = topic

    def _execute(self, task: Any) -> bool | None:
        """Run the topic's in-process handler; with none registered the task is an external task: it stays
        STARTED until a worker completes it (see engine/_external.py)."""
        call_handler: Callable[[Any, str, Mapping[str, str]], Mapping[str, Any] | None] | None
        has_handler: Callable[[str], bool] | None = getattr(task.workflow.script_engine, "has_handler", None)
        if has_handler is not None and not has_handler(self.topic):
            return None
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


def task_topic(node: etree._Element) -> str | None:
    """The topic of a service, send or business rule task: ``camunda:topic`` (Camunda 7) or the type of
    ``zeebe:taskDefinition`` (Camunda 8); None when it has neither."""
    topic = (node.get(f"{{{NSMAP['camunda']}}}topic") or "").strip()
    if topic:
        return topic
    for definition in node.iterfind(f"{{{BPMN_NS}}}extensionElements/{{{ZEEBE_NS}}}taskDefinition"):
        kind = (definition.get("type") or "").strip()
        if kind:
            return kind
    return None


class ServiceTaskParser(_StandardLoopMixin, CamundaTaskParser):
    def create_task(self) -> HandlerServiceTask:
        topic = task_topic(self.node) or ""
        if not topic:
            operator = self.xpath(".//spiffworkflow:serviceTaskOperator")
            topic = (operator[0].get("id") or "") if operator else ""
        if not topic:
            self.raise_validation_exception(
                "Service task has no handler: set Implementation 'External' and a topic (camunda:topic)"
            )
        return HandlerServiceTask(self.spec, self.bpmn_id, topic=topic, **self.bpmn_attributes)


class _RoleMixin(_StandardLoopMixin):
    """Keeps the role attributes of a human step (user, manual or untyped task) in ``task_spec.extensions``."""

    node: Any

    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        extensions: dict[str, Any] = super().parse_extensions(node)  # type: ignore[misc]
        extensions.update(role_attributes(self.node))
        priority = self.node.get(f"{{{NSMAP['camunda']}}}priority")
        if priority:
            extensions[PRIORITY] = priority.strip()
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


class _ExternalMixin(_StandardLoopMixin):
    """Camunda's "Implementation: External" on a send or business rule task: it runs the topic's handler, like a
    service task. Without a topic a send task throws its message (and a business rule task needs DMN)."""

    node: Any
    spec: Any
    bpmn_id: str
    bpmn_attributes: dict[str, Any]

    def _topic(self) -> str | None:
        return task_topic(self.node)

    def create_task(self) -> Any:
        topic = self._topic()
        if topic:
            return HandlerServiceTask(self.spec, self.bpmn_id, topic=topic, **self.bpmn_attributes)
        return super().create_task()  # type: ignore[misc]

    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        if self._topic():
            camunda: dict[str, Any] = CamundaTaskParser.parse_extensions(self, node)
            return camunda
        extensions: dict[str, Any] = super().parse_extensions(node)  # type: ignore[misc]
        return extensions


class CamundaSendTaskParser(CamundaEventDefinitionParser, SendTaskParser):
    def create_task(self) -> Any:
        return SendTaskParser.create_task(self)


class CamundaReceiveTaskParser(CamundaEventDefinitionParser, ReceiveTaskParser):
    def create_task(self) -> Any:
        return ReceiveTaskParser.create_task(self)


JornadaSendTaskParser = type("JornadaSendTaskParser", (_ExternalMixin, _with_messages(CamundaSendTaskParser)), {})


def decision_reference(node: etree._Element) -> tuple[str | None, str | None, str | None]:
    """(decision id, result variable, result mapping) of a business rule task: ``camunda:decisionRef`` with
    ``camunda:resultVariable`` / ``camunda:mapDecisionResult`` (Camunda 7), or ``zeebe:calledDecision`` with its
    ``decisionId`` / ``resultVariable`` (Camunda 8, mapping "zeebe"); all None when it names no decision."""
    camunda = NSMAP["camunda"]
    decision = (node.get(f"{{{camunda}}}decisionRef") or "").strip()
    if decision:
        variable = (node.get(f"{{{camunda}}}resultVariable") or "").strip() or None
        mapping = (node.get(f"{{{camunda}}}mapDecisionResult") or "").strip() or "resultList"
        return decision, variable, mapping if variable else None
    for called in node.iterfind(f"{{{BPMN_NS}}}extensionElements/{{{ZEEBE_NS}}}calledDecision"):
        decision = (called.get("decisionId") or "").strip()
        if decision:
            return decision, (called.get("resultVariable") or "").strip() or None, "zeebe"
    return None, None, None


RESULT_MAPPINGS = ("singleEntry", "singleResult", "collectEntries", "resultList", "zeebe")


def map_decision_result(rows: list[dict[str, Any]], mapping: str, collect: bool) -> Any:
    """The value a result variable gets from the matched rules' outputs (``rows``), as Camunda maps it:
    singleEntry -> the single output of the first rule, singleResult -> its outputs, collectEntries -> the single
    output of each rule, resultList -> every rule's outputs; "zeebe" -> like Camunda 8 (a single output's value or
    the outputs of the rule; a list of those for COLLECT)."""

    def entry(row: dict[str, Any]) -> Any:
        return next(iter(row.values())) if len(row) == 1 else row

    if mapping == "zeebe":
        return [entry(row) for row in rows] if collect else (entry(rows[0]) if rows else None)
    if mapping == "singleEntry":
        return entry(rows[0]) if rows else None
    if mapping == "singleResult":
        return rows[0] if rows else None
    if mapping == "collectEntries":
        return [entry(row) for row in rows]
    return rows


class DecisionTask(BusinessRuleTask):
    """A business rule task evaluating a DMN decision table; with a result variable the outputs go there (mapped
    as ``result_mapping`` says) instead of merging into the task data as SpiffWorkflow does."""

    def __init__(
        self,
        wf_spec: Any,
        bpmn_id: str,
        dmnEngine: Any,
        decision_id: str = "",
        result_variable: str | None = None,
        result_mapping: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(wf_spec, bpmn_id, dmnEngine, **kwargs)
        self.decision_id = decision_id
        self.result_variable = result_variable
        self.result_mapping = result_mapping

    def _run_hook(self, my_task: Any) -> bool:
        if not self.result_variable:
            return bool(super()._run_hook(my_task))
        from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
        from SpiffWorkflow.exceptions import SpiffWorkflowException

        try:
            rules = self.dmnEngine.decide(my_task)
            collect = self.dmnEngine.decision_table.hit_policy == "COLLECT"
            rows = [dict(rule.output_as_dict(my_task)) for rule in (rules if collect else rules[:1])]
            my_task.data[self.result_variable] = map_decision_result(rows, self.result_mapping or "zeebe", collect)
        except SpiffWorkflowException as exc:
            exc.add_note(f"Business Rule Task '{my_task.task_spec.bpmn_name}' (decision '{self.decision_id}').")
            raise
        except Exception as exc:
            error = WorkflowTaskException(str(exc), task=my_task)
            error.add_note(f"Business Rule Task '{my_task.task_spec.bpmn_name}' (decision '{self.decision_id}').")
            raise error from exc
        return True


class _MissingDecision:
    """The DMN engine of a decision the parser was not given (a spec parsed only to read forms): evaluating it
    fails, making an incident that names the decision."""

    def __init__(self, decision_id: str) -> None:
        self.decision_id = decision_id

    def decide(self, task: Any) -> list[Any]:
        raise RuntimeError(f"decision {self.decision_id!r} is not deployed with this process definition")

    def result(self, task: Any) -> dict[str, Any]:
        return self.decide(task)  # type: ignore[return-value]


class _DecisionMixin(_ExternalMixin):
    """A business rule task runs its topic's handler (Implementation 'External') or else the DMN decision it
    names (camunda:decisionRef / zeebe:calledDecision)."""

    process_parser: Any
    raise_validation_exception: Callable[[str], NoReturn]

    def create_task(self) -> Any:
        if self._topic():
            return super().create_task()
        decision, variable, mapping = decision_reference(self.node)
        if not decision:
            self.raise_validation_exception(
                "Business rule task has neither a decision nor a handler: set a called decision "
                "(camunda:decisionRef or zeebe:calledDecision) or Implementation 'External' and a topic"
            )
        assert decision is not None
        engine = self.process_parser.parser.get_engine(decision, self.node)
        return DecisionTask(
            self.spec,
            self.bpmn_id,
            engine,
            decision_id=decision,
            result_variable=variable,
            result_mapping=mapping,
            **self.bpmn_attributes,
        )


JornadaBusinessRuleTaskParser = type("JornadaBusinessRuleTaskParser", (_DecisionMixin, BusinessRuleTaskParser), {})


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
        full_tag("businessRuleTask"): (JornadaBusinessRuleTaskParser, DecisionTask),
        **{
            full_tag(tag): (
                type(f"Jornada{parser.__name__}", (_StandardLoopMixin, parser), {}),
                CamundaParser.OVERRIDE_PARSER_CLASSES[full_tag(tag)][1],
            )
            for tag, parser in (
                ("scriptTask", ScriptTaskParser),
                ("subProcess", SubWorkflowParser),
                ("callActivity", CallActivityParser),
                ("transaction", SubWorkflowParser),
            )
        },
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
        rewrite_expressions(bpmn)  # JUEL ${…} / FEEL =… -> sandbox Python; deploy refused what it cannot translate
        quote_timer_literals(bpmn)
        drop_data_stores(bpmn)
        super().add_bpmn_xml(bpmn, filename)

    def _find_dependencies(self, process: etree._Element) -> None:
        """Call activities, and the DMN decisions of business rule tasks that name one (a handler topic instead
        of a decision is fine: BpmnDmnParser raises a KeyError on it)."""
        BpmnParser._find_dependencies(self, process)
        for task in process.iterfind(f".//{full_tag('businessRuleTask')}"):
            decision = decision_reference(task)[0]
            if decision:
                self.dmn_dependencies.add(decision)

    # False: a business rule task whose decision the parser was not given gets a spec that fails when it runs
    # (a spec parsed to read forms, without the decisions); True: the parse fails.
    require_decisions = True

    def get_engine(self, decision_ref: str, node: etree._Element) -> Any:
        if decision_ref not in self.dmn_parsers and not self.require_decisions:
            return _MissingDecision(decision_ref)
        return super().get_engine(decision_ref, node)


class HandlerServiceTaskConverter(BpmnTaskSpecConverter):
    def to_dict(self, spec: HandlerServiceTask) -> dict[str, Any]:
        dct: dict[str, Any] = self.get_default_attributes(spec)
        dct["topic"] = spec.topic
        return dct


class DecisionTaskConverter(BaseBusinessRuleTaskConverter):
    def to_dict(self, spec: DecisionTask) -> dict[str, Any]:
        dct: dict[str, Any] = super().to_dict(spec)
        dct.update(
            decision_id=spec.decision_id, result_variable=spec.result_variable, result_mapping=spec.result_mapping
        )
        return dct


def serializer_config() -> dict[type, type]:
    """The serializer registry config matching JornadaParser's spec classes."""
    from copy import deepcopy

    from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG

    config: dict[type, type] = deepcopy(CAMUNDA_CONFIG)
    config[HandlerServiceTask] = HandlerServiceTaskConverter
    config[DecisionTask] = DecisionTaskConverter
    config[MessageEventDefinition] = MessageEventDefinitionConverter
    return config


__all__ = [
    "ASSIGNEE",
    "CANDIDATE_GROUPS",
    "PRIORITY",
    "RESULT_MAPPINGS",
    "DecisionTask",
    "HandlerServiceTask",
    "JornadaParser",
    "MessageEventDefinition",
    "ValidationException",
    "decision_reference",
    "is_iso_literal",
    "serializer_config",
    "task_topic",
]
