"""Moving running instances to another version of their process (leads and designers): choose the versions, see
which instances can move and why the others cannot, select and move them (engine/_versions.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from engine import MOVABLE_STATUSES, EngineError, Outcome, Preview
from engine.models import ProcessDefinition, ProcessInstance
from processes.customers import Customer
from web.accounts.permissions import requires
from web.context import me, read_session, runtime, status_of

bp = Blueprint("migrations", __name__)

# who may move instances between versions: the people who deploy versions and the leads who run the work
MIGRATE = ("lead", "designer", "admin")


def _versions(process_id: str) -> list[tuple[int, int]]:
    """(version, instances open on it) of every deployed version, newest first; 404 for an unknown process."""
    with read_session() as session:
        open_count = (
            select(func.count())
            .where(ProcessInstance.definition_id == ProcessDefinition.id, ProcessInstance.status.in_(MOVABLE_STATUSES))
            .scalar_subquery()
        )
        rows = session.execute(
            select(ProcessDefinition.version, open_count)
            .where(ProcessDefinition.process_id == process_id)
            .order_by(ProcessDefinition.version.desc())
        ).all()
    if not rows:
        abort(404, description=_("Process %(id)s is not deployed.", id=process_id))
    return [(row[0], row[1]) for row in rows]


def _version_arg(form: Mapping[str, str], name: str, label: str, errors: dict[str, str]) -> int | None:
    text = (form.get(name) or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 9:
        errors[name] = _("%(field)s: “%(value)s” is not a version number.", field=label, value=text[:40])
        return None
    return int(text)


def _choice(form: Mapping[str, str], errors: dict[str, str], versions: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """The (from, to) versions asked for; by default the newest version with open instances other than the
    latest, to the latest."""
    latest = versions[0][0]
    with_open = [v for v, count in versions if count and v != latest]
    source = _version_arg(form, "from", _("From"), errors)
    target = _version_arg(form, "to", _("To"), errors)
    default_source = with_open[0] if with_open else (versions[1][0] if len(versions) > 1 else latest)
    return source if source is not None else default_source, target if target is not None else latest


def _customers(preview: Preview | None) -> dict[str, str]:
    ids = sorted({c.customer_id for c in preview.candidates if c.customer_id}) if preview else []
    if not ids:
        return {}
    with read_session() as session:
        return dict(session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids))).all())


def _page(process_id: str, form: Mapping[str, str], errors: dict[str, str], code: int = 200) -> ResponseReturnValue:
    versions = _versions(process_id)
    source, target = _choice(form, errors, versions)
    preview = None
    if not {"from", "to"} & errors.keys() and len(versions) > 1:
        try:
            preview = runtime().migration_preview(process_id, source, target)
        except EngineError as exc:
            errors.setdefault("versions", str(exc))
            code = max(code, status_of(exc))
    if errors and code == 200:
        code = 400
    page = render_template(
        "migrations/index.html",
        process_id=process_id,
        versions=versions,
        source=source,
        target=target,
        preview=preview,
        customers=_customers(preview),
        errors=errors,
    )
    return page, code


@bp.get("/<process_id>")
@requires(*MIGRATE)
def index(process_id: str) -> ResponseReturnValue:
    return _page(process_id, request.args, {})


def _report(outcome: Outcome, target: int) -> None:
    if outcome.moved:
        flash(
            ngettext(
                "%(num)d instance moved to version %(version)d.",
                "%(num)d instances moved to version %(version)d.",
                len(outcome.moved),
                version=target,
            ),
            "success",
        )
    for instance_id, reasons in outcome.refused.items():
        flash(
            _("Instance %(id)s was not moved: %(reasons)s", id=instance_id, reasons="; ".join(reasons)),
            "warning",
        )


@bp.post("/<process_id>")
@requires(*MIGRATE)
def migrate(process_id: str) -> ResponseReturnValue:
    """Move the instances ticked on the preview; a wrong request comes back on the page with what is wrong and
    nothing is changed."""
    errors: dict[str, str] = {}
    _versions(process_id)  # 404 for a process that is not deployed
    source = _version_arg(request.form, "from", _("From"), errors)
    target = _version_arg(request.form, "to", _("To"), errors)
    chosen = request.form.getlist("instance")
    if source is None or target is None:
        errors.setdefault("versions", _("Choose the version to move from and the version to move to."))
    elif not chosen:
        errors["instances"] = _("Tick at least one instance that can move.")
    if errors:
        return _page(process_id, request.form, errors, 422 if "instances" in errors else 400)
    assert source is not None and target is not None
    try:
        outcome = runtime().migrate_instances(process_id, source, target, chosen, actor=me().username)
    except EngineError as exc:
        return _page(process_id, request.form, {"instances": str(exc)}, status_of(exc))
    _report(outcome, target)
    return redirect(url_for("migrations.index", process_id=process_id) + f"?from={source}&to={target}", 303)
