"""What changed between two versions of a BPMN model, element by element.

An *element* is a BPMN-namespace node with an id that a designer sees as one thing (a task, an event, a flow, a
lane, the process, a message). Everything inside it that is not an element itself (event definitions, condition
expressions, documentation, Camunda extensions such as form fields and extension properties) is folded into it
as flat ``path -> value`` pairs, so a change reads as ``review: camunda:property sla_stuck  P3D → P5D``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from engine._lint import BPMN, CAMUNDA
from engine._specs import parse_xml

BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
_PREFIX = {BPMN: "bpmn", CAMUNDA: "camunda", BPMNDI: "bpmndi", DC: "dc", DI: "di"}
_FOLDED = {  # BPMN nodes that may carry an id but are details of their owner, not elements of their own
    "conditionExpression", "documentation", "extensionElements", "laneSet", "ioSpecification", "inputSet",
    "outputSet", "dataInput", "dataOutput", "multiInstanceLoopCharacteristics", "standardLoopCharacteristics",
    "loopCardinality", "completionCondition", "timeDuration", "timeDate", "timeCycle", "script", "text",
}  # fmt: skip
_SKIPPED = {"incoming", "outgoing"}  # restate the flows' sourceRef/targetRef
# Attributes at their BPMN 2.0 schema default: an editor may write them or leave them out, meaning the same.
_DEFAULTS = {
    "cancelActivity": "true", "isInterrupting": "true", "parallelMultiple": "false", "isForCompensation": "false",
    "startQuantity": "1", "completionQuantity": "1", "instantiate": "false", "gatewayDirection": "Unspecified",
    "isClosed": "false", "processType": "None", "eventGatewayType": "Exclusive", "isSequential": "false",
    "behavior": "All", "isImmediate": "true", "implementation": "##unspecified", "method": "##unspecified",
    "triggeredByEvent": "false", "cancelRemainingInstances": "true", "ordering": "Parallel",
}  # fmt: skip
# The attribute that tells Camunda siblings apart: camunda:property sla_stuck, camunda:formField subject, ….
_KEYS = {"camunda:formField": "id", "camunda:value": "id"}
LAYOUT = "diagram layout"


@dataclass(frozen=True)
class Change:
    key: str
    before: str | None
    after: str | None


@dataclass
class ElementChange:
    element_id: str
    kind: str  # added | removed | changed
    element_type: str  # e.g. userTask
    name: str
    changes: list[Change] = field(default_factory=list)


def _qname(tag: str) -> str:
    q = etree.QName(tag)
    prefix = _PREFIX.get(q.namespace or "")
    return f"{prefix}:{q.localname}" if prefix else q.localname


def _is_element(node: etree._Element) -> bool:
    if not isinstance(node.tag, str) or not node.get("id"):
        return False
    q = etree.QName(node)
    return q.namespace == BPMN and q.localname not in _FOLDED and not q.localname.endswith("EventDefinition")


def _attr_name(name: str) -> str:
    return _qname(name) if name.startswith("{") else name


def _fold(node: etree._Element, path: str, into: dict[str, str], key_attr: str | None) -> None:
    """Add ``node``'s attributes and text under ``path``, then its non-element children below it."""
    start = len(into)
    for attr, value in node.attrib.items():
        name = _attr_name(str(attr))
        if (name == "id" and path) or name == key_attr or _DEFAULTS.get(name) == value:
            continue  # a detail's own id is noise; the sibling key is already part of the path
        into[f"{path} @{name}" if path else name] = value
    text = (node.text or "").strip()
    if path and text:
        into[path] = " ".join(text.split())
    siblings: dict[str, int] = {}
    for child in node:
        if not isinstance(child.tag, str) or _is_element(child):
            continue
        q = etree.QName(child)
        if q.localname in _SKIPPED or q.namespace == BPMNDI:
            continue  # incoming/outgoing restate the flows; the layout is compared shape by shape
        tag = _qname(child.tag)
        if tag == "bpmn:extensionElements":
            _fold(child, path, into, None)
            continue
        key = _KEYS.get(tag, "name") if q.namespace == CAMUNDA else None
        if key is not None and child.get(key):
            label = f"{tag} {child.get(key)}"
        else:
            key = None
            siblings[tag] = siblings.get(tag, 0) + 1
            count = siblings[tag]
            label = tag if count == 1 else f"{tag} #{count}"
        _fold(child, f"{path} / {label}" if path else label, into, key)
    if path and len(into) == start:
        into[path] = ""  # a detail with nothing but its key (a required constraint, an enum value)


def _readable(key: str) -> str:
    """``camunda:properties / camunda:property sla_stuck @value`` → ``camunda:property sla_stuck``."""
    return key.replace("camunda:properties / ", "").removesuffix(" @value")


def _coordinate(text: str) -> str:
    """A coordinate rounded to whole pixels (editors write 100 or 100.0), or the text as it is."""
    try:
        return str(round(float(text)))
    except ValueError:
        return text


def _layout(root: etree._Element) -> dict[str, str]:
    """Per element id, its shape bounds or edge waypoints, as text (label positions left out: editors add them)."""
    found: dict[str, str] = {}
    for shape in root.iter(f"{{{BPMNDI}}}BPMNShape", f"{{{BPMNDI}}}BPMNEdge"):
        owner = shape.get("bpmnElement")
        if not owner:
            continue
        points = [
            ",".join(_coordinate(p.get(k) or "") for k in ("x", "y", "width", "height") if p.get(k) is not None)
            for p in shape.iterchildren(f"{{{DC}}}Bounds", f"{{{DI}}}waypoint")
        ]
        found[owner] = " ".join(points)
    return found


def elements(xml: str) -> dict[str, tuple[str, str, dict[str, str]]]:
    """{element id: (type, name, {detail key: value})} for every element of a BPMN document."""
    root = parse_xml(xml.encode("utf-8"))
    layout = _layout(root)
    found: dict[str, tuple[str, str, dict[str, str]]] = {}
    for node in root.iter():
        if not _is_element(node):
            continue
        details: dict[str, str] = {}
        _fold(node, "", details, "id")
        details = {_readable(k): v for k, v in details.items()}
        element_id = node.get("id") or ""
        if element_id in layout:
            details[LAYOUT] = layout[element_id]
        found[element_id] = (etree.QName(node).localname, " ".join((node.get("name") or "").split()), details)
    return found


def compare(before_xml: str, after_xml: str) -> list[ElementChange]:
    """The elements added, removed or changed from ``before_xml`` to ``after_xml``, in document order."""
    before, after = elements(before_xml), elements(after_xml)
    result: list[ElementChange] = []
    for element_id, (kind, name, details) in after.items():
        if element_id not in before:
            result.append(ElementChange(element_id, "added", kind, name))
            continue
        old_kind, _, old = before[element_id]
        changes = [
            Change(key, old.get(key), details.get(key))
            for key in sorted(old.keys() | details.keys(), key=lambda k: (k == LAYOUT, k))
            if old.get(key) != details.get(key)
        ]
        if old_kind != kind:
            changes.insert(0, Change("type", old_kind, kind))
        if changes:
            result.append(ElementChange(element_id, "changed", kind, name, changes))
    for element_id, (kind, name, _) in before.items():
        if element_id not in after:
            result.append(ElementChange(element_id, "removed", kind, name))
    return result
