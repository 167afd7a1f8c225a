"""Deploy-time checks. SpiffWorkflow finds many mistakes only at run time and leaves node line numbers empty;
this module reads the XML itself so every refusal names the file, the element id and the line."""

from __future__ import annotations

import ast
import difflib
import itertools
import re
import threading
from collections.abc import Callable, Collection, Container, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from engine._decisions import DMN_NAMESPACES, Decision, is_dmn, read_decisions
from engine._dialects import (
    ASSIGNEE,
    CANDIDATE_GROUPS,
    CANDIDATE_USERS,
    DEFAULT_GROUP,
    RESULT_MAPPINGS,
    JornadaParser,
    data_path,
    decision_reference,
    expression_of,
    is_iso_literal,
    role_attributes,
    static_names,
    task_topic,
)
from engine._durations import DurationError, parse_duration
from engine._errors import Problem
from engine._expressions import expression_language, is_untranslated, rewrite_expressions
from engine._forms import form_problems
from engine._sandbox import SandboxError, check

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN, "camunda": CAMUNDA, "spiffworkflow": SPIFF}
SLA_KEYS = ("sla_warn", "sla_due", "sla_stuck")
_DOCTYPE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_ISO_ATTEMPT = re.compile(r"^\s*(R\d*/|PT?\d|\d{4}-\d\d)")  # meant as an ISO value, not as a Python expression
_TIMER_EXAMPLES = {
    "timeDuration": "a duration such as P3D or PT4H",
    "timeCycle": "a repeating interval such as R3/P1W",
    "timeDate": "a date-time such as 2027-01-01T09:00:00Z",
}
_PREFIXES = {BPMN: "bpmn:", CAMUNDA: "camunda:", SPIFF: "spiffworkflow:"}
_SCHEMA_LOCK = threading.Lock()  # an lxml schema keeps its error log on the object
_SPIFF_MESSAGES = (  # SpiffWorkflow's wording -> what a designer can act on ({tag}: e.g. bpmn:complexGateway)
    (r"^There is no support implemented for this task type.*", "{tag} is not supported by Jornada's engine"),
    (r"^No start event found", "the process has no start event"),
    (r"^Duplicate process ID: (.*)", r"another process of this upload has the same id '\1'"),
    (r"^Exactly one start event is required in a SubWorkflow Task; found (\d+)",
     r"a sub-process needs exactly one start event inside it; it has \1"),
    (r"^A SubWorkflow Must contain an End event", "a sub-process needs an end event inside it"),
    (r"^A multiinstance task must specify a cardinality or a collection",
     "a multi-instance activity needs a loop cardinality or a collection (camunda:collection)"),
    (r"^Cannot resolve dataInputAssociation.*", "a data input of this element is not a data object of its process; "
     "only data objects can be read"),
    (r"^Cannot resolve dataOutputAssociation.*", "a data output of this element is not a data object of its process; "
     "only data objects can be written"),
    (r"^When looking for a task spec, we found two items.*\((.*)\)$",
     r"a sequence flow leaves this element for '\1', which is not in the same process or sub-process"),
)  # fmt: skip


@dataclass
class SourceFile:
    name: str
    data: bytes
    root: etree._Element | None = None
    problems: list[Problem] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)  # a DMN file's decisions (engine._decisions)

    def problem(self, message: str, node: etree._Element | None = None, element_id: str | None = None) -> None:
        line = node.sourceline if node is not None else None
        if element_id is None and node is not None:
            element_id = node.get("id")
        self.problems.append(Problem(self.name, element_id, line, message))

    def warn(self, message: str, node: etree._Element | None = None, element_id: str | None = None) -> None:
        """A finding that does not refuse the deploy: the engine runs the model, perhaps not as it may be meant."""
        line = node.sourceline if node is not None else None
        if element_id is None and node is not None:
            element_id = node.get("id")
        self.problems.append(Problem(self.name, element_id, line, message, severity="warning"))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_warning]

    def line_of(self, element_id: str | None) -> int | None:
        if self.root is None or not element_id:
            return None
        found = self.root.xpath("//*[@id=$i]", i=element_id)
        return found[0].sourceline if found else None


def _element_near(root: etree._Element | None, line: int | None, tag: str | None = None) -> str | None:
    """The id of the last element starting at or before ``line`` (preferring ``tag``), or of its nearest
    ancestor with an id."""
    if root is None or not line:
        return None
    before = [el for el in root.iter() if isinstance(el.tag, str) and el.sourceline and el.sourceline <= line]
    exact = [el for el in before if el.sourceline == line and (tag is None or el.tag == tag)]
    node = exact[0] if exact else (before[-1] if before else None)
    while node is not None and not node.get("id"):
        node = node.getparent()
    return node.get("id") if node is not None else None


def _label(node: etree._Element) -> str:
    """What the designer sees on the diagram: the element's name (one line), else its id."""
    return " ".join((node.get("name") or "").split()) or node.get("id") or "?"


def _compact(message: str, limit: int = 240) -> str:
    """An lxml message without namespace URIs, cut to ``limit`` characters."""
    for uri, prefix in _PREFIXES.items():
        message = message.replace(f"{{{uri}}}", prefix)
    message = re.sub(r"\{[^}]*\}", "", message).strip().rstrip(".")
    return message if len(message) <= limit else message[: limit - 1].rstrip(" ,") + "…"


def read(name: str, data: bytes) -> SourceFile:
    """Checks on the raw bytes, the XML syntax and the BPMN 2.0 schema: empty, binary, not UTF-8,
    DOCTYPE/entities, malformed, not valid BPMN."""
    from engine._specs import parse_xml

    source = SourceFile(name, data)
    if not data.strip():
        source.problems.append(Problem(name, None, 1, "the file is empty"))
        return source
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        source.problems.append(Problem(name, None, 1, "the file is UTF-16 text; save it as UTF-8"))
        return source
    if b"\x00" in data[:8192]:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        source.problems.append(Problem(name, None, line, "the file is binary (an image or an archive?), not BPMN XML"))
        return source
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        try:
            near = _element_near(parse_xml(data.decode("utf-8", "replace").encode("utf-8")), line)
        except etree.XMLSyntaxError:
            near = None
        byte = data[exc.start : exc.start + 1].hex().upper()
        message = f"the file is not UTF-8 text (byte 0x{byte} on line {line}); save it as UTF-8"
        source.problems.append(Problem(name, near, line, message))
        return source
    match = _DOCTYPE.search(data)
    if match:
        line = data[: match.start()].count(b"\n") + 1
        message = "the file declares a DOCTYPE or entities, which are refused for security (external entities, "
        message += "entity expansion); remove the <!DOCTYPE …> block"
        source.problems.append(Problem(name, None, line, message))
        return source
    try:
        source.root = parse_xml(data)
    except etree.XMLSyntaxError as exc:
        source.problems.append(Problem(name, None, exc.lineno, f"malformed XML: {exc.msg}"))
        return source
    if is_dmn(source.root):
        source.decisions, found = read_decisions(name, source.root)
        source.problems.extend(found)
        return source
    if etree.QName(source.root).localname == "definitions" and "/DMN/" in (etree.QName(source.root).namespace or ""):
        source.problem(
            f"the DMN file's namespace {etree.QName(source.root).namespace!r} is not a DMN version the engine "
            f"reads: save it as DMN 1.3 ({DMN_NAMESPACES[0]})",
            source.root,
        )
        return source
    if source.root.tag != f"{{{BPMN}}}definitions":
        source.problem(f"the root element is {_compact(source.root.tag)!r}, not bpmn:definitions", source.root)
        return source
    duplicated = _check_unique_ids(source)
    _check_schema(source, duplicated)
    return source


def _check_unique_ids(source: SourceFile) -> set[str]:
    """Every id used by more than one element, each refused naming the elements and their lines (the schema
    only says such an id "is not a valid value of the atomic type 'xs:ID'"). Returns the ids."""
    assert source.root is not None
    by_id: dict[str, list[etree._Element]] = {}
    for node in source.root.iter():
        # ids of the OMG schemas (BPMN, DI) are xs:ID; an extension's (a camunda:formField's) are its own
        if isinstance(node.tag, str) and node.tag.startswith("{http://www.omg.org/spec/") and node.get("id"):
            by_id.setdefault(node.get("id") or "", []).append(node)
    duplicated = {key: nodes for key, nodes in by_id.items() if len(nodes) > 1}
    for key, nodes in duplicated.items():
        uses = ", ".join(f"{_compact(node.tag)} on line {node.sourceline}" for node in nodes)
        what = "process id" if all(etree.QName(n).localname == "process" for n in nodes) else "id"
        message = f"{what} {key!r} is used {len(nodes)} times ({uses}); every id in a file must be unique"
        source.problems.append(Problem(source.name, key, nodes[1].sourceline, message))
    return set(duplicated)


_NOT_AN_ID = re.compile(r"attribute '(\w+)': '([^']*)' is not a valid value of the atomic type 'xs:ID'")


def _check_schema(source: SourceFile, duplicated: Collection[str] = ()) -> None:
    assert source.root is not None
    VALIDATOR.preprocess(source.root)  # as SpiffWorkflow does before it validates (bpmn-js correlation tags)
    with _SCHEMA_LOCK:
        valid = VALIDATOR.validator.validate(source.root)
        errors = [(e.line, e.message) for e in VALIDATOR.validator.error_log] if not valid else []
    for line, message in errors[:10]:
        found = re.match(r"Element '([^']+)'", message)
        element = _element_near(source.root, line, found[1] if found else None)
        not_an_id = _NOT_AN_ID.search(message)
        if not_an_id and not_an_id[2] in duplicated:
            continue  # named by _check_unique_ids
        if not_an_id:
            message = (
                f"{not_an_id[1]} {not_an_id[2]!r} is not a valid id: start it with a letter or _, "
                "then use only letters, digits, _, - and ."
            )
            source.problems.append(Problem(source.name, element, line, message))
            continue
        if found and "This element is not expected" in message:
            message = f"{_compact(found[1])} is not allowed here"
        source.problems.append(Problem(source.name, element, line, f"not valid BPMN 2.0: {_compact(message)}"))


def _check_code(
    source: SourceFile, node: etree._Element, code: str, mode: str, what: str, owner: str, hint: str = ""
) -> None:
    if is_untranslated(node):
        return  # JUEL/FEEL that rewrite_expressions could not translate: refused there, naming the construct
    try:
        check(code, "exec" if mode == "exec" else "eval")
    except SandboxError as exc:
        offset = 0 if mode == "exec" else code[: len(code) - len(code.lstrip())].count("\n")
        line = node.sourceline + offset + (exc.line or 1) - 1 if node.sourceline else None
        shown = " ".join(code.split())
        subject = f"{what} {shown!r}" if mode == "eval" and len(shown) <= 80 else what
        verdict = "is refused by the sandbox" if exc.kind == "forbidden" else "is not valid Python"
        where = f" (line {exc.line} of the script)" if mode == "exec" and exc.line else ""
        message = f"{subject} {verdict}: {exc.message}{where}{hint}"
        source.problems.append(Problem(source.name, owner or None, line, message))


_FOREIGN_LANGUAGES = {"xpath": "XPath", "groovy": "Groovy", "javascript": "JavaScript", "ecmascript": "JavaScript"}


def _language_hint(node: etree._Element) -> str:
    """What to change when an expression is written in a language the engine does not evaluate: the element's
    ``language``, else the file's ``expressionLanguage`` (BPMN's default is XPath, so only a declared one counts)."""
    declared = expression_language(node) or ""
    name = next((label for key, label in _FOREIGN_LANGUAGES.items() if key in declared.lower()), None)
    if name is None:
        return ""
    return (
        f"; it is written in {name} (expressionLanguage {declared!r}), which Jornada does not evaluate: "
        "write it as a Python, JUEL ${…} or FEEL =… expression over the process data"
    )


def _timer_literal(text: str) -> str | None:
    """The ISO text a timer means literally (``P3D`` or ``'P3D'``), or None for an expression over task data."""
    if is_iso_literal(text) or _ISO_ATTEMPT.match(text):
        return text.strip()
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return value.strip() if isinstance(value, str) else None


def _check_timer(source: SourceFile, node: etree._Element, owner: str) -> None:
    text = (node.text or "").strip()
    kind = etree.QName(node).localname
    if not text:
        source.problem(f"the timer's {kind} is empty", node, owner)
        return
    literal = _timer_literal(text)
    if literal is None:
        example = _TIMER_EXAMPLES.get(kind, "an ISO-8601 value")
        hint = f"; write {example}, or a Python expression over the task data"
        _check_code(source, node, text, "eval", f"timer {kind}", owner, hint)
        return
    try:
        if kind == "timeDuration":
            parse_duration(literal, _EPOCH)  # what the timer accepts when it runs, no more, no less
        elif not is_iso_literal(literal):
            raise ValueError(literal)
        elif kind == "timeDate":
            TimerEventDefinition.get_datetime(literal)
        else:
            TimerEventDefinition.parse_iso_recurring_interval(literal)
    except Exception:  # DurationError, or the bare Exceptions the library raises
        example = _TIMER_EXAMPLES.get(kind, "an ISO-8601 value")
        source.problem(f"timer {kind} {literal!r} is not a valid ISO-8601 value: expected {example}", node, owner)


def _lanes(process: etree._Element) -> dict[str, str]:
    lanes: dict[str, str] = {}
    for lane in process.iterfind(".//bpmn:lane", NS):
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            if ref.text:
                lanes[ref.text.strip()] = (lane.get("name") or "").strip()  # the runtime's role: the lane's name
    return lanes


def _check_flows(source: SourceFile, process: etree._Element) -> None:
    ids = {node.get("id") for node in process.iter() if node.get("id")}
    outgoing: dict[str, list[etree._Element]] = {}
    for flow in process.iterfind(".//bpmn:sequenceFlow", NS):
        for end in ("sourceRef", "targetRef"):
            ref = flow.get(end)
            if ref not in ids:
                source.problem(f"sequence flow {end} points to {ref!r}, which is not an element of this process", flow)
        outgoing.setdefault(flow.get("sourceRef") or "", []).append(flow)
        condition = flow.find("bpmn:conditionExpression", NS)
        if condition is not None and (condition.text or "").strip():
            hint = _language_hint(condition)
            _check_code(source, condition, condition.text or "", "eval", "condition", flow.get("id") or "", hint)
    for node in process.iter(f"{{{BPMN}}}*"):
        flows = outgoing.get(node.get("id") or "", [])
        kind = etree.QName(node).localname
        if len(flows) < 2 or kind.endswith("Gateway") or kind in ("startEvent", "sequenceFlow"):
            continue
        names = ", ".join(repr(f.get("id")) for f in flows)
        source.problem(
            f"{kind} {_label(node)!r} has {len(flows)} outgoing sequence flows ({names}); "
            "split with a gateway instead: parallel to take every path, exclusive with conditions to choose one",
            node,
        )
    for gateway in process.xpath(".//bpmn:exclusiveGateway | .//bpmn:inclusiveGateway", namespaces=NS):
        flows = outgoing.get(gateway.get("id") or "", [])
        for flow in flows if len(flows) > 1 else []:
            has_condition = (flow.findtext("bpmn:conditionExpression", "", NS) or "").strip()
            if not has_condition and flow.get("id") != gateway.get("default"):
                kind = etree.QName(gateway).localname.replace("Gateway", "")
                source.problem(
                    f"flow {_label(flow)!r} leaves {kind} gateway "
                    f"{_label(gateway)!r} with no condition and is not its default flow: "
                    "give it a condition or make it the gateway's default flow",
                    flow,
                )


def _check_start_events(source: SourceFile, process: etree._Element) -> None:
    """A process starts at a start event (the library's own check, at parse time, comes after every other
    finding and would not be read first). A sub-process's start event is checked by the library."""
    if process.find("bpmn:startEvent", NS) is None:
        source.problem(f"process {_label(process)!r} has no start event: add one where the journey begins", process)


def _check_roles(source: SourceFile, task: etree._Element, lane: str, default_group: str) -> None:
    """Who a human step goes to (see ``engine._execution.task_roles``); every finding is a warning: the step runs,
    in the queue the warning names."""
    kind = {"userTask": "user task", "manualTask": "manual task"}.get(etree.QName(task).localname, "task")
    label = f"{kind} {_label(task)!r}"
    roles = role_attributes(task)
    groups_text, users_text = roles.get(CANDIDATE_GROUPS, ""), roles.get(CANDIDATE_USERS, "")
    groups = static_names(groups_text) or static_names(lane) or []
    if groups_text and static_names(groups_text) is None:
        source.warn(
            f"{label}: candidate groups {groups_text!r} are an expression, which the engine does not evaluate; "
            "write the group names (csm, support)",
            task,
        )
    queue = f"the default queue {default_group!r} ([engine] default_group)"
    where = f"group(s) {', '.join(map(repr, groups))}" if groups else queue
    users = static_names(users_text) if users_text else []
    if users is None:
        source.warn(
            f"{label}: candidate users {users_text!r} are an expression, which the engine does not evaluate: "
            f"the task is offered to {where}; write the user names",
            task,
        )
    elif len(users) > 1:
        source.warn(
            f"{label}: candidate users {', '.join(users)} are not offered one by one: the task is offered to "
            f"{where}, where any of them can claim it; name one assignee, or a group, to choose who does it",
            task,
        )
    assignee = roles.get(ASSIGNEE, "")
    if assignee and expression_of(assignee) is not None and data_path(assignee) is None:
        source.warn(
            f"{label}: assignee {assignee!r} is an expression the engine does not evaluate (only a variable or "
            f"property path such as ${{csm_owner}} or ${{customer.csm}}): the task is offered to {where}",
            task,
        )
    if not groups:
        untyped = " (and no type, so a person completes it)" if kind == "task" else ""
        source.warn(
            f"{label} has no role{untyped}: it is offered to {queue}"
            + (" when its assignee is not set" if assignee or users else "")
            + "; set candidate groups or put it in a lane to choose the role",
            task,
        )


def _check_decision_reference(source: SourceFile, task: etree._Element) -> None:
    decision, variable, mapping = decision_reference(task)
    if not decision:
        source.problem(
            f"business rule task {_label(task)!r} has neither a decision nor a handler: set a called decision "
            "(camunda:decisionRef, or zeebe:calledDecision decisionId) and deploy its DMN file with the model, "
            "or set Implementation 'External' and a topic",
            task,
        )
    elif expression_of(decision) is not None:
        source.problem(
            f"business rule task {_label(task)!r} names its decision by the expression {decision!r}: "
            "name the decision id itself",
            task,
        )
    elif mapping is not None and mapping not in RESULT_MAPPINGS:
        source.problem(
            f"business rule task {_label(task)!r} maps the decision result as {mapping!r}: use one of "
            "singleEntry, singleResult, collectEntries, resultList",
            task,
        )
    if variable is not None and not re.fullmatch(r"[A-Za-z_]\w*", variable):
        source.problem(
            f"business rule task {_label(task)!r} has result variable {variable!r}: use a plain variable name",
            task,
        )


def check_decisions(sources: list[SourceFile], deployed_decision: Callable[[str], str | None]) -> dict[str, Decision]:
    """The decisions of the upload's DMN files ({decision id: decision}); refuses a decision id defined twice
    in the upload and a business rule task calling a decision neither in the upload nor deployed."""
    found: dict[str, Decision] = {}
    for source in sources:
        for decision in source.decisions:
            if decision.decision_id in found:
                other = found[decision.decision_id].file_name
                source.problem(
                    f"decision {decision.decision_id!r} is also defined in {other!r}: a decision id must be unique",
                    element_id=decision.decision_id,
                )
            found[decision.decision_id] = decision
    for source in sources:
        if source.root is None or source.decisions or is_dmn(source.root):
            continue
        for process in executable_processes(source.root)[0]:
            for task in process.iterfind(".//bpmn:businessRuleTask", NS):
                if task_topic(task):
                    continue
                called = decision_reference(task)[0]
                if not called or expression_of(called) is not None or called in found:
                    continue
                if deployed_decision(called) is None:
                    close = difflib.get_close_matches(called, sorted(found), n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    source.problem(
                        f"business rule task {_label(task)!r} calls decision {called!r}, which is neither "
                        f"deployed nor in this upload: deploy its DMN file with the model{hint}",
                        task,
                    )
    return found


def _check_process(
    source: SourceFile, process: etree._Element, topics: Container[str], default_group: str = DEFAULT_GROUP
) -> None:
    _check_start_events(source, process)
    _check_flows(source, process)
    lanes = _lanes(process)
    for task in process.xpath(".//bpmn:userTask | .//bpmn:manualTask | .//bpmn:task", namespaces=NS):
        _check_roles(source, task, lanes.get(task.get("id") or "", ""), default_group)
        for message in form_problems(task):
            source.problem(message, task)
        _check_sla(source, task)
    known = sorted(topics) if isinstance(topics, Iterable) else []
    for task in process.xpath(".//bpmn:serviceTask | .//bpmn:sendTask | .//bpmn:businessRuleTask", namespaces=NS):
        topic = task_topic(task)
        operator = task.find(".//spiffworkflow:serviceTaskOperator", NS)
        topic = topic or (operator.get("id") if operator is not None else None)
        kind = etree.QName(task).localname
        if not topic and kind == "sendTask":
            if task.get("messageRef") is None and task.find("bpmn:messageEventDefinition", NS) is None:
                source.warn(
                    f"send task {_label(task)!r} sends nothing, so it does nothing and the process goes on: "
                    "set Implementation 'External' and a topic, or a message",
                    task,
                )
        elif not topic and kind == "businessRuleTask":
            _check_decision_reference(source, task)  # the decision itself: check_decisions
        elif not topic:
            source.problem("service task has no handler: set Implementation 'External' and a topic", task)
        elif topic not in topics:
            # no in-process handler: an external task a worker fetches (engine/_external.py, docs/external-tasks.md)
            close = difflib.get_close_matches(topic, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            source.warn(
                f"handler topic {topic!r} has no in-process handler: it runs as an external task; "
                f"a worker must fetch topic {topic!r}{hint}",
                task,
            )
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


_FLOW_NODES = (
    "bpmn:*[contains(local-name(), 'Event') or contains(local-name(), 'Task') or local-name() = 'task'"
    " or contains(local-name(), 'Gateway') or local-name() = 'subProcess' or local-name() = 'callActivity'"
    " or local-name() = 'transaction']"
)


def executable_processes(root: etree._Element) -> tuple[list[etree._Element], list[etree._Element]]:
    """(the processes of a file the engine runs, those of them without an isExecutable attribute). Processes
    marked isExecutable="true" when any is; else every process that draws something and does not say
    isExecutable="false" (the BPMN default is false, but designers leave it out and mean it to run)."""
    processes = root.findall(".//bpmn:process", NS)
    marked = [process for process in processes if process.get("isExecutable") == "true"]
    if marked:
        return marked, []
    implicit = [p for p in processes if p.get("isExecutable") is None and p.xpath(_FLOW_NODES, namespaces=NS)]
    return implicit, implicit


def _check_data_stores(source: SourceFile, executable: list[etree._Element]) -> None:
    assert source.root is not None
    drawn = "is drawn only: Jornada keeps no data store, so what the model reads from or writes to it does nothing"
    referenced: set[str] = set()
    for process in executable:
        for ref in process.iterfind(".//bpmn:dataStoreReference", NS):
            referenced.add(ref.get("dataStoreRef") or "")
            source.warn(f"data store {_label(ref)!r} {drawn}", ref)
    for store in source.root.iterfind(".//bpmn:dataStore", NS):
        if store.get("id") not in referenced:
            source.warn(f"data store {_label(store)!r} {drawn}", store)


def _check_sla(source: SourceFile, task: etree._Element) -> None:
    """Each SLA property is an ISO duration, and those present run warn <= due <= stuck (an absent due defaults
    to stuck, so it is not compared)."""
    spans: dict[str, tuple[timedelta, etree._Element]] = {}
    for prop in task.iterfind(".//camunda:properties/camunda:property", NS):
        name = prop.get("name") or ""
        if name in SLA_KEYS:
            try:
                spans[name] = (parse_duration(prop.get("value") or "", _EPOCH), prop)
            except DurationError as exc:
                source.problem(f"SLA property {name}: {exc}", prop, task.get("id"))
    present = [(name, *spans[name]) for name in SLA_KEYS if name in spans]
    for (early, early_end, early_prop), (late, late_end, late_prop) in itertools.combinations(present, 2):
        if early_end > late_end:
            source.problem(
                f"SLA properties out of order: {early} ({early_prop.get('value')}) is longer than {late} "
                f"({late_prop.get('value')}); the durations must be sla_warn <= sla_due <= sla_stuck",
                late_prop,
                task.get("id"),
            )
            return


def check_semantics(sources: list[SourceFile], topics: Container[str], default_group: str = DEFAULT_GROUP) -> None:
    """Checks on every executable process; a file without one is refused, naming its processes."""
    for source in sources:
        if source.root is None:
            continue
        for found in rewrite_expressions(source.root):
            source.problem(found.message, found.node, found.element_id)
        processes = source.root.findall(".//bpmn:process", NS)
        executable, implicit = executable_processes(source.root)
        for process in implicit:
            source.warn(
                f"process {_label(process)!r} does not say whether it is executable: it is deployed as executable; "
                "tick 'Executable' in the properties panel (isExecutable=\"true\") to say so",
                process,
            )
        for process in executable:
            _check_process(source, process, topics, default_group)
        if executable:
            _check_data_stores(source, executable)
        if not executable:
            for process in processes:
                source.problem(
                    f"process {_label(process)!r} is not executable: tick 'Executable' "
                    'in the properties panel (isExecutable="true")',
                    process,
                )
            if not processes:
                source.problem("the file has no process to deploy", source.root)


def parse_all(
    sources: list[SourceFile],
    deployed: Callable[[str], str | None],
    add_decisions: Callable[[JornadaParser, list[Problem]], None] | None = None,
) -> tuple[JornadaParser, dict[str, SourceFile], list[Problem]]:
    """Feed the files to the SpiffWorkflow parser and build every executable process's spec.

    ``deployed(process_id)`` returns the BPMN of an already deployed process a call activity may name.
    Returns the parser, {process id: file} for the uploaded executable processes, and the problems found.
    """
    parser = JornadaParser(validate=False)  # read() has checked the schema, with every error's line
    problems: list[Problem] = []
    owners: dict[str, SourceFile] = {}
    runnable: set[tuple[str, str | None]] = set()  # (file, process id)
    for source in sources:
        assert source.root is not None
        runnable |= {(source.name, process.get("id")) for process in executable_processes(source.root)[0]}
        try:
            parser.add_bpmn_xml(source.root, filename=source.name)
        except ValidationException as exc:
            problems.append(_problem_of(exc, source))
        except Exception as exc:  # the parser's own bugs on unusual input must not become a server error
            message = f"the engine cannot read this file: {type(exc).__name__}: {exc}"
            problems.append(Problem(source.name, source.root.get("id"), source.root.sourceline, message))
    if problems:
        return parser, owners, problems
    for pid, process_parser in parser.process_parsers.items():
        owner = next((s for s in sources if s.name == process_parser.filename), None)
        if owner is not None and (owner.name, pid) in runnable:
            owners[pid] = owner
    _add_dependencies(parser, deployed, problems, sources)
    if _check_recursion(parser, sources):
        return parser, owners, problems  # the library would recurse building the specs
    if add_decisions is not None:
        add_decisions(parser, problems)
        if problems:
            return parser, owners, problems
    for pid, source in owners.items():
        try:
            parser.get_spec(pid)
            parser.get_subprocess_specs(pid, require_call_activity_specs=False)  # missing ones: _add_dependencies
        except ValidationException as exc:
            file = next((s for s in sources if s.name == exc.file_name), source)
            problems.append(_problem_of(exc, file, pid))
        except Exception as exc:  # the parser's own bugs on unusual input must not become a server error
            message = f"the engine cannot read this process: {type(exc).__name__}: {exc}"
            problems.append(Problem(source.name, pid, source.line_of(pid), message))
    return parser, owners, problems


def _add_dependencies(
    parser: JornadaParser,
    deployed: Callable[[str], str | None],
    problems: list[Problem],
    sources: list[SourceFile],
) -> None:
    from engine._specs import parse_xml

    tried: set[str] = set()
    while True:
        missing = {d for d in parser.get_process_dependencies() if d not in parser.process_parsers} - tried
        if not missing:
            return
        for pid in sorted(missing):
            tried.add(pid)
            calls = [
                (source, node)
                for source in sources
                if source.root is not None
                for node in source.root.xpath("//bpmn:callActivity[@calledElement=$p]", namespaces=NS, p=pid)
            ] or [(sources[0], sources[0].root)]  # called from a deployed process: name the upload
            xml = deployed(pid)
            if xml is None:
                for source, node in calls:
                    source.problem(
                        f"call activity calls process {pid!r}, which is neither deployed nor in this upload", node
                    )
                continue
            root = parse_xml(xml.encode("utf-8"))
            clash = sorted({p.get("id") for p in root.iterfind(".//bpmn:process", NS)} & set(parser.process_parsers))
            if clash:
                for source, node in calls:
                    source.problem(
                        f"call activity calls the deployed process {pid!r}, whose file also defines "
                        f"{', '.join(map(repr, clash))}, which this upload defines again: deploy {pid!r} with it",
                        node,
                    )
                continue
            parser.add_bpmn_xml(root, filename=f"deployed:{pid}")


def _check_recursion(parser: JornadaParser, sources: list[SourceFile]) -> bool:
    """Refuse a call activity of the upload whose called process calls back, directly or through others, into
    the process holding it: each run would start another one, for ever. True if one was found."""
    found = False
    calls: dict[str, list[tuple[etree._Element, str]]] = {}  # process id -> [(call activity, called process id)]
    for pid, process_parser in parser.process_parsers.items():
        for node in process_parser.node.iterfind(".//bpmn:callActivity", NS):
            called = node.get("calledElement")
            if called:
                calls.setdefault(pid, []).append((node, called))

    def path_back(start: str, target: str) -> list[str] | None:
        """The shortest chain of calls from ``start`` to ``target``, both included."""
        previous: dict[str, str | None] = {start: None}
        pending = [start]
        while pending:
            current = pending.pop(0)
            if current == target:
                chain = [current]
                while (before := previous[chain[-1]]) is not None:
                    chain.append(before)
                return chain[::-1]
            for _node, called in calls.get(current, []):
                if called not in previous:
                    previous[called] = current
                    pending.append(called)
        return None

    for pid, process_parser in parser.process_parsers.items():
        source = next((s for s in sources if s.name == process_parser.filename), None)
        if source is None:  # a deployed process pulled in for its callers
            continue
        for node, called in calls.get(pid, []):
            chain = path_back(called, pid)
            if chain is None:
                continue
            found = True
            cycle = " -> ".join([pid, *chain])
            how = "calls its own process" if called == pid else f"calls process {called!r}, which calls back into it"
            source.problem(
                f"call activity {_label(node)!r} {how} ({cycle}): a process must not call itself, directly or "
                "through the processes it calls, or it would never end",
                node,
            )
    return found


def _problem_of(exc: ValidationException, source: SourceFile, fallback_id: str | None = None) -> Problem:
    element_id = exc.id or fallback_id
    line = exc.line_number if isinstance(exc.line_number, int) and exc.line_number else source.line_of(element_id)
    message = str(exc).split("\nSource Details", 1)[0].rstrip(". ").strip() or exc.__class__.__name__
    for spiff, ours in _SPIFF_MESSAGES:
        message = re.sub(spiff, ours.replace("{tag}", exc.tag or "this element"), message, flags=re.DOTALL)
    return Problem(exc.file_name or source.name, element_id, line, message)


@dataclass(frozen=True)
class DeployedLookup:
    """What is deployed: ``process(process id)`` -> its latest BPMN text, ``decision(decision id)`` -> its latest
    DMN text (None when not deployed)."""

    process: Callable[[str], str | None]
    decision: Callable[[str], str | None]


def lint(
    files: Mapping[str, bytes],
    topics: Container[str],
    deployed: Callable[[str], str | None] | DeployedLookup,
    default_group: str = DEFAULT_GROUP,
) -> tuple[JornadaParser, dict[str, SourceFile], list[Problem], list[Problem]]:
    """All checks, in order; later stages run only on files that passed the earlier ones. ``deployed``: the
    latest BPMN of a deployed process, or a DeployedLookup also giving deployed decisions (without it, a decision
    not in the upload is not looked for: the deploy checks it). Returns the parser,
    {process id: file} of the executable processes, the errors (any refuses the deploy) and the warnings."""
    deployed_decision = deployed.decision if isinstance(deployed, DeployedLookup) else None
    deployed = deployed.process if isinstance(deployed, DeployedLookup) else deployed
    sources = [read(name, data) for name, data in files.items()]

    def warnings() -> list[Problem]:
        return [p for s in sources for p in s.problems if p.is_warning]

    problems = [p for s in sources for p in s.errors]
    if problems:
        return JornadaParser(), {}, problems, warnings()
    models = [s for s in sources if not s.decisions]  # the BPMN files (each DMN file read has a decision)
    decisions = check_decisions(sources, deployed_decision or (lambda _decision: ""))
    check_semantics(models, topics, default_group)
    problems = [p for s in sources for p in s.errors]
    if problems:
        return JornadaParser(), {}, problems, warnings()
    parser, owners, problems = parse_all(
        models,
        deployed,
        lambda parser, found: _add_decisions(parser, decisions, deployed_decision, found, sources),
    )
    problems += [p for s in sources for p in s.errors]
    if not problems and not owners and not decisions:
        problems = [Problem(s.name, None, None, "the upload has no executable process") for s in sources]
    return parser, owners, problems, warnings()


def _add_decisions(
    parser: JornadaParser,
    decisions: Mapping[str, Decision],
    deployed_decision: Callable[[str], str | None] | None,
    problems: list[Problem],
    sources: list[SourceFile],
) -> None:
    """Give the parser the DMN of every decision a business rule task (of the upload or of a called deployed
    process) names: from the upload, else the deployed one. Without ``deployed_decision`` (a lint of one model)
    a decision not in the upload is not looked for, and its tasks are parsed without it."""
    from engine._specs import parse_xml

    if deployed_decision is None:
        parser.require_decisions = False
    for decision_id in sorted(parser.get_dmn_dependencies()):
        if decision_id in decisions:
            xml: str | None = decisions[decision_id].dmn_xml
            name = decisions[decision_id].file_name
        else:
            xml = deployed_decision(decision_id) if deployed_decision else None
            name = f"deployed:{decision_id}"
        if not xml:
            continue  # refused by check_decisions when the upload calls it; else the spec build names it
        try:
            parser.add_dmn_xml(parse_xml(xml.encode("utf-8")), filename=name)
        except ValidationException as exc:
            source = next((s for s in sources if s.name == name), sources[0])
            problems.append(_problem_of(exc, source, decision_id))
