"""A lead opens an instance in Chromium: the diagram is drawn with its elements coloured by state."""

from __future__ import annotations

import pytest

from engine import Runtime
from tests.web.helpers import BrowserPage
from tests.web.on_file import customers_on_file


@pytest.mark.browser
def test_a_lead_sees_the_instance_diagram_coloured_by_state(
    page: BrowserPage, runtime: Runtime, people: dict, deployed: None
) -> None:
    customers_on_file(runtime, "C-7")
    iid = runtime.start("quick_wins", actor="sam", customer_id="C-7")
    runtime.skip(iid, "agree_success_goals", actor="lea", reason="goals agreed in the sales call")
    page.sign_in("lea")

    page.goto("/instances/")
    page.page.get_by_role("link", name=iid[:8]).wait_for()
    page.screenshot("list")

    page.page.get_by_role("link", name=iid[:8]).click()
    page.page.wait_for_selector(".diagram.jr-diagram-ready")
    coloured = {
        state: page.page.eval_on_selector_all(
            f"g.djs-element.jr-{state}", "els => els.map(e => e.getAttribute('data-element-id')).sort()"
        )
        for state in ("done", "active", "waiting", "incident")
    }
    assert coloured == {
        "done": ["agree_success_goals", "first_win_merge", "quick_wins_started"],
        "active": ["confirm_first_win"],
        "waiting": ["no_first_win_30_days"],
        "incident": [],
    }
    stroke = page.page.eval_on_selector(
        "g.djs-element.jr-active .djs-visual > :first-child", "el => getComputedStyle(el).stroke"
    )
    assert stroke == "rgb(15, 94, 156)"  # the active colour from the bundle's stylesheet
    assert page.page.get_by_text("goals agreed in the sales call", exact=True).is_visible()
    page.screenshot("detail")

    page.page.get_by_text("Skip a step").click()
    page.page.get_by_label("Step to skip").select_option("confirm_first_win")
    page.page.locator("#skip-reason").fill("   ")  # passes the browser's required check, not ours
    page.page.get_by_role("button", name="Skip step").click()
    page.page.wait_for_selector("#skip-reason-error")
    assert page.page.locator("#skip-reason-error").inner_text() == "Reason: say why; it is kept in the audit trail."
    assert page.page.get_by_label("Step to skip").input_value() == "confirm_first_win"
    page.screenshot("inline-error")
    # Chrome reports every 4xx document in the console: this one is the refused form's 422, the only message
    assert page.console_errors == [
        "Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"
    ]
    page.console_errors.clear()

    page.page.get_by_text("Repeat a step").click()
    page.page.get_by_label("Step to repeat").select_option("agree_success_goals")
    page.page.locator("#repeat-reason").fill("the goals were agreed with the wrong contact")
    page.page.get_by_role("button", name="Repeat step").click()
    page.page.wait_for_selector(".diagram.jr-diagram-ready")
    assert page.page.locator(".flash").inner_text() == "The step runs again; the instance is now running."
    active = page.page.eval_on_selector_all(
        "g.djs-element.jr-active", "els => els.map(e => e.getAttribute('data-element-id'))"
    )
    assert active == ["agree_success_goals"]
    assert page.page.locator("ol.timeline strong", has_text="Incident").count() == 0
    page.screenshot("after-repeat")
