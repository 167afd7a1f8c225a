"""The instances screen: the list and its filters, one instance's page (markers, timeline, data, open tasks), and
a lead's operations on it (audited, reason required); auditors read only."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from lxml import html
from sqlalchemy import func, select

from engine import OPEN_TASK_STATES, FrozenClock, Runtime
from engine.models import AuditEvent, HumanTask, ProcessInstance
from processes.customers import Customer
from tests.bpmn_builder import linear
from tests.engine.helpers import FAILING
from tests.web.helpers import csrf_token
from tests.web.on_file import customers_on_file

Client = Callable[[str], FlaskClient]


# -- helpers -------------------------------------------------------------------------------------------------
def page(client: FlaskClient, path: str, status: int = 200) -> html.HtmlElement:
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)
    return html.fromstring(response.get_data(as_text=True))


def K(name: str) -> str:
    """An XPath predicate: the element has the CSS class ``name``."""
    return f"[contains(concat(' ', normalize-space(@class), ' '), ' {name} ')]"


def listed(client: FlaskClient, query: str = "") -> list[str]:
    """The full ids of the instances the list shows (from the links' titles)."""
    doc = page(client, f"/instances/?{query}")
    return [a.get("title") for a in doc.xpath(f"//table{K('instances-table')}/tbody/tr/td[1]/a")]


def open_row(runtime: Runtime, iid: str, element: str) -> HumanTask:
    with runtime.store.session() as s:
        return s.execute(
            select(HumanTask).where(
                HumanTask.instance_id == iid, HumanTask.element_id == element, HumanTask.state.in_(OPEN_TASK_STATES)
            )
        ).scalar_one()


def snapshot(runtime: Runtime, iid: str) -> tuple:
    with runtime.store.session() as s:
        row = s.get(ProcessInstance, iid)
        assert row is not None
        rows = s.execute(select(HumanTask.id, HumanTask.state).where(HumanTask.instance_id == iid)).all()
        audit = s.execute(select(func.count()).select_from(AuditEvent)).scalar()
    return row.version, row.status, sorted(rows), audit


def audited(runtime: Runtime, iid: str, action: str) -> list[tuple[str, dict]]:
    with runtime.store.session() as s:
        events = s.execute(
            select(AuditEvent).where(AuditEvent.instance_id == iid, AuditEvent.action == action)
        ).scalars()
        return [(e.actor, json.loads(e.payload)) for e in events]


def post(client: FlaskClient, iid: str, operation: str, **form: str) -> tuple[int, str]:
    token = csrf_token(client, f"/instances/{iid}")
    response = client.post(f"/instances/{iid}/{operation}", data={"csrf_token": token, **form})
    return response.status_code, response.get_data(as_text=True)


@pytest.fixture
def journey(runtime: Runtime, people: dict) -> dict[str, str]:
    """Three instances of a 3-step process for two customers, and one in incident."""
    runtime.deploy({"onboard.bpmn": linear("onboard", 3), "scored.bpmn": FAILING}, actor="dan")
    with runtime.unit() as u:
        for cid, name in (("C-1", "Acme Corp"), ("C-2", "Globex")):
            u.session.add(Customer(id=cid, name=name, created_at=u.now))
    ids = {
        "acme": runtime.start("onboard", actor="sam", customer_id="C-1"),
        "globex": runtime.start("onboard", actor="sam", customer_id="C-2"),
        "done": runtime.start("onboard", actor="sam", customer_id="C-2"),
        "failed": runtime.start("scored", actor="sam", customer_id="C-1"),
    }
    for element in ("t1", "t2", "t3"):
        runtime.complete(open_row(runtime, ids["done"], element).id, actor="sam", data={"note": element})
    runtime.complete(open_row(runtime, ids["failed"], "enter").id, actor="sam")
    runtime.complete(open_row(runtime, ids["acme"], "t1").id, actor="sam", data={"note": "kick-off held"})
    return ids


# -- who sees what -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("user", "status"), [("lea", 200), ("root", 200), ("ada", 200), ("sam", 403), ("dan", 403)])
def test_the_list_is_for_leads_admins_and_auditors(client_for: Client, journey: dict, user: str, status: int) -> None:
    assert client_for(user).get("/instances/").status_code == status
    assert client_for(user).get(f"/instances/{journey['acme']}").status_code == status


def test_an_unknown_instance_is_404(client_for: Client, journey: dict) -> None:
    assert client_for("lea").get("/instances/nope").status_code == 404
    assert client_for("lea").get("/instances/nope/diagram.bpmn").status_code == 404


# -- the list ------------------------------------------------------------------------------------------------
def test_the_list_shows_process_customer_status_dates_steps_and_incident(
    client_for: Client, journey: dict, runtime: Runtime
) -> None:
    doc = page(client_for("lea"), "/instances/")
    rows = {
        tr.xpath("./td/a")[0].get("title"): [td.text_content().split() for td in tr.xpath("./td")]
        for tr in doc.xpath(f"//table{K('instances-table')}/tbody/tr")
    }
    assert set(rows) == set(journey.values())
    acme = rows[journey["acme"]]
    assert acme[0] == [journey["acme"][:8]]
    assert acme[1] == ["onboard", "v1"]
    assert acme[2] == ["Acme", "Corp", "C-1"]
    assert acme[3] == ["running"]
    assert acme[5] == ["—"]  # not ended
    assert acme[6] == ["Step", "2"]
    done = rows[journey["done"]]
    assert done[3] == ["completed"] and done[5] != ["—"] and done[6] == ["—"]
    failed = rows[journey["failed"]]
    assert failed[3] == ["incident"]
    assert "score (Score account) in scored" in " ".join(failed[7])
    assert "'health' is not defined" in " ".join(failed[7])
    [step_link] = doc.xpath(f"//a[@href='/tasks/{open_row(runtime, journey['acme'], 't2').id}']")
    assert step_link.text_content() == "Step 2"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("process=scored", ["failed"]),
        ("customer=globex", ["globex", "done"]),
        ("customer=C-1", ["acme", "failed"]),
        ("status=completed", ["done"]),
        ("status=running", ["acme", "globex"]),
        ("incident=1", ["failed"]),
        ("process=onboard&customer=acme", ["acme"]),
    ],
)
def test_filters(client_for: Client, journey: dict, query: str, expected: list[str]) -> None:
    assert sorted(listed(client_for("lea"), query)) == sorted(journey[k] for k in expected)


def test_the_stuck_filter_follows_the_clock(client_for: Client, journey: dict, clock: FrozenClock) -> None:
    lead = client_for("lea")
    assert listed(lead, "stuck=1") == []
    clock.advance(days=3, hours=1)  # past sla_stuck (P3D) of the steps opened at the start
    assert sorted(listed(lead, "stuck=1")) == sorted([journey["acme"], journey["globex"]])
    doc = page(lead, "/instances/?stuck=1")
    assert [b.text_content() for b in doc.xpath(f"//td/span{K('badge-red')}")] == ["stuck", "stuck"]


def test_a_bad_status_is_named_and_ignored(client_for: Client, journey: dict) -> None:
    doc = page(client_for("lea"), "/instances/?status=lost", 422)
    assert doc.xpath("//*[@id='f-status-error']")[0].text_content() == "Status: “lost” is not a status."
    assert len(doc.xpath(f"//table{K('instances-table')}/tbody/tr")) == 4


def test_pagination_keeps_the_filters(client_for: Client, runtime: Runtime, people: dict, clock: FrozenClock) -> None:
    runtime.deploy({"onboard.bpmn": linear("onboard", 1)}, actor="dan")
    started = []
    customers_on_file(runtime, "C-9")
    for _ in range(27):
        started.append(runtime.start("onboard", actor="sam", customer_id="C-9"))
        clock.advance(minutes=1)
    lead = client_for("lea")
    first = page(lead, "/instances/?customer=C-9")
    assert "27 instances" in first.text_content()
    assert len(first.xpath(f"//table{K('instances-table')}/tbody/tr")) == 25
    assert "Page 1 of 2" in first.text_content()
    [next_link] = first.xpath("//a[@rel='next']")
    assert next_link.get("href") == "/instances/?customer=C-9&page=2"
    assert listed(lead, "customer=C-9&page=2") == [started[1], started[0]]  # newest first


# -- one instance --------------------------------------------------------------------------------------------
def test_the_page_shows_markers_timeline_data_and_open_tasks(
    client_for: Client, journey: dict, runtime: Runtime
) -> None:
    doc = page(client_for("ada"), f"/instances/{journey['acme']}")
    [diagram] = doc.xpath(f"//div{K('diagram')}")
    assert diagram.get("data-bpmn-url") == f"/instances/{journey['acme']}/diagram.bpmn"
    assert json.loads(diagram.get("data-markers")) == {"start": "done", "t1": "done", "t2": "active"}
    events = [
        [
            part.text_content().strip()
            for part in li.xpath(f"./div{K('when')}/time | ./div{K('when')}/span | ./div{K('what')}/strong")
        ]
        for li in doc.xpath(f"//ol{K('timeline')}/li")
    ]
    assert [e[2] for e in events] == ["Instance started", "Task completed"]
    assert events[1][1] == "sam"
    facts = doc.xpath(f"//ol{K('timeline')}/li")[1].xpath(f".//dl{K('event-facts')}/dd")
    assert [f.text_content() for f in facts] == ["Step 1", "note: —", "note: kick-off held"]
    data = json.loads(doc.xpath("//pre[@id='current-data']")[0].text_content())
    assert data == {"business_key": None, "customer_id": "C-1", "note": "kick-off held"}
    task = open_row(runtime, journey["acme"], "t2")
    assert [a.get("href") for a in doc.xpath(f"//ul{K('open-tasks')}//a")] == [f"/tasks/{task.id}"]


def test_the_diagram_route_serves_the_instances_definition(client_for: Client, journey: dict) -> None:
    response = client_for("ada").get(f"/instances/{journey['failed']}/diagram.bpmn")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert b'<bpmn:process id="scored"' in response.data


def test_an_incident_is_shown_and_marked(client_for: Client, journey: dict) -> None:
    doc = page(client_for("lea"), f"/instances/{journey['failed']}")
    assert "'health' is not defined" in doc.xpath(f"//*{K('banner-bad')}")[0].text_content()
    markers = json.loads(doc.xpath(f"//div{K('diagram')}")[0].get("data-markers"))
    assert markers == {"start": "done", "enter": "done", "score": "incident"}
    assert "Incident" in [s.text_content() for s in doc.xpath(f"//ol{K('timeline')}//strong")]


# -- operations ----------------------------------------------------------------------------------------------
def test_an_auditor_gets_no_buttons_and_every_operation_is_403(
    client_for: Client, journey: dict, runtime: Runtime
) -> None:
    auditor = client_for("ada")
    doc = page(auditor, f"/instances/{journey['failed']}")
    assert doc.xpath(f"//*{K('operations')}//form") == [] and doc.xpath(f"//*{K('operations')}//button") == []
    assert "Read only" in doc.xpath(f"//*{K('operations')}")[0].text_content()
    before = snapshot(runtime, journey["failed"])
    for operation, element in (("cancel", ""), ("retry", ""), ("skip", "score"), ("repeat", "enter")):
        status, _ = post(auditor, journey["failed"], operation, element=element, reason="because")
        assert status == 403, operation
    assert snapshot(runtime, journey["failed"]) == before


def test_a_lead_skips_a_step_and_it_is_audited(client_for: Client, journey: dict, runtime: Runtime) -> None:
    lead = client_for("lea")
    status, _ = post(lead, journey["acme"], "skip", element="t2", reason="customer did this alone")
    assert status == 303
    with runtime.store.session() as s:
        states = s.execute(
            select(HumanTask.element_id, HumanTask.state, HumanTask.completed_by)
            .where(HumanTask.instance_id == journey["acme"])
            .order_by(HumanTask.id)
        ).all()
    assert [tuple(r) for r in states] == [("t1", "completed", "sam"), ("t2", "skipped", "lea"), ("t3", "ready", None)]
    [(actor, payload)] = audited(runtime, journey["acme"], "step_skipped")
    assert (actor, payload["reason"], payload["before"]["state"]) == ("lea", "customer did this alone", "READY")
    doc = page(lead, f"/instances/{journey['acme']}")
    assert "Step skipped; the instance is now running." in doc.xpath(f"//*{K('flash')}")[0].text_content()
    last = doc.xpath(f"//ol{K('timeline')}/li")[-1]
    assert last.xpath(".//strong")[0].text_content() == "Step skipped"
    assert "customer did this alone" in last.xpath(f".//*{K('event-facts')}")[0].text_content()


def test_a_lead_repeats_a_step(client_for: Client, journey: dict, runtime: Runtime) -> None:
    status, _ = post(client_for("lea"), journey["acme"], "repeat", element="t1", reason="kick-off with wrong person")
    assert status == 303
    assert open_row(runtime, journey["acme"], "t1").state == "ready"
    [(actor, payload)] = audited(runtime, journey["acme"], "step_repeated")
    assert (actor, payload["before"]["open"], payload["after"]["open"]) == ("lea", ["t2"], ["t1"])


def test_a_lead_retries_then_cancels_an_incident(client_for: Client, journey: dict, runtime: Runtime) -> None:
    lead = client_for("lea")
    assert post(lead, journey["failed"], "retry", reason="scoring fixed")[0] == 303
    [(actor, payload)] = audited(runtime, journey["failed"], "incident_retried")
    assert (actor, payload["reason"]) == ("lea", "scoring fixed")
    assert post(lead, journey["failed"], "cancel", reason="duplicate of another onboarding")[0] == 303
    [(actor, payload)] = audited(runtime, journey["failed"], "instance_cancel_requested")
    assert (actor, payload) == ("lea", {"reason": "duplicate of another onboarding", "before": "incident"})
    doc = page(lead, f"/instances/{journey['failed']}")
    assert doc.xpath(f"//*{K('operations')}//form") == []
    assert doc.xpath(f"//*{K('instance-title')}/span{K('badge')}")[0].text_content() == "cancelled"


@pytest.mark.parametrize(
    ("operation", "element"), [("cancel", ""), ("retry", ""), ("skip", "score"), ("repeat", "enter")]
)
def test_an_empty_reason_is_refused_inline_and_changes_nothing(
    client_for: Client, journey: dict, runtime: Runtime, operation: str, element: str
) -> None:
    lead = client_for("lea")
    before = snapshot(runtime, journey["failed"])
    status, body = post(lead, journey["failed"], operation, element=element, reason="   ")
    assert status == 422
    doc = html.fromstring(body)
    [field] = doc.xpath(f"//*[@id='{operation}-reason']")
    assert field.get("aria-invalid") == "true"
    error = doc.xpath(f"//*[@id='{operation}-reason-error']")[0].text_content()
    assert error == "Reason: say why; it is kept in the audit trail."
    assert doc.xpath(f"//*[@id='{operation}-reason']")[0].getparent().tag == "form"
    assert snapshot(runtime, journey["failed"]) == before


def test_a_skip_without_a_step_names_the_field(client_for: Client, journey: dict, runtime: Runtime) -> None:
    lead = client_for("lea")
    before = snapshot(runtime, journey["acme"])
    status, body = post(lead, journey["acme"], "skip", element="", reason="why")
    assert status == 422
    doc = html.fromstring(body)
    assert doc.xpath("//*[@id='skip-element-error']")[0].text_content() == "Step: choose the step."
    assert doc.xpath("//*[@id='skip-reason']")[0].text_content() == "why"  # what was typed is kept
    assert snapshot(runtime, journey["acme"]) == before


def test_an_operation_the_engine_refuses_shows_why_and_changes_nothing(
    client_for: Client, journey: dict, runtime: Runtime
) -> None:
    lead = client_for("lea")
    before = snapshot(runtime, journey["acme"])
    status, body = post(lead, journey["acme"], "skip", element="t1", reason="why")
    assert status == 409
    alert = html.fromstring(body).xpath(f"//*{K('operations')}//*[@role='alert']")[0].text_content()
    assert alert == "step 't1' is completed: only a ready human task or a failed step can be skipped"
    assert snapshot(runtime, journey["acme"]) == before


def test_a_finished_instance_offers_no_operations(client_for: Client, journey: dict) -> None:
    doc = page(client_for("lea"), f"/instances/{journey['done']}")
    assert doc.xpath(f"//*{K('operations')}//form") == []
    assert json.loads(doc.xpath(f"//div{K('diagram')}")[0].get("data-markers")) == {
        "start": "done",
        "t1": "done",
        "t2": "done",
        "t3": "done",
        "end": "done",
    }
    assert json.loads(doc.xpath("//pre[@id='current-data']")[0].text_content())["note"] == "t3"


def test_a_lead_retries_a_timer_incident_supplying_the_missing_variable(
    client_for: Client, runtime: Runtime, people: dict
) -> None:
    from tests.engine.helpers import WAIT

    runtime.deploy({"w.bpmn": WAIT}, actor="dan")
    with runtime.unit() as u:
        u.session.add(Customer(id="C-9", name="Initech", created_at=u.now))
    iid = runtime.start("wait", actor="sam", customer_id="C-9")
    lead = client_for("lea")
    before = snapshot(runtime, iid)
    for bad, message in (("{not json", "not valid JSON"), ("[1, 2]", "JSON object"), ('{"a": "\\u0000"}', "NUL")):
        status, body = post(lead, iid, "retry", reason="delay supplied", variables=bad)
        assert status == 422, body
        error = html.fromstring(body).get_element_by_id("retry-variables-error").text_content()
        assert message in error
        assert snapshot(runtime, iid) == before

    assert post(lead, iid, "retry", reason="delay supplied", variables='{"delay": "P2D"}')[0] == 303
    assert snapshot(runtime, iid)[1] == "waiting"
    [(actor, payload)] = audited(runtime, iid, "incident_retried")
    assert actor == "lea" and payload["reason"] == "delay supplied"
