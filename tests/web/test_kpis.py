"""The KPI and alert screens: figures equal engine._kpi.step_stats for tasks completed on a moving clock, WIP counts
open tasks now, the period and process filters narrow the figures, charts and heat map carry the data, and alerts
are acknowledged (audited) by leads and admins only."""

from __future__ import annotations

import json
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from engine import FrozenClock, Runtime
from engine import _kpi as kpi
from engine.models import Alert, AuditEvent, HumanTask
from tests.processes.helpers import FORMS, Driver
from tests.web.helpers import csrf_token

STEP = "confirm_contract_signed"


@pytest.fixture
def timed(deployed: None, runtime: Runtime, clock: FrozenClock, mail) -> Driver:
    """Three sign-ups started together; A is claimed after 1h and done 1h later, B claimed after 4h and done 2h
    later, C stays open. Cycle times 2h and 6h: median 4h, p90 6h; waits 1h and 4h: median 2h30m."""
    driver = Driver(runtime, clock, mail)
    ids = []
    for customer in ("C-1", "C-2", "C-3"):
        driver.create_customer(customer)
        ids.append(runtime.start("sign_up", actor="sam", customer_id=customer))
    for instance_id, actor, wait, work in ((ids[0], "sam", 1, 1), (ids[1], "lea", 2, 2)):
        task = driver.task(STEP, instance_id)
        clock.advance(hours=wait)
        runtime.claim(task.id, actor=actor)
        clock.advance(hours=work)
        runtime.complete(task.id, actor=actor, data=FORMS[STEP])
    return driver


def first_open(driver: Driver, element_id: str) -> HumanTask:
    return next(t for t in driver.open_tasks() if t.element_id == element_id)


def row_of(html: str, process_id: str, element_id: str) -> str:
    found = re.search(rf'<tr id="step-{process_id}-{element_id}">(.*?)</tr>', html, re.S)
    assert found, f"no row for {process_id}/{element_id}"
    return found.group(1)


def cell(row: str, name: str) -> list[str]:
    """The words shown in a figure's cell."""
    found = re.search(rf'<td class="num {name}"[^>]*>(.*?)</td>', row, re.S)
    assert found, f"no {name} cell"
    return re.sub(r"<[^>]+>", " ", found.group(1)).split()


def charts(html: str) -> list[dict]:
    return [json.loads(text) for text in re.findall(r"data-chart='([^']*)'", html)]


def test_only_leads_admins_and_auditors_open_the_kpis(client_for, people: dict) -> None:
    for user, status in (("lea", 200), ("root", 200), ("ada", 200), ("sam", 403), ("dan", 403)):
        assert client_for(user).get("/kpis/").status_code == status, user
        assert client_for(user).get("/kpis/alerts").status_code == status, user


def test_the_step_figures_are_engine_step_stats_with_formulas_beside_them(client_for, timed: Driver) -> None:
    html = client_for("lea").get("/kpis/").get_data(as_text=True)
    with timed.runtime.store.session() as s:
        [stats] = kpi.step_stats(s)
    row = row_of(html, "sign_up", STEP)
    assert (stats.count, stats.cycle_median, stats.cycle_p90, stats.wait_median) == (2, 4 * 3600, 6 * 3600, 9000)
    assert cell(row, "count") == [str(stats.count)]
    for name in ("wait", "work", "cycle"):
        median, p90 = getattr(stats, f"{name}_median"), getattr(stats, f"{name}_p90")
        assert cell(row, name) == [kpi.human(median), "p90", kpi.human(p90)], name
    assert cell(row, "cycle") == ["4h00m", "p90", "6h00m"]
    assert cell(row, "sla") == ["100%"]
    for formula in ("wait = claimed − created", "work = completed − claimed", "cycle = completed − created"):
        assert formula in html
    assert "completed on or before due ÷ completed with a due date" in html and "open tasks now" in html


def test_wip_counts_the_open_tasks_of_each_step_now(client_for, timed: Driver) -> None:
    html = client_for("lea").get("/kpis/").get_data(as_text=True)
    assert cell(row_of(html, "sign_up", STEP), "wip") == ["1"]  # C's contract is still open
    configure = row_of(html, "sign_up", "configure_account")  # A and B moved on to configure_account
    assert cell(configure, "wip") == ["2"] and cell(configure, "count") == ["0"]
    assert re.search(r'id="kpi-wip">3<', html)
    task = first_open(timed, "configure_account")
    timed.runtime.complete(task.id, actor="lea", data=FORMS["configure_account"])
    html = client_for("lea").get("/kpis/").get_data(as_text=True)
    assert cell(row_of(html, "sign_up", "configure_account"), "wip") == ["1"]


def test_the_period_and_process_filters_narrow_the_figures(client_for, timed: Driver, clock: FrozenClock) -> None:
    lea = client_for("lea")
    clock.advance(days=3)
    late = first_open(timed, STEP)
    timed.runtime.claim(late.id, actor="lea")
    timed.runtime.complete(late.id, actor="lea", data=FORMS[STEP])  # the third, three days later: cycle 3d9h
    row = row_of(lea.get("/kpis/?from=2026-01-05&to=2026-01-05").get_data(as_text=True), "sign_up", STEP)
    assert cell(row, "count") == ["2"] and cell(row, "cycle")[0] == "4h00m"
    html = lea.get("/kpis/?from=2026-01-08&to=2026-01-08").get_data(as_text=True)
    assert cell(row_of(html, "sign_up", STEP), "count") == ["1"]
    assert cell(row_of(html, "sign_up", STEP), "per-day") == ["1.00"]
    everything = row_of(lea.get("/kpis/").get_data(as_text=True), "sign_up", STEP)
    assert cell(everything, "count") == ["3"] and cell(everything, "cycle")[0] == "6h00m"
    other = lea.get("/kpis/?process=support&from=2026-01-01&to=2026-01-31").get_data(as_text=True)
    assert 'id="step-sign_up-' not in other and "No task was completed in this period and none is open." in other


def test_the_throughput_counts_completions_per_day_and_per_week_over_long_periods(
    client_for, timed: Driver, clock: FrozenClock
) -> None:
    clock.advance(days=2)
    late = first_open(timed, STEP)
    timed.runtime.complete(late.id, actor="lea", data=FORMS[STEP])
    html = client_for("lea").get("/kpis/?from=2026-01-04&to=2026-01-08").get_data(as_text=True)
    throughput, cycle = charts(html)
    assert throughput["data"]["labels"] == ["2026-01-04", "2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08"]
    assert throughput["data"]["datasets"][0]["data"] == [0, 2, 0, 1, 0]
    assert cycle["data"]["labels"] == ["Confirm contract signed"] and cycle["options"]["indexAxis"] == "y"
    assert re.search(r'id="kpi-throughput">0\.6<', html)  # 3 completions ÷ 5 days
    weekly, _ = charts(client_for("lea").get("/kpis/?from=2025-11-01&to=2026-01-31").get_data(as_text=True))
    [weeks] = weekly["data"]["datasets"]
    assert weekly["data"]["labels"][0] == "2025-10-27" and len(weekly["data"]["labels"]) == 14
    assert sum(weeks["data"]) == 3 and weeks["label"] == "completed per week"


def test_the_heat_map_carries_median_cycle_seconds_and_the_latest_diagram(client_for, timed: Driver) -> None:
    lea = client_for("lea")
    html = lea.get("/kpis/?process=sign_up").get_data(as_text=True)
    heat = json.loads(re.search(r"data-heat='([^']*)'", html).group(1))  # type: ignore[union-attr]
    assert heat == {STEP: 4 * 3600}
    assert 'data-bpmn-url="/kpis/processes/sign_up/diagram.bpmn"' in html
    xml = lea.get("/kpis/processes/sign_up/diagram.bpmn")
    assert xml.mimetype == "application/xml" and b'id="confirm_contract_signed"' in xml.data
    assert lea.get("/kpis/processes/nope/diagram.bpmn").status_code == 404
    assert 'data-bpmn-url="/kpis/processes/sign_up/diagram.bpmn"' in lea.get("/kpis/").get_data(as_text=True)


def test_an_invalid_date_is_named_next_to_its_field(client_for, timed: Driver) -> None:
    response = client_for("lea").get("/kpis/?from=05/01/2026&to=")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="k-from-error"' in html and "From: “05/01/2026” is not a date (YYYY-MM-DD)." in html
    assert 'id="step-' not in html


# -- alerts ----------------------------------------------------------------------------------------------------
@pytest.fixture
def alerted(timed: Driver, clock: FrozenClock) -> list[int]:
    """Past every open task's warn threshold (one day): one "behind" alert each."""
    clock.advance(days=1, hours=1)
    return timed.runtime.sweep_stuck_steps()


def acknowledge(client: FlaskClient, path: str, **data: object) -> int:
    token = csrf_token(client, "/kpis/alerts")
    return client.post(path, data={"csrf_token": token, **data}).status_code


def test_the_alert_list_shows_level_task_customer_group_and_age(client_for, alerted: list[int], clock) -> None:
    html = client_for("ada").get("/kpis/alerts").get_data(as_text=True)
    assert len(re.findall(r'<tr id="alert-\d+"', html)) == len(alerted) == 3
    row = re.search(rf'<tr id="alert-{alerted[0]}".*?</tr>', html, re.S).group(0)  # type: ignore[union-attr]
    assert '<span class="badge badge-yellow">behind</span>' in row and "Confirm contract signed" in row
    assert "C-3" in row and "<td>csm</td>" in row and ">0s<" in row
    clock.advance(hours=2)
    assert '<td class="num age">2h00m</td>' in client_for("ada").get("/kpis/alerts").get_data(as_text=True)
    assert "Acknowledge</button>" not in html  # auditors read only


def test_a_lead_acknowledges_an_alert_and_the_engine_audits_it(client_for, alerted: list[int], runtime) -> None:
    lea = client_for("lea")
    assert acknowledge(lea, f"/kpis/alerts/{alerted[0]}/acknowledge") == 303
    with runtime.store.session() as s:
        alert = s.get(Alert, alerted[0])
        event = s.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
    assert alert is not None and alert.acknowledged_by == "lea"
    assert (event.actor, event.action, json.loads(event.payload)["alert"]) == ("lea", "alert_acknowledged", alerted[0])
    open_only = lea.get("/kpis/alerts").get_data(as_text=True)
    assert f'id="alert-{alerted[0]}"' not in open_only and "1 alert(s) acknowledged." in open_only
    everything = lea.get("/kpis/alerts?status=all").get_data(as_text=True)
    assert f'<tr id="alert-{alerted[0]}" class="acknowledged">' in everything and "by lea at" in everything
    assert acknowledge(lea, f"/kpis/alerts/{alerted[0]}/acknowledge") == 303
    assert f"alert {alerted[0]} was already acknowledged by lea" in lea.get("/kpis/alerts").get_data(as_text=True)


def test_auditors_and_staff_may_not_acknowledge(client_for, alerted: list[int], runtime) -> None:
    for user in ("ada", "sam"):
        client = client_for(user)
        token = csrf_token(client, "/profile")
        assert client.post(f"/kpis/alerts/{alerted[0]}/acknowledge", data={"csrf_token": token}).status_code == 403
        assert client.post("/kpis/alerts/acknowledge", data={"csrf_token": token, "alert": alerted}).status_code == 403
    with runtime.store.session() as s:
        assert s.execute(select(Alert).where(Alert.acknowledged_at.is_not(None))).first() is None


def test_an_admin_acknowledges_the_selected_alerts_at_once(client_for, alerted: list[int], runtime, clock) -> None:
    root = client_for("root")
    assert acknowledge(root, "/kpis/alerts/acknowledge", alert=alerted[:2], status="all") == 303
    with runtime.store.session() as s:
        done = s.execute(select(Alert.id, Alert.acknowledged_at).where(Alert.acknowledged_by == "root")).all()
        audited = s.execute(select(AuditEvent).where(AuditEvent.action == "alert_acknowledged")).scalars().all()
    assert sorted(done) == [(a, clock.now()) for a in alerted[:2]]
    assert [e.actor for e in audited] == ["root", "root"]
    assert acknowledge(root, "/kpis/alerts/acknowledge") == 303
    assert "Alerts: tick at least one alert to acknowledge." in root.get("/kpis/alerts").get_data(as_text=True)
