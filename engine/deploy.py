"""Deploying BPMN files: lint everything, then store one new version per changed executable process."""

from __future__ import annotations

import hashlib
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import audit
from engine.dialects import DEFAULT_GROUP
from engine.errors import DeployError, Problem
from engine.lint import NS, SourceFile, lint
from engine.models import ProcessDefinition


@dataclass(frozen=True)
class Deployed:
    process_id: str
    version: int
    definition_id: int
    changed: bool
    # what the deploy accepted but the engine runs differently from what the model may mean (engine.lint)
    warnings: list[Problem] = field(default_factory=list, hash=False)

    def __str__(self) -> str:
        state = "deployed" if self.changed else "unchanged"
        return f"{self.process_id} v{self.version} ({state})"


def latest(session: Session, process_id: str) -> ProcessDefinition | None:
    return session.execute(
        select(ProcessDefinition)
        .where(ProcessDefinition.process_id == process_id)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    ).scalar_one_or_none()


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

    parser, owners, problems, warnings = lint(files, topics, deployed_xml, default_group)
    if problems:
        raise DeployError(problems + warnings)
    result = []
    for process_id, source in sorted(owners.items()):
        xml = source.data.decode("utf-8")
        digest = hashlib.sha256(source.data).hexdigest()
        current = latest(session, process_id)
        found = warnings_of(process_id, source, warnings)
        if current is not None and current.sha256 == digest:
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
        payload: dict[str, object] = {
            "version": version,
            "file": source.name,
            "sha256": digest,
            "previous_version": current.version if current else None,
        }
        if found:
            payload["warnings"] = [{"element": w.element_id, "line": w.line, "message": w.message} for w in found]
        audit.append(
            session,
            at=now,
            actor=actor,
            action="definition_deployed",
            process_id=process_id,
            payload=payload,
        )
        result.append(Deployed(process_id, version, row.id, changed=True, warnings=found))
    return result
