"""Active-life handlers: expansion records its MRR movement."""

from __future__ import annotations

from typing import Any

from engine.handlers import HandlerContext, HandlerError
from processes.customers import MrrMovement, get_customer


def record_mrr_change(ctx: HandlerContext) -> dict[str, Any]:
    customer = get_customer(ctx.session, ctx.customer_id)
    try:
        new_mrr = float(ctx.require("new_mrr"))
    except (TypeError, ValueError):
        raise HandlerError(f"{ctx.element_id}: new_mrr {ctx.data.get('new_mrr')!r} is not a number") from None
    if new_mrr < 0:
        raise HandlerError(f"{ctx.element_id}: new_mrr must not be negative")
    old = customer.mrr
    kind = "expansion" if new_mrr > old else "contraction" if new_mrr < old else "flat"
    ctx.session.add(MrrMovement(customer_id=customer.id, at=ctx.now, kind=kind, old_mrr=old, new_mrr=new_mrr))
    customer.mrr = new_mrr
    ctx.audit("mrr_changed", {"customer": customer.id, "before": {"mrr": old}, "after": {"mrr": new_mrr}})
    return {"mrr_delta": new_mrr - old, "mrr_movement": kind}
