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
from tests.processes.cs_dataset import CASES, IDS, Q1, golden_dataset
from tests.web.helpers import conformance


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
    client_for: Callable[[str], FlaskClient],
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
    client_for: Callable[[str], FlaskClient],
) -> None:
    lea = client_for("lea")
    missing = lea.get("/api/v1/kpis/cs?from=2026-13-01&segment=giant")
    assert missing.status_code == 422
    assert set(missing.get_json()["fields"]) == {"from", "to", "segment"}
    reversed_ = lea.get("/api/v1/kpis/cs?from=2026-03-31&to=2026-01-01")
    assert (reversed_.status_code, reversed_.get_json()["fields"]) == (422, {"to": "must not be before from"})
    assert client_for("sam").get("/api/v1/kpis/cs?from=2026-01-01&to=2026-03-31").status_code == 403
