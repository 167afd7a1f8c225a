"""The OpenAPI description of the customer routes (web/api/customers.py); openapi.py merges it into the document."""

from __future__ import annotations

from web.api.openapi import (
    BOOLEAN,
    INTEGER,
    STRING,
    WHEN,
    JsonDict,
    _nullable,
    _object,
    _operation,
    _path,
    _query,
    _ref,
)

NUMBER = {"type": "number"}
DAY = _nullable("string", format="date")
SEGMENT = {"type": "string", "enum": ["smb", "mid_market", "enterprise"]}
STAGE = {"type": "string", "enum": ["prospect", "onboarding", "active", "offboarding", "churned"]}
BAND = {"type": ["string", "null"], "enum": ["healthy", "watch", "at_risk", None]}
LANGUAGE = {"type": "string", "enum": ["en", "pt_BR"]}

ACCOUNT: JsonDict = {
    "id": {"type": "string", "description": "given, or generated in the C-0001 series"},
    "name": STRING,
    "email": _nullable("string"),
    "segment": SEGMENT,
    "plan": STRING,
    "mrr": {**NUMBER, "description": "current MRR (the newest movement); a change is recorded as a movement"},
    "currency": {"type": "string", "description": "ISO 4217 code"},
    "csm_owner": _nullable("string"),
    "contract_start": DAY,
    "renewal_date": DAY,
    "stage": STAGE,
    "external_id": _nullable("string", description="the CRM's id"),
}
CUSTOMER: JsonDict = {
    **ACCOUNT,
    "health_score": _nullable("number"),
    "health_band": BAND,
    "health_updated_at": WHEN,
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": WHEN,
    "archived_at": WHEN,
}
CONTACT: JsonDict = {"id": INTEGER, "name": STRING, "email": STRING, "role": STRING, "language": LANGUAGE}
WRITABLE = {name: schema for name, schema in ACCOUNT.items()}

SCHEMAS: JsonDict = {
    "Customer": _object(CUSTOMER),
    "CustomerListItem": _object(
        {
            **CUSTOMER,
            "open_tasks": INTEGER,
            "overdue_tasks": {**INTEGER, "description": "open tasks past their due date"},
            "stuck_tasks": {**INTEGER, "description": "open tasks past their stuck threshold"},
            "trend": {"type": "string", "enum": ["up", "down", "flat", "none"], "description": "vs ~30 days ago"},
        }
    ),
    "CustomerList": _object(
        {
            "customers": {"type": "array", "items": _ref("CustomerListItem")},
            "total": {**INTEGER, "description": "customers matching the filters"},
            "limit": INTEGER,
            "offset": INTEGER,
        }
    ),
    "Contact": _object(CONTACT),
    "CustomerDetail": _object(
        {
            **CUSTOMER,
            "contacts": {"type": "array", "items": _ref("Contact")},
            "health": _object(
                {
                    "score": _nullable("number"),
                    "band": BAND,
                    "at": WHEN,
                    "components": {
                        "type": "array",
                        "items": _object({"name": STRING, "value": _nullable("number"), "weight": _nullable("number")}),
                    },
                }
            ),
            "open_tasks": INTEGER,
        }
    ),
    "CustomerRequest": _object(WRITABLE, ("name",), description="unknown fields are refused"),
    "CustomerPatch": _object(
        {name: schema for name, schema in WRITABLE.items() if name != "id"}, (), description="only the given fields"
    ),
    "ContactRequest": _object(
        {"name": STRING, "email": STRING, "role": STRING, "language": LANGUAGE}, ("name", "email")
    ),
    "ContactRemoved": _object({"id": INTEGER, "removed": BOOLEAN}),
}

WRITERS = "staff, lead, admin"
READERS = "staff, lead, admin, auditor"
CUSTOMER_ID = [_path("customer_id", STRING)]


def paths() -> JsonDict:
    one = (200, "CustomerDetail", "The customer")
    return {
        "/customers": {
            "get": _operation(
                "list_customers",
                "Customers, at risk first (health band, then score), with open / overdue / stuck task counts",
                (200, "CustomerList", "A page of customers"),
                (422,),
                roles=READERS,
                parameters=[
                    _query("owner", "CSM owner (user name)"),
                    _query("segment", "segment", SEGMENT),
                    _query("stage", "lifecycle stage", STAGE),
                    _query("band", "health band, or none", {"type": "string"}),
                    _query("q", "id, name, e-mail or external id contains"),
                    _query("at_risk", "only customers in the at-risk band", {"type": "boolean"}),
                    _query("archived", "the archived customers instead", {"type": "boolean"}),
                    _query("sort", "health (default), name, segment, owner, stage, mrr, renewal, open, ..."),
                    _query("dir", "asc (default) or desc"),
                    _query(
                        "limit", "at most this many (default 50)", {"type": "integer", "minimum": 1, "maximum": 500}
                    ),
                    _query("offset", "skip this many", {"type": "integer", "minimum": 0}),
                ],
            ),
            "post": _operation(
                "create_customer",
                "Create a customer (audited)",
                (201, "CustomerDetail", "Created; Location names it"),
                (400, 422),
                roles=WRITERS,
                body="CustomerRequest",
            ),
        },
        "/customers/{customer_id}": {
            "get": _operation(
                "get_customer",
                "A customer with contacts, health components and open task count",
                one,
                (404,),
                roles=READERS,
                parameters=CUSTOMER_ID,
            ),
            "patch": _operation(
                "update_customer",
                "Change account fields (audited with before/after; an MRR change is a movement)",
                one,
                (400, 404, 422),
                roles=WRITERS,
                body="CustomerPatch",
                parameters=CUSTOMER_ID,
            ),
        },
        "/customers/{customer_id}/archive": {
            "post": _operation(
                "archive_customer",
                "Archive: hidden from the list; no process may start for it",
                one,
                (400, 404, 422),
                roles=WRITERS,
                parameters=CUSTOMER_ID,
            )
        },
        "/customers/{customer_id}/unarchive": {
            "post": _operation(
                "unarchive_customer",
                "Bring an archived customer back",
                one,
                (400, 404, 422),
                roles=WRITERS,
                parameters=CUSTOMER_ID,
            )
        },
        "/customers/{customer_id}/contacts": {
            "post": _operation(
                "add_contact",
                "Add a contact person (audited)",
                (201, "Contact", "Added"),
                (400, 404, 422),
                roles=WRITERS,
                body="ContactRequest",
                parameters=CUSTOMER_ID,
            )
        },
        "/customers/{customer_id}/contacts/{contact_id}": {
            "delete": _operation(
                "remove_contact",
                "Remove a contact (audited; their survey answers stay the customer's)",
                (200, "ContactRemoved", "Removed"),
                (404,),
                roles=WRITERS,
                parameters=[*CUSTOMER_ID, _path("contact_id", INTEGER)],
            )
        },
    }
