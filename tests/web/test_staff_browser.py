"""Acceptance: a CS staff member, in a real browser, claims a support ticket in the inbox, opens it, submits the
form with a mistake (sees the error next to the field, with everything typed still there), corrects it and
submits (sees the success and the next task of the customer); the database holds the completed task."""

from __future__ import annotations

import pytest

from engine import Runtime
from tests.web.helpers import add_customer, open_tasks, task_row


@pytest.mark.browser
def test_staff_claims_a_task_fixes_an_invalid_form_and_completes_it(
    page, people: dict, deployed: None, runtime: Runtime
) -> None:
    add_customer(runtime, "C-1", "Acme Corp", mrr=1200)
    instance = runtime.start(
        "support", actor="api", customer_id="C-1", data={"subject": "CSV export times out", "severity": "high"}
    )
    runtime.start("support", actor="api", data={"subject": "Password reset mail missing", "severity": "low"})
    triage = open_tasks(runtime, instance)[0]
    browser = page.page

    page.sign_in("sam")
    assert "You hold no tasks right now" in browser.content()
    page.screenshot("1-my-tasks-empty")

    browser.get_by_role("navigation", name="Inbox views").get_by_role("link", name="My groups' queue").click()
    browser.wait_for_load_state()
    page.screenshot("2-group-queue")
    row = browser.locator("tr", has_text="Acme Corp")
    row.get_by_role("button", name="Claim").click()
    browser.wait_for_load_state()
    assert "You claimed “Triage ticket”." in browser.locator(".flashes").inner_text()
    assert task_row(runtime, triage.id).assignee == "sam"
    page.screenshot("3-claimed")

    browser.locator("tr", has_text="Acme Corp").get_by_role("link", name="Triage ticket").click()
    browser.wait_for_load_state()
    assert "CSV export times out" in browser.locator(".instructions").inner_text()
    browser.locator(".diagram svg").first.wait_for()  # the viewer drew the process
    assert browser.locator(".diagram .djs-element.jr-current").count() == 1
    page.screenshot("4-task-page")

    browser.get_by_label("Severity").select_option("urgent")
    browser.get_by_label("Triage notes").fill("Customer sent logs; timeout after 30 s.")
    browser.get_by_role("button", name="Complete task").click()
    browser.wait_for_load_state()
    category = browser.get_by_label("Category")
    assert category.get_attribute("aria-invalid") == "true"
    assert browser.locator("#field-category-error").inner_text() == "Category is required"
    assert browser.get_by_label("Severity").input_value() == "urgent"
    assert browser.get_by_label("Triage notes").input_value() == "Customer sent logs; timeout after 30 s."
    assert task_row(runtime, triage.id).state == "claimed"
    # Chrome reports every 4xx document in the console; this one is the form's 422, and the only message
    assert page.console_errors == [
        "Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"
    ]
    page.console_errors.clear()
    page.screenshot("5-invalid-form")

    category.select_option("bug")
    browser.get_by_role("button", name="Complete task").click()
    browser.wait_for_load_state()
    flash = browser.locator(".flashes").inner_text()
    assert "“Triage ticket” completed. Next task of this customer: Send first response" in flash
    assert browser.get_by_role("heading", level=1).inner_text() == "Send first response"
    done = task_row(runtime, triage.id)
    assert (done.state, done.completed_by) == ("completed", "sam")
    page.screenshot("6-completed-next-task")
