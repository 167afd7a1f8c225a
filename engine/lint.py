"""Deploy-time checks. SpiffWorkflow finds many mistakes only at run time and leaves node line numbers empty;
this module reads the XML itself so every refusal names the file, the element id and the line."""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.dialects import JornadaParser, is_iso_literal
from engine.durations import DurationError, parse_duration
from engine.errors import Problem
from engine.sandbox import SandboxError, check

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN, "camunda": CAMUNDA, "spiffworkflow": SPIFF}
SLA_KEYS = ("sla_warn", "sla_due", "sla_stuck")
_DOCTYPE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class SourceFile:
    name: str
    data: bytes
    root: etree._Element | None = None
    problems: list[Problem] = field(default_factory=list)

    def problem(self, message: str, node: etree._Element | None = None, element_id: str | None = None) -> None:
        line = node.sourceline if node is not None else None
        if element_id is None and node is not None:
            element_id = node.get("id")
        self.problems.append(Problem(self.name, element_id, line, message))

    def line_of(self, element_id: str | None) -> int | None:
        if self.root is None or not element_id:
            return None
        found = self.root.xpath("//*[@id=$i]", i=element_id)
        return found[0].sourceline if found else None


def read(name: str, data: bytes) -> SourceFile:
    """Checks on the raw bytes and the XML syntax: empty, binary, DOCTYPE/entities, malformed."""
    from engine.specs import parse_xml

    source = SourceFile(name, data)
    if not data.strip():
        source.problem("the file is empty")
        return source
    if b"\x00" in data[:8192]:
        source.problem("the file is binary, not BPMN XML")
        return source
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        source.problems.append(Problem(name, None, data[: exc.start].count(b"\n") + 1, "the file is not UTF-8 text"))
        return source
    match = _DOCTYPE.search(data)
    if match:
        line = data[: match.start()].count(b"\n") + 1
        source.problems.append(
            Problem(name, None, line, "DOCTYPE and entity declarations are not allowed (XXE, entity expansion)")
        )
        return source
    try:
        source.root = parse_xml(data)
    except etree.XMLSyntaxError as exc:
        source.problems.append(Problem(name, None, exc.lineno, f"malformed XML: {exc.msg}"))
        return source
    if source.root.tag != f"{{{BPMN}}}definitions":
        source.problem(f"the root element is {source.root.tag!r}, not bpmn:definitions", source.root)
    return source


def _check_code(source: SourceFile, node: etree._Element, code: str, mode: str, what: str, owner: str) -> None:
    try:
        check(code, "exec" if mode == "exec" else "eval")
    except SandboxError as exc:
        source.problem(f"{what} does not compile: {exc}", node, owner)


def _check_timer(source: SourceFile, node: etree._Element, owner: str) -> None:
    text = (node.text or "").strip()
    kind = etree.QName(node).localname
    if not text:
        source.problem(f"the timer's {kind} is empty", node, owner)
        return
    if not is_iso_literal(text):
        _check_code(source, node, text, "eval", f"timer expression {text!r}", owner)
        return
    try:
        if kind == "timeDate":
            TimerEventDefinition.get_datetime(text)
        elif kind == "timeCycle":
            TimerEventDefinition.parse_iso_recurring_interval(text)
        else:
            TimerEventDefinition.parse_iso_duration(text)
    except Exception as exc:
        source.problem(f"timer {kind} {text!r} is not a valid ISO-8601 value ({exc})", node, owner)


def _lanes(process: etree._Element) -> dict[str, str]:
    lanes: dict[str, str] = {}
    for lane in process.iterfind(".//bpmn:lane", NS):
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            if ref.text:
                lanes[ref.text.strip()] = lane.get("name") or lane.get("id") or ""
    return lanes


def _check_process(source: SourceFile, process: etree._Element, topics: Container[str]) -> None:
    ids = {node.get("id") for node in process.iter() if node.get("id")}
    for flow in process.iterfind(".//bpmn:sequenceFlow", NS):
        for end in ("sourceRef", "targetRef"):
            ref = flow.get(end)
            if ref not in ids:
                source.problem(f"sequence flow {end} points to unknown element {ref!r}", flow)
        condition = flow.find("bpmn:conditionExpression", NS)
        if condition is not None and (condition.text or "").strip():
            _check_code(source, condition, condition.text or "", "eval", "condition", flow.get("id") or "")
    for gateway in process.iterfind(".//bpmn:exclusiveGateway", NS):
        outgoing = process.xpath(".//bpmn:sequenceFlow[@sourceRef=$g]", namespaces=NS, g=gateway.get("id"))
        if len(outgoing) > 1:
            for flow in outgoing:
                has_condition = (flow.findtext("bpmn:conditionExpression", "", NS) or "").strip()
                if not has_condition and flow.get("id") != gateway.get("default"):
                    source.problem(
                        f"flow {flow.get('id')!r} leaves exclusive gateway {gateway.get('id')!r} with no "
                        "condition and is not its default flow",
                        flow,
                    )
    lanes = _lanes(process)
    for task in process.iterfind(".//bpmn:userTask", NS):
        groups = (task.get(f"{{{CAMUNDA}}}candidateGroups") or "").strip()
        if not groups and not lanes.get(task.get("id") or ""):
            source.problem("user task has no role: set candidate groups or put it in a lane", task)
        for prop in task.iterfind(".//camunda:properties/camunda:property", NS):
            if prop.get("name") in SLA_KEYS:
                try:
                    parse_duration(prop.get("value") or "", _EPOCH)
                except DurationError as exc:
                    source.problem(f"SLA property {prop.get('name')}: {exc}", prop, task.get("id"))
    for task in process.iterfind(".//bpmn:serviceTask", NS):
        topic = task.get(f"{{{CAMUNDA}}}topic")
        operator = task.find(".//spiffworkflow:serviceTaskOperator", NS)
        topic = topic or (operator.get("id") if operator is not None else None)
        if not topic:
            source.problem("service task has no handler: set Implementation 'External' and a topic", task)
        elif topic not in topics:
            source.problem(f"service task handler {topic!r} is not registered", task)
    for task in process.iterfind(".//bpmn:scriptTask", NS):
        script = task.findtext("bpmn:script", None, NS)
        if not (script or "").strip():
            source.problem("script task has no script", task)
        else:
            _check_code(source, task.find("bpmn:script", NS), script or "", "exec", "script", task.get("id") or "")
    for timer in process.iterfind(".//bpmn:timerEventDefinition", NS):
        owner = timer.getparent()
        found = [child for child in timer if etree.QName(child).localname in ("timeDuration", "timeDate", "timeCycle")]
        if not found:
            source.problem("timer has no timeDuration, timeDate or timeCycle", owner)
        for child in found:
            _check_timer(source, child, owner.get("id") or "")
    for message in process.iterfind(".//bpmn:messageEventDefinition", NS):
        expression = message.get(f"{{{CAMUNDA}}}expression")
        if expression:
            owner = message.getparent()
            _check_code(source, message, expression, "eval", "message payload expression", owner.get("id") or "")


def check_semantics(sources: list[SourceFile], topics: Container[str]) -> None:
    for source in sources:
        if source.root is None:
            continue
        for process in source.root.iterfind(".//bpmn:process", NS):
            _check_process(source, process, topics)


def parse_all(
    sources: list[SourceFile], deployed: Callable[[str], str | None]
) -> tuple[JornadaParser, dict[str, SourceFile], list[Problem]]:
    """Feed the files to the SpiffWorkflow parser and build every executable process's spec.

    ``deployed(process_id)`` returns the BPMN of an already deployed process a call activity may name.
    Returns the parser, {process id: file} for the uploaded executable processes, and the problems found.
    """
    parser = JornadaParser(validate=True)
    problems: list[Problem] = []
    owners: dict[str, SourceFile] = {}
    for source in sources:
        assert source.root is not None
        try:
            parser.add_bpmn_xml(source.root, filename=source.name)
        except ValidationException as exc:
            problems.append(_problem_of(exc, source))
    if problems:
        return parser, owners, problems
    for pid, process_parser in parser.process_parsers.items():
        owner = next((s for s in sources if s.name == process_parser.filename), None)
        if owner is not None and process_parser.node.get("isExecutable", "false") == "true":
            owners[pid] = owner
    _add_dependencies(parser, deployed, problems, sources)
    for pid, source in owners.items():
        try:
            parser.get_spec(pid)
            parser.get_subprocess_specs(pid)
        except ValidationException as exc:
            file = next((s for s in sources if s.name == exc.file_name), source)
            problems.append(_problem_of(exc, file))
    return parser, owners, problems


def _add_dependencies(
    parser: JornadaParser,
    deployed: Callable[[str], str | None],
    problems: list[Problem],
    sources: list[SourceFile],
) -> None:
    from engine.specs import parse_xml

    tried: set[str] = set()
    while True:
        missing = {d for d in parser.get_process_dependencies() if d not in parser.process_parsers} - tried
        if not missing:
            return
        for pid in sorted(missing):
            tried.add(pid)
            xml = deployed(pid)
            if xml is None:
                for source in sources:
                    assert source.root is not None
                    for node in source.root.xpath("//bpmn:callActivity[@calledElement=$p]", namespaces=NS, p=pid):
                        source.problem(
                            f"call activity calls process {pid!r}, which is neither deployed nor in this upload",
                            node,
                        )
                continue
            parser.add_bpmn_xml(parse_xml(xml.encode("utf-8")), filename=f"deployed:{pid}")


def _problem_of(exc: ValidationException, source: SourceFile) -> Problem:
    element_id = exc.id or None
    line = exc.line_number if isinstance(exc.line_number, int) and exc.line_number else source.line_of(element_id)
    message = str(exc).rstrip(". ").strip() or exc.__class__.__name__
    message = message.split("\nSource Details", 1)[0]
    return Problem(exc.file_name or source.name, element_id, line, message)


def lint(
    files: Mapping[str, bytes], topics: Container[str], deployed: Callable[[str], str | None]
) -> tuple[JornadaParser, dict[str, SourceFile], list[Problem]]:
    """All checks, in order; later stages run only on files that passed the earlier ones."""
    sources = [read(name, data) for name, data in files.items()]
    problems = [p for s in sources for p in s.problems]
    if problems:
        return JornadaParser(), {}, problems
    check_semantics(sources, topics)
    problems = [p for s in sources for p in s.problems]
    if problems:
        return JornadaParser(), {}, problems
    parser, owners, problems = parse_all(sources, deployed)
    problems += [p for s in sources for p in s.problems]
    if not problems and not owners:
        problems = [
            Problem(s.name, None, None, 'the file has no executable process (isExecutable="true")') for s in sources
        ]
    return parser, owners, problems
