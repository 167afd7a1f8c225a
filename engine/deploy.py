"""Deploying BPMN files: lint everything, then store one new version per changed executable process."""

from __future__ import annotations

import hashlib
from collections.abc import Container, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import audit
from engine.errors import DeployError
from engine.lint import lint
from engine.models import ProcessDefinition


@dataclass(frozen=True)
class Deployed:
    process_id: str
    version: int
    definition_id: int
    changed: bool

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


def deploy(
    session: Session, files: Mapping[str, bytes], *, topics: Container[str], actor: str, now: datetime
) -> list[Deployed]:
    """Lint ``files`` (name -> bytes) and store them; raise DeployError (nothing stored) on any problem."""

    def deployed_xml(process_id: str) -> str | None:
        found = latest(session, process_id)
        return found.bpmn_xml if found else None

    parser, owners, problems = lint(files, topics, deployed_xml)
    if problems:
        raise DeployError(problems)
    result = []
    for process_id, source in sorted(owners.items()):
        xml = source.data.decode("utf-8")
        digest = hashlib.sha256(source.data).hexdigest()
        current = latest(session, process_id)
        if current is not None and current.sha256 == digest:
            result.append(Deployed(process_id, current.version, current.id, changed=False))
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
        audit.append(
            session,
            at=now,
            actor=actor,
            action="definition_deployed",
            process_id=process_id,
            payload={
                "version": version,
                "file": source.name,
                "sha256": digest,
                "previous_version": current.version if current else None,
            },
        )
        result.append(Deployed(process_id, version, row.id, changed=True))
    return result
