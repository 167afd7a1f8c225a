"""The words the Customer Success screens (customers, the CS dashboard, surveys) show for stored codes, in the page's
language: KPI names and formulas, health bands, segments, stages, trends, languages, fields and problems. Audit
actions are web.vocabulary's (one table for the whole web)."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from web.vocabulary import customer_action_label as customer_action_label

# -- the CS vocabulary (keys of processes.kpis.CsKpis and processes.customers), shared with the dashboard
KPI_LABELS = {
    "customers_start": _l("Customers at start"),
    "customers_end": _l("Customers at end"),
    "logo_churn": _l("Logo churn"),
    "retention": _l("Retention"),
    "mrr_start": _l("MRR at start"),
    "mrr_end": _l("MRR at end"),
    "mrr_prev_month": _l("MRR a month earlier"),
    "mrr_prev_quarter": _l("MRR a quarter earlier"),
    "mrr_prev_year": _l("MRR a year earlier"),
    "grr": _l("Gross revenue retention"),
    "nrr": _l("Net revenue retention"),
    "arpa": _l("ARPA"),
    "ltv": _l("LTV"),
    "nps": _l("NPS"),
    "csat": _l("CSAT"),
    "ces": _l("CES"),
    "frt_median_hours": _l("First response time (median, hours)"),
    "fcr": _l("First-contact resolution"),
    "time_to_implement_median_days": _l("Time to implement (median, days)"),
    "time_to_first_value_median_days": _l("Time to first value (median, days)"),
    "active_days_per_account": _l("Active days per account"),
    "events_per_account": _l("Product events per account"),
    "tickets_per_account": _l("Tickets per account"),
    "repeat_ticket_rate": _l("Repeat tickets (within 30 days)"),
}

# The formula shown beside each figure (DESIGN.md's KPI definitions; processes.kpis says the same in English).
FORMULAS = {
    "customers_start": _l("customers with MRR > 0 at From 00:00 UTC"),
    "customers_end": _l("customers with MRR > 0 at To 23:59:59 UTC"),
    "logo_churn": _l("start customers with MRR 0 at the end ÷ customers at start"),
    "retention": _l("1 − logo churn (same start customers)"),
    "mrr_start": _l("sum of MRR at From 00:00 UTC"),
    "mrr_end": _l("sum of MRR at To 23:59:59 UTC"),
    "mrr_prev_month": _l("sum of MRR one month before To"),
    "mrr_prev_quarter": _l("sum of MRR three months before To"),
    "mrr_prev_year": _l("sum of MRR one year before To"),
    "grr": _l("1 − (churned + contraction MRR) ÷ start customers' MRR"),
    "nrr": _l("1 − (churned + contraction − expansion MRR) ÷ start customers' MRR"),
    "arpa": _l("MRR at end ÷ customers at end"),
    "ltv": _l("ARPA ÷ monthly logo churn"),
    "nps": _l("% promoters (9–10) − % detractors (0–6), answers in the period"),
    "csat": _l("share of 4–5 answers on 1–5, answers in the period"),
    "ces": _l("mean effort score on the configured scale (higher = more effort)"),
    "frt_median_hours": _l("median of ticket created → first response, tickets created in the period"),
    "fcr": _l("tickets resolved at first contact ÷ tickets resolved in the period"),
    "time_to_implement_median_days": _l("median of onboarding start → go-live"),
    "time_to_first_value_median_days": _l("median of onboarding start → first quick win"),
    "active_days_per_account": _l("days with product events ÷ customers at end"),
    "events_per_account": _l("product events ÷ customers at end"),
    "tickets_per_account": _l("tickets created ÷ customers at end"),
    "repeat_ticket_rate": _l("tickets opened within 30 days of the customer's previous one ÷ tickets"),
}

BAND_LABELS = {"healthy": _l("Healthy"), "watch": _l("Watch"), "at_risk": _l("At risk")}
SEGMENT_LABELS = {"smb": _l("SMB"), "mid_market": _l("Mid-market"), "enterprise": _l("Enterprise")}
STAGE_LABELS = {
    "prospect": _l("Prospect"),
    "onboarding": _l("Onboarding"),
    "active": _l("Active"),
    "offboarding": _l("Offboarding"),
    "churned": _l("Churned"),
}

BAND_BADGE = {"healthy": "badge-green", "watch": "badge-yellow", "at_risk": "badge-red"}
TRENDS: dict[str, tuple[str, LazyString]] = {
    "up": ("↑", _l("Health went up over the last 30 days")),
    "down": ("↓", _l("Health went down over the last 30 days")),
    "flat": ("→", _l("Health held steady over the last 30 days")),
    "none": ("", _l("No earlier score to compare with")),
}
LANGUAGE_NAMES: dict[str, LazyString] = {"en": _l("English"), "pt_BR": _l("Portuguese (Brazil)")}
SURVEY_KINDS: dict[str, LazyString] = {"nps": _l("NPS"), "csat": _l("CSAT"), "ces": _l("CES")}
TIMELINE_KINDS: dict[str, LazyString] = {"event": _l("Product event"), "step": _l("Step done"), "audit": _l("Audit")}
COMPONENTS: dict[str, LazyString] = {
    "usage": _l("Usage"),
    "support": _l("Support recurrence"),
    "sentiment": _l("NPS / CSAT"),
    "payment": _l("Overdue invoices"),
    "stuck_steps": _l("Stuck steps"),
    "mrr_trend": _l("MRR trend"),
}
FIELD_LABELS: dict[str, LazyString] = {
    "id": _l("Id"),
    "name": _l("Name"),
    "email": _l("E-mail"),
    "segment": _l("Segment"),
    "plan": _l("Plan"),
    "mrr": _l("MRR"),
    "currency": _l("Currency"),
    "csm_owner": _l("CSM owner"),
    "contract_start": _l("Contract start"),
    "renewal_date": _l("Renewal date"),
    "stage": _l("Stage"),
    "external_id": _l("External id (CRM)"),
    "role": _l("Role"),
    "language": _l("Language"),
}


def label(table: dict[str, LazyString], code: str | None) -> str:
    """The label of ``code``, or the code itself when it has none (``—`` for none)."""
    if not code:
        return "—"
    found = table.get(code)
    return str(found) if found is not None else code.replace("_", " ")


PROBLEMS: dict[str, LazyString] = {
    "is required": _l("is required"),
    "is not a known field": _l("is not a known field"),
    "must be text": _l("must be text"),
    "must be a number": _l("must be a number"),
    "must not be negative": _l("must not be negative"),
    "must be a date (YYYY-MM-DD)": _l("must be a date (YYYY-MM-DD)"),
    "must be an e-mail address": _l("must be an e-mail address"),
    "must not be before the contract start": _l("must not be before the contract start"),
    "cannot be changed": _l("cannot be changed"),
    "must be a 3-letter ISO 4217 code, e.g. USD": _l("must be a 3-letter ISO 4217 code, e.g. USD"),
    "must be letters, digits, '.', '_' or '-' (at most 64)": _l(
        "must be letters, digits, '.', '_' or '-' (at most 64)"
    ),
}


def problem(message: str) -> str:
    """A validation message of processes.customers in the page's language."""
    if message in PROBLEMS:
        return str(PROBLEMS[message])
    if found := re.fullmatch(r"must be one of (.+)", message):
        return _("must be one of %(choices)s", choices=found.group(1))
    if found := re.fullmatch(r"must be at most (\d+) characters", message):
        return _("must be at most %(n)s characters", n=found.group(1))
    if found := re.fullmatch(r"customer '(.+)' exists already", message):
        return _("customer %(id)s exists already", id=found.group(1))
    if found := re.fullmatch(r"customer '(.+)' was purged and cannot be changed", message):
        return _("customer %(id)s was purged and cannot be changed", id=found.group(1))
    return message
