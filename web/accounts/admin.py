"""Users and groups (admins): add people, set their roles and groups, issue, list and revoke API tokens."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from engine import EngineError
from web.accounts import users
from web.accounts.permissions import ADMIN, requires
from web.context import me, read_session, runtime
from web.models import ROLES, User

bp = Blueprint("admin", __name__)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


def _page(form: Mapping[str, Any], errors: Mapping[str, str]) -> str:
    """The people with their groups, and the add-user form (with its values and errors after a refusal)."""
    with read_session() as session:
        people = session.execute(select(User).order_by(User.username)).scalars().all()
        memberships = users.memberships(session)
        groups = users.all_groups(session)
        tokens: dict[int, list[users.TokenInfo]] = {}
        for found in users.list_tokens(session):
            tokens.setdefault(found.user_id, []).append(found)
    return render_template(
        "admin/index.html",
        people=people,
        memberships=memberships,
        tokens=tokens,
        limits={
            "username": users.USERNAME_MAX,
            "display_name": users.DISPLAY_NAME_MAX,
            "email": users.EMAIL_MAX,
            "token_name": users.TOKEN_NAME_MAX,
        },
        roles=ROLES,
        groups=groups,
        form=form,
        errors=errors,
    )


@bp.get("/")
@requires(*ADMIN)
def index() -> ResponseReturnValue:
    return _page({}, {})


@bp.post("/users")
@requires(*ADMIN)
def add() -> ResponseReturnValue:
    form = request.form
    try:
        users.add_user(
            runtime(),
            form.get("username", ""),
            form.get("password", ""),
            roles=form.getlist("roles"),
            groups=_split(form.get("groups", "")),
            display_name=form.get("display_name", "").strip(),
            email=form.get("email", "").strip(),
            actor=me().username,
        )
    except users.UserError as exc:
        field = str(exc).split(":", 1)[0]
        return _page(form, {field: str(exc)}), 422
    flash(_("User %(name)s added.", name=form.get("username", "")), "success")
    return redirect(url_for("admin.index"), 303)


@bp.post("/users/<int:user_id>")
@requires(*ADMIN)
def update(user_id: int) -> ResponseReturnValue:
    form = request.form
    try:
        users.update_access(
            runtime(),
            user_id,
            roles=form.getlist("roles"),
            groups=_split(form.get("groups", "")),
            active=form.get("active") == "on",
            actor=me().username,
        )
    except users.UserError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.index"), 303)
    flash(_("Access saved."), "success")
    return redirect(url_for("admin.index"), 303)


@bp.post("/users/<int:user_id>/tokens")
@requires(*ADMIN)
def token(user_id: int) -> ResponseReturnValue:
    name = request.form.get("name", "").strip() or "api"
    try:
        plain = users.create_token(runtime(), user_id, name, actor=me().username)
    except users.UserError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.index"), 303)
    flash(_("New API token (shown once, copy it now): %(token)s", token=plain), "warning")
    return redirect(url_for("admin.index"), 303)


@bp.post("/tokens/<int:token_id>/revoke")
@requires(*ADMIN)
def revoke_token(token_id: int) -> ResponseReturnValue:
    try:
        revoked = users.revoke_token(runtime(), token_id, actor=me().username)
    except EngineError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.index"), 303)
    flash(_("API token %(name)s of %(user)s revoked.", name=revoked.name, user=revoked.username), "success")
    return redirect(url_for("admin.index"), 303)
