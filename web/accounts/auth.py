"""Sign in, sign out and the user's own profile (language, password). Which user a request comes from is settled
before every view by ``web.accounts.sessions.establish_user``, registered here for the whole app."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from web.accounts import sessions, users
from web.context import me, runtime
from web.i18n import LANGUAGES
from web.tasks.access import back_to

bp = Blueprint("auth", __name__)
bp.before_app_request(sessions.establish_user)


def home_for(principal: users.Principal) -> str:
    if principal.has("lead"):
        return url_for("cs.index")  # leads land on the CS dashboard
    if principal.has("staff"):
        return url_for("inbox.index")
    if principal.has("designer"):
        return url_for("designer.index")
    if principal.has("auditor"):
        return url_for("audit.index")
    return url_for("admin.index")


@bp.get("/")
def root() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(home_for(me()))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    error, username = None, ""
    status = 200
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        if len(username) > users.USERNAME_MAX:  # no such user can exist; refused before anything is stored
            error = _("User name: at most %(n)s characters.", n=users.USERNAME_MAX)
            return render_template("auth/login.html", error=error, username=username[: users.USERNAME_MAX]), 422
        web = current_app.config["JORNADA"]["web"]
        result = users.authenticate(
            runtime(),
            username,
            request.form.get("password", ""),
            remote_addr=request.remote_addr or "-",
            max_failures=int(web["login_max_failures"]),
            window=timedelta(minutes=int(web["login_window_minutes"])),
        )
        if result.principal is not None:
            sessions.start_session(result.principal)
            return redirect(back_to(request.args.get("next"), home_for(result.principal)))
        if result.locked_until is not None:
            error = _("Too many failed sign-ins. Try again after %(time)s UTC.", time=f"{result.locked_until:%H:%M}")
            status = 429
        else:
            error = _("Unknown user name or wrong password.")
            status = 401
    return render_template("auth/login.html", error=error, username=username), status


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    """Signs the user out everywhere: every session cookie issued to them stops working."""
    users.end_sessions(runtime(), me().id, actor=me().username)
    sessions.end_this_session()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile() -> ResponseReturnValue:
    if request.method == "POST":
        language = request.form.get("language") or None
        if language is not None and language not in LANGUAGES:
            flash(_("Unknown language: %(code)s", code=language), "error")
            return redirect(url_for("auth.profile")), 303
        users.set_language(runtime(), me().id, language, actor=me().username)
        flash(_("Profile saved."), "success")
        return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", languages=LANGUAGES, errors={})


@bp.post("/profile/password")
@login_required
def change_password() -> ResponseReturnValue:
    """A new password ends every other session of the user; this one carries on."""
    try:
        generation = users.change_password(
            runtime(),
            me().id,
            request.form.get("current_password", ""),
            request.form.get("new_password", ""),
            actor=me().username,
        )
    except users.UserError as exc:
        field = str(exc).partition(":")[0]
        messages = {
            "current_password": _("This is not your current password."),
            "new_password": _("The new password needs at least %(n)s characters.", n=users.MIN_PASSWORD),
        }
        errors = {field: messages.get(field, str(exc))}
        return render_template("auth/profile.html", languages=LANGUAGES, errors=errors), 422
    sessions.carry_on(generation)
    flash(_("Password changed. You are signed out everywhere else."), "success")
    return redirect(url_for("auth.profile"), 303)
