"""The process designer (designers, admins): every process with its versions and draft, an editor page (bpmn-js
Modeler with the Camunda properties panel; the JavaScript is in the bundle), the engine's deploy lint on demand,
drafts, deploys, uploads, downloads, a blank template and a version comparison.

The editor posts the model as the raw XML request body (Content-Type application/xml) with the CSRF token in the
X-CSRFToken header, and reads JSON answers: ``{"ok", "message", "problems": [{"file", "element", "line",
"message", "severity"}]}`` (severity "error" refuses a deploy, "warning" does not). A refusal the designer can act
on (a model the engine will not deploy) is an answer like any other, ``"ok": false`` with status 200, so the browser
does not report it as a failed request.

Deploying is two steps: ``deploy/review`` answers with the engine's findings and the elements added, removed or
changed since the latest version (nothing is stored); the editor shows them and asks the designer to confirm before
it posts ``deploy``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from lxml import etree
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine import (
    BPMN_NAMESPACES,
    BPMN_NS,
    LAYOUT_CHANGE,
    AuditAction,
    DeployError,
    ElementChange,
    NotFound,
    Problem,
    Unit,
    compare_models,
    deploy_models,
    executable_processes,
    latest_definition,
    lint_bpmn,
    parse_xml,
    read_bpmn,
)
from engine.models import ProcessDefinition
from web.accounts.permissions import DESIGN, requires
from web.context import audited_unit, me, problems_json, read_session, record, runtime
from web.models import ProcessDraft
from web.params import int_param

bp = Blueprint("designer", __name__)

PROCESS_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$")  # an XML NCName (ASCII), as a BPMN id must be
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
XML_TYPE = "application/xml"


@dataclass(frozen=True)
class Version:
    version: int
    name: str
    file_name: str
    deployed_by: str
    deployed_at: datetime


@dataclass
class ProcessEntry:
    """One row of the process list: the deployed versions (newest first) and the draft, if any."""

    process_id: str
    versions: list[Version]
    draft: ProcessDraft | None

    @cached_property
    def name(self) -> str:
        """The latest version's name, else the name the draft gives the process, else its id."""
        if self.versions:
            return self.versions[0].name
        if self.draft is not None:
            try:
                root = parse_xml(self.draft.bpmn_xml.encode("utf-8"))
            except etree.XMLSyntaxError:
                return self.process_id
            found = root.xpath("//bpmn:process[@id=$p]/@name", namespaces=BPMN_NAMESPACES, p=self.process_id)
            if found:
                return str(found[0])
        return self.process_id

    @property
    def latest(self) -> int | None:
        return self.versions[0].version if self.versions else None

    @property
    def file_name(self) -> str:
        """The file the latest version was deployed from, else ``<process id>.bpmn``."""
        return (self.versions[0].file_name if self.versions else "") or f"{self.process_id}.bpmn"

    @property
    def draft_is_stale(self) -> bool:
        """The draft was started from an older version than the latest one."""
        return bool(self.draft and self.latest and (self.draft.based_on_version or 0) < self.latest)


# -- reading ---------------------------------------------------------------------------------------------------
def _versions(session: Session, process_id: str | None = None) -> dict[str, list[Version]]:
    query = select(
        ProcessDefinition.process_id,
        ProcessDefinition.version,
        ProcessDefinition.name,
        ProcessDefinition.file_name,
        ProcessDefinition.deployed_by,
        ProcessDefinition.deployed_at,
    ).order_by(ProcessDefinition.process_id, ProcessDefinition.version.desc())
    if process_id is not None:
        query = query.where(ProcessDefinition.process_id == process_id)
    found: dict[str, list[Version]] = {}
    for row in session.execute(query):
        found.setdefault(row.process_id, []).append(Version(*row[1:]))
    return found


def _draft(session: Session, process_id: str) -> ProcessDraft | None:
    return session.execute(select(ProcessDraft).where(ProcessDraft.process_id == process_id)).scalar_one_or_none()


def _entry(session: Session, process_id: str, *, must_exist: bool = True) -> ProcessEntry:
    entry = ProcessEntry(process_id, _versions(session, process_id).get(process_id, []), _draft(session, process_id))
    if must_exist and not entry.versions and entry.draft is None:
        raise NotFound(_("Process %(id)s has neither a deployed version nor a draft.", id=process_id))
    return entry


def _opened(session: Session, process_id: str) -> tuple[ProcessEntry, int | None]:
    """The process and the ``?version=N`` asked for (404 for a version it does not have)."""
    entry = _entry(session, process_id)
    version = int_param(request.args, "version", default=0) or None
    if version is not None and all(v.version != version for v in entry.versions):
        raise NotFound(_("Process %(id)s has no version %(version)s.", id=process_id, version=version))
    return entry, version


def _version_xml(session: Session, process_id: str, version: int) -> str:
    xml = session.execute(
        select(ProcessDefinition.bpmn_xml).where(
            ProcessDefinition.process_id == process_id, ProcessDefinition.version == version
        )
    ).scalar_one_or_none()
    if xml is None:
        raise NotFound(_("Process %(id)s has no version %(version)s.", id=process_id, version=version))
    return str(xml)


def _source_xml(session: Session, process_id: str, which: str) -> str:
    """The model named by ``which``: "draft" or a version number."""
    if which == "draft":
        draft = _draft(session, process_id)
        if draft is None:
            raise NotFound(_("Process %(id)s has no draft.", id=process_id))
        return draft.bpmn_xml
    if not which.isdigit():
        raise NotFound(_("Unknown version %(version)s.", version=which))
    return _version_xml(session, process_id, int(which))


# -- checking ----------------------------------------------------------------------------------------------------
def _severity(problem: Problem) -> str:
    """ "error" (refuses a deploy) or "warning" (the engine runs the model, perhaps not as meant)."""
    return str(getattr(problem, "severity", "error"))


def _errors(problems: Sequence[Problem]) -> list[Problem]:
    return [p for p in problems if _severity(p) != "warning"]


def _answer(ok: bool, message: str, problems: Sequence[Problem] = (), **extra: Any) -> ResponseReturnValue:
    """The editor's JSON answer; ``ok`` is false when the request was refused (nothing was stored)."""
    return jsonify({"ok": ok, "message": message, "problems": problems_json(problems), **extra})


def _changes_json(changes: Sequence[ElementChange]) -> list[dict[str, Any]]:
    return [
        {
            "element": c.element_id,
            "kind": c.kind,
            "type": c.element_type,
            "name": c.name,
            "changes": [{"key": d.key, "before": d.before, "after": d.after} for d in c.changes],
        }
        for c in changes
    ]


def _engine_lint(file_name: str, data: bytes) -> list[Problem]:
    """The engine's deploy checks on one file, against the deployed processes it may call; stores nothing."""
    with read_session() as session:

        def deployed_xml(process_id: str) -> str | None:
            found = latest_definition(session, process_id)
            return found.bpmn_xml if found else None

        found = lint_bpmn({file_name: data}, runtime().handlers, deployed_xml, **_group())
        return [*found[2], *(found[3] if len(found) > 3 else [])]  # the errors, then the warnings


def _group() -> dict[str, str]:
    """The engine's queue for human steps that name no role, for the lint and the deploy (when it has one)."""
    group = getattr(runtime(), "default_group", None)
    return {"default_group": group} if isinstance(group, str) else {}


def _model_body() -> bytes:
    """The posted model (the raw request body); an empty body is a 400."""
    data = request.get_data(cache=False)
    if not data.strip():
        abort(400, _("The request carried no BPMN model."))
    return data


def _main_process(root: etree._Element) -> str | None:
    """The id a file is filed under: its first process the engine runs (as deploy decides), else its first."""
    processes = root.findall(f".//{{{BPMN_NS}}}process", BPMN_NAMESPACES)
    chosen = (executable_processes(root)[0] or processes or [None])[0]
    return chosen.get("id") if chosen is not None else None


# -- drafts --------------------------------------------------------------------------------------------------------
def _save_draft(process_id: str, xml: str, based_on: int | None, source: str) -> None:
    """Create or replace the draft of ``process_id``, audited as draft_saved with before and after."""
    digest = hashlib.sha256(xml.encode("utf-8")).hexdigest()
    with audited_unit() as u:
        draft = _draft(u.session, process_id)
        before = None
        if draft is None:
            draft = ProcessDraft(process_id=process_id)
            u.session.add(draft)
        else:
            before = {
                "sha256": hashlib.sha256(draft.bpmn_xml.encode("utf-8")).hexdigest(),
                "based_on_version": draft.based_on_version,
                "saved_by": draft.saved_by,
            }
        draft.bpmn_xml, draft.based_on_version, draft.saved_by, draft.saved_at = xml, based_on, me().username, u.now
        after = {"sha256": digest, "based_on_version": based_on, "source": source}
        record(u, AuditAction.DRAFT_SAVED, {"before": before, "after": after}, process_id=process_id)


def _discard_draft(process_id: str, reason: str) -> bool:
    with audited_unit() as u:
        return _discard_draft_in(u, process_id, reason)


def _discard_draft_in(u: Unit, process_id: str, reason: str) -> bool:
    """Delete the draft of ``process_id`` inside the caller's transaction, audited as draft_discarded."""
    draft = _draft(u.session, process_id)
    if draft is None:
        return False
    before = {"sha256": hashlib.sha256(draft.bpmn_xml.encode("utf-8")).hexdigest(), "saved_by": draft.saved_by}
    u.session.execute(delete(ProcessDraft).where(ProcessDraft.id == draft.id))
    record(u, AuditAction.DRAFT_DISCARDED, {"before": before, "after": None, "reason": reason}, process_id=process_id)
    return True


# -- pages -----------------------------------------------------------------------------------------------------
def _process_list(session: Session) -> list[ProcessEntry]:
    versions = _versions(session)
    drafts = {d.process_id: d for d in session.execute(select(ProcessDraft)).scalars()}
    return [ProcessEntry(pid, versions.get(pid, []), drafts.get(pid)) for pid in sorted(versions.keys() | drafts)]


def _index_page(
    status: int = 200,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    problems: list[Problem] | None = None,
) -> ResponseReturnValue:
    """The process list, with the new-process and upload forms (and their errors after a refused POST)."""
    with read_session() as session:
        processes = _process_list(session)
    page = render_template(
        "designer/index.html", processes=processes, form=form or {}, errors=errors or {}, problems=problems or []
    )
    return page, status


@bp.get("/")
@requires(*DESIGN)
def index() -> ResponseReturnValue:
    return _index_page()


@bp.post("/new")
@requires(*DESIGN)
def new() -> ResponseReturnValue:
    """A new process from the blank template (start event, one user task with role, SLA and form, end event)."""
    process_id = request.form.get("process_id", "").strip()
    name = " ".join(request.form.get("name", "").split()) or process_id
    errors = {}
    if not PROCESS_ID.match(process_id):
        errors["process_id"] = _(
            "A process id may contain only letters (A-Z, a-z, without accents), digits, _, - and ., with no spaces; "
            "it starts with a letter or _ and has at most 100 characters, e.g. renewal_review."
        )
    else:
        with read_session() as session:
            if latest_definition(session, process_id) is not None or _draft(session, process_id) is not None:
                errors["process_id"] = _("A process with the id %(id)s already exists.", id=process_id)
    if errors:
        return _index_page(422, form={"process_id": process_id, "name": name}, errors=errors)
    xml = render_template("designer/blank.bpmn", process_id=process_id, name=name)
    _save_draft(process_id, xml, None, "template")
    flash(_("Process %(id)s created from the template as a draft.", id=process_id), "success")
    return redirect(url_for("designer.editor", process_id=process_id), 303)


@bp.post("/upload")
@requires(*DESIGN)
def upload() -> ResponseReturnValue:
    """Accept a .bpmn file the engine can read (and draw): into the open editor, or as the draft of its process.

    Unreadable files (malformed, DOCTYPE/entities, not BPMN) and files without diagram layout are refused naming
    the file and line; the engine's other findings come back as problems to fix in the editor."""
    wants_json = request.accept_mimetypes.best == "application/json"
    chosen = [f for f in request.files.getlist("file") if f and f.filename]
    if not chosen:
        return _upload_refused(wants_json, _("Choose a .bpmn file to upload."), [])
    uploads = [((f.filename or "").replace("\\", "/").rsplit("/", 1)[-1], f.read()) for f in chosen]
    # DMN files (decision tables): checked now, deployed as decisions once the model is accepted
    decision_files: dict[str, bytes] = {}
    for dmn_name, dmn_data in uploads:
        dmn_source = read_bpmn(dmn_name, dmn_data)
        if dmn_source.decisions or dmn_name.lower().endswith(".dmn"):
            if dmn_source.errors:
                return _upload_refused(wants_json, _("%(file)s was refused.", file=dmn_name), dmn_source.errors)
            decision_files[dmn_name] = dmn_data
    models = [(n, d) for n, d in uploads if n not in decision_files]
    if len(models) > 1:
        return _upload_refused(wants_json, _("Upload one .bpmn model at a time, with its .dmn files."), [])
    if not models:
        return _deploy_decision_files(wants_json, decision_files)
    name, data = models[0]
    source = read_bpmn(name, data)
    if source.problems:
        return _upload_refused(wants_json, _("%(file)s was refused.", file=name), source.problems)
    assert source.root is not None
    process_id = _main_process(source.root)
    if process_id is None:
        problem = Problem(name, None, source.root.sourceline, "the file has no process")
        return _upload_refused(wants_json, _("%(file)s was refused.", file=name), [problem])
    problems = _engine_lint(name, data)
    if source.root.find(f"{{{BPMNDI}}}BPMNDiagram") is None:
        # nothing to draw, so nothing to fix in the editor: refused with every problem the engine found too
        layout = Problem(
            name,
            source.root.get("id"),
            source.root.sourceline,
            "the file has no diagram layout (bpmndi:BPMNDiagram), so the designer cannot draw it; "
            "export it from a modeller that saves the layout",
        )
        refused = [*problems, layout]
        return _upload_refused(wants_json, _("%(file)s was refused.", file=name), refused)
    if decision_files:
        refused_decisions = _deploy_decisions(decision_files)
        if refused_decisions is not None:
            return _upload_refused(wants_json, _("The engine refused the decision tables."), refused_decisions)
    xml = data.decode("utf-8")
    if wants_json and request.form.get("into") == process_id:
        message = _("%(file)s is open in the editor; save the draft or deploy to keep it.", file=name)
        return _answer(True, message, problems, xml=xml)
    with read_session() as session:
        found = latest_definition(session, process_id)
    _save_draft(process_id, xml, found.version if found else None, f"upload:{name}")
    message = _("%(file)s saved as the draft of %(id)s.", file=name, id=process_id)
    errors = _errors(problems)
    if errors:
        message += " " + _("The engine found %(count)s problem(s) to fix before deploying.", count=len(errors))
    if len(problems) > len(errors):
        message += " " + _("The engine has %(count)s warning(s) about it.", count=len(problems) - len(errors))
    flash(message, "warning" if problems else "success")
    # with findings, the editor checks the model as it opens and pins every one of them
    target = url_for("designer.editor", process_id=process_id, check=1 if problems else None)
    if wants_json:
        return _answer(True, message, problems, redirect=target)
    return redirect(target, 303)


def _deploy_decisions(files: dict[str, bytes]) -> list[Problem] | None:
    """Deploy the DMN files' decisions (the engine audits each new version); the problems if refused."""
    try:
        with audited_unit() as u:
            results = deploy_models(u.session, files, topics=runtime().handlers, actor=me().username, now=u.now)
    except DeployError as exc:
        return exc.problems
    for result in results:
        if result.changed:
            message = _("Decision %(id)s version %(version)s deployed.", id=result.process_id, version=result.version)
            flash(message, "success")
    return None


def _deploy_decision_files(wants_json: bool, files: dict[str, bytes]) -> ResponseReturnValue:
    refused = _deploy_decisions(files)
    if refused is not None:
        return _upload_refused(wants_json, _("The engine refused the decision tables."), refused)
    message = _("The decision tables are deployed; business rule tasks can call them.")
    if wants_json:
        return _answer(True, message, [], redirect=url_for("designer.index"))
    flash(message, "success")
    return redirect(url_for("designer.index"), 303)


def _upload_refused(wants_json: bool, message: str, problems: list[Problem]) -> ResponseReturnValue:
    if wants_json:
        return _answer(False, message, problems)
    return _index_page(422, errors={"file": message}, problems=problems)


@bp.get("/<process_id>/")
@requires(*DESIGN)
def editor(process_id: str) -> ResponseReturnValue:
    with read_session() as session:
        entry, version = _opened(session, process_id)
    opened = version or (None if entry.draft else entry.latest)
    based_on = version or (entry.draft.based_on_version if entry.draft else entry.latest)
    return render_template(
        "designer/editor.html",
        entry=entry,
        requested=version,
        opened=opened,
        based_on=based_on,
        sla_labels=_sla_labels(),
    )


def _sla_labels() -> dict[str, Any]:
    """The translated texts of the properties panel's "Jornada SLA" group."""
    invalid = _("Not an ISO-8601 duration: use e.g. P2D (2 days), PT4H (4 hours) or P1W (1 week).")
    return {
        "title": _("Jornada SLA"),
        "labels": {
            "sla_warn": {
                "label": _("Warn after"),
                "description": _("A 'behind' alert is raised this long after the task became ready, e.g. P2D."),
                "invalid": invalid,
            },
            "sla_due": {
                "label": _("Due after"),
                "description": _("The SLA is met when the task completes within this time (default: stuck)."),
                "invalid": invalid,
            },
            "sla_stuck": {
                "label": _("Stuck after"),
                "description": _("A 'stuck' alert is raised this long after the task became ready, e.g. P3D."),
                "invalid": invalid,
            },
        },
    }


@bp.get("/<process_id>/model.bpmn")
@requires(*DESIGN)
def model(process_id: str) -> ResponseReturnValue:
    """What the editor opens: ``?version=N``, else the draft, else the latest version."""
    with read_session() as session:
        entry, version = _opened(session, process_id)
        if version is None and entry.draft is not None:
            xml = entry.draft.bpmn_xml
        else:
            xml = _version_xml(session, process_id, version or entry.versions[0].version)
    return Response(xml, mimetype=XML_TYPE, headers={"Cache-Control": "no-store"})


@bp.get("/<process_id>/versions/<int:version>.bpmn")
@requires(*DESIGN)
def download_version(process_id: str, version: int) -> ResponseReturnValue:
    with read_session() as session:
        xml = _version_xml(session, process_id, version)
    return _attachment(xml, f"{process_id}-v{version}.bpmn")


@bp.get("/<process_id>/draft.bpmn")
@requires(*DESIGN)
def download_draft(process_id: str) -> ResponseReturnValue:
    with read_session() as session:
        xml = _source_xml(session, process_id, "draft")
    return _attachment(xml, f"{process_id}-draft.bpmn")


def _attachment(xml: str, file_name: str) -> Response:
    return Response(xml, mimetype=XML_TYPE, headers={"Content-Disposition": f'attachment; filename="{file_name}"'})


@bp.post("/<process_id>/lint")
@requires(*DESIGN)
def check(process_id: str) -> ResponseReturnValue:
    """The engine's deploy lint on the posted model; nothing is stored."""
    data = _model_body()
    with read_session() as session:
        file_name = _entry(session, process_id, must_exist=False).file_name
    problems = _engine_lint(file_name, data)
    message = _("The engine found no problems.") if not problems else ""
    return _answer(True, message, problems)


@bp.post("/<process_id>/deploy/review")
@requires(*DESIGN)
def review_deploy(process_id: str) -> ResponseReturnValue:
    """What deploying the posted model would do, for the designer to confirm: the engine's findings (errors refuse
    it) and the elements added, removed or changed since the latest version. Nothing is stored."""
    data = _model_body()
    with read_session() as session:
        entry = _entry(session, process_id)
        found = latest_definition(session, process_id)
        before_xml = found.bpmn_xml if found else _EMPTY_MODEL
        before_version = found.version if found else None
    problems = _engine_lint(entry.file_name, data)
    if _errors(problems):
        return _answer(False, _("The engine refused to deploy this model."), problems)
    changes = compare_models(before_xml, data.decode("utf-8"))
    if before_version is not None and not changes:
        message = _("Nothing to deploy: the model is identical to version %(version)s.", version=before_version)
        return _answer(True, message, problems, changes=[], identical=True)
    if before_version is None:
        message = _("Deploy %(id)s as its first version?", id=process_id)
    else:
        message = _(
            "Deploy as version %(version)s? %(count)s element(s) differ from version %(latest)s.",
            version=before_version + 1,
            count=len(changes),
            latest=before_version,
        )
    return _answer(True, message, problems, changes=_changes_json(changes), identical=False)


_EMPTY_MODEL = f'<definitions xmlns="{BPMN_NS}"/>'


@bp.post("/<process_id>/draft")
@requires(*DESIGN)
def save_draft(process_id: str) -> ResponseReturnValue:
    data = _model_body()
    with read_session() as session:
        file_name = _entry(session, process_id).file_name
    source = read_bpmn(file_name, data)
    if source.root is None:  # not XML the engine can read at all; a schema slip can wait in a draft
        return _answer(False, _("The draft was not saved."), source.problems)
    unchanged = _unchanged_message(process_id, data.decode("utf-8"))
    if unchanged:
        return _answer(True, unchanged, unchanged=True)
    _save_draft(process_id, data.decode("utf-8"), int_param(request.args, "based_on", default=0) or None, "editor")
    return _answer(True, _("Draft saved."))


def _same_model(stored: str, xml: str) -> bool:
    """``xml`` is ``stored``, or differs only where no element, property or layout changes (the editor's own
    formatting and exporter attributes): engine._diff finds nothing."""
    if stored == xml:
        return True
    try:
        return not compare_models(stored, xml)
    except (etree.XMLSyntaxError, ValueError):
        return False


def _unchanged_message(process_id: str, xml: str) -> str | None:
    """Why saving ``xml`` as the draft would change nothing: it is the draft already, or (with no draft) the latest
    deployed version; else None."""
    with read_session() as session:
        draft = _draft(session, process_id)
        if draft is not None:
            return _("Nothing to save: the draft is already this model.") if _same_model(draft.bpmn_xml, xml) else None
        found = latest_definition(session, process_id)
        if found is not None and _same_model(found.bpmn_xml, xml):
            return _("Nothing to save: the model is identical to version %(version)s.", version=found.version)
    return None


@bp.post("/<process_id>/draft/discard")
@requires(*DESIGN)
def discard_draft(process_id: str) -> ResponseReturnValue:
    if _discard_draft(process_id, "discarded"):
        flash(_("Draft of %(id)s discarded.", id=process_id), "success")
    with read_session() as session:
        deployed = latest_definition(session, process_id) is not None
    target = url_for("designer.editor", process_id=process_id) if deployed else url_for("designer.index")
    return redirect(target, 303)


@bp.post("/<process_id>/deploy")
@requires(*DESIGN)
def deploy(process_id: str) -> ResponseReturnValue:
    """Deploy the posted model as a new version (the engine audits it); refused with problems, nothing stored."""
    data = _model_body()
    with read_session() as session:
        file_name = _entry(session, process_id).file_name
    try:
        with audited_unit() as u:  # the new version and the end of its draft, together or not at all
            results = deploy_models(
                u.session, {file_name: data}, topics=runtime().handlers, actor=me().username, now=u.now, **_group()
            )
            changed = [r for r in results if r.changed]
            if changed:
                _discard_draft_in(u, process_id, "deployed")
    except DeployError as exc:
        return _answer(False, _("The engine refused to deploy this model."), exc.problems)
    if not changed:
        found = next((r for r in results if r.process_id == process_id), results[0])
        message = _("Nothing to deploy: the model is identical to version %(version)s.", version=found.version)
        return _answer(True, message)
    for result in changed:
        flash(_("%(id)s version %(version)s deployed.", id=result.process_id, version=result.version), "success")
    target = next((r for r in changed if r.process_id == process_id), changed[0])
    warnings = [w for r in results for w in getattr(r, "warnings", [])]
    message = _("The engine has %(count)s warning(s) about it.", count=len(warnings)) if warnings else ""
    return _answer(True, message, warnings, redirect=url_for("designer.editor", process_id=target.process_id))


@bp.get("/<process_id>/compare")
@requires(*DESIGN)
def compare_versions(process_id: str) -> ResponseReturnValue:
    """Elements added, removed and changed between two versions (or a version and the draft)."""
    with read_session() as session:
        entry = _entry(session, process_id)
        choices = (["draft"] if entry.draft else []) + [str(v.version) for v in entry.versions]
        default_after = choices[0]
        default_before = choices[1] if len(choices) > 1 else choices[0]
        before = request.args.get("before", default_before)
        after = request.args.get("after", default_after)
        changes: list[ElementChange] = compare_models(
            _source_xml(session, process_id, before), _source_xml(session, process_id, after)
        )
    return render_template(
        "designer/compare.html",
        entry=entry,
        choices=choices,
        before=before,
        after=after,
        changes=changes,
        layout_key=LAYOUT_CHANGE,
    )
