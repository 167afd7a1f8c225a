"""Deploying BPMN files: lint everything, then store one new version per changed executable process."""

from __future__ import annotations

import hashlib
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import _audit as audit
from engine._decisions import Decision, is_dmn, read_decisions
from engine._dialects import DEFAULT_GROUP, decision_reference, task_topic
from engine._enums import AuditAction
from engine._errors import DeployError, Problem
from engine._lint import NS, DeployedLookup, SourceFile, lint
from engine._specs import parse_xml
from engine.models import DecisionDefinition, ProcessDecision, ProcessDefinition


@dataclass(frozen=True)
class Deployed:
    process_id: str
    version: int
    definition_id: int
    changed: bool
    # what the deploy accepted but the engine runs differently from what the model may mean (engine._lint)
    warnings: list[Problem] = field(default_factory=list, hash=False)
    # "process", or "decision" for a DMN decision (then process_id is the decision id, definition_id the id of
    # its decision_definition row)
    kind: str = "process"

    def __str__(self) -> str:
        state = "deployed" if self.changed else "unchanged"
        what = "decision " if self.kind == "decision" else ""
        return f"{what}{self.process_id} v{self.version} ({state})"


def latest(session: Session, process_id: str) -> ProcessDefinition | None:
    return session.execute(
        select(ProcessDefinition)
        .where(ProcessDefinition.process_id == process_id)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    ).scalar_one_or_none()


def latest_decision(session: Session, decision_id: str) -> DecisionDefinition | None:
    return session.execute(
        select(DecisionDefinition)
        .where(DecisionDefinition.decision_id == decision_id)
        .order_by(DecisionDefinition.version.desc())
        .limit(1)
    ).scalar_one_or_none()


def linked_decisions(session: Session, definition: ProcessDefinition) -> list[int]:
    """The decision_definition ids a deployed process definition calls (none read for a model calling none)."""
    if not called_decisions(parse_xml(definition.bpmn_xml.encode("utf-8"))):
        return []
    return sorted(
        session.execute(
            select(ProcessDecision.decision_definition_id).where(ProcessDecision.definition_id == definition.id)
        ).scalars()
    )


def uploaded_decisions(files: Mapping[str, bytes]) -> list[Decision]:
    """The decisions of the upload's DMN files (lint has accepted them)."""
    found: list[Decision] = []
    for name, data in files.items():
        try:
            root = parse_xml(data)
        except etree.XMLSyntaxError:
            continue
        if is_dmn(root):
            found.extend(read_decisions(name, root)[0])
    return found


def called_decisions(root: etree._Element) -> list[str]:
    """The decision ids the business rule tasks of a process (or document) call, sorted (a topic wins)."""
    found: dict[str, None] = {}
    for task in root.iter(f"{{{NS['bpmn']}}}businessRuleTask"):
        decision = None if task_topic(task) else decision_reference(task)[0]
        if decision:
            found[decision] = None
    return sorted(found)


def _deploy_decision(session: Session, decision: Decision, *, actor: str, now: datetime) -> Deployed:
    digest = hashlib.sha256(decision.dmn_xml.encode("utf-8")).hexdigest()
    current = latest_decision(session, decision.decision_id)
    if current is not None and current.sha256 == digest:
        return Deployed(decision.decision_id, current.version, current.id, changed=False, kind="decision")
    version = (current.version if current else 0) + 1
    row = DecisionDefinition(
        decision_id=decision.decision_id,
        version=version,
        name=decision.name,
        file_name=decision.file_name,
        dmn_xml=decision.dmn_xml,
        sha256=digest,
        deployed_by=actor,
        deployed_at=now,
    )
    session.add(row)
    session.flush()
    payload = {
        "decision": decision.decision_id,
        "version": version,
        "file": decision.file_name,
        "sha256": digest,
        "previous_version": current.version if current else None,
    }
    audit.append(session, at=now, actor=actor, action=AuditAction.DECISION_DEPLOYED, process_id=None, payload=payload)
    return Deployed(decision.decision_id, version, row.id, changed=True, kind="decision")


def warnings_of(process_id: str, source: SourceFile, warnings: list[Problem]) -> list[Problem]:
    """The warnings about ``process_id``: those on its elements, and those of its file on no process."""
    assert source.root is not None
    owners: dict[str | None, str | None] = {}
    for process in source.root.iterfind("bpmn:process", NS):
        owners.update((node.get("id"), process.get("id")) for node in process.iter() if node.get("id"))
    return [w for w in warnings if w.file == source.name and owners.get(w.element_id, process_id) == process_id]


def deploy(
    session: Session,
    files: Mapping[str, bytes],
    *,
    topics: Container[str],
    actor: str,
    now: datetime,
    default_group: str = DEFAULT_GROUP,
) -> list[Deployed]:
    """Lint ``files`` (name -> bytes) and store them; raise DeployError (nothing stored) on any error. Warnings
    do not stop the deploy: each Deployed carries those about its process, and its audit entry records them."""

    def deployed_xml(process_id: str) -> str | None:
        found = latest(session, process_id)
        return found.bpmn_xml if found else None

    def deployed_decision(decision_id: str) -> str | None:
        found = latest_decision(session, decision_id)
        return found.dmn_xml if found else None

    lookup = DeployedLookup(deployed_xml, deployed_decision)
    parser, owners, problems, warnings = lint(files, topics, lookup, default_group)
    if problems:
        raise DeployError(problems + warnings)
    result = [_deploy_decision(session, d, actor=actor, now=now) for d in uploaded_decisions(files)]
    for process_id, source in sorted(owners.items()):
        xml = source.data.decode("utf-8")
        digest = hashlib.sha256(source.data).hexdigest()
        current = latest(session, process_id)
        found = warnings_of(process_id, source, warnings)
        decision_ids = []  # the latest version of each decision it calls, now (lint: each is deployed or uploaded)
        for decision_id in called_decisions(parser.get_process_parser(process_id).node):
            decision_row = latest_decision(session, decision_id)
            if decision_row is not None:
                decision_ids.append(decision_row.id)
        same_decisions = current is not None and linked_decisions(session, current) == sorted(decision_ids)
        if current is not None and current.sha256 == digest and same_decisions:
            result.append(Deployed(process_id, current.version, current.id, changed=False, warnings=found))
            continue
        version = (
            session.execute(
                select(func.max(ProcessDefinition.version)).where(ProcessDefinition.process_id == process_id)
            ).scalar()
            or 0
        ) + 1
        name = parser.get_process_parser(process_id).node.get("name") or process_id
        row = ProcessDefinition(
            process_id=process_id,
            version=version,
            name=name,
            file_name=source.name,
            bpmn_xml=xml,
            sha256=digest,
            deployed_by=actor,
            deployed_at=now,
        )
        session.add(row)
        session.flush()
        session.add_all(ProcessDecision(definition_id=row.id, decision_definition_id=i) for i in decision_ids)
        payload: dict[str, object] = {
            "version": version,
            "file": source.name,
            "sha256": digest,
            "previous_version": current.version if current else None,
        }
        if decision_ids:
            payload["decision_definitions"] = decision_ids
        if found:
            payload["warnings"] = [{"element": w.element_id, "line": w.line, "message": w.message} for w in found]
        audit.append(
            session,
            at=now,
            actor=actor,
            action=AuditAction.DEFINITION_DEPLOYED,
            process_id=process_id,
            payload=payload,
        )
        result.append(Deployed(process_id, version, row.id, changed=True, warnings=found))
    return result
