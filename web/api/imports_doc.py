"""The OpenAPI description of POST /imports/{kind} (web/api/imports.py); openapi.py merges it into the document."""

from __future__ import annotations

from web.api.openapi import INTEGER, STRING, JsonDict, _json, _object, _operation, _path, _query, _ref

COUNT = {**INTEGER, "minimum": 0}
SCHEMAS: JsonDict = {
    "ImportResult": _object(
        {
            "kind": {"type": "string", "enum": ["customers", "mrr", "surveys", "events"]},
            "file": STRING,
            "rows": COUNT,
            "sha256": {"type": "string", "description": "of the file, as recorded in the import_completed audit event"},
            "created": COUNT,
            "updated": COUNT,
            "unchanged": COUNT,
            "skipped": {**COUNT, "description": "MRR movements already recorded (same customer, time and value)"},
            "movements": {
                "type": "object",
                "additionalProperties": COUNT,
                "description": "MRR movements recorded, by kind (new, expansion, contraction, churn, reactivation)",
            },
            "kept_mrr": {
                "type": "array",
                "items": STRING,
                "description": "existing customers with an MRR history whose differing mrr column was left alone",
            },
        }
    ),
    "ImportRefused": _object(
        {
            "error": {"type": "string", "const": "ImportRefused"},
            "message": STRING,
            "total": {**COUNT, "description": "every error found (at most 10,000 are listed)"},
            "errors": {
                "type": "array",
                "items": _object(
                    {
                        "row": {**INTEGER, "description": "as in the file, the header being row 1"},
                        "column": {"type": "string", "description": "empty when the row as a whole is wrong"},
                        "code": STRING,
                        "message": STRING,
                    }
                ),
            },
        }
    ),
}


def paths() -> JsonDict:
    operation = _operation(
        "import_csv",
        "Import a CSV file of customers, MRR movements, survey answers or product events: all rows or none",
        (200, "ImportResult", "Every row imported, in one transaction"),
        (400, 404, 422),
        roles="lead, admin",
        parameters=[
            _path("kind", {"type": "string", "enum": ["customers", "mrr", "surveys", "events"]}),
            _query("name", "the file's name, for the report and the audit trail"),
        ],
    )
    operation["description"] += (
        " Columns (header row required, no others): customers: id,name,email,segment,plan,mrr,csm_owner,"
        "contract_start,renewal_date,stage; mrr: customer_id,at,new_mrr; surveys: customer_id,kind,score,at,comment;"
        " events: customer_id,name,at,properties. At most 5 MB: use `jornada import` for longer files."
    )
    operation["requestBody"] = {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string", "description": "UTF-8 CSV, a BOM is fine"}}},
    }
    responses = operation["responses"]
    responses["400"] = _json(_ref("Error"), "No body: send the CSV file")
    responses["404"] = _json(_ref("Error"), "No such kind of import")
    responses["413"] = _json(_ref("Error"), "The file is over 5 MB")
    responses["422"] = _json(_ref("ImportRefused"), "A bad row: nothing imported; every error listed")
    return {"/imports/{kind}": {"post": operation}}
