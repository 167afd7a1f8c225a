"""The customers pages in headless Chromium: a lead opens the list, at-risk first, and an at-risk customer's 360
page with its journey diagram and charts drawn, without console errors; the same on a phone."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from engine import FrozenClock, Runtime
from processes import accounts
from processes.customers import Customer, record_mrr
from processes.health import HealthSnapshot


def seed(runtime: Runtime, clock: FrozenClock) -> None:
    book = [
        ("C-1", "Acme Corporation", "enterprise", "lea", 4200, 82.0, "healthy"),
        ("C-2", "Globex", "smb", "sam", 350, 28.0, "at_risk"),
        ("C-3", "Initech", "mid_market", "sam", 1800, 58.0, "watch"),
        ("C-4", "Hooli", "smb", "lea", 90, None, None),
    ]
    with runtime.unit() as u:
        for cid, name, segment, owner, mrr, _score, _band in book:
            values = {"id": cid, "name": name, "segment": segment, "csm_owner": owner, "mrr": mrr}
            values |= {"stage": "active", "renewal_date": "2027-03-31", "contract_start": "2025-04-01"}
            accounts.create(u.session, values, now=u.now - timedelta(days=120), actor="lea")
        accounts.add_contact(
            u.session,
            "C-2",
            {"name": "Rita Lopes", "email": "rita@globex.example", "role": "CFO"},
            now=u.now,
            actor="t",
        )
        customer = u.session.get(Customer, "C-2")
        assert customer is not None
        record_mrr(u.session, customer, u.now - timedelta(days=60), 500)
        record_mrr(u.session, customer, u.now - timedelta(days=20), 350)
        components = {
            "usage": {"value": 20, "weight": 0.25, "detail": "2 active days in 30"},
            "support": {"value": 40, "weight": 0.15},
            "sentiment": {"value": 10, "weight": 0.25, "detail": "NPS 3"},
            "payment": {"value": 100, "weight": 0.15},
            "stuck_steps": {"value": 50, "weight": 0.10},
            "mrr_trend": {"value": 30, "weight": 0.10},
        }
        for days, score in ((60, 71.0), (40, 55.0), (20, 38.0), (0, 28.0)):
            u.session.add(
                HealthSnapshot(
                    customer_id="C-2",
                    at=u.now - timedelta(days=days),
                    score=score,
                    band="at_risk" if score < 40 else "watch",
                    components=json.dumps(components),
                    reason="seed",
                )
            )
    runtime.start("customer_journey", actor="sam", customer_id="C-2")
    runtime.start("support", actor="sam", customer_id="C-2", data={"subject": "Export fails", "severity": "high"})
    for cid, _name, _segment, _owner, _mrr, score, band in book:  # after the starts, which the health module scores
        with runtime.unit() as u:
            found = u.session.get(Customer, cid)
            assert found is not None
            found.health_score, found.health_band = score, band
    clock.advance(days=3)


@pytest.mark.browser
def test_a_lead_opens_the_list_and_an_at_risk_customers_360_page(
    page: Any, runtime: Runtime, clock: FrozenClock, people: dict, deployed: None
) -> None:
    seed(runtime, clock)
    page.sign_in("lea")
    page.goto("/customers/")
    rows = page.page.locator("#customers-table tbody tr")
    assert rows.first.get_attribute("data-customer") == "C-2"
    page.screenshot("list-desktop")
    page.page.get_by_role("link", name="Globex").click()
    page.page.wait_for_selector(".journey-diagram svg")
    page.page.wait_for_function("document.querySelectorAll('canvas.chart').length === 2")
    assert page.page.locator("table.components tbody tr").count() == 6
    page.screenshot("360-desktop")
    page.page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/customers/C-2")
    page.page.wait_for_selector(".journey-diagram svg")
    page.screenshot("360-phone")
    page.goto("/customers/?view=all")
    page.screenshot("list-phone")
    page.goto("/customers/C-2/edit")
    page.screenshot("edit-phone")
