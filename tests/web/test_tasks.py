"""The task page: instructions, customer context, the model's form with server-side validation shown inline,
comments, hand-over, the diagram, the next task of the customer after completing, and the group checks on
every route."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine import Runtime
from engine.models import AuditEvent, HumanTask
from tests.web.helpers import add_customer, audit_rows, contract, open_tasks, post, task_row, text, ticket
from web.accounts import users
from web.models import TaskComment

Client = Callable[[str], FlaskClient]

VALID_CONTRACT = {
    "contract_reference": "CT-2026-001",
    "contract_signed_on": "2026-01-02",
    "plan": "growth",
    "seats": "25",
}


def audit_count(runtime: Runtime) -> int:
    with runtime.store.session() as s:
        return s.execute(select(func.count()).select_from(AuditEvent)).scalar_one()


# -- the page --------------------------------------------------------------------------------------------------
def test_the_page_shows_instructions_customer_context_form_and_diagram(
    deployed: None, client_for: Client, runtime: Runtime
) -> None:
    add_customer(runtime, "C-1", "Acme Corp", mrr=1200)
    task = contract(runtime, "C-1")
    r = client_for("sam").get(f"/tasks/{task}")
    assert r.status_code == 200
    html = text(r)
    # the documentation rendered against the task data
    assert "Check the countersigned contract for customer C-1 and record its reference" in html
    # customer context and the instance behind the task
    for fact in ("Acme Corp", "standard", "1,200.00", "sam", "Prospect", "Sign-up", "2026-01-05 09:00 UTC"):
        assert fact in html
    assert '<a href="/customers/C-1">Acme Corp</a>' in html  # the customer's 360 page is one click away
    # the form: labels, HTML input types, required marks, constraints
    assert '<label for="field-contract_reference">Contract reference <span class="req"' in html
    assert re.search(r'<input type="text" id="field-contract_reference" name="contract_reference" required', html)
    assert 'maxlength="64"' in html
    assert re.search(r'<input type="date" id="field-contract_signed_on"', html)
    assert re.search(r'<input type="number" id="field-seats" name="seats" required aria-required="true" min="1"', html)
    assert '<option value="enterprise" >Enterprise</option>' in html
    # the diagram, with the current step marked, from a route of this blueprint
    assert f'data-bpmn-url="/tasks/{task}/diagram.bpmn"' in html
    assert 'data-markers=\'{"confirm_contract_signed": "current"}\'' in html
    diagram = client_for("sam").get(f"/tasks/{task}/diagram.bpmn")
    assert diagram.status_code == 200 and diagram.mimetype == "application/xml"
    assert 'id="confirm_contract_signed"' in text(diagram)


def test_a_task_of_a_called_process_shows_the_called_process_diagram(
    deployed: None, client_for: Client, runtime: Runtime
) -> None:
    add_customer(runtime)
    iid = runtime.start("customer_journey", actor="test", customer_id="C-1")
    task = open_tasks(runtime, iid)[0]
    assert task.element_id == "confirm_contract_signed"
    xml = text(client_for("sam").get(f"/tasks/{task.id}/diagram.bpmn"))
    assert '<bpmn:process id="sign_up"' in xml


def test_staff_of_another_group_gets_403_on_the_page_the_diagram_and_every_action_and_nothing_changes(
    deployed: None, client_for: Client, runtime: Runtime
) -> None:
    task = ticket(runtime)
    fin = client_for("fin")
    before = audit_count(runtime)
    page = fin.get(f"/tasks/{task}")
    assert page.status_code == 403
    assert "belongs to the group(s) support; you are not a member of any of them" in text(page)
    assert fin.get(f"/tasks/{task}/diagram.bpmn").status_code == 403
    assert post(fin, task, "complete", {"severity": "high", "category": "bug"}).status_code == 403
    for action in ("claim", "unclaim", "comments", "reassign"):
        assert post(fin, task, action, {"body": "hi", "assignee": "fin"}).status_code == 403
    row = task_row(runtime, task)
    assert (row.state, row.assignee) == ("ready", None)
    assert audit_count(runtime) == before
    assert client_for("sam").get("/tasks/999999").status_code == 404


def test_a_task_assigned_to_someone_outside_its_groups_is_theirs_to_see(
    deployed: None, client_for: Client, runtime: Runtime
) -> None:
    task = ticket(runtime)
    runtime.assign(task, "fin", actor="lea")
    assert client_for("fin").get(f"/tasks/{task}").status_code == 200


# -- completing ------------------------------------------------------------------------------------------------
def test_an_invalid_form_comes_back_with_422_inline_errors_and_every_value_kept(
    deployed: None, client_for: Client, runtime: Runtime
) -> None:
    add_customer(runtime)
    task = contract(runtime, "C-1")
    sam = client_for("sam")
    typed = {**VALID_CONTRACT, "seats": "0", "contract_signed_on": "", "contract_reference": "CT-keep-me"}
    r = post(sam, task, "complete", typed)
    assert r.status_code == 422
    html = text(r)
    assert re.search(
        r'id="field-seats" name="seats" required aria-required="true" aria-invalid="true" '
        r'aria-describedby="field-seats-error"[^>]* value="0"',
        html,
    )
    assert '<p class="field-error" id="field-seats-error">Licensed seats must be at least 1</p>' in html
    assert '<p class="field-error" id="field-contract_signed_on-error">Signed on is required</p>' in html
    assert 'value="CT-keep-me"' in html
    assert '<option value="growth" selected>Growth</option>' in html
    assert "2 fields need your attention" in html
    assert task_row(runtime, task).state == "ready"
    assert audit_rows(runtime, "task_completed") == []


def test_a_valid_form_completes_the_task_and_offers_the_next_task_of_the_customer(
    deployed: None, client_for: Client, runtime: Runtime
) -> None:
    add_customer(runtime)
    task = ticket(runtime, customer_id="C-1")
    sam = client_for("sam")
    post(sam, task, "claim")
    r = post(sam, task, "complete", {"severity": "urgent", "category": "bug", "triage_notes": "Reproduced"})
    assert r.status_code == 303
    row = task_row(runtime, task)
    assert (row.state, row.completed_by) == ("completed", "sam")
    [(actor, payload)] = audit_rows(runtime, "task_completed")
    assert actor == "sam" and payload["after"] == {
        "severity": "urgent",
        "category": "bug",
        "triage_notes": "Reproduced",
    }
    [upcoming] = open_tasks(runtime, row.instance_id)
    assert r.headers["Location"] == f"/tasks/{upcoming.id}"
    page = text(sam.get(f"/tasks/{upcoming.id}"))
    assert "“Triage ticket” completed. Next task of this customer: Send first response" in page
    # booleans: an unticked box is submitted as false
    post(sam, upcoming.id, "complete", {"response_summary": "Workaround sent"})
    assert task_row(runtime, upcoming.id).state == "completed"
    [investigate] = open_tasks(runtime, row.instance_id)
    assert investigate.element_id == "investigate_issue"


def test_without_a_next_task_i_can_work_completing_goes_back_to_the_inbox(
    deployed: None, client_for: Client, runtime: Runtime
) -> None:
    add_customer(runtime)
    task = contract(runtime, "C-1")
    sam = client_for("sam")
    r = post(sam, task, "complete", VALID_CONTRACT)
    assert r.headers["Location"] == "/inbox/"
    assert "“Confirm contract signed” completed." in text(sam.get("/inbox/"))
    assert task_row(runtime, task).state == "completed"
    # the next step belongs to security, not to sam
    assert [t.candidate_groups for t in open_tasks(runtime, task_row(runtime, task).instance_id)] == ["security"]


def test_a_task_claimed_by_someone_else_is_read_only_and_cannot_be_completed(
    deployed: None, client_for: Client, runtime: Runtime
) -> None:
    task = ticket(runtime)
    runtime.claim(task, actor="lea")
    sam = client_for("sam")
    html = text(sam.get(f"/tasks/{task}"))
    assert "Claimed by lea since 2026-01-05 09:00 UTC. The form is read-only for you." in html
    assert "<fieldset disabled>" in html
    assert "Complete task</button>" not in html
    r = post(sam, task, "complete", {"severity": "high", "category": "bug"})
    assert r.status_code == 303
    assert "is claimed by lea; only they can complete it" in text(sam.get(f"/tasks/{task}"))
    assert task_row(runtime, task).state == "claimed"


def test_a_completed_task_shows_who_completed_it_and_no_form(
    deployed: None, client_for: Client, runtime: Runtime
) -> None:
    task = ticket(runtime)
    runtime.complete(task, actor="sam", data={"severity": "low", "category": "how_to"})
    sam = client_for("sam")
    html = text(sam.get(f"/tasks/{task}"))
    assert "This task was completed by sam on 2026-01-05 09:00 UTC" in html
    assert f'action="/tasks/{task}/complete"' not in html
    r = post(sam, task, "complete", {"severity": "low", "category": "bug"})
    assert r.status_code == 303
    assert "was already completed by sam" in text(sam.get(f"/tasks/{task}"))


# -- comments and hand-over ------------------------------------------------------------------------------------
def test_comments_are_stored_audited_and_an_empty_one_is_refused_inline(
    deployed: None, client_for: Client, runtime: Runtime
) -> None:
    task = ticket(runtime)
    sam = client_for("sam")
    r = post(sam, task, "comments", {"body": "Called the customer, waiting for logs."})
    assert r.status_code == 303
    assert "Called the customer, waiting for logs." in text(sam.get(f"/tasks/{task}"))
    [(actor, payload)] = audit_rows(runtime, "task_commented")
    assert actor == "sam" and payload["after"] == {"body": "Called the customer, waiting for logs."}

    r = post(sam, task, "comments", {"body": "   "})
    assert r.status_code == 422
    assert 'aria-describedby="comment-error"' in text(r) and "Comment: write something first." in text(r)
    assert len(audit_rows(runtime, "task_commented")) == 1


def test_staff_reassign_or_delegate_only_a_task_they_hold_to_a_member_of_its_groups(
    deployed: None, client_for: Client, runtime: Runtime, people: dict[str, int]
) -> None:
    users.add_user(runtime, "sue", "correct-horse-1", roles=["staff"], groups=["support"], actor="test")
    task = ticket(runtime)
    sam = client_for("sam")

    r = post(sam, task, "reassign", {"assignee": "sue", "mode": "reassign"})
    assert r.status_code == 422
    refusal = f"Task {task} (Triage ticket): you can reassign only a task you hold."
    assert f'id="reassign-error" role="alert">{refusal}' in text(r)

    runtime.claim(task, actor="sam", groups=["support"])
    r = post(sam, task, "reassign", {"assignee": "fin", "mode": "reassign"})
    assert r.status_code == 422
    assert "fin is not an active member of the task&#39;s group(s) support." in text(r)
    assert task_row(runtime, task).assignee == "sam"

    r = post(sam, task, "reassign", {"assignee": "sue", "mode": "delegate", "note": "Sue knows this customer."})
    assert r.status_code == 303
    assert task_row(runtime, task).assignee == "sue"
    assert "You delegated “Triage ticket” to sue" in text(sam.get("/inbox/"))
    with runtime.store.session() as s:
        [note] = s.execute(select(TaskComment).where(TaskComment.human_task_id == task)).scalars()
    assert (note.author, note.body) == ("sam", "Delegated by sam to sue. Sue knows this customer.")
    assert [(a, p["after"]) for a, p in audit_rows(runtime, "task_assigned")] == [("sam", {"assignee": "sue"})]
    assert [a for a, _p in audit_rows(runtime, "task_commented")] == ["sam"]


def test_a_lead_reassigns_any_task_to_a_member_of_its_groups(
    deployed: None, client_for: Client, runtime: Runtime
) -> None:
    task = ticket(runtime)
    runtime.claim(task, actor="sam", groups=["support"])
    lea = client_for("lea")
    html = text(lea.get(f"/tasks/{task}"))
    assert "Unclaim (back to the queue)" in html and '<option value="sam">' not in html  # sam already holds it
    r = post(lea, task, "reassign", {"assignee": "lea", "mode": "reassign"})
    assert r.status_code == 422  # lea is in cs_lead, not in support
    post(lea, task, "unclaim")
    post(lea, task, "reassign", {"assignee": "sam", "mode": "reassign"})
    assert task_row(runtime, task).assignee == "sam"


def test_the_page_reads_the_runtime_clock(deployed: None, client_for: Client, runtime: Runtime, clock) -> None:
    task = ticket(runtime)
    clock.advance(hours=3)
    html = text(client_for("sam").get(f"/tasks/{task}"))
    assert "Overdue by 1 hour" in html and "ready for 3 hours" in html
    with runtime.store.session() as s:
        assert s.get(HumanTask, task) is not None
