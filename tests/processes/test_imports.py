"""CSV imports: a good file imports everything in one transaction; a file with any bad row imports nothing and the
refusal names every bad row and column."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import FrozenClock, Runtime
from engine.models import AuditEvent
from processes.customers import Customer, MrrMovement, create_customer
from processes.events import ProductEvent, record_event
from processes.imports import ImportRefused, ImportResult, RowError, Source, import_file
from processes.rollups import CsDaily, CustomerDay
from processes.surveys import SurveyAnswer, record_answer

CUSTOMERS = "id,name,email,segment,plan,mrr,csm_owner,contract_start,renewal_date,stage\n"


def run(runtime: Runtime, kind: str, text: str | bytes, name: str = "file.csv") -> ImportResult:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return import_file(runtime, kind, Source(name=name, data=data), actor="lea")


def refused(runtime: Runtime, kind: str, text: str | bytes) -> list[tuple[int, str, str]]:
    with pytest.raises(ImportRefused) as caught:
        run(runtime, kind, text)
    return [(e.row, e.column, e.code) for e in caught.value.errors]


def counts(runtime: Runtime) -> dict[str, int]:
    tables = [Customer, MrrMovement, SurveyAnswer, ProductEvent, CsDaily, CustomerDay, AuditEvent]
    with runtime.store.session() as s:
        return {t.__tablename__: s.execute(select(func.count()).select_from(t)).scalar_one() for t in tables}


@pytest.fixture
def acme(runtime: Runtime) -> Runtime:
    """Customers C-1 (smb, owner ana) and C-2 (enterprise, owner bruno), with no MRR history."""
    with runtime.unit() as u:
        create_customer(u.session, "C-1", "Acme", now=u.now, segment="smb", csm_owner="ana", stage="active")
        create_customer(u.session, "C-2", "Globex", now=u.now, segment="enterprise", csm_owner="bruno")
    return runtime


# -- customers ------------------------------------------------------------------------------------------------------
def test_a_good_customers_file_creates_every_customer_with_its_first_movement_and_audits_it(runtime: Runtime) -> None:
    text = CUSTOMERS + (
        "C-10,Initech,ops@initech.example,smb,growth,1200.50,ana,2025-01-01,2026-01-01,active\n"
        "C-11,Hooli,,enterprise,,0,,2025-06-01,,onboarding\n"
        'C-12,"Stark, Inc.",it@stark.example,mid_market,pro,800,bruno,,,prospect\n'
    )
    result = run(runtime, "customers", text, "accounts.csv")
    assert (result.rows, result.created, result.summary) == (3, 3, "imported 3 customers from accounts.csv")
    with runtime.store.session() as s:
        initech = s.get(Customer, "C-10")
        hooli = s.get(Customer, "C-11")
        stark = s.get(Customer, "C-12")
        assert initech is not None and hooli is not None and stark is not None
        assert (initech.mrr, initech.plan, initech.csm_owner, initech.renewal_date) == (
            1200.5,
            "growth",
            "ana",
            date(2026, 1, 1),
        )
        assert (hooli.email, hooli.plan, hooli.csm_owner, hooli.mrr) == (None, "standard", None, 0.0)
        assert stark.name == "Stark, Inc."
        moves = s.execute(select(MrrMovement).order_by(MrrMovement.customer_id)).scalars().all()
        assert [(m.customer_id, m.kind, m.new_mrr, m.at) for m in moves] == [
            ("C-10", "new", 1200.5, datetime(2025, 1, 1, tzinfo=UTC)),
            ("C-12", "new", 800.0, runtime.clock.now()),  # no contract start: from now
        ]
        events = s.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    created = [e for e in events if e.action == "customer_created"]
    assert [e.customer_id for e in created] == ["C-10", "C-11", "C-12"]
    assert json.loads(created[0].payload)["after"]["contract_start"] == "2025-01-01"
    done = json.loads(events[-1].payload)
    assert events[-1].action == "import_completed" and events[-1].actor == "lea"
    assert done["kind"] == "customers" and done["file"] == "accounts.csv" and done["rows"] == 3
    assert done["sha256"] == result.sha256 and len(result.sha256) == 64


def test_importing_a_customer_again_updates_it_and_audits_before_and_after(acme: Runtime) -> None:
    run(acme, "customers", CUSTOMERS + "C-1,Acme Corp,cs@acme.example,mid_market,pro,500,ana,2025-03-01,,active\n")
    with acme.store.session() as s:
        acme_row = s.get(Customer, "C-1")
        assert acme_row is not None
        assert (acme_row.name, acme_row.segment, acme_row.mrr) == ("Acme Corp", "mid_market", 500.0)
        updated = s.execute(select(AuditEvent).where(AuditEvent.action == "customer_updated")).scalar_one()
    payload = json.loads(updated.payload)
    assert payload["before"]["name"] == "Acme" and payload["after"]["name"] == "Acme Corp"
    assert payload["before"]["mrr"] == 0.0 and payload["after"]["mrr"] == 500.0
    # a second time: nothing changes, and the MRR history is not touched by a customers file
    again = run(
        acme, "customers", CUSTOMERS + "C-1,Acme Corp,cs@acme.example,mid_market,pro,900,ana,2025-03-01,,active\n"
    )
    assert (again.updated, again.unchanged) == (0, 1) and again.kept_mrr == ["C-1"]
    with acme.store.session() as s:
        assert s.execute(select(func.count()).select_from(MrrMovement)).scalar_one() == 1


def test_a_customers_file_with_one_bad_row_imports_nothing_and_names_the_row_and_column(acme: Runtime) -> None:
    before = counts(acme)
    text = CUSTOMERS + (
        "C-10,Initech,,smb,,100,,2025-01-01,,active\n"
        "C-11,Hooli,,huge,,100,,2025-01-01,,active\n"
        "C-12,Stark,,smb,,100,,2025-01-01,,active\n"
    )
    assert refused(acme, "customers", text) == [(3, "segment", "not_one_of")]
    assert counts(acme) == before


def test_every_bad_row_and_column_is_reported_not_only_the_first(acme: Runtime) -> None:
    before = counts(acme)
    text = CUSTOMERS + (
        "C-10,,not-an-email,smb,,-5,,2025-01-01,2024-01-01,active\n"  # row 2: name, email, mrr, renewal before start
        "C-11,Hooli,,smb,,abc,,01/02/2025,,sleeping\n"  # row 3: mrr, contract_start, stage
        "C-12,Stark,,smb,,100,,,,active\n"  # row 4: good
        "C-10,Initech,,smb,,100,,,,active\n"  # row 5: the id again
        "C-13,Wayne,,smb\n"  # row 6: too few values
    )
    found = refused(acme, "customers", text)
    assert found == [
        (2, "name", "required"),
        (2, "email", "not_an_email"),
        (2, "mrr", "negative"),
        (2, "renewal_date", "renewal_before_start"),
        (3, "mrr", "not_a_number"),
        (3, "contract_start", "not_a_date"),
        (3, "stage", "not_one_of"),
        (5, "id", "duplicate_id"),
        (6, "", "missing_value"),
    ]
    assert counts(acme) == before
    with pytest.raises(ImportRefused) as caught:
        run(acme, "customers", text)
    messages = [str(e) for e in caught.value.errors]
    assert "row 3, column stage: 'sleeping' is not one of prospect, onboarding" in messages[6]
    assert messages[7] == "row 5, column id: the id 'C-10' is already on row 2"
    assert str(caught.value) == "file.csv: 9 error(s) on 4 row(s); nothing was imported"


def test_a_renewal_before_the_contract_start_is_refused(runtime: Runtime) -> None:
    text = CUSTOMERS + "C-10,Initech,,smb,,0,,2025-06-01,2025-01-01,active\n"
    assert refused(runtime, "customers", text) == [(2, "renewal_date", "renewal_before_start")]


# -- the header and the encoding -------------------------------------------------------------------------------------
def test_missing_extra_and_repeated_header_columns_are_refused_by_name(runtime: Runtime) -> None:
    assert refused(runtime, "mrr", "customer_id,at\nC-1,2025-01-01\n") == [(1, "new_mrr", "missing_column")]
    assert refused(runtime, "mrr", "customer_id,at,new_mrr,note\nC-1,2025-01-01,5,x\n") == [
        (1, "note", "unknown_column")
    ]
    assert refused(runtime, "mrr", "customer_id,at,at,new_mrr\n") == [(1, "at", "duplicate_column")]


def test_an_empty_file_and_a_header_without_rows_are_refused(runtime: Runtime) -> None:
    assert refused(runtime, "events", "") == [(1, "", "empty_file")]
    assert refused(runtime, "events", "customer_id,name,at,properties\n") == [(2, "", "no_rows")]


def test_a_file_that_is_not_utf8_is_refused_naming_the_row_and_byte(acme: Runtime) -> None:
    data = b"customer_id,name,at,properties\nC-1,login,2025-01-01,\nC-1," + "relatório".encode("latin-1")
    data += b",2025-01-02,\n"
    with pytest.raises(ImportRefused) as caught:
        run(acme, "events", data)
    (error,) = caught.value.errors
    assert (error.row, error.code) == (3, "not_utf8")
    assert str(error) == "row 3: the file is not UTF-8 text: byte 0xf3 at byte offset 62 (save it as CSV UTF-8)"
    assert counts(acme)["product_event"] == 0


def test_a_file_holding_a_nul_character_is_refused_naming_the_row_and_offset(acme: Runtime) -> None:
    data = b"customer_id,name,at,properties\nC-1,log\x00in,2025-01-01,\n"
    with pytest.raises(ImportRefused) as caught:
        run(acme, "events", data)
    (error,) = caught.value.errors
    assert str(error) == "row 2: the file holds a NUL character at byte offset 38"
    assert counts(acme)["product_event"] == 0


def test_a_byte_order_mark_and_columns_in_another_order_are_fine(acme: Runtime) -> None:
    text = "\ufeffat,new_mrr,customer_id\r\n2025-01-01,100,C-1\r\n"
    assert run(acme, "mrr", text).rows == 1


# -- MRR movements ------------------------------------------------------------------------------------------------
def test_an_mrr_file_becomes_the_history_classified_from_the_previous_value(acme: Runtime) -> None:
    text = "customer_id,at,new_mrr\n" + (
        "C-1,2025-03-01,150\n"  # out of order on purpose: sorted by customer and time
        "C-1,2025-01-01,100\n"
        "C-1,2025-04-01T12:00:00,0\n"
        "C-1,2025-06-01T09:00:00-03:00,80\n"
        "C-2,2025-01-01,1000\n"
        "C-2,2025-02-01,700\n"
    )
    result = run(acme, "mrr", text)
    assert result.movements == {"new": 2, "expansion": 1, "churn": 1, "reactivation": 1, "contraction": 1}
    with acme.store.session() as s:
        moves = s.execute(
            select(MrrMovement.customer_id, MrrMovement.at, MrrMovement.kind, MrrMovement.old_mrr).order_by(
                MrrMovement.customer_id, MrrMovement.at
            )
        ).all()
        assert [tuple(m) for m in moves] == [
            ("C-1", datetime(2025, 1, 1, tzinfo=UTC), "new", 0.0),
            ("C-1", datetime(2025, 3, 1, tzinfo=UTC), "expansion", 100.0),
            ("C-1", datetime(2025, 4, 1, 12, tzinfo=UTC), "churn", 150.0),
            ("C-1", datetime(2025, 6, 1, 12, tzinfo=UTC), "reactivation", 0.0),  # -03:00 is 12:00 UTC
            ("C-2", datetime(2025, 1, 1, tzinfo=UTC), "new", 0.0),
            ("C-2", datetime(2025, 2, 1, tzinfo=UTC), "contraction", 1000.0),
        ]
        assert [c.mrr for c in s.execute(select(Customer).order_by(Customer.id)).scalars()] == [80.0, 700.0]
    again = run(acme, "mrr", text)  # the same file again records nothing twice
    assert (again.skipped, again.movements) == (6, {})


def test_an_mrr_file_with_bad_rows_records_no_movement(acme: Runtime) -> None:
    before = counts(acme)
    text = "customer_id,at,new_mrr\n" + (
        "C-1,2025-01-01,100\nNOPE,2025-02-01,100\nC-1,2025-01-01,200\nC-2,2027-01-01,-1\nC-2,yesterday,\n"
    )
    assert refused(acme, "mrr", text) == [
        (3, "customer_id", "unknown_customer"),
        (4, "at", "duplicate_movement"),
        (5, "at", "in_future"),
        (5, "new_mrr", "negative"),
        (6, "at", "not_an_instant"),
        (6, "new_mrr", "required"),
    ]
    assert counts(acme) == before


# -- surveys -----------------------------------------------------------------------------------------------------------
def test_a_surveys_file_stores_every_answer_with_its_scale_and_counts_the_rollups(acme: Runtime) -> None:
    text = "customer_id,kind,score,at,comment\n" + (
        "C-1,nps,10,2025-05-01,great\n"
        'C-1,nps,3,2025-05-01T23:30:00,"slow, buggy"\n'
        "C-2,nps,8,2025-05-01,\n"
        "C-1,csat,4,2025-05-02,\n"
        "C-2,ces,5,2025-05-02,hard\n"
    )
    assert run(acme, "surveys", text).rows == 5
    with acme.store.session() as s:
        answers = s.execute(select(SurveyAnswer).order_by(SurveyAnswer.id)).scalars().all()
        assert [(a.kind, a.score, a.scale_min, a.scale_max, a.source) for a in answers][-1] == (
            "ces",
            5,
            0,
            5,
            "import",
        )
        assert answers[1].comment == "slow, buggy"
        rollup = {
            (r.day, r.segment): (
                r.nps_n,
                r.nps_promoters,
                r.nps_detractors,
                r.csat_n,
                r.csat_satisfied,
                r.ces_n,
                r.ces_sum,
            )
            for r in s.execute(select(CsDaily)).scalars()
        }
    with acme.store.session() as s:  # answers are an input of the health score: recomputed in the import
        assert [c.health_updated_at for c in s.execute(select(Customer)).scalars()] == [acme.clock.now()] * 2
    assert rollup == {
        (date(2025, 5, 1), "smb"): (2, 1, 1, 0, 0, 0, 0.0),
        (date(2025, 5, 1), "enterprise"): (1, 0, 0, 0, 0, 0, 0.0),
        (date(2025, 5, 2), "smb"): (0, 0, 0, 1, 1, 0, 0.0),
        (date(2025, 5, 2), "enterprise"): (0, 0, 0, 0, 0, 1, 5.0),
    }


def test_survey_scores_are_checked_against_their_kind_s_scale(acme: Runtime) -> None:
    before = counts(acme)
    text = "customer_id,kind,score,at,comment\n" + (
        "C-1,nps,11,2025-05-01,\n"
        "C-1,csat,0,2025-05-01,\n"
        "C-1,ces,6,2025-05-01,\n"
        "C-1,ces,4.5,2025-05-01,\n"
        "C-1,stars,4,2025-05-01,\n"
        "C-1,nps,10,2025-05-01,fine\n"
    )
    assert refused(acme, "surveys", text) == [
        (2, "score", "out_of_scale"),
        (3, "score", "out_of_scale"),
        (4, "score", "out_of_scale"),
        (5, "score", "not_a_whole_number"),
        (6, "kind", "not_one_of"),
    ]
    assert counts(acme) == before


def test_batched_survey_rollups_equal_those_of_record_answer(acme: Runtime, clock: FrozenClock) -> None:
    rows = [("C-1", "nps", 9), ("C-1", "nps", 6), ("C-2", "csat", 5), ("C-2", "ces", 2), ("C-1", "csat", 3)]
    text = "customer_id,kind,score,at,comment\n" + "".join(f"{c},{k},{n},2025-05-01T10:00:00,\n" for c, k, n in rows)
    run(acme, "surveys", text)
    with acme.store.session() as s:
        imported = sorted(
            tuple(getattr(r, c.name) for c in CsDaily.__table__.columns) for r in s.execute(select(CsDaily)).scalars()
        )
        s.execute(CsDaily.__table__.delete())
        s.commit()
    with acme.unit() as u:
        for customer_id, kind, score in rows:
            customer = u.session.get(Customer, customer_id)
            assert customer is not None
            at = datetime(2025, 5, 1, 10, tzinfo=UTC)
            record_answer(u.session, acme.config, customer=customer, kind=kind, score=score, at=at, source="api")
    with acme.store.session() as s:
        recorded = sorted(
            tuple(getattr(r, c.name) for c in CsDaily.__table__.columns) for r in s.execute(select(CsDaily)).scalars()
        )
    assert imported == recorded


# -- events ----------------------------------------------------------------------------------------------------------
EVENTS = "customer_id,name,at,properties\n"


def test_an_events_file_stores_every_event_and_counts_active_days(acme: Runtime) -> None:
    text = EVENTS + (
        'C-1,login,2025-05-01T08:00:00,"{""user"": ""ana""}"\n'
        "C-1,report_run,2025-05-01T09:00:00Z,\n"
        "C-1,login,2025-05-02,{}\n"
        'C-2,login,2025-05-01T23:00:00-03:00,"{""seats"": 3}"\n'  # 02:00 UTC on May 2
    )
    result = run(acme, "events", text)
    assert result.summary == "imported 4 events from file.csv"
    with acme.store.session() as s:
        events = s.execute(select(ProductEvent).order_by(ProductEvent.id)).scalars().all()
        assert (events[0].customer_id, events[0].name, events[0].source) == ("C-1", "login", "import")
        assert json.loads(events[0].properties) == {"user": "ana"} and events[1].properties == "{}"
        days = {(d.customer_id, d.day): d.events for d in s.execute(select(CustomerDay)).scalars()}
        daily = {
            (r.day, r.segment, r.csm_owner): (r.events, r.active_days) for r in s.execute(select(CsDaily)).scalars()
        }
        audit = s.execute(select(AuditEvent).where(AuditEvent.action == "import_completed")).scalar_one()
    assert days == {("C-1", date(2025, 5, 1)): 2, ("C-1", date(2025, 5, 2)): 1, ("C-2", date(2025, 5, 2)): 1}
    assert daily == {
        (date(2025, 5, 1), "smb", "ana"): (2, 1),
        (date(2025, 5, 2), "smb", "ana"): (1, 1),
        (date(2025, 5, 2), "enterprise", "bruno"): (1, 1),
    }
    assert json.loads(audit.payload)["kind"] == "events"


def test_imported_events_add_to_the_rollups_of_days_already_counted(
    acme: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    with acme.unit() as u:
        customer = u.session.get(Customer, "C-1")
        assert customer is not None
        at = datetime(2025, 5, 1, 7, tzinfo=UTC)
        record_event(u.session, customer=customer, name="login", at=at, properties={}, source="api", now=u.now)
    monkeypatch.setattr("processes.imports.writing.BATCH", 2)  # batches that split a day
    run(acme, "events", EVENTS + "C-1,a,2025-05-01,\nC-1,b,2025-05-01,\nC-1,c,2025-05-01,\nC-1,d,2025-05-03,\n")
    with acme.store.session() as s:
        days = {d.day: d.events for d in s.execute(select(CustomerDay)).scalars()}
        daily = {r.day: (r.events, r.active_days) for r in s.execute(select(CsDaily)).scalars()}
    assert days == {date(2025, 5, 1): 4, date(2025, 5, 3): 1}
    assert daily == {date(2025, 5, 1): (4, 1), date(2025, 5, 3): (1, 1)}


def test_an_events_file_with_bad_rows_stores_nothing(acme: Runtime) -> None:
    before = counts(acme)
    text = EVENTS + (
        "C-1,login,2025-05-01,{}\n"
        "C-1,,2025-05-01,\n"
        'C-1,login,2025-05-01,"[1, 2]"\n'
        'C-1,login,2025-05-01,"{""a"": 1}",extra\n'
        "C-9,login,2026-02-01,not json\n"
    )
    assert refused(acme, "events", text) == [
        (3, "name", "required"),
        (4, "properties", "not_json_object"),
        (5, "", "extra_value"),
        (6, "customer_id", "unknown_customer"),
        (6, "at", "in_future"),
        (6, "properties", "not_json_object"),
    ]
    assert counts(acme) == before


def test_a_failure_while_writing_rolls_the_whole_import_back(acme: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    before = counts(acme)
    monkeypatch.setattr("processes.imports.writing.BATCH", 2)
    calls = []

    def broken(*args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")

    monkeypatch.setattr("processes.imports.writing._count_days", broken)
    with pytest.raises(RuntimeError):
        run(acme, "events", EVENTS + "C-1,a,2025-05-01,\nC-1,b,2025-05-01,\nC-1,c,2025-05-02,\n")
    assert counts(acme) == before


def test_a_long_file_is_streamed_and_listed_errors_are_capped_but_all_counted(
    acme: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "events.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write(EVENTS)
        for i in range(20_000):
            out.write(f"C-{1 + i % 2},e{i % 7},2025-0{1 + i % 9}-1{i % 10}T0{i % 10}:00:00,\n")
    result = import_file(acme, "events", Source(name="events.csv", path=path), actor="lea")
    assert result.rows == 20_000 and counts(acme)["product_event"] == 20_000
    with acme.store.session() as s:
        assert s.execute(select(func.sum(CustomerDay.events))).scalar_one() == 20_000
        assert s.execute(select(func.sum(CsDaily.events))).scalar_one() == 20_000
    monkeypatch.setattr("processes.imports.MAX_LISTED", 3)
    with pytest.raises(ImportRefused) as caught:
        run(acme, "events", EVENTS + "NOPE,a,2025-01-01,\n" * 5)
    assert (len(caught.value.errors), caught.value.total) == (3, 5)


def test_a_row_error_reads_as_row_column_and_message() -> None:
    error = RowError(7, "at", "not_a_date", {"value": "31/01/2025"})
    assert str(error) == "row 7, column at: '31/01/2025' is not a date (YYYY-MM-DD)"
