"""export.build_archive: a zip of everything Jornada holds about a customer: the record, every instance with
its task data, the human tasks and the audit events."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import AuditAction, HandlerContext
from engine.models import AuditEvent, HumanTask, ProcessInstance
from processes.customers import AccessGrant, Contact, Invoice, MrrMovement, get_customer
from processes.events import PlaybookRun, ProductEvent
from processes.health import HealthSnapshot
from processes.surveys import SurveyAnswer
from processes.tickets import SupportTicket


def _rows(rows: Any, *columns: str) -> list[dict[str, Any]]:
    return [{c: getattr(r, c) for c in columns} for r in rows]


def archive_bytes(ctx: HandlerContext) -> tuple[bytes, dict[str, int]]:
    customer = get_customer(ctx.session, ctx.customer_id)
    s = ctx.session
    instances = s.execute(select(ProcessInstance).where(ProcessInstance.customer_id == customer.id)).scalars().all()
    tasks = s.execute(select(HumanTask).where(HumanTask.customer_id == customer.id)).scalars().all()
    events = (
        s.execute(select(AuditEvent).where(AuditEvent.customer_id == customer.id).order_by(AuditEvent.seq))
        .scalars()
        .all()
    )
    files: dict[str, Any] = {
        "customer.json": _rows([customer], "id", "name", "email", "plan", "mrr", "csm_owner", "stage", "created_at")[0],
        "instances.json": [
            {
                **_rows([i], "id", "process_id", "status", "business_key", "started_at", "ended_at")[0],
                "workflow": json.loads(i.state_json),
            }
            for i in instances
        ],
        "tasks.json": _rows(
            tasks,
            "id",
            "process_id",
            "element_id",
            "name",
            "state",
            "assignee",
            "created_at",
            "completed_at",
            "completed_by",
        ),
        "audit.json": [
            {
                **_rows([e], "seq", "at", "actor", "action", "process_id", "instance_id", "hash")[0],
                "payload": json.loads(e.payload),
            }
            for e in events
        ],
        "invoices.json": _rows(
            s.execute(select(Invoice).where(Invoice.customer_id == customer.id)).scalars(),
            "id",
            "amount",
            "due_at",
            "paid_at",
        ),
        "mrr.json": _rows(
            s.execute(select(MrrMovement).where(MrrMovement.customer_id == customer.id)).scalars(),
            "at",
            "kind",
            "old_mrr",
            "new_mrr",
        ),
        "access.json": _rows(
            s.execute(select(AccessGrant).where(AccessGrant.customer_id == customer.id)).scalars(),
            "item",
            "detail",
            "revoked_at",
            "revoked_by",
        ),
        **cs_records(s, customer.id),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, json.dumps(content, indent=2, default=str, ensure_ascii=False))
    counts = {"instances": len(instances), "tasks": len(tasks), "audit_events": len(events)}
    return buffer.getvalue(), counts


def cs_records(s: Session, customer_id: str) -> dict[str, Any]:
    """The customer's CS records: contacts, survey answers, product events, health history, tickets, playbooks."""

    def of(model: Any, *columns: str, order: Any = None) -> list[dict[str, Any]]:
        query = select(model).where(model.customer_id == customer_id)
        return _rows(s.execute(query.order_by(order) if order is not None else query).scalars(), *columns)

    return {
        "contacts.json": of(Contact, "id", "name", "email", "role", "language", order=Contact.id),
        "surveys.json": of(
            SurveyAnswer,
            "at",
            "kind",
            "score",
            "scale_min",
            "scale_max",
            "comment",
            "source",
            "instance_id",
            order=SurveyAnswer.at,
        ),
        "events.json": of(ProductEvent, "at", "name", "properties", "source", order=ProductEvent.at),
        "health.json": of(HealthSnapshot, "at", "score", "band", "components", "reason", order=HealthSnapshot.at),
        "tickets.json": of(
            SupportTicket,
            "instance_id",
            "subject",
            "created_at",
            "first_response_at",
            "resolved_at",
            "first_contact_resolution",
            order=SupportTicket.created_at,
        ),
        "playbooks.json": of(PlaybookRun, "process_id", "rule", "trigger", "instance_id", "started_at"),
    }


def exports_folder(config: Mapping[str, Any]) -> Path:
    """Where export archives are written: <data_dir>/exports."""
    return Path(config["data_dir"]) / "exports"


def build_archive(ctx: HandlerContext) -> dict[str, Any]:
    data, counts = archive_bytes(ctx)
    digest = hashlib.sha256(data).hexdigest()
    folder = exports_folder(ctx.config)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{ctx.customer_id}-{ctx.now:%Y%m%dT%H%M%S}-{digest[:8]}.zip"
    path.write_bytes(data)
    ctx.audit(AuditAction.EXPORT_BUILT, {"customer": ctx.customer_id, "path": str(path), "sha256": digest, **counts})
    return {"export_path": str(path), "export_sha256": digest}
