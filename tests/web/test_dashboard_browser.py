"""The CS dashboard in headless Chromium: a lead lands on it after signing in, filters by segment and opens an
at-risk customer's 360 page; a Brazilian lead's dashboard shows no English string and uses the decimal comma; an
empty database shows dashes and empty charts without errors. Screenshots on a desktop and a phone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from engine import FrozenClock, Runtime
from processes.customers import Customer, create_customer
from processes.surveys import record_answer
from tests.helpers import ROOT
from tests.web.helpers import PASSWORD, BrowserPage
from web.accounts import users

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 900}
CATALOGUE = ROOT / "web" / "translations" / "pt_BR" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "lazy_gettext": None, "_l": None}
# The dashboard's sources of text; what reads the same in both languages is left out by the catalogue itself.
SOURCES = [
    (ROOT / "web" / "templates" / "dashboard" / "index.html", "jinja2"),
    (ROOT / "web" / "templates" / "base.html", "jinja2"),
    (ROOT / "web" / "customers" / "labels.py", "python"),
    (ROOT / "web" / "customers" / "dashboard.py", "python"),
]
SAME_IN_BOTH = {"NPS", "MRR", "ARPA", "LTV", "CSAT", "CES", "CSV", "Jornada"}

# id, name, segment, owner, MRR, health score, band
BOOK = [
    ("C-1", "Acme Corporation", "enterprise", "ana", 4200, 82.0, "healthy"),
    ("C-2", "Globex", "smb", "bob", 350, 28.0, "at_risk"),
    ("C-3", "Initech", "mid_market", "bob", 1800, 58.0, "watch"),
    ("C-4", "Hooli", "smb", "ana", 90, 35.5, "at_risk"),
    ("C-5", "Umbrella Holdings International", "enterprise", "ana", 9100, 22.0, "at_risk"),
    ("C-6", "Soylent", "mid_market", "bob", 1200, 74.0, "healthy"),
]


def seed(runtime: Runtime, clock: FrozenClock) -> None:
    clock.set(datetime(2026, 2, 20, 9, 0, tzinfo=UTC))
    with runtime.unit() as u:
        for cid, name, segment, owner, mrr, score, band in BOOK:
            customer = create_customer(
                u.session,
                cid,
                name,
                now=u.now,
                segment=segment,
                csm_owner=owner,
                mrr=mrr,
                contract_start=date(2025, 6, 1),
                renewal_date=date(2026, 11, 30),
                stage="active",
            )
            customer.health_score, customer.health_band = score, band
        for cid, kind, score, day in (
            ("C-1", "nps", 10, "2026-01-10"),
            ("C-2", "nps", 3, "2026-01-20"),
            ("C-3", "nps", 9, "2026-02-02"),
            ("C-5", "nps", 6, "2026-02-10"),
            ("C-6", "nps", 9, "2026-02-11"),
            ("C-6", "nps", 9, "2026-02-12"),
            ("C-6", "nps", 9, "2026-02-13"),
            ("C-1", "csat", 5, "2026-01-12"),
            ("C-3", "csat", 2, "2026-02-03"),
            ("C-6", "csat", 4, "2026-02-04"),
        ):
            found = u.session.get(Customer, cid)
            assert found is not None
            moment = datetime.fromisoformat(day).replace(tzinfo=UTC)
            record_answer(u.session, runtime.config, customer=found, kind=kind, score=score, at=moment, source="demo")


def wait_for_charts(page: BrowserPage, count: int = 4) -> None:
    """The bundle draws each canvas (Chart.js gives it a size); wait until all are drawn."""
    page.page.wait_for_function(
        f"[...document.querySelectorAll('canvas.chart')].filter(c => c.width > 0 && c.height > 0).length === {count}"
    )


def no_horizontal_overflow(page: BrowserPage) -> None:
    wide = page.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert wide <= 0, f"the page scrolls sideways by {wide}px"


@pytest.mark.browser
def test_a_lead_filters_by_segment_and_opens_an_at_risk_customer(
    page: BrowserPage, runtime: Runtime, clock: FrozenClock, people: dict, deployed: None
) -> None:
    seed(runtime, clock)
    page.sign_in("lea")
    assert page.page.url.endswith("/cs/")  # leads land on the dashboard
    page.page.wait_for_selector("h1:has-text('Customer success')")
    wait_for_charts(page)
    assert page.page.locator("#kpi-customers_end .kpi-value").inner_text() == "6"
    risky = page.page.locator("table.cs-risk tbody tr")
    assert risky.count() == 4  # at risk and on watch, the lowest score first
    assert risky.first.locator("th a").inner_text() == "Umbrella Holdings International"
    page.screenshot("desktop")

    page.page.get_by_label("Segment", exact=True).select_option("smb")
    page.page.get_by_role("button", name="Show").click()
    page.page.wait_for_load_state()
    assert "segment=smb" in page.page.url
    wait_for_charts(page)
    assert page.page.locator("#kpi-customers_end .kpi-value").inner_text() == "2"
    assert page.page.locator("#kpi-mrr_end .kpi-value").inner_text() == "440"
    assert page.page.get_by_label("Segment", exact=True).input_value() == "smb"
    names = page.page.locator("table.cs-risk tbody th a").all_inner_texts()
    assert names == ["Globex", "Hooli"]
    page.screenshot("desktop-smb")

    page.page.get_by_role("link", name="Globex").click()
    page.page.wait_for_load_state()
    assert page.page.url.endswith("/customers/C-2")
    assert page.page.locator("h1").inner_text().startswith("Globex")

    page.page.set_viewport_size(PHONE)
    page.goto("/cs/")
    wait_for_charts(page)
    no_horizontal_overflow(page)
    page.screenshot("phone")


def english_messages() -> set[str]:
    """The dashboard's English strings whose Brazilian translation differs."""
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    found: set[str] = set()
    for path, method in SOURCES:
        options = {"extensions": "jinja2.ext.i18n"} if method == "jinja2" else {}
        for _line, message, _comments, _context in extract_from_file(
            method, str(path), keywords=KEYWORDS, options=options
        ):
            text = message if isinstance(message, str) else message[0]
            translated = catalogue.get(text)
            if text not in SAME_IN_BOTH and not (translated and translated.string == text):
                found.add(text)
    return found


def english_in(text: str, messages: set[str]) -> list[str]:
    """The messages (or, for those with placeholders, their literal parts) that occur as words in ``text``."""
    hits = []
    for message in messages:
        for part in re.split(r"%\(\w+\)s|%%", message):
            part = part.strip(" :.,()")
            if len(part) < 3 or not re.search(r"[A-Za-z]{3}", part):
                continue
            if re.search(rf"(?<![\w-]){re.escape(part)}(?![\w-])", text):
                hits.append(part)
    return sorted(set(hits))


@pytest.mark.browser
def test_a_brazilian_leads_dashboard_has_no_english(
    page: BrowserPage, runtime: Runtime, clock: FrozenClock, people: dict
) -> None:
    seed(runtime, clock)
    lia = users.add_user(runtime, "lia", PASSWORD, roles=["lead"], groups=["cs_lead"], actor="test")
    users.set_language(runtime, lia, "pt_BR", actor="test")
    messages = english_messages()
    assert {"Customer success", "Customers at risk", "Logo churn", "Show", "Dashboard"} <= messages
    page.sign_in("lia")
    assert page.page.url.endswith("/cs/")
    assert page.page.locator("html").get_attribute("lang") == "pt-BR"
    wait_for_charts(page)
    for path in ("/cs/", "/cs/?segment=smb&from=2026-01-01&to=2026-02-20"):
        page.goto(path)
        wait_for_charts(page)
        text = page.page.inner_text("main") + "\n" + page.page.inner_text("nav")
        labels = page.page.eval_on_selector_all("[aria-label]", "els => els.map(e => e.getAttribute('aria-label'))")
        charts = page.page.eval_on_selector_all("canvas.chart", "els => els.map(e => JSON.parse(e.dataset.chart))")
        chart_text = [c["data"]["datasets"][0]["label"] for c in charts]
        chart_text += [str(label) for c in charts for label in c["data"]["labels"]]
        chart_text += [
            axis["title"]["text"] for c in charts for axis in c["options"].get("scales", {}).values() if "title" in axis
        ]
        assert english_in(text, messages) == [], path
        assert english_in("\n".join(labels + chart_text), messages) == [], path
        assert "Sucesso do cliente" in text and "Clientes em risco" in text
    # decimals with a comma: NPS (7 answers: 5 promoters, 2 detractors) = +42,9; percentages too
    page.goto("/cs/?from=2026-01-01&to=2026-02-20")
    assert page.page.locator("#kpi-nps .kpi-value").inner_text() == "+42,9"
    assert re.fullmatch(r"\d+,\d%", page.page.locator("#kpi-csat .kpi-value").inner_text().replace("\xa0", ""))
    assert page.page.locator("#kpi-mrr_end .kpi-value").inner_text() == "16.740"
    page.screenshot("pt-desktop")
    page.page.set_viewport_size(PHONE)
    page.goto("/cs/")
    wait_for_charts(page)
    no_horizontal_overflow(page)
    page.screenshot("pt-phone")
    page.page.set_viewport_size(DESKTOP)
    assert page.goto("/cs/?from=2026-03-01&to=2026-01-01").status == 422
    assert "Até: 2026-01-01 é anterior a De (2026-03-01)." in page.page.inner_text("main")
    assert [e for e in page.console_errors if "422" not in e] == []
    page.console_errors.clear()  # the browser reports the 422 of the bad filter
    assert english_in(page.page.inner_text("main"), messages) == []
    page.screenshot("pt-bad-filter")


@pytest.mark.browser
def test_an_empty_dashboard_shows_dashes_and_empty_charts(page: BrowserPage, people: dict) -> None:
    page.sign_in("lea")
    assert page.page.url.endswith("/cs/")
    assert page.page.locator("canvas.chart").count() == 0  # nothing to draw: a sentence per chart instead
    assert page.page.locator(".chart-empty").count() == 4
    assert page.page.get_by_text("No NPS answer in these months.").is_visible()
    assert page.page.locator("#kpi-nps .kpi-value").inner_text() == "–"
    assert page.page.locator("#kpi-customers_end .kpi-value").inner_text() == "0"
    assert page.page.get_by_text("No customer is at risk or on watch.").is_visible()
    page.screenshot("desktop")
    page.page.set_viewport_size(PHONE)
    page.goto("/cs/")
    no_horizontal_overflow(page)
    page.screenshot("phone")
