"""Onboarding phase, every path: sign_up, welcome, training and quick_wins, driven through the facade."""

from __future__ import annotations

import pytest

from engine import MessageNotDelivered
from tests.processes.helpers import EMAIL, Driver

ADMIN = "admin@acme.example"
CREDENTIALS = (ADMIN, "Your Acme workspace is ready")


# -- sign_up ---------------------------------------------------------------------------------------------
def test_sign_up_moves_the_customer_to_onboarding_and_ends_once_the_admin_confirms_the_credentials(
    driver: Driver,
) -> None:
    iid = driver.start("sign_up")
    assert driver.open_elements(iid) == ["confirm_contract_signed"]
    assert driver.customer().stage == "prospect"

    assert driver.complete("confirm_contract_signed", iid, plan="enterprise", seats=40) == "running"
    assert (driver.customer().stage, driver.customer().plan) == ("onboarding", "enterprise")
    assert driver.task("configure_account", iid).candidate_groups == "security"

    driver.complete("configure_account", iid, tenant_id="acme-prod", admin_email=ADMIN)
    assert driver.mails() == [CREDENTIALS]
    assert driver.open_elements(iid) == ["confirm_credentials_received"]

    assert driver.complete("confirm_credentials_received", iid, credentials_received=True) == "completed"
    assert driver.ended(iid) == ["account_ready"]
    data = driver.final_data(iid)
    assert (data["customer_stage"], data["plan"], data["seats"], data["tenant_id"]) == (
        "onboarding",
        "enterprise",
        40,
        "acme-prod",
    )
    assert [e.action for e in driver.audit(iid) if e.action in ("customer_updated", "instance_completed")] == [
        "customer_updated",
        "instance_completed",
    ]


def test_sign_up_sends_the_credentials_again_until_the_customer_confirms_receipt(driver: Driver) -> None:
    iid = driver.start("sign_up")
    driver.complete("confirm_contract_signed", iid)
    driver.complete("configure_account", iid, admin_email=ADMIN)

    for sent in (2, 3):
        assert driver.complete("confirm_credentials_received", iid, credentials_received=False) == "running"
        assert driver.mails() == [CREDENTIALS] * sent
        assert driver.open_elements(iid) == ["confirm_credentials_received"]

    assert driver.complete("confirm_credentials_received", iid, credentials_received=True) == "completed"
    assert driver.mails() == [CREDENTIALS] * 3
    assert driver.ended(iid) == ["account_ready"]


# -- welcome ---------------------------------------------------------------------------------------------
def test_welcome_answers_the_first_use_with_tips_then_sends_the_day_1_and_week_1_mails(driver: Driver) -> None:
    iid = driver.start("welcome")
    assert driver.open_elements(iid) == ["hold_kickoff_meeting"]
    assert driver.complete("hold_kickoff_meeting", iid) == "waiting"
    assert driver.open_elements(iid) == []

    assert driver.message("first_use", {"feature": "dashboards"}) == [iid]
    assert driver.mails() == [(EMAIL, "Tips for dashboards you just tried")]
    assert driver.status(iid) == "waiting"

    driver.advance(hours=23)
    assert driver.mails() == [(EMAIL, "Tips for dashboards you just tried")]
    driver.advance(hours=1, minutes=1)
    assert driver.mails()[-1] == (EMAIL, "Welcome aboard, Acme!")
    assert driver.status(iid) == "waiting"

    driver.advance(days=6, hours=23)
    assert driver.mails()[-1] == (EMAIL, "Welcome aboard, Acme!")
    driver.advance(hours=1, minutes=1)
    assert driver.mails()[-1] == (EMAIL, "Your first week with us")
    assert driver.status(iid) == "completed"
    assert driver.ended(iid) == ["welcome_complete"]
    assert driver.final_data(iid)["feature"] == "dashboards"
    assert "message_received" in driver.actions(iid)


def test_welcome_asks_the_csm_to_nudge_a_customer_who_has_not_used_the_product_within_14_days(
    driver: Driver,
) -> None:
    iid = driver.start("welcome")
    driver.complete("hold_kickoff_meeting", iid)
    driver.advance(days=1, minutes=1)
    driver.advance(days=7, minutes=1)
    assert driver.mails() == [(EMAIL, "Welcome aboard, Acme!"), (EMAIL, "Your first week with us")]
    assert driver.status(iid) == "waiting"

    driver.advance(days=6)
    assert driver.open_elements(iid) == ["nudge_inactive_customer"]
    assert driver.complete("nudge_inactive_customer", iid, contact_channel="meeting") == "completed"
    assert driver.ended(iid) == ["welcome_complete"]
    assert len(driver.mails()) == 2  # no first-use tips


def test_welcome_refuses_a_first_use_event_before_the_kickoff_meeting_was_held(driver: Driver) -> None:
    iid = driver.start("welcome")
    with pytest.raises(MessageNotDelivered, match="first_use"):
        driver.message("first_use", {"feature": "reports"})
    assert driver.open_elements(iid) == ["hold_kickoff_meeting"]
    assert driver.mails() == []


def test_the_day_1_welcome_mail_goes_out_when_the_clock_reaches_exactly_one_day(driver: Driver) -> None:
    iid = driver.start("welcome")
    driver.complete("hold_kickoff_meeting", iid)
    driver.advance(days=1)
    assert driver.mails() == [(EMAIL, "Welcome aboard, Acme!")]


# -- training --------------------------------------------------------------------------------------------
def test_training_reminds_the_participants_after_two_days_without_closing_the_session(driver: Driver) -> None:
    iid = driver.start("training")
    assert driver.task("schedule_training_session", iid).candidate_groups == "trainer"
    driver.complete("schedule_training_session", iid, session_topic="reporting")
    assert driver.open_elements(iid) == ["hold_training_session"]

    driver.advance(days=1, hours=23)
    assert driver.mails() == []
    driver.advance(hours=1, minutes=1)
    assert driver.mails() == [(EMAIL, "Reminder: your training session")]
    assert driver.open_elements(iid) == ["hold_training_session"]
    assert driver.status(iid) == "running"

    driver.complete("hold_training_session", iid, attended=True)
    assert driver.complete("record_training_completion", iid, training_completed=True) == "completed"
    assert sorted(driver.ended(iid)) == ["reminder_sent", "training_done"]
    assert driver.mails() == [(EMAIL, "Reminder: your training session")]


def test_training_schedules_another_session_until_the_trainer_records_it_completed(driver: Driver) -> None:
    iid = driver.start("training")
    driver.complete("schedule_training_session", iid, session_topic="basics")
    driver.complete("hold_training_session", iid, attended=False)
    assert driver.complete("record_training_completion", iid, training_completed=False) == "running"
    assert driver.open_elements(iid) == ["schedule_training_session"]

    driver.complete("schedule_training_session", iid, session_topic="admin", session_date="2026-01-15")
    driver.complete("hold_training_session", iid, attended=True)
    assert driver.complete("record_training_completion", iid, training_completed=True) == "completed"
    assert driver.ended(iid) == ["training_done"]
    assert driver.final_data(iid)["session_topic"] == "admin"

    driver.advance(days=3)
    assert driver.mails() == []  # both sessions were held within two days: no reminder


# -- quick_wins ------------------------------------------------------------------------------------------
def test_quick_wins_reaches_first_value_when_the_win_is_confirmed_within_30_days(driver: Driver) -> None:
    iid = driver.start("quick_wins")
    driver.complete("agree_success_goals", iid)
    assert driver.open_elements(iid) == ["confirm_first_win"]

    driver.advance(days=29)
    assert driver.open_elements(iid) == ["confirm_first_win"]
    assert driver.complete("confirm_first_win", iid, first_win_date="2026-02-02") == "completed"
    assert driver.ended(iid) == ["first_value_reached"]
    assert driver.final_data(iid)["first_win_date"] == "2026-02-02"

    driver.advance(days=2)
    assert driver.open_elements() == []


def test_quick_wins_escalates_to_the_cs_lead_after_30_days_and_keeps_pursuing_the_first_win(driver: Driver) -> None:
    iid = driver.start("quick_wins")
    driver.complete("agree_success_goals", iid)

    driver.advance(days=30, minutes=1)
    assert driver.open_elements(iid) == ["escalate_missing_first_win"]
    assert driver.task("escalate_missing_first_win", iid).candidate_groups == "cs_lead"

    assert driver.complete("escalate_missing_first_win", iid, continue_pursuit=True) == "running"
    assert driver.open_elements(iid) == ["confirm_first_win"]

    driver.advance(days=30, minutes=1)  # a new 30-day window: escalated again
    assert driver.open_elements(iid) == ["escalate_missing_first_win"]
    driver.complete("escalate_missing_first_win", iid, continue_pursuit=True, root_cause="product_gap")
    assert driver.complete("confirm_first_win", iid) == "completed"
    assert driver.ended(iid) == ["first_value_reached"]
    assert driver.final_data(iid)["root_cause"] == "product_gap"


def test_quick_wins_is_abandoned_when_the_cs_lead_stops_the_pursuit(driver: Driver) -> None:
    iid = driver.start("quick_wins")
    driver.complete("agree_success_goals", iid)
    driver.advance(days=30, minutes=1)
    assert driver.complete("escalate_missing_first_win", iid, continue_pursuit=False) == "completed"
    assert driver.ended(iid) == ["quick_win_abandoned"]
    assert driver.open_elements(iid) == []
