"""Sign in, sign out and the user's own profile (language)."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from web import users
from web.context import me, runtime
from web.i18n import LANGUAGES
from web.task_access import back_to

bp = Blueprint("auth", __name__)


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
            login_user(result.principal)
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
    logout_user()
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
    return render_template("auth/profile.html", languages=LANGUAGES)
