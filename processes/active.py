"""Active-life handlers: expansion records its MRR movement."""

from __future__ import annotations

from typing import Any

from engine import AuditAction, HandlerContext, HandlerError
from processes.customers import get_customer, record_mrr


def record_mrr_change(ctx: HandlerContext) -> dict[str, Any]:
    """The agreed ``new_mrr`` (the customer's total MRR per month) becomes an MRR movement, classified from the
    value in force before it (expansion, contraction, ...)."""
    customer = get_customer(ctx.session, ctx.customer_id)
    try:
        new_mrr = float(ctx.require("new_mrr"))
    except (TypeError, ValueError):
        raise HandlerError(f"{ctx.element_id}: new_mrr {ctx.data.get('new_mrr')!r} is not a number") from None
    if new_mrr < 0:
        raise HandlerError(f"{ctx.element_id}: new_mrr must not be negative")
    old = customer.mrr
    movement = record_mrr(ctx.session, customer, ctx.now, new_mrr)
    ctx.audit(
        AuditAction.MRR_CHANGED,
        {"customer": customer.id, "kind": movement.kind, "before": {"mrr": old}, "after": {"mrr": new_mrr}},
    )
    return {"mrr_delta": new_mrr - old, "mrr_movement": movement.kind}
