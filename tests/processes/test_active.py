"""Active phase, every path: support, advanced_training, expansion and referrals, driven through the facade."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import MessageNotDelivered
from processes.customers import MrrMovement
from tests.processes.helpers import EMAIL, TICKET, Driver

SURVEY = (EMAIL, "How did we do on your ticket?")


def resolve_at_first_contact(driver: Driver) -> str:
    iid = driver.start("support", TICKET)
    driver.complete("triage_ticket", iid)
    driver.complete("first_response", iid, resolved_first_contact=True)
    driver.complete("resolve_ticket", iid)
    return iid


# -- support ---------------------------------------------------------------------------------------------
def test_a_ticket_resolved_at_first_contact_closes_when_the_customer_rates_it_well(driver: Driver) -> None:
    iid = driver.start("support", TICKET)
    assert driver.open_elements(iid) == ["triage_ticket"]
    assert driver.task("triage_ticket", iid).candidate_groups == "support"
    assert driver.task_data("triage_ticket", iid)["subject"] == "Report export fails"

    driver.complete("triage_ticket", iid, severity="urgent", category="configuration")
    assert driver.open_elements(iid) == ["first_response"]
    driver.complete("first_response", iid, resolved_first_contact=True)
    assert driver.open_elements(iid) == ["resolve_ticket"]  # straight to resolution, no investigation
    assert driver.complete("resolve_ticket", iid) == "waiting"
    assert driver.mails() == [SURVEY]

    assert driver.message("csat_response", {"csat_score": 3, "csat_comment": "fine"}) == [iid]
    assert driver.status(iid) == "completed"
    assert driver.ended(iid) == ["ticket_closed"]
    data = driver.final_data(iid)
    assert (data["severity"], data["csat_score"], data["csat_comment"]) == ("urgent", 3, "fine")


def test_an_unresolved_ticket_is_investigated_and_a_low_csat_is_followed_up_by_the_csm(driver: Driver) -> None:
    iid = driver.start("support", TICKET)
    driver.complete("triage_ticket", iid)
    driver.complete("first_response", iid, resolved_first_contact=False)
    assert driver.open_elements(iid) == ["investigate_issue"]
    driver.complete("investigate_issue", iid, needs_engineering=True)
    assert driver.open_elements(iid) == ["resolve_ticket"]
    driver.complete("resolve_ticket", iid, resolution_category="workaround")
    assert driver.mails() == [SURVEY]

    driver.message("csat_response", {"csat_score": 2})
    assert driver.open_elements(iid) == ["follow_up_low_csat"]
    assert driver.task("follow_up_low_csat", iid).candidate_groups == "csm"
    assert driver.task_data("follow_up_low_csat", iid)["csat_score"] == 2
    assert driver.complete("follow_up_low_csat", iid) == "completed"
    assert driver.ended(iid) == ["low_csat_followed_up"]
    assert driver.final_data(iid)["resolution_category"] == "workaround"


def test_a_first_response_late_by_12_hours_is_taken_over_by_the_cs_lead(driver: Driver) -> None:
    iid = driver.start("support", TICKET)
    driver.complete("triage_ticket", iid)
    driver.advance(hours=11, minutes=59)
    assert driver.open_elements(iid) == ["first_response"]

    driver.advance(minutes=2)
    assert driver.open_elements(iid) == ["escalate_first_response"]  # the late task is withdrawn
    assert driver.task("escalate_first_response", iid).candidate_groups == "cs_lead"
    assert driver.complete("escalate_first_response", iid, resolved_first_contact=False) == "running"
    assert driver.open_elements(iid) == ["investigate_issue"]
    driver.complete("investigate_issue", iid)
    driver.complete("resolve_ticket", iid)
    driver.message("csat_response", {"csat_score": 5})
    assert driver.status(iid) == "completed"
    assert driver.ended(iid) == ["ticket_closed"]
    assert driver.final_data(iid)["escalation_reason"] == "staffing"
    assert "timer_fired" in driver.actions(iid)


def test_a_cs_lead_answer_that_solves_the_problem_goes_straight_to_resolution(driver: Driver) -> None:
    iid = driver.start("support", TICKET)
    driver.complete("triage_ticket", iid)
    driver.advance(hours=12, minutes=1)
    driver.complete("escalate_first_response", iid, resolved_first_contact=True)
    assert driver.open_elements(iid) == ["resolve_ticket"]


def test_a_ticket_closes_without_csat_when_the_customer_does_not_answer_within_7_days(driver: Driver) -> None:
    iid = resolve_at_first_contact(driver)
    driver.advance(days=7, minutes=1)
    assert driver.status(iid) == "completed"
    assert driver.ended(iid) == ["ticket_closed_no_csat"]


def test_a_csat_answer_after_the_ticket_closed_is_refused(driver: Driver) -> None:
    iid = resolve_at_first_contact(driver)
    driver.message("csat_response", {"csat_score": 4})
    assert driver.status(iid) == "completed"
    with pytest.raises(MessageNotDelivered, match="csat_response"):
        driver.message("csat_response", {"csat_score": 1})
    assert driver.open_elements() == []


# -- advanced_training -----------------------------------------------------------------------------------
def test_a_participant_who_passes_the_exam_first_time_is_certified_and_mailed(driver: Driver) -> None:
    iid = driver.start("advanced_training")
    assert driver.open_elements(iid) == ["enrol_in_certification"]
    driver.complete("enrol_in_certification", iid)
    assert driver.task("complete_module_1", iid).candidate_groups == "trainer"
    driver.complete("complete_module_1", iid)
    driver.complete("complete_module_2", iid)
    assert driver.open_elements(iid) == ["record_exam_result"]
    assert driver.complete("record_exam_result", iid, exam_result="pass", exam_score=91) == "completed"
    assert driver.ended(iid) == ["customer_certified"]
    assert driver.mails() == [(EMAIL, "Congratulations on your certification")]


def test_a_failed_exam_is_retaken_until_the_participant_passes(driver: Driver) -> None:
    iid = driver.start("advanced_training")
    for element in ("enrol_in_certification", "complete_module_1", "complete_module_2"):
        driver.complete(element, iid)
    for score in (40, 65):
        assert driver.complete("record_exam_result", iid, exam_result="fail", exam_score=score) == "running"
        assert driver.open_elements(iid) == ["schedule_exam_retake"]
        assert driver.task_data("schedule_exam_retake", iid)["exam_score"] == score
        driver.complete("schedule_exam_retake", iid)
        assert driver.open_elements(iid) == ["record_exam_result"]
    assert driver.mails() == []

    assert driver.complete("record_exam_result", iid, exam_result="pass", exam_score=75) == "completed"
    assert driver.ended(iid) == ["customer_certified"]
    assert driver.mails() == [(EMAIL, "Congratulations on your certification")]


# -- expansion -------------------------------------------------------------------------------------------
GROWTH = {"signal": "seats", "signal_detail": "50 of 50 seats used"}


def mrr_movements(driver: Driver) -> list[tuple[str, float, float]]:
    with driver.runtime.store.session() as s:
        rows = s.execute(select(MrrMovement).order_by(MrrMovement.id)).scalars()
        return [(m.kind, m.old_mrr, m.new_mrr) for m in rows]


@pytest.fixture
def paying(driver: Driver) -> Driver:
    """Customer C-2 on the standard plan at 900 a month."""
    driver.create_customer("C-2", mrr=900.0)
    return driver


def test_a_won_expansion_records_the_mrr_movement_and_updates_the_plan_and_mrr(paying: Driver) -> None:
    iid = paying.start("expansion", GROWTH, customer_id="C-2")
    assert paying.open_elements(iid) == ["qualify_opportunity"]
    paying.complete("qualify_opportunity", iid, qualified=True)
    paying.complete("prepare_proposal", iid, proposed_plan="enterprise", new_mrr=1600)
    assert paying.task_data("negotiate_expansion", iid)["new_mrr"] == 1600
    assert paying.complete("negotiate_expansion", iid, outcome="won", new_mrr=1500) == "completed"

    assert paying.ended(iid) == ["expansion_won"]
    customer = paying.customer("C-2")
    assert (customer.plan, customer.mrr) == ("enterprise", 1500.0)
    data = paying.final_data(iid)
    assert (data["mrr_delta"], data["mrr_movement"], data["customer_plan"]) == (600.0, "expansion", "enterprise")
    assert mrr_movements(paying) == [("new", 0.0, 900.0), ("expansion", 900.0, 1500.0)]
    assert "mrr_changed" in paying.actions(iid)


def test_an_unqualified_growth_signal_ends_without_touching_the_customer(paying: Driver) -> None:
    iid = paying.start("expansion", {"signal": "usage", "signal_detail": "API calls x3"}, customer_id="C-2")
    assert paying.complete("qualify_opportunity", iid, qualified=False) == "completed"
    assert paying.ended(iid) == ["not_qualified"]
    assert (paying.customer("C-2").plan, paying.customer("C-2").mrr) == ("standard", 900.0)


@pytest.mark.parametrize(("outcome", "end"), [("lost", "expansion_lost"), ("later", "expansion_later")])
def test_a_lost_or_postponed_expansion_leaves_plan_and_mrr_unchanged(paying: Driver, outcome: str, end: str) -> None:
    iid = paying.start("expansion", GROWTH, customer_id="C-2")
    paying.complete("qualify_opportunity", iid)
    paying.complete("prepare_proposal", iid)
    assert paying.complete("negotiate_expansion", iid, outcome=outcome) == "completed"
    assert paying.ended(iid) == [end]
    assert (paying.customer("C-2").plan, paying.customer("C-2").mrr) == ("standard", 900.0)
    assert mrr_movements(paying) == [("new", 0.0, 900.0)]


# -- referrals -------------------------------------------------------------------------------------------
def test_a_promoter_who_agrees_is_thanked_while_the_referral_is_recorded_then_its_outcome_tracked(
    driver: Driver,
) -> None:
    iid = driver.start("referrals", {"nps": 10})
    assert driver.open_elements(iid) == ["ask_for_referral"]
    assert driver.complete("ask_for_referral", iid, agreed=True) == "running"
    assert driver.mails() == [(EMAIL, "Thank you for the referral")]
    assert driver.open_elements(iid) == ["record_referral"]

    driver.complete("record_referral", iid, referred_company="Initech")
    assert driver.open_elements(iid) == ["track_referral_outcome"]
    assert driver.task_data("track_referral_outcome", iid)["referred_company"] == "Initech"
    assert driver.complete("track_referral_outcome", iid, referral_outcome="not_interested") == "completed"
    assert driver.ended(iid) == ["referral_tracked"]
    data = driver.final_data(iid)
    assert (data["nps"], data["referral_outcome"]) == (10, "not_interested")
    assert "mail_referral_thank_you_outbox_id" in data


def test_a_promoter_who_declines_ends_the_referral_without_a_mail(driver: Driver) -> None:
    iid = driver.start("referrals", {"nps": 9})
    assert driver.complete("ask_for_referral", iid, agreed=False) == "completed"
    assert driver.ended(iid) == ["promoter_declined"]
    assert driver.mails() == []
