"""POST /api/v1/imports/<kind>: the CSV file as the request body, checked whole and imported in one transaction
or refused (422) with every bad row and column, as on the import page and by ``jornada import``."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.utils import secure_filename

from processes.imports import KINDS, ImportRefused, Source, import_file
from web.api.base import InvalidInput, bp
from web.context import me, runtime
from web.permissions import LEADS, requires


@bp.post("/imports/<kind>")
@requires(*LEADS)
def import_csv(kind: str) -> ResponseReturnValue:
    if kind not in KINDS:
        message = f"nothing to import as {kind!r}: one of {', '.join(KINDS)}"
        return jsonify({"error": "Not Found", "message": message}), 404
    data = request.get_data(cache=False)
    if not data:
        raise InvalidInput({"body": "send the CSV file as the request body (Content-Type: text/csv)"}, status=400)
    name = secure_filename(request.args.get("name", "")) or f"{kind}.csv"
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
