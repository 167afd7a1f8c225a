"""The task page: instructions, customer context, the case so far (earlier answers, every comment of the
instance and of the customer), the model's form (validated by the engine, errors shown inline
with every entered value kept), comments, hand-over (claim, unclaim, reassign, delegate) and the diagram with the
current step. Every route checks that the signed-in person may see the task before anything else."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine import ConflictError, EngineError, FormValidationError, InvalidState
from web.accounts.permissions import WORK_TASKS, requires
from web.accounts.principal import Principal
from web.context import me, runtime
from web.model_text import translate
from web.tasks import access, display, page

bp = Blueprint("tasks", __name__)


def _page(task_id: int) -> str:
    return url_for("tasks.show", task_id=task_id)


def _render(
    task: access.TaskRef,
    *,
    submitted: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    problems: list[str] | None = None,
    handover: dict[str, str] | None = None,
    handover_error: str | None = None,
    comment: str = "",
    comment_error: str | None = None,
) -> str:
    principal, now = me(), runtime().clock.now()
    view = runtime().task_view(task.id)
    row = view.row
    case = page.case(task.instance_id, task.customer_id, view.fields)
    may_reassign = access.may_reassign(principal, task)
    return render_template(
        "tasks/show.html",
        task=task,
        row=row,
        ctx=page.context(task.instance_id, task.customer_id, task.process_id),
        instructions=page.instructions(view.documentation, view.data, case.labels),
        case=case,
        inputs=page.inputs(view.fields, view.data, submitted=submitted, errors=errors),
        problems=problems or [],
        may_work=task.open and not access.held_by_other(principal, task),
        may_unclaim=access.may_unclaim(principal, task),
        may_reassign=may_reassign,
        assignees=[u for u in access.assignable(task.groups) if u[0] != task.assignee] if may_reassign else [],
        handover=handover or {},
        handover_error=handover_error,
        comment=comment,
        comment_error=comment_error,
        badge=display.sla_badge(row, now),
        age=display.age(row.created_at, now),
        moment=display.moment,
        markers={row.element_id: "current"},
    )


@bp.get("/<int:task_id>")
@requires(*WORK_TASKS)
def show(task_id: int) -> ResponseReturnValue:
    return _render(access.visible(me(), task_id))


@bp.get("/<int:task_id>/diagram.bpmn")
@requires(*WORK_TASKS)
def diagram(task_id: int) -> ResponseReturnValue:
    task = access.visible(me(), task_id)
    ctx = page.context(task.instance_id, task.customer_id, task.process_id)
    xml = page.bpmn_xml(ctx.definition_id) if ctx.definition_id is not None else None
    if xml is None:
        return Response(_("The process definition of this task is gone."), status=404, mimetype="text/plain")
    return Response(xml, mimetype="application/xml")


def _operation(
    task_id: int, operation: Callable[[Principal, access.TaskRef], None], done: Callable[[str], str]
) -> ResponseReturnValue:
    """Run a claim/unclaim on a task ``me`` may see; engine refusals become an error flash, not an error page."""
    principal = me()
    task = access.visible(principal, task_id)
    target = access.back_to(request.form.get("next"), _page(task_id))
    try:
        operation(principal, task)
    except EngineError as exc:
        flash(str(exc), "error")
    else:
        flash(done(translate(task.name)), "success")
    return redirect(target, 303)


@bp.post("/<int:task_id>/claim")
@requires(*WORK_TASKS)
def claim(task_id: int) -> ResponseReturnValue:
    return _operation(task_id, access.claim, lambda name: _("You claimed “%(name)s”.", name=name))


@bp.post("/<int:task_id>/unclaim")
@requires(*WORK_TASKS)
def unclaim(task_id: int) -> ResponseReturnValue:
    return _operation(task_id, access.unclaim, lambda name: _("“%(name)s” is back in the group queue.", name=name))


@bp.post("/<int:task_id>/reassign")
@requires(*WORK_TASKS)
def reassign(task_id: int) -> ResponseReturnValue:
    principal = me()
    task = access.visible(principal, task_id)
    target = request.form.get("assignee", "").strip()
    note = request.form.get("note", "")
    delegating = request.form.get("mode") == "delegate"
    try:
        if delegating:
            access.delegate(principal, task, target, note)
        else:
            access.reassign(principal, task, target)
    except access.ActionRefused as exc:
        return _render(task, handover={"assignee": target, "note": note}, handover_error=str(exc)), 422
    except EngineError as exc:
        flash(str(exc), "error")
        return redirect(_page(task_id), 303)
    if delegating:
        flash(
            _(
                "You delegated “%(name)s” to %(user)s; a comment on the task records it.",
                name=translate(task.name),
                user=target,
            ),
            "success",
        )
    else:
        flash(_("“%(name)s” reassigned to %(user)s.", name=translate(task.name), user=target), "success")
    return redirect(url_for("inbox.index"), 303)


@bp.post("/<int:task_id>/comments")
@requires(*WORK_TASKS)
def comment(task_id: int) -> ResponseReturnValue:
    principal = me()
    task = access.visible(principal, task_id)
    body = request.form.get("body", "")
    try:
        access.add_comment(principal, task, body)
    except access.ActionRefused as exc:
        return _render(task, comment=body, comment_error=str(exc)), 422
    flash(_("Comment added."), "success")
    return redirect(_page(task_id) + "#comments", 303)


@bp.post("/<int:task_id>/complete")
@requires(*WORK_TASKS)
def complete(task_id: int) -> ResponseReturnValue:
    principal = me()
    task = access.visible(principal, task_id)
    if access.held_by_other(principal, task) and task.open:
        flash(
            _(
                "“%(name)s” is claimed by %(user)s; only they can complete it.",
                name=translate(task.name),
                user=task.assignee,
            ),
            "error",
        )
        return redirect(_page(task_id), 303)
    fields = runtime().task_view(task_id).fields
    form = {key: request.form.get(key, "") for key in request.form}
    try:
        runtime().complete(
            task_id,
            actor=principal.username,
            data=page.submitted_data(fields, form),
            groups=principal.task_groups(),
        )
    except FormValidationError as exc:
        known = {f.id for f in fields}
        errors = {e.field: e.message for e in exc.errors if e.field in known}
        problems = [str(e) for e in exc.errors if e.field not in known]
        return _render(task, submitted=form, errors=errors, problems=problems), 422
    except (ConflictError, InvalidState) as exc:
        flash(str(exc), "error")
        return redirect(_page(task_id), 303)
    upcoming = access.next_task(principal, task.instance_id)
    if upcoming is None:
        flash(_("“%(name)s” completed.", name=translate(task.name)), "success")
        return redirect(url_for("inbox.index"), 303)
    if task.customer_id:
        message = _(
            "“%(name)s” completed. Next task of this customer: %(next)s",
            name=translate(task.name),
            next=translate(upcoming.name),
        )
    else:
        message = _(
            "“%(name)s” completed. Next task of this case: %(next)s",
            name=translate(task.name),
            next=translate(upcoming.name),
        )
    flash(message, "success")
    return redirect(_page(upcoming.id), 303)
