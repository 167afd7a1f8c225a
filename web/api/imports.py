"""POST /api/v1/imports/<kind>: the CSV file as the request body, checked whole and imported in one transaction
or refused (422) with every bad row and column, as on the import page and by ``jornada import``."""

from __future__ import annotations

from typing import Literal

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import Field
from werkzeug.utils import secure_filename

from processes.imports import KINDS, ImportRefused, Source, import_file
from web.accounts.permissions import LEADS
from web.api.base import InvalidInput
from web.api.declare import Count, Error, Query, Response, Shape, operation, text
from web.context import me, runtime

Kind = Literal["customers", "mrr", "surveys", "events"]


class ImportQuery(Query):
    name: str | None = text(200, "the file's name, for the report and the audit trail")


class ImportResult(Shape):
    kind: Kind
    file: str
    rows: Count
    sha256: str = Field(description="of the file, as recorded in the import_completed audit event")
    created: Count
    updated: Count
    unchanged: Count
    skipped: Count = Field(description="MRR movements already recorded (same customer, time and value)")
    movements: dict[str, Count] = Field(
        description="MRR movements recorded, by kind (new, expansion, contraction, churn, reactivation)"
    )
    kept_mrr: list[str] = Field(
        description="existing customers with an MRR history whose differing mrr column was left alone"
    )


class RowError(Shape):
    row: int = Field(description="as in the file, the header being row 1")
    column: str = Field(description="empty when the row as a whole is wrong")
    code: str
    message: str


class ImportRefusal(Shape):
    error: Literal["ImportRefused"]
    message: str
    total: Count = Field(description="every error found (at most 10,000 are listed)")
    errors: list[RowError]


COLUMNS = (
    " Columns (header row required, no others): customers: id,name,email,segment,plan,mrr,csm_owner,"
    "contract_start,renewal_date,stage; mrr: customer_id,at,new_mrr; surveys: customer_id,kind,score,at,comment;"
    " events: customer_id,name,at,properties. At most 5 MB: use `jornada import` for longer files."
)
CSV = {"type": "string", "minLength": 1, "description": "UTF-8 CSV, a BOM is fine"}


@operation(
    "post",
    "/imports/<kind>",
    summary="Import a CSV file of customers, MRR movements, survey answers or product events: all rows or none",
    roles=LEADS,
    query=ImportQuery,
    path_schemas={"kind": {"type": "string", "enum": list(KINDS)}},
    request_body={"required": True, "content": {"text/csv": {"schema": CSV}}},
    ok=Response(200, ImportResult, "Every row imported, in one transaction"),
    responses=(
        Response(422, ImportRefusal | Error, "A bad row: nothing imported; every error listed (or a bad parameter)"),
    ),
    description=COLUMNS,
)
def import_csv(kind: str, query: ImportQuery) -> ResponseReturnValue:
    if kind not in KINDS:
        message = f"nothing to import as {kind!r}: one of {', '.join(KINDS)}"
        return jsonify({"error": "Not Found", "message": message}), 404
    data = request.get_data(cache=False)
    if not data:
        raise InvalidInput({"body": "send the CSV file as the request body (Content-Type: text/csv)"}, status=400)
    name = secure_filename(query.name or "") or f"{kind}.csv"
    try:
        result = import_file(runtime(), kind, Source(name=name, data=data), actor=me().username)
    except ImportRefused as refused:
        errors = [{"row": e.row, "column": e.column, "code": e.code, "message": e.message} for e in refused.errors]
        body = {"error": "ImportRefused", "message": str(refused), "total": refused.total, "errors": errors}
        return jsonify(body), 422
    return jsonify(
        {
            "kind": result.kind,
            "file": result.file_name,
            "rows": result.rows,
            "sha256": result.sha256,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "skipped": result.skipped,
            "movements": result.movements,
            "kept_mrr": result.kept_mrr,
        }
    )
