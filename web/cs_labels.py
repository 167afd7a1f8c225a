"""The CS vocabulary as people read it, in their language: KPI names and formulas, health bands, segments and
customer stages. Keys are those of ``processes.kpis.CsKpis`` and ``processes.customers``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

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
