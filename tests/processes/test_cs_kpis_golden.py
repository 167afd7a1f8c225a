"""Golden test of the CS KPIs: the data set of tests/processes/cs_dataset.py (20 customers, MRR movements, surveys,
events, tickets, journeys), every figure worked out by hand below, for Q1 and Q2 2026 and for the enterprise segment
in Q1; the same figures from ``cs_kpis``, ``jornada kpi cs --json`` and ``GET /api/v1/kpis/cs``.

Q1 = 2026-01-01 00:00 .. 2026-03-31 23:59:59 (90 days); Q2 = 2026-04-01 .. 2026-06-30 (91 days).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine import Runtime
from engine._cli import main
from processes.kpis import FORMULAS, CsKpis, cs_kpis, monthly_series
from tests.processes.cs_dataset import golden_dataset
from tests.web.conftest import app, client_for, people  # noqa: F401  (the web fixtures, for the API)
from tests.web.test_api import conformance

Q1 = (date(2026, 1, 1), date(2026, 3, 31))
Q2 = (date(2026, 4, 1), date(2026, 6, 30))

# -- Q1, all customers ------------------------------------------------------------------------------------------
# MRR at 2026-01-01 00:00 (the start customers): E1 5000, E2 4000, E3 3000, E5 4500 | M1 1000, M2 1200, M3 1500,
#   M4 800, M6 1300 | S1 200, S2 300, S3 250, S4 150, S6 100 -> 14 customers, 16500 + 5800 + 1000 = 23300.
#   (E4 starts 02-01, S5 01-05, S7 03-01, M5 04-01; S8 never pays; S9 churned in 2025.)
# MRR at 2026-03-31 23:59:59: E1 6000, E3 2500, E4 2000, E5 4500 | M1 1000, M2 900, M4 800 (churned 02-10, back
#   03-15), M6 1300 | S1 200, S3 350, S4 150, S5 400, S6 100, S7 500; E2 0 (03-10), M3 0 (03-31 23:00), S2 0
#   -> 14 customers, 15000 + 4000 + 1700 = 20700.
# Cohort: churned E2, M3, S2 -> logo churn 3/14 = 0.2143, retention 11/14 = 0.7857 (M4 came back: not churned).
#   sum(e) = 6000+0+2500+4500+1000+900+0+800+1300+200+0+350+150+100 = 17800 -> NRR 17800/23300 = 0.7639
#   sum(min(e,s)) = 5000+0+2500+4500+1000+900+0+800+1300+200+0+250+150+100 = 16700 -> GRR 16700/23300 = 0.7167
#   check: churned 5800, contraction 800 (E3 500, M2 300), expansion 1100 (E1 1000, S3 100):
#   GRR = 1 - 6600/23300, NRR = 1 - (6600 - 1100)/23300.
# ARPA = 20700/14 = 1478.57; monthly churn = 1 - (11/14)^(30/90) = 0.077242; LTV = 1478.5714/0.077242 = 19142.27
# MRR vs previous: end of Feb 28: E 6000+4000+2500+2000+4500, M 1000+900+1500+0+1300, S 200+350+150+400+100
#   = 24900; end of 2025-12-31 = 23300; end of 2025-03-31: E5 4500 + S9 600 = 5100.
# NPS: E1 10, E2 3, E3 9, M1 8, M2 6, S1 10, S3 9, M4 0 (03-31 23:30); S6's 0 on 2025-12-31 is outside
#   -> 8 answers, promoters 4 (E1, E3, S1, S3), detractors 3 (E2, M2, M4) -> 100 * (4-3)/8 = 12.5
# CSAT: E1 5, E2 2, M1 4, S3 3, S1 5 -> 3/5 = 0.6.  CES: E1 1, M2 4, S1 2 -> 7/3 = 2.33
# Usage: events E1 3+2 (2 days), E3 1, M1 4, S1 1 (03-31 23:59), S5 2 -> 13 events on 6 customer-days;
#   per account (14 at the end): 6/14 = 0.43 active days, 13/14 = 0.93 events.
# Tickets created in Q1: T1..T5 -> 5/14 = 0.36 per account; repeats: T2 (15 days after T1) -> 1/5 = 0.2.
#   First response: T1 2h, T2 4h, T3 1h, T4 12h (T5 none yet) -> median of 1,2,4,12 = 3.0 h.
#   Resolved in Q1: T1 (first contact), T2, T3 (first contact), T6 (opened 2025-12-28) -> FCR 2/4 = 0.5
#   (T4 is resolved on 04-02).
# Onboarding: go-lives in Q1: E4 (01-10 09:00 -> 02-09 09:00) 30 days, S5 (2025-12-20 -> 01-09) 20 days -> 25.0;
#   first wins in Q1: E4 20 days, S5 15 days, S7 (02-01 -> 03-03) 30 days -> median 20.0.
Q1_ALL = {
    "customers_start": 14,
    "customers_end": 14,
    "logo_churn": 0.2143,
    "retention": 0.7857,
    "mrr_start": 23300.0,
    "mrr_end": 20700.0,
    "grr": 0.7167,
    "nrr": 0.7639,
    "nps": 12.5,
    "csat": 0.6,
    "ces": 2.33,
    "arpa": 1478.57,
    "ltv": 19142.27,
    "frt_median_hours": 3.0,
    "fcr": 0.5,
    "mrr_prev_month": 24900.0,
    "mrr_prev_quarter": 23300.0,
    "mrr_prev_year": 5100.0,
    "time_to_implement_median_days": 25.0,
    "time_to_first_value_median_days": 20.0,
    "active_days_per_account": 0.43,
    "events_per_account": 0.93,
    "tickets_per_account": 0.36,
    "repeat_ticket_rate": 0.2,
    "nps_answers": 8,
    "csat_answers": 5,
    "ces_answers": 3,
}

# -- Q2, all customers ------------------------------------------------------------------------------------------
# Start (2026-04-01 00:00): the 14 of Q1's end + M5 (new at exactly 04-01 00:00) -> 15, 20700 + 1100 = 21800.
# End (06-30 23:59:59): E1 6000, E3 3500, E4 2000 | M1 1000, M2 900, M4 800, M5 1100, M6 1600 | S1 200, S3 350,
#   S5 400, S6 100, S7 300; E5 0 (04-15), S4 0 (06-01) -> 13 customers, 11500 + 5400 + 1350 = 18250.
# Cohort: churned E5, S4 -> 2/15 = 0.1333, retention 0.8667. sum(e) = 18250 -> NRR 18250/21800 = 0.8372;
#   sum(min) = 6000+2500+2000+0+1000+900+800+1100+1300+200+350+0+400+100+300 = 16950 -> GRR 0.7775
#   check: churned 4650, contraction 200 (S7), expansion 1300 (E3 1000, M6 300).
# ARPA = 18250/13 = 1403.85; monthly churn = 1 - (13/15)^(30/91) = 0.046081 -> LTV = 30465.01
# vs previous: 05-31: as the end but M6... no: M6 1600 (05-20), S4 still 150 -> 18400; 03-31: 20700 (Q1's end);
#   2025-06-30: E1 5000, E5 4500, M1 1000, S1 200, S2 300, S9 600 = 11600.
# NPS: E1 9 (04-01 00:00), M6 5, S5 10 (06-30 23:59), S7 8; E3's 2 on 07-01 is outside -> 4 answers,
#   promoters 2, detractors 1 -> 25.0.  CSAT: M2 4, S5 1, E4 5 -> 2/3 = 0.6667.  CES: E3 3, M5 2 -> 2.5
# Usage: E1 2 (1 day), M5 2+1 (the same day), S7 1 -> 6 events, 3 days; /13 -> 0.46 events, 0.23 days.
# Tickets created: T7, T8 (20 days after T7: a repeat), T9 -> 3/13 = 0.23 per account, 1/3 = 0.3333 repeats.
#   First response: T7 0.5h, T8 6h, T9 5h (answered 07-01, created in Q2) -> median 5.0.
#   Resolved in Q2: T4 (no), T7 (first contact), T8 (no) -> FCR 1/3 = 0.3333 (T9 is resolved on 07-01).
# Onboarding: go-lives S7 (02-01 -> 04-05) 63 days, M5 (03-20 -> 04-19 12:00) 30.5 days -> 46.75 (E5 leaving
#   "active" on 04-14 and E4's plan change on 05-01 are no go-lives). First wins: M5 (03-20 -> 04-09 12:00) 20.5.
Q2_ALL = {
    "customers_start": 15,
    "customers_end": 13,
    "logo_churn": 0.1333,
    "retention": 0.8667,
    "mrr_start": 21800.0,
    "mrr_end": 18250.0,
    "grr": 0.7775,
    "nrr": 0.8372,
    "nps": 25.0,
    "csat": 0.6667,
    "ces": 2.5,
    "arpa": 1403.85,
    "ltv": 30465.01,
    "frt_median_hours": 5.0,
    "fcr": 0.3333,
    "mrr_prev_month": 18400.0,
    "mrr_prev_quarter": 20700.0,
    "mrr_prev_year": 11600.0,
    "time_to_implement_median_days": 46.75,
    "time_to_first_value_median_days": 20.5,
    "active_days_per_account": 0.23,
    "events_per_account": 0.46,
    "tickets_per_account": 0.23,
    "repeat_ticket_rate": 0.3333,
    "nps_answers": 4,
    "csat_answers": 3,
    "ces_answers": 2,
}

# -- Q1, enterprise ---------------------------------------------------------------------------------------------
# Start: E1 5000, E2 4000, E3 3000, E5 4500 -> 4, 16500. End: E1 6000, E3 2500, E4 2000, E5 4500 -> 4, 15000.
# Churned E2 -> 1/4 = 0.25, retention 0.75; sum(e) = 6000+0+2500+4500 = 13000 -> NRR 13000/16500 = 0.7879;
#   sum(min) = 5000+0+2500+4500 = 12000 -> GRR 0.7273. ARPA 15000/4 = 3750; monthly churn 1 - 0.75^(1/3) =
#   0.091440 -> LTV 41010.63. vs previous: 02-28: 6000+4000+2500+2000+4500 = 19000; 2025-12-31: 16500;
#   2025-03-31: E5 4500.
# NPS: E1 10, E2 3, E3 9 -> (2-1)/3 = 33.3; CSAT: E1 5, E2 2 -> 0.5; CES: E1 1 -> 1.0.
# Usage: E1 5 events on 2 days, E3 1 -> 6 events, 3 days; /4 -> 1.5 and 0.75.
# Tickets created: T1, T2 (repeat) -> 2/4 = 0.5 per account, repeats 1/2 = 0.5; FRT median of 2h, 4h = 3.0;
#   resolved in Q1: T1 (first contact), T2, T6 (E3) -> 1/3 = 0.3333.
# Onboarding: E4 only: 30 days to go-live, 20 days to the first win.
Q1_ENTERPRISE = {
    "customers_start": 4,
    "customers_end": 4,
    "logo_churn": 0.25,
    "retention": 0.75,
    "mrr_start": 16500.0,
    "mrr_end": 15000.0,
    "grr": 0.7273,
    "nrr": 0.7879,
    "nps": 33.3,
    "csat": 0.5,
    "ces": 1.0,
    "arpa": 3750.0,
    "ltv": 41010.63,
    "frt_median_hours": 3.0,
    "fcr": 0.3333,
    "mrr_prev_month": 19000.0,
    "mrr_prev_quarter": 16500.0,
    "mrr_prev_year": 4500.0,
    "time_to_implement_median_days": 30.0,
    "time_to_first_value_median_days": 20.0,
    "active_days_per_account": 0.75,
    "events_per_account": 1.5,
    "tickets_per_account": 0.5,
    "repeat_ticket_rate": 0.5,
    "nps_answers": 3,
    "csat_answers": 2,
    "ces_answers": 1,
}

CASES = [(Q1, None, Q1_ALL), (Q2, None, Q2_ALL), (Q1, "enterprise", Q1_ENTERPRISE)]
IDS = ["q1", "q2", "q1-enterprise"]


@pytest.fixture
def golden(runtime: Runtime) -> Runtime:
    with runtime.unit() as u:
        golden_dataset(u.session, u.now, runtime.config)
    return runtime


def figures(runtime: Runtime, period: tuple[date, date], segment: str | None = None, **kw: Any) -> CsKpis:
    with runtime.store.session() as s:
        return cs_kpis(s, first=period[0], last=period[1], segment=segment, config=runtime.config, **kw)


@pytest.mark.parametrize(("period", "segment", "expected"), CASES, ids=IDS)
def test_the_cs_kpis_match_the_figures_worked_out_by_hand(
    golden: Runtime, period: tuple[date, date], segment: str | None, expected: dict[str, Any]
) -> None:
    assert figures(golden, period, segment).as_json() == expected


def test_every_figure_has_a_formula(golden: Runtime) -> None:
    assert set(FORMULAS) == set(figures(golden, Q1).as_json())


def test_an_owner_and_an_empty_period_give_counts_and_nulls_not_errors(golden: Runtime) -> None:
    # bob in Q1: start E3 3000, M2 1200, M4 800, M6 1300, S3 250, S4 150, S6 100 = 6800 (7 customers); at the end
    # E3 2500, E4 2000, M2 900, M4 800, M6 1300, S3 350, S4 150, S6 100 = 8100 (8); nobody churned (M4 came back):
    # GRR = (2500+900+800+1300+250+150+100)/6800 = 6000/6800 = 0.8824; NRR = (8100 - 2000 for E4)/6800 = 0.8971.
    bob = figures(golden, Q1, owner="bob").as_json()
    assert (bob["customers_start"], bob["customers_end"], bob["mrr_start"], bob["mrr_end"]) == (7, 8, 6800.0, 8100.0)
    assert (bob["logo_churn"], bob["grr"], bob["nrr"], bob["ltv"]) == (0.0, 0.8824, 0.8971, None)
    # 2024: nobody paid yet -> no start customers: every ratio over them is null
    empty = figures(golden, (date(2024, 1, 1), date(2024, 12, 31))).as_json()
    assert empty["customers_start"] == 0 and empty["mrr_start"] == 0.0
    assert [empty[k] for k in ("logo_churn", "retention", "grr", "nrr", "arpa", "ltv", "nps", "csat", "ces")] == [
        None
    ] * 9
    assert [empty[k] for k in ("frt_median_hours", "fcr", "time_to_implement_median_days")] == [None] * 3


def test_the_monthly_series_of_q1(golden: Runtime) -> None:
    # Jan: end 23100 (M2 900 from 01-20, S2 churned 01-10, S5 400 from 01-05), 14 customers; churn S2 of 14 start
    #   customers = 0.0714; NPS E1 10, M1 8 -> 50.0; CSAT E1 5 -> 1.0.
    # Feb: end 24900, 14 (M4 out, E4 in); start 15 (E4 new at 02-01 00:00), churned M4 -> 1/15 = 0.0667;
    #   NPS E2 3, E3 9, S3 9 -> 33.3; CSAT E2 2, M1 4 -> 0.5.
    # Mar: end 20700, 14; start 15 (S7 at 03-01 00:00, M4 not), churned E2, M3 -> 2/15 = 0.1333;
    #   NPS M2 6, S1 10, M4 0 -> -33.3; CSAT S3 3, S1 5 -> 0.5.
    with golden.store.session() as s:
        series = monthly_series(s, first=Q1[0], last=Q1[1], config=golden.config)
    assert series == [
        {"month": "2026-01", "mrr_end": 23100.0, "customers_end": 14, "nps": 50.0, "csat": 1.0, "logo_churn": 0.0714},
        {"month": "2026-02", "mrr_end": 24900.0, "customers_end": 14, "nps": 33.3, "csat": 0.5, "logo_churn": 0.0667},
        {"month": "2026-03", "mrr_end": 20700.0, "customers_end": 14, "nps": -33.3, "csat": 0.5, "logo_churn": 0.1333},
    ]


# -- the same figures from the command line and the API ---------------------------------------------------------
@pytest.fixture
def cli(golden: Runtime, database_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[..., int]:
    monkeypatch.setenv("JORNADA_DATABASE_URL", database_url)
    monkeypatch.setenv("JORNADA_DATA_DIR", str(tmp_path / "cli-var"))

    def run(*argv: str) -> int:
        return main(list(argv))

    return run


def _period_args(period: tuple[date, date], segment: str | None) -> list[str]:
    return [
        "--from",
        period[0].isoformat(),
        "--to",
        period[1].isoformat(),
        *(["--segment", segment] if segment else []),
    ]


@pytest.mark.parametrize(("period", "segment", "expected"), CASES, ids=IDS)
def test_jornada_kpi_cs_json_prints_the_same_figures(
    cli: Callable[..., int], capsys: pytest.CaptureFixture[str], period: Any, segment: Any, expected: Any
) -> None:
    assert cli("kpi", "cs", *_period_args(period, segment), "--json") == 0
    assert json.loads(capsys.readouterr().out) == expected


def test_jornada_kpi_cs_prints_a_table_with_the_formulas(cli: Callable[..., int], capsys: Any) -> None:
    assert cli("kpi", "cs", *_period_args(Q1, None)) == 0
    out = capsys.readouterr().out
    assert "logo_churn" in out and "21.4 %" in out and FORMULAS["logo_churn"] in out
    assert "23,300.00" in out and FORMULAS["nrr"] in out


def test_jornada_kpi_cs_refuses_bad_dates_and_a_reversed_period(cli: Callable[..., int], capsys: Any) -> None:
    with pytest.raises(SystemExit) as bad:
        cli("kpi", "cs", "--from", "2026-02-30", "--to", "2026-03-31", "--json")
    assert bad.value.code == 2
    assert "'2026-02-30' is not a date (YYYY-MM-DD)" in capsys.readouterr().err
    assert cli("kpi", "cs", "--from", "2026-03-31", "--to", "2026-01-01", "--json") == 2
    assert "before --from" in capsys.readouterr().err
    assert cli("kpi", "cs", "--json") == 2
    assert "needs --from" in capsys.readouterr().err


@pytest.mark.parametrize(("period", "segment", "expected"), CASES, ids=IDS)
def test_the_api_answers_the_same_figures_with_their_formulas(
    golden: Runtime,
    client_for: Callable[[str], FlaskClient],  # noqa: F811
    period: Any,
    segment: Any,
    expected: Any,
) -> None:
    query = f"from={period[0]}&to={period[1]}" + (f"&segment={segment}" if segment else "")
    response = client_for("lea").get(f"/api/v1/kpis/cs?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    schema = {"$ref": "#/components/schemas/CsKpis"}
    assert conformance(body, schema, client_for("lea").get("/api/v1/openapi.json").get_json()) == []
    assert body.pop("formulas") == FORMULAS
    assert body == expected


def test_the_api_names_each_bad_parameter(
    golden: Runtime,
    client_for: Callable[[str], FlaskClient],  # noqa: F811
) -> None:
    lea = client_for("lea")
    missing = lea.get("/api/v1/kpis/cs?from=2026-13-01&segment=giant")
    assert missing.status_code == 422
    assert set(missing.get_json()["fields"]) == {"from", "to", "segment"}
    reversed_ = lea.get("/api/v1/kpis/cs?from=2026-03-31&to=2026-01-01")
    assert (reversed_.status_code, reversed_.get_json()["fields"]) == (422, {"to": "must not be before from"})
    assert client_for("sam").get("/api/v1/kpis/cs?from=2026-01-01&to=2026-03-31").status_code == 403
