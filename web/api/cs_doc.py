"""The OpenAPI description of the CS routes: product events (web/api/events.py), survey answers (web/api/surveys.py)
and the CS KPIs (web/api/kpis.py); openapi.py merges it into the document."""

from __future__ import annotations

from web.api.customers_doc import SEGMENT
from web.api.openapi import INTEGER, OBJECT, STRING, JsonDict, _nullable, _object, _operation, _query, _ref

WRITERS = "staff, lead, admin"
SURVEY_KIND = {"type": "string", "enum": ["nps", "csat", "ces"]}
SCHEMAS: JsonDict = {
    "ProductEvent": _object(
        {
            "customer_id": {"type": "string", "description": "an existing customer's id"},
            "name": {"type": "string", "description": "the event (and BPMN message) name: letters, digits, _ . : -"},
            "at": {"type": "string", "format": "date-time", "description": "when it happened (default: now)"},
            "properties": {**OBJECT, "description": "anything the product wants to say about it"},
        },
        ("customer_id", "name"),
    ),
    "EventsRequest": {
        "oneOf": [
            _ref("ProductEvent"),
            _object({"events": {"type": "array", "items": _ref("ProductEvent"), "minItems": 1, "maxItems": 1000}}),
        ],
        "description": "one event, or a batch stored all or nothing",
    },
    "EventsResult": _object(
        {
            "stored": INTEGER,
            "delivered": {
                "type": "array",
                "items": _object({"index": INTEGER, "instances": {"type": "array", "items": STRING}}),
                "description": "events (by index in the batch) that waiting instances received",
            },
            "playbooks_started": {"type": "array", "items": STRING, "description": "instances started by rules"},
        }
    ),
    "SurveyRequest": _object(
        {
            "customer_id": STRING,
            "kind": SURVEY_KIND,
            "score": {
                "type": "integer",
                "description": "nps 0-10, csat 1-5, ces on the scale of config.toml [surveys] (0-5 by default)",
            },
            "at": {"type": "string", "format": "date-time", "description": "when it was answered (default: now)"},
            "comment": STRING,
            "contact_id": {"type": "integer", "description": "one of the customer's contacts"},
            "instance_id": {"type": "string", "description": "the process instance that asked"},
            "element_id": {"type": "string", "description": "the step of that process that asked"},
        },
        ("customer_id", "kind", "score"),
    ),
    "SurveyAnswer": _object(
        {
            "id": INTEGER,
            "customer_id": STRING,
            "contact_id": _nullable("integer"),
            "kind": SURVEY_KIND,
            "score": INTEGER,
            "scale_min": INTEGER,
            "scale_max": INTEGER,
            "at": {"type": "string", "format": "date-time"},
            "comment": STRING,
            "source": {"type": "string", "description": "form, link, api, import or demo"},
            "instance_id": _nullable("string"),
            "element_id": _nullable("string"),
        }
    ),
    "CsKpis": {
        **_object(
            {
                **{name: {"type": "integer"} for name in ("customers_start", "customers_end")},
                **{name: {"type": "number"} for name in ("mrr_start", "mrr_end")},
                **{
                    name: _nullable("number")
                    for name in (
                        "logo_churn",
                        "retention",
                        "grr",
                        "nrr",
                        "nps",
                        "csat",
                        "ces",
                        "arpa",
                        "ltv",
                        "frt_median_hours",
                        "fcr",
                        "time_to_implement_median_days",
                        "time_to_first_value_median_days",
                        "active_days_per_account",
                        "events_per_account",
                        "tickets_per_account",
                        "repeat_ticket_rate",
                    )
                },
                **{name: {"type": "number"} for name in ("mrr_prev_month", "mrr_prev_quarter", "mrr_prev_year")},
                **{name: {"type": "integer"} for name in ("nps_answers", "csat_answers", "ces_answers")},
                "formulas": {**OBJECT, "additionalProperties": STRING, "description": "figure -> its formula"},
            }
        ),
        "description": "Rates are fractions 0-1, NPS is -100..100, null where undefined (nothing to divide by).",
    },
}


def _events_operation() -> JsonDict:
    operation = _operation(
        "ingest_events",
        "Store product usage events (one or up to 1000), deliver them and apply the playbook rules",
        (201, "EventsResult", "Stored"),
        (400, 409, 422),
        roles=WRITERS,
    )
    operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref("EventsRequest")}}}
    return operation


def paths() -> JsonDict:
    return {
        "/events": {"post": _events_operation()},
        "/surveys": {
            "post": _operation(
                "record_survey",
                "Record an NPS, CSAT or CES answer",
                (201, "SurveyAnswer", "Stored with its scale"),
                (400, 422),
                roles=WRITERS,
                body="SurveyRequest",
            )
        },
        "/kpis/cs": {
            "get": _operation(
                "cs_kpis_report",
                "The CS KPIs of a period (NPS, CSAT, CES, churn, retention, GRR, NRR, MRR, ARPA, LTV, FRT, FCR...)",
                (200, "CsKpis", "The figures and the formula of each"),
                (422,),
                roles="lead, admin, auditor",
                parameters=[
                    _query(
                        "from",
                        "first day of the period (YYYY-MM-DD, UTC), required",
                        {"type": "string", "format": "date"},
                    ),
                    _query("to", "last day of the period, inclusive, required", {"type": "string", "format": "date"}),
                    _query("segment", "only customers of this segment", SEGMENT),
                    _query("owner", "only customers of this CSM owner"),
                ],
            )
        },
    }
