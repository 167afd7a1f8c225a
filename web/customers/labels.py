"""The words the customer screens show for stored codes (trends, languages, timeline actions, fields, problems),
in the page's language; stages, segments and health bands are web.cs_labels' (the dashboard shows the same)."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

# the templates read these through this module too; one table each, shared with the dashboard
from web.cs_labels import BAND_LABELS as BAND_LABELS
from web.cs_labels import SEGMENT_LABELS as SEGMENT_LABELS
from web.cs_labels import STAGE_LABELS as STAGE_LABELS

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
ACTIONS: dict[str, LazyString] = {
    "customer_created": _l("Customer created"),
    "customer_updated": _l("Customer updated"),
    "customer_archived": _l("Customer archived"),
    "customer_unarchived": _l("Customer unarchived"),
    "contact_added": _l("Contact added"),
    "contact_updated": _l("Contact updated"),
    "contact_removed": _l("Contact removed"),
    "instance_started": _l("Process started"),
    "instance_completed": _l("Process completed"),
    "instance_cancelled": _l("Process cancelled"),
    "incident_raised": _l("Incident"),
    "message_received": _l("Message received"),
    "timer_fired": _l("Timer fired"),
    "task_claimed": _l("Task claimed"),
    "alert_raised": _l("Alert raised"),
    "service_task_completed": _l("Service task completed"),
}
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
