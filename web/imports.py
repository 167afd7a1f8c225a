"""Imports (leads and admins): upload a CSV file of customers, MRR movements, survey answers or product events.
Every row is checked first; a file with any bad row imports nothing and the page lists each bad row and column."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.utils import secure_filename

from processes import surveys
from processes.imports import COLUMNS, KINDS, ImportRefused, ImportResult, RowError, Source, import_file
from web.accounts.permissions import LEADS, requires
from web.context import me, runtime

bp = Blueprint("imports", __name__)

KIND_LABELS = {
    "customers": _l("Customers"),
    "mrr": _l("MRR movements"),
    "surveys": _l("Survey answers"),
    "events": _l("Product events"),
}
# The page's wording of each error code of processes.imports (the command line prints the English of that module).
ERRORS = {
    "empty_file": _l("The file is empty: the first row must name the columns (%(expected)s)."),
    "not_utf8": _l("The file is not UTF-8 text: byte %(byte)s at byte offset %(offset)s (save it as CSV UTF-8)."),
    "nul_character": _l("The file holds a NUL character at byte offset %(offset)s."),
    "not_csv": _l("The row cannot be read as CSV: %(reason)s"),
    "missing_column": _l("The column %(column)s is missing from the header (expected: %(expected)s)."),
    "unknown_column": _l("The column %(column)s is not one of %(expected)s."),
    "duplicate_column": _l("The column %(column)s appears more than once in the header."),
    "missing_value": _l("The row has %(found)s values, %(expected)s columns expected."),
    "extra_value": _l("The row has %(found)s values, only %(expected)s columns expected."),
    "no_rows": _l("The file has a header but no rows."),
    "required": _l("A value is required."),
    "too_long": _l("%(length)s characters, at most %(max)s allowed."),
    "not_a_date": _l("“%(value)s” is not a date (YYYY-MM-DD)."),
    "not_an_instant": _l("“%(value)s” is not a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM[:SS][+HH:MM])."),
    "in_future": _l("%(value)s is in the future."),
    "not_a_number": _l("“%(value)s” is not a number (digits with a decimal point, e.g. 1250.50)."),
    "negative": _l("%(value)s is negative."),
    "not_a_whole_number": _l("“%(value)s” is not a whole number."),
    "out_of_scale": _l("%(value)s is outside the %(kind)s scale (%(low)s to %(high)s)."),
    "not_one_of": _l("“%(value)s” is not one of %(choices)s."),
    "not_an_email": _l("“%(value)s” is not an email address."),
    "not_json_object": _l('“%(value)s” is not a JSON object (e.g. {"plan": "pro"}).'),
    "unknown_customer": _l("No customer has the id “%(value)s”."),
    "purged_customer": _l("The customer “%(value)s” has been purged."),
    "duplicate_id": _l("The id “%(value)s” is already on row %(row)s."),
    "duplicate_movement": _l("Customer “%(value)s” already has a movement at this time on row %(row)s."),
    "file_changed": _l("The file changed while it was being imported: import it again."),
    "renewal_before_start": _l("The renewal date %(value)s is before the contract start %(start)s."),
}


def message(error: RowError) -> str:
    template = ERRORS.get(error.code)
    return str(template) % error.params if template is not None else error.message


def _page(status: int = 200, **context: Any) -> ResponseReturnValue:
    context.setdefault("kind", "customers")
    labels = {kind: str(label) for kind, label in KIND_LABELS.items()}
    ces = surveys.scale("ces", runtime().config)
    page = render_template("imports/index.html", kinds=KINDS, labels=labels, columns=COLUMNS, ces=ces, **context)
    return page, status


@bp.get("/")
@requires(*LEADS)
def index() -> ResponseReturnValue:
    return _page(kind=request.args.get("kind", "customers"))


@bp.post("/")
@requires(*LEADS)
def upload() -> ResponseReturnValue:
    kind = request.form.get("kind", "")
    upload = request.files.get("file")
    if kind not in KINDS:
        return _page(422, problem=_("Choose what the file holds."))
    if upload is None or not upload.filename:
        return _page(422, kind=kind, problem=_("Choose a CSV file to import."))
    source = Source(name=secure_filename(upload.filename) or "upload.csv", data=upload.read())
    try:
        result = import_file(runtime(), kind, source, actor=me().username)
    except ImportRefused as refused:
        report = [(e.row, e.column, message(e)) for e in refused.errors]
        return _page(422, kind=kind, file=source.name, refused=refused, report=report)
    return _page(kind=kind, file=source.name, result=result, details=_details(result))


def _details(result: ImportResult) -> list[str]:
    parts = []
    if result.created or result.updated:
        parts.append(_("%(created)s created, %(updated)s updated.", created=result.created, updated=result.updated))
    if result.skipped:
        parts.append(_("Movements already recorded, skipped: %(n)s.", n=result.skipped))
    if result.kept_mrr:
        parts.append(
            _(
                "Existing customers with an MRR history whose MRR was left as it is: %(n)s. Import an MRR file "
                "to record their movements.",
                n=len(result.kept_mrr),
            )
        )
    return parts
