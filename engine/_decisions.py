"""DMN decision tables deployed beside the models: reading a DMN file, the checks that name the file, the
decision and the line, and the per-decision documents the engine stores and parses at run time.

SpiffWorkflow's DMN engine evaluates one decision table per decision; its input entries, input expressions and
output entries are expressions the workflow's (sandboxed) script engine evaluates, like gateway conditions.
"""

from __future__ import annotations

import ast
import copy
import os
import re
import threading
from dataclasses import dataclass

from lxml import etree
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS

from engine._errors import Problem
from engine._sandbox import SandboxError, check

DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",  # DMN 1.3 (Camunda Modeler 4+, Camunda 8)
    "http://www.omg.org/spec/DMN/20180521/MODEL/",  # DMN 1.2
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",  # DMN 1.1 (Camunda Modeler before 4)
)
# Hit policies the engine evaluates as DMN means them: UNIQUE, FIRST and ANY take the first matching rule (the
# engine does not check that only one matches); COLLECT without an aggregation gives a list per output.
HIT_POLICIES = ("UNIQUE", "FIRST", "ANY", "COLLECT")

_SCHEMA_LOCK = threading.Lock()
_SCHEMAS: dict[str, etree.XMLSchema] = {}


def is_dmn(root: etree._Element) -> bool:
    return etree.QName(root).localname == "definitions" and etree.QName(root).namespace in DMN_NAMESPACES


def _schema(namespace: str) -> etree.XMLSchema | None:
    path = SCHEMAS.get(namespace)
    if path is None or not os.path.exists(path):
        return None
    with _SCHEMA_LOCK:
        if namespace not in _SCHEMAS:
            _SCHEMAS[namespace] = etree.XMLSchema(etree.parse(path))
        return _SCHEMAS[namespace]


@dataclass(frozen=True)
class Decision:
    """One decision of a DMN file, as the stand-alone DMN document the engine stores and parses."""

    decision_id: str
    name: str
    file_name: str
    dmn_xml: str


def _single(root: etree._Element, decision: etree._Element) -> str:
    """The file with every decision but ``decision`` (and the diagram) removed: SpiffWorkflow reads one decision
    per DMN document."""
    keep = decision.get("id")
    copied = copy.deepcopy(root)
    for node in list(copied):
        if not isinstance(node.tag, str):
            continue
        local = etree.QName(node).localname
        if (local == "decision" and node.get("id") != keep) or local == "DMNDI":  # the diagram
            copied.remove(node)
    text: str = etree.tostring(copied, encoding="unicode")
    return text


def _check_code(problems: list[Problem], file_name: str, decision_id: str, node: etree._Element, text: str) -> None:
    what = etree.QName(node.getparent()).localname if node.getparent() is not None else "expression"
    shown = " ".join(text.split())
    candidate = text.replace("?", "dmninputexpr")  # "4 < ? < 6": ? stands for the input's value
    try:
        ast.parse(candidate.strip(), mode="eval")
    except SyntaxError:
        candidate = f"dmninputexpr {candidate}"  # an input entry such as "> 1000" compares the input with it
    try:
        check(candidate.strip(), "eval")
    except SandboxError as exc:
        verdict = "is refused by the sandbox" if exc.kind == "forbidden" else "is not a valid expression"
        problems.append(
            Problem(file_name, decision_id, node.sourceline, f"{what} {shown!r} of decision {decision_id!r} {verdict}: "
                    f"{exc.message} (decision tables are evaluated as Python expressions, see docs/dialect.md)")
        )  # fmt: skip


def read_decisions(file_name: str, root: etree._Element) -> tuple[list[Decision], list[Problem]]:
    """The decisions of a DMN file, or the problems that refuse it (each naming the file, decision and line)."""
    problems: list[Problem] = []
    namespace = etree.QName(root).namespace or ""
    schema = _schema(namespace)
    if schema is not None:
        with _SCHEMA_LOCK:
            valid = schema.validate(root)
            errors = list(schema.error_log)
        if not valid:
            for error in errors[:5]:
                message = re.sub(r"\{[^}]*\}", "", error.message).rstrip(".")
                if "xs:ID" in message:
                    message += " (is the id used twice, or does it start with a digit?)"
                problems.append(Problem(file_name, None, error.line, f"not valid DMN: {message}"))
            return [], problems
    ns = {"dmn": namespace}
    found: list[Decision] = []
    decisions = root.findall("dmn:decision", ns)
    if not decisions:
        problems.append(Problem(file_name, None, root.sourceline, "the DMN file has no decision to deploy"))
    for decision in decisions:
        decision_id = decision.get("id") or ""
        tables = decision.findall("dmn:decisionTable", ns)
        if len(tables) != 1:
            problems.append(
                Problem(file_name, decision_id, decision.sourceline,
                        f"decision {decision_id!r} has no decision table: the engine evaluates decision tables "
                        "only (not literal expressions or other decision kinds)")
            )  # fmt: skip
            continue
        table = tables[0]
        policy = (table.get("hitPolicy") or "UNIQUE").upper()
        if policy not in HIT_POLICIES or table.get("aggregation"):
            shown = f"{policy} with aggregation {table.get('aggregation')}" if table.get("aggregation") else policy
            problems.append(
                Problem(file_name, decision_id, table.sourceline,
                        f"decision {decision_id!r} has hit policy {shown}, which the engine does not evaluate: "
                        f"use {', '.join(HIT_POLICIES)} (COLLECT without aggregation)")
            )  # fmt: skip
        if decision.find("dmn:informationRequirement/dmn:requiredDecision", ns) is not None:
            problems.append(
                Problem(file_name, decision_id, decision.sourceline,
                        f"decision {decision_id!r} requires another decision, which the engine does not evaluate "
                        "first: call each decision from its own business rule task")
            )  # fmt: skip
        for text_node in table.iterfind("dmn:input/dmn:inputExpression/dmn:text", ns):
            if (text_node.text or "").strip():
                _check_code(problems, file_name, decision_id, text_node, text_node.text or "")
        for text_node in table.iterfind("dmn:rule/dmn:inputEntry/dmn:text", ns):
            text = (text_node.text or "").strip()
            if text and text != "-":
                _check_code(problems, file_name, decision_id, text_node, text)
        for text_node in table.iterfind("dmn:rule/dmn:outputEntry/dmn:text", ns):
            if (text_node.text or "").strip():
                _check_code(problems, file_name, decision_id, text_node, text_node.text or "")
        found.append(Decision(decision_id, decision.get("name") or decision_id, file_name, _single(root, decision)))
    return ([] if problems else found), problems


__all__ = ["DMN_NAMESPACES", "HIT_POLICIES", "Decision", "is_dmn", "read_decisions"]
