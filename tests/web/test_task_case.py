"""The task page shows the whole case: the answers of earlier steps with the form's labels (and the option labels
of enums, never their codes), every comment of the instance and of the customer's other instances, newest first,
each naming its step; and the instructions print option labels instead of codes."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select

from engine import Runtime
from engine.models import AuditEvent
from tests.web.helpers import add_customer, open_tasks, post, text
from web.tasks import display

Client = Callable[[str], FlaskClient]

TRIAGE = {"severity": "urgent", "category": "how_to", "triage_notes": "Customer asks how to export to CSV."}
FIRST_RESPONSE = {"response_summary": "Sent the export guide.", "resolved_first_contact": "false"}


def section(page: str, element_id: str) -> str:
    """The text of the <section> whose heading has ``element_id``, tags stripped, whitespace squeezed."""
    found = re.search(rf'<section[^>]*aria-labelledby="{element_id}".*?</section>', page, re.S)
    assert found, f"no section {element_id}"
    plain = re.sub(r"<[^>]+>", " ", found.group(0))
    return re.sub(r"\s+", " ", html_lib.unescape(plain)).strip()


def support_ticket(runtime: Runtime, subject: str, customer_id: str | None = "C-1") -> str:
    return runtime.start("support", actor="api", customer_id=customer_id, data={"subject": subject, "severity": "high"})


def work(client: FlaskClient, task_id: int, data: dict[str, str]) -> None:
    r = post(client, task_id, "complete", data)
    assert r.status_code == 303, text(r)


def test_the_next_step_shows_earlier_answers_with_labels_and_the_comments_of_the_case(
    deployed: None, client_for: Client, runtime: Runtime
) -> None:
    add_customer(runtime, "C-1", "Acme Corp")
    other = support_ticket(runtime, "Invoice shows the wrong plan")
    sam = client_for("sam")
    assert (
        post(sam, open_tasks(runtime, other)[0].id, "comments", {"body": "Billing knows, fix next week."}).status_code
        == 303
    )

    case = support_ticket(runtime, "How do I export to CSV?")
    triage = open_tasks(runtime, case)[0]
    assert post(sam, triage.id, "comments", {"body": "Customer called twice."}).status_code == 303
    work(sam, triage.id, TRIAGE)
    [first] = open_tasks(runtime, case)
    assert first.name == "Send first response"

    page = text(sam.get(f"/tasks/{first.id}"))
    # the instructions print the option labels, not the codes
    instructions = section(page, "instructions-title")
    assert "(Urgent, How-to question)" in instructions
    assert "urgent" not in instructions and "how_to" not in instructions
    # the opening data and the triage answers, with the form's labels and the options' labels
    steps = section(page, "case-title")
    assert "Case opened" in steps and "Subject How do I export to CSV?" in steps
    assert "Triage ticket sam" in steps
    assert "Severity Urgent Category How-to question Triage notes Customer asks how to export to CSV." in steps
    assert "how_to" not in steps

    assert post(sam, first.id, "comments", {"body": "Guide sent, waiting for the customer."}).status_code == 303
    work(sam, first.id, FIRST_RESPONSE)
    [investigate] = open_tasks(runtime, case)
    assert investigate.name == "Investigate issue"

    page = text(sam.get(f"/tasks/{investigate.id}"))
    steps = section(page, "case-title")
    assert steps.index("Triage ticket") < steps.index("Send first response")
    assert "Response sent Sent the export guide. Resolved with this response No" in steps
    comments = section(page, "comments-title")
    # newest first, each naming its step; the other ticket of the same customer too
    newest, older, oldest = (
        comments.index("Guide sent, waiting for the customer."),
        comments.index("Customer called twice."),
        comments.index("Billing knows, fix next week."),
    )
    assert newest < older < oldest
    assert "on the step Send first response of this case" in comments
    assert "on the step Triage ticket of this case" in comments
    assert "on the step Triage ticket of another case: Support ticket" in comments


def test_comments_of_other_customers_stay_out_and_a_ticket_without_customer_shows_only_its_own(
    deployed: None, client_for: Client, runtime: Runtime
) -> None:
    add_customer(runtime, "C-1", "Acme Corp")
    add_customer(runtime, "C-2", "Globex")
    sam = client_for("sam")
    stranger = open_tasks(runtime, support_ticket(runtime, "Other customer", "C-2"))[0]
    assert post(sam, stranger.id, "comments", {"body": "Globex only."}).status_code == 303
    lone = open_tasks(runtime, support_ticket(runtime, "No customer", None))[0]
    assert post(sam, lone.id, "comments", {"body": "Nobody's ticket."}).status_code == 303

    mine = open_tasks(runtime, support_ticket(runtime, "Acme ticket"))[0]
    comments = section(text(sam.get(f"/tasks/{mine.id}")), "comments-title")
    assert "Globex only." not in comments and "Nobody's ticket." not in comments
    assert "No comments yet." in comments

    comments = section(text(sam.get(f"/tasks/{lone.id}")), "comments-title")
    assert "Nobody's ticket." in comments and "Globex only." not in comments


def test_a_redacted_step_is_left_out_and_unknown_fields_show_their_key(
    deployed: None, client_for: Client, runtime: Runtime
) -> None:
    add_customer(runtime, "C-1", "Acme Corp")
    case = runtime.start(
        "support", actor="api", customer_id="C-1", data={"subject": "Export", "severity": "low", "ticket_ref": "T-9"}
    )
    sam = client_for("sam")
    work(sam, open_tasks(runtime, case)[0].id, TRIAGE)
    with runtime.unit() as u:
        event = u.session.execute(
            select(AuditEvent).where(AuditEvent.instance_id == case, AuditEvent.action == "task_completed")
        ).scalar_one()
        event.redacted = True
    steps = section(text(sam.get(f"/tasks/{open_tasks(runtime, case)[0].id}")), "case-title")
    assert "ticket_ref T-9" in steps and "Severity Low" in steps
    assert "Triage ticket" not in steps


def test_labels_print_in_place_of_codes_but_compare_as_codes() -> None:
    labels = {"severity": {"urgent": "Urgent"}, "tags": {"a": "Alpha", "b": "Beta"}}
    data = display.labelled_data({"severity": "urgent", "tags": ["a", "b", "z"], "n": 3}, labels)
    assert str(data["severity"]) == "Urgent" and data["severity"] == "urgent"
    assert str(data["tags"]) == "Alpha, Beta, z"
    assert data["n"] == 3
