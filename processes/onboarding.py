"""Onboarding and journey handlers: customer.update moves the customer record (stage, plan, MRR, owner)."""

from __future__ import annotations

from typing import Any

from engine import AuditAction, HandlerContext
from processes.customers import get_customer, record_mrr, set_field


def update_customer(ctx: HandlerContext) -> dict[str, Any]:
    """Every extension property of the service task names a customer field and its new value (or ``${key}``).
    A changed MRR is recorded as an MRR movement; moving to the ``churned`` stage records the churn (MRR 0)."""
    customer = get_customer(ctx.session, ctx.customer_id)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    mrr_before = customer.mrr
    for field in sorted(ctx.properties):
        before[field], after[field] = set_field(customer, field, ctx.prop(field) or "")
    mrr_after = 0.0 if customer.stage == "churned" else customer.mrr
    customer.mrr = mrr_before  # record_mrr moves it, with the movement
    if mrr_after != mrr_before:
        movement = record_mrr(ctx.session, customer, ctx.now, mrr_after)
        before["mrr"], after["mrr"] = mrr_before, mrr_after
        after["mrr_movement"] = movement.kind
    ctx.audit(AuditAction.CUSTOMER_UPDATED, {"customer": customer.id, "before": before, "after": after})
    return {f"customer_{field}": value for field, value in after.items() if field != "mrr_movement"}
