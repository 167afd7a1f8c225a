"""Support tickets kept in step with support instances: opened at start, first response (and whether it solved the
problem), resolution, and repeats within 30 days, through the engine facade with the shipped support model."""

from __future__ import annotations

from datetime import timedelta

from engine.models import ProcessInstance
from processes.tickets import SupportTicket
from tests.processes.helpers import CUSTOMER, Driver

TICKET = {"subject": "Export fails", "severity": "normal", "channel": "api"}


def ticket(driver: Driver, instance_id: str) -> SupportTicket | None:
    with driver.runtime.store.session() as s:
        return s.get(SupportTicket, instance_id)


def test_a_ticket_solved_by_its_first_response_has_its_times_and_counts_as_first_contact(driver: Driver) -> None:
    opened = driver.clock.now()
    instance = driver.start("support", TICKET)
    row = ticket(driver, instance)
    assert row is not None
    assert (row.customer_id, row.subject, row.created_at, row.repeat_within_30d) == (
        CUSTOMER,
        "Export fails",
        opened,
        False,
    )
    assert (row.first_response_at, row.resolved_at, row.first_contact_resolution) == (None, None, None)
    driver.advance(minutes=20)
    driver.complete("triage_ticket", instance)
    driver.advance(hours=2)
    driver.complete("first_response", instance, resolved_first_contact=True)
    answered = driver.clock.now()
    driver.advance(minutes=5)
    driver.complete("resolve_ticket", instance)
    row = ticket(driver, instance)
    assert row is not None
    assert (row.first_response_at, row.first_contact_resolution) == (answered, True)
    assert row.resolved_at == answered + timedelta(minutes=5)


def test_a_ticket_that_needed_investigation_is_resolved_at_the_resolve_step_and_is_not_first_contact(
    driver: Driver,
) -> None:
    instance = driver.start("support", TICKET)
    driver.complete("triage_ticket", instance)
    driver.advance(hours=1)
    driver.complete("first_response", instance, resolved_first_contact=False)
    answered = driver.clock.now()
    driver.advance(days=1)
    driver.complete("investigate_issue", instance)
    row = ticket(driver, instance)
    assert row is not None and row.resolved_at is None
    driver.advance(hours=3)
    driver.complete("resolve_ticket", instance)
    row = ticket(driver, instance)
    assert row is not None
    assert (row.first_response_at, row.first_contact_resolution) == (answered, False)
    assert row.resolved_at == answered + timedelta(days=1, hours=3)


def test_a_late_first_response_taken_over_by_the_lead_is_the_first_response(driver: Driver) -> None:
    instance = driver.start("support", TICKET)
    driver.complete("triage_ticket", instance)
    driver.advance(hours=12, minutes=1)  # the 12-hour boundary timer hands the answer to the CS lead
    assert "escalate_first_response" in driver.open_elements(instance)
    driver.advance(minutes=30)
    driver.complete("escalate_first_response", instance, actor="lea", resolved_first_contact=True)
    row = ticket(driver, instance)
    assert row is not None
    assert (row.first_response_at, row.first_contact_resolution) == (driver.clock.now(), True)


def test_a_second_ticket_within_30_days_is_a_repeat_and_one_after_is_not(driver: Driver) -> None:
    first = driver.start("support", TICKET)
    driver.advance(days=29, hours=23)
    second = driver.start("support", {**TICKET, "subject": "Export fails again"})
    driver.advance(days=30, minutes=1)
    third = driver.start("support", {**TICKET, "subject": "Something else"})
    repeats = [row.repeat_within_30d for row in (ticket(driver, i) for i in (first, second, third)) if row]
    assert repeats == [False, True, False]


def test_other_processes_and_starts_without_a_customer_open_no_ticket(driver: Driver) -> None:
    no_customer = driver.runtime.start("support", actor="starter", data=TICKET)
    training = driver.start("training")
    assert ticket(driver, no_customer) is None and ticket(driver, training) is None
    with driver.runtime.store.session() as s:
        assert s.get(ProcessInstance, no_customer) is not None
