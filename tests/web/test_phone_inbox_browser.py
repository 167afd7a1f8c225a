"""Acceptance: a CS staff member on a phone (390x844) sees the inbox as one card per task with its SLA badge and
Claim button in view (no horizontal scrolling), the filters folded behind a "Filters" toggle and the legend of
the SLA colours; claims a ticket, opens it, reads the case so far, completes the form and sees the success. On a
desktop the same inbox stays a table with the filters open."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from engine import Runtime
from tests.web.helpers import PHONE, BrowserPage, add_customer, no_horizontal_scroll, open_tasks, task_row


@pytest.fixture
def phone(browser: Any, live_server: str, request: pytest.FixtureRequest) -> Iterator[BrowserPage]:
    context = browser.new_context(viewport=PHONE, locale="en-US", is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    wrapped = BrowserPage(context.new_page(), live_server, request.node.name)
    yield wrapped
    context.close()
    assert not wrapped.console_errors, f"browser console errors: {wrapped.console_errors}"


def in_viewport(locator: Any) -> bool:
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


@pytest.mark.browser
def test_staff_on_a_phone_claims_and_completes_a_task_from_the_inbox(
    phone: BrowserPage, people: dict, deployed: None, runtime: Runtime
) -> None:
    add_customer(runtime, "C-1", "Acme Corp", mrr=1200)
    instance = runtime.start(
        "support", actor="api", customer_id="C-1", data={"subject": "CSV export times out", "severity": "high"}
    )
    runtime.start("support", actor="api", data={"subject": "Password reset mail missing", "severity": "low"})
    triage = open_tasks(runtime, instance)[0]
    browser = phone.page

    phone.sign_in("sam")
    phone.goto("/inbox/?view=groups")
    card = browser.locator("tr", has_text="Acme Corp")
    claim = card.get_by_role("button", name="Claim")
    assert claim.is_visible() and in_viewport(claim)
    assert card.locator(".badge").is_visible()
    assert no_horizontal_scroll(browser)
    # the filters are folded away; the legend explains the badge colours
    assert not browser.get_by_label("Task name contains").is_visible()
    assert browser.locator(".sla-legend").is_visible()
    assert "Overdue or stuck" in browser.locator(".sla-legend").inner_text()
    phone.screenshot("1-phone-queue")
    browser.locator("summary", has_text="Filters").click()
    assert browser.get_by_label("Task name contains").is_visible()
    assert no_horizontal_scroll(browser)
    phone.screenshot("2-phone-filters-open")

    claim.click()
    browser.wait_for_load_state()
    assert "You claimed “Triage ticket”." in browser.locator(".flashes").inner_text()
    assert task_row(runtime, triage.id).assignee == "sam"
    phone.screenshot("3-phone-claimed")

    browser.locator("tr", has_text="Acme Corp").get_by_role("link", name="Triage ticket").click()
    browser.wait_for_load_state()
    assert "CSV export times out" in browser.locator(".instructions").inner_text()
    assert "High" in browser.locator(".instructions").inner_text()  # the label, not the code
    assert "CSV export times out" in browser.locator(".case-steps").inner_text()
    assert no_horizontal_scroll(browser)
    phone.screenshot("4-phone-task")

    browser.get_by_label("Add a comment").fill("Customer called twice.")
    browser.get_by_role("button", name="Add comment").click()
    browser.wait_for_load_state()
    assert "Comment added." in browser.locator(".flashes").inner_text()

    browser.get_by_label("Severity").select_option("urgent")
    browser.get_by_label("Category").select_option("how_to")
    browser.get_by_label("Triage notes").fill("Timeout after 30 s.")
    browser.get_by_role("button", name="Complete task").click()
    browser.wait_for_load_state()
    assert "“Triage ticket” completed." in browser.locator(".flashes").inner_text()
    assert browser.get_by_role("heading", level=1).inner_text() == "Send first response"
    assert "(Urgent, How-to question)" in browser.locator(".instructions").inner_text()
    assert "How-to question" in browser.locator(".case-steps").inner_text()
    comments = browser.locator("#comments").inner_text()
    assert "Customer called twice." in comments and "on the step Triage ticket of this case" in comments
    assert task_row(runtime, triage.id).state == "completed"
    assert no_horizontal_scroll(browser)
    phone.screenshot("5-phone-next-task")


@pytest.mark.browser
def test_the_desktop_inbox_keeps_its_table_with_open_filters_and_the_legend(
    page: BrowserPage, people: dict, deployed: None, runtime: Runtime
) -> None:
    add_customer(runtime, "C-1", "Acme Corp", mrr=1200)
    runtime.start("support", actor="api", customer_id="C-1", data={"subject": "CSV export", "severity": "high"})
    browser = page.page
    page.sign_in("sam")
    page.goto("/inbox/?view=groups")
    assert browser.locator(".inbox-table thead").is_visible()
    assert browser.get_by_label("Task name contains").is_visible()
    assert not browser.locator("summary", has_text="Filters").is_visible()
    assert browser.locator(".sla-legend").is_visible()
    page.screenshot("1-desktop-queue")
