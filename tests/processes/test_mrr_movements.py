"""MRR movements: each is classified from the value in force before it, and churn is a movement to zero."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from engine import Runtime
from processes.customers import Customer, MrrMovement, create_customer, record_mrr
from tests.bpmn_builder import flow, process

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def kinds(runtime: Runtime, customer_id: str) -> list[tuple[str, float, float]]:
    with runtime.store.session() as s:
        rows = s.execute(
            select(MrrMovement).where(MrrMovement.customer_id == customer_id).order_by(MrrMovement.at)
        ).scalars()
        return [(m.kind, m.old_mrr, m.new_mrr) for m in rows]


def test_movements_are_new_expansion_contraction_churn_and_reactivation(runtime: Runtime) -> None:
    with runtime.unit() as u:
        customer = create_customer(u.session, "C-1", "Acme", now=u.now, mrr=1000.0, contract_start=T0.date())
        for days, value in ((30, 1500.0), (60, 1200.0), (90, 0.0), (120, 800.0), (150, 800.0)):
            record_mrr(u.session, customer, T0 + timedelta(days=days), value)
    assert kinds(runtime, "C-1") == [
        ("new", 0.0, 1000.0),
        ("expansion", 1000.0, 1500.0),
        ("contraction", 1500.0, 1200.0),
        ("churn", 1200.0, 0.0),
        ("reactivation", 0.0, 800.0),
        ("flat", 800.0, 800.0),
    ]
    with runtime.store.session() as s:
        assert s.get(Customer, "C-1").mrr == 800.0  # type: ignore[union-attr]


def test_a_movement_arriving_late_is_classified_from_the_value_before_it_and_leaves_the_current_mrr(
    runtime: Runtime,
) -> None:
    with runtime.unit() as u:
        customer = create_customer(u.session, "C-1", "Acme", now=u.now, mrr=1000.0, contract_start=T0.date())
        record_mrr(u.session, customer, T0 + timedelta(days=60), 2000.0)
        late = record_mrr(u.session, customer, T0 + timedelta(days=30), 500.0)
        assert (late.kind, late.old_mrr) == ("contraction", 1000.0)
        assert customer.mrr == 2000.0  # the newest movement still decides
    # the movement after the late one now starts from it
    assert kinds(runtime, "C-1") == [("new", 0.0, 1000.0), ("contraction", 1000.0, 500.0), ("expansion", 500.0, 2000.0)]


def test_moving_a_paying_customer_to_churned_records_the_churn_movement(runtime: Runtime) -> None:
    body = (
        '<bpmn:startEvent id="start"/>'
        '<bpmn:serviceTask id="churn" camunda:type="external" camunda:topic="customer.update">'
        '<bpmn:extensionElements><camunda:properties><camunda:property name="stage" value="churned"/>'
        "</camunda:properties></bpmn:extensionElements></bpmn:serviceTask>"
        '<bpmn:endEvent id="end"/>' + flow("f1", "start", "churn") + flow("f2", "churn", "end")
    )
    runtime.deploy({"churn.bpmn": process("churn_now", body)}, actor="test")
    with runtime.unit() as u:
        create_customer(u.session, "C-1", "Acme", now=u.now, mrr=900.0)
    runtime.start("churn_now", actor="test", customer_id="C-1")
    assert kinds(runtime, "C-1") == [("new", 0.0, 900.0), ("churn", 900.0, 0.0)]
    with runtime.store.session() as s:
        customer = s.get(Customer, "C-1")
        assert customer is not None and (customer.stage, customer.mrr) == ("churned", 0.0)
