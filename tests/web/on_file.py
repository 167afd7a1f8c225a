"""Customers on file for tests that start processes: the start guard refuses a customer id that is not."""

from __future__ import annotations

from engine import Runtime
from processes.customers import Customer, create_customer


def customers_on_file(runtime: Runtime, *ids: str) -> None:
    """Create each customer id that is not on file yet (named after its id)."""
    with runtime.unit() as u:
        for customer_id in ids:
            if u.session.get(Customer, customer_id) is None:
                create_customer(u.session, customer_id, f"Customer {customer_id}", now=u.now)
