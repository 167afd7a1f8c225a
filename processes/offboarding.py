"""Offboarding handlers: outstanding balance, access revocation, deletion certificate. The purge of the customer's
data lives in ``processes/purge.py``; it is imported here, where the registry finds the offboarding handlers."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine import AuditAction, HandlerContext, HandlerError, queue_mail
from engine.models import AuditEvent
from processes.customers import AccessGrant, Invoice, get_customer
from processes.purge import purge as purge

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
    """Revoke every access item ticked in the checklist (``revoke_<item>`` fields set to true), then count the
    customer's grants still open in the database: ``open_grants`` is what the "all access revoked?" gateway reads,
    so a ticked "verified" box cannot end the revocation while a grant is left."""
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
                AuditAction.ACCESS_REVOKED,
                {"customer": customer.id, "item": grant.item, "before": {"revoked": False}, "after": {"revoked": True}},
            )
    ctx.session.flush()
    still_open = (
        ctx.session.execute(
            select(AccessGrant.item).where(AccessGrant.customer_id == customer.id, AccessGrant.revoked_at.is_(None))
        )
        .scalars()
        .all()
    )
    return {
        "revoked_items": sorted(revoked),
        "access_remaining": sorted(set(still_open)),
        "open_grants": len(still_open),
    }


def deliver_certificate(ctx: HandlerContext) -> dict[str, Any]:
    """Mail the certificate of deletion to the customer's address, then forget the address."""
    from processes.mail import render

    customer = get_customer(ctx.session, ctx.customer_id)
    if customer.purged_at is None:
        raise HandlerError(f"customer {customer.id} has not been purged; there is no certificate to deliver")
    sent_to = 0
    if customer.email:
        subject, body = render(ctx.prop("template") or "deletion_certificate", {"customer": customer, "data": ctx.data})
        # the address leaves the outbox once the mail has gone: nothing else keeps it after this step
        queue_mail(ctx.session, ctx.now, customer.email, subject, body, forget_recipient=True)
        sent_to = 1
    customer.email = None
    ctx.audit(AuditAction.CUSTOMER_CONTACT_FORGOTTEN, {"customer": customer.id, "certificate_mailed": bool(sent_to)})
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
        AuditAction.DELETION_CERTIFICATE_ISSUED,
        {"customer": customer.id, "certificate_id": certificate_id, "audit_head_seq": head.seq},
    )
    return {"certificate_id": certificate_id}
