"""The designer in Chromium: a designer changes a user task's stuck duration in the properties panel, deploys,
and the next support ticket's task carries the new SLA; the engine's lint findings are pinned to elements."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from engine import Runtime
from engine.models import HumanTask, ProcessDefinition
from tests.web.helpers import BrowserPage
from tests.web.on_file import customers_on_file

pytestmark = pytest.mark.browser

TICKET = {"subject": "Report export fails", "severity": "high", "channel": "email"}
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">&secret;</bpmn:definitions>
"""


def open_support_editor(page: BrowserPage) -> None:
    page.sign_in("dan")
    page.goto("/designer/")
    page.page.locator("#process-support").get_by_role("link", name="Edit", exact=True).click()
    page.page.locator('.designer-canvas [data-element-id="triage_ticket"]').wait_for()


def select_element(page: BrowserPage, element_id: str) -> None:
    page.page.locator(f'.designer-canvas .djs-element.djs-shape[data-element-id="{element_id}"]').click()
    page.page.locator(".designer-panel .bio-properties-panel-header-label", has_text="Triage ticket").wait_for()


def test_a_designer_changes_the_stuck_duration_in_the_panel_and_new_tasks_get_it(
    page: BrowserPage, runtime: Runtime, people: dict, deployed: None
) -> None:
    page.sign_in("dan")
    page.goto("/designer/")
    page.screenshot("list")
    page.page.locator("#process-support").get_by_role("link", name="Edit", exact=True).click()
    page.page.locator('.designer-canvas [data-element-id="triage_ticket"]').wait_for()
    expect(page.page.locator("#designer-dirty")).to_be_hidden()
    page.screenshot("editor")

    select_element(page, "triage_ticket")
    stuck = page.page.get_by_label("Stuck after (sla_stuck)")
    assert stuck.input_value() == "PT4H"
    stuck.fill("")
    stuck.press_sequentially("P5D")
    expect(page.page.locator("#designer-dirty")).to_be_visible()
    page.screenshot("edited")
    page.page.get_by_role("button", name="Deploy as a new version").click()
    page.page.get_by_role("dialog").get_by_role("button", name="Confirm and deploy").click()
    page.page.get_by_text("support version 2 deployed.").wait_for()
    page.screenshot("deployed")

    with runtime.store.session() as s:
        row = s.execute(
            select(ProcessDefinition.deployed_by, ProcessDefinition.bpmn_xml).where(
                ProcessDefinition.process_id == "support", ProcessDefinition.version == 2
            )
        ).one()
    assert row.deployed_by == "dan"
    assert '<camunda:property name="sla_stuck" value="P5D" />' in row.bpmn_xml

    customers_on_file(runtime, "C-1")
    iid = runtime.start("support", actor="sam", customer_id="C-1", data=TICKET)
    with runtime.store.session() as s:
        task = s.execute(select(HumanTask).where(HumanTask.instance_id == iid)).scalar_one()
    assert task.element_id == "triage_ticket"
    assert task.stuck_at is not None and task.stuck_at - task.created_at == timedelta(days=5)


def test_the_engine_lint_findings_are_pinned_to_the_element_and_listed(
    page: BrowserPage, runtime: Runtime, people: dict, deployed: None
) -> None:
    open_support_editor(page)
    select_element(page, "triage_ticket")
    warn = page.page.get_by_label("Warn after (sla_warn)")
    warn.fill("")
    warn.press_sequentially("soon")
    expect(page.page.locator(".bio-properties-panel-error")).to_contain_text("Not an ISO-8601 duration")
    page.page.get_by_role("button", name="Check").click()
    problems = page.page.locator("#designer-problems")
    problems.get_by_text("SLA property sla_warn: 'soon' is not an ISO-8601 duration").wait_for()
    assert "element triage_ticket" in problems.inner_text()
    pin = page.page.locator(".djs-overlay-jr-problem .jr-problem-pin")
    assert pin.count() == 1 and "sla_warn" in (pin.get_attribute("title") or "")
    page.screenshot("problems")

    page.page.get_by_role("button", name="Deploy as a new version").click()
    page.page.get_by_text("The engine refused to deploy this model.").wait_for()
    with runtime.store.session() as s:
        assert s.execute(select(ProcessDefinition.version).where(ProcessDefinition.process_id == "support")).all() == [
            (1,)
        ]


def test_a_draft_saved_in_the_editor_is_listed_and_reopened(
    page: BrowserPage, runtime: Runtime, people: dict, deployed: None
) -> None:
    open_support_editor(page)
    select_element(page, "triage_ticket")
    page.page.get_by_label("Stuck after (sla_stuck)").fill("PT6H")
    page.page.get_by_role("button", name="Save draft").click()
    page.page.get_by_text("Draft saved.").wait_for()
    page.goto("/designer/")
    assert "saved by dan" in page.page.locator("#process-support").inner_text()
    page.page.locator("#process-support").get_by_role("link", name="Edit", exact=True).click()
    select_element(page, "triage_ticket")
    assert page.page.get_by_label("Stuck after (sla_stuck)").input_value() == "PT6H"
    page.page.get_by_role("link", name="Compare versions").click()
    page.page.wait_for_load_state()
    page.screenshot("compare")
    page.page.get_by_text("1 element differs.").wait_for()


def test_a_new_process_from_the_template_and_a_refused_upload_in_the_editor(
    page: BrowserPage, runtime: Runtime, people: dict, deployed: None
) -> None:
    page.sign_in("dan")
    page.goto("/designer/")
    page.page.get_by_label("Process id").fill("renewal_review")
    page.page.get_by_label("Name").fill("Renewal review")
    page.page.get_by_role("button", name="Create draft").click()
    page.page.get_by_text("Process renewal_review created from the template as a draft.").wait_for()
    page.page.locator('.designer-canvas [data-element-id="first_step"]').wait_for()
    for element_id in ("start_renewal_review", "first_step", "end_renewal_review"):
        assert page.page.locator(f'.designer-canvas g.djs-shape[data-element-id="{element_id}"]').count() == 1

    page.page.locator("#designer-upload").set_input_files(
        files=[{"name": "evil.bpmn", "mimeType": "application/xml", "buffer": XXE}]
    )
    problems = page.page.locator("#designer-problems")
    problems.get_by_text("evil.bpmn, line 2").wait_for()
    assert "DOCTYPE" in problems.inner_text()
    expect(page.page.locator("#designer-status")).to_have_text("evil.bpmn was refused.")
    page.screenshot("refused-upload")
    assert page.page.locator('.designer-canvas [data-element-id="first_step"]').count() == 1  # editor unchanged
