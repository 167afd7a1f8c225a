"""The alerts page: an alert leaves the open list when its task is completed or cancelled and shows as resolved
(when, by whom, why) in the full list; each row names the customer and links to the task; the filters narrow the
list and a bad filter value is named next to its field, never a 500."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Blueprint, Flask
from flask.testing import FlaskClient

from engine import FrozenClock, Runtime
from engine.models import HumanTask
from processes.customers import create_customer
from tests.bpmn_builder import linear
from tests.engine.helpers import open_tasks
from tests.web.helpers import csrf_token

Clients = Callable[[str], FlaskClient]


@pytest.fixture
def tasks(runtime: Runtime, clock: FrozenClock, people: dict[str, int], mail: object) -> dict[str, HumanTask]:
    """Acme's welcome call (group csm) and Globex's debt collection (group finance), both a day past their warn
    threshold: one "behind" alert each. By customer id."""
    runtime.deploy(
        {"w.bpmn": linear("welcome_call", 1, group="csm"), "c.bpmn": linear("collect_debt", 1, group="finance")},
        actor="test",
    )
    with runtime.unit() as u:
        create_customer(u.session, "C-1", "Acme Corp", now=u.now)
        create_customer(u.session, "C-2", "Globex", now=u.now)
    found = {}
    for customer, process_id in (("C-1", "welcome_call"), ("C-2", "collect_debt")):
        [found[customer]] = open_tasks(runtime, runtime.start(process_id, actor="sam", customer_id=customer))
    clock.advance(days=1, hours=1)
    assert len(runtime.sweep_stuck_steps()) == 2
    return found


def rows(html: str) -> dict[str, str]:
    """The alert rows shown, by the customer id they name."""
    found = re.findall(r'(<tr id="alert-\d+"[^>]*>.*?</tr>)', html, re.S)
    return {re.search(r'<span class="customer-id">([^<]+)</span>', row).group(1): row for row in found}  # type: ignore[union-attr]


def page(client: FlaskClient, query: str = "") -> str:
    response = client.get(f"/kpis/alerts{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_alert_of_a_completed_task_leaves_the_open_list_and_shows_as_resolved(
    client_for: Clients, runtime: Runtime, clock: FrozenClock, tasks: dict[str, HumanTask]
) -> None:
    clock.advance(hours=1)
    runtime.complete(tasks["C-1"].id, actor="sam", data={"note": "called"})
    lea = client_for("lea")
    assert list(rows(page(lea))) == ["C-2"]
    assert '<span class="badge badge-red">1 open</span>' in page(lea)
    everything = rows(page(lea, "?status=all"))
    assert sorted(everything) == ["C-1", "C-2"]
    assert 'class="resolved"' in everything["C-1"] and "Acknowledge</button>" not in everything["C-1"]
    assert f"resolved task completed by sam at {clock.now():%Y-%m-%d %H:%M}" in words(everything["C-1"])
    assert list(rows(page(lea, "?status=resolved"))) == ["C-1"]
    kpis = words(lea.get("/kpis/").get_data(as_text=True))
    assert "Open alerts 1 behind or stuck, neither acknowledged nor resolved" in kpis


def test_the_alert_of_a_cancelled_instance_shows_as_resolved_by_the_cancellation(
    client_for: Clients, runtime: Runtime, clock: FrozenClock, tasks: dict[str, HumanTask]
) -> None:
    runtime.cancel(tasks["C-2"].instance_id, actor="lea", reason="customer paid elsewhere")
    lea = client_for("lea")
    assert list(rows(page(lea))) == ["C-1"]
    assert f"task cancelled by lea at {clock.now():%Y-%m-%d %H:%M}" in words(rows(page(lea, "?status=all"))["C-2"])


def test_an_acknowledged_alert_that_is_resolved_shows_both(
    client_for: Clients, runtime: Runtime, tasks: dict[str, HumanTask]
) -> None:
    lea = client_for("lea")
    token = csrf_token(lea, "/kpis/alerts")
    alert_id = re.search(r'<tr id="alert-(\d+)"', rows(page(lea))["C-1"]).group(1)  # type: ignore[union-attr]
    lea.post(f"/kpis/alerts/{alert_id}/acknowledge", data={"csrf_token": token})
    assert list(rows(page(lea, "?status=acknowledged"))) == ["C-1"]
    runtime.complete(tasks["C-1"].id, actor="sam", data={"note": "called"})
    assert rows(page(lea, "?status=acknowledged")) == {}
    row = words(rows(page(lea, "?status=resolved"))["C-1"])
    assert "resolved task completed by sam" in row and "acknowledged by lea at" in row


def test_a_row_names_the_customer_and_links_to_the_task_and_instance(
    client_for: Clients, tasks: dict[str, HumanTask]
) -> None:
    row = rows(page(client_for("ada")))["C-1"]
    task = tasks["C-1"]
    assert "Acme Corp" in row and '<span class="customer-id">C-1</span>' in row
    assert f'<a href="/tasks/{task.id}" class="task-name">Step 1</a>' in row
    assert f'href="/instances/{task.instance_id}"' in row


def test_the_customer_name_links_to_the_customer_page_once_there_is_one(
    app: Flask, client_for: Clients, tasks: dict[str, HumanTask], monkeypatch: pytest.MonkeyPatch
) -> None:
    if "customers.show" not in app.view_functions:  # before the customer 360 page lands: a stand-in
        stand_in = Blueprint("customers", __name__)
        stand_in.add_url_rule("/customers/<customer_id>", "show", lambda customer_id: customer_id)
        app.register_blueprint(stand_in)
    with app.test_request_context():
        from flask import url_for

        href = url_for("customers.show", customer_id="C-1")
    client = client_for("lea")
    assert f'<a href="{href}" class="customer-name">Acme Corp</a>' in rows(page(client))["C-1"]
    monkeypatch.delitem(app.view_functions, "customers.show")
    row = rows(page(client))["C-1"]
    assert '<span class="customer-name">Acme Corp</span>' in row and href not in row


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("?level=behind", ["C-1", "C-2"]),
        ("?level=stuck", []),
        ("?process=collect_debt", ["C-2"]),
        ("?customer=acme", ["C-1"]),
        ("?customer=c-2", ["C-2"]),
        ("?customer=%25", []),  # a literal %, not a wildcard
        ("?group=finance", ["C-2"]),
        ("?group=csm&customer=globex", []),
        ("?status=acknowledged", []),
    ],
)
def test_the_filters_narrow_the_list(
    client_for: Clients, tasks: dict[str, HumanTask], query: str, shown: list[str]
) -> None:
    html = page(client_for("lea"), query)
    assert sorted(rows(html)) == shown
    if not shown:
        assert "No alert matches these filters." in html


def test_a_stuck_alert_is_found_by_its_level(client_for: Clients, runtime: Runtime, clock: FrozenClock, tasks) -> None:
    clock.advance(days=2)
    assert len(runtime.sweep_stuck_steps()) == 2
    html = page(client_for("lea"), "?level=stuck&process=welcome_call")
    [(customer, row)] = rows(html).items()
    assert customer == "C-1" and '<span class="badge badge-red">stuck</span>' in row


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?level=urgent", "Level: “urgent” is not behind or stuck."),
        ("?status=closed", "Status: “closed” is not a status."),
        ("?process=nope", "Process: “nope” is not a deployed process."),
        ("?group=nobody", "Group: “nobody” is not a group of any task."),
        ("?customer=" + "x" * 101, "Customer: at most 100 characters."),
    ],
)
def test_a_bad_filter_value_is_named_and_nothing_is_listed(
    client_for: Clients, tasks: dict[str, HumanTask], query: str, message: str
) -> None:
    response = client_for("lea").get(f"/kpis/alerts{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'<p class="field-error" id="a-{query[1:].split("=")[0]}-error">{message}</p>' in html
    assert rows(html) == {} and "Fix the filters above to see the alerts." in html


def test_acknowledging_returns_to_the_same_filters(client_for: Clients, tasks: dict[str, HumanTask]) -> None:
    lea = client_for("lea")
    html = page(lea, "?customer=Acme&level=behind")
    alert_id = re.search(r'<tr id="alert-(\d+)"', html).group(1)  # type: ignore[union-attr]
    assert '<input type="hidden" name="customer" value="Acme">' in html
    response = lea.post(
        f"/kpis/alerts/{alert_id}/acknowledge",
        data={"csrf_token": csrf_token(lea, "/kpis/alerts"), "customer": "Acme", "level": "behind", "status": "open"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/kpis/alerts?level=behind&status=open&customer=Acme"


def test_a_resolved_alert_stops_ageing_when_its_task_closes(
    client_for: Clients, runtime: Runtime, clock: FrozenClock, tasks: dict[str, HumanTask]
) -> None:
    clock.advance(hours=3)
    runtime.complete(tasks["C-1"].id, actor="sam", data={"note": "called"})
    clock.advance(days=5)
    row = rows(page(client_for("lea"), "?status=resolved"))["C-1"]
    assert '<td class="num age">3h00m</td>' in row
