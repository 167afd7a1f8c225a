"""Acceptance: an auditor filters the audit trail in a real browser, downloads the CSV, and its rows are exactly the
database's rows for that filter; the KPI, heat map and alert pages render without a console error."""

from __future__ import annotations

import csv
from typing import Any

import pytest
from sqlalchemy import func, select

from engine import FrozenClock, Runtime
from engine import _kpi as kpi
from engine.models import Alert, AuditEvent
from tests.processes.helpers import FORMS, Driver
from tests.web.helpers import as_csv

STEP = "confirm_contract_signed"


def activity(runtime: Runtime, clock: FrozenClock, mail: Any) -> None:
    """Four sign-ups; sam works three contracts and lea one, an hour or so apart; lea configures two accounts;
    a day later the open tasks are behind and raise alerts."""
    driver = Driver(runtime, clock, mail)
    started = []
    for n in range(1, 5):
        driver.create_customer(f"C-{n}")
        started.append(runtime.start("sign_up", actor="sam", customer_id=f"C-{n}"))
    for n, instance_id in enumerate(started):
        actor = "lea" if n == 2 else "sam"
        task = driver.task(STEP, instance_id)
        clock.advance(minutes=40 + 25 * n)
        runtime.claim(task.id, actor=actor, groups=None if actor == "lea" else {"csm", "support"})
        clock.advance(minutes=30 + 45 * n)
        runtime.complete(task.id, actor=actor, data=FORMS[STEP])
    for instance_id in started[:2]:
        clock.advance(hours=2)
        runtime.complete(driver.task("configure_account", instance_id).id, actor="lea", data=FORMS["configure_account"])
    clock.advance(days=2, hours=2)
    runtime.sweep_stuck_steps()
    clock.advance(hours=3, minutes=20)


@pytest.mark.browser
def test_an_auditor_filters_the_trail_and_downloads_exactly_those_rows_as_csv(
    page, people: dict, deployed: None, runtime: Runtime, clock: FrozenClock, mail
) -> None:
    activity(runtime, clock, mail)
    page.sign_in("ada")
    page.goto("/audit/")
    browser = page.page
    assert "Chain verified" in browser.locator("#chain-status").inner_text()
    browser.get_by_label("Actor").fill("sam")
    browser.get_by_label("Action").select_option("task_completed")
    browser.get_by_role("button", name="Filter").click()
    browser.wait_for_load_state()
    assert "actor=sam" in browser.url and "action=task_completed" in browser.url
    with runtime.store.session() as s:
        expected = list(
            s.execute(
                select(AuditEvent)
                .where(AuditEvent.actor == "sam", AuditEvent.action == "task_completed")
                .order_by(AuditEvent.seq.desc())
            ).scalars()
        )
    assert len(expected) == 3
    shown = browser.locator("table.audit-table > tbody > tr")
    assert shown.count() == 3
    assert [int(shown.nth(i).get_attribute("id").split("-")[1]) for i in range(3)] == [e.seq for e in expected]
    page.screenshot("audit-filtered")

    with browser.expect_download() as info:
        browser.get_by_role("link", name="Export these 3 events (CSV)").click()
    download = info.value
    assert download.suggested_filename.startswith("jornada-audit-") and download.suggested_filename.endswith(".csv")
    with open(download.path(), newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [as_csv(e) for e in expected]

    with runtime.store.session() as s:
        exported = s.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
    assert (exported.actor, exported.action) == ("ada", "audit_exported")
    assert '"rows":3' in exported.payload and '"actor":"sam"' in exported.payload

    page.goto("/audit/?process=sign_up")
    page.screenshot("audit-all")

    page.goto("/kpis/?process=sign_up&from=2026-01-01&to=2026-01-31")
    browser.wait_for_selector(".diagram.jr-diagram-ready .jr-heat-badge")
    assert browser.locator("canvas.chart").count() == 2
    with runtime.store.session() as s:
        stats = next(x for x in kpi.step_stats(s, "sign_up") if x.element_id == STEP)
    assert browser.locator(f"#step-sign_up-{STEP} td.cycle .p50").inner_text() == kpi.human(stats.cycle_median)
    page.screenshot("kpis")

    page.goto("/kpis/alerts")
    with runtime.store.session() as s:
        raised = s.execute(select(func.count()).select_from(Alert)).scalar_one()
    assert raised and browser.locator("table.alerts-table > tbody > tr").count() == raised
    page.screenshot("alerts")


@pytest.mark.browser
def test_a_lead_acknowledges_an_alert_from_the_list(
    page, people: dict, deployed: None, runtime: Runtime, clock: FrozenClock, mail
) -> None:
    activity(runtime, clock, mail)
    page.sign_in("lea")
    page.goto("/kpis/alerts")
    browser = page.page
    first = browser.locator("table.alerts-table > tbody > tr").first
    alert_id = int((first.get_attribute("id") or "").split("-")[1])
    assert first.locator("td.age").inner_text() == "3h20m"
    page.screenshot("alerts-lead")
    first.get_by_role("button", name="Acknowledge").click()
    browser.wait_for_load_state()
    assert "1 alert(s) acknowledged." in browser.locator(".flashes").inner_text()
    assert browser.locator(f"#alert-{alert_id}").count() == 0
    with runtime.store.session() as s:
        alert = s.get(Alert, alert_id)
    assert alert is not None and alert.acknowledged_by == "lea"
    browser.get_by_role("link", name="All").click()
    assert "by lea at" in browser.locator(f"#alert-{alert_id}").inner_text()
