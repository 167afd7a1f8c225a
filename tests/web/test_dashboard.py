"""The CS dashboard page on the golden data set (tests/processes/cs_dataset.py): every card shows the figure
``cs_kpis`` computes for the same filters, formatted as the page formats it, and a few match the hand-computed
numbers of tests/processes/test_cs_kpis_golden.py literally; the CSV export carries the same figures; bad filters
are a 422 that names the field, never a 500; leads, admins and auditors read it, staff do not."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import Runtime
from processes.kpis import cs_kpis
from tests.processes.cs_dataset import CASES, IDS, Q1, golden_dataset
from web.customers.dashboard import shown
from web.customers.labels import FORMULAS

CARD = re.compile(
    r'<div class="kpi-card" id="kpi-(?P<key>\w+)">\s*<span class="kpi-label">(?P<label>[^<]*)</span>\s*'
    r'<span class="kpi-value">(?P<value>[^<]*)</span>'
)


@pytest.fixture
def golden(runtime: Runtime) -> Runtime:
    with runtime.unit() as u:
        golden_dataset(u.session, u.now, runtime.config)
    return runtime


def query(period: tuple[date, date], segment: str | None = None) -> str:
    return f"from={period[0]}&to={period[1]}" + (f"&segment={segment}" if segment else "")


def shown_cards(text: str) -> dict[str, str]:
    return {m["key"]: html.unescape(m["value"]) for m in CARD.finditer(text)}


def expected_cards(app: Flask, runtime: Runtime, period: tuple[date, date], segment: str | None) -> dict[str, str]:
    with runtime.store.session() as s:
        values = cs_kpis(s, first=period[0], last=period[1], segment=segment, config=runtime.config).as_json()
    with app.test_request_context(headers={"Accept-Language": "en"}):
        return {key: shown(key, values[key]) for key in FORMULAS}


@pytest.mark.parametrize(("period", "segment", "expected"), CASES, ids=IDS)
def test_every_card_shows_the_figure_cs_kpis_computes(
    golden: Runtime,
    app: Flask,
    client_for: Callable[[str], FlaskClient],
    period: tuple[date, date],
    segment: str | None,
    expected: dict[str, Any],
) -> None:
    response = client_for("lea").get(f"/cs/?{query(period, segment)}")
    assert response.status_code == 200, response.get_data(as_text=True)
    cards = shown_cards(response.get_data(as_text=True))
    assert list(cards) == list(FORMULAS)
    assert cards == expected_cards(app, golden, period, segment)
    # the hand-computed figures themselves, through the page's formatting
    with app.test_request_context(headers={"Accept-Language": "en"}):
        for key in ("nps", "logo_churn", "nrr", "grr", "mrr_end", "arpa", "customers_start"):
            assert cards[key] == shown(key, expected[key])


def test_the_q1_cards_read_as_worked_out_by_hand(golden: Runtime, client_for: Callable[[str], FlaskClient]) -> None:
    cards = shown_cards(client_for("lea").get(f"/cs/?{query(Q1)}").get_data(as_text=True))
    assert (cards["nps"], cards["logo_churn"], cards["retention"], cards["nrr"], cards["grr"]) == (
        "+12.5",
        "21.4%",
        "78.6%",
        "76.4%",
        "71.7%",
    )
    assert (cards["customers_start"], cards["mrr_start"], cards["mrr_end"], cards["arpa"], cards["ltv"]) == (
        "14",
        "23,300",
        "20,700",
        "1,479",
        "19,142",
    )
    assert (cards["csat"], cards["ces"], cards["frt_median_hours"], cards["fcr"]) == ("60.0%", "2.33", "3", "50.0%")
    enterprise = shown_cards(client_for("lea").get(f"/cs/?{query(Q1, 'enterprise')}").get_data(as_text=True))
    assert (enterprise["nps"], enterprise["logo_churn"], enterprise["nrr"]) == ("+33.3", "25.0%", "78.8%")


def test_the_pt_br_page_uses_the_decimal_comma(
    golden: Runtime, app: Flask, client_for: Callable[[str], FlaskClient]
) -> None:
    lea = client_for("lea")
    cards = shown_cards(lea.get(f"/cs/?{query(Q1)}", headers={"Accept-Language": "pt-BR"}).get_data(as_text=True))
    # lea has no language of her own: the browser's choice applies
    assert (cards["nps"], cards["logo_churn"], cards["mrr_start"], cards["ces"]) == ("+12,5", "21,4%", "23.300", "2,33")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", ["+12.5", "0.0", "-33.3", "21.4%", "0.0%", "23,300", "2.33", "3", "–"]),
        ("pt-BR", ["+12,5", "0,0", "-33,3", "21,4%", "0,0%", "23.300", "2,33", "3", "–"]),
    ],
)
def test_shown_formats_each_kind_of_figure(app: Flask, language: str, expected: list[str]) -> None:
    figures: list[tuple[str, float | None]] = [
        ("nps", 12.5),
        ("nps", 0.0),
        ("nps", -33.3),
        ("logo_churn", 0.2143),
        ("grr", 0.0),
    ]
    figures += [("mrr_end", 23300.0), ("ces", 2.33), ("frt_median_hours", 3.0), ("nrr", None)]
    with app.test_request_context(headers={"Accept-Language": language}):
        assert [shown(key, value).replace("\xa0", "") for key, value in figures] == expected


def test_an_empty_database_shows_dashes_and_empty_states(client_for: Callable[[str], FlaskClient]) -> None:
    response = client_for("lea").get("/cs/")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    cards = shown_cards(text)
    assert cards["customers_start"] == "0" and cards["mrr_end"] == "0"
    for key in ("logo_churn", "retention", "grr", "nrr", "arpa", "ltv", "nps", "csat", "ces", "fcr"):
        assert cards[key] == "–", key
    assert "No customer is at risk or on watch." in text
    # nothing to draw: a sentence instead of each empty chart
    assert 'class="chart"' not in text
    for sentence in (
        "No customer paid in these months.",
        "No NPS answer in these months.",
        "No customer was active at the start of these months.",
        "No customer has a health score yet.",
    ):
        assert sentence in text
    assert "0 answers" in text


def test_the_survey_cards_say_how_many_answers_they_rest_on(
    golden: Runtime, client_for: Callable[[str], FlaskClient]
) -> None:
    text = client_for("lea").get(f"/cs/?{query(Q1)}").get_data(as_text=True)
    answers = dict(re.findall(r'id="kpi-(\w+)">(?:(?!</div>).)*?<span class="answers[^"]*">([^<]*)</span>', text, re.S))
    assert answers == {"nps": "8 answers", "csat": "5 answers", "ces": "3 answers"}
    enterprise = client_for("lea").get(f"/cs/?{query(Q1, 'enterprise')}").get_data(as_text=True)
    assert "1 answer<" in enterprise  # CES: E1 alone


def test_the_charts_carry_the_monthly_series(golden: Runtime, client_for: Callable[[str], FlaskClient]) -> None:
    with golden.unit() as u:
        from processes.customers import Customer

        for cid, score in (("E1", 100.0), ("E2", 12.0), ("M1", 5.0)):
            found = u.session.get(Customer, cid)
            assert found is not None
            found.health_score, found.health_band = score, "healthy"
    text = client_for("lea").get(f"/cs/?{query(Q1)}").get_data(as_text=True)
    charts = [json.loads(html.unescape(c)) for c in re.findall(r"data-chart='([^']*)'", text)]
    mrr, nps, churn, health = charts
    assert mrr["type"] == "line" and mrr["data"]["labels"] == ["2026-01", "2026-02", "2026-03"]
    assert mrr["data"]["datasets"][0]["data"] == [23100.0, 24900.0, 20700.0]
    assert nps["data"]["datasets"][0]["data"] == [50.0, 33.3, -33.3]
    assert churn["data"]["datasets"][0]["data"] == [7.1, 6.7, 13.3]
    assert health["data"]["labels"][0] == "0–9" and health["data"]["labels"][-1] == "90–100"
    assert health["data"]["datasets"][0]["data"] == [1, 1, 0, 0, 0, 0, 0, 0, 0, 1]


@pytest.mark.parametrize(("period", "segment", "expected"), CASES, ids=IDS)
def test_the_csv_has_the_same_figures(
    golden: Runtime,
    app: Flask,
    client_for: Callable[[str], FlaskClient],
    period: tuple[date, date],
    segment: str | None,
    expected: dict[str, Any],
) -> None:
    lea = client_for("lea")
    response = lea.get(f"/cs/export.csv?{query(period, segment)}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert f"cs-kpis-{period[0]}-{period[1]}.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    kpi = {row["key"]: row["value"] for row in rows if row["section"] == "kpi"}
    assert list(kpi) == list(FORMULAS)
    assert kpi == {key: "" if expected[key] is None else str(expected[key]) for key in FORMULAS}
    filters = {row["key"]: row["value"] for row in rows if row["section"] == "filters"}
    assert filters == {"period": f"{period[0]}..{period[1]}", "segment": segment or "", "owner": ""}
    # …and the page shows exactly these, formatted
    cards = shown_cards(lea.get(f"/cs/?{query(period, segment)}").get_data(as_text=True))
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert cards == {key: shown(key, float(value) if value else None) for key, value in kpi.items()}
    months = [row["key"] for row in rows if row["section"] == "month"]
    assert months[0] == f"{period[0]:%Y-%m}:mrr_end" and len(months) == 3 * 5


def test_the_download_link_keeps_the_filters(golden: Runtime, client_for: Callable[[str], FlaskClient]) -> None:
    text = client_for("lea").get("/cs/?from=2026-01-01&to=2026-03-31&segment=smb&owner=bob").get_data(as_text=True)
    link = re.search(r'href="(/cs/export\.csv\?[^"]+)"', text)
    assert link
    assert set(html.unescape(link.group(1)).split("?")[1].split("&")) == {
        "from=2026-01-01",
        "to=2026-03-31",
        "segment=smb",
        "owner=bob",
    }


@pytest.mark.parametrize(
    ("args", "field", "message"),
    [
        ("from=2026-03-31&to=2026-01-01", "to", "To: 2026-01-01 is before From (2026-03-31)."),
        ("from=2026-02-30&to=2026-03-31", "from", "From: “2026-02-30” is not a date (YYYY-MM-DD)."),
        ("from=2026-01-01&to=yesterday", "to", "To: “yesterday” is not a date (YYYY-MM-DD)."),
        ("segment=giant", "segment", "Segment: “giant” is not a segment."),
        ("owner=nobody", "owner", "Owner: “nobody” owns no customer."),
        ("from=<script>", "from", "From: “&lt;script&gt;” is not a date (YYYY-MM-DD)."),
        ("from=9999-12-01&to=9999-12-31", "from", "From: 9999-12-01 is outside the years 1900–2999."),
        ("from=2026-01-01&to=0001-01-31", "to", "To: 0001-01-31 is outside the years 1900–2999."),
        ("from=2016-01-01&to=2026-01-01", "to", "To: a period covers at most 10 years."),
    ],
    ids=["reversed", "bad-date", "not-a-date", "segment", "owner", "markup", "year-9999", "year-1", "too-long"],
)
def test_bad_filters_are_a_422_with_the_message_next_to_the_field(
    golden: Runtime, client_for: Callable[[str], FlaskClient], args: str, field: str, message: str
) -> None:
    lea = client_for("lea")
    response = lea.get(f"/cs/?{args}")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    error = re.search(rf'<p class="field-error" id="cs-{field}-error">([^<]*)</p>', text)
    assert error and error.group(1).replace("&#34;", '"') == message
    assert f'aria-describedby="cs-{field}-error"' in text
    assert 'class="kpi-card"' not in text
    export = lea.get(f"/cs/export.csv?{args}")
    assert export.status_code == 422
    assert html.unescape(message) in export.get_data(as_text=True)


def test_a_date_that_is_not_one_is_the_only_complaint(
    golden: Runtime, client_for: Callable[[str], FlaskClient]
) -> None:
    # without a valid From, the default one (this quarter's start) must not make a valid To "before From"
    text = client_for("lea").get("/cs/?from=2025-13-01&to=2025-06-30").get_data(as_text=True)
    assert re.findall(r'<p class="field-error" id="cs-(\w+)-error">', text) == ["from"]


def test_leads_admins_and_auditors_read_it_staff_do_not(
    golden: Runtime, client_for: Callable[[str], FlaskClient]
) -> None:
    for name in ("lea", "root", "ada"):
        client = client_for(name)
        assert client.get(f"/cs/?{query(Q1)}").status_code == 200, name
        assert client.get(f"/cs/export.csv?{query(Q1)}").status_code == 200, name
    for name in ("sam", "fin", "dan"):
        client = client_for(name)
        assert client.get(f"/cs/?{query(Q1)}").status_code == 403, name
        assert client.get(f"/cs/export.csv?{query(Q1)}").status_code == 403, name


def test_a_lead_lands_on_the_dashboard(app: Flask, people: dict[str, int]) -> None:
    from tests.web.helpers import sign_in

    client = app.test_client()
    token_client = sign_in(client, "lea")
    assert token_client.get("/").headers["Location"].endswith("/cs/")


def test_the_at_risk_table_links_each_customer_to_its_360_page(
    golden: Runtime, client_for: Callable[[str], FlaskClient]
) -> None:
    with golden.unit() as u:
        from processes.customers import Customer

        for cid, score, band in (("E2", 12.0, "at_risk"), ("M1", 55.0, "watch"), ("S1", 90.0, "healthy")):
            found = u.session.get(Customer, cid)
            assert found is not None
            found.health_score, found.health_band = score, band
    text = client_for("lea").get(f"/cs/?{query(Q1)}").get_data(as_text=True)
    table = text[text.index('class="cs-risk"') :]
    assert table.index("Golden E2") < table.index("Golden M1")
    assert '<a href="/customers/E2">Golden E2</a>' in table
    assert "Golden S1" not in table
    enterprise = client_for("lea").get(f"/cs/?{query(Q1, 'enterprise')}").get_data(as_text=True)
    assert "Golden E2" in enterprise and "Golden M1" not in enterprise


def test_the_longest_period_is_ten_years_of_months(golden: Runtime, client_for: Callable[[str], FlaskClient]) -> None:
    response = client_for("lea").get("/cs/?from=2016-02-01&to=2026-01-31")
    assert response.status_code == 200
    assert shown_cards(response.get_data(as_text=True))["customers_end"] == "14"
