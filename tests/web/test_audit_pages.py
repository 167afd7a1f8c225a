"""The audit trail screen: each filter narrows the rows, date ranges are inclusive, the CSV export holds exactly
the filtered rows and is itself audited, before/after values read side by side, and tampering turns the banner red."""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from engine import AUDIT_CSV_COLUMNS, FrozenClock, Runtime
from engine import _audit as audit
from engine._cli import audit_export
from engine.models import AuditEvent
from tests.processes.helpers import FORMS, Driver
from tests.web.helpers import as_csv
from web.audit import PAGE_SIZE

STAFF = {"csm", "support"}


def work(runtime: Runtime, clock: FrozenClock, mail) -> Driver:
    """Two customers signing up; sam and lea claim and complete the first step of one each, a day apart."""
    driver = Driver(runtime, clock, mail)
    for customer in ("C-1", "C-2"):
        driver.create_customer(customer)
    first = runtime.start("sign_up", actor="sam", customer_id="C-1")
    second = runtime.start("sign_up", actor="lea", customer_id="C-2")
    for actor, instance_id in (("sam", first), ("lea", second)):
        task = driver.task("confirm_contract_signed", instance_id)
        runtime.claim(task.id, actor=actor, groups=STAFF if actor == "sam" else None)
        clock.advance(hours=3)
        runtime.complete(task.id, actor=actor, data=FORMS["confirm_contract_signed"])
        clock.advance(days=1)
    return driver


@pytest.fixture
def activity(deployed: None, runtime: Runtime, clock: FrozenClock, mail) -> Driver:
    return work(runtime, clock, mail)


def all_events(runtime: Runtime) -> list[AuditEvent]:
    with runtime.store.session() as s:
        return list(s.execute(select(AuditEvent).order_by(AuditEvent.seq.desc())).scalars())


def shown_seqs(client: FlaskClient, query: str) -> list[int]:
    response = client.get(f"/audit/?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return [int(n) for n in re.findall(r'<tr id="event-(\d+)"', response.get_data(as_text=True))]


def expect(runtime: Runtime, keep: Callable[[AuditEvent], bool]) -> list[int]:
    return [e.seq for e in all_events(runtime) if keep(e)][:PAGE_SIZE]


def test_only_auditors_and_admins_open_the_trail(client_for, people: dict) -> None:
    for user, status in (("ada", 200), ("root", 200), ("sam", 403), ("lea", 403), ("dan", 403)):
        assert client_for(user).get("/audit/").status_code == status, user
        assert client_for(user).get("/audit/export.csv").status_code == status, user


def test_each_filter_narrows_the_rows_to_exactly_the_matching_events(client_for, activity: Driver) -> None:
    runtime, ada = activity.runtime, client_for("ada")
    c2 = next(e.instance_id for e in all_events(runtime) if e.customer_id == "C-2")
    cases: list[tuple[str, Callable[[AuditEvent], bool]]] = [
        ("", lambda e: True),
        ("actor=sam", lambda e: e.actor == "sam"),
        ("action=task_claimed", lambda e: e.action == "task_claimed"),
        ("process=sign_up", lambda e: e.process_id == "sign_up"),
        ("customer=C-2", lambda e: e.customer_id == "C-2"),
        (f"instance={c2}", lambda e: e.instance_id == c2),
        ("q=CT-2026", lambda e: "ct-2026" in e.payload.lower()),
        ("actor=lea&action=task_completed", lambda e: (e.actor, e.action) == ("lea", "task_completed")),
    ]
    for query, keep in cases:
        expected = expect(runtime, keep)
        assert expected, f"the data set has no event for {query}"
        assert shown_seqs(ada, query) == expected, query
    assert shown_seqs(ada, "actor=nobody") == []
    assert f'href="/instances/{c2}"' in ada.get(f"/audit/?instance={c2}").get_data(as_text=True)
    oldest = shown_seqs(ada, "process=sign_up&order=oldest")
    assert oldest == sorted(oldest) and len(oldest) > 1


def test_the_date_range_is_inclusive_at_both_ends_in_utc(client_for, activity: Driver, clock: FrozenClock) -> None:
    runtime = activity.runtime
    moments = [datetime(2026, 2, d, h, m, s, tzinfo=UTC) for d, h, m, s in ((9, 23, 59, 59), (10, 0, 0, 0))]
    moments += [datetime(2026, 2, 11, 23, 59, 59, tzinfo=UTC), datetime(2026, 2, 12, 0, 0, 0, tzinfo=UTC)]
    seqs = []
    for moment in moments:
        with runtime.unit() as u:
            seqs.append(audit.append(u.session, at=moment, actor="probe", action="probe_recorded").seq)
    assert shown_seqs(client_for("ada"), "from=2026-02-10&to=2026-02-11") == [seqs[2], seqs[1]]
    assert shown_seqs(client_for("ada"), "from=2026-02-10&to=2026-02-10") == [seqs[1]]
    assert shown_seqs(client_for("ada"), "to=2026-02-09&actor=probe") == [seqs[0]]
    assert shown_seqs(client_for("ada"), "from=2026-02-12") == [seqs[3]]


def test_an_invalid_date_is_named_next_to_its_field_and_lists_nothing(client_for, activity: Driver) -> None:
    ada = client_for("ada")
    response = ada.get("/audit/?from=2026-13-01&actor=sam")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="f-from-error"' in html and "From: “2026-13-01” is not a date (YYYY-MM-DD)." in html
    assert 'id="f-from" name="from" type="date" value="2026-13-01"\n           aria-invalid="true"' in html
    assert '<tr id="event-' not in html
    response = ada.get("/audit/?from=2026-02-10&to=2026-02-01")
    assert response.status_code == 422 and "To: 2026-02-01 is before From (2026-02-10)." in response.get_data(True)
    assert ada.get("/audit/export.csv?to=yesterday").status_code == 422


def test_pages_split_a_long_trail_newest_first(client_for, people: dict, runtime: Runtime) -> None:
    with runtime.unit() as u:
        for n in range(PAGE_SIZE + 7):
            audit.append(u.session, at=u.now, actor="bot", action="probe_recorded", payload={"n": n})
    bot = [e.seq for e in all_events(runtime) if e.actor == "bot"]
    ada = client_for("ada")
    assert shown_seqs(ada, "actor=bot") == bot[:PAGE_SIZE]
    assert shown_seqs(ada, "actor=bot&page=2") == bot[PAGE_SIZE:]
    html = ada.get("/audit/?actor=bot").get_data(as_text=True)
    assert f"{PAGE_SIZE + 7} matching events" in html and "page 1 of 2" in html
    assert 'href="/audit/?page=2&amp;actor=bot"' in html


def export(client: FlaskClient, query: str) -> list[dict[str, str]]:
    response = client.get(f"/audit/export.csv?{query}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert re.fullmatch(
        r'attachment; filename="jornada-audit-\d{8}-\d{6}\.csv"', response.headers["Content-Disposition"]
    )
    reader = csv.DictReader(io.StringIO(response.get_data(as_text=True)))
    assert tuple(reader.fieldnames or ()) == AUDIT_CSV_COLUMNS
    return list(reader)


def test_the_csv_holds_exactly_the_filtered_rows_of_every_page_in_the_same_order(client_for, activity: Driver) -> None:
    runtime = activity.runtime
    with runtime.unit() as u:
        for n in range(PAGE_SIZE + 5):
            audit.append(u.session, at=u.now, actor="sam", action="probe_recorded", payload={"n": n})
    ada = client_for("ada")
    rows = export(ada, "actor=sam")
    expected = [as_csv(e) for e in all_events(runtime) if e.actor == "sam"]
    assert len(expected) > PAGE_SIZE
    assert rows == expected
    rows = export(ada, "actor=lea&action=task_completed&order=oldest")
    assert rows == [
        as_csv(e) for e in reversed(all_events(runtime)) if (e.actor, e.action) == ("lea", "task_completed")
    ]
    [completed] = rows
    assert json.loads(completed["after"])["plan"] == FORMS["confirm_contract_signed"]["plan"]


def test_the_export_link_carries_the_filters_and_the_export_is_audited(client_for, activity: Driver) -> None:
    runtime, ada = activity.runtime, client_for("ada")
    html = ada.get("/audit/?actor=sam&action=task_claimed&order=oldest").get_data(as_text=True)
    assert 'href="/audit/export.csv?actor=sam&amp;action=task_claimed&amp;order=oldest"' in html
    before = all_events(runtime)[0].seq
    rows = export(ada, "actor=sam&action=task_claimed&order=oldest")
    assert [r["action"] for r in rows] == ["task_claimed"]
    newest = all_events(runtime)[0]
    assert (newest.seq, newest.actor, newest.action) == (before + 1, "ada", "audit_exported")
    assert json.loads(newest.payload) == {
        "filters": {"actor": "sam", "action": "task_claimed"},
        "order": "oldest",
        "rows": 1,
        "up_to_seq": before,
    }
    everything = export(ada, "")
    assert [int(r["seq"]) for r in everything] == list(range(before + 1, 0, -1))  # not the export's own event


def test_before_and_after_read_side_by_side_with_changed_keys_marked(client_for, activity: Driver) -> None:
    html = client_for("ada").get("/audit/?actor=sam&action=task_claimed").get_data(as_text=True)
    assert re.search(
        r'<tr class="changed">\s*<th scope="row">assignee.*?</th>\s*'
        r'<td class="before"><span class="absent">—</span></td>\s*<td class="after">sam</td>',
        html,
    )
    assert "<dt>name</dt><dd>Confirm contract signed</dd>" in html
    completed = client_for("ada").get("/audit/?actor=lea&action=task_completed").get_data(as_text=True)
    assert re.search(r'<tr class="changed">\s*<th scope="row">plan', completed)


def test_a_redacted_row_is_shown_as_redacted(client_for, activity: Driver) -> None:
    runtime = activity.runtime
    with runtime.unit() as u:
        target = u.session.execute(select(AuditEvent).where(AuditEvent.action == "instance_started")).scalars()
        seqs = audit.redact(u.session, list(target)[:1], at=u.now, actor="root", reason="GDPR erasure C-1")
    html = client_for("ada").get("/audit/?action=instance_started").get_data(as_text=True)
    row = html.split(f'<tr id="event-{seqs[0]}"', 1)[1].split("</tr>", 1)[0]
    assert "redacted</span>" in row and "GDPR erasure C-1" in row
    assert "Chain verified" in html


def test_the_banner_turns_red_naming_the_first_tampered_row(client_for, activity: Driver) -> None:
    ada = client_for("ada")
    html = ada.get("/audit/").get_data(as_text=True)
    assert 'class="banner banner-ok chain-status"' in html
    with activity.runtime.store.unit() as unit:
        s = unit.session
        s.execute(update(AuditEvent).where(AuditEvent.seq == 4).values(payload='{"forged":true}'))
    html = ada.get("/audit/").get_data(as_text=True)
    assert 'class="banner banner-bad chain-status"' in html
    assert "Chain broken at event #4: payload does not match its payload_hash." in html


def probes(runtime: Runtime, n: int, actor: str = "bot") -> None:
    with runtime.unit() as u:
        for i in range(n):
            audit.append(u.session, at=u.now, actor=actor, action="probe_recorded", payload={"n": i})


@pytest.fixture
def loaded_events() -> Iterator[list[int]]:
    """The seqs of the audit rows the ORM loads while the fixture is in use."""
    from sqlalchemy import event

    seen: list[int] = []

    def count(target: AuditEvent, _context: object) -> None:
        seen.append(target.seq)

    event.listen(AuditEvent, "load", count)
    yield seen
    event.remove(AuditEvent, "load", count)


def test_the_banner_costs_the_new_rows_and_the_page_not_the_whole_trail(
    client_for, runtime: Runtime, loaded_events: list[int]
) -> None:
    ada = client_for("ada")
    probes(runtime, 400)
    html = ada.get("/audit/").get_data(as_text=True)
    assert 'class="banner banner-ok chain-status"' in html
    assert len(loaded_events) >= 400  # the first load walks the chain from its first row
    with runtime.store.session() as s:
        head = audit.last_seq(s)
        assert audit.verified_mark(s)[0] == head
    probes(runtime, 3)
    loaded_events.clear()
    html = ada.get("/audit/").get_data(as_text=True)
    assert 'class="banner banner-ok chain-status"' in html
    assert f"all {head + 3} events link" in html and "This load checked the 3 events added" in html
    assert len(loaded_events) <= PAGE_SIZE + 3  # the rows after the mark, and the rows shown
    loaded_events.clear()
    ada.get("/audit/?actor=nobody")
    assert loaded_events == []  # nothing new, nothing shown: nothing read


def test_a_break_after_the_verified_mark_turns_the_banner_red_and_stops_the_mark(client_for, runtime: Runtime) -> None:
    ada = client_for("ada")
    probes(runtime, 10)
    ada.get("/audit/")
    with runtime.store.session() as s:
        mark = audit.verified_mark(s)
    probes(runtime, 5)
    with runtime.store.unit() as unit:
        s = unit.session
        s.execute(update(AuditEvent).where(AuditEvent.seq == mark[0] + 2).values(actor="mallory"))
    for _ in range(2):  # not shown on the page (filtered out), and still red on the next load
        html = ada.get("/audit/?actor=nobody").get_data(as_text=True)
        assert 'class="banner banner-bad chain-status"' in html
        assert f"Chain broken at event #{mark[0] + 2}: row fields do not match its hash." in html
    with runtime.store.session() as s:
        assert audit.verified_mark(s) == mark


def test_deleting_the_newest_rows_turns_the_banner_red_naming_them(client_for, runtime: Runtime) -> None:
    from sqlalchemy import delete

    ada = client_for("ada")
    probes(runtime, 10)
    ada.get("/audit/")
    with runtime.store.unit() as unit:
        s = unit.session
        newest = audit.last_seq(s)
        s.execute(delete(AuditEvent).where(AuditEvent.seq > newest - 4))
    html = ada.get("/audit/").get_data(as_text=True)
    assert 'class="banner banner-bad chain-status"' in html
    assert f"Chain broken at event #{newest - 3}: rows {newest - 3}..{newest} are missing" in html


def test_the_command_line_and_the_web_export_the_same_csv_for_the_same_events(
    client_for, activity: Driver, tmp_path
) -> None:
    runtime = activity.runtime
    with runtime.unit() as u:
        audit.append(u.session, at=u.now, actor="=HYPERLINK(1)", action="probe_recorded", payload={"after": {"a": 1}})
        target = u.session.execute(select(AuditEvent).where(AuditEvent.action == "instance_started")).scalars()
        audit.redact(u.session, list(target)[:1], at=u.now, actor="root", reason="GDPR erasure C-1")
    ada = client_for("ada")  # signing in is audited: before the CLI reads the trail
    out = tmp_path / "cli.csv"
    assert audit_export(runtime, argparse.Namespace(out=str(out))) == 0
    cli_text = out.read_bytes().decode("utf-8")  # as written: CRLF line ends, like the download
    response = ada.get("/audit/export.csv?order=oldest")
    assert response.get_data(as_text=True) == cli_text
    rows = list(csv.DictReader(io.StringIO(cli_text, newline="")))
    assert [r["seq"] for r in rows] == [str(e.seq) for e in reversed(all_events(runtime)[1:])]
    [probe] = [r for r in rows if r["action"] == "probe_recorded"]
    assert (probe["actor"], probe["after"], probe["before"]) == ("'=HYPERLINK(1)", '{"a":1}', "")
    redacted = next(r for r in rows if r["action"] == "instance_started")
    assert (redacted["before"], redacted["after"]) == ("", "") and "GDPR erasure C-1" in redacted["payload"]
