"""Parsed specs, cached by content, and a workflow serializer that leaves the spec out of the JSON.

A running instance names its definition (and the definitions of the processes it calls); on load the specs come
from this in-process cache, parsed once per set of BPMN texts.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition as CamundaMessage
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine._dialects import JornadaParser, serializer_config

SafeParser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

SpecPair = tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]


def parse_xml(data: bytes) -> etree._Element:
    return etree.fromstring(data, SafeParser)


BPMN_NS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def single_process(xml: str, process_id: str) -> etree._Element:
    """The document with every process and collaboration but ``process_id`` removed: a called process is taken
    from its own latest definition, whatever else the file it was deployed from defines."""
    root = parse_xml(xml.encode("utf-8"))
    for node in list(root):
        if node.tag == f"{BPMN_NS}collaboration" or (node.tag == f"{BPMN_NS}process" and node.get("id") != process_id):
            root.remove(node)
    return root


_BUSINESS_RULE_TASK = "businessRuleTask"  # a model without the word calls no decision


class SpecCache:
    """(process id, BPMN texts) -> (spec, subprocess specs), parsed at most once per content."""

    def __init__(self) -> None:
        self._specs: dict[str, SpecPair] = {}
        self._decisions: dict[int, list[tuple[str, str]]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(processes: Sequence[tuple[str, str]], decisions: Sequence[tuple[str, str]] = ()) -> str:
        digest = hashlib.sha256()
        for process_id, xml in processes:
            digest.update(process_id.encode() + b"\0")
            digest.update(hashlib.sha256(xml.encode("utf-8")).digest())
        for decision_id, dmn in decisions:
            digest.update(b"dmn\0" + decision_id.encode() + b"\0")
            digest.update(hashlib.sha256(dmn.encode("utf-8")).digest())
        return digest.hexdigest()

    def decisions(
        self, session: Session, definition_ids: Sequence[int], processes: Sequence[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        """(decision id, DMN text) of the decisions the process definitions ``definition_ids`` (whose process id
        and BPMN text are ``processes``) call, as fixed when each was deployed (table process_decision);
        memoised, definitions never change. Nothing is read for definitions calling no decision."""
        from engine.models import DecisionDefinition, ProcessDecision

        found: dict[str, str] = {}
        for definition_id, (_process_id, xml) in zip(definition_ids, processes, strict=True):
            cached = self._decisions.get(definition_id)
            if cached is None:
                rows = (
                    session.execute(
                        select(DecisionDefinition.decision_id, DecisionDefinition.dmn_xml)
                        .join(ProcessDecision, ProcessDecision.decision_definition_id == DecisionDefinition.id)
                        .where(ProcessDecision.definition_id == definition_id)
                        .order_by(DecisionDefinition.decision_id)
                    ).all()
                    if _BUSINESS_RULE_TASK in xml
                    else []
                )
                cached = self._decisions[definition_id] = [(row.decision_id, row.dmn_xml) for row in rows]
            for decision_id, dmn in cached:
                found.setdefault(decision_id, dmn)  # the instance's own process's version first
        return sorted(found.items())

    def get(self, processes: Sequence[tuple[str, str]], decisions: Sequence[tuple[str, str]] = ()) -> SpecPair:
        """``processes``: (process id, BPMN text) of the instance's process first, then of every called one;
        ``decisions``: (decision id, DMN text) of the decisions their business rule tasks call. A business rule
        task whose decision is not given fails when it runs (a spec read for its forms needs no decisions)."""
        key = self.key(processes, decisions)
        found = self._specs.get(key)
        if found is not None:
            return found
        parser = JornadaParser(validate=False)
        parser.require_decisions = False
        for process_id, xml in processes:
            parser.add_bpmn_xml(single_process(xml, process_id), filename=f"{process_id}.bpmn")
        for decision_id, dmn in decisions:
            parser.add_dmn_xml(parse_xml(dmn.encode("utf-8")), filename=f"{decision_id}.dmn")
        main = processes[0][0]
        pair = (parser.get_spec(main), parser.get_subprocess_specs(main))
        default_message_payloads(pair)
        with self._lock:
            self._specs.setdefault(key, pair)
        return pair


EMPTY_PAYLOAD = "{}"


def default_message_payloads(pair: SpecPair) -> None:
    """A message thrown without a payload expression sends an empty payload ``{}`` (the library would evaluate
    the expression ``None`` and fail at run time; deploy accepts such a throw)."""
    spec, subprocess_specs = pair
    for process in [spec, *subprocess_specs.values()]:
        if process is None:
            continue
        for task_spec in process.task_specs.values():
            outer = getattr(task_spec, "event_definition", None)
            for definition in [outer, *getattr(outer, "event_definitions", [])]:
                if isinstance(definition, CamundaMessage) and not (definition.expression or "").strip():
                    definition.expression = EMPTY_PAYLOAD


_loading: ContextVar[SpecPair] = ContextVar("jornada_loading_spec")


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Writes a BpmnWorkflow without its spec; restores it with the spec of the current load."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        from uuid import UUID

        spec, subprocess_specs = _loading.get()
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    config = serializer_config()
    config[BpmnWorkflow] = SpeclessWorkflowConverter
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
    return BpmnWorkflowSerializer(registry)


SERIALIZER = _make_serializer()
SERIALIZER_VERSION = f"jornada-1/{SERIALIZER.VERSION}"


_serializer_lock = threading.Lock()  # the library's registry keeps a mode flag while it encodes


def dump(workflow: BpmnWorkflow) -> str:
    with _serializer_lock:
        text: str = SERIALIZER.serialize_json(workflow)
    return text


def load(state_json: str, specs: SpecPair) -> BpmnWorkflow:
    token = _loading.set(specs)
    try:
        with _serializer_lock:
            workflow: BpmnWorkflow = SERIALIZER.deserialize_json(state_json)
        return workflow
    finally:
        _loading.reset(token)
