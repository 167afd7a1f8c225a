"""Customers as people keep them: validated, audited create / edit / archive and contacts; and the start guard that
keeps processes to customers on file, with one open customer journey each."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from engine import FrozenClock, Runtime, StartRefused
from engine.models import AuditEvent, ProcessInstance
from processes import accounts
from processes.customer_query import ListFilters, customers_page
from processes.customers import Contact, Customer, CustomerError, MrrMovement
from processes.health import HealthSnapshot
from tests.helpers import BPMN_DIR, bpmn_files

ACME = {
    "id": "C-1",
    "name": "Acme",
    "email": "cs@acme.example",
    "segment": "enterprise",
    "plan": "growth",
    "mrr": "1200",
    "currency": "usd",
    "csm_owner": "ana",
    "contract_start": "2026-01-01",
    "renewal_date": "2027-01-01",
    "stage": "active",
    "external_id": "crm-77",
}


def create(runtime: Runtime, **values: Any) -> Customer:
    with runtime.unit() as u:
        return accounts.create(u.session, {**ACME, **values}, now=u.now, actor="ana")


def events(runtime: Runtime, action: str) -> list[dict[str, Any]]:
    with runtime.store.session() as s:
        rows = s.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).scalars()
        return [{"customer_id": r.customer_id, "actor": r.actor, **json.loads(r.payload)} for r in rows]


def count(runtime: Runtime, model: Any) -> int:
    with runtime.store.session() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_customer_is_created_with_every_account_field_and_audited(runtime: Runtime) -> None:
    create(runtime)
    with runtime.store.session() as s:
        customer = s.get(Customer, "C-1")
        assert customer is not None
        assert (customer.segment, customer.plan, customer.mrr, customer.currency) == (
            "enterprise",
            "growth",
            1200,
            "USD",
        )
        assert customer.renewal_date == date(2027, 1, 1) and customer.external_id == "crm-77"
        movement = s.execute(select(MrrMovement)).scalar_one()
        assert (movement.kind, movement.new_mrr) == ("new", 1200)
    [created] = events(runtime, "customer_created")
    assert created["before"] is None and created["after"]["name"] == "Acme" and created["actor"] == "ana"
    assert created["customer_id"] == "C-1"


def test_ids_are_generated_in_the_c_series_when_not_given(runtime: Runtime) -> None:
    first = create(runtime, id="", name="One")
    second = create(runtime, id=None, name="Two")
    assert (first.id, second.id) == ("C-0001", "C-0002")


def test_bad_values_are_refused_naming_every_field_and_nothing_is_written(runtime: Runtime) -> None:
    with pytest.raises(CustomerError) as caught:
        create(runtime, name="", segment="huge", mrr="-3", email="nope", renewal_date="2026-13-01", colour="red")
    assert caught.value.fields == {
        "name": "is required",
        "segment": "must be one of smb, mid_market, enterprise",
        "mrr": "must not be negative",
        "email": "must be an e-mail address",
        "renewal_date": "must be a date (YYYY-MM-DD)",
        "colour": "is not a known field",
    }
    assert count(runtime, Customer) == 0 and events(runtime, "customer_created") == []


def test_a_duplicate_id_and_a_renewal_before_the_contract_are_refused(runtime: Runtime) -> None:
    create(runtime)
    with pytest.raises(CustomerError, match="exists already"):
        create(runtime)
    with pytest.raises(CustomerError) as caught:
        create(runtime, id="C-2", renewal_date="2025-01-01")
    assert caught.value.fields == {"renewal_date": "must not be before the contract start"}


def test_an_edit_audits_only_the_changed_fields_and_an_mrr_change_is_a_movement(
    runtime: Runtime, clock: FrozenClock
) -> None:
    create(runtime)
    clock.advance(days=3)
    with runtime.unit() as u:
        accounts.update(u.session, "C-1", {"plan": "enterprise", "mrr": 1500, "name": "Acme"}, now=u.now, actor="lea")
    [updated] = events(runtime, "customer_updated")
    assert updated["before"] == {"plan": "growth", "mrr": 1200.0}
    assert updated["after"] == {"plan": "enterprise", "mrr": 1500.0}
    with runtime.store.session() as s:
        kinds = s.execute(select(MrrMovement.kind).order_by(MrrMovement.id)).scalars().all()
        assert kinds == ["new", "expansion"]
        assert s.get(Customer, "C-1").mrr == 1500  # type: ignore[union-attr]
    with runtime.unit() as u:  # nothing changed: nothing audited
        accounts.update(u.session, "C-1", {"plan": "enterprise"}, now=u.now, actor="lea")
    assert len(events(runtime, "customer_updated")) == 1


def test_an_edit_of_an_unknown_customer_or_its_id_is_refused(runtime: Runtime) -> None:
    create(runtime)
    with pytest.raises(accounts.CustomerNotFound, match="'NOPE' does not exist"), runtime.unit() as u:
        accounts.update(u.session, "NOPE", {"plan": "x"}, now=u.now, actor="lea")
    with pytest.raises(CustomerError, match="id: cannot be changed"), runtime.unit() as u:
        accounts.update(u.session, "C-1", {"id": "C-2"}, now=u.now, actor="lea")


def test_archive_and_unarchive_are_audited_and_archived_customers_leave_the_list(
    runtime: Runtime, clock: FrozenClock
) -> None:
    create(runtime)
    with runtime.unit() as u:
        accounts.archive(u.session, "C-1", now=u.now, actor="lea")
    [archived] = events(runtime, "customer_archived")
    assert archived["before"] == {"archived_at": None} and archived["after"]["archived_at"]
    with runtime.store.session() as s:
        assert customers_page(s, ListFilters(), clock.now()).total == 0
        assert customers_page(s, ListFilters(archived=True), clock.now()).total == 1
    with runtime.unit() as u:
        accounts.archive(u.session, "C-1", now=u.now, actor="lea", archived=False)
    assert len(events(runtime, "customer_unarchived")) == 1


def test_contacts_are_added_edited_and_removed_with_audit(runtime: Runtime) -> None:
    create(runtime)
    with runtime.unit() as u:
        contact = accounts.add_contact(
            u.session, "C-1", {"name": "Rita", "email": "rita@acme.example", "role": "CFO"}, now=u.now, actor="ana"
        )
        contact_id = contact.id
    with runtime.unit() as u:
        accounts.edit_contact(u.session, "C-1", contact_id, {"language": "pt_BR"}, now=u.now, actor="ana")
    with pytest.raises(CustomerError) as caught, runtime.unit() as u:
        accounts.add_contact(u.session, "C-1", {"name": "X", "email": "x", "language": "fr"}, now=u.now, actor="a")
    assert set(caught.value.fields) == {"email", "language"}
    with runtime.unit() as u:
        accounts.remove_contact(u.session, "C-1", contact_id, now=u.now, actor="ana")
    assert events(runtime, "contact_added")[0]["after"]["email"] == "rita@acme.example"
    assert events(runtime, "contact_updated")[0]["after"] == {"language": "pt_BR"}
    assert events(runtime, "contact_removed")[0]["before"]["name"] == "Rita"
    assert count(runtime, Contact) == 0
    with pytest.raises(accounts.CustomerNotFound), runtime.unit() as u:
        accounts.remove_contact(u.session, "C-1", contact_id, now=u.now, actor="ana")


# -- the start guard -------------------------------------------------------------------------------------------
@pytest.fixture
def journey(runtime: Runtime) -> None:
    runtime.deploy(bpmn_files(*(path.stem for path in BPMN_DIR.glob("*.bpmn"))), actor="test")


def test_a_process_for_an_unknown_customer_is_refused_and_nothing_is_written(runtime: Runtime, journey: None) -> None:
    before = count(runtime, AuditEvent)
    with pytest.raises(StartRefused, match="customer 'NOPE-1' does not exist"):
        runtime.start("support", actor="sam", customer_id="NOPE-1", data={"subject": "x"})
    assert count(runtime, ProcessInstance) == 0 and count(runtime, AuditEvent) == before


def test_a_second_open_journey_is_refused_but_other_processes_may_run_side_by_side(
    runtime: Runtime, journey: None
) -> None:
    create(runtime)
    first = runtime.start("customer_journey", actor="sam", customer_id="C-1")
    with pytest.raises(StartRefused, match="already has an open customer journey"):
        runtime.start("customer_journey", actor="sam", customer_id="C-1")
    runtime.start("support", actor="sam", customer_id="C-1", data={"subject": "a"})
    runtime.start("support", actor="sam", customer_id="C-1", data={"subject": "b"})
    runtime.cancel(first, actor="lea", reason="restart")
    runtime.start("customer_journey", actor="sam", customer_id="C-1")  # the first is closed now


def test_archived_and_purged_customers_are_refused(runtime: Runtime, journey: None) -> None:
    create(runtime)
    create(runtime, id="C-2")
    with runtime.unit() as u:
        accounts.archive(u.session, "C-1", now=u.now, actor="lea")
        u.session.get(Customer, "C-2").purged_at = u.now  # type: ignore[union-attr]
    with pytest.raises(StartRefused, match="'C-1' is archived"):
        runtime.start("support", actor="sam", customer_id="C-1")
    with pytest.raises(StartRefused, match="'C-2' was purged"):
        runtime.start("support", actor="sam", customer_id="C-2")


def test_a_process_without_a_customer_may_still_start(runtime: Runtime, journey: None) -> None:
    assert runtime.start("support", actor="sam", data={"subject": "internal"})


def test_the_list_puts_at_risk_first_then_watch_then_by_score_and_counts_the_trend(
    runtime: Runtime, clock: FrozenClock
) -> None:
    scores = {"C-1": (80.0, "healthy"), "C-2": (30.0, "at_risk"), "C-3": (55.0, "watch"), "C-4": (None, None)}
    for customer_id in scores:
        create(runtime, id=customer_id, name=f"Co {customer_id}")
    with runtime.unit() as u:
        for customer_id, (score, band) in scores.items():
            customer = u.session.get(Customer, customer_id)
            assert customer is not None
            customer.health_score, customer.health_band = score, band
        components = json.dumps({})
        u.session.add(HealthSnapshot(customer_id="C-2", at=u.now, score=60.0, band="watch", components=components))
    clock.advance(days=40)
    with runtime.store.session() as s:
        page = customers_page(s, ListFilters(), clock.now())
        assert [r.customer.id for r in page.rows] == ["C-2", "C-3", "C-1", "C-4"]
        assert page.rows[0].trend == "down" and page.rows[0].previous_score == 60.0
        assert [r.customer.id for r in customers_page(s, ListFilters(at_risk=True), clock.now()).rows] == ["C-2"]
        by_name = customers_page(s, ListFilters(sort="name", descending=True, limit=2), clock.now())
        assert [r.customer.id for r in by_name.rows] == ["C-4", "C-3"] and by_name.total == 4
        assert customers_page(s, ListFilters(q="co c-3"), clock.now()).total == 1
