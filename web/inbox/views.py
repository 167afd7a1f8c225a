"""The CS staff inbox: my tasks, my groups' queue and (leads, admins) all open tasks, with filters, sorting and
pages in the query string, saved filters, and claim / reassign on one task or on the ticked ones."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext

from engine import EngineError
from web.accounts import users
from web.accounts.permissions import WORK_TASKS, requires
from web.context import me, read_session, runtime
from web.inbox import query, saved
from web.inbox.filters import InboxFilters
from web.paging import count_label
from web.params import id_list
from web.tasks import access, display

bp = Blueprint("inbox", __name__)


def count_text(count: int) -> str:
    """A count of the inbox as shown: past ``COUNT_CAP`` it was not counted further, "1,000+" (pt-BR "1.000+")."""
    return count_label(count, query.COUNT_CAP)


def _url(query_string: str) -> str:
    return url_for("inbox.index") + (f"?{query_string}" if query_string else "")


def _render(
    filters: InboxFilters, *, save_form: dict[str, str] | None = None, save_error: tuple[str, str] | None = None
) -> str:
    principal = me()
    now = runtime().clock.now()
    with read_session() as session:
        found = query.search(session, principal, filters, now)
        counts = query.view_counts(session, principal)
        processes = query.process_names(session)
        groups = users.all_groups(session) if principal.sees_all_tasks else sorted(principal.groups)
        filters_saved = saved.visible_to(session, principal)
    return render_template(
        "inbox/index.html",
        filters=filters,
        found=found,
        counts=counts,
        processes=processes,
        groups=groups,
        people=access.assignable(groups),  # whom the bulk reassign offers
        saved=filters_saved,
        save_form=save_form or {},
        save_error=save_error,
        sla_states=query.SLA_STATES,
        unassigned=query.UNASSIGNED,
        now=now,
        count_text=count_text,
        badge=display.sla_badge,
        age=display.age,
        moment=display.moment,
        here=_url(filters.url_query()),
    )


@bp.get("/")
@requires(*WORK_TASKS)
def index() -> ResponseReturnValue:
    filters = InboxFilters.from_args(request.args)
    if filters.view == "all" and not me().sees_all_tasks:
        abort(403, description=_("Only CS leads and admins see all tasks; open My tasks or My groups' queue."))
    return _render(filters)


@bp.post("/bulk")
@requires(*WORK_TASKS)
def bulk() -> ResponseReturnValue:
    """Claim or reassign every ticked task, each in its own engine operation; failures do not undo successes."""
    principal = me()
    action = request.form.get("action")
    target = request.form.get("assignee", "").strip()
    back = access.back_to(request.form.get("next"), url_for("inbox.index"))
    ids = id_list(request.form, "task")
    if action not in ("claim", "reassign"):
        abort(400, description=_("Unknown bulk action %(action)s.", action=action or "—"))
    if not ids:
        flash(_("Tick at least one task first."), "error")
        return redirect(back, 303)
    if action == "reassign" and not target:
        flash(_("Reassign to: choose the person to hand the ticked tasks to."), "error")
        return redirect(back, 303)
    done = 0
    for task_id in ids:
        task = access.load(task_id)
        try:
            if task is None or not access.can_see(principal, task):
                raise access.ActionRefused(_("Task %(id)s is not one you may see.", id=task_id))
            if action == "claim":
                access.claim(principal, task)
            else:
                access.reassign(principal, task, target)
            done += 1
        except (access.ActionRefused, EngineError) as exc:
            flash(_("Task %(id)s not changed: %(why)s", id=task_id, why=str(exc)), "error")
    if done and action == "claim":
        flash(ngettext("%(num)d task claimed.", "%(num)d tasks claimed.", done), "success")
    elif done:
        flash(
            ngettext(
                "%(num)d task reassigned to %(user)s.", "%(num)d tasks reassigned to %(user)s.", done, user=target
            ),
            "success",
        )
    return redirect(back, 303)


@bp.post("/filters")
@requires(*WORK_TASKS)
def save_filter() -> ResponseReturnValue:
    filters = InboxFilters.from_args(request.form)
    form = {"name": request.form.get("name", ""), "shared_group": request.form.get("shared_group", "")}
    try:
        saved.save(me(), form["name"], filters.saved_query, form["shared_group"])
    except saved.FilterError as exc:
        return _render(filters, save_form=form, save_error=(exc.field, str(exc))), 422
    flash(_("Filter “%(name)s” saved.", name=form["name"].strip()), "success")
    return redirect(_url(filters.saved_query), 303)


@bp.post("/filters/<int:filter_id>/delete")
@requires(*WORK_TASKS)
def delete_filter(filter_id: int) -> ResponseReturnValue:
    try:
        name = saved.delete(me(), filter_id)
    except saved.FilterError as exc:
        abort(403, description=str(exc))
    flash(_("Filter “%(name)s” deleted.", name=name), "success")
    return redirect(access.back_to(request.form.get("next"), url_for("inbox.index")), 303)
