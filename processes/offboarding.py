"""Offboarding handlers: outstanding balance, access revocation, purge of confidential data, deletion certificate."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, delete, select, update
from sqlalchemy.orm import Session

from engine import audit
from engine.handlers import HandlerContext, HandlerError
from engine.models import AuditEvent, ProcessInstance
from processes.customers import AccessGrant, Contact, Invoice, get_customer
from processes.events import ProductEvent
from processes.export import exports_folder
from processes.surveys import SurveyAnswer, SurveyLink
from processes.tickets import SupportTicket

CHECKLIST_PREFIX = "revoke_"


def outstanding_balance(ctx: HandlerContext) -> dict[str, Any]:
    customer = get_customer(ctx.session, ctx.customer_id)
    unpaid = (
        ctx.session.execute(
            select(Invoice)
            .where(Invoice.customer_id == customer.id, Invoice.paid_at.is_(None))
            .order_by(Invoice.due_at)
        )
        .scalars()
        .all()
    )
    balance = round(sum(i.amount for i in unpaid), 2)
    overdue = [i for i in unpaid if i.due_at < ctx.now]
    days = (ctx.now - overdue[0].due_at).days if overdue else 0
    return {"balance": balance, "days_overdue": days, "open_invoices": len(unpaid)}


def revoke_access(ctx: HandlerContext) -> dict[str, Any]:
    """Revoke every access item ticked in the checklist (``revoke_<item>`` fields set to true)."""
    customer = get_customer(ctx.session, ctx.customer_id)
    ticked = [
        key[len(CHECKLIST_PREFIX) :]
        for key, value in ctx.data.items()
        if key.startswith(CHECKLIST_PREFIX) and value is True
    ]
    grants = (
        ctx.session.execute(
            select(AccessGrant).where(AccessGrant.customer_id == customer.id, AccessGrant.revoked_at.is_(None))
        )
        .scalars()
        .all()
    )
    revoked = []
    for grant in grants:
        if grant.item in ticked:
            grant.revoked_at, grant.revoked_by = ctx.now, ctx.actor
            revoked.append(grant.item)
            ctx.audit(
                "access_revoked",
                {"customer": customer.id, "item": grant.item, "before": {"revoked": False}, "after": {"revoked": True}},
            )
    remaining = sorted({g.item for g in grants} - set(revoked))
    return {"revoked_items": sorted(revoked), "access_remaining": remaining}


def _redact_state(state_json: str) -> str:
    """Drop every task's data from a serialized workflow, keeping its structure (states, ids, timers)."""
    state = json.loads(state_json)

    def scrub(workflow: dict[str, Any]) -> None:
        workflow["data"] = {}
        for task in workflow.get("tasks", {}).values():
            task["data"] = {}
            task["delta"] = {"updates": {}, "deletions": []}

    scrub(state)
    for sub in state.get("subprocesses", {}).values():
        scrub(sub)
    return json.dumps(state)


# What survives a purge in the purging instance's own data: ids and the agreement, nothing personal.
KEPT_AFTER_PURGE = ("customer_id", "business_key", "agreement_reference", "retention_days", "purged_at")


def _export_archives(ctx: HandlerContext, events: Iterable[AuditEvent]) -> list[Path]:
    """The customer's export archives still on disk, as their ``export_built`` events name them (read before the
    payloads become tombstones); only files inside <data_dir>/exports count."""
    folder = exports_folder(ctx.config).resolve()
    found = []
    for event in events:
        if event.action == "export_built":
            path = Path(json.loads(event.payload).get("path", "")).resolve()
            if path.parent == folder and path.is_file():
                found.append(path)
    return found


def purge(ctx: HandlerContext) -> dict[str, Any]:
    """Redact the customer's task data and audit payloads (hashes and tombstones stay), anonymise the record and
    delete the customer's export archives.

    The archives go last, once everything else is in place: should the transaction still fail, the database is
    whole and an export can be built again. The e-mail address is kept until ``privacy.deliver_certificate`` has
    sent the certificate of deletion."""
    customer = get_customer(ctx.session, ctx.customer_id)
    instances = (
        ctx.session.execute(
            select(ProcessInstance).where(
                ProcessInstance.customer_id == customer.id, ProcessInstance.status.in_(("completed", "cancelled"))
            )
        )
        .scalars()
        .all()
    )
    for instance in instances:
        instance.state_json = _redact_state(instance.state_json)
    events = (
        ctx.session.execute(
            select(AuditEvent).where(AuditEvent.customer_id == customer.id, AuditEvent.redacted.is_(False))
        )
        .scalars()
        .all()
    )
    archives = _export_archives(ctx, events)
    reference = str(ctx.data.get("agreement_reference") or "deletion agreement")
    seqs = audit.redact(ctx.session, events, at=ctx.now, actor=ctx.actor, reason=f"customer data purged: {reference}")
    customer.name, customer.purged_at = f"[deleted {customer.id}]", ctx.now
    cs_counts = purge_cs_records(ctx.session, customer.id)
    ctx.scrub_instance_data(KEPT_AFTER_PURGE)
    for archive in archives:
        archive.unlink(missing_ok=True)
        ctx.audit("export_deleted", {"customer": customer.id, "file": archive.name})
    return {
        "purged_at": ctx.now.isoformat(),
        "purged_instances": len(instances),
        "redacted_audit_events": len(seqs),
        "deleted_exports": len(archives),
        **cs_counts,
    }


def purge_cs_records(session: Session, customer_id: str) -> dict[str, int]:
    """Erase what the CS records hold about people: contacts are deleted (answers keep their score, not who gave
    it), survey comments, open survey links, event properties and ticket subjects are emptied. Scores, counts and
    dates stay: the KPIs of past periods do not change when a customer is deleted."""

    def changed(statement: Executable) -> int:
        result = session.execute(statement.execution_options(synchronize_session=False))
        return int(cast(CursorResult[Any], result).rowcount)

    answers = changed(
        update(SurveyAnswer).where(SurveyAnswer.customer_id == customer_id).values(comment="", contact_id=None)
    )
    changed(delete(SurveyLink).where(SurveyLink.customer_id == customer_id))
    contacts = changed(delete(Contact).where(Contact.customer_id == customer_id))
    events = changed(update(ProductEvent).where(ProductEvent.customer_id == customer_id).values(properties="{}"))
    changed(update(SupportTicket).where(SupportTicket.customer_id == customer_id).values(subject=""))
    return {"deleted_contacts": contacts, "redacted_answers": answers, "redacted_events": events}


def deliver_certificate(ctx: HandlerContext) -> dict[str, Any]:
    """Mail the certificate of deletion to the customer's address, then forget the address."""
    from processes.mail import render

    customer = get_customer(ctx.session, ctx.customer_id)
    if customer.purged_at is None:
        raise HandlerError(f"customer {customer.id} has not been purged; there is no certificate to deliver")
    sent_to = 0
    if customer.email:
        subject, body = render(ctx.prop("template") or "deletion_certificate", {"customer": customer, "data": ctx.data})
        ctx.mailer.queue_mail(customer.email, subject, body)
        sent_to = 1
    customer.email = None
    ctx.audit("customer_contact_forgotten", {"customer": customer.id, "certificate_mailed": bool(sent_to)})
    return {"certificate_mailed": bool(sent_to)}


def deletion_certificate(ctx: HandlerContext) -> dict[str, Any]:
    customer = get_customer(ctx.session, ctx.customer_id)
    if customer.purged_at is None:
        raise HandlerError(f"customer {customer.id} has not been purged; no certificate can be issued")
    head = ctx.session.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
    body = (
        f"CERTIFICATE OF DELETION\n\nCustomer: {customer.id}\nPurged at: {customer.purged_at.isoformat()}\n"
        f"Agreement: {ctx.data.get('agreement_reference', '')}\nIssued at: {ctx.now.isoformat()}\n"
        f"Issued by: {ctx.actor}\nAudit chain head: seq {head.seq}, hash {head.hash}\n"
    )
    certificate_id = hashlib.sha256(body.encode()).hexdigest()[:16]
    folder = Path(ctx.config["data_dir"]) / "certificates"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{customer.id}-{certificate_id}.txt").write_text(body, encoding="utf-8")
    ctx.audit(
        "deletion_certificate_issued",
        {"customer": customer.id, "certificate_id": certificate_id, "audit_head_seq": head.seq},
    )
    return {"certificate_id": certificate_id}
