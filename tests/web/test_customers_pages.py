"""The customers pages: the list (at risk first, my accounts, sorts, filters, task counts, no query per row), the
customer 360 page with every section, and the forms that create, edit and archive customers and keep contacts,
each change audited with before/after, bad input shown inline with the values kept."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from lxml import html
from sqlalchemy import event, select

from engine import FrozenClock, Runtime
from engine.models import AuditEvent
from processes import accounts
from processes.customers import Contact, Customer, record_mrr
from processes.events import record_event
from processes.health import HealthSnapshot
from processes.surveys import SurveyAnswer
from processes.tickets import SupportTicket
from tests.web.helpers import csrf_token

Client = Callable[[str], FlaskClient]
TICKET = {"subject": "Export fails", "severity": "high"}


def add(runtime: Runtime, customer_id: str, name: str, **values: Any) -> None:
    with runtime.unit() as u:
        accounts.create(u.session, {"id": customer_id, "name": name, **values}, now=u.now, actor="test")


def set_health(runtime: Runtime, customer_id: str, score: float | None, band: str | None) -> None:
    with runtime.unit() as u:
        customer = u.session.get(Customer, customer_id)
        assert customer is not None
        customer.health_score, customer.health_band = score, band


def audit_of(runtime: Runtime, action: str) -> list[dict[str, Any]]:
    with runtime.store.session() as s:
        rows = s.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).scalars()
        return [{"actor": r.actor, "customer_id": r.customer_id, **json.loads(r.payload)} for r in rows]


def row_ids(page: str) -> list[str]:
    return re.findall(r'<tr data-customer="([^"]+)"', page)


@pytest.fixture
def book(runtime: Runtime, people: dict[str, int]) -> None:
    """Four customers: two of sam's, one at risk, one on watch, one healthy, one without a score."""
    add(runtime, "C-1", "Acme", segment="enterprise", csm_owner="sam", mrr=1200, renewal_date="2027-02-01")
    add(runtime, "C-2", "Globex", segment="smb", csm_owner="lea", mrr=300)
    add(runtime, "C-3", "Initech", segment="smb", csm_owner="sam", mrr=900)
    add(runtime, "C-4", "Hooli", segment="mid_market", csm_owner="lea")
    set_health(runtime, "C-1", 82, "healthy")
    set_health(runtime, "C-2", 35, "at_risk")
    set_health(runtime, "C-3", 61, "watch")


# -- the list --------------------------------------------------------------------------------------------------
def test_the_list_puts_at_risk_first_and_sorts_by_each_column(client_for: Client, book: None) -> None:
    lead = client_for("lea")
    page = lead.get("/customers/").get_data(as_text=True)
    assert row_ids(page) == ["C-2", "C-3", "C-1", "C-4"]
    assert "At risk" in page and "Watch" in page and "$1,200.00" in page and "Feb 1, 2027" in page
    assert row_ids(lead.get("/customers/?sort=name").get_data(as_text=True)) == ["C-1", "C-2", "C-4", "C-3"]
    assert row_ids(lead.get("/customers/?sort=mrr&dir=desc").get_data(as_text=True))[:3] == ["C-1", "C-3", "C-2"]
    for column in ("segment", "owner", "stage", "renewal", "open", "overdue", "stuck", "health"):
        assert lead.get(f"/customers/?sort={column}").status_code == 200


def test_staff_land_on_my_accounts_and_leads_on_all_customers(client_for: Client, book: None) -> None:
    assert row_ids(client_for("sam").get("/customers/").get_data(as_text=True)) == ["C-3", "C-1"]
    assert len(row_ids(client_for("sam").get("/customers/?view=all").get_data(as_text=True))) == 4
    assert len(row_ids(client_for("lea").get("/customers/").get_data(as_text=True))) == 4


def test_filters_narrow_by_segment_owner_stage_band_and_text(client_for: Client, book: None) -> None:
    lead = client_for("lea")

    def ids(query: str) -> list[str]:
        return row_ids(lead.get(f"/customers/?view=all&{query}").get_data(as_text=True))

    assert ids("segment=smb") == ["C-2", "C-3"]
    assert ids("owner=lea") == ["C-2", "C-4"]
    assert ids("band=watch") == ["C-3"]
    assert ids("band=none") == ["C-4"]
    assert ids("stage=prospect") == ["C-2", "C-3", "C-1", "C-4"]
    assert ids("q=glob") == ["C-2"]
    bad = lead.get("/customers/?segment=huge&sort=colour")
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "“huge” is not one of the choices." in text and "“colour” is not a column to sort by." in text


def test_task_counts_show_open_overdue_and_stuck_with_a_fixed_number_of_queries(
    client_for: Client, book: None, runtime: Runtime, deployed: None, clock: FrozenClock
) -> None:
    runtime.start("support", actor="sam", customer_id="C-2", data=TICKET)
    clock.advance(days=10)  # past the triage step's due date and stuck threshold
    lead = client_for("lea")
    doc = html.fromstring(lead.get("/customers/").get_data(as_text=True))
    cells = [c.text_content().strip() for c in doc.xpath("//tr[@data-customer='C-2']/td")]
    assert cells[-3:] == ["1", "1", "1"]

    @contextmanager
    def counting() -> Iterator[list[str]]:
        statements: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        event.listen(runtime.store.engine, "before_cursor_execute", count)
        try:
            yield statements
        finally:
            event.remove(runtime.store.engine, "before_cursor_execute", count)

    with counting() as few:
        lead.get("/customers/")
    for n in range(20):
        add(runtime, f"X-{n}", f"Extra {n}")
    with counting() as many:
        assert len(row_ids(lead.get("/customers/").get_data(as_text=True))) == 24
    assert len(many) == len(few)


def test_pages_of_fifty_keep_the_filters(client_for: Client, runtime: Runtime, people: dict[str, int]) -> None:
    for n in range(55):
        add(runtime, f"C-{n:03d}", f"Co {n:03d}", segment="smb")
    lead = client_for("lea")
    first = lead.get("/customers/?segment=smb&sort=name").get_data(as_text=True)
    assert len(row_ids(first)) == 50 and "Page 1 of 2" in first
    assert "page=2" in first and "segment=smb" in first
    second = lead.get("/customers/?segment=smb&sort=name&page=2").get_data(as_text=True)
    assert row_ids(second) == [f"C-{n:03d}" for n in range(50, 55)]


def test_a_long_list_is_counted_only_so_far_past_the_page_and_says_so(
    client_for: Client, book: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from processes import customer_query

    monkeypatch.setattr(customer_query, "COUNT_AHEAD", 2)
    page = client_for("lea").get("/customers/?view=all").get_data(as_text=True)
    assert "More than 2 customers: narrow the filters to count them." in page
    assert len(row_ids(page)) == 4  # the page itself is whole


def test_a_page_number_past_any_list_is_refused_not_a_database_error(client_for: Client, book: None) -> None:
    response = client_for("lea").get("/customers/?view=all&page=" + "9" * 30)
    assert response.status_code in (200, 422)
    assert "The page must be a whole number." in response.get_data(as_text=True)


# -- the 360 page ----------------------------------------------------------------------------------------------
@pytest.fixture
def acme(runtime: Runtime, book: None, deployed: None, clock: FrozenClock) -> dict[str, str]:
    """Acme with a contact, MRR history, two health snapshots, a ticket with its CSAT, an NPS answer, usage events,
    its customer journey and an open support task."""
    with runtime.unit() as u:
        accounts.add_contact(
            u.session, "C-1", {"name": "Rita Lopes", "email": "rita@acme.example", "role": "CFO"}, now=u.now, actor="t"
        )
        customer = u.session.get(Customer, "C-1")
        assert customer is not None
        record_mrr(u.session, customer, u.now + timedelta(days=1), 1500)
        components = {
            "usage": {"value": 30.0, "weight": 0.25, "detail": "3 active days"},
            "sentiment": {"value": 20.0, "weight": 0.25},
        }
        for days, score in ((0, 70.0), (5, 41.0)):
            u.session.add(
                HealthSnapshot(
                    customer_id="C-1",
                    at=u.now + timedelta(days=days),
                    score=score,
                    band="watch",
                    components=json.dumps(components),
                    reason="test",
                )
            )
        for days in (1, 2, 2):
            record_event(
                u.session,
                customer=customer,
                name="report_exported",
                at=u.now + timedelta(days=days),
                properties={},
                source="api",
                now=u.now,
            )
        u.session.add(
            SupportTicket(
                instance_id="T-1",
                customer_id="C-1",
                subject="Login loop",
                created_at=u.now,
                first_response_at=u.now + timedelta(hours=3),
                resolved_at=u.now + timedelta(hours=5),
                first_contact_resolution=True,
            )
        )
        for kind, score, instance in (("csat", 2, "T-1"), ("nps", 4, None)):
            u.session.add(
                SurveyAnswer(
                    customer_id="C-1",
                    kind=kind,
                    score=score,
                    scale_min=1 if kind == "csat" else 0,
                    scale_max=5 if kind == "csat" else 10,
                    at=u.now,
                    comment="too slow" if kind == "nps" else "",
                    source="api",
                    instance_id=instance,
                )
            )
    journey = runtime.start("customer_journey", actor="sam", customer_id="C-1")
    ticket = runtime.start("support", actor="sam", customer_id="C-1", data=TICKET)
    clock.advance(days=6)
    return {"journey": journey, "ticket": ticket}


def test_the_360_page_shows_every_section(client_for: Client, acme: dict[str, str]) -> None:
    page = client_for("lea").get("/customers/C-1")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    doc = html.fromstring(text)
    # header and health with its components
    assert "Acme" in text and "Enterprise" in text and "$1,500.00" in text
    components = [r.text_content() for r in doc.xpath("//table[contains(@class,'components')]//tr")]
    assert any("Usage" in r and "30" in r and "25%" in r for r in components)
    assert any("NPS / CSAT" in r and "20" in r for r in components)
    # the journey on its diagram and the stage strip
    diagram = doc.xpath("//div[contains(@class,'journey-diagram')]")[0]
    assert diagram.get("data-bpmn-url") == "/customers/C-1/journey.bpmn"
    assert json.loads(diagram.get("data-markers"))
    assert f"/instances/{acme['journey']}" in text
    # charts
    charts = [json.loads(c.get("data-chart")) for c in doc.xpath("//canvas[@data-chart]")]
    mrr, health = (c["data"]["datasets"][0]["data"] for c in charts)
    assert mrr == [1200, 1500, 1500]
    assert health[0] == 70.0 and health[-1] == 41.0  # the health module may add scores of its own between
    # contacts, open tasks, tickets with FRT and CSAT, surveys, usage, processes, timeline
    assert "Rita Lopes" in text and "rita@acme.example" in text
    assert re.search(r'href="/tasks/\d+">Triage ticket', text)
    [ticket_row] = [
        r.text_content() for r in doc.xpath("//section[@id='tickets']//tbody/tr") if "Login" in r.text_content()
    ]
    assert "Login loop" in ticket_row and "3.0 h" in ticket_row and "2" in ticket_row
    assert "too slow" in text
    usage = doc.xpath("//section[@aria-labelledby='usage-title']")[0].text_content()
    assert re.search(r"Events, last 30 days\s*3", usage) and re.search(r"Active days, last 30 days\s*2", usage)
    timeline = doc.xpath("//ol[@class='timeline']/li")
    assert any("report_exported" in li.text_content() for li in timeline)
    assert any("Contact added" in li.text_content() for li in timeline)
    assert any("Process started" in li.text_content() for li in timeline)
    assert client_for("lea").get("/customers/C-1/journey.bpmn").mimetype == "application/xml"


def test_the_360_page_of_a_customer_without_history_says_so(client_for: Client, book: None) -> None:
    text = client_for("sam").get("/customers/C-4").get_data(as_text=True)
    assert "No health score has been computed for this customer yet." in text
    assert "No customer journey has been started for this customer." in text
    assert client_for("sam").get("/customers/C-4/journey.bpmn").status_code == 404
    assert client_for("sam").get("/customers/NOPE").status_code == 404


def test_staff_see_no_instance_links_and_auditors_see_no_write_buttons(
    client_for: Client, acme: dict[str, str]
) -> None:
    staff = client_for("sam").get("/customers/C-1").get_data(as_text=True)
    assert f"/instances/{acme['journey']}" not in staff and "/customers/C-1/edit" in staff
    auditor = client_for("ada").get("/customers/C-1").get_data(as_text=True)
    assert "/customers/C-1/edit" not in auditor and "/tasks/" not in auditor
    assert client_for("ada").get("/customers/new").status_code == 403


# -- forms -----------------------------------------------------------------------------------------------------
def test_a_customer_is_created_from_the_form_and_audited(client_for: Client, runtime: Runtime, book: None) -> None:
    sam = client_for("sam")
    form = {"csrf_token": csrf_token(sam, "/customers/new"), "name": "Umbrella", "segment": "mid_market"}
    form |= {"plan": "growth", "mrr": "450", "currency": "EUR", "stage": "onboarding", "csm_owner": "sam"}
    response = sam.post("/customers/new", data=form)
    assert response.status_code == 302 and response.headers["Location"] == "/customers/C-0005"
    [created] = [e for e in audit_of(runtime, "customer_created") if e["customer_id"] == "C-0005"]
    assert created["actor"] == "sam" and created["before"] is None and created["after"]["currency"] == "EUR"
    assert "Umbrella" in sam.get("/customers/C-0005").get_data(as_text=True)


def test_a_bad_form_is_refused_inline_with_the_values_kept(client_for: Client, runtime: Runtime, book: None) -> None:
    sam = client_for("sam")
    form = {"csrf_token": csrf_token(sam, "/customers/new"), "id": "C-1", "name": "Dup", "email": "nope"}
    form |= {"mrr": "-5", "segment": "smb", "plan": "x", "currency": "USD", "stage": "active"}
    response = sam.post("/customers/new", data=form)
    assert response.status_code == 422
    doc = html.fromstring(response.get_data(as_text=True))
    assert doc.xpath("//p[@id='c-email-error']")[0].text == "E-mail: must be an e-mail address"
    assert doc.xpath("//p[@id='c-mrr-error']")[0].text == "MRR: must not be negative"
    assert doc.xpath("//input[@id='c-name']")[0].get("value") == "Dup"
    assert doc.xpath("//input[@id='c-email']")[0].get("aria-invalid") == "true"
    form |= {"email": "dup@example.com", "mrr": "5"}
    response = sam.post("/customers/new", data=form)
    assert response.status_code == 422 and "Id: customer C-1 exists already" in response.get_data(as_text=True)


def test_an_edit_is_audited_with_before_and_after(client_for: Client, runtime: Runtime, book: None) -> None:
    lead = client_for("lea")
    doc = html.fromstring(lead.get("/customers/C-3/edit").get_data(as_text=True))
    form = {i.get("name"): i.get("value") or "" for i in doc.xpath("//form[contains(@class,'customer-form')]//input")}
    form |= {s.get("name"): s.xpath("option[@selected]/@value")[0] for s in doc.xpath("//form//select")}
    assert form["name"] == "Initech" and form["mrr"] == "900.0"
    form |= {"plan": "enterprise", "renewal_date": "2027-06-30", "mrr": "1100"}
    assert lead.post("/customers/C-3/edit", data=form).status_code == 302
    [updated] = audit_of(runtime, "customer_updated")
    assert updated["before"] == {"plan": "standard", "renewal_date": None, "mrr": 900.0}
    assert updated["after"] == {"plan": "enterprise", "renewal_date": "2027-06-30", "mrr": 1100.0}
    bad = lead.post("/customers/C-3/edit", data={**form, "renewal_date": "2020-01-01", "contract_start": "2021-01-01"})
    assert bad.status_code == 422 and "must not be before the contract start" in bad.get_data(as_text=True)


def test_archive_hides_the_customer_and_unarchive_brings_it_back(
    client_for: Client, runtime: Runtime, book: None
) -> None:
    lead = client_for("lea")
    token = csrf_token(lead, "/customers/C-2")
    assert lead.post("/customers/C-2/archive", data={"csrf_token": token}).status_code == 302
    assert "C-2" not in row_ids(lead.get("/customers/").get_data(as_text=True))
    assert row_ids(lead.get("/customers/?view=archived").get_data(as_text=True)) == ["C-2"]
    assert audit_of(runtime, "customer_archived")[0]["before"] == {"archived_at": None}
    assert lead.post("/customers/C-2/unarchive", data={"csrf_token": token}).status_code == 302
    assert "C-2" in row_ids(lead.get("/customers/").get_data(as_text=True))
    assert lead.post("/customers/NOPE/archive", data={"csrf_token": token}).status_code == 404


def test_contacts_are_added_edited_and_removed_from_the_360_page(
    client_for: Client, runtime: Runtime, book: None
) -> None:
    sam = client_for("sam")
    token = csrf_token(sam, "/customers/C-1")
    bad = sam.post("/customers/C-1/contacts", data={"csrf_token": token, "name": "Rita", "email": "x"})
    assert bad.status_code == 422
    assert 'value="Rita"' in bad.get_data(as_text=True) and "E-mail: must be an e-mail address" in bad.get_data(
        as_text=True
    )
    form = {"csrf_token": token, "name": "Rita", "email": "rita@acme.example", "role": "CFO", "language": "pt_BR"}
    assert sam.post("/customers/C-1/contacts", data=form).status_code == 302
    with runtime.store.session() as s:
        contact_id = s.execute(select(Contact.id)).scalar_one()
    form["role"] = "CEO"
    assert sam.post(f"/customers/C-1/contacts/{contact_id}", data=form).status_code == 302
    assert audit_of(runtime, "contact_updated")[0]["after"] == {"role": "CEO"}
    assert "CEO" in sam.get("/customers/C-1").get_data(as_text=True)
    assert sam.post(f"/customers/C-1/contacts/{contact_id}/delete", data={"csrf_token": token}).status_code == 302
    assert audit_of(runtime, "contact_removed")[0]["before"]["name"] == "Rita"
    assert sam.post(f"/customers/C-1/contacts/{contact_id}/delete", data={"csrf_token": token}).status_code == 404
