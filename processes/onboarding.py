"""Onboarding and journey handlers: customer.update moves the customer record (stage, plan, MRR, owner)."""

from __future__ import annotations

from typing import Any

from engine.handlers import HandlerContext
from processes.customers import get_customer, set_field


def update_customer(ctx: HandlerContext) -> dict[str, Any]:
    """Every extension property of the service task names a customer field and its new value (or ``${key}``)."""
    customer = get_customer(ctx.session, ctx.customer_id)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for field in sorted(ctx.properties):
        before[field], after[field] = set_field(customer, field, ctx.prop(field) or "")
    ctx.audit("customer_updated", {"customer": customer.id, "before": before, "after": after})
    return {f"customer_{field}": value for field, value in after.items()}
