"""Surveys: scales per kind, answers from a user task's form, signed links (answered once, refused twice, expired
or forged), the support ticket's own CSAT/CES survey, and referrals only from promoters."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select, update

from engine import FrozenClock, Runtime
from engine._errors import StartRefused
from engine.models import AuditEvent, ProcessInstance
from processes import surveys
from processes.customers import Contact, Customer
from processes.events import PlaybookRun
from processes.surveys import SurveyAnswer, SurveyLink
from tests.bpmn_builder import flow, process, user_task
from tests.processes.helpers import CUSTOMER, EMAIL, TICKET, Driver

TOKEN = re.compile(r"/survey/([A-Za-z0-9_.\-]+)")


def answers(runtime: Runtime) -> list[SurveyAnswer]:
    with runtime.store.session() as s:
        return list(s.execute(select(SurveyAnswer).order_by(SurveyAnswer.id)).scalars())


def new_link(runtime: Runtime, kind: str = "nps", **where: Any) -> str:
    with runtime.unit() as u:
        _, token = surveys.create_link(u.session, runtime.config, customer_id=CUSTOMER, kind=kind, now=u.now, **where)
    return token


def answer(runtime: Runtime, token: str, score: int, comment: str = "") -> SurveyAnswer:
    with runtime.unit() as u:
        return surveys.answer_link(
            u.session,
            runtime.config,
            token,
            score,
            comment,
            u.now,
            deliver=surveys.delivering(runtime, u),
        )


def tokens_in_last_mail(driver: Driver) -> list[str]:
    return TOKEN.findall(driver.mail.sent[-1][2])


# -- scales ----------------------------------------------------------------------------------------------------
def test_each_kind_has_its_scale_and_ces_takes_the_configured_one() -> None:
    config = {"surveys": {"ces_min": 1, "ces_max": 7}}
    assert surveys.scale("nps", config) == (0, 10)
    assert surveys.scale("csat", config) == (1, 5)
    assert surveys.scale("ces", config) == (1, 7)
    with pytest.raises(surveys.SurveyError, match="kind: 'xyz'"):
        surveys.scale("xyz", config)


@pytest.mark.parametrize(("kind", "score"), [("nps", 11), ("nps", -1), ("csat", 0), ("csat", 6), ("ces", 6)])
def test_a_score_off_its_scale_is_refused(driver: Driver, kind: str, score: int) -> None:
    with pytest.raises(surveys.SurveyError, match="score"), driver.runtime.unit() as u:
        customer = u.session.get(Customer, CUSTOMER)
        assert customer is not None
        surveys.record_answer(
            u.session, driver.runtime.config, customer=customer, kind=kind, score=score, at=u.now, source="api"
        )
    assert answers(driver.runtime) == []


def test_an_answer_keeps_the_scale_it_was_given_on(driver: Driver) -> None:
    with driver.runtime.unit() as u:
        customer = u.session.get(Customer, CUSTOMER)
        assert customer is not None
        surveys.record_answer(
            u.session, driver.runtime.config, customer=customer, kind="ces", score=5, at=u.now, source="api"
        )
    [stored] = answers(driver.runtime)
    assert (stored.kind, stored.score, stored.scale_min, stored.scale_max) == ("ces", 5, 0, 5)


# -- forms -----------------------------------------------------------------------------------------------------
SCORE_FORM = (
    '<camunda:formField id="nps_score" label="NPS" type="long"><camunda:validation>'
    '<camunda:constraint name="min" config="0"/><camunda:constraint name="max" config="10"/>'
    "</camunda:validation></camunda:formField>"
    '<camunda:formField id="nps_comment" label="Why" type="string"/>'
    '<camunda:formField id="ces_score" label="Effort" type="long"/>'
)


def test_a_user_task_form_with_a_score_field_stores_an_answer_asked_by_that_step(driver: Driver) -> None:
    body = (
        '<bpmn:startEvent id="start"/>'
        + user_task("ask_nps", "Ask NPS on the call", fields=SCORE_FORM)
        + '<bpmn:endEvent id="end"/>'
        + flow("f1", "start", "ask_nps")
        + flow("f2", "ask_nps", "end")
    )
    driver.runtime.deploy({"nps_call.bpmn": process("nps_call", body)}, actor="designer")
    iid = driver.start("nps_call")
    assert driver.complete("ask_nps", iid, nps_score=4, nps_comment="Too slow") == "completed"

    [stored] = answers(driver.runtime)  # the empty ces_score is no answer
    assert (stored.kind, stored.score, stored.comment, stored.source) == ("nps", 4, "Too slow", "form")
    assert (stored.customer_id, stored.instance_id, stored.element_id) == (CUSTOMER, iid, "ask_nps")
    assert (stored.scale_min, stored.scale_max) == (0, 10)


# -- signed links ----------------------------------------------------------------------------------------------
def test_a_link_is_answered_once_then_refused(driver: Driver) -> None:
    token = new_link(driver.runtime)
    stored = answer(driver.runtime, token, 9, "Great")
    assert (stored.kind, stored.score, stored.source, stored.comment) == ("nps", 9, "link", "Great")
    with pytest.raises(surveys.LinkAnswered, match="already answered"):
        answer(driver.runtime, token, 3)
    assert [a.score for a in answers(driver.runtime)] == [9]
    with driver.runtime.store.session() as s:
        [link] = s.execute(select(SurveyLink)).scalars()
        assert link.answered_at == driver.clock.now() and stored.link_id == link.id
        audited = s.execute(select(AuditEvent.action).where(AuditEvent.customer_id == CUSTOMER)).scalars().all()
    assert "survey_answered" in audited


def test_of_two_concurrent_answers_only_one_wins(driver: Driver) -> None:
    """The loser read the link as open; the conditional UPDATE finds it answered by the winner meanwhile."""
    token = new_link(driver.runtime)
    with driver.runtime.unit() as u:
        stale = u.session.execute(select(SurveyLink)).scalar_one()  # read while still open
        winner = update(SurveyLink).where(SurveyLink.id == stale.id).values(answered_at=u.now)
        u.session.execute(winner.execution_options(synchronize_session=False))
        with pytest.raises(surveys.LinkAnswered):
            surveys.answer_link(u.session, driver.runtime.config, token, 0, "", u.now)
    assert answers(driver.runtime) == []


def test_a_link_expires_after_the_configured_days(driver: Driver) -> None:
    token = new_link(driver.runtime, "csat")
    driver.clock.advance(days=int(driver.runtime.config["surveys"]["link_days"]), seconds=1)
    with pytest.raises(surveys.LinkExpired, match="expired"):
        answer(driver.runtime, token, 4)
    assert answers(driver.runtime) == []


def test_a_link_on_its_last_second_is_still_answered(driver: Driver) -> None:
    token = new_link(driver.runtime, "csat")
    driver.clock.advance(days=int(driver.runtime.config["surveys"]["link_days"]))
    assert answer(driver.runtime, token, 4).score == 4


@pytest.mark.parametrize("tamper", [lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), lambda t: "1.abc"])
def test_a_forged_token_is_refused(driver: Driver, tamper: Any) -> None:
    token = new_link(driver.runtime)
    with pytest.raises(surveys.LinkForged, match="not valid"):
        answer(driver.runtime, tamper(token), 10)
    assert answers(driver.runtime) == []


def test_a_token_signed_with_another_key_is_refused(driver: Driver) -> None:
    new_link(driver.runtime)
    other = {**driver.runtime.config, "web": {**driver.runtime.config["web"], "secret_key": "someone else's"}}
    with pytest.raises(surveys.LinkForged):
        answer(driver.runtime, surveys.link_token(other, 1), 10)


def test_a_well_signed_token_for_no_link_is_unknown(driver: Driver) -> None:
    with pytest.raises(surveys.LinkUnknown):
        answer(driver.runtime, surveys.link_token(driver.runtime.config, 999), 10)


def test_a_score_off_the_scale_leaves_the_link_open(driver: Driver) -> None:
    token = new_link(driver.runtime, "csat")
    with pytest.raises(surveys.SurveyError, match="1 to 5"):
        answer(driver.runtime, token, 9)
    assert answer(driver.runtime, token, 5).score == 5


def test_a_detractor_answer_by_link_requests_the_configured_recovery_playbook_once(driver: Driver) -> None:
    answer(driver.runtime, new_link(driver.runtime), 2)
    answer(driver.runtime, new_link(driver.runtime), 1)  # within the cooldown: nothing more
    with driver.runtime.store.session() as s:
        runs = s.execute(select(PlaybookRun.process_id, PlaybookRun.rule, PlaybookRun.customer_id)).all()
    assert [tuple(r) for r in runs] == [("recovery", "detractor_recovery", CUSTOMER)]


# -- the support ticket's own survey ----------------------------------------------------------------------------
def resolved_ticket(driver: Driver) -> str:
    iid = driver.start("support", TICKET)
    driver.complete("triage_ticket", iid)
    driver.complete("first_response", iid, resolved_first_contact=True)
    assert driver.complete("resolve_ticket", iid) == "waiting"
    return iid


def test_a_resolved_ticket_mails_csat_and_ces_links_and_a_low_csat_answer_is_followed_up(driver: Driver) -> None:
    iid = resolved_ticket(driver)
    assert driver.mails() == [(EMAIL, "How did we do on your ticket?")]
    csat, ces = tokens_in_last_mail(driver)
    assert "Report export fails" in driver.mail.sent[-1][2]

    stored = answer(driver.runtime, csat, 2, "Took too long")
    assert (stored.kind, stored.instance_id, stored.element_id, stored.contact_id) == (
        "csat",
        iid,
        "send_csat_survey",
        None,
    )
    assert driver.open_elements(iid) == ["follow_up_low_csat"]  # the ticket heard the answer
    assert driver.task_data("follow_up_low_csat", iid)["csat_score"] == 2

    assert answer(driver.runtime, ces, 4).kind == "ces"  # nothing waits for it: stored, the ticket unmoved
    assert driver.open_elements(iid) == ["follow_up_low_csat"]
    assert [(a.kind, a.score, a.source) for a in answers(driver.runtime)] == [("csat", 2, "link"), ("ces", 4, "link")]


def test_an_answer_moves_only_the_ticket_whose_link_it_is(driver: Driver) -> None:
    first = resolved_ticket(driver)
    first_csat = tokens_in_last_mail(driver)[0]
    second = resolved_ticket(driver)  # the same customer, also waiting for its csat_response
    answer(driver.runtime, first_csat, 1)
    assert driver.open_elements(first) == ["follow_up_low_csat"]
    assert driver.open_elements(second) == [] and driver.status(second) == "waiting"


def test_a_good_csat_answer_closes_the_ticket(driver: Driver) -> None:
    iid = resolved_ticket(driver)
    answer(driver.runtime, tokens_in_last_mail(driver)[0], 5)
    assert driver.status(iid) == "completed" and driver.ended(iid) == ["ticket_closed"]
    assert driver.final_data(iid)["csat_score"] == 5


def test_a_link_answered_after_the_ticket_closed_is_still_stored(driver: Driver) -> None:
    iid = resolved_ticket(driver)
    driver.advance(days=7, minutes=1)
    assert driver.ended(iid) == ["ticket_closed_no_csat"]
    assert answer(driver.runtime, tokens_in_last_mail(driver)[0], 3).instance_id == iid


def test_the_survey_goes_to_the_first_contact_in_their_language(driver: Driver) -> None:
    with driver.runtime.unit() as u:
        for name, email, language in [("Bia", "bia@acme.example", "pt_BR"), ("Al", "al@acme.example", "en")]:
            u.session.add(
                Contact(customer_id=CUSTOMER, name=name, email=email, role="admin", language=language, created_at=u.now)
            )
    iid = resolved_ticket(driver)
    assert driver.mails() == [("bia@acme.example", "Como foi o atendimento do seu chamado?")]
    with driver.runtime.store.session() as s:
        links = s.execute(select(SurveyLink).order_by(SurveyLink.id)).scalars().all()
        assert [(link.kind, link.language, link.instance_id) for link in links] == [
            ("csat", "pt_BR", iid),
            ("ces", "pt_BR", iid),
        ]
    stored = answer(driver.runtime, tokens_in_last_mail(driver)[0], 4)
    assert stored.contact_id is not None


def test_a_csat_answer_posted_as_a_message_is_stored_once(driver: Driver) -> None:
    iid = resolved_ticket(driver)
    assert driver.message("csat_response", {"csat_score": 4, "csat_comment": "ok"}) == [iid]
    [stored] = answers(driver.runtime)
    assert (stored.kind, stored.score, stored.source, stored.instance_id) == ("csat", 4, "api", iid)


# -- referrals -------------------------------------------------------------------------------------------------
def instances(runtime: Runtime) -> int:
    with runtime.store.session() as s:
        return int(s.execute(select(func.count()).select_from(ProcessInstance)).scalar_one())


@pytest.mark.parametrize("nps", [3, 8, 11, "7"])
def test_referrals_refuse_a_non_promoter_and_write_nothing(driver: Driver, clock: FrozenClock, nps: Any) -> None:
    with pytest.raises(StartRefused, match=f"referrals start from promoters: nps {nps} is not 9-10"):
        driver.start("referrals", {"nps": nps})
    assert instances(driver.runtime) == 0
    assert driver.audit(action="instance_started") == []


@pytest.mark.parametrize("nps", [9, 10])
def test_referrals_start_for_a_promoter(driver: Driver, nps: int) -> None:
    iid = driver.start("referrals", {"nps": nps})
    assert driver.open_elements(iid) == ["ask_for_referral"]
