"""The health score: components and weights from config.toml, components without data left out, history, audit,
the recompute triggers and the recovery playbook started when a customer crosses into "at risk"."""

from __future__ import annotations

import argparse
import json
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from engine import ConfigError, FrozenClock, Runtime
from engine.models import AuditEvent, ProcessInstance
from processes import health, health_cli, surveys
from processes.customers import Customer, Invoice, create_customer, record_mrr
from processes.events import PlaybookRun, record_event
from processes.health import COMPONENT_KEYS, HealthSnapshot, compute, health_changed, recompute_stale, settings
from processes.playbooks import start_pending
from processes.tickets import SupportTicket
from tests.processes.helpers import Driver

CID = "C-7"


def _customer(runtime: Runtime, *, mrr: float = 1000.0, customer_id: str = CID) -> None:
    """A customer whose MRR (``mrr``) started 200 days ago, so the MRR trend has a value 90 days back."""
    with runtime.unit() as u:
        start = (u.now - timedelta(days=200)).date() if mrr else None
        create_customer(u.session, customer_id, "Initech", now=u.now, mrr=mrr, contract_start=start, stage="active")


def _active_days(runtime: Runtime, days_ago: range, customer_id: str = CID) -> None:
    with runtime.unit() as u:
        customer = u.session.get(Customer, customer_id)
        assert customer is not None
        for back in days_ago:
            at = u.now - timedelta(days=back)
            record_event(u.session, customer=customer, name="login", at=at, properties={}, source="api", now=u.now)


def _answer(runtime: Runtime, kind: str, score: int, *, days_ago: float = 0, customer_id: str = CID) -> None:
    """An answer through the real path (stored, then ``surveys.answered``: audit, playbook rules, health)."""
    with runtime.unit() as u:
        customer = u.session.get(Customer, customer_id)
        assert customer is not None
        at = u.now - timedelta(days=days_ago)
        answer = surveys.record_answer(
            u.session, runtime.config, customer=customer, kind=kind, score=score, at=at, source="api"
        )
        surveys.answered(u.session, runtime.config, answer, u.now, actor="api")


def _tickets(runtime: Runtime, repeats: list[bool], customer_id: str = CID) -> None:
    with runtime.unit() as u:
        for n, repeat in enumerate(repeats):
            u.session.add(
                SupportTicket(
                    instance_id=str(uuid.uuid4()),
                    customer_id=customer_id,
                    created_at=u.now - timedelta(days=20 - n),
                    repeat_within_30d=repeat,
                )
            )


def _health(runtime: Runtime, customer_id: str = CID) -> health.Health:
    with runtime.store.session() as s:
        return compute(s, customer_id, runtime.clock.now(), runtime.config)


def _changed(runtime: Runtime, reason: str, customer_id: str = CID) -> None:
    with runtime.unit() as u:
        health_changed(u.session, customer_id, u.now, reason, runtime.config)


def _history(runtime: Runtime, customer_id: str = CID) -> list[tuple[float, str]]:
    with runtime.store.session() as s:
        rows = s.execute(
            select(HealthSnapshot)
            .where(HealthSnapshot.customer_id == customer_id)
            .order_by(HealthSnapshot.at, HealthSnapshot.id)
        ).scalars()
        return [(row.score, row.band) for row in rows]


def _audit(runtime: Runtime, action: str, customer_id: str = CID) -> list[dict]:
    with runtime.store.session() as s:
        rows = s.execute(
            select(AuditEvent.payload)
            .where(AuditEvent.action == action, AuditEvent.customer_id == customer_id)
            .order_by(AuditEvent.seq)
        ).scalars()
        return [json.loads(payload) for payload in rows]


def _mixed_customer(runtime: Runtime) -> None:
    """12 active days of 30, latest NPS 7, no ticket, one invoice 5 days overdue, nothing stuck, MRR flat."""
    _customer(runtime)
    _active_days(runtime, range(12))
    _answer(runtime, "nps", 7, days_ago=3)
    with runtime.unit() as u:
        u.session.add(Invoice(customer_id=CID, amount=300.0, due_at=u.now - timedelta(days=5), paid_at=None))


def test_components_each_have_a_value_a_weight_and_a_detail(runtime: Runtime) -> None:
    _mixed_customer(runtime)
    found = _health(runtime)
    parts = found.components
    assert list(parts) == list(COMPONENT_KEYS)
    assert (parts["usage"].value, parts["usage"].detail) == (40.0, "12 active days of 30")
    assert parts["sentiment"].value == 70.0 and "NPS 7" in parts["sentiment"].detail
    assert parts["support"].value == 100.0
    assert (parts["payment"].value, parts["payment"].detail) == (
        70.0,
        "1 unpaid invoice past due, the oldest 5 days overdue",
    )
    assert parts["stuck_steps"].value == 100.0
    assert parts["mrr_trend"].value == 100.0
    # default weights .25 .15 .25 .15 .10 .10 (sum 1): 40x.25 + 100x.15 + 70x.25 + 70x.15 + 100x.10 + 100x.10
    #   = 10 + 15 + 17.5 + 10.5 + 10 + 10 = 73.0 -> healthy (>= watch_below 70)
    assert (found.score, found.band) == (73.0, "healthy")
    assert parts["usage"].weight == 0.25


def test_a_weight_changed_in_the_config_changes_the_score(runtime: Runtime, config: dict) -> None:
    config["health"]["weight_usage"] = 1.0
    _mixed_customer(runtime)
    found = _health(runtime)
    # weights 1.0 .15 .25 .15 .10 .10 (sum 1.75): (40x1 + 15 + 17.5 + 10.5 + 10 + 10) / 1.75 = 103 / 1.75 = 58.857
    assert (found.score, found.band) == (58.9, "watch")
    assert found.components["usage"].weight == round(1.0 / 1.75, 4)


def test_components_without_data_are_left_out_and_the_weights_renormalised(runtime: Runtime) -> None:
    _customer(runtime, mrr=0.0)
    bare = _health(runtime)
    # only support (.15) and stuck steps (.10) have data: both 100, shares .6 and .4
    assert (bare.score, bare.band) == (100.0, "healthy")
    for key in ("usage", "sentiment", "payment", "mrr_trend"):
        assert bare.components[key].value is None and bare.components[key].weight == 0.0
        assert "left out, the other weights renormalised" in bare.components[key].detail
    assert (bare.components["support"].weight, bare.components["stuck_steps"].weight) == (0.6, 0.4)

    _active_days(runtime, range(12))
    used = _health(runtime)
    # usage 40 joins: (40x.25 + 100x.15 + 100x.10) / .50 = 35 / .5 = 70.0, exactly watch_below: healthy
    assert (used.score, used.band) == (70.0, "healthy")


def test_mrr_trend_compares_mrr_now_with_90_days_ago(runtime: Runtime) -> None:
    _customer(runtime)
    with runtime.unit() as u:
        customer = u.session.get(Customer, CID)
        assert customer is not None
        record_mrr(u.session, customer, u.now - timedelta(days=10), 800.0)
    trend = _health(runtime).components["mrr_trend"]
    assert trend.value == 60.0  # -20 %: 100 - 2 x 20
    assert trend.detail == "MRR 800.00 now, 1000.00 90 days ago (-20.0%)"


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("weight_usage", -1.0, "health.weight_usage"),
        ("at_risk_below", 80.0, "health.at_risk_below"),
        ("watch_below", 120.0, "health.watch_below"),
        ("usage_window_days", 0, "health.usage_window_days"),
    ],
)
def test_a_bad_health_setting_is_refused_naming_its_key(config: dict, key: str, value: float, named: str) -> None:
    config["health"][key] = value
    with pytest.raises(ConfigError, match=named):
        settings(config)


def test_all_weights_zero_is_refused(config: dict) -> None:
    for key in COMPONENT_KEYS:
        config["health"][f"weight_{key}"] = 0
    with pytest.raises(ConfigError, match=r"health\.weight_"):
        settings(config)


def test_a_detractor_answer_crosses_into_at_risk_and_starts_the_recovery_playbook_once(
    driver: Driver, runtime: Runtime, clock: FrozenClock, config: dict
) -> None:
    config["playbooks"]["rules"] = []  # only the health score asks for the recovery playbook here
    _customer(runtime)
    # healthy: 24 active days of 30 (80), a promoter (NPS 9: 90), no ticket (100), nothing stuck (100), MRR flat
    # (100), no invoice (left out): (80x.25 + 100x.15 + 90x.25 + 100x.10 + 100x.10) / .85 = 77.5 / .85 = 91.18
    _active_days(runtime, range(24))
    _answer(runtime, "nps", 9, days_ago=1)
    assert _history(runtime) == [(91.2, "healthy")]

    # a month later it slipped: 3 active days of the last 30 (10), three tickets of which two repeats
    # (100 - 30 - 40 = 30), MRR cut to 800 ten days ago (-20 %: 60), the NPS 9 still the latest (90):
    # (10x.25 + 30x.15 + 90x.25 + 100x.10 + 60x.10) / .85 = 45.5 / .85 = 53.53 -> watch
    clock.advance(timedelta(days=30))
    _active_days(runtime, range(3))
    _tickets(runtime, [False, True, True])
    with runtime.unit() as u:
        customer = u.session.get(Customer, CID)
        assert customer is not None
        record_mrr(u.session, customer, u.now - timedelta(days=10), 800.0)
    _changed(runtime, "tickets and MRR")
    assert _history(runtime)[-1] == (53.5, "watch")
    assert not start_pending(runtime)  # watch starts nothing

    # the detractor: NPS 2 (20): (2.5 + 4.5 + 20x.25 + 10 + 6) / .85 = 28 / .85 = 32.94 -> at risk
    clock.advance(timedelta(hours=1))
    _answer(runtime, "nps", 2)
    assert _history(runtime)[-1] == (32.9, "at_risk")
    started = start_pending(runtime)
    assert len(started) == 1

    # a second detractor lowers the score again (NPS 1: 25.5 / .85 = 30.0) but crosses nothing: no second playbook
    clock.advance(timedelta(hours=1))
    _answer(runtime, "nps", 1)
    assert start_pending(runtime) == []

    assert _history(runtime) == [(91.2, "healthy"), (53.5, "watch"), (32.9, "at_risk"), (30.0, "at_risk")]
    with runtime.store.session() as s:
        runs = list(s.execute(select(PlaybookRun).where(PlaybookRun.customer_id == CID)).scalars())
        assert [(r.process_id, r.rule, r.instance_id) for r in runs] == [("recovery", "health_at_risk", started[0])]
        instances = s.execute(
            select(ProcessInstance.id).where(
                ProcessInstance.process_id == "recovery", ProcessInstance.customer_id == CID
            )
        ).scalars()
        assert list(instances) == started
        customer = s.get(Customer, CID)
        assert customer is not None and (customer.health_score, customer.health_band) == (30.0, "at_risk")
    assert driver.open_elements(started[0]) == ["review_health"]

    changes = _audit(runtime, "health_changed")
    assert [(c["before"]["score"], c["after"]["score"]) for c in changes] == [
        (None, 91.2),
        (91.2, 53.5),
        (53.5, 32.9),
        (32.9, 30.0),
    ]
    assert changes[2]["reason"] == "survey nps" and changes[2]["components"]["sentiment"] == 20.0
    crossed = _audit(runtime, "health_threshold_crossed")
    assert [(c["before"]["band"], c["after"]["band"], c["playbook"]) for c in crossed] == [
        ("healthy", "watch", None),
        ("watch", "at_risk", "recovery"),
    ]
    assert crossed[1]["playbook_run"] == runs[0].id


def test_with_the_detractor_rule_too_the_recovery_playbook_starts_once(driver: Driver, runtime: Runtime) -> None:
    """config.toml's detractor rule asks for the same playbook: the one-open-instance guard keeps it to one."""
    _customer(runtime)
    _tickets(runtime, [False, True, True, True])  # 100 - 40 - 60 = 0
    _answer(runtime, "nps", 0)  # (0x.15 + 0x.25 + 100x.10 + 100x.10) / .60 = 33.3: at risk at once
    assert _history(runtime) == [(33.3, "at_risk")]
    assert len(start_pending(runtime)) == 1
    _answer(runtime, "nps", 1)
    assert start_pending(runtime) == []
    with runtime.store.session() as s:
        count = s.execute(select(ProcessInstance.id).where(ProcessInstance.process_id == "recovery")).all()
    assert len(count) == 1


def test_an_unchanged_score_stores_no_new_snapshot(runtime: Runtime) -> None:
    _customer(runtime)
    _changed(runtime, "first")
    _changed(runtime, "again")
    assert _history(runtime) == [(100.0, "healthy")]
    assert len(_audit(runtime, "health_changed")) == 1


def test_a_new_ticket_recomputes_the_score(driver: Driver, runtime: Runtime) -> None:
    _customer(runtime)
    driver.start("support", {"subject": "Export fails"}, customer_id=CID)
    with runtime.store.session() as s:
        snapshot = s.execute(select(HealthSnapshot).where(HealthSnapshot.customer_id == CID)).scalars().one()
    assert snapshot.reason == "ticket opened"
    assert json.loads(snapshot.components)["support"]["value"] == 90.0  # one ticket: 100 - 10


def test_a_step_gone_stuck_and_its_completion_recompute_the_score(
    driver: Driver, runtime: Runtime, clock: FrozenClock
) -> None:
    _customer(runtime)
    recovery = driver.start("recovery", customer_id=CID)
    _changed(runtime, "start")
    # the first step (sla_stuck P4D) sits 5 days: the scheduler's pass finds the customer and recomputes it
    clock.advance(timedelta(days=5))
    assert recompute_stale(runtime) == 1
    assert recompute_stale(runtime) == 0  # current now
    stuck = _health(runtime).components["stuck_steps"]
    assert (stuck.value, stuck.detail) == (70.0, "1 open step past the stuck threshold")
    # completing the stuck step recomputes at once (an engine listener on task_completed)
    driver.complete(
        "review_health",
        recovery,
        root_cause="low_usage",
        recovery_plan="Weekly training for the new team",
        recovery_approach="recovery_plan",
    )
    with runtime.store.session() as s:
        rows = s.execute(
            select(HealthSnapshot.reason, HealthSnapshot.components)
            .where(HealthSnapshot.customer_id == CID)
            .order_by(HealthSnapshot.id)
        ).all()
    assert [(reason, json.loads(parts)["stuck_steps"]["value"]) for reason, parts in rows] == [
        ("start", 100.0),
        ("stuck step or invoice due", 70.0),
        ("step review_health of recovery completed", 100.0),
    ]


def test_the_recovery_playbook_runs_to_recovered_or_escalated(driver: Driver, runtime: Runtime) -> None:
    for approach, outcome, ends in (
        ("recovery_plan", "recovered", ["customer_recovered"]),
        ("executive_call", "escalate", ["escalated_as_offboarding_risk"]),
    ):
        instance = driver.start("recovery")
        driver.complete(
            "review_health",
            instance,
            root_cause="support_issues",
            recovery_plan="Fix the three open bugs and review weekly",
            recovery_approach=approach,
        )
        driver.complete("approve_recovery", instance, approved_approach=approach)
        if approach == "executive_call":
            driver.complete(
                "hold_executive_call",
                instance,
                executive_call_date=date(2026, 1, 9).isoformat(),
                executive_sponsor="CFO",
                call_summary="Agreed the plan and a weekly steering call",
            )
        assert driver.open_elements(instance) == []
        driver.advance(days=14)
        driver.complete("check_in", instance, outcome=outcome, check_in_notes="Usage back to daily")
        if outcome == "escalate":
            driver.complete(
                "escalate_offboarding_risk", instance, retention_action="success_plan", escalation_owner="lea"
            )
        assert driver.status(instance) == "completed"
        assert driver.ended(instance) == ends


def test_the_recompute_command_backfills_named_or_all_customers(
    runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="jornada health")
    health_cli.configure(parser)

    def jornada_health(*argv: str) -> int:
        return health_cli.run(runtime, parser.parse_args(argv))

    _customer(runtime, customer_id="C-1")
    _customer(runtime, customer_id="C-2", mrr=0.0)
    assert jornada_health("recompute", "--customer", "C-1") == 0
    assert capsys.readouterr().out.strip() == "1 customers recomputed, 1 changed, 0 playbooks started"
    assert jornada_health("recompute", "--all") == 0
    assert capsys.readouterr().out.strip() == "2 customers recomputed, 1 changed, 0 playbooks started"
    assert jornada_health("recompute", "--customer", "NOPE") == 2
    assert "no customer NOPE" in capsys.readouterr().err
    assert jornada_health("show", "C-2") == 0
    shown = capsys.readouterr().out
    assert shown.startswith("C-2: 100.0 (healthy)") and "no product event yet" in shown
    with pytest.raises(SystemExit):
        parser.parse_args(["recompute"])  # --customer or --all is required


def test_product_events_queue_their_customers_and_the_next_scheduler_pass_recomputes_each_once(
    runtime: Runtime, clock: FrozenClock
) -> None:
    from engine._scheduler import run_once
    from processes import ingest

    _customer(runtime)
    _changed(runtime, "first score")
    before = _history(runtime)
    events = [ingest.Incoming(CID, "login", clock.now() - timedelta(days=n), {}) for n in range(1, 25)]
    with runtime.unit() as u:
        known = ingest.known_customers(u.session, {CID})
        ingest.ingest(runtime, u, events[:12], known, actor="api")
        ingest.ingest(runtime, u, events[12:], known, actor="api")
    with runtime.store.session() as s:
        assert s.execute(select(health.HealthPending.customer_id)).scalars().all() == [CID]
    assert _history(runtime) == before  # the events themselves only queue the customer

    clock.advance(minutes=1)
    run_once(runtime)
    assert len(_history(runtime)) == len(before) + 1
    with runtime.store.session() as s:
        assert s.execute(select(health.HealthPending)).first() is None
        newest = s.execute(select(HealthSnapshot).order_by(HealthSnapshot.id.desc()).limit(1)).scalar_one()
    # the 24 active days of the last 30 now count as the usage component (it had no data before)
    assert newest.reason == "product events"
    assert json.loads(newest.components)["usage"]["value"] == pytest.approx(80.0)


def test_a_churned_customer_has_no_health_score_any_more(runtime: Runtime) -> None:
    _customer(runtime)
    _changed(runtime, "first score")
    with runtime.unit() as u:
        customer = u.session.get(Customer, CID)
        assert customer is not None and customer.health_band is not None
        record_mrr(u.session, customer, u.now, 0.0)
        customer.stage = "churned"
    _changed(runtime, "churned")
    with runtime.store.session() as s:
        customer = s.get(Customer, CID)
        assert customer is not None and (customer.health_score, customer.health_band) == (None, None)
        cleared = s.execute(
            select(AuditEvent.payload)
            .where(AuditEvent.action == "health_changed")
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        ).scalar_one()
    assert json.loads(cleared)["after"] == {"score": None, "band": None}
