"""Product events and playbooks: an event reaches the instance waiting for it and is stored; one nobody waits for
is stored and starts the configured playbook once (not again within the cooldown, again after it); one open
instance per customer and process; threshold rules through the scheduler's job on the frozen clock; survey
rules; rules checked with errors naming the rule and key; a refused start is audited, not retried."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from engine import FrozenClock, Runtime
from engine._config import ConfigError
from engine._scheduler import build_scheduler, run_once
from engine.models import ProcessInstance
from processes import playbooks
from processes.customers import Customer, create_customer
from processes.events import PlaybookRun, ProductEvent
from processes.ingest import Incoming, Ingested, ingest, known_customers
from processes.playbook_rules import parse_rules
from processes.rollups import CsDaily, CustomerDay
from tests.bpmn_builder import flow, process, user_task
from tests.processes.helpers import CUSTOMER, EMAIL, Driver

RULES: list[dict[str, Any]] = [
    {"name": "first_use_tips", "on_event": "first_use", "process": "feature_tips"},
    {"name": "no_usage_14_days", "when": "no_usage_days", "days": 14, "process": "re_engagement"},
    {"name": "renewal_90_days", "when": "renewal_within_days", "days": 90, "process": "renewal", "cooldown_days": 180},
    {"name": "promoter_referral", "when": "promoter", "process": "referrals"},
    {"name": "detractor_call", "when": "detractor", "process": "re_engagement"},
]
TIPS = (EMAIL, "Getting more out of reports")


@pytest.fixture
def config(config: dict) -> dict:
    config["playbooks"] = {"cooldown_days": 30, "rules": RULES}
    return config


def send(runtime: Runtime, *events: tuple[str, str, dict[str, Any]]) -> tuple[Ingested, list[str]]:
    """What the events API does: store and deliver in one unit, then start the pending playbooks."""
    with runtime.unit() as u:
        incoming = [Incoming(customer_id=c, name=n, at=u.now, properties=p) for c, n, p in events]
        customers = known_customers(u.session, {c for c, _, _ in events})
        result = ingest(runtime, u, incoming, customers, actor="test")
    return result, playbooks.start_pending(runtime, run_ids=[run.id for run in result.requested])


def count(runtime: Runtime, model: Any, *where: Any) -> int:
    with runtime.store.session() as s:
        return int(s.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def instances(runtime: Runtime, process_id: str) -> list[tuple[str | None, str]]:
    with runtime.store.session() as s:
        rows = s.execute(
            select(ProcessInstance.customer_id, ProcessInstance.status).where(ProcessInstance.process_id == process_id)
        ).all()
    return sorted((c, st) for c, st in rows)


def add_customer(runtime: Runtime, customer_id: str, **fields: Any) -> None:
    with runtime.unit() as u:
        create_customer(u.session, customer_id, f"Customer {customer_id}", now=u.now, email=EMAIL, **fields)


# -- events reach waiting instances, or start a playbook ---------------------------------------------------------
def test_a_first_use_event_reaches_the_waiting_welcome_instance_and_is_stored(driver: Driver) -> None:
    iid = driver.start("welcome")
    assert driver.complete("hold_kickoff_meeting", iid) == "waiting"

    result, started = send(driver.runtime, (CUSTOMER, "first_use", {"feature": "dashboards"}))

    assert result.stored == 1 and result.delivered == [(0, [iid])]
    assert started == [] and result.requested == []  # the welcome instance handled it: no playbook as well
    assert "message_received" in driver.actions(iid)
    assert driver.mails() == [(EMAIL, "Tips for dashboards you just tried")]
    assert count(driver.runtime, ProductEvent, ProductEvent.customer_id == CUSTOMER) == 1
    assert count(driver.runtime, CustomerDay, CustomerDay.events == 1) == 1


def test_an_event_nobody_waits_for_is_stored_and_starts_the_playbook_once_per_cooldown(
    driver: Driver, clock: FrozenClock
) -> None:
    runtime = driver.runtime
    result, started = send(runtime, (CUSTOMER, "first_use", {"feature": "reports"}))
    assert result.stored == 1 and result.delivered == []
    assert len(started) == 1 and driver.status(started[0]) == "completed"
    assert driver.mails() == [TIPS]  # the feature's tips, with the event's properties in the data
    assert driver.final_data(started[0])["playbook_rule"] == "first_use_tips"
    assert [e.action for e in driver.audit(action="playbook_requested")] == ["playbook_requested"]

    clock.advance(timedelta(days=29))
    result, started = send(runtime, (CUSTOMER, "first_use", {"feature": "reports"}))
    assert result.stored == 1 and result.requested == [] and started == []  # within the cooldown
    assert count(runtime, ProductEvent) == 2 and instances(runtime, "feature_tips") == [(CUSTOMER, "completed")]

    clock.advance(timedelta(days=1, minutes=1))
    _, started = send(runtime, (CUSTOMER, "first_use", {"feature": "reports"}))
    assert len(started) == 1 and len(instances(runtime, "feature_tips")) == 2  # the cooldown is over
    with runtime.store.session() as s:
        runs = s.execute(select(PlaybookRun.instance_id).order_by(PlaybookRun.id)).scalars().all()
    assert len(runs) == 2 and runs[-1] == started[0]


def test_two_events_of_one_customer_in_one_batch_start_one_playbook(driver: Driver) -> None:
    add_customer(driver.runtime, "C-2")
    result, started = send(
        driver.runtime,
        (CUSTOMER, "first_use", {"feature": "reports"}),
        (CUSTOMER, "first_use", {"feature": "alerts"}),
        ("C-2", "first_use", {}),
        ("C-2", "login", {}),
    )
    assert result.stored == 4 and len(started) == 2
    assert [c for c, _ in instances(driver.runtime, "feature_tips")] == [CUSTOMER, "C-2"]
    with driver.runtime.store.session() as s:
        daily = s.execute(select(func.sum(CsDaily.events), func.sum(CsDaily.active_days))).one()
        days = {c: n for c, n in s.execute(select(CustomerDay.customer_id, CustomerDay.events))}
    assert tuple(daily) == (4, 2) and days == {CUSTOMER: 2, "C-2": 2}


def test_one_open_instance_per_customer_and_process_whatever_the_cooldown(driver: Driver, clock: FrozenClock) -> None:
    runtime = driver.runtime
    settings = runtime.config

    def request() -> PlaybookRun | None:
        with runtime.unit() as u:
            return playbooks.request_playbook(
                u.session,
                customer_id=CUSTOMER,
                process_id="re_engagement",
                rule="test",
                trigger="by hand",
                now=u.now,
                config=settings,
            )

    assert request() is not None
    assert request() is None  # pending counts as open
    [iid] = playbooks.start_pending(runtime)
    assert driver.open_elements(iid) == ["call_inactive_customer"]
    assert driver.mails() == [(EMAIL, "We miss you at Acme")]
    clock.advance(timedelta(days=45))
    assert request() is None  # past the cooldown, but still open
    assert driver.complete("call_inactive_customer", iid, call_date="2026-03-01", call_outcome="re_engaged") == (
        "completed"
    )
    assert driver.ended(iid) == ["customer_re_engaged"]
    assert request() is not None


def test_a_claimed_run_is_started_by_one_scheduler_only(driver: Driver) -> None:
    with driver.runtime.unit() as u:
        run = playbooks.request_playbook(
            u.session,
            customer_id=CUSTOMER,
            process_id="feature_tips",
            rule="r",
            trigger="t",
            now=u.now,
            config=driver.runtime.config,
        )
        assert run is not None
        run.instance_id = "claim:someone-else"
    assert playbooks.start_pending(driver.runtime) == []
    assert instances(driver.runtime, "feature_tips") == []


# -- thresholds, through the scheduler -----------------------------------------------------------------------
def test_the_scheduler_starts_re_engagement_after_14_days_without_use_and_renewal_90_days_ahead_once(
    driver: Driver, clock: FrozenClock
) -> None:
    runtime = driver.runtime
    today = clock.now().date()
    add_customer(runtime, "IDLE", stage="active", contract_start=today - timedelta(days=20))
    add_customer(runtime, "BUSY", stage="active", contract_start=today - timedelta(days=20))
    add_customer(runtime, "RENEWS", stage="onboarding", renewal_date=today + timedelta(days=60))
    add_customer(runtime, "LATER", stage="onboarding", renewal_date=today + timedelta(days=120))
    add_customer(runtime, "GONE", stage="active", contract_start=today - timedelta(days=20))
    with runtime.unit() as u:
        u.session.get(Customer, "GONE").archived_at = u.now  # type: ignore[union-attr]
    clock.advance(timedelta(days=-3))
    send(runtime, ("BUSY", "login", {}))
    clock.advance(timedelta(days=3))

    run_once(runtime)
    assert instances(runtime, "re_engagement") == [("IDLE", "running")]
    assert instances(runtime, "renewal") == [("RENEWS", "running")]
    run_once(runtime)
    assert len(instances(runtime, "re_engagement")) == 1 and len(instances(runtime, "renewal")) == 1

    clock.advance(timedelta(days=12))  # BUSY's last event is now 15 days old
    run_once(runtime)
    assert instances(runtime, "re_engagement") == [("BUSY", "running"), ("IDLE", "running")]
    [renewal] = [r for r in driver.open_tasks() if r.element_id == "prepare_renewal"]
    data = runtime.task_view(renewal.id).data
    assert data["playbook_rule"] == "renewal_90_days" and data["trigger"].startswith("renewal on ")


def test_the_playbooks_job_is_registered_with_the_scheduler_at_the_sweep_interval(runtime: Runtime) -> None:
    job = build_scheduler(runtime).get_job("playbooks")
    assert job is not None
    assert job.trigger.interval.total_seconds() == runtime.config["scheduler"]["sweep_interval_seconds"]


def test_no_usage_since_the_contract_start_counts_as_no_usage(driver: Driver, clock: FrozenClock) -> None:
    today = clock.now().date()
    add_customer(driver.runtime, "NEW", stage="active", contract_start=today - timedelta(days=5))
    run_once(driver.runtime)
    assert instances(driver.runtime, "re_engagement") == []
    clock.advance(timedelta(days=10))
    run_once(driver.runtime)
    assert instances(driver.runtime, "re_engagement") == [("NEW", "running")]


# -- survey rules ---------------------------------------------------------------------------------------------
def test_a_promoter_answer_starts_referrals_with_the_score_and_a_passive_one_nothing(driver: Driver) -> None:
    runtime = driver.runtime
    with runtime.unit() as u:
        passive = playbooks.on_survey_answer(
            u.session, customer_id=CUSTOMER, kind="nps", score=8, now=u.now, config=runtime.config
        )
        csat = playbooks.on_survey_answer(
            u.session, customer_id=CUSTOMER, kind="csat", score=5, now=u.now, config=runtime.config
        )
        promoter = playbooks.on_survey_answer(
            u.session, customer_id=CUSTOMER, kind="nps", score=10, now=u.now, config=runtime.config
        )
    assert passive == [] and csat == [] and [r.rule for r in promoter] == ["promoter_referral"]
    [iid] = playbooks.start_pending(runtime)
    assert runtime.task_view(driver.task("ask_for_referral", iid).id).data["nps"] == 10


# -- refused starts and bad rules -----------------------------------------------------------------------------
def test_a_rule_naming_an_undeployed_process_is_audited_as_failed_and_not_retried(driver: Driver) -> None:
    driver.runtime.config["playbooks"]["rules"] = [{"name": "ghost", "on_event": "boo", "process": "nope"}]
    result, started = send(driver.runtime, (CUSTOMER, "boo", {}))
    assert len(result.requested) == 1 and started == []
    [failed] = driver.audit(action="playbook_failed")
    assert "'nope' is not deployed" in json.loads(failed.payload)["reason"]
    assert playbooks.start_pending(driver.runtime) == []
    assert len(driver.audit(action="playbook_failed")) == 1


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"name": "x", "proces": "y", "on_event": "e"}, "unknown key 'proces' (did you mean 'process'?)"),
        ({"name": "x", "on_event": "e"}, "missing key 'process'"),
        ({"name": "x", "process": "y"}, "give exactly one of on_event"),
        ({"name": "x", "process": "y", "on_event": "e", "when": "promoter"}, "give exactly one of on_event"),
        ({"name": "x", "process": "y", "when": "sometimes"}, "when 'sometimes' is not one of"),
        ({"name": "x", "process": "y", "when": "no_usage_days"}, "needs days = N"),
        ({"name": "x", "process": "y", "when": "no_usage_days", "days": 0}, "days must be a whole number"),
        ({"name": "x", "process": "y", "on_event": "e", "days": 3}, "days applies only to"),
        ({"name": "x", "process": "y", "on_event": "e", "cooldown_days": "soon"}, "cooldown_days must be"),
        ({"name": "x", "process": "y y", "on_event": "e"}, "process 'y y' is not a valid name"),
        ("x", "must be a table"),
    ],
)
def test_a_bad_rule_is_refused_naming_its_index_and_key(rule: Any, message: str) -> None:
    good = {"name": "ok", "process": "p", "on_event": "e"}
    with pytest.raises(ConfigError) as caught:
        parse_rules([good, {**good, "name": "ok2"}, rule])
    assert str(caught.value).startswith("config playbooks.rules[2]: ")
    assert message in str(caught.value)


def test_duplicate_rule_names_and_a_bad_config_fail_loudly_when_the_scheduler_runs(driver: Driver) -> None:
    good = {"name": "ok", "process": "p", "on_event": "e"}
    with pytest.raises(ConfigError, match=r"rules\[1\]: name 'ok' is already used by rules\[0\]"):
        parse_rules([good, good])
    driver.runtime.config["playbooks"]["rules"] = [{"name": "x", "process": "y", "when": "never"}]
    with pytest.raises(ConfigError, match=r"playbooks\.rules\[0\]: when 'never'"):
        run_once(driver.runtime)


def test_a_message_start_event_starts_its_process_once_per_cooldown(driver: Driver, clock: FrozenClock) -> None:
    body = (
        '<bpmn:startEvent id="start"><bpmn:messageEventDefinition messageRef="m_trial"/></bpmn:startEvent>\n'
        + user_task("call", "Call the trial user", fields='<camunda:formField id="note" label="Note" type="string"/>')
        + flow("f1", "start", "call")
        + '<bpmn:endEvent id="end"/>\n'
        + flow("f2", "call", "end")
    )
    model = process("trial", body, '<bpmn:message id="m_trial" name="trial_started"/>\n')
    driver.runtime.deploy({"trial.bpmn": model}, actor="test")
    _, started = send(driver.runtime, (CUSTOMER, "trial_started", {"plan": "pro"}))
    assert len(started) == 1 and driver.open_elements(started[0]) == ["call"]
    assert driver.task_data("call", started[0])["plan"] == "pro"
    assert driver.complete("call", started[0], note="done") == "completed"
    _, again = send(driver.runtime, (CUSTOMER, "trial_started", {}))
    assert again == []  # within the cooldown
