"""The inbox: its three views and who may open them, SLA badges as the clock moves, filters, sorting, pages,
saved filters shared with a group, and claim / unclaim / reassign on one task or on the ticked ones, each with
its audit rows."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from engine import FrozenClock, Runtime
from engine.models import HumanTask
from tests.bpmn_builder import flow, process, user_task
from tests.web.helpers import (
    add_customer,
    audit_rows,
    contract,
    csrf_token,
    task_ids,
    task_row,
    text,
    ticket,
)
from web.models import SavedFilter

Client = Callable[[str], FlaskClient]


def post(client: FlaskClient, path: str, data: dict | None = None, token_from: str = "/inbox/") -> TestResponse:
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, token_from)})


def task_names(html: str) -> list[str]:
    """The task names of the inbox table, top to bottom."""
    return re.findall(r'class="task-link">([^<]+)</a>', html)


# -- views -----------------------------------------------------------------------------------------------------
def test_the_three_views_show_my_tasks_my_groups_queue_and_all_tasks_for_leads(
    deployed: None, client_for: Client, runtime: Runtime
) -> None:
    held = ticket(runtime, "Held by sam")
    free = ticket(runtime, "Free ticket")
    runtime.claim(held, actor="sam", groups=["support"])
    sam, lea = client_for("sam"), client_for("lea")

    mine = text(sam.get("/inbox/"))
    assert task_ids(mine) == [held]
    assert 'aria-current="page">My tasks' in mine

    queue = sam.get("/inbox/?view=groups")
    assert queue.status_code == 200
    assert sorted(task_ids(text(queue))) == sorted([held, free])

    refused = sam.get("/inbox/?view=all")
    assert refused.status_code == 403
    assert "Only CS leads and admins see all tasks" in text(refused)

    everything = lea.get("/inbox/?view=all")
    assert everything.status_code == 200
    assert sorted(task_ids(text(everything))) == sorted([held, free])
    assert task_ids(text(lea.get("/inbox/?view=groups"))) == []  # lea's group cs_lead has no task yet


def test_empty_views_explain_themselves(deployed: None, client_for: Client, runtime: Runtime) -> None:
    ticket(runtime)
    sam, fin = client_for("sam"), client_for("fin")
    assert "You hold no tasks right now" in text(sam.get("/inbox/"))
    assert "Nothing waiting in your groups" in text(fin.get("/inbox/?view=groups"))
    assert "No task matches these filters" in text(sam.get("/inbox/?view=groups&q=nothing-like-this"))


def test_designers_and_auditors_have_no_inbox(deployed: None, client_for: Client) -> None:
    assert client_for("dan").get("/inbox/").status_code == 403
    assert client_for("ada").get("/inbox/").status_code == 403


# -- SLA -------------------------------------------------------------------------------------------------------
def badge_of(html: str, task_id: int) -> str:
    row = re.search(rf'value="{task_id}">.*?</tr>', html, re.S)
    assert row, f"task {task_id} not in the table"
    found = re.search(r'class="badge badge-(\w+)"[^>]*>([^<]+)<', row.group(0))
    assert found
    return f"{found.group(1)}: {found.group(2)}"


def test_sla_badges_turn_yellow_then_red_as_the_clock_moves_and_grey_without_a_due_date(
    deployed: None, client_for: Client, runtime: Runtime, clock: FrozenClock
) -> None:
    add_customer(runtime)
    signed = contract(runtime, "C-1")  # warn after 1 day, due after 2, stuck after 4
    nodue_xml = process(
        "nodue",
        '<bpmn:startEvent id="s"/>'
        + user_task("look", "Look around", "csm", sla=" ")
        + '<bpmn:endEvent id="e"/>'
        + flow("f1", "s", "look")
        + flow("f2", "look", "e"),
    )
    runtime.deploy({"nodue.bpmn": nodue_xml}, actor="test")
    runtime.start("nodue", actor="test")
    sam = client_for("sam")

    html = text(sam.get("/inbox/?view=groups"))
    assert badge_of(html, signed) == "green: Due in 2 days"
    nodue = next(t for t in task_ids(html) if t != signed)
    assert badge_of(html, nodue) == "grey: No due date"

    clock.advance(hours=25)  # past warn, due in 23 hours
    assert badge_of(text(sam.get("/inbox/?view=groups")), signed) == "yellow: Due in 23 hours"
    assert task_ids(text(sam.get("/inbox/?view=groups&sla=yellow"))) == [signed]

    clock.advance(hours=24)  # an hour overdue
    assert badge_of(text(sam.get("/inbox/?view=groups")), signed) == "red: Overdue by 1 hour"
    assert task_ids(text(sam.get("/inbox/?view=groups&sla=red"))) == [signed]
    assert task_ids(text(sam.get("/inbox/?view=groups&sla=grey"))) == [nodue]
    assert task_ids(text(sam.get("/inbox/?view=groups&sla=green"))) == []


# -- filters, sort, pages --------------------------------------------------------------------------------------
def test_filters_narrow_by_process_customer_group_assignee_and_task_name(
    deployed: None, client_for: Client, runtime: Runtime
) -> None:
    add_customer(runtime, "C-1", "Acme Corp")
    add_customer(runtime, "C-2", "Globex")
    acme_ticket = ticket(runtime, customer_id="C-1")
    globex_ticket = ticket(runtime, customer_id="C-2")
    acme_contract = contract(runtime, "C-1")
    runtime.claim(globex_ticket, actor="sam", groups=["support"])
    sam = client_for("sam")

    def shown(query: str) -> list[int]:
        return sorted(task_ids(text(sam.get(f"/inbox/?view=groups&{query}"))))

    assert shown("") == sorted([acme_ticket, globex_ticket, acme_contract])
    assert shown("process=support") == sorted([acme_ticket, globex_ticket])
    assert shown("customer=globex") == [globex_ticket]  # by name, any case
    assert shown("customer=C-1") == sorted([acme_ticket, acme_contract])  # by id
    assert shown("group=csm") == [acme_contract]
    assert shown("assignee=sam") == [globex_ticket]
    assert shown("assignee=-") == sorted([acme_ticket, acme_contract])
    assert shown("q=CONTRACT") == [acme_contract]
    assert shown("process=support&customer=C-1") == [acme_ticket]

    html = text(sam.get("/inbox/?view=groups"))
    assert "Acme Corp" in html and "Globex" in html  # the customer's name, not only its id


def test_default_order_is_overdue_first_then_due_date_then_priority_and_headers_sort(
    deployed: None, client_for: Client, runtime: Runtime, clock: FrozenClock
) -> None:
    add_customer(runtime)
    old_contract = contract(runtime, "C-1")  # due in 2 days, priority 50
    clock.advance(hours=47)
    triage = ticket(runtime, "Urgent")  # due in 2 hours, priority 70
    clock.advance(hours=2)  # the contract is now an hour overdue; the triage is due in an hour
    other = ticket(runtime, "Later")  # due in 2 hours
    sam = client_for("sam")

    html = text(sam.get("/inbox/?view=groups"))
    assert task_ids(html) == [old_contract, triage, other]
    assert "overdue first, then due date, then priority" in html

    by_priority = text(sam.get("/inbox/?view=groups&sort=priority&dir=desc"))
    assert task_ids(by_priority)[-1] == old_contract
    assert 'aria-sort="descending"' in by_priority
    by_name = text(sam.get("/inbox/?view=groups&sort=task"))
    assert task_names(by_name) == ["Confirm contract signed", "Triage ticket", "Triage ticket"]
    assert task_ids(text(sam.get("/inbox/?view=groups&sort=age"))) == [other, triage, old_contract]
    # the header link flips the direction of the current sort and keeps the view
    assert 'href="/inbox/?view=groups&amp;sort=task&amp;dir=desc"' in by_name


def test_the_inbox_shows_fifty_tasks_a_page(deployed: None, client_for: Client, runtime: Runtime) -> None:
    runtime.deploy({"many.bpmn": _many_tasks(52)}, actor="test")
    runtime.start("many", actor="test")
    sam = client_for("sam")
    first = text(sam.get("/inbox/?view=groups"))
    assert len(task_ids(first)) == 50
    assert "1–50 of 52" in first and "Page 1 of 2" in first
    second = text(sam.get("/inbox/?view=groups&page=2"))
    assert len(task_ids(second)) == 2
    assert not set(task_ids(first)) & set(task_ids(second))


def _many_tasks(count: int) -> bytes:
    """One instance with ``count`` parallel csm tasks."""
    body = '<bpmn:startEvent id="s"/><bpmn:parallelGateway id="split"/><bpmn:parallelGateway id="join"/>'
    body += '<bpmn:endEvent id="e"/>' + flow("f_s", "s", "split") + flow("f_e", "join", "e")
    for i in range(count):
        body += user_task(f"t{i}", f"Step {i:02d}") + flow(f"a{i}", "split", f"t{i}") + flow(f"b{i}", f"t{i}", "join")
    return process("many", body)


# -- saved filters ---------------------------------------------------------------------------------------------
def test_a_saved_filter_is_audited_shared_with_a_group_and_deleted_only_by_its_owner(
    deployed: None, client_for: Client, runtime: Runtime, people: dict[str, int]
) -> None:
    sam, lea, fin = client_for("sam"), client_for("lea"), client_for("fin")
    r = post(
        sam,
        "/inbox/filters",
        {"name": "Urgent support", "shared_group": "support", "view": "groups", "process": "support", "sla": "red"},
    )
    assert r.status_code == 303
    assert r.headers["Location"] == "/inbox/?view=groups&process=support&sla=red"
    post(sam, "/inbox/filters", {"name": "Mine only", "view": "mine"})

    assert "Urgent support" in text(sam.get("/inbox/"))
    # shared with support: a lead who joins the group sees it, others do not
    assert "Urgent support" not in text(fin.get("/inbox/"))
    assert "Urgent support" not in text(lea.get("/inbox/"))
    with runtime.unit() as u:
        from web.models import UserGroup

        u.session.add(UserGroup(user_id=people["lea"], group_name="support"))
    lea_view = text(lea.get("/inbox/"))
    assert "Urgent support" in lea_view and "Mine only" not in lea_view
    assert 'href="/inbox/?view=groups&amp;process=support&amp;sla=red">Urgent support' in lea_view

    with runtime.store.session() as s:
        urgent = s.execute(select(SavedFilter).where(SavedFilter.name == "Urgent support")).scalar_one()
    assert post(lea, f"/inbox/filters/{urgent.id}/delete").status_code == 403
    assert post(sam, f"/inbox/filters/{urgent.id}/delete").status_code == 303
    assert "Urgent support" not in text(lea.get("/inbox/"))

    saved = audit_rows(runtime, "filter_saved")
    assert [(actor, p["after"]["name"], p["after"]["shared_group"]) for actor, p in saved] == [
        ("sam", "Urgent support", "support"),
        ("sam", "Mine only", None),
    ]
    assert saved[0][1]["after"]["query"] == "view=groups&process=support&sla=red"
    assert [(a, p["before"]["name"]) for a, p in audit_rows(runtime, "filter_deleted")] == [("sam", "Urgent support")]


def test_a_bad_saved_filter_is_refused_inline_and_stores_nothing(
    deployed: None, client_for: Client, runtime: Runtime
) -> None:
    sam = client_for("sam")
    r = post(sam, "/inbox/filters", {"name": "  ", "view": "groups"})
    assert r.status_code == 422
    assert 'id="save-name-error">Name: give the filter a name.' in text(r)
    r = post(sam, "/inbox/filters", {"name": "Finance", "shared_group": "finance"})
    assert r.status_code == 422
    assert "Share with: you are not a member of finance." in text(r)
    post(sam, "/inbox/filters", {"name": "Twice"})
    r = post(sam, "/inbox/filters", {"name": "Twice"})
    assert r.status_code == 422
    assert 'value="Twice"' in text(r)
    with runtime.store.session() as s:
        assert s.execute(select(SavedFilter.name)).scalars().all() == ["Twice"]
    assert len(audit_rows(runtime, "filter_saved")) == 1


# -- actions ---------------------------------------------------------------------------------------------------
def test_claim_and_unclaim_from_the_inbox_are_audited(deployed: None, client_for: Client, runtime: Runtime) -> None:
    task = ticket(runtime)
    sam = client_for("sam")
    r = post(sam, f"/tasks/{task}/claim", {"next": "/inbox/?view=groups"})
    assert r.headers["Location"] == "/inbox/?view=groups"
    assert task_row(runtime, task).assignee == "sam"
    assert "You claimed “Triage ticket”." in text(sam.get("/inbox/?view=groups"))
    assert task_ids(text(sam.get("/inbox/"))) == [task]

    post(sam, f"/tasks/{task}/unclaim", {"next": "/inbox/"})
    assert task_row(runtime, task).assignee is None
    assert [(a, p["after"]) for a, p in audit_rows(runtime, "task_claimed")] == [("sam", {"assignee": "sam"})]
    assert [(a, p["before"]) for a, p in audit_rows(runtime, "task_unclaimed")] == [("sam", {"assignee": "sam"})]


def test_claiming_a_task_someone_else_holds_says_who_holds_it(
    deployed: None, client_for: Client, runtime: Runtime
) -> None:
    task = ticket(runtime)
    runtime.claim(task, actor="lea")
    sam = client_for("sam")
    r = post(sam, f"/tasks/{task}/claim", {"next": "/inbox/?view=groups"})
    assert r.status_code == 303
    assert "already claimed by lea" in text(sam.get("/inbox/?view=groups"))
    assert task_row(runtime, task).assignee == "lea"


def test_bulk_claim_reports_the_failing_task_and_keeps_the_others(
    deployed: None, client_for: Client, runtime: Runtime
) -> None:
    first, taken, last = ticket(runtime, "One"), ticket(runtime, "Two"), ticket(runtime, "Three")
    runtime.claim(taken, actor="lea")
    sam = client_for("sam")
    r = post(sam, "/inbox/bulk", {"action": "claim", "task": [first, taken, last], "next": "/inbox/?view=groups"})
    assert r.status_code == 303
    page = text(sam.get("/inbox/?view=groups"))
    assert "2 tasks claimed." in page
    assert f"Task {taken} not changed:" in page and "already claimed by lea" in page
    assert [task_row(runtime, t).assignee for t in (first, taken, last)] == ["sam", "lea", "sam"]
    assert [p["task"] for a, p in audit_rows(runtime, "task_claimed") if a == "sam"] == [first, last]


def test_bulk_reassign_lets_staff_hand_over_only_their_own_tasks_to_a_group_member(
    deployed: None, client_for: Client, runtime: Runtime, people: dict[str, int]
) -> None:
    from web.accounts import users

    users.add_user(runtime, "sue", "correct-horse-1", roles=["staff"], groups=["support"], actor="test")
    mine, free = ticket(runtime, "Mine"), ticket(runtime, "Free")
    runtime.claim(mine, actor="sam", groups=["support"])
    sam = client_for("sam")
    post(sam, "/inbox/bulk", {"action": "reassign", "assignee": "sue", "task": [mine, free], "next": "/inbox/"})
    page = text(sam.get("/inbox/"))
    assert "1 task reassigned to sue." in page
    assert f"Task {free} not changed:" in page and "you can reassign only a task you hold" in page
    assert (task_row(runtime, mine).assignee, task_row(runtime, free).assignee) == ("sue", None)
    assert [(a, p["before"], p["after"]) for a, p in audit_rows(runtime, "task_assigned")] == [
        ("sam", {"assignee": "sam"}, {"assignee": "sue"})
    ]

    # fin is not in a group of the task: refused even for a lead
    lea = client_for("lea")
    post(lea, "/inbox/bulk", {"action": "reassign", "assignee": "fin", "task": [free], "next": "/inbox/?view=all"})
    assert "fin is not an active member of the task&#39;s group(s) support." in text(lea.get("/inbox/?view=all"))
    post(lea, "/inbox/bulk", {"action": "reassign", "assignee": "sam", "task": [free], "next": "/inbox/?view=all"})
    assert task_row(runtime, free).assignee == "sam"


def test_bulk_actions_need_ticked_tasks_and_refuse_tasks_of_other_groups(
    deployed: None, client_for: Client, runtime: Runtime
) -> None:
    task = ticket(runtime)
    fin = client_for("fin")
    post(fin, "/inbox/bulk", {"action": "claim", "next": "/inbox/"})
    assert "Tick at least one task first." in text(fin.get("/inbox/"))
    post(fin, "/inbox/bulk", {"action": "claim", "task": [task], "next": "/inbox/"})
    assert f"Task {task} is not one you may see." in text(fin.get("/inbox/"))
    assert task_row(runtime, task).assignee is None
    assert audit_rows(runtime, "task_claimed") == []


def test_the_inbox_reads_the_runtime_clock_for_ages(
    deployed: None, client_for: Client, runtime: Runtime, clock: FrozenClock
) -> None:
    task = ticket(runtime)
    with runtime.unit() as u:  # a task without SLA moments so the badge stays grey while time passes
        u.session.execute(
            update(HumanTask).where(HumanTask.id == task).values(due_at=None, warn_at=None, stuck_at=None)
        )
    clock.advance(hours=3, minutes=10)
    html = text(client_for("sam").get("/inbox/?view=groups"))
    row = re.search(rf'value="{task}">.*?</tr>', html, re.S)
    assert row and ">3 hours<" in row.group(0)
